//! How staff (and, for published ideas, the public) see a submission: the
//! output types of moderation, with their relations loaded in batches.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::super::entity::moderation_note;
use super::super::store::{self, FeedbackFilter, IdeaFilter};
use crate::audit::graphql::AuditEvent;
use crate::auth::RoleGuard;
use crate::content::graphql::Service;
use crate::error::{AppError, AppResult};
use crate::ids::{IdeaId, KioskId, StaffId};
use crate::loaders;
use crate::moderation::model::Workflow as _;
use crate::privacy::{self, PiiKind};
use crate::staff::graphql::StaffMember;
use crate::submissions::entity::{feedback, idea};
use crate::submissions::graphql::Kiosk;
use crate::submissions::model::{Channel, FeedbackStatus, FftRating, IdeaStatus};

/// The extra fields of the feedback queue.
pub struct FeedbackConnectionTotal(pub(super) FeedbackFilter);

#[Object]
impl FeedbackConnectionTotal {
    /// How many items match the filter in all.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i32> {
        store::count_feedback(ctx.data::<DatabaseConnection>()?, &self.0)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// The extra fields of an idea list: the board's or the queue's.
pub enum IdeaConnectionTotal {
    Board { theme: Option<String> },
    Queue(IdeaFilter),
}

#[Object]
impl IdeaConnectionTotal {
    /// How many ideas the list holds in all.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        match self {
            Self::Board { theme } => {
                crate::submissions::store::count_idea_board(db, theme.as_deref()).await
            }
            Self::Queue(filter) => store::count_ideas(db, filter).await,
        }
        .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
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

    async fn service(&self, ctx: &Context<'_>) -> AppResult<Service> {
        match loaders::service(ctx, self.0.service_id).await? {
            Some(service) => Ok(Service(service)),
            None => Err(AppError::NotFound("the service")),
        }
    }

    async fn rating(&self) -> FftRating {
        self.0.rating
    }

    /// The resident's words. May hold personal data: see `piiFlags`.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// Kinds of personal data found in the comment.
    async fn pii_flags(&self) -> Vec<PiiKind> {
        self.0.pii_flags.to_vec()
    }

    async fn channel(&self) -> Channel {
        self.0.channel
    }

    async fn locale(&self) -> &str {
        &self.0.locale
    }

    /// The kiosk it came from, if any.
    async fn kiosk(&self, ctx: &Context<'_>) -> AppResult<Option<Kiosk>> {
        loaders::kiosk(ctx, self.0.kiosk_id.map(KioskId::from_uuid)).await
    }

    async fn status(&self) -> FeedbackStatus {
        self.0.status
    }

