//! The personal-data lifecycle: erasing a submission's free text and contact
//! details on request, and purging them from closed items once the retention
//! period has passed. What statistics need (the rating, the service, the
//! channel, the dates, the status) stays; so do the audit events, which never
//! held free text. Both write their own audit event.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QuerySelect as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::moderation::audit::{self, AuditEntry};
use crate::moderation::entity::moderation_note;
use crate::submissions::entity::{feedback, idea, idempotency_key};
use crate::submissions::model::{FeedbackStatus, IdeaStatus};
use crate::submissions::reference::{Reference, ReferenceKind};

/// What an erased idea's title and description read.
pub const ERASED: &str = "[erased]";

/// How many items one purge statement changes at most.
const BATCH: u64 = 500;

async fn erase_feedback(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    feedback::Entity::update_many()
        .col_expr(
            feedback::Column::Comment,
            Expr::value(Option::<String>::None),
        )
        .col_expr(feedback::Column::PiiFlags, Expr::value(""))
        .col_expr(
            feedback::Column::ContactName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            feedback::Column::ContactEmail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            feedback::Column::ContactPhone,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            feedback::Column::PublicResponse,
            Expr::value(Option::<String>::None),
        )
        .col_expr(feedback::Column::ErasedAt, Expr::value(now))
        .col_expr(feedback::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            feedback::Column::Version,
            Expr::col(feedback::Column::Version).add(1),
        )
        .filter(feedback::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    forget_notes(db, ids).await
}

async fn erase_ideas(db: &impl ConnectionTrait, ids: &[Uuid], now: DateTime<Utc>) -> AppResult<()> {
    idea::Entity::update_many()
        .col_expr(idea::Column::Title, Expr::value(ERASED))
        .col_expr(idea::Column::Description, Expr::value(ERASED))
        .col_expr(idea::Column::Theme, Expr::value(Option::<String>::None))
        .col_expr(idea::Column::PiiFlags, Expr::value(""))
        .col_expr(
            idea::Column::ContactName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            idea::Column::ContactEmail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            idea::Column::ContactPhone,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            idea::Column::PublicResponse,
            Expr::value(Option::<String>::None),
        )
        .col_expr(idea::Column::Published, Expr::value(false))
        .col_expr(idea::Column::ErasedAt, Expr::value(now))
        .col_expr(idea::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            idea::Column::Version,
            Expr::col(idea::Column::Version).add(1),
        )
        .filter(idea::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    forget_notes(db, ids).await
}

/// Moderators' notes can quote what the resident wrote, so they go too.
async fn forget_notes(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<()> {
    moderation_note::Entity::delete_many()
        .filter(moderation_note::Column::SubjectId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Erases a submission's free text and contact details at once, wherever
/// hamlet holds them: the row, moderators' notes, and the fingerprint kept
/// for retries. `actor` is `None` for the command line. Answers NOT_FOUND for
/// a reference that names nothing.
pub async fn erase(
    db: &impl ConnectionTrait,
    actor: Option<Uuid>,
    reference: &Reference,
) -> AppResult<Uuid> {
    let now = db::now();
    let code = reference.to_string();
    let (kind, id) = match reference.kind() {
        ReferenceKind::Feedback => {
            let row = feedback::Entity::find()
                .filter(feedback::Column::Reference.eq(code.as_str()))
                .one(db)
                .await?
                .ok_or(AppError::NotFound("a submission with that reference"))?;
            erase_feedback(db, &[row.id], now).await?;
            ("FEEDBACK", row.id)
        }
        ReferenceKind::Idea => {
            let row = idea::Entity::find()
                .filter(idea::Column::Reference.eq(code.as_str()))
                .one(db)
                .await?
                .ok_or(AppError::NotFound("a submission with that reference"))?;
            erase_ideas(db, &[row.id], now).await?;
            ("IDEA", row.id)
        }
    };
    // The fingerprint is a hash of what was sent, contact details included.
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::PayloadHash, Expr::value("erased"))
        .filter(idempotency_key::Column::Reference.eq(code.as_str()))
        .exec(db)
        .await?;
    audit::record(
        db,
        AuditEntry::other(
            "submission.erased",
            actor,
            Some((kind, id)),
            None,
            Some(json!({ "erasedAt": now })),
        ),
    )
    .await?;
    Ok(id)
}

/// What a purge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub feedback: u64,
    pub ideas: u64,
    /// Published closed ideas, which keep their (masked, public) text but
    /// lose contact details.
    pub contacts: u64,
}

/// Applies the retention period: closed items last changed before
/// `now − retention` lose their free text and contact details. Closed means
/// feedback CLOSED or SPAM, and ideas IMPLEMENTED, DECLINED, DUPLICATE or
/// SPAM; a published idea keeps its text, which the partnership chose to
/// show, and loses only contact details. A run that changes anything is
/// audited once.
///
/// Each batch of [`BATCH`] items is its own transaction, so that a first
/// purge over years of feedback never holds the write lock for long:
/// residents' submissions go on between batches. A purge that stops half
/// way loses nothing and the next one carries on.
pub async fn purge(
    db: &sea_orm::DatabaseConnection,
    actor: Option<Uuid>,
    retention: Duration,
) -> AppResult<Purged> {
    let now = db::now();
    let cutoff = now - retention;
    let mut purged = Purged::default();
    loop {
        let txn = db::write(db).await?;
        let ids: Vec<Uuid> = feedback::Entity::find()
            .select_only()
            .column(feedback::Column::Id)
            .filter(feedback::Column::Status.is_in([
                FeedbackStatus::Closed.as_str(),
                FeedbackStatus::Spam.as_str(),
            ]))
            .filter(feedback::Column::UpdatedAt.lt(cutoff))
            .filter(feedback::Column::ErasedAt.is_null())
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        if ids.is_empty() {
            break;
        }
        erase_feedback(&txn, &ids, now).await?;
        txn.commit().await?;
        purged.feedback += ids.len() as u64;
    }
    let closed = [
        IdeaStatus::Implemented.as_str(),
        IdeaStatus::Declined.as_str(),
        IdeaStatus::Duplicate.as_str(),
        IdeaStatus::Spam.as_str(),
    ];
    loop {
        let txn = db::write(db).await?;
        let ids: Vec<Uuid> = idea::Entity::find()
            .select_only()
            .column(idea::Column::Id)
            .filter(idea::Column::Status.is_in(closed))
            .filter(idea::Column::Published.eq(false))
            .filter(idea::Column::UpdatedAt.lt(cutoff))
            .filter(idea::Column::ErasedAt.is_null())
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        if ids.is_empty() {
            break;
        }
        erase_ideas(&txn, &ids, now).await?;
        txn.commit().await?;
        purged.ideas += ids.len() as u64;
    }
    let txn = db::write(db).await?;
    let contacts = idea::Entity::update_many()
        .col_expr(
            idea::Column::ContactName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            idea::Column::ContactEmail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            idea::Column::ContactPhone,
            Expr::value(Option::<String>::None),
        )
        .filter(idea::Column::Status.is_in(closed))
        .filter(idea::Column::Published.eq(true))
        .filter(idea::Column::UpdatedAt.lt(cutoff))
        .filter(
            sea_orm::Condition::any()
                .add(idea::Column::ContactName.is_not_null())
                .add(idea::Column::ContactEmail.is_not_null())
                .add(idea::Column::ContactPhone.is_not_null()),
        )
        .exec(&txn)
        .await?;
    purged.contacts = contacts.rows_affected;
    if purged == Purged::default() {
        return Ok(purged);
    }
    audit::record(
        &txn,
        AuditEntry::other(
            "retention.purged",
            actor,
            None,
            None,
            Some(json!({
                "cutoff": cutoff,
                "feedback": purged.feedback,
                "ideas": purged.ideas,
                "contacts": purged.contacts,
            })),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(purged)
}
