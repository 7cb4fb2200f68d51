//! Moderation's GraphQL face: the staff queues of feedback and ideas, the
//! workflow mutations, notes, merging ideas, the live subscription to new
//! submissions, and the public idea board moderators publish to. It owns the
//! output types staff and the board see a submission through ([`types`]).
//! Every staff field here is behind a role guard.

mod board;
mod concerns;
mod types;

pub use concerns::{ConcernMutation, ConcernQuery, SafeguardingConcern};

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use board::{BoardMutation, BoardQuery};
pub use types::{
    Contact, Feedback, FeedbackConnectionTotal, Idea, IdeaConnectionTotal, ModerationNote,
};

use super::actions;
use super::model::Tag;
use super::store::{
    self, BulkChange, CommonFilter, FeedbackChange, FeedbackFilter, IdeaChange, IdeaFilter,
    QueueCursor,
};
use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult};
use crate::ids::{FeedbackId, IdeaId, KioskId, StaffId};
use crate::pagination::{self, Limits};
use crate::submissions::model::{
    Channel, FeedbackStatus, FftRating, FreeText, IdeaStatus, SubmissionKind, limits,
};
use crate::submissions::{SubmissionEvent, SubmissionEvents};

/// The most items one bulk moderation may change.
const MAX_BULK: usize = 100;

/// The longest public response, in characters.
const PUBLIC_RESPONSE_MAX: usize = 5000;

/// The longest note, in characters.
const NOTE_MAX: usize = 5000;

/// The ids of a bulk change, each parsed by `parse`.
fn parse_ids<Id>(
    ids: &[ID],
    field: &str,
    parse: impl Fn(&str, &str) -> AppResult<Id>,
) -> AppResult<Vec<Id>> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::bad_input(
            field,
            format!("give 1 to {MAX_BULK} ids"),
        ));
    }
    ids.iter().map(|id| parse(id, field)).collect()
}

/// Filters both queues share. Every filter given must match.
#[derive(InputObject, Default)]
pub struct QueueFilterFields {
    /// Any of these channels.
    channel: Option<Vec<Channel>>,
    kiosk_id: Option<ID>,
    /// Only items marked (true) or not marked (false) for safeguarding.
    safeguarding: Option<bool>,
    /// Only items whose free text holds (true) or does not hold (false)
    /// personal data.
    pii_flagged: Option<bool>,
    /// Only items assigned to this staff member.
    assignee_id: Option<ID>,
    /// Only items assigned to nobody.
    unassigned: Option<bool>,
    tag: Option<String>,
    /// Received at or after this time.
    received_from: Option<DateTime<Utc>>,
    /// Received before this time.
    received_to: Option<DateTime<Utc>>,
    /// Words that the free text contains (case-insensitive).
    text: Option<String>,
    /// Only items with a safeguarding concern, not dismissed, in any of
    /// these categories.
    safeguarding_categories: Option<Vec<crate::privacy::SafeguardingCategory>>,
}

impl QueueFilterFields {
    fn parse(&self) -> AppResult<CommonFilter> {
        if let (Some(from), Some(to)) = (self.received_from, self.received_to)
            && from > to
        {
            return Err(AppError::bad_input(
                "filter.receivedTo",
                "is before receivedFrom",
            ));
        }
        let assignee = match (&self.assignee_id, self.unassigned) {
            (Some(_), Some(true)) => {
                return Err(AppError::bad_input(
                    "filter.unassigned",
                    "cannot be combined with assigneeId",
                ));
            }
            (Some(id), _) => Some(Some(StaffId::parse(id, "filter.assigneeId")?)),
            (None, Some(true)) => Some(None),
            (None, _) => None,
        };
        Ok(CommonFilter {
            channels: self.channel.clone().unwrap_or_default(),
            kiosk_id: self
                .kiosk_id
                .as_ref()
                .map(|id| KioskId::parse(id, "filter.kioskId"))
                .transpose()?,
            safeguarding: self.safeguarding,
            pii_flagged: self.pii_flagged,
            assignee,
            tag: self
                .tag
                .as_deref()
                .map(|tag| Tag::parse(tag, "filter.tag"))
                .transpose()?,
            received_from: self.received_from,
            received_to: self.received_to,
            safeguarding_categories: self.safeguarding_categories.clone().unwrap_or_default(),
            text: self
                .text
                .as_deref()
                .map(|text| {
                    FreeText::parse(text, "filter.text", 200).map(|t| t.as_str().to_owned())
                })
                .transpose()?,
        })
    }
}

