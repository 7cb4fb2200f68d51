//! Safeguarding concerns in the API: the concern type shown on `Feedback`
//! and `Idea`, staff closing the loop (confirm, dismiss, recategorise,
//! raise by hand) and the monthly figures.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult};
use crate::ids::StaffId;
use crate::loaders;
use crate::moderation::concerns::{self, ConcernView, Decision, TEXT_MAX};
use crate::privacy::SafeguardingCategory;
use crate::staff::graphql::StaffMember;
use crate::submissions::model::{ConcernOrigin, ConcernStatus, FreeText};

/// A possible risk of harm in a submission, in one category: raised by the
/// detector from its words, or by a member of staff. Staff only, like the
/// text it comes from.
pub struct SafeguardingConcern(pub ConcernView);

#[Object]
impl SafeguardingConcern {
    async fn id(&self) -> ID {
        ID(self.0.row.id.to_string())
    }

    /// Care Act 2014 category (or suicide and self-harm, or a child at risk).
    async fn category(&self) -> SafeguardingCategory {
        self.0.category
    }

    /// The words that raised it, as written; gone once the submission's text
    /// is erased.
    async fn excerpt(&self) -> Option<&str> {
        self.0.row.excerpt.as_deref()
    }

    /// How strongly the words point to it, from 0.5 to 1 (1 when staff raised it).
    async fn strength(&self) -> f64 {
        f64::from(self.0.row.strength)
    }

    async fn origin(&self) -> ConcernOrigin {
        self.0.row.origin
    }

    async fn status(&self) -> ConcernStatus {
        self.0.row.status
    }

    /// Why staff raised, dismissed or recategorised it.
    async fn reason(&self) -> Option<&str> {
        self.0.row.reason.as_deref()
    }

    /// Who a confirmed concern was escalated to (a team or an agency).
    async fn escalated_to(&self) -> Option<&str> {
        self.0.row.escalated_to.as_deref()
    }

    async fn escalated_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.escalated_at
    }

    async fn escalation_note(&self) -> Option<&str> {
        self.0.row.escalation_note.as_deref()
    }

    /// The member of staff who raised it by hand.
    async fn raised_by(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, self.0.row.raised_by.map(StaffId::from_uuid)).await
    }

    /// The member of staff who confirmed or dismissed it.
    async fn decided_by(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, self.0.row.decided_by.map(StaffId::from_uuid)).await
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.decided_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at
    }

    /// Send it back as `expectedVersion` when you decide about it.
    async fn version(&self) -> i32 {
        self.0.row.version
    }
}

/// The concerns about a submission, oldest first.
pub async fn concerns_of(ctx: &Context<'_>, subject: Uuid) -> AppResult<Vec<SafeguardingConcern>> {
    Ok(loaders::concerns_of(ctx, subject)
        .await?
        .into_iter()
        .map(SafeguardingConcern)
        .collect())
}

fn text(value: &str, field: &str) -> AppResult<String> {
    FreeText::parse(value, field, TEXT_MAX).map(|text| text.as_str().to_owned())
}

fn concern_id(id: &ID) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::bad_input("id", "is not a concern id"))
}

/// Applies the signed-in moderator's decision about concern `id`.
async fn decided(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i32>,
    decision: Decision,
) -> AppResult<SafeguardingConcern> {
    let actor = viewer(ctx)?.id();
    let db = ctx.data::<DatabaseConnection>()?;
    concerns::decide(db, actor, concern_id(id)?, expected_version, decision)
        .await
        .map(SafeguardingConcern)
}

/// Confirming a concern: it is real, and was escalated.
#[derive(InputObject)]
pub struct ConfirmSafeguardingConcernInput {
    id: ID,
    expected_version: Option<i32>,
    /// Who it was escalated to, e.g. "Adult safeguarding (MASH) duty team".
    escalated_to: String,
    /// When; now if not given.
    escalated_at: Option<DateTime<Utc>>,
    escalation_note: Option<String>,
}

/// Dismissing a concern: not a safeguarding matter.
#[derive(InputObject)]
pub struct DismissSafeguardingConcernInput {
    id: ID,
    expected_version: Option<i32>,
    reason: String,
}

/// Moving a concern to the category it belongs in.
#[derive(InputObject)]
pub struct RecategoriseSafeguardingConcernInput {
    id: ID,
    expected_version: Option<i32>,
    category: SafeguardingCategory,
    reason: String,
}

/// A concern the detector missed, raised by hand.
#[derive(InputObject)]
pub struct RaiseSafeguardingConcernInput {
    /// The feedback or idea.
    submission_id: ID,
    category: SafeguardingCategory,
    /// Why: what in the submission (or beyond it) shows the risk.
    reason: String,
    /// The words that show it, if any.
    excerpt: Option<String>,
}

