//! Submissions' GraphQL face: submitting feedback and ideas, tracking a
//! receipt, and registering kiosks. (What staff and the public idea board
//! show of a submission is moderation's.)

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::model::{
    self, Channel, Contact, Envelope, FftRating, FreeText, IdempotencyKey, NewFeedback, NewIdea,
    SubmissionKind, limits,
};
use super::reference::{Reference, ReferenceKind};
use super::store::{self, KioskView, Receipt, ReceiptStatus};
use super::writer::SubmissionWriter;
use super::{SubmissionEvent, SubmissionEvents};
use crate::auth::{Client, RoleGuard};
use crate::content::model::Slug;
use crate::error::{AppError, AppResult};
use crate::ids::KioskId;
use crate::locale::Locale;
use crate::privacy;
use crate::rate_limit::RateLimiter;

/// The submission rate limit, and the one for receipt look-ups.
pub struct SubmissionLimits {
    pub submissions: RateLimiter,
    pub lookups: RateLimiter,
}

/// Kiosks are shared by many residents, so they get this many times the
/// per-address allowance.
const KIOSK_MULTIPLIER: u32 = 10;

impl SubmissionLimits {
    /// Takes one submission (or support) from `client`'s allowance.
    pub async fn submission(&self, client: &Client) -> AppResult<()> {
        allow(&self.submissions, client).await
    }

    /// Takes one receipt look-up from `client`'s allowance.
    pub async fn lookup(&self, client: &Client) -> AppResult<()> {
        allow(&self.lookups, client).await
    }
}

async fn allow(limiter: &RateLimiter, client: &Client) -> AppResult<()> {
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

/// What every submission's input carries besides its own fields.
#[derive(InputObject)]
pub struct CarriedInput {
    /// Defaults to KIOSK with a kiosk token, WEB otherwise.
    channel: Option<Channel>,
    /// The language the resident used (default `en`).
    locale: Option<String>,
    contact: Option<ContactInput>,
    /// When the resident filled the form in, if it was queued offline.
    captured_at: Option<DateTime<Utc>>,
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
    #[graphql(flatten)]
    carried: CarriedInput,
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
    #[graphql(flatten)]
    carried: CarriedInput,
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
    ) -> AppResult<SubmissionReceipt> {
        let website = input.website.as_deref();
        submit(ctx, SubmissionKind::Feedback, website, async |client| {
            let new = parse_feedback(&input, client)?;
            let db = ctx.data::<DatabaseConnection>()?;
            let service_id = ctx
                .data::<super::services::ServiceDirectory>()?
                .id_of(db, &new.service)
                .await
                .and_then(|id| {
                    id.ok_or_else(|| AppError::bad_input("serviceSlug", "is not one of `services`"))
                })?;
            let screening = privacy::screen(&[new.comment.as_ref().map_or("", FreeText::as_str)]);
            let kiosk_id = client.kiosk.as_ref().map(|kiosk| kiosk.id);
            let pending = store::pending_feedback(&new, service_id, kiosk_id, &screening);
            Ok((pending, screening))
        })
        .await
    }

    /// Sends an idea for improving health and wellbeing. Ideas appear on the
    /// `ideaBoard` once a moderator publishes them.
    async fn submit_idea(
        &self,
        ctx: &Context<'_>,
        input: SubmitIdeaInput,
    ) -> AppResult<SubmissionReceipt> {
        let website = input.website.as_deref();
        submit(ctx, SubmissionKind::Idea, website, async |client| {
            let new = parse_idea(&input, client)?;
            let screening = privacy::screen(&[
                new.title.as_str(),
                new.description.as_str(),
                new.theme.as_ref().map_or("", FreeText::as_str),
            ]);
            let kiosk_id = client.kiosk.as_ref().map(|kiosk| kiosk.id);
            let pending = store::pending_idea(&new, kiosk_id, &screening);
            Ok((pending, screening))
        })
        .await
    }
}

