//! Rate-limit buckets shared by every process on a PostgreSQL database, so
//! that running two hamlets does not double a client's allowance. (On SQLite
//! hamlet is one process and keeps its buckets in memory.)

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitBucket::Table)
                    .col(string(RateLimitBucket::Key).primary_key())
                    .col(double(RateLimitBucket::Tokens))
                    .col(timestamp_with_time_zone(RateLimitBucket::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rate_limit_bucket_updated")
                    .table(RateLimitBucket::Table)
                    .col(RateLimitBucket::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RateLimitBucket::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RateLimitBucket {
    Table,
    Key,
    Tokens,
    UpdatedAt,
}
