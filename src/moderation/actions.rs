//! What moderators do, each a whole transaction with its audit events:
//! moving items through their workflow (one at a time or in bulk), adding
//! notes and merging duplicate ideas. The GraphQL resolvers and the tests
//! call these; the store functions they wrap compose inside any transaction.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::entity::moderation_note;
use super::store::{self, BulkChange, BulkOutcome, FeedbackChange, IdeaChange};
use crate::db;
use crate::error::AppResult;
use crate::ids::{FeedbackId, IdeaId, StaffId};
use crate::submissions::entity::{feedback, idea};
use crate::submissions::model::{FeedbackStatus, IdeaStatus, SupporterKey};

/// See [`store::moderate_feedback`].
pub async fn moderate_feedback(
    db: &DatabaseConnection,
    actor: StaffId,
    id: FeedbackId,
    expected_version: i32,
    change: &FeedbackChange,
) -> AppResult<feedback::Model> {
    db::transaction(db, |txn, _| {
        Box::pin(store::moderate_feedback(
            txn,
            actor,
            id,
            Some(expected_version),
            change,
        ))
    })
    .await
}

/// See [`store::moderate_idea`].
pub async fn moderate_idea(
    db: &DatabaseConnection,
    actor: StaffId,
    id: IdeaId,
    expected_version: i32,
    change: &IdeaChange,
) -> AppResult<idea::Model> {
    db::transaction(db, |txn, _| {
        Box::pin(store::moderate_idea(
            txn,
            actor,
            id,
            Some(expected_version),
            change,
        ))
    })
    .await
}

/// See [`store::bulk_moderate_feedback`]: one transaction for all of them.
pub async fn bulk_moderate_feedback(
    db: &DatabaseConnection,
    actor: StaffId,
    ids: &[FeedbackId],
    change: BulkChange<'_, FeedbackStatus>,
) -> AppResult<BulkOutcome<FeedbackId>> {
    db::transaction(db, |txn, _| {
        Box::pin(store::bulk_moderate_feedback(txn, actor, ids, change))
    })
    .await
}

/// See [`store::bulk_moderate_ideas`]: one transaction for all of them.
pub async fn bulk_moderate_ideas(
    db: &DatabaseConnection,
    actor: StaffId,
    ids: &[IdeaId],
    change: BulkChange<'_, IdeaStatus>,
    published: Option<bool>,
) -> AppResult<BulkOutcome<IdeaId>> {
    db::transaction(db, |txn, _| {
        Box::pin(store::bulk_moderate_ideas(
            txn, actor, ids, change, published,
        ))
    })
    .await
}

/// See [`store::add_note`].
pub async fn add_note(
    db: &DatabaseConnection,
    actor: StaffId,
    subject: Uuid,
    body: &str,
) -> AppResult<moderation_note::Model> {
    db::transaction(db, |txn, _| {
        Box::pin(store::add_note(txn, actor, subject, body))
    })
    .await
}

/// See [`store::merge_idea`].
pub async fn merge_idea(
    db: &DatabaseConnection,
    actor: StaffId,
    source: IdeaId,
    target: IdeaId,
) -> AppResult<idea::Model> {
    db::transaction(db, |txn, _| {
        Box::pin(store::merge_idea(txn, actor, source, target))
    })
    .await
}

/// Records a resident's support for an idea on the board, once per
/// supporter; `None` when no such idea is on the board. See
/// [`crate::submissions::store::support_idea`].
pub async fn support_idea(
    db: &DatabaseConnection,
    idea: IdeaId,
    supporter: &SupporterKey,
) -> AppResult<Option<idea::Model>> {
    db::transaction(db, |txn, _| {
        Box::pin(crate::submissions::store::support_idea(
            txn, idea, supporter,
        ))
    })
    .await
}
