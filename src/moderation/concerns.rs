//! Safeguarding concerns, as staff close the loop on them: confirming one
//! (with where it was escalated), dismissing one, changing its category, or
//! raising one the detector missed, each with a reason and an audit event
//! that cannot be undone silently. A submission is marked `safeguarding`
//! while any of its concerns is not dismissed: it stays at the top of the
//! queue and off the idea board. The monthly figures say how the detector
//! does in real use.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike as _, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::json;
use uuid::Uuid;

use super::store::{self as moderation_store};
use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::{FeedbackId, IdeaId, StaffId, SubmissionId};
use crate::privacy::SafeguardingCategory;
use crate::submissions::entity::{feedback, idea, safeguarding_concern};
use crate::submissions::model::{ConcernOrigin, ConcernStatus, SubmissionKind};

/// At most this many characters in a reason, a note or an excerpt.
pub const TEXT_MAX: usize = 2000;

/// A concern as stored, with its category parsed.
#[derive(Clone, Debug)]
pub struct ConcernView {
    pub row: safeguarding_concern::Model,
    pub category: SafeguardingCategory,
}

impl TryFrom<safeguarding_concern::Model> for ConcernView {
    type Error = AppError;

    fn try_from(row: safeguarding_concern::Model) -> AppResult<Self> {
        let category = SafeguardingCategory::parse(&row.category).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "stored safeguarding category {:?} is not one hamlet knows",
                row.category
            ))
        })?;
        Ok(Self { row, category })
    }
}

/// What a moderator decides about a concern.
#[derive(Clone, Debug)]
pub enum Decision {
    /// A real concern, escalated to `to` (a team or agency) at `at`.
    Confirm {
        to: String,
        at: DateTime<Utc>,
        note: Option<String>,
    },
    /// Not a concern.
    Dismiss { reason: String },
    /// The right concern in the wrong category.
    Recategorise {
        category: SafeguardingCategory,
        reason: String,
    },
}

/// The concerns about each of `subjects`, oldest first.
pub async fn concerns_of(
    db: &impl ConnectionTrait,
    subjects: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<ConcernView>>> {
    let rows = safeguarding_concern::Entity::find()
        .filter(safeguarding_concern::Column::SubjectId.is_in(subjects.iter().copied()))
        .order_by_asc(safeguarding_concern::Column::Id)
        .all(db)
        .await?;
    let mut by_subject: HashMap<Uuid, Vec<ConcernView>> = HashMap::new();
    for row in rows {
        by_subject
            .entry(row.subject_id)
            .or_default()
            .push(ConcernView::try_from(row)?);
    }
    Ok(by_subject)
}

/// The subjects with a concern in any of `categories` that is not dismissed,
/// for the queue filters.
pub fn with_category(categories: &[SafeguardingCategory]) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(safeguarding_concern::Column::SubjectId)
        .from(safeguarding_concern::Entity)
        .and_where(
            safeguarding_concern::Column::Category
                .is_in(categories.iter().map(|category| category.as_str())),
        )
        .and_where(safeguarding_concern::Column::Status.ne(ConcernStatus::Dismissed.as_str()))
        .to_owned()
}

fn state(row: &safeguarding_concern::Model) -> serde_json::Value {
    // No free text: the excerpt, reason and notes stay with the concern.
    json!({
        "concern": row.id,
        "category": row.category,
        "origin": row.origin.as_str(),
        "status": row.status.as_str(),
        "version": row.version,
    })
}

fn subject_of(row: &safeguarding_concern::Model) -> SubmissionId {
    match row.subject_kind {
        SubmissionKind::Feedback => SubmissionId::Feedback(FeedbackId::from_uuid(row.subject_id)),
        SubmissionKind::Idea => SubmissionId::Idea(IdeaId::from_uuid(row.subject_id)),
    }
}