/// The one way a submission goes through the API: the client's rate limit,
/// the honeypot, then `prepare` (parse, screen, make the row), the writer,
/// and the live event for moderators.
async fn submit(
    ctx: &Context<'_>,
    kind: SubmissionKind,
    website: Option<&str>,
    prepare: impl AsyncFnOnce(&Client) -> AppResult<(store::Pending, privacy::Screening)>,
) -> AppResult<SubmissionReceipt> {
    let client = ctx.data::<Client>()?;
    ctx.data::<SubmissionLimits>()?.submission(client).await?;
    if is_bot(website) {
        return Ok(SubmissionReceipt(decoy_receipt(kind)));
    }
    let (pending, screening) = prepare(client).await?;
    let receipt = ctx.data::<SubmissionWriter>()?.submit(pending).await?;
    announce(ctx, &receipt, screening.safeguarding);
    Ok(SubmissionReceipt(receipt))
}

fn parse_feedback(input: &SubmitFeedbackInput, client: &Client) -> AppResult<NewFeedback> {
    let key = IdempotencyKey::parse(&input.idempotency_key)?;
    Ok(NewFeedback {
        service: Slug::parse(&input.service_slug, "serviceSlug")?,
        rating: input.rating,
        comment: input
            .comment
            .as_deref()
            .map(|comment| FreeText::parse(comment, "comment", limits::COMMENT))
            .transpose()?,
        envelope: envelope(key, &input.carried, client)?,
    })
}

fn parse_idea(input: &SubmitIdeaInput, client: &Client) -> AppResult<NewIdea> {
    let key = IdempotencyKey::parse(&input.idempotency_key)?;
    Ok(NewIdea {
        title: FreeText::parse(&input.title, "title", limits::IDEA_TITLE)?,
        description: FreeText::parse(&input.description, "description", limits::IDEA_DESCRIPTION)?,
        theme: input
            .theme
            .as_deref()
            .map(|theme| FreeText::parse(theme, "theme", limits::THEME))
            .transpose()?,
        envelope: envelope(key, &input.carried, client)?,
    })
}

/// Parses what every submission carries besides its own fields.
fn envelope(key: IdempotencyKey, input: &CarriedInput, client: &Client) -> AppResult<Envelope> {
    Ok(Envelope {
        key,
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
    ) -> AppResult<SubmissionStatus> {
        ctx.data::<SubmissionLimits>()?
            .lookup(ctx.data::<Client>()?)
            .await?;
        // Characters no receipt shows are not a typing mistake.
        crate::text::check_identifier(&reference, "reference")?;
        // The checksum catches typos before any database work.
        let Ok(reference) = Reference::parse(&reference) else {
            return Err(AppError::NotFound("a submission with that reference"));
        };
        store::receipt_status(ctx.data::<DatabaseConnection>()?, &reference)
            .await
            .and_then(|status| status.ok_or(AppError::NotFound("a submission with that reference")))
            .map(SubmissionStatus)
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
        self.0.status
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

/// Kiosks, for admins.
#[derive(Default)]
pub struct KioskQuery;

#[Object]
impl KioskQuery {
    /// Every kiosk, oldest first. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn kiosks(&self, ctx: &Context<'_>) -> AppResult<Vec<Kiosk>> {
        store::kiosks(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|kiosks| kiosks.into_iter().map(Kiosk).collect())
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
    ) -> AppResult<KioskCredentials> {
        let actor = crate::auth::viewer(ctx)?.id();
        let (kiosk, token) = super::actions::create_kiosk(
            ctx.data::<DatabaseConnection>()?,
            &name,
            site.as_deref(),
            Some(actor),
        )
        .await?;
        Ok(KioskCredentials {
            kiosk: Kiosk(kiosk),
            token,
        })
    }

    /// Revokes a kiosk: its token stops working at once. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn revoke_kiosk(&self, ctx: &Context<'_>, id: ID) -> AppResult<Kiosk> {
        let actor = crate::auth::viewer(ctx)?.id();
        let Some(id) = KioskId::parse_or_none(&id) else {
            return Err(AppError::NotFound("the kiosk"));
        };
        super::actions::revoke_kiosk(ctx.data::<DatabaseConnection>()?, id, Some(actor))
            .await
            .and_then(|kiosk| kiosk.ok_or(AppError::NotFound("the kiosk")))
            .map(Kiosk)
    }
}
