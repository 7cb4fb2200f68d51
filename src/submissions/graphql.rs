//! Submissions' GraphQL face: submitting feedback and ideas, supporting an
//! idea, tracking a receipt, and the public idea board.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::entity::idea;
use super::model::{
    self, Channel, Contact, FftRating, FreeText, IdeaStatus, IdempotencyKey, NewFeedback, NewIdea,
    SubmissionKind, SupporterKey, limits,
};
use super::reference::{Reference, ReferenceKind};
use super::store::{self, BoardCursor, IdeaOrder, KioskView, Receipt, ReceiptStatus, Screening};
use super::writer::SubmissionWriter;
use super::{SubmissionEvent, SubmissionEvents};
use crate::auth::{Client, RoleGuard};
use crate::content::model::Slug;
use crate::error::{AppError, AppResult, IntoGraphql as _};
use crate::locale::Locale;
use crate::moderation::audit::{self, AuditEntry};
use crate::pagination::{self, Limits};
use crate::privacy;
use crate::rate_limit::RateLimiter;
use crate::staff::graphql::StaffMember;

/// The submission rate limit, and the one for receipt look-ups.
pub struct SubmissionLimits {
    pub submissions: RateLimiter,
    pub lookups: RateLimiter,
}

/// Kiosks are shared by many residents, so they get this many times the
/// per-address allowance.
const KIOSK_MULTIPLIER: u32 = 10;

async fn rate_limit(limiter: &RateLimiter, client: &Client) -> AppResult<()> {
    let (key, multiplier) = match &client.kiosk {
        Some(kiosk) => (format!("kiosk:{}", kiosk.id), KIOSK_MULTIPLIER),
        None => (format!("ip:{}", client.address), 1),
    };
    limiter
        .allow(&key, multiplier)
        .await
        .map_err(|retry_after_seconds| AppError::RateLimited {
            retry_after_seconds,
        })
}

/// How to reach a resident who wants a reply. Kept only with consent.
#[derive(InputObject)]
pub struct ContactInput {
    name: Option<String>,
    email: Option<String>,
    /// A UK phone number.
    phone: Option<String>,
    /// Without `true`, no contact details are stored, whatever else is sent.
    consent_to_contact: bool,
}

fn contact(input: Option<&ContactInput>) -> AppResult<Option<Contact>> {
    match input {
        None => Ok(None),
        Some(input) => Contact::parse(
            input.name.as_deref(),
            input.email.as_deref(),
            input.phone.as_deref(),
            input.consent_to_contact,
        ),
    }
}

/// Feedback about a service: the Friends and Family Test question, "Overall,
/// how was your experience of our service?".
#[derive(InputObject)]
pub struct SubmitFeedbackInput {
    /// Made by the client (a UUID is ideal) and sent again with every retry of
    /// this submission: a retry returns the first receipt instead of a duplicate.
    idempotency_key: String,
    /// A `slug` from `services`.
    service_slug: String,
    rating: FftRating,
    /// Optional, at most 2000 characters.
    comment: Option<String>,
    /// Defaults to KIOSK with a kiosk token, WEB otherwise.
    channel: Option<Channel>,
    /// The language the resident used (default `en`).
    locale: Option<String>,
    contact: Option<ContactInput>,
    /// When the resident filled the form in, if it was queued offline.
    captured_at: Option<DateTime<Utc>>,
    /// Leave empty. Forms hide this field from people; bots fill it in.
    website: Option<String>,
}

/// An idea for improving health and wellbeing in the borough.
#[derive(InputObject)]
pub struct SubmitIdeaInput {
    /// See `SubmitFeedbackInput.idempotencyKey`.
    idempotency_key: String,
    /// At most 150 characters.
    title: String,
    /// At most 5000 characters.
    description: String,
    /// A short topic such as "mental health"; at most 60 characters.
    theme: Option<String>,
    channel: Option<Channel>,
    locale: Option<String>,
    contact: Option<ContactInput>,
    captured_at: Option<DateTime<Utc>>,
    /// Leave empty. Forms hide this field from people; bots fill it in.
    website: Option<String>,
}

fn locale(value: Option<&str>) -> AppResult<Locale> {
    value.map_or_else(
        || Ok(Locale::default_locale()),
        |tag| Locale::parse(tag, "locale"),
    )
}

fn is_bot(website: Option<&str>) -> bool {
    website.is_some_and(|value| !value.trim().is_empty())
}

