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
                    .col(boolean(Feedback::Safeguarding))
                    .col(text_null(Feedback::ContactName))
                    .col(text_null(Feedback::ContactEmail))
                    .col(text_null(Feedback::ContactPhone))
                    .col(integer(Feedback::Version))
                    .col(timestamp_with_time_zone_null(Feedback::CapturedAt))
                    .col(timestamp_with_time_zone(Feedback::ReceivedAt))
                    .col(timestamp_with_time_zone(Feedback::UpdatedAt))
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
                    .to_owned(),
            )
            .await?;
        // Staff queues read newest first within a status, safeguarding first.
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_status_received")
                    .table(Feedback::Table)
                    .col(Feedback::Status)
                    .col(Feedback::Safeguarding)
                    .col(Feedback::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_service_received")
                    .table(Feedback::Table)
                    .col(Feedback::ServiceId)
                    .col(Feedback::ReceivedAt)
                    .to_owned(),
            )
            .await
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
    Safeguarding,
    ContactName,
    ContactEmail,
    ContactPhone,
    Version,
    CapturedAt,
    ReceivedAt,
    UpdatedAt,
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
