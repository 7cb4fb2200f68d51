//! The submissions tables: kiosks, feedback, ideas, their supporters and the
//! idempotency keys that make retries safe.

pub mod kiosk {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kiosk")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub site: Option<String>,
        #[sea_orm(unique)]
        pub token_hash: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod feedback {
    use sea_orm::entity::prelude::*;

    use crate::privacy::PiiKinds;
    use crate::submissions::model::{Channel, FeedbackStatus, FftRating};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "feedback")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub reference: String,
        pub service_id: Uuid,
        pub rating: FftRating,
        pub comment: Option<String>,
        /// Personal-data kinds found in `comment`.
        pub pii_flags: PiiKinds,
        /// Whether `pii_flags` names any kind: the queue's second band.
        pub personal_data: bool,
        pub channel: Channel,
        pub locale: String,
        pub kiosk_id: Option<Uuid>,
        pub status: FeedbackStatus,
        pub assignee_id: Option<Uuid>,
        /// A reply the resident sees with their receipt.
        pub public_response: Option<String>,
        pub safeguarding: bool,
        pub contact_name: Option<String>,
        pub contact_email: Option<String>,
        pub contact_phone: Option<String>,
        pub version: i32,
        pub captured_at: Option<DateTimeUtc>,
        pub received_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When free text and contact details were erased.
        pub erased_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idea {
    use sea_orm::entity::prelude::*;

    use crate::privacy::PiiKinds;
    use crate::submissions::model::{Channel, IdeaStatus};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idea")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub reference: String,
        pub title: String,
        pub description: String,
        pub theme: Option<String>,
        /// Personal-data kinds found in the title, description or theme.
        pub pii_flags: PiiKinds,
        /// Whether `pii_flags` names any kind: the queue's second band.
        pub personal_data: bool,
        pub channel: Channel,
        pub locale: String,
        pub kiosk_id: Option<Uuid>,
        pub status: IdeaStatus,
        pub assignee_id: Option<Uuid>,
        pub published: bool,
        pub public_response: Option<String>,
        pub safeguarding: bool,
        pub support_count: i32,
        pub merged_into_id: Option<Uuid>,
        pub contact_name: Option<String>,
        pub contact_email: Option<String>,
        pub contact_phone: Option<String>,
        pub version: i32,
        pub captured_at: Option<DateTimeUtc>,
        pub received_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When free text and contact details were erased.
        pub erased_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idea_support {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idea_support")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub idea_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub supporter_hash: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    use crate::submissions::model::SubmissionKind;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_key")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub kind: SubmissionKind,
        pub payload_hash: String,
        pub reference: String,
        pub received_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod safeguarding_concern {
    use sea_orm::entity::prelude::*;

    use crate::submissions::model::{ConcernOrigin, ConcernStatus, SubmissionKind};

    /// One category of possible harm in a submission: found by the detector
    /// or raised by a moderator, and what staff decided about it.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "safeguarding_concern")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub subject_id: Uuid,
        pub subject_kind: SubmissionKind,
        /// A `SafeguardingCategory` name.
        pub category: String,
        /// The words that raised it; erased with the submission's text.
        pub excerpt: Option<String>,
        pub strength: f32,
        pub origin: ConcernOrigin,
        pub status: ConcernStatus,
        /// Why it was raised by hand, dismissed or recategorised.
        pub reason: Option<String>,
        pub escalated_to: Option<String>,
        pub escalation_note: Option<String>,
        pub escalated_at: Option<DateTimeUtc>,
        pub raised_by: Option<Uuid>,
        pub decided_by: Option<Uuid>,
        pub decided_at: Option<DateTimeUtc>,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