/// A receipt for a bot caught by the honeypot: shaped like a real one so the
/// bot learns nothing, but nothing is stored and it tracks nothing.
fn decoy_receipt(kind: SubmissionKind) -> Receipt {
    let reference_kind = match kind {
        SubmissionKind::Feedback => ReferenceKind::Feedback,
        SubmissionKind::Idea => ReferenceKind::Idea,
    };
    tracing::info!(kind = kind.as_str(), "honeypot: dropped a bot submission");
    Receipt {
        id: None,
        reference: Reference::generate(reference_kind).to_string(),
        kind,
        received_at: crate::db::now(),
        replayed: false,
    }
}

fn screen(texts: &[&str]) -> Screening {
    let mut kinds: Vec<privacy::PiiKind> =
        texts.iter().flat_map(|text| privacy::kinds(text)).collect();
    kinds.sort();
    kinds.dedup();
    Screening {
        pii_flags: kinds
            .iter()
            .map(|kind| kind.as_str())
            .collect::<Vec<_>>()
            .join(","),
        safeguarding: texts.iter().any(|text| privacy::suggests_risk(text)),
    }
}

fn announce(ctx: &Context<'_>, receipt: &Receipt, safeguarding: bool) {
    if let (Some(id), false, Ok(events)) =
        (receipt.id, receipt.replayed, ctx.data::<SubmissionEvents>())
    {
        events.publish(SubmissionEvent {
            kind: receipt.kind,
            id,
            reference: receipt.reference.clone(),
            safeguarding,
            received_at: receipt.received_at,
        });
    }
}

/// Submitting feedback and ideas.
#[derive(Default)]
pub struct SubmissionsMutation;

#[Object]
impl SubmissionsMutation {
    /// Sends feedback about a service. The answer is a receipt whose
    /// `reference` the resident can use to follow it up. Safe to retry with
    /// the same `idempotencyKey`.
    async fn submit_feedback(
        &self,
        ctx: &Context<'_>,
        input: SubmitFeedbackInput,
    ) -> async_graphql::Result<SubmissionReceipt> {
        let client = ctx.data::<Client>()?;
        rate_limit(&ctx.data::<SubmissionLimits>()?.submissions, client)
            .await
            .into_graphql()?;
        if is_bot(input.website.as_deref()) {
            return Ok(SubmissionReceipt(decoy_receipt(SubmissionKind::Feedback)));
        }
        let new = parse_feedback(&input, client).into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let service_id = ctx
            .data::<super::services::ServiceDirectory>()?
            .id_of(db, &new.service)
            .await
            .and_then(|id| {
                id.ok_or_else(|| AppError::bad_input("serviceSlug", "is not one of `services`"))
            })
            .into_graphql()?;
        let screening = screen(&[new.comment.as_ref().map_or("", FreeText::as_str)]);
        let kiosk_id = client.kiosk.as_ref().map(|kiosk| kiosk.id);
        let receipt = ctx
            .data::<SubmissionWriter>()?
            .submit(store::pending_feedback(
                &new, service_id, kiosk_id, &screening,
            ))
            .await
            .into_graphql()?;
        announce(ctx, &receipt, screening.safeguarding);
        Ok(SubmissionReceipt(receipt))
    }

    /// Sends an idea for improving health and wellbeing. Ideas appear on the
    /// `ideaBoard` once a moderator publishes them.
    async fn submit_idea(
        &self,
        ctx: &Context<'_>,
        input: SubmitIdeaInput,
    ) -> async_graphql::Result<SubmissionReceipt> {
        let client = ctx.data::<Client>()?;
        rate_limit(&ctx.data::<SubmissionLimits>()?.submissions, client)
            .await
            .into_graphql()?;
        if is_bot(input.website.as_deref()) {
            return Ok(SubmissionReceipt(decoy_receipt(SubmissionKind::Idea)));
        }
        let new = parse_idea(&input, client).into_graphql()?;
        let screening = screen(&[new.title.as_str(), new.description.as_str()]);
        let kiosk_id = client.kiosk.as_ref().map(|kiosk| kiosk.id);
        let receipt = ctx
            .data::<SubmissionWriter>()?
            .submit(store::pending_idea(&new, kiosk_id, &screening))
            .await
            .into_graphql()?;
        announce(ctx, &receipt, screening.safeguarding);
        Ok(SubmissionReceipt(receipt))
    }

