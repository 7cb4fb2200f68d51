//! Services: what residents give feedback about.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Service::Table)
                    .col(pk_uuid(Service::Id))
                    .col(string_uniq(Service::Slug))
                    .col(text(Service::Name))
                    .col(text(Service::Description))
                    .col(string(Service::Category))
                    .col(text(Service::ParentOrganisation))
                    .col(string_null(Service::OdsCode))
                    .col(boolean(Service::Active))
                    .col(timestamp_with_time_zone(Service::CreatedAt))
                    .col(timestamp_with_time_zone(Service::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Service::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Service {
    Table,
    Id,
    Slug,
    Name,
    Description,
    Category,
    ParentOrganisation,
    OdsCode,
    Active,
    CreatedAt,
    UpdatedAt,
}
