//! Kiosks: devices in waiting rooms and libraries that submit on residents' behalf.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Kiosk::Table)
                    .col(pk_uuid(Kiosk::Id))
                    .col(text(Kiosk::Name))
                    .col(text_null(Kiosk::Site))
                    .col(string_uniq(Kiosk::TokenHash))
                    .col(boolean(Kiosk::Active))
                    .col(timestamp_with_time_zone(Kiosk::CreatedAt))
                    .col(timestamp_with_time_zone_null(Kiosk::RevokedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Kiosk::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Kiosk {
    Table,
    Id,
    Name,
    Site,
    TokenHash,
    Active,
    CreatedAt,
    RevokedAt,
}
