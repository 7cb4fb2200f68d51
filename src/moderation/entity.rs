//! The moderation tables: tags, internal notes and the feedback tally.

pub mod submission_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "submission_tag")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod moderation_note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "moderation_note")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub subject_id: Uuid,
        pub subject_kind: String,
        pub author_id: Uuid,
        pub body: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod feedback_tally {
    use sea_orm::entity::prelude::*;

    /// How much feedback there is for each service and status; the
    /// database's triggers keep it, so nothing in hamlet writes it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "feedback_tally")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub service_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub status: String,
        pub n: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
