//! The personal-data lifecycle: erasing a submission's free text and contact
//! details on request, and purging them from closed items once the retention
//! period has passed. What statistics need (the rating, the service, the
//! channel, the dates, the status) stays; so do the audit events, which never
//! held free text. Both write their own audit event.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QuerySelect as _,
};
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::{FeedbackId, IdeaId, StaffId, SubmissionId};
use crate::moderation::entity::moderation_note;
use crate::submissions::entity::{feedback, idea, idempotency_key, safeguarding_concern};
use crate::submissions::model::{FeedbackStatus, IdeaStatus, SubmissionKind};
use crate::submissions::reference::{Reference, ReferenceKind};

/// What an erased idea's title and description read.
pub const ERASED: &str = "[erased]";

/// How many items one purge statement changes at most.
const BATCH: u64 = 500;

/// The columns erasure empties in both feedback and ideas, and sets.
struct Erasable<C> {
    id: C,
    pii_flags: C,
    personal_data: C,
    contact: [C; 3],
    public_response: C,
    erased_at: C,
    updated_at: C,
    version: C,
}

/// Empties `ids`' free text (`text`, each set to its given value) and contact
/// details in table `E`, marks them erased, forgets their notes and the
/// words their safeguarding concerns quote.
async fn erase_rows<E: sea_orm::EntityTrait>(
    db: &impl ConnectionTrait,
    columns: Erasable<E::Column>,
    text: Vec<(E::Column, sea_orm::Value)>,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let none = || Expr::value(Option::<String>::None);
    let mut update = E::update_many()
        .col_expr(columns.pii_flags, Expr::value(""))
        .col_expr(columns.personal_data, Expr::value(false))
        .col_expr(columns.public_response, none())
        .col_expr(columns.erased_at, Expr::value(now))
        .col_expr(columns.updated_at, Expr::value(now))
        .col_expr(columns.version, Expr::col(columns.version).add(1));
    for column in columns.contact {
        update = update.col_expr(column, none());
    }
    for (column, value) in text {
        update = update.col_expr(column, Expr::value(value));
    }
    update
        .filter(columns.id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    safeguarding_concern::Entity::update_many()
        .col_expr(safeguarding_concern::Column::Excerpt, none())
        .filter(safeguarding_concern::Column::SubjectId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    forget_notes(db, ids).await
}

async fn erase_feedback(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    use feedback::Column as C;
    let columns = Erasable {
        id: C::Id,
        pii_flags: C::PiiFlags,
        personal_data: C::PersonalData,
        contact: [C::ContactName, C::ContactEmail, C::ContactPhone],
        public_response: C::PublicResponse,
        erased_at: C::ErasedAt,
        updated_at: C::UpdatedAt,
        version: C::Version,
    };
    let text = vec![(C::Comment, Option::<String>::None.into())];
    erase_rows::<feedback::Entity>(db, columns, text, ids, now).await
}

async fn erase_ideas(db: &impl ConnectionTrait, ids: &[Uuid], now: DateTime<Utc>) -> AppResult<()> {
    use idea::Column as C;
    let columns = Erasable {
        id: C::Id,
        pii_flags: C::PiiFlags,
        personal_data: C::PersonalData,
        contact: [C::ContactName, C::ContactEmail, C::ContactPhone],
        public_response: C::PublicResponse,
        erased_at: C::ErasedAt,
        updated_at: C::UpdatedAt,
        version: C::Version,
    };
    let text = vec![
        (C::Title, ERASED.into()),
        (C::Description, ERASED.into()),
        (C::Theme, Option::<String>::None.into()),
        (C::Published, false.into()),
    ];
    erase_rows::<idea::Entity>(db, columns, text, ids, now).await
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
    actor: Option<StaffId>,
    reference: &Reference,
) -> AppResult<SubmissionId> {
    let now = db::now();
    let code = reference.to_string();
    let id = match reference.kind() {
        ReferenceKind::Feedback => {
            let row = feedback::Entity::find()
                .filter(feedback::Column::Reference.eq(code.as_str()))
                .one(db)
                .await?
                .ok_or(AppError::NotFound("a submission with that reference"))?;
            erase_feedback(db, &[row.id], now).await?;
            SubmissionId::Feedback(FeedbackId::from_uuid(row.id))
        }
        ReferenceKind::Idea => {
            let row = idea::Entity::find()
                .filter(idea::Column::Reference.eq(code.as_str()))
                .one(db)
                .await?
                .ok_or(AppError::NotFound("a submission with that reference"))?;
            erase_ideas(db, &[row.id], now).await?;
            SubmissionId::Idea(IdeaId::from_uuid(row.id))
        }
    };
    // The fingerprint is a hash of what was sent, contact details included.
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::PayloadHash, Expr::value("erased"))
        .filter(idempotency_key::Column::Reference.eq(code.as_str()))
        .exec(db)
        .await?;
    audit::record(db, AuditEntry::submission_erased(actor, id, now)).await?;
    Ok(id)
}

/// [`erase`] in a transaction of its own, for admins and the command line.
pub async fn erase_submission(
    db: &sea_orm::DatabaseConnection,
    actor: Option<StaffId>,
    reference: &Reference,
) -> AppResult<SubmissionId> {
    db::transaction(db, |txn, _| Box::pin(erase(txn, actor, reference))).await
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

/// Erases the submissions of `kind` that `condition` picks, [`BATCH`] at a
/// time, each batch in a transaction of its own, until none is left.
/// Answers how many it erased.
async fn erase_in_batches(
    db: &sea_orm::DatabaseConnection,
    kind: SubmissionKind,
    condition: Condition,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let erased = db::transaction(db, |txn, _| {
            let condition = condition.clone();
            Box::pin(async move {
                let ids: Vec<Uuid> = match kind {
                    SubmissionKind::Feedback => {
                        ids_where::<feedback::Entity>(txn, feedback::Column::Id, condition).await?
                    }
                    SubmissionKind::Idea => {
                        ids_where::<idea::Entity>(txn, idea::Column::Id, condition).await?
                    }
                };
                match kind {
                    SubmissionKind::Feedback => erase_feedback(txn, &ids, now).await?,
                    SubmissionKind::Idea => erase_ideas(txn, &ids, now).await?,
                }
                Ok(ids.len() as u64)
            })
        })
        .await?;
        if erased == 0 {
            return Ok(total);
        }
        total += erased;
    }
}

/// Up to [`BATCH`] ids of the rows of `E` that `condition` picks.
async fn ids_where<E: sea_orm::EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    condition: Condition,
) -> AppResult<Vec<Uuid>> {
    Ok(E::find()
        .select_only()
        .column(id)
        .filter(condition)
        .limit(BATCH)
        .into_tuple()
        .all(db)
        .await?)
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
    actor: Option<StaffId>,
    retention: Duration,
) -> AppResult<Purged> {
    let now = db::now();
    let cutoff = now - retention;
    let feedback = Condition::all()
        .add(feedback::Column::Status.is_in([
            FeedbackStatus::Closed.as_str(),
            FeedbackStatus::Spam.as_str(),
        ]))
        .add(feedback::Column::UpdatedAt.lt(cutoff))
        .add(feedback::Column::ErasedAt.is_null());
    let closed = [
        IdeaStatus::Implemented.as_str(),
        IdeaStatus::Declined.as_str(),
        IdeaStatus::Duplicate.as_str(),
        IdeaStatus::Spam.as_str(),
    ];
    let ideas = Condition::all()
        .add(idea::Column::Status.is_in(closed))
        .add(idea::Column::Published.eq(false))
        .add(idea::Column::UpdatedAt.lt(cutoff))
        .add(idea::Column::ErasedAt.is_null());
    let mut purged = Purged {
        feedback: erase_in_batches(db, SubmissionKind::Feedback, feedback, now).await?,
        ideas: erase_in_batches(db, SubmissionKind::Idea, ideas, now).await?,
        contacts: 0,
    };
    db::transaction(db, |txn, _| {
        Box::pin(async move {
            let none = || Expr::value(Option::<String>::None);
            let contacts = idea::Entity::update_many()
                .col_expr(idea::Column::ContactName, none())
                .col_expr(idea::Column::ContactEmail, none())
                .col_expr(idea::Column::ContactPhone, none())
                .filter(idea::Column::Status.is_in(closed))
                .filter(idea::Column::Published.eq(true))
                .filter(idea::Column::UpdatedAt.lt(cutoff))
                .filter(
                    sea_orm::Condition::any()
                        .add(idea::Column::ContactName.is_not_null())
                        .add(idea::Column::ContactEmail.is_not_null())
                        .add(idea::Column::ContactPhone.is_not_null()),
                )
                .exec(txn)
                .await?;
            purged.contacts = contacts.rows_affected;
            if purged != Purged::default() {
                audit::record(
                    txn,
                    AuditEntry::retention_purged(
                        actor,
                        cutoff,
                        purged.feedback,
                        purged.ideas,
                        purged.contacts,
                    ),
                )
                .await?;
            }
            Ok(purged)
        })
    })
    .await
}