/// Which feedback the queue shows.
#[derive(InputObject, Default)]
pub struct FeedbackFilterInput {
    /// Any of these statuses (a single status is fine too).
    status: Option<Vec<FeedbackStatus>>,
    /// About this service (a `slug` from `services`).
    service_slug: Option<String>,
    /// Any of these ratings.
    rating: Option<Vec<FftRating>>,
    #[graphql(flatten)]
    common: QueueFilterFields,
}

/// Which ideas the queue shows.
#[derive(InputObject, Default)]
pub struct IdeaFilterInput {
    /// Any of these statuses (a single status is fine too).
    status: Option<Vec<IdeaStatus>>,
    published: Option<bool>,
    theme: Option<String>,
    #[graphql(flatten)]
    common: QueueFilterFields,
}

async fn feedback_filter(
    ctx: &Context<'_>,
    input: Option<FeedbackFilterInput>,
) -> AppResult<FeedbackFilter> {
    let input = input.unwrap_or_default();
    let service_id = match &input.service_slug {
        None => None,
        Some(slug) => {
            let db = ctx
                .data::<DatabaseConnection>()
                .map_err(|_| AppError::Internal(anyhow::anyhow!("no database in the schema")))?;
            Some(service_by_slug(ctx, db, slug.trim()).await?)
        }
    };
    Ok(FeedbackFilter {
        statuses: input.status.unwrap_or_default(),
        service_id,
        ratings: input.rating.unwrap_or_default(),
        common: input.common.parse()?,
    })
}

/// A service by slug: an active one from memory, or any from the database
/// (feedback about a service that has since closed is still in the queue).
fn arrival(oldest_first: bool) -> store::Arrival {
    if oldest_first {
        store::Arrival::OldestFirst
    } else {
        store::Arrival::NewestFirst
    }
}

async fn service_by_slug(
    ctx: &Context<'_>,
    db: &DatabaseConnection,
    slug: &str,
) -> AppResult<Uuid> {
    let not_a_service = || AppError::bad_input("filter.serviceSlug", "is not a service");
    let parsed = crate::content::model::Slug::parse(slug, "filter.serviceSlug")
        .map_err(|_| not_a_service())?;
    if let Ok(directory) = ctx.data::<crate::submissions::services::ServiceDirectory>()
        && let Some(id) = directory.id_of(db, &parsed).await?
    {
        return Ok(id);
    }
    crate::content::store::service_id_by_slug(db, slug)
        .await?
        .ok_or_else(not_a_service)
}

fn idea_filter(input: Option<IdeaFilterInput>) -> AppResult<IdeaFilter> {
    let input = input.unwrap_or_default();
    Ok(IdeaFilter {
        statuses: input.status.unwrap_or_default(),
        published: input.published,
        // Cleaned as stored themes were (PostgreSQL refuses a NUL outright).
        theme: input
            .theme
            .map(|theme| crate::text::clean_free_text(&theme).trim().to_owned())
            .filter(|theme| !theme.is_empty()),
        common: input.common.parse()?,
    })
}

