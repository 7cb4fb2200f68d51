//! hamlet's database migrations, for SQLite and PostgreSQL alike.
//!
//! One file per migration, named `mYYYYMMDD_HHMMSS_verb_noun.rs`. A migration that
//! has landed is never edited: a change to the schema is a new migration.

#![expect(
    elided_lifetimes_in_paths,
    reason = "sea-orm-migration declares MigrationTrait with an elided SchemaManager lifetime, which async_trait cannot match with a named one"
)]
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_organisation;
mod m20261123_000002_create_page;
mod m20261123_000003_create_service;
mod m20261123_000004_create_search_document;
mod m20261123_000005_create_staff;
mod m20261123_000006_create_kiosk;
mod m20261123_000007_create_feedback;
mod m20261123_000008_create_idea;
mod m20261123_000009_create_idempotency_key;
mod m20261123_000010_create_moderation;
mod m20261125_000011_create_page_revision;
mod m20261125_000012_add_page_schedule;
mod m20261125_000013_create_webhook;
mod m20261125_000014_create_rate_limit_bucket;
mod m20261125_000015_create_feedback_tally;
mod m20261202_000016_create_storage_probe;
mod m20261202_000017_create_safeguarding_concern;
mod m20261204_000018_add_personal_data_band;

/// Applies hamlet's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_organisation::Migration),
            Box::new(m20261123_000002_create_page::Migration),
            Box::new(m20261123_000003_create_service::Migration),
            Box::new(m20261123_000004_create_search_document::Migration),
            Box::new(m20261123_000005_create_staff::Migration),
            Box::new(m20261123_000006_create_kiosk::Migration),
            Box::new(m20261123_000007_create_feedback::Migration),
            Box::new(m20261123_000008_create_idea::Migration),
            Box::new(m20261123_000009_create_idempotency_key::Migration),
            Box::new(m20261123_000010_create_moderation::Migration),
            Box::new(m20261125_000011_create_page_revision::Migration),
            Box::new(m20261125_000012_add_page_schedule::Migration),
            Box::new(m20261125_000013_create_webhook::Migration),
            Box::new(m20261125_000014_create_rate_limit_bucket::Migration),
            Box::new(m20261125_000015_create_feedback_tally::Migration),
            Box::new(m20261202_000016_create_storage_probe::Migration),
            Box::new(m20261202_000017_create_safeguarding_concern::Migration),
            Box::new(m20261204_000018_add_personal_data_band::Migration),
        ]
    }
}
