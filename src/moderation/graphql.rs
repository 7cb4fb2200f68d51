//! Moderation's GraphQL face: the staff queues of feedback and ideas, the
//! workflow mutations, notes, merging ideas, the audit log, and the live
//! subscription to new submissions. Every field here is behind a role guard.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::types::Json;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::entity::{audit_event, moderation_note};
use super::model::Tag;
use super::store::{
    self, AuditFilter, CommonFilter, FeedbackChange, FeedbackFilter, IdeaChange, IdeaFilter,
    QueueCursor,
};
use crate::auth::{RoleGuard, viewer};
use crate::content::graphql::Service;
use crate::error::{AppError, AppResult, IntoGraphql as _};
use crate::loaders::{KioskKey, NotesOf, ServiceKey, SharedLoader, StaffKey, TagsOf};
use crate::pagination::{self, Limits};
use crate::privacy::PiiKind;
use crate::staff::graphql::StaffMember;
use crate::submissions::entity::feedback;
use crate::submissions::graphql::{Idea, IdeaConnectionTotal, Kiosk};
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

pub fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not an id"))
}

fn parse_ids(ids: &[ID], field: &str) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::bad_input(
            field,
            format!("give 1 to {MAX_BULK} ids"),
        ));
    }
    ids.iter().map(|id| parse_id(id, field)).collect()
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
            (Some(id), _) => Some(Some(parse_id(id, "filter.assigneeId")?)),
            (None, Some(true)) => Some(None),
            (None, _) => None,
        };
        Ok(CommonFilter {
            channels: self.channel.clone().unwrap_or_default(),
            kiosk_id: self
                .kiosk_id
                .as_ref()
                .map(|id| parse_id(id, "filter.kioskId"))
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
    /// Feedback to triage: safeguarding first, then newest first. The order is
    /// stable while new feedback arrives, so paging never skips or repeats.
    /// MODERATOR.
    #[graphql(
        guard = "RoleGuard::MODERATOR",
        complexity = "(first.unwrap_or(20).clamp(0, 1000) as usize).saturating_mul(child_complexity)"
    )]
    async fn feedback_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Feedback, FeedbackConnectionTotal, EmptyFields>>
    {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?).into_graphql()?;
        let after = after
            .as_deref()
            .map(QueueCursor::decode)
            .transpose()
            .into_graphql()?;
        let filter = feedback_filter(ctx, filter).await.into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (rows, has_next) = store::feedback_page(db, &filter, first, after)
            .await
            .into_graphql()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            FeedbackConnectionTotal(filter),
        );
        connection.edges.extend(rows.into_iter().map(|row| {
            let cursor = QueueCursor {
                safeguarding: row.safeguarding,
                id: row.id,
            };
            Edge::new(cursor.encode(), Feedback(row))
        }));
        Ok(connection)
    }

    /// One piece of feedback. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn feedback(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Feedback>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        store::feedback_by_id(ctx.data::<DatabaseConnection>()?, id)
            .await
            .map(|row| row.map(Feedback))
            .into_graphql()
    }

    /// Ideas to triage: safeguarding first, then newest first. MODERATOR.
    #[graphql(
        guard = "RoleGuard::MODERATOR",
        complexity = "(first.unwrap_or(20).clamp(0, 1000) as usize).saturating_mul(child_complexity)"
    )]
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdeaFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Idea, IdeaConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?).into_graphql()?;
        let after = after
            .as_deref()
            .map(QueueCursor::decode)
            .transpose()
            .into_graphql()?;
        let filter = idea_filter(filter).into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (rows, has_next) = store::idea_page(db, &filter, first, after)
            .await
            .into_graphql()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            IdeaConnectionTotal::Queue(filter),
        );
        connection.edges.extend(rows.into_iter().map(|row| {
            let cursor = QueueCursor {
                safeguarding: row.safeguarding,
                id: row.id,
            };
            Edge::new(cursor.encode(), Idea::staff(row))
        }));
        Ok(connection)
    }

    /// One idea, whatever its status. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn idea(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Idea>> {
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        store::idea_by_id(ctx.data::<DatabaseConnection>()?, id)
            .await
            .map(|row| row.map(Idea::staff))
            .into_graphql()
    }

    /// Every staff action, newest first, optionally about one subject (a
    /// piece of feedback, an idea, a staff member, a kiosk, a page) or by one
    /// staff member. ADMIN.
    #[graphql(
        guard = "RoleGuard::ADMIN",
        complexity = "(first.unwrap_or(20).clamp(0, 1000) as usize).saturating_mul(child_complexity)"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subject_id: Option<ID>,
        actor_id: Option<ID>,
    ) -> async_graphql::Result<Connection<String, AuditEvent, AuditEventConnectionTotal, EmptyFields>>
    {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?).into_graphql()?;
        let after = after
            .as_deref()
            .map(|cursor| {
                pagination::decode_cursor("audit", cursor).and_then(|key| {
                    Uuid::parse_str(&key)
                        .map_err(|_| AppError::bad_input("after", "is not a cursor from this list"))
                })
            })
            .transpose()
            .into_graphql()?;
        let filter = AuditFilter {
            subject_id: subject_id
                .as_ref()
                .map(|id| parse_id(id, "subjectId"))
                .transpose()
                .into_graphql()?,
            actor_id: actor_id
                .as_ref()
                .map(|id| parse_id(id, "actorId"))
                .transpose()
                .into_graphql()?,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let (rows, has_next) = store::audit_page(db, filter, first, after)
            .await
            .into_graphql()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            AuditEventConnectionTotal(filter),
        );
        connection.edges.extend(rows.into_iter().map(|row| {
            Edge::new(
                pagination::encode_cursor("audit", &row.id.to_string()),
                AuditEvent(row),
            )
        }));
        Ok(connection)
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