/// The staff queues and the audit log.
#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// Feedback to triage: safeguarding concerns first, then feedback with
    /// personal data in it, then the rest; each newest first (oldest first
    /// with `oldestFirst: true`). The order is stable while new
    /// feedback arrives, so paging never skips or repeats. MODERATOR.
    #[graphql(
        guard = "RoleGuard::MODERATOR",
        complexity = "crate::pagination::complexity(first, child_complexity)"
    )]
    async fn feedback_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] oldest_first: bool,
    ) -> AppResult<Connection<String, Feedback, FeedbackConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?)?;
        let after = after.as_deref().map(QueueCursor::decode).transpose()?;
        let filter = feedback_filter(ctx, filter).await?;
        let page = store::feedback_page(
            ctx.data::<DatabaseConnection>()?,
            &filter,
            first,
            after,
            arrival(oldest_first),
        )
        .await?;
        Ok(pagination::connection(
            page,
            after.is_some(),
            FeedbackConnectionTotal(filter),
            |row| QueueCursor::of(row.safeguarding, row.personal_data, row.id).encode(),
            Feedback,
        ))
    }

    /// One piece of feedback. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn feedback(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Feedback>> {
        let Some(id) = FeedbackId::parse_or_none(&id) else {
            return Ok(None);
        };
        store::feedback_by_id(ctx.data::<DatabaseConnection>()?, id)
            .await
            .map(|row| row.map(Feedback))
    }

    /// Ideas to triage: safeguarding concerns first, then ideas with
    /// personal data in them, then the rest; each newest first (oldest
    /// first with `oldestFirst: true`). MODERATOR.
    #[graphql(
        guard = "RoleGuard::MODERATOR",
        complexity = "crate::pagination::complexity(first, child_complexity)"
    )]
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdeaFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] oldest_first: bool,
    ) -> AppResult<Connection<String, Idea, IdeaConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?)?;
        let after = after.as_deref().map(QueueCursor::decode).transpose()?;
        let filter = idea_filter(filter)?;
        let page = store::idea_page(
            ctx.data::<DatabaseConnection>()?,
            &filter,
            first,
            after,
            arrival(oldest_first),
        )
        .await?;
        Ok(pagination::connection(
            page,
            after.is_some(),
            IdeaConnectionTotal::Queue(filter),
            |row| QueueCursor::of(row.safeguarding, row.personal_data, row.id).encode(),
            Idea::staff,
        ))
    }

    /// One idea, whatever its status. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn idea(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Idea>> {
        let Some(id) = IdeaId::parse_or_none(&id) else {
            return Ok(None);
        };
        store::idea_by_id(ctx.data::<DatabaseConnection>()?, id)
            .await
            .map(|row| row.map(Idea::staff))
    }
}

/// A moderator's change to a piece of feedback. Fields left out stay as they are.
#[derive(InputObject)]
pub struct ModerateFeedbackInput {
    id: ID,
    /// The `version` you read; if the feedback changed since, the answer is
    /// CONFLICT and nothing is changed.
    expected_version: i32,
    status: Option<FeedbackStatus>,
    /// A moderator to assign; null unassigns.
    assignee_id: MaybeUndefined<ID>,
    /// Replaces the tags.
    tags: Option<Vec<String>>,
    /// A reply the resident sees when they look up their receipt; null removes it.
    public_response: MaybeUndefined<String>,
}

/// A moderator's change to an idea. Fields left out stay as they are.
#[derive(InputObject)]
pub struct ModerateIdeaInput {
    id: ID,
    /// The `version` you read; if the idea changed since, the answer is
    /// CONFLICT and nothing is changed.
    expected_version: i32,
    status: Option<IdeaStatus>,
    /// Shows the idea on the public `ideaBoard`, or takes it off.
    published: Option<bool>,
    /// The partnership's public answer ("you said, we did"); null removes it.
    public_response: MaybeUndefined<String>,
    /// null removes the theme.
    theme: MaybeUndefined<String>,
    /// A moderator to assign; null unassigns.
    assignee_id: MaybeUndefined<ID>,
    /// Replaces the tags.
    tags: Option<Vec<String>>,
}

/// One change applied to many pieces of feedback, e.g. marking a spam wave.
#[derive(InputObject)]
pub struct BulkModerateFeedbackInput {
    /// At most 100.
    ids: Vec<ID>,
    status: Option<FeedbackStatus>,
    assignee_id: MaybeUndefined<ID>,
    /// Added to each item's tags.
    add_tags: Option<Vec<String>>,
}

/// One change applied to many ideas.
#[derive(InputObject)]
pub struct BulkModerateIdeasInput {
    /// At most 100.
    ids: Vec<ID>,
    status: Option<IdeaStatus>,
    published: Option<bool>,
    assignee_id: MaybeUndefined<ID>,
    add_tags: Option<Vec<String>>,
}

fn assignee(value: &MaybeUndefined<ID>) -> AppResult<Option<Option<StaffId>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(id) => Ok(Some(Some(StaffId::parse(id, "assigneeId")?))),
    }
}

