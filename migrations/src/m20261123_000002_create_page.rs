//! Pages: one row per page, its text per locale, and its media.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Page::Table)
                    .col(pk_uuid(Page::Id))
                    .col(string_uniq(Page::Slug))
                    .col(string(Page::Status))
                    .col(integer(Page::Version))
                    .col(timestamp_with_time_zone_null(Page::PublishedAt))
                    .col(timestamp_with_time_zone(Page::CreatedAt))
                    .col(timestamp_with_time_zone(Page::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_page_status_slug")
                    .table(Page::Table)
                    .col(Page::Status)
                    .col(Page::Slug)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PageTranslation::Table)
                    .col(uuid(PageTranslation::PageId))
                    .col(string(PageTranslation::Locale))
                    .col(text(PageTranslation::Title))
                    .col(text_null(PageTranslation::Summary))
                    .col(text(PageTranslation::Body))
                    .col(text(PageTranslation::BodyHtml))
                    .col(timestamp_with_time_zone(PageTranslation::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(PageTranslation::PageId)
                            .col(PageTranslation::Locale),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageTranslation::Table, PageTranslation::PageId)
                            .to(Page::Table, Page::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PageMedia::Table)
                    .col(uuid(PageMedia::PageId))
                    .col(integer(PageMedia::Position))
                    .col(string(PageMedia::Kind))
                    .col(text(PageMedia::Title))
                    .col(text_null(PageMedia::Description))
                    .col(text_null(PageMedia::Url))
                    .col(text_null(PageMedia::Transcript))
                    .col(text_null(PageMedia::CaptionsUrl))
                    .col(text_null(PageMedia::AltText))
                    .primary_key(
                        Index::create()
                            .col(PageMedia::PageId)
                            .col(PageMedia::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageMedia::Table, PageMedia::PageId)
                            .to(Page::Table, Page::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PageMedia::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PageTranslation::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Page::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Page {
    Table,
    Id,
    Slug,
    Status,
    Version,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PageTranslation {
    Table,
    PageId,
    Locale,
    Title,
    Summary,
    Body,
    BodyHtml,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PageMedia {
    Table,
    PageId,
    Position,
    Kind,
    Title,
    Description,
    Url,
    Transcript,
    CaptionsUrl,
    AltText,
}
