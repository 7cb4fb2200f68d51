//! The full-text search index over published titles and bodies.
//!
//! SQLite gets an FTS5 table (porter stemming, diacritics folded, combining marks
//! kept inside words as Bengali needs); PostgreSQL a
//! table with a weighted `tsvector` column and a GIN index. Both hold one row per
//! searchable document and locale, kept up to date by the content store.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE search_document USING fts5(\
                        kind UNINDEXED, slug UNINDEXED, locale UNINDEXED, title, body, \
                        tokenize = \"porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE search_document (\
                        kind TEXT NOT NULL, slug TEXT NOT NULL, locale TEXT NOT NULL, \
                        title TEXT NOT NULL, body TEXT NOT NULL, \
                        document TSVECTOR NOT NULL, \
                        PRIMARY KEY (kind, slug, locale))",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_search_document_document ON search_document USING GIN (document)",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE search_document")
            .await?;
        Ok(())
    }
}