fn optional_text(
    value: &MaybeUndefined<String>,
    field: &str,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(text) => Ok(Some(Some(
            FreeText::parse(text, field, max)?.as_str().to_owned(),
        ))),
    }
}

fn tags(value: Option<&[String]>, field: &str) -> AppResult<Option<Vec<Tag>>> {
    value.map(|tags| Tag::parse_all(tags, field)).transpose()
}

/// What happened to one item of a bulk change.
#[derive(SimpleObject)]
pub struct BulkModerationResult {
    id: ID,
    ok: bool,
    /// The error code when not ok, e.g. BAD_USER_INPUT for an illegal move.
    code: Option<String>,
    message: Option<String>,
    /// The item as it now stands, when ok.
    version: Option<i32>,
}

impl BulkModerationResult {
    fn of(id: impl Into<Uuid>, outcome: AppResult<i32>) -> Self {
        let id = id.into();
        match outcome {
            Ok(version) => Self {
                id: ID(id.to_string()),
                ok: true,
                code: None,
                message: None,
                version: Some(version),
            },
            Err(error) => Self {
                id: ID(id.to_string()),
                ok: false,
                code: Some(error.code().to_owned()),
                message: Some(error.to_string()),
                version: None,
            },
        }
    }
}

/// The workflow, notes and merging.
#[derive(Default)]
pub struct ModerationMutation;