    /// Adds a supporter to a published idea. Each `supporterKey` (made once
    /// by the device or browser and kept) counts once per idea; supporting
    /// again changes nothing.
    async fn support_idea(
        &self,
        ctx: &Context<'_>,
        idea_id: ID,
        supporter_key: String,
    ) -> async_graphql::Result<Idea> {
        let client = ctx.data::<Client>()?;
        rate_limit(&ctx.data::<SubmissionLimits>()?.submissions, client)
            .await
            .into_graphql()?;
        let supporter = SupporterKey::parse(&supporter_key).into_graphql()?;
        let Ok(idea_id) = Uuid::parse_str(&idea_id) else {
            return Err(AppError::NotFound("the idea")).into_graphql();
        };
        let idea = store::support_idea(ctx.data::<DatabaseConnection>()?, idea_id, &supporter)
            .await
            .and_then(|idea| idea.ok_or(AppError::NotFound("the idea")))
            .into_graphql()?;
        // The board shows support counts.
        ctx.data::<crate::content::ContentSignals>()?.changed();
        Ok(Idea::public(idea))
    }
}

fn parse_feedback(input: &SubmitFeedbackInput, client: &Client) -> AppResult<NewFeedback> {
    Ok(NewFeedback {
        key: IdempotencyKey::parse(&input.idempotency_key)?,
        service: Slug::parse(&input.service_slug, "serviceSlug")?,
        rating: input.rating,
        comment: input
            .comment
            .as_deref()
            .map(|comment| FreeText::parse(comment, "comment", limits::COMMENT))
            .transpose()?,
        channel: input
            .channel
            .unwrap_or_else(|| store::default_channel(client.kiosk.as_ref())),
        locale: locale(input.locale.as_deref())?,
        contact: contact(input.contact.as_ref())?,
        captured_at: model::captured_at(input.captured_at, Utc::now())?,
    })
}

fn parse_idea(input: &SubmitIdeaInput, client: &Client) -> AppResult<NewIdea> {
    Ok(NewIdea {
        key: IdempotencyKey::parse(&input.idempotency_key)?,
        title: FreeText::parse(&input.title, "title", limits::IDEA_TITLE)?,
        description: FreeText::parse(&input.description, "description", limits::IDEA_DESCRIPTION)?,
        theme: input
            .theme
            .as_deref()
            .map(|theme| FreeText::parse(theme, "theme", limits::THEME))
            .transpose()?,
        channel: input
            .channel
            .unwrap_or_else(|| store::default_channel(client.kiosk.as_ref())),
        locale: locale(input.locale.as_deref())?,
        contact: contact(input.contact.as_ref())?,
        captured_at: model::captured_at(input.captured_at, Utc::now())?,
    })
}

/// Public queries about submissions.
#[derive(Default)]
pub struct SubmissionsQuery;

#[Object]
impl SubmissionsQuery {
    /// Where a submission is, by the reference on its receipt. Shows its
    /// status and any public response, never what was submitted. A reference
    /// that is mistyped or unknown answers NOT_FOUND.
    #[graphql(cache_control(no_cache))]
    async fn submission(
        &self,
        ctx: &Context<'_>,
        reference: String,
    ) -> async_graphql::Result<SubmissionStatus> {
        rate_limit(
            &ctx.data::<SubmissionLimits>()?.lookups,
            ctx.data::<Client>()?,
        )
        .await
        .into_graphql()?;
        // Characters no receipt shows are not a typing mistake.
        crate::text::check_identifier(&reference, "reference").into_graphql()?;
        // The checksum catches typos before any database work.
        let Ok(reference) = Reference::parse(&reference) else {
            return Err(AppError::NotFound("a submission with that reference")).into_graphql();
        };
        store::receipt_status(ctx.data::<DatabaseConnection>()?, &reference)
            .await
            .and_then(|status| status.ok_or(AppError::NotFound("a submission with that reference")))
            .map(SubmissionStatus)
            .into_graphql()
    }

    /// Published ideas, with their support and any public response. Personal
    /// details in ideas are masked.
    #[graphql(
        cache_control(max_age = 60),
        complexity = "(first.unwrap_or(20).clamp(0, 1000) as usize).saturating_mul(child_complexity)"
    )]
    async fn idea_board(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        theme: Option<String>,
        order: Option<IdeaOrder>,
    ) -> async_graphql::Result<Connection<String, Idea, IdeaConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?).into_graphql()?;
        let order = order.unwrap_or_default();
        let after = after
            .map(|cursor| decode_board_cursor(order, &cursor))
            .transpose()
            .into_graphql()?;
        // Cleaned as stored themes were, so a hidden character neither
        // misses a theme nor reaches the database (PostgreSQL refuses NUL).
        let theme = theme
            .map(|theme| crate::text::clean_free_text(&theme).trim().to_owned())
            .filter(|theme| !theme.is_empty());
        let db = ctx.data::<DatabaseConnection>()?;
        let (ideas, has_next) =
            store::idea_board(db, order, theme.as_deref(), first, after.clone())
                .await
                .into_graphql()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            IdeaConnectionTotal::Board { theme },
        );
        connection.edges.extend(ideas.into_iter().map(|idea| {
            let cursor = match order {
                IdeaOrder::Support => pagination::encode_cursor(
                    "support",
                    &format!("{}:{}", idea.support_count, idea.id),
                ),
                IdeaOrder::Recent => pagination::encode_cursor("recent", &idea.id.to_string()),
            };
            Edge::new(cursor, Idea::public(idea))
        }));
        Ok(connection)
    }
}