fn assignee(value: &MaybeUndefined<ID>) -> AppResult<Option<Option<Uuid>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(id) => Ok(Some(Some(parse_id(id, "assigneeId")?))),
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
    fn of(id: Uuid, outcome: AppResult<i32>) -> Self {
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

/// Errors that end a whole bulk change: the database, not the items.
fn is_fatal(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Internal(_) | AppError::Unavailable | AppError::Busy
    )
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
    ) -> async_graphql::Result<Feedback> {
        let actor = viewer(ctx)?.id();
        let id = parse_id(&input.id, "id").into_graphql()?;
        let change = FeedbackChange {
            status: input.status,
            assignee: assignee(&input.assignee_id).into_graphql()?,
            tags: tags(input.tags.as_deref(), "tags").into_graphql()?,
            public_response: optional_text(
                &input.public_response,
                "publicResponse",
                PUBLIC_RESPONSE_MAX,
            )
            .into_graphql()?,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let (version, change) = (Some(input.expected_version), &change);
        let row = crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let row = store::moderate_feedback(&txn, actor, id, version, change).await?;
            txn.commit().await?;
            Ok(row)
        })
        .await
        .into_graphql()?;
        Ok(Feedback(row))
    }

    /// Moves an idea through its workflow, publishes it with a public
    /// response, sets its theme, assigns or tags it. Safeguarding items are
    /// never published. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn moderate_idea(
        &self,
        ctx: &Context<'_>,
        input: ModerateIdeaInput,
    ) -> async_graphql::Result<Idea> {
        let actor = viewer(ctx)?.id();
        let id = parse_id(&input.id, "id").into_graphql()?;
        let change = IdeaChange {
            status: input.status,
            published: input.published,
            public_response: optional_text(
                &input.public_response,
                "publicResponse",
                PUBLIC_RESPONSE_MAX,
            )
            .into_graphql()?,
            theme: optional_text(&input.theme, "theme", limits::THEME).into_graphql()?,
            assignee: assignee(&input.assignee_id).into_graphql()?,
            tags: tags(input.tags.as_deref(), "tags").into_graphql()?,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let (version, change) = (Some(input.expected_version), &change);
        let row = crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let row = store::moderate_idea(&txn, actor, id, version, change).await?;
            txn.commit().await?;
            Ok(row)
        })
        .await
        .into_graphql()?;
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
    ) -> async_graphql::Result<Vec<BulkModerationResult>> {
        let actor = viewer(ctx)?.id();
        let ids = parse_ids(&input.ids, "ids").into_graphql()?;
        let add = tags(input.add_tags.as_deref(), "addTags").into_graphql()?;
        let assignee = assignee(&input.assignee_id).into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (ids, add, status) = (&ids, add.as_deref(), input.status);
        crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let mut results = Vec::with_capacity(ids.len());
            for &id in ids {
                let outcome = async {
                    // Locked before its tags are read, so two bulk changes
                    // adding tags at once both keep theirs.
                    store::feedback_for_update(&txn, id).await?;
                    let tags = merged_tags(&txn, id, add).await?;
                    let change = FeedbackChange {
                        status,
                        assignee,
                        tags,
                        public_response: None,
                    };
                    store::moderate_feedback(&txn, actor, id, None, &change)
                        .await
                        .map(|row| row.version)
                }
                .await;
                let outcome = match outcome {
                    Err(error) if is_fatal(&error) => return Err(error),
                    other => other,
                };
                results.push(BulkModerationResult::of(id, outcome));
            }
            txn.commit().await?;
            Ok(results)
        })
        .await
        .into_graphql()
    }

    /// Applies one change to many ideas in one transaction; see
    /// `bulkModerateFeedback`. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn bulk_moderate_ideas(
        &self,
        ctx: &Context<'_>,
        input: BulkModerateIdeasInput,
    ) -> async_graphql::Result<Vec<BulkModerationResult>> {
        let actor = viewer(ctx)?.id();
        let ids = parse_ids(&input.ids, "ids").into_graphql()?;
        let add = tags(input.add_tags.as_deref(), "addTags").into_graphql()?;
        let assignee = assignee(&input.assignee_id).into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (ids, add) = (&ids, add.as_deref());
        let (status, published) = (input.status, input.published);
        let results = crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let mut results = Vec::with_capacity(ids.len());
            for &id in ids {
                let outcome = async {
                    store::idea_for_update(&txn, id).await?;
                    let tags = merged_tags(&txn, id, add).await?;
                    let change = IdeaChange {
                        status,
                        published,
                        assignee,
                        tags,
                        ..IdeaChange::default()
                    };
                    store::moderate_idea(&txn, actor, id, None, &change)
                        .await
                        .map(|row| row.version)
                }
                .await;
                let outcome = match outcome {
                    Err(error) if is_fatal(&error) => return Err(error),
                    other => other,
                };
                results.push(BulkModerationResult::of(id, outcome));
            }
            txn.commit().await?;
            Ok(results)
        })
        .await
        .into_graphql()?;
        // The idea board is public content.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(results)
    }

    /// Adds an internal note, seen only by moderators, to a piece of feedback
    /// or an idea. Audited (without its text). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn add_note(
        &self,
        ctx: &Context<'_>,
        subject_id: ID,
        body: String,
    ) -> async_graphql::Result<ModerationNote> {
        let actor = viewer(ctx)?.id();
        let subject = parse_id(&subject_id, "subjectId").into_graphql()?;
        let body = FreeText::parse(&body, "body", NOTE_MAX).into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let body = body.as_str();
        let note = crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let note = store::add_note(&txn, actor, subject, body).await?;
            txn.commit().await?;
            Ok(note)
        })
        .await
        .into_graphql()?;
        Ok(ModerationNote(note))
    }

    /// Merges a duplicate idea into another: the source becomes DUPLICATE and
    /// leaves the board, and the target's `supportCount` counts every
    /// supporter of either once. Answers the target. Audited. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn merge_idea(
        &self,
        ctx: &Context<'_>,
        source_id: ID,
        target_id: ID,
    ) -> async_graphql::Result<Idea> {
        let actor = viewer(ctx)?.id();
        let source = parse_id(&source_id, "sourceId").into_graphql()?;
        let target = parse_id(&target_id, "targetId").into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let row = crate::db::retrying(|| async move {
            let txn = crate::db::write(db).await?;
            let row = store::merge_idea(&txn, actor, source, target).await?;
            txn.commit().await?;
            Ok(row)
        })
        .await
        .into_graphql()?;
        // The idea board is public content.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(Idea::staff(row))
    }
}