#[Object]
impl ModerationMutation {
    /// Moves a piece of feedback through its workflow, assigns it, tags it or
    /// replies to the resident. An illegal move is BAD_USER_INPUT; a stale
    /// `expectedVersion` is CONFLICT. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn moderate_feedback(
        &self,
        ctx: &Context<'_>,
        input: ModerateFeedbackInput,
    ) -> AppResult<Feedback> {
        let actor = viewer(ctx)?.id();
        let id = FeedbackId::parse(&input.id, "id")?;
        let change = FeedbackChange {
            status: input.status,
            assignee: assignee(&input.assignee_id)?,
            tags: tags(input.tags.as_deref(), "tags")?,
            public_response: optional_text(
                &input.public_response,
                "publicResponse",
                PUBLIC_RESPONSE_MAX,
            )?,
        };
        actions::moderate_feedback(
            ctx.data::<DatabaseConnection>()?,
            actor,
            id,
            input.expected_version,
            &change,
        )
        .await
        .map(Feedback)
    }

    /// Moves an idea through its workflow, publishes it with a public
    /// response, sets its theme, assigns or tags it. Safeguarding items are
    /// never published. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn moderate_idea(&self, ctx: &Context<'_>, input: ModerateIdeaInput) -> AppResult<Idea> {
        let actor = viewer(ctx)?.id();
        let id = IdeaId::parse(&input.id, "id")?;
        let change = IdeaChange {
            status: input.status,
            published: input.published,
            public_response: optional_text(
                &input.public_response,
                "publicResponse",
                PUBLIC_RESPONSE_MAX,
            )?,
            theme: optional_text(&input.theme, "theme", limits::THEME)?,
            assignee: assignee(&input.assignee_id)?,
            tags: tags(input.tags.as_deref(), "tags")?,
        };
        let row = actions::moderate_idea(
            ctx.data::<DatabaseConnection>()?,
            actor,
            id,
            input.expected_version,
            &change,
        )
        .await?;
        // The idea board is public content.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(Idea::staff(row))
    }

    /// Applies one change to many pieces of feedback in one transaction, e.g.
    /// to mark a spam wave. Each item gets its own result: items the change
    /// cannot apply to (an illegal move) are reported and left alone, the rest
    /// are changed. Audited per item. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn bulk_moderate_feedback(
        &self,
        ctx: &Context<'_>,
        input: BulkModerateFeedbackInput,
    ) -> AppResult<Vec<BulkModerationResult>> {
        let actor = viewer(ctx)?.id();
        let ids = parse_ids(&input.ids, "ids", FeedbackId::parse)?;
        let add = tags(input.add_tags.as_deref(), "addTags")?;
        let change = BulkChange {
            status: input.status,
            assignee: assignee(&input.assignee_id)?,
            add_tags: add.as_deref(),
        };
        let outcomes =
            actions::bulk_moderate_feedback(ctx.data::<DatabaseConnection>()?, actor, &ids, change)
                .await?;
        Ok(outcomes
            .into_iter()
            .map(|(id, outcome)| BulkModerationResult::of(id, outcome))
            .collect())
    }

    /// Applies one change to many ideas in one transaction; see
    /// `bulkModerateFeedback`. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn bulk_moderate_ideas(
        &self,
        ctx: &Context<'_>,
        input: BulkModerateIdeasInput,
    ) -> AppResult<Vec<BulkModerationResult>> {
        let actor = viewer(ctx)?.id();
        let ids = parse_ids(&input.ids, "ids", IdeaId::parse)?;
        let add = tags(input.add_tags.as_deref(), "addTags")?;
        let change = BulkChange {
            status: input.status,
            assignee: assignee(&input.assignee_id)?,
            add_tags: add.as_deref(),
        };
        let outcomes = actions::bulk_moderate_ideas(
            ctx.data::<DatabaseConnection>()?,
            actor,
            &ids,
            change,
            input.published,
        )
        .await?;
        // The idea board is public content.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(outcomes
            .into_iter()
            .map(|(id, outcome)| BulkModerationResult::of(id, outcome))
            .collect())
    }

    /// Adds an internal note, seen only by moderators, to a piece of feedback
    /// or an idea. Audited (without its text). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn add_note(
        &self,
        ctx: &Context<'_>,
        subject_id: ID,
        body: String,
    ) -> AppResult<ModerationNote> {
        let actor = viewer(ctx)?.id();
        let subject = Uuid::parse_str(subject_id.trim())
            .map_err(|_| AppError::bad_input("subjectId", "is not an id"))?;
        let body = FreeText::parse(&body, "body", NOTE_MAX)?;
        actions::add_note(
            ctx.data::<DatabaseConnection>()?,
            actor,
            subject,
            body.as_str(),
        )
        .await
        .map(ModerationNote)
    }

    /// Merges a duplicate idea into another: the source becomes DUPLICATE and
    /// leaves the board, and the target's `supportCount` counts every
    /// supporter of either once. Answers the target. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn merge_idea(&self, ctx: &Context<'_>, source_id: ID, target_id: ID) -> AppResult<Idea> {
        let actor = viewer(ctx)?.id();
        let source = IdeaId::parse(&source_id, "sourceId")?;
        let target = IdeaId::parse(&target_id, "targetId")?;
        let row =
            actions::merge_idea(ctx.data::<DatabaseConnection>()?, actor, source, target).await?;
        // The idea board is public content.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(Idea::staff(row))
    }
}

/// Live events for moderators.
#[derive(Default)]
pub struct ModerationSubscription;

#[Subscription]
impl ModerationSubscription {
    /// Each new submission as it is stored (of one kind, or both), for a live
    /// queue. Safeguarding items are marked. MODERATOR; over WebSocket at
    /// `/graphql/ws` with `{"authorization": "Bearer <token>"}` as the
    /// `connection_init` payload.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn submission_received(
        &self,
        ctx: &Context<'_>,
        kind: Option<SubmissionKind>,
    ) -> Result<impl Stream<Item = SubmissionEventView>, AppError> {
        let receiver = ctx.data::<SubmissionEvents>()?.subscribe();
        Ok(futures_util::stream::unfold(
            receiver,
            move |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) if kind.is_none_or(|kind| kind == event.kind) => {
                            return Some((SubmissionEventView(event), receiver));
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "a live queue fell behind and missed events");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}

/// A submission was just stored.
pub struct SubmissionEventView(SubmissionEvent);

#[Object(name = "SubmissionEvent")]
impl SubmissionEventView {
    async fn kind(&self) -> SubmissionKind {
        self.0.kind
    }

    /// The feedback's or idea's id, for `feedback(id:)` or `idea(id:)`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn reference(&self) -> &str {
        &self.0.reference
    }

    /// Text suggesting a risk of harm: look at this first.
    async fn safeguarding(&self) -> bool {
        self.0.safeguarding
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
}