fn decode_board_cursor(order: IdeaOrder, cursor: &str) -> AppResult<BoardCursor> {
    let invalid = || AppError::bad_input("after", "is not a cursor from this list");
    match order {
        IdeaOrder::Support => {
            let key = pagination::decode_cursor("support", cursor)?;
            let (count, id) = key.split_once(':').ok_or_else(invalid)?;
            Ok(BoardCursor::Support {
                support_count: count.parse().map_err(|_| invalid())?,
                id: Uuid::parse_str(id).map_err(|_| invalid())?,
            })
        }
        IdeaOrder::Recent => {
            let key = pagination::decode_cursor("recent", cursor)?;
            Ok(BoardCursor::Recent {
                id: Uuid::parse_str(&key).map_err(|_| invalid())?,
            })
        }
    }
}

/// The extra fields of an idea list.
pub enum IdeaConnectionTotal {
    Board { theme: Option<String> },
    Queue(crate::moderation::store::IdeaFilter),
}

#[Object]
impl IdeaConnectionTotal {
    /// How many ideas the list holds in all.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let db = ctx.data::<DatabaseConnection>()?;
        match self {
            Self::Board { theme } => store::count_idea_board(db, theme.as_deref()).await,
            Self::Queue(filter) => crate::moderation::store::count_ideas(db, filter).await,
        }
        .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
        .into_graphql()
    }
}

/// A receipt for a submission.
pub struct SubmissionReceipt(Receipt);

#[Object]
impl SubmissionReceipt {
    /// Short and checksummed, e.g. `FB-7K3Q-9XMD`: give it to the resident.
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    async fn kind(&self) -> SubmissionKind {
        self.0.kind
    }

    /// When we first received it (our clock).
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }

    /// True when this answers a retry of a submission already stored.
    async fn replayed(&self) -> bool {
        self.0.replayed
    }
}

/// What a resident can see of their submission.
pub struct SubmissionStatus(ReceiptStatus);

#[Object]
impl SubmissionStatus {
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    async fn kind(&self) -> SubmissionKind {
        self.0.kind
    }

    /// The moderation status, e.g. NEW, IN_REVIEW, ACCEPTED.
    async fn status(&self) -> &str {
        &self.0.status
    }

    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The partnership's public answer, once there is one.
    async fn public_response(&self) -> Option<String> {
        self.0.public_response.as_deref().map(privacy::mask)
    }
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

    async fn theme(&self) -> Option<&str> {
        self.row.theme.as_deref()
    }