/// An item's tags with `add` added, or `None` when nothing is added.
async fn merged_tags(
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    add: Option<&[Tag]>,
) -> AppResult<Option<Vec<Tag>>> {
    let Some(add) = add.filter(|add| !add.is_empty()) else {
        return Ok(None);
    };
    let mut current: Vec<String> = store::tags_of(db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    current.extend(add.iter().map(|tag| tag.as_str().to_owned()));
    Tag::parse_all(&current, "addTags").map(Some)
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
    ) -> async_graphql::Result<impl Stream<Item = SubmissionEventView>> {
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

/// The extra fields of the feedback queue.
pub struct FeedbackConnectionTotal(FeedbackFilter);

#[Object]
impl FeedbackConnectionTotal {
    /// How many items match the filter in all.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        store::count_feedback(ctx.data::<DatabaseConnection>()?, &self.0)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
            .into_graphql()
    }
}

/// The extra fields of the audit log.
pub struct AuditEventConnectionTotal(AuditFilter);

#[Object]
impl AuditEventConnectionTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        store::count_audit(ctx.data::<DatabaseConnection>()?, self.0)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
            .into_graphql()
    }
}

/// How to reach a resident who asked to be contacted. MODERATOR and ADMIN only.
#[derive(SimpleObject)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Contact {
    pub fn of(name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Option<Self> {
        (name.is_some() || email.is_some() || phone.is_some()).then(|| Self {
            name: name.map(str::to_owned),
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
        })
    }
}

