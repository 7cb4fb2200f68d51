//! The content tables: organisation, pages and services.

pub mod organisation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub slug: String,
        pub default_locale: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod organisation_translation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisation_translation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub locale: String,
        pub name: String,
        pub vision: String,
        pub mission: String,
        pub purpose: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod organisation_value {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisation_value")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub locale: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub title: String,
        pub description: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod page {
    use sea_orm::entity::prelude::*;

    use crate::content::model::PageStatus;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "page")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub slug: String,
        pub status: PageStatus,
        pub version: i32,
        pub published_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When the scheduler is to publish `scheduled_version`.
        pub scheduled_at: Option<DateTimeUtc>,
        pub scheduled_version: Option<i32>,
        /// The version the public reads; `version` moves on with drafts.
        pub published_version: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod page_translation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "page_translation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub page_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub locale: String,
        pub title: String,
        pub summary: Option<String>,
        pub body: String,
        pub body_html: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod page_media {
    use sea_orm::entity::prelude::*;

    use crate::content::model::MediaKind;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "page_media")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub page_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub kind: MediaKind,
        pub title: String,
        pub description: Option<String>,
        pub url: Option<String>,
        pub transcript: Option<String>,
        pub captions_url: Option<String>,
        pub alt_text: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub slug: String,
        pub name: String,
        pub description: String,
        pub category: String,
        pub parent_organisation: String,
        pub ods_code: Option<String>,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod page_revision {
    use sea_orm::entity::prelude::*;

    /// One saved draft of a page in one locale.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "page_revision")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub page_id: Uuid,
        pub version: i32,
        pub locale: String,
        pub slug: String,
        pub title: String,
        pub summary: Option<String>,
        pub body: String,
        pub body_html: String,
        /// The page's media as JSON, as of this revision.
        pub media: String,
        pub author_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