    async fn status(&self) -> IdeaStatus {
        IdeaStatus::parse(&self.row.status).unwrap_or(IdeaStatus::New)
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
    async fn merged_into(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Idea>> {
        let Some(target) = self.row.merged_into_id else {
            return Ok(None);
        };
        let row = crate::moderation::store::idea_by_id(ctx.data::<DatabaseConnection>()?, target)
            .await
            .into_graphql()?;
        Ok(row.map(|row| Self {
            row,
            masked: self.masked,
        }))
    }

    /// Text suggesting a risk of harm. Such ideas are never published.
    async fn safeguarding(&self) -> bool {
        self.row.safeguarding
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
    async fn pii_flags(&self) -> Vec<privacy::PiiKind> {
        crate::moderation::graphql::pii_flags(&self.row.pii_flags)
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn channel(&self) -> Channel {
        Channel::parse(&self.row.channel).unwrap_or(Channel::Web)
    }

    /// The language the resident wrote in. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn locale(&self) -> &str {
        &self.row.locale
    }

    /// The kiosk it came from, if any. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn kiosk(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Kiosk>> {
        crate::moderation::graphql::kiosk(ctx, self.row.kiosk_id).await
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        crate::moderation::graphql::staff_member(ctx, self.row.assignee_id).await
    }

    /// MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        crate::moderation::graphql::tags_of(ctx, self.row.id).await
    }

    /// Moderators' internal notes, oldest first. MODERATOR.
    #[graphql(guard = "RoleGuard::MODERATOR")]
    async fn notes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::moderation::graphql::ModerationNote>> {
        crate::moderation::graphql::notes_of(ctx, self.row.id).await
    }

    /// Given only with the resident's consent. MODERATOR and ADMIN only.
    #[graphql(guard = "RoleGuard::CONTACT")]
    async fn contact(&self) -> Option<crate::moderation::graphql::Contact> {
        crate::moderation::graphql::Contact::of(
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

/// A kiosk: a device in a waiting room or library that residents submit from.
pub struct Kiosk(pub KioskView);

#[Object]
impl Kiosk {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Where it stands.
    async fn site(&self) -> Option<&str> {
        self.0.site.as_deref()
    }

    /// A revoked kiosk's token no longer works.
    async fn active(&self) -> bool {
        self.0.active
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new kiosk and its token.
#[derive(SimpleObject)]
pub struct KioskCredentials {
    kiosk: Kiosk,
    /// Shown this once; only its hash is kept. Configure the kiosk to send
    /// `Authorization: Kiosk <token>`.
    token: String,
}

/// The longest kiosk name or site, in characters.
const KIOSK_TEXT_MAX: usize = 100;

/// Registers a kiosk with a new token, and audits it; `actor` is `None` for
/// the command line. Answers the kiosk and its token, which is shown once.
pub async fn create_kiosk(
    db: &DatabaseConnection,
    name: &str,
    site: Option<&str>,
    actor: Option<Uuid>,
) -> AppResult<(KioskView, String)> {
    let name = FreeText::parse(name, "name", KIOSK_TEXT_MAX)?;
    let site = site
        .map(|site| FreeText::parse(site, "site", KIOSK_TEXT_MAX))
        .transpose()?;
    let token = crate::auth::new_kiosk_token()?;
    let txn = crate::db::write(db).await?;
    let kiosk = store::create_kiosk(
        &txn,
        name.as_str(),
        site.as_ref().map(FreeText::as_str),
        crate::auth::kiosk_token_hash(&token),
    )
    .await?;
    audit::record(
        &txn,
        AuditEntry::kiosk_created(
            actor,
            kiosk.id,
            serde_json::json!({ "name": kiosk.name, "site": kiosk.site }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok((kiosk, token))
}

/// Revokes a kiosk at once, and audits it.
pub async fn revoke_kiosk(
    db: &DatabaseConnection,
    id: Uuid,
    actor: Option<Uuid>,
) -> AppResult<Option<KioskView>> {
    let txn = crate::db::write(db).await?;
    let Some(kiosk) = store::revoke_kiosk(&txn, id).await? else {
        return Ok(None);
    };
    audit::record(&txn, AuditEntry::kiosk_revoked(actor, id)).await?;
    txn.commit().await?;
    Ok(Some(kiosk))
}

/// Kiosks, for admins.
#[derive(Default)]
pub struct KioskQuery;

#[Object]
impl KioskQuery {
    /// Every kiosk, oldest first. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn kiosks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Kiosk>> {
        store::kiosks(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|kiosks| kiosks.into_iter().map(Kiosk).collect())
            .into_graphql()
    }
}

/// Registering and revoking kiosks, for admins.
#[derive(Default)]
pub struct KioskMutation;

#[Object]
impl KioskMutation {
    /// Registers a kiosk. Its token is in this answer and never again. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn create_kiosk(
        &self,
        ctx: &Context<'_>,
        name: String,
        site: Option<String>,
    ) -> async_graphql::Result<KioskCredentials> {
        let actor = crate::auth::viewer(ctx)?.id();
        let (kiosk, token) = create_kiosk(
            ctx.data::<DatabaseConnection>()?,
            &name,
            site.as_deref(),
            Some(actor),
        )
        .await
        .into_graphql()?;
        Ok(KioskCredentials {
            kiosk: Kiosk(kiosk),
            token,
        })
    }

    /// Revokes a kiosk: its token stops working at once. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn revoke_kiosk(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Kiosk> {
        let actor = crate::auth::viewer(ctx)?.id();
        let Ok(id) = Uuid::parse_str(&id) else {
            return Err(AppError::NotFound("the kiosk")).into_graphql();
        };
        revoke_kiosk(ctx.data::<DatabaseConnection>()?, id, Some(actor))
            .await
            .and_then(|kiosk| kiosk.ok_or(AppError::NotFound("the kiosk")))
            .map(Kiosk)
            .into_graphql()
    }
}
