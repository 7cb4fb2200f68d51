//! Idempotency keys: one row per submission a client made, so a retry of the
//! same submission returns the first receipt instead of storing it twice.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .col(string(IdempotencyKey::Key).primary_key())
                    .col(string(IdempotencyKey::Kind))
                    .col(string(IdempotencyKey::PayloadHash))
                    .col(string(IdempotencyKey::Reference))
                    .col(timestamp_with_time_zone(IdempotencyKey::ReceivedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    Key,
    Kind,
    PayloadHash,
    Reference,
    ReceivedAt,
}
