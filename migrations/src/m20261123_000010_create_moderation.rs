//! Moderation: staff tags on submissions, internal notes, and the append-only
//! audit trail of every staff action.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A tag on a piece of feedback or an idea (ids are unique across both).
        manager
            .create_table(
                Table::create()
                    .table(SubmissionTag::Table)
                    .col(uuid(SubmissionTag::SubjectId))
                    .col(string(SubmissionTag::Tag))
                    .primary_key(
                        Index::create()
                            .col(SubmissionTag::SubjectId)
                            .col(SubmissionTag::Tag),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_submission_tag_tag")
                    .table(SubmissionTag::Table)
                    .col(SubmissionTag::Tag)
                    .col(SubmissionTag::SubjectId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModerationNote::Table)
                    .col(pk_uuid(ModerationNote::Id))
                    .col(uuid(ModerationNote::SubjectId))
                    .col(string(ModerationNote::SubjectKind))
                    .col(uuid(ModerationNote::AuthorId))
                    .col(text(ModerationNote::Body))
                    .col(timestamp_with_time_zone(ModerationNote::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ModerationNote::Table, ModerationNote::AuthorId)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_note_subject")
                    .table(ModerationNote::Table)
                    .col(ModerationNote::SubjectId)
                    .col(ModerationNote::Id)
                    .to_owned(),
            )
            .await?;
        // Audit rows name what they describe by id only and hold no free text,
        // so they outlive the erasure of the submission they describe.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(pk_uuid(AuditEvent::Id))
                    .col(string(AuditEvent::Action))
                    .col(uuid_null(AuditEvent::ActorId))
                    .col(string_null(AuditEvent::SubjectKind))
                    .col(uuid_null(AuditEvent::SubjectId))
                    .col(text_null(AuditEvent::Before))
                    .col(text_null(AuditEvent::After))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEvent::Table, AuditEvent::ActorId)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_event_subject", AuditEvent::SubjectId),
            ("idx_audit_event_actor", AuditEvent::ActorId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvent::Table)
                        .col(column)
                        .col(AuditEvent::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvent::Table.into_iden(),
            ModerationNote::Table.into_iden(),
            SubmissionTag::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SubmissionTag {
    Table,
    SubjectId,
    Tag,
}

#[derive(DeriveIden)]
enum ModerationNote {
    Table,
    Id,
    SubjectId,
    SubjectKind,
    AuthorId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    Action,
    ActorId,
    SubjectKind,
    SubjectId,
    Before,
    After,
    At,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
}