/// Marks the submission `safeguarding` while any of its concerns stands (is
/// not dismissed), and takes a marked idea off the board. Changes the row's
/// version only when the mark changes.
async fn remark(db: &impl ConnectionTrait, subject: SubmissionId) -> AppResult<()> {
    let standing = safeguarding_concern::Entity::find()
        .filter(safeguarding_concern::Column::SubjectId.eq(subject.uuid()))
        .filter(safeguarding_concern::Column::Status.ne(ConcernStatus::Dismissed.as_str()))
        .one(db)
        .await?
        .is_some();
    let now = db::now();
    match subject {
        SubmissionId::Feedback(id) => {
            feedback::Entity::update_many()
                .col_expr(feedback::Column::Safeguarding, Expr::value(standing))
                .col_expr(
                    feedback::Column::Version,
                    Expr::col(feedback::Column::Version).add(1),
                )
                .col_expr(feedback::Column::UpdatedAt, Expr::value(now))
                .filter(feedback::Column::Id.eq(id.uuid()))
                .filter(feedback::Column::Safeguarding.ne(standing))
                .exec(db)
                .await?;
        }
        SubmissionId::Idea(id) => {
            let mut update = idea::Entity::update_many()
                .col_expr(idea::Column::Safeguarding, Expr::value(standing))
                .col_expr(
                    idea::Column::Version,
                    Expr::col(idea::Column::Version).add(1),
                )
                .col_expr(idea::Column::UpdatedAt, Expr::value(now));
            if standing {
                update = update.col_expr(idea::Column::Published, Expr::value(false));
            }
            update
                .filter(idea::Column::Id.eq(id.uuid()))
                .filter(idea::Column::Safeguarding.ne(standing))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Applies a moderator's decision to a concern, with its audit event; a
/// confirmed concern also raises the `safeguarding.confirmed` webhook event.
/// A confirmed concern stays confirmed (what was escalated cannot be taken
/// back here; add a note instead); a dismissed one may be confirmed later.
pub async fn decide(
    db: &DatabaseConnection,
    actor: StaffId,
    id: Uuid,
    expected_version: Option<i32>,
    decision: Decision,
) -> AppResult<ConcernView> {
    db::transaction(db, |txn, _| {
        let decision = decision.clone();
        Box::pin(async move {
            let row = safeguarding_concern::Entity::find_by_id(id)
                .lock_exclusive()
                .one(txn)
                .await?
                .ok_or(AppError::NotFound("the safeguarding concern"))?;
            if expected_version.is_some_and(|expected| expected != row.version) {
                return Err(AppError::Conflict(format!(
                    "the concern changed since you read it (it is now at version {}); reload and try again",
                    row.version
                )));
            }
            let now = db::now();
            let mut change = safeguarding_concern::ActiveModel {
                id: Set(row.id),
                version: Set(row.version + 1),
                updated_at: Set(now),
                ..Default::default()
            };
            let action = match &decision {
                Decision::Confirm { to, at, note } => {
                    if row.status == ConcernStatus::Confirmed {
                        return Err(AppError::bad_input(
                            "id",
                            "this concern is already confirmed; add a note instead",
                        ));
                    }
                    change.status = Set(ConcernStatus::Confirmed);
                    change.escalated_to = Set(Some(to.clone()));
                    change.escalated_at = Set(Some(*at));
                    change.escalation_note = Set(note.clone());
                    change.decided_by = Set(Some(actor.uuid()));
                    change.decided_at = Set(Some(now));
                    "confirmed"
                }
                Decision::Dismiss { reason } => {
                    if row.status != ConcernStatus::Raised {
                        return Err(AppError::bad_input(
                            "id",
                            format!(
                                "a {} concern cannot be dismissed",
                                row.status.as_str().to_lowercase()
                            ),
                        ));
                    }
                    change.status = Set(ConcernStatus::Dismissed);
                    change.reason = Set(Some(reason.clone()));
                    change.decided_by = Set(Some(actor.uuid()));
                    change.decided_at = Set(Some(now));
                    "dismissed"
                }
                Decision::Recategorise { category, reason } => {
                    if category.as_str() == row.category {
                        return Err(AppError::bad_input(
                            "category",
                            "is the concern's category already",
                        ));
                    }
                    change.category = Set(category.as_str().to_owned());
                    change.reason = Set(Some(reason.clone()));
                    "recategorised"
                }
            };
            let after = safeguarding_concern::Entity::update(change)
                .exec(txn)
                .await?;
            let subject = subject_of(&after);
            remark(txn, subject).await?;
            audit::record(
                txn,
                AuditEntry::safeguarding_decided(
                    actor,
                    subject,
                    action,
                    state(&row),
                    state(&after),
                ),
            )
            .await?;
            if after.status == ConcernStatus::Confirmed && row.status != ConcernStatus::Confirmed {
                crate::webhooks::store::enqueue(
                    txn,
                    "safeguarding.confirmed",
                    json!({
                        "concernId": after.id,
                        "subjectKind": after.subject_kind.as_str(),
                        "subjectId": after.subject_id,
                        "category": after.category,
                        "escalatedTo": after.escalated_to,
                        "escalatedAt": after.escalated_at,
                    }),
                )
                .await?;
            }
            ConcernView::try_from(after)
        })
    })
    .await
}

/// Raises a concern the detector missed, by hand, with a reason.
pub async fn raise(
    db: &DatabaseConnection,
    actor: StaffId,
    subject: Uuid,
    category: SafeguardingCategory,
    excerpt: Option<String>,
    reason: String,
) -> AppResult<ConcernView> {
    db::transaction(db, |txn, _| {
        let (excerpt, reason) = (excerpt.clone(), reason.clone());
        Box::pin(async move {
            let subject = moderation_store::submission_by_id(txn, subject)
                .await?
                .ok_or(AppError::NotFound("a submission with that id"))?;
            let kind = match subject {
                SubmissionId::Feedback(_) => SubmissionKind::Feedback,
                SubmissionId::Idea(_) => SubmissionKind::Idea,
            };
            let now = db::now();
            let row = safeguarding_concern::Model {
                id: Uuid::now_v7(),
                subject_id: subject.uuid(),
                subject_kind: kind,
                category: category.as_str().to_owned(),
                excerpt,
                strength: 1.0,
                origin: ConcernOrigin::Staff,
                status: ConcernStatus::Raised,
                reason: Some(reason),
                escalated_to: None,
                escalation_note: None,
                escalated_at: None,
                raised_by: Some(actor.uuid()),
                decided_by: None,
                decided_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            safeguarding_concern::Entity::insert(safeguarding_concern::ActiveModel::from(
                row.clone(),
            ))
            .exec_without_returning(txn)
            .await?;
            remark(txn, subject).await?;
            audit::record(
                txn,
                AuditEntry::safeguarding_decided(
                    actor,
                    subject,
                    "raised",
                    serde_json::Value::Null,
                    state(&row),
                ),
            )
            .await?;
            ConcernView::try_from(row)
        })
    })
    .await
}

/// One month's figures for one category.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthFigures {
    /// Raised by the detector.
    pub raised: u64,
    /// Of those, confirmed by staff.
    pub confirmed: u64,
    /// Of those, dismissed by staff.
    pub dismissed: u64,
    /// Raised by staff by hand: what the detector missed.
    pub added_by_hand: u64,
}

/// The figures per month (`YYYY-MM`, by when the concern was raised) and
/// category, for concerns raised in `[from, to)`.
pub async fn figures(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<BTreeMap<(String, SafeguardingCategory), MonthFigures>> {
    let rows = safeguarding_concern::Entity::find()
        .filter(safeguarding_concern::Column::CreatedAt.gte(from))
        .filter(safeguarding_concern::Column::CreatedAt.lt(to))
        .all(db)
        .await?;
    let mut figures: BTreeMap<(String, SafeguardingCategory), MonthFigures> = BTreeMap::new();
    for row in rows {
        let month = format!("{:04}-{:02}", row.created_at.year(), row.created_at.month());
        let origin = row.origin;
        let status = row.status;
        let view = ConcernView::try_from(row)?;
        let entry = figures.entry((month, view.category)).or_default();
        match origin {
            ConcernOrigin::Staff => entry.added_by_hand += 1,
            ConcernOrigin::Detected => {
                entry.raised += 1;
                match status {
                    ConcernStatus::Confirmed => entry.confirmed += 1,
                    ConcernStatus::Dismissed => entry.dismissed += 1,
                    ConcernStatus::Raised => {}
                }
            }
        }
    }
    Ok(figures)
}
