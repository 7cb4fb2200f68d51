//! Scheduled publishing: when a page is to be published, and which version;
//! and which version the public reads, as drafts move `version` on.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Page::Table)
                    .add_column(timestamp_with_time_zone_null(Page::ScheduledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Page::Table)
                    .add_column(integer_null(Page::ScheduledVersion))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Page::Table)
                    .add_column(integer_null(Page::PublishedVersion))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_page_scheduled_at")
                    .table(Page::Table)
                    .col(Page::ScheduledAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_page_scheduled_at")
                    .table(Page::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Page::PublishedVersion,
            Page::ScheduledVersion,
            Page::ScheduledAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Page::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Page {
    Table,
    ScheduledAt,
    ScheduledVersion,
    PublishedVersion,
}
