//! The staff queue's middle band: after safeguarding concerns come items
//! with personal data in their text, then the rest. `personal_data` is true
//! when `pii_flags` names any kind (set with the row: the flags never change
//! after), and each queue index gains it after `safeguarding`, so a page is
//! still one range scan of an index however many rows there are.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The two submission tables, which gain the column alike.
const TABLES: [&str; 2] = ["feedback", "idea"];
const PERSONAL_DATA: &str = "personal_data";

#[derive(DeriveIden, Clone, Copy)]
enum Feedback {
    Table,
    ServiceId,
    Status,
    Safeguarding,
    PersonalData,
    AssigneeId,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Idea {
    Table,
    Status,
    Safeguarding,
    PersonalData,
    Id,
}

/// Each queue index: its name before and after this migration, and its
/// columns before `safeguarding`; every one ends `safeguarding,
/// [personal_data,] id`.
fn feedback_indexes() -> Vec<(&'static str, &'static str, Vec<Feedback>)> {
    vec![
        ("idx_feedback_queue", "idx_feedback_band", vec![]),
        (
            "idx_feedback_queue_status",
            "idx_feedback_band_status",
            vec![Feedback::Status],
        ),
        (
            "idx_feedback_queue_service_status",
            "idx_feedback_band_service_status",
            vec![Feedback::ServiceId, Feedback::Status],
        ),
        (
            "idx_feedback_queue_assignee",
            "idx_feedback_band_assignee",
            vec![Feedback::AssigneeId],
        ),
    ]
}

fn idea_indexes() -> Vec<(&'static str, &'static str, Vec<Idea>)> {
    vec![
        ("idx_idea_queue", "idx_idea_band", vec![]),
        (
            "idx_idea_queue_status",
            "idx_idea_band_status",
            vec![Idea::Status],
        ),
    ]
}

/// Creates each index `create` of `table` with its head columns and then
/// `tail`, and only then drops the index it replaces (`drop`): a queue
/// query always has an index to read. New names, because the migrator
/// may run a statement on another of the pool's connections, which on
/// SQLite can still see an index just dropped.
async fn replace_indexes<T: Iden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    indexes: Vec<(&'static str, &'static str, Vec<T>)>,
    tail: Vec<T>,
    forward: bool,
) -> Result<(), DbErr> {
    for (old, new, head) in indexes {
        let (create, drop) = if forward { (new, old) } else { (old, new) };
        let mut index = Index::create();
        index.name(create).table(table.clone());
        for column in head.into_iter().chain(tail.iter().cloned()) {
            index.col(column);
        }
        manager.create_index(index.to_owned()).await?;
        manager
            .drop_index(Index::drop().name(drop).table(table.clone()).to_owned())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(boolean(Alias::new(PERSONAL_DATA)).default(false))
                        .to_owned(),
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "UPDATE {table} SET {PERSONAL_DATA} = (pii_flags <> '')"
                ))
                .await?;
        }
        replace_indexes(
            manager,
            Feedback::Table,
            feedback_indexes(),
            vec![Feedback::Safeguarding, Feedback::PersonalData, Feedback::Id],
            true,
        )
        .await?;
        replace_indexes(
            manager,
            Idea::Table,
            idea_indexes(),
            vec![Idea::Safeguarding, Idea::PersonalData, Idea::Id],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_indexes(
            manager,
            Feedback::Table,
            feedback_indexes(),
            vec![Feedback::Safeguarding, Feedback::Id],
            false,
        )
        .await?;
        replace_indexes(
            manager,
            Idea::Table,
            idea_indexes(),
            vec![Idea::Safeguarding, Idea::Id],
            false,
        )
        .await?;
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(PERSONAL_DATA))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
