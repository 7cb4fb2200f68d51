//! The audit trail's table.

pub mod audit_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_event")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub action: String,
        pub actor_id: Option<Uuid>,
        pub subject_kind: Option<String>,
        pub subject_id: Option<Uuid>,
        /// JSON, never free text.
        pub before: Option<String>,
        /// JSON, never free text.
        pub after: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
