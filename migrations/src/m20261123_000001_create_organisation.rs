//! The organisation (the tenant) and its per-locale text and values.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .col(pk_uuid(Organisation::Id))
                    .col(string_uniq(Organisation::Slug))
                    .col(string(Organisation::DefaultLocale))
                    .col(timestamp_with_time_zone(Organisation::CreatedAt))
                    .col(timestamp_with_time_zone(Organisation::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganisationTranslation::Table)
                    .col(uuid(OrganisationTranslation::OrganisationId))
                    .col(string(OrganisationTranslation::Locale))
                    .col(text(OrganisationTranslation::Name))
                    .col(text(OrganisationTranslation::Vision))
                    .col(text(OrganisationTranslation::Mission))
                    .col(text(OrganisationTranslation::Purpose))
                    .col(timestamp_with_time_zone(OrganisationTranslation::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(OrganisationTranslation::OrganisationId)
                            .col(OrganisationTranslation::Locale),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                OrganisationTranslation::Table,
                                OrganisationTranslation::OrganisationId,
                            )
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganisationValue::Table)
                    .col(uuid(OrganisationValue::OrganisationId))
                    .col(string(OrganisationValue::Locale))
                    .col(integer(OrganisationValue::Position))
                    .col(text(OrganisationValue::Title))
                    .col(text_null(OrganisationValue::Description))
                    .primary_key(
                        Index::create()
                            .col(OrganisationValue::OrganisationId)
                            .col(OrganisationValue::Locale)
                            .col(OrganisationValue::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrganisationValue::Table, OrganisationValue::OrganisationId)
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrganisationValue::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(OrganisationTranslation::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Organisation::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Organisation {
    Table,
    Id,
    Slug,
    DefaultLocale,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganisationTranslation {
    Table,
    OrganisationId,
    Locale,
    Name,
    Vision,
    Mission,
    Purpose,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganisationValue {
    Table,
    OrganisationId,
    Locale,
    Position,
    Title,
    Description,
}