    /// The statuses `moderateFeedback` may move it to from where it is now.
    async fn next_statuses(&self) -> &'static [FeedbackStatus] {
        self.0.status.next()
    }

    async fn assignee(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, self.0.assignee_id.map(StaffId::from_uuid)).await
    }

    async fn tags(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        loaders::tags_of(ctx, self.0.id).await
    }

    /// Moderators' internal notes, oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> AppResult<Vec<ModerationNote>> {
        notes(ctx, self.0.id).await
    }

    /// What staff did to it, from the audit log, newest first (the last
    /// 100 events). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn history(&self, ctx: &Context<'_>) -> AppResult<Vec<AuditEvent>> {
        crate::audit::graphql::history_of(ctx, self.0.id).await
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

    /// What the detector or staff raised, by category, with the words that
    /// raised it and what staff decided; oldest first.
    async fn safeguarding_concerns(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<super::SafeguardingConcern>> {
        super::concerns::concerns_of(ctx, self.0.id).await
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

async fn notes(ctx: &Context<'_>, subject: uuid::Uuid) -> AppResult<Vec<ModerationNote>> {
    Ok(loaders::notes_of(ctx, subject)
        .await?
        .into_iter()
        .map(ModerationNote)
        .collect())
}

/// A resident's idea. On the public board personal details in its text are
/// masked; moderators see it whole, with what it holds flagged.
pub struct Idea {
    row: idea::Model,
    masked: bool,
}

impl Idea {
    /// As the public sees it: personal details masked.
    pub fn public(row: idea::Model) -> Self {
        Self { row, masked: true }
    }

    /// As moderators see it: whole.
    pub fn staff(row: idea::Model) -> Self {
        Self { row, masked: false }
    }

    fn text(&self, text: &str) -> String {
        if self.masked {
            privacy::mask(text)
        } else {
            text.to_owned()
        }
    }
}

#[Object]
impl Idea {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn reference(&self) -> &str {
        &self.row.reference
    }

    async fn title(&self) -> String {
        self.text(&self.row.title)
    }

    async fn description(&self) -> String {
        self.text(&self.row.description)
    }

    /// A short topic; on the board, personal details in it are masked too.
    async fn theme(&self) -> Option<String> {
        self.row.theme.as_deref().map(|theme| self.text(theme))
    }

    async fn status(&self) -> IdeaStatus {
        self.row.status
    }

    /// The statuses `moderateIdea` may move it to from where it is now
    /// (DUPLICATE only by `mergeIdea`). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn next_statuses(&self) -> &'static [IdeaStatus] {
        self.row.status.next()
    }

    /// Whether it is on the public `ideaBoard`.
    async fn published(&self) -> bool {
        self.row.published
    }

    /// The partnership's public answer ("you said, we did").
    async fn public_response(&self) -> Option<String> {
        self.row
            .public_response
            .as_deref()
            .map(|text| self.text(text))
    }

    /// Residents who support the idea, each counted once; a merged idea's
    /// supporters count towards the idea it was merged into.
    async fn support_count(&self) -> i32 {
        self.row.support_count
    }

    /// The idea this one was merged into, when it is a DUPLICATE.
    async fn merged_into(&self, ctx: &Context<'_>) -> AppResult<Option<Idea>> {
        let Some(target) = self.row.merged_into_id else {
            return Ok(None);
        };
        Ok(loaders::idea(ctx, IdeaId::from_uuid(target))
            .await?
            .map(|row| Self {
                row,
                masked: self.masked,
            }))
    }

    /// Text suggesting a risk of harm. Such ideas are never published.
    async fn safeguarding(&self) -> bool {
        self.row.safeguarding
    }

    /// What the detector or staff raised, by category, with the words that
    /// raised it and what staff decided; oldest first. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn safeguarding_concerns(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Vec<super::SafeguardingConcern>> {
        super::concerns::concerns_of(ctx, self.row.id).await
    }

    /// Send it back as `expectedVersion` when you change the idea.
    async fn version(&self) -> i32 {
        self.row.version
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.row.received_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// Kinds of personal data found in the title or description. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn pii_flags(&self) -> Vec<PiiKind> {
        self.row.pii_flags.to_vec()
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn channel(&self) -> Channel {
        self.row.channel
    }

    /// The language the resident wrote in. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn locale(&self) -> &str {
        &self.row.locale
    }

    /// The kiosk it came from, if any. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn kiosk(&self, ctx: &Context<'_>) -> AppResult<Option<Kiosk>> {
        loaders::kiosk(ctx, self.row.kiosk_id.map(KioskId::from_uuid)).await
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn assignee(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, self.row.assignee_id.map(StaffId::from_uuid)).await
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn tags(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        loaders::tags_of(ctx, self.row.id).await
    }

    /// Moderators' internal notes, oldest first. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn notes(&self, ctx: &Context<'_>) -> AppResult<Vec<ModerationNote>> {
        notes(ctx, self.row.id).await
    }

    /// What staff did to it, from the audit log, newest first (the last
    /// 100 events). MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn history(&self, ctx: &Context<'_>) -> AppResult<Vec<AuditEvent>> {
        crate::audit::graphql::history_of(ctx, self.row.id).await
    }

    /// Given only with the resident's consent. MODERATOR and ADMIN only.
    #[graphql(guard = "RoleGuard::CONTACT")]
    async fn contact(&self) -> Option<Contact> {
        Contact::of(
            self.row.contact_name.as_deref(),
            self.row.contact_email.as_deref(),
            self.row.contact_phone.as_deref(),
        )
    }

    /// When the resident filled it in, if it was queued offline. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn captured_at(&self) -> Option<DateTime<Utc>> {
        self.row.captured_at
    }
}

/// A moderator's internal note.
pub struct ModerationNote(pub moderation_note::Model);

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

    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, Some(StaffId::from_uuid(self.0.author_id))).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
