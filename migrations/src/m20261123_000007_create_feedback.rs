//! Feedback: a resident's Friends and Family Test answer about a service.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    .col(pk_uuid(Feedback::Id))
                    .col(string_uniq(Feedback::Reference))
                    .col(uuid(Feedback::ServiceId))
                    .col(string(Feedback::Rating))
                    .col(text_null(Feedback::Comment))
                    .col(string(Feedback::PiiFlags))
                    .col(string(Feedback::Channel))
                    .col(string(Feedback::Locale))
                    .col(uuid_null(Feedback::KioskId))
                    .col(string(Feedback::Status))
                    .col(uuid_null(Feedback::AssigneeId))
                    .col(text_null(Feedback::PublicResponse))
                    .col(boolean(Feedback::Safeguarding))
                    .col(text_null(Feedback::ContactName))
                    .col(text_null(Feedback::ContactEmail))
                    .col(text_null(Feedback::ContactPhone))
                    .col(integer(Feedback::Version))
                    .col(timestamp_with_time_zone_null(Feedback::CapturedAt))
                    .col(timestamp_with_time_zone(Feedback::ReceivedAt))
                    .col(timestamp_with_time_zone(Feedback::UpdatedAt))
                    // When free text and contact details were erased (on request or
                    // by retention); what remains is what statistics need.
                    .col(timestamp_with_time_zone_null(Feedback::ErasedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::ServiceId)
                            .to(Service::Table, Service::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::KioskId)
                            .to(Kiosk::Table, Kiosk::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::AssigneeId)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Staff queues read safeguarding first, then newest first (ids are
        // UUIDv7, so id order is arrival order), within the usual filters; a
        // page is a range scan of one of these, however many rows there are.
        for (name, columns) in [
            (
                "idx_feedback_queue",
                vec![Feedback::Safeguarding, Feedback::Id],
            ),
            (
                "idx_feedback_queue_status",
                vec![Feedback::Status, Feedback::Safeguarding, Feedback::Id],
            ),
            (
                "idx_feedback_queue_service_status",
                vec![
                    Feedback::ServiceId,
                    Feedback::Status,
                    Feedback::Safeguarding,
                    Feedback::Id,
                ],
            ),
            (
                "idx_feedback_queue_assignee",
                vec![Feedback::AssigneeId, Feedback::Safeguarding, Feedback::Id],
            ),
            ("idx_feedback_received", vec![Feedback::ReceivedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Feedback::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Feedback::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    Id,
    Reference,
    ServiceId,
    Rating,
    Comment,
    PiiFlags,
    Channel,
    Locale,
    KioskId,
    Status,
    AssigneeId,
    PublicResponse,
    Safeguarding,
    ContactName,
    ContactEmail,
    ContactPhone,
    Version,
    CapturedAt,
    ReceivedAt,
    UpdatedAt,
    ErasedAt,
}

#[derive(DeriveIden)]
enum Service {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Kiosk {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
}