/// The personal-data kinds stored for an item.
pub fn pii_flags(stored: &str) -> Vec<PiiKind> {
    stored.split(',').filter_map(PiiKind::parse).collect()
}

pub async fn staff_member(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<StaffMember>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(StaffKey(id))
        .await?
        .map(StaffMember))
}

pub async fn tags_of(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<String>> {
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(TagsOf(id))
        .await?
        .unwrap_or_default())
}

pub async fn notes_of(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<ModerationNote>> {
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(NotesOf(id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(ModerationNote)
        .collect())
}

pub async fn kiosk(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<Kiosk>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(KioskKey(id))
        .await?
        .map(Kiosk))
}

/// A resident's feedback about a service, as moderators see it: the comment
/// in full with the personal data it holds flagged.
pub struct Feedback(pub feedback::Model);

#[Object]
impl Feedback {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn reference(&self) -> &str {
        &self.0.reference
    }

    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Service> {
        match ctx
            .data::<SharedLoader>()?
            .load_one(ServiceKey(self.0.service_id))
            .await?
        {
            Some(service) => Ok(Service(service)),
            None => Err(AppError::NotFound("the service")).into_graphql(),
        }
    }

    async fn rating(&self) -> FftRating {
        FftRating::parse(&self.0.rating).unwrap_or(FftRating::DontKnow)
    }

    /// The resident's words. May hold personal data: see `piiFlags`.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// Kinds of personal data found in the comment.
    async fn pii_flags(&self) -> Vec<PiiKind> {
        pii_flags(&self.0.pii_flags)
    }

    async fn channel(&self) -> Channel {
        Channel::parse(&self.0.channel).unwrap_or(Channel::Web)
    }

    async fn locale(&self) -> &str {
        &self.0.locale
    }

    /// The kiosk it came from, if any.
    async fn kiosk(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Kiosk>> {
        kiosk(ctx, self.0.kiosk_id).await
    }

    async fn status(&self) -> FeedbackStatus {
        FeedbackStatus::parse(&self.0.status).unwrap_or(FeedbackStatus::New)
    }

    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        staff_member(ctx, self.0.assignee_id).await
    }

    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        tags_of(ctx, self.0.id).await
    }

    /// Moderators' internal notes, oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ModerationNote>> {
        notes_of(ctx, self.0.id).await
    }

    /// Given only with the resident's consent. MODERATOR and ADMIN only.
    #[graphql(guard = "RoleGuard::CONTACT")]
    async fn contact(&self) -> Option<Contact> {
        Contact::of(
            self.0.contact_name.as_deref(),
            self.0.contact_email.as_deref(),
            self.0.contact_phone.as_deref(),
        )
    }

    /// The reply the resident sees with their receipt.
    async fn public_response(&self) -> Option<&str> {
        self.0.public_response.as_deref()
    }

    /// Text suggesting a risk of harm: such items come first.
    async fn safeguarding(&self) -> bool {
        self.0.safeguarding
    }

    /// Send it back as `expectedVersion` when you change the item.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When the resident filled it in, if it was queued offline.
    async fn captured_at(&self) -> Option<DateTime<Utc>> {
        self.0.captured_at
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A moderator's internal note.
pub struct ModerationNote(moderation_note::Model);

#[Object]
impl ModerationNote {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The feedback or idea it is about.
    async fn subject_id(&self) -> ID {
        ID(self.0.subject_id.to_string())
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        staff_member(ctx, Some(self.0.author_id)).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One staff action in the audit log.
pub struct AuditEvent(audit_event::Model);

fn json_of(stored: Option<&str>) -> Option<Json<serde_json::Value>> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .map(Json)
}

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What was done, e.g. `idea.moderated`, `staff.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Who did it; null for the command line.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        staff_member(ctx, self.0.actor_id).await
    }

    /// What it was done to: FEEDBACK, IDEA, STAFF, KIOSK, PAGE, ...
    async fn subject_kind(&self) -> Option<&str> {
        self.0.subject_kind.as_deref()
    }

    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|id| ID(id.to_string()))
    }

    /// The state before, where there was one. Never free text.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        json_of(self.0.before.as_deref())
    }

    /// The state after. Never free text.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        json_of(self.0.after.as_deref())
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}
