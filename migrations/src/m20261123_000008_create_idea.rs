//! Ideas: residents' suggestions for improving health and wellbeing, and the
//! supporters each idea has gathered.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Idea::Table)
                    .col(pk_uuid(Idea::Id))
                    .col(string_uniq(Idea::Reference))
                    .col(text(Idea::Title))
                    .col(text(Idea::Description))
                    .col(string_null(Idea::Theme))
                    .col(string(Idea::PiiFlags))
                    .col(string(Idea::Channel))
                    .col(string(Idea::Locale))
                    .col(uuid_null(Idea::KioskId))
                    .col(string(Idea::Status))
                    .col(uuid_null(Idea::AssigneeId))
                    .col(boolean(Idea::Published))
                    .col(text_null(Idea::PublicResponse))
                    .col(boolean(Idea::Safeguarding))
                    .col(integer(Idea::SupportCount))
                    .col(uuid_null(Idea::MergedIntoId))
                    .col(text_null(Idea::ContactName))
                    .col(text_null(Idea::ContactEmail))
                    .col(text_null(Idea::ContactPhone))
                    .col(integer(Idea::Version))
                    .col(timestamp_with_time_zone_null(Idea::CapturedAt))
                    .col(timestamp_with_time_zone(Idea::ReceivedAt))
                    .col(timestamp_with_time_zone(Idea::UpdatedAt))
                    // When free text and contact details were erased (on request or
                    // by retention); what remains is what statistics need.
                    .col(timestamp_with_time_zone_null(Idea::ErasedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Idea::Table, Idea::KioskId)
                            .to(Kiosk::Table, Kiosk::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Idea::Table, Idea::MergedIntoId)
                            .to(Idea::Table, Idea::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Idea::Table, Idea::AssigneeId)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The idea board: published ideas by support, or newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_idea_board_support")
                    .table(Idea::Table)
                    .col(Idea::Published)
                    .col(Idea::SupportCount)
                    .col(Idea::Id)
                    .to_owned(),
            )
            .await?;
        // Staff queues: safeguarding first, then newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_idea_queue")
                    .table(Idea::Table)
                    .col(Idea::Safeguarding)
                    .col(Idea::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idea_queue_status")
                    .table(Idea::Table)
                    .col(Idea::Status)
                    .col(Idea::Safeguarding)
                    .col(Idea::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdeaSupport::Table)
                    .col(uuid(IdeaSupport::IdeaId))
                    .col(string(IdeaSupport::SupporterHash))
                    .col(timestamp_with_time_zone(IdeaSupport::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdeaSupport::IdeaId)
                            .col(IdeaSupport::SupporterHash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdeaSupport::Table, IdeaSupport::IdeaId)
                            .to(Idea::Table, Idea::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdeaSupport::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Idea::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Idea {
    Table,
    Id,
    Reference,
    Title,
    Description,
    Theme,
    PiiFlags,
    Channel,
    Locale,
    KioskId,
    Status,
    AssigneeId,
    Published,
    PublicResponse,
    Safeguarding,
    SupportCount,
    MergedIntoId,
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
enum IdeaSupport {
    Table,
    IdeaId,
    SupporterHash,
    CreatedAt,
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
