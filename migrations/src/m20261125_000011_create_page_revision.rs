//! Page revisions: every saved draft of a page, in one locale, with who saved
//! it. Publishing copies the newest revision of each locale into
//! `page_translation`, which is what the public reads.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PageRevision::Table)
                    .col(pk_uuid(PageRevision::Id))
                    .col(uuid(PageRevision::PageId))
                    .col(integer(PageRevision::Version))
                    .col(string(PageRevision::Locale))
                    .col(string(PageRevision::Slug))
                    .col(text(PageRevision::Title))
                    .col(text_null(PageRevision::Summary))
                    .col(text(PageRevision::Body))
                    .col(text(PageRevision::BodyHtml))
                    // The page's media as JSON, as of this revision.
                    .col(text(PageRevision::Media))
                    .col(uuid_null(PageRevision::AuthorId))
                    .col(timestamp_with_time_zone(PageRevision::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageRevision::Table, PageRevision::PageId)
                            .to(Page::Table, Page::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageRevision::Table, PageRevision::AuthorId)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_page_revision_version")
                    .table(PageRevision::Table)
                    .col(PageRevision::PageId)
                    .col(PageRevision::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PageRevision::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PageRevision {
    Table,
    Id,
    PageId,
    Version,
    Locale,
    Slug,
    Title,
    Summary,
    Body,
    BodyHtml,
    Media,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Page {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
}
