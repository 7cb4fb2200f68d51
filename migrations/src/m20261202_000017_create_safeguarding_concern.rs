//! Safeguarding concerns: each category of possible harm the detector found
//! in a submission, or a moderator raised by hand, with what staff decided
//! about it (confirmed and escalated, or dismissed, with a reason).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SafeguardingConcern::Table)
                    .col(pk_uuid(SafeguardingConcern::Id))
                    // A feedback or idea id (`subject_kind` says which).
                    .col(uuid(SafeguardingConcern::SubjectId))
                    .col(string(SafeguardingConcern::SubjectKind))
                    .col(string(SafeguardingConcern::Category))
                    // The words that raised it: as private as the text, and
                    // erased with it.
                    .col(text_null(SafeguardingConcern::Excerpt))
                    .col(float(SafeguardingConcern::Strength))
                    .col(string(SafeguardingConcern::Origin))
                    .col(string(SafeguardingConcern::Status))
                    .col(text_null(SafeguardingConcern::Reason))
                    .col(text_null(SafeguardingConcern::EscalatedTo))
                    .col(text_null(SafeguardingConcern::EscalationNote))
                    .col(timestamp_with_time_zone_null(
                        SafeguardingConcern::EscalatedAt,
                    ))
                    .col(uuid_null(SafeguardingConcern::RaisedBy))
                    .col(uuid_null(SafeguardingConcern::DecidedBy))
                    .col(timestamp_with_time_zone_null(
                        SafeguardingConcern::DecidedAt,
                    ))
                    .col(integer(SafeguardingConcern::Version))
                    .col(timestamp_with_time_zone(SafeguardingConcern::CreatedAt))
                    .col(timestamp_with_time_zone(SafeguardingConcern::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SafeguardingConcern::Table, SafeguardingConcern::RaisedBy)
                            .to(Staff::Table, Staff::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SafeguardingConcern::Table, SafeguardingConcern::DecidedBy)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_safeguarding_concern_subject")
                    .table(SafeguardingConcern::Table)
                    .col(SafeguardingConcern::SubjectId)
                    .to_owned(),
            )
            .await?;
        // Queue filters and the monthly figures: by category, then time.
        manager
            .create_index(
                Index::create()
                    .name("idx_safeguarding_concern_category")
                    .table(SafeguardingConcern::Table)
                    .col(SafeguardingConcern::Category)
                    .col(SafeguardingConcern::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SafeguardingConcern::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SafeguardingConcern {
    Table,
    Id,
    SubjectId,
    SubjectKind,
    Category,
    Excerpt,
    Strength,
    Origin,
    Status,
    Reason,
    EscalatedTo,
    EscalationNote,
    EscalatedAt,
    RaisedBy,
    DecidedBy,
    DecidedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
}