/// Staff closing the loop on safeguarding concerns.
#[derive(Default)]
pub struct ConcernMutation;

#[Object]
impl ConcernMutation {
    /// Confirms a concern and records its escalation. Raises the
    /// `safeguarding.confirmed` webhook event. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn confirm_safeguarding_concern(
        &self,
        ctx: &Context<'_>,
        input: ConfirmSafeguardingConcernInput,
    ) -> AppResult<SafeguardingConcern> {
        let decision = Decision::Confirm {
            to: text(&input.escalated_to, "escalatedTo")?,
            at: input.escalated_at.unwrap_or_else(crate::db::now),
            note: input
                .escalation_note
                .as_deref()
                .map(|note| text(note, "escalationNote"))
                .transpose()?,
        };
        decided(ctx, &input.id, input.expected_version, decision).await
    }

    /// Dismisses a concern that was raised and is not a safeguarding matter,
    /// with a reason. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn dismiss_safeguarding_concern(
        &self,
        ctx: &Context<'_>,
        input: DismissSafeguardingConcernInput,
    ) -> AppResult<SafeguardingConcern> {
        let decision = Decision::Dismiss {
            reason: text(&input.reason, "reason")?,
        };
        decided(ctx, &input.id, input.expected_version, decision).await
    }

    /// Moves a concern to another category, with a reason. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn recategorise_safeguarding_concern(
        &self,
        ctx: &Context<'_>,
        input: RecategoriseSafeguardingConcernInput,
    ) -> AppResult<SafeguardingConcern> {
        let decision = Decision::Recategorise {
            category: input.category,
            reason: text(&input.reason, "reason")?,
        };
        decided(ctx, &input.id, input.expected_version, decision).await
    }

    /// Raises a concern the detector missed. The submission is marked for
    /// safeguarding (first in the queue, off the board). Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn raise_safeguarding_concern(
        &self,
        ctx: &Context<'_>,
        input: RaiseSafeguardingConcernInput,
    ) -> AppResult<SafeguardingConcern> {
        let actor = viewer(ctx)?.id();
        let subject = Uuid::parse_str(&input.submission_id)
            .map_err(|_| AppError::bad_input("submissionId", "is not a submission id"))?;
        let reason = text(&input.reason, "reason")?;
        let excerpt = input
            .excerpt
            .as_deref()
            .map(|excerpt| text(excerpt, "excerpt"))
            .transpose()?;
        let db = ctx.data::<DatabaseConnection>()?;
        concerns::raise(db, actor, subject, input.category, excerpt, reason)
            .await
            .map(SafeguardingConcern)
    }
}

/// One month's safeguarding figures in one category: how the detector does
/// in real use.
#[derive(SimpleObject)]
pub struct SafeguardingFigures {
    /// `YYYY-MM`, by when the concern was raised.
    month: String,
    category: SafeguardingCategory,
    /// Raised by the detector.
    raised: u64,
    /// Of those, confirmed by staff.
    confirmed: u64,
    /// Of those, dismissed by staff.
    dismissed: u64,
    /// Raised by staff by hand: what the detector missed.
    added_by_hand: u64,
    /// confirmed / (confirmed + dismissed), once any was decided.
    precision: Option<f64>,
    /// confirmed / (confirmed + addedByHand), once there is either.
    recall: Option<f64>,
}

/// Reading the safeguarding figures.
#[derive(Default)]
pub struct ConcernQuery;

#[Object]
impl ConcernQuery {
    /// Concerns raised, confirmed, dismissed and added by hand, per month
    /// and category, for concerns raised in `[from, to)` (default: the last
    /// twelve months). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn safeguarding_figures(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> AppResult<Vec<SafeguardingFigures>> {
        let to = to.unwrap_or_else(crate::db::now);
        let from = from.unwrap_or(to - chrono::Duration::days(366));
        if from > to {
            return Err(AppError::bad_input("to", "is before from"));
        }
        let figures = concerns::figures(ctx.data::<DatabaseConnection>()?, from, to).await?;
        Ok(figures
            .into_iter()
            .map(|((month, category), f)| {
                let ratio = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
                SafeguardingFigures {
                    month,
                    category,
                    raised: f.raised,
                    confirmed: f.confirmed,
                    dismissed: f.dismissed,
                    added_by_hand: f.added_by_hand,
                    precision: ratio(f.confirmed, f.confirmed + f.dismissed),
                    recall: ratio(f.confirmed, f.confirmed + f.added_by_hand),
                }
            })
            .collect())
    }
}
