//! Submissions' database operations.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    SqlErr,
};
use uuid::Uuid;

use super::entity::{feedback, idea, idea_support, idempotency_key, kiosk, safeguarding_concern};
use super::model::{
    Channel, ConcernOrigin, ConcernStatus, Contact, Envelope, FeedbackStatus, IdeaStatus,
    NewFeedback, NewIdea, SubmissionKind, SupporterKey,
};
use super::reference::{Reference, ReferenceKind};
use crate::error::{AppError, AppResult};
use crate::ids::{IdeaId, KioskId};
use crate::pagination::Page;
use crate::privacy::Screening;

/// What a resident gets back for a submission.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub id: Option<Uuid>,
    pub reference: String,
    pub kind: SubmissionKind,
    pub received_at: DateTime<Utc>,
    pub replayed: bool,
}

/// The row a submission becomes.
#[derive(Clone, Debug)]
enum NewRow {
    Feedback(feedback::ActiveModel),
    Idea(idea::ActiveModel),
}

/// A submission ready to store: parsed, screened, with its id, receipt
/// reference and time drawn.
#[derive(Clone, Debug)]
pub struct Pending {
    key: String,
    kind: SubmissionKind,
    fingerprint: String,
    id: Uuid,
    reference: String,
    received_at: DateTime<Utc>,
    row: NewRow,
    /// The safeguarding concerns screening found, stored with the row.
    concerns: Vec<safeguarding_concern::ActiveModel>,
}

fn reference_kind(kind: SubmissionKind) -> ReferenceKind {
    match kind {
        SubmissionKind::Feedback => ReferenceKind::Feedback,
        SubmissionKind::Idea => ReferenceKind::Idea,
    }
}

impl Pending {
    /// Draws another reference, after a clash with a stored one.
    fn redraw(&mut self) {
        self.reference = Reference::generate(reference_kind(self.kind)).to_string();
        match &mut self.row {
            NewRow::Feedback(model) => model.reference = Set(self.reference.clone()),
            NewRow::Idea(model) => model.reference = Set(self.reference.clone()),
        }
    }

    fn key_row(&self) -> idempotency_key::ActiveModel {
        idempotency_key::ActiveModel {
            key: Set(self.key.clone()),
            kind: Set(self.kind),
            payload_hash: Set(self.fingerprint.clone()),
            reference: Set(self.reference.clone()),
            received_at: Set(self.received_at),
        }
    }

    fn receipt(&self) -> Receipt {
        Receipt {
            id: Some(self.id),
            reference: self.reference.clone(),
            kind: self.kind,
            received_at: self.received_at,
            replayed: false,
        }
    }

    /// What a retry of this submission gets, given the key row stored first.
    fn replay(&self, first: Option<&idempotency_key::Model>) -> AppResult<Receipt> {
        match first {
            Some(first) if first.payload_hash == self.fingerprint && first.kind == self.kind => {
                Ok(Receipt {
                    id: None,
                    reference: first.reference.clone(),
                    kind: self.kind,
                    received_at: first.received_at,
                    replayed: true,
                })
            }
            Some(_) => Err(AppError::Conflict(
                "this idempotencyKey was already used for a different submission".into(),
            )),
            None => Err(AppError::Conflict(
                "this idempotencyKey is being used; retry".into(),
            )),
        }
    }
}

/// The columns every submission row has, drawn or carried over from what
/// was submitted.
struct Carried {
    id: Uuid,
    reference: String,
    received_at: DateTime<Utc>,
    screening: Screening,
    channel: Channel,
    locale: String,
    kiosk_id: Option<Uuid>,
    contact: [Option<String>; 3],
    captured_at: Option<DateTime<Utc>>,
}

/// A new submission row of `$model`: its own columns as given, then the
/// columns every submission row has, from a [`Carried`].
macro_rules! submission_row {
    ($model:path, $carried:expr, { $($field:ident: $value:expr),* $(,)? }) => {{
        let carried: Carried = $carried;
        let [contact_name, contact_email, contact_phone] = carried.contact;
        $model {
            $($field: $value,)*
            id: Set(carried.id),
            reference: Set(carried.reference),
            pii_flags: Set(carried.screening.pii_flags),
            personal_data: Set(!carried.screening.pii_flags.is_empty()),
            safeguarding: Set(carried.screening.safeguarding),
            channel: Set(carried.channel),
            locale: Set(carried.locale),
            kiosk_id: Set(carried.kiosk_id),
            assignee_id: Set(None),
            public_response: Set(None),
            contact_name: Set(contact_name),
            contact_email: Set(contact_email),
            contact_phone: Set(contact_phone),
            version: Set(1),
            captured_at: Set(carried.captured_at),
            received_at: Set(carried.received_at),
            updated_at: Set(carried.received_at),
            erased_at: Set(None),
        }
    }};
}

/// Feedback ready to store.
pub fn pending_feedback(
    new: &NewFeedback,
    service_id: Uuid,
    kiosk_id: Option<KioskId>,
    screening: &Screening,
) -> Pending {
    let row = |carried| {
        NewRow::Feedback(submission_row!(feedback::ActiveModel, carried, {
            service_id: Set(service_id),
            rating: Set(new.rating),
            comment: Set(new.comment.as_ref().map(|c| c.as_str().to_owned())),
            status: Set(FeedbackStatus::New),
        }))
    };
    pending(
        SubmissionKind::Feedback,
        new.fingerprint(),
        &new.envelope,
        kiosk_id,
        screening,
        row,
    )
}

/// An idea ready to store.
pub fn pending_idea(new: &NewIdea, kiosk_id: Option<KioskId>, screening: &Screening) -> Pending {
    let row = |carried| {
        NewRow::Idea(submission_row!(idea::ActiveModel, carried, {
            title: Set(new.title.as_str().to_owned()),
            description: Set(new.description.as_str().to_owned()),
            theme: Set(new.theme.as_ref().map(|t| t.as_str().to_owned())),
            status: Set(IdeaStatus::New),
            published: Set(false),
            support_count: Set(0),
            merged_into_id: Set(None),
        }))
    };
    pending(
        SubmissionKind::Idea,
        new.fingerprint(),
        &new.envelope,
        kiosk_id,
        screening,
        row,
    )
}

/// A submission of `kind` with its id, receipt reference and time drawn,
/// and its row made by `row` from those and what it carries.
fn pending(
    kind: SubmissionKind,
    fingerprint: String,
    envelope: &Envelope,
    kiosk_id: Option<KioskId>,
    screening: &Screening,
    row: impl FnOnce(Carried) -> NewRow,
) -> Pending {
    let id = Uuid::now_v7();
    let reference = Reference::generate(reference_kind(kind)).to_string();
    let received_at = crate::db::now();
    let carried = Carried {
        id,
        reference: reference.clone(),
        received_at,
        screening: screening.clone(),
        channel: envelope.channel,
        locale: envelope.locale.as_str().to_owned(),
        kiosk_id: kiosk_id.map(KioskId::uuid),
        contact: contact_columns(envelope.contact.as_ref()),
        captured_at: envelope.captured_at,
    };
    let concerns = concern_rows(kind, id, received_at, &screening.safeguarding_concerns);
    Pending {
        key: envelope.key.as_str().to_owned(),
        kind,
        fingerprint,
        id,
        reference,
        received_at,
        row: row(carried),
        concerns,
    }
}

/// The rows of the concerns the detector raised about submission `id`.
pub fn concern_rows(
    kind: SubmissionKind,
    id: Uuid,
    now: DateTime<Utc>,
    concerns: &[crate::privacy::Concern],
) -> Vec<safeguarding_concern::ActiveModel> {
    concerns
        .iter()
        .map(|concern| safeguarding_concern::ActiveModel {
            id: Set(Uuid::now_v7()),
            subject_id: Set(id),
            subject_kind: Set(kind),
            category: Set(concern.category.as_str().to_owned()),
            excerpt: Set(Some(concern.excerpt.clone())),
            strength: Set(concern.strength),
            origin: Set(ConcernOrigin::Detected),
            status: Set(ConcernStatus::Raised),
            reason: Set(None),
            escalated_to: Set(None),
            escalation_note: Set(None),
            escalated_at: Set(None),
            raised_by: Set(None),
            decided_by: Set(None),
            decided_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect()
}

/// A contact's name, email and phone columns.
fn contact_columns(contact: Option<&Contact>) -> [Option<String>; 3] {
    let Some(contact) = contact else {
        return [None, None, None];
    };
    [
        contact.name.as_ref().map(|name| name.as_str().to_owned()),
        contact
            .email
            .as_ref()
            .map(|email| email.as_str().to_owned()),
        contact
            .phone
            .as_ref()
            .map(|phone| phone.as_str().to_owned()),
    ]
}

/// How often to draw a fresh reference if one collides (35 random bits make a
/// collision rare; three in a row would mean something else is wrong).
const REFERENCE_ATTEMPTS: usize = 3;

fn collided(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The idempotent write of one submission: the key row and the submission
/// row commit together or not at all. The key is written first, so that
/// concurrent retries of one key queue on it: the first commits, the others
/// find its row and replay its receipt.
pub async fn store_one(db: &DatabaseConnection, mut pending: Pending) -> AppResult<Receipt> {
    for _ in 0..REFERENCE_ATTEMPTS {
        let txn = crate::db::write(db).await?;
        let claimed = idempotency_key::Entity::insert(pending.key_row())
            .on_conflict(
                OnConflict::column(idempotency_key::Column::Key)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await;
        let claimed = match claimed {
            Ok(rows) => rows > 0,
            Err(DbErr::RecordNotInserted) => false,
            Err(error) => return Err(error.into()),
        };
        if !claimed {
            let first = idempotency_key::Entity::find_by_id(pending.key.clone())
                .one(&txn)
                .await?;
            txn.rollback().await?;
            return pending.replay(first.as_ref());
        }
        let inserted = match pending.row.clone() {
            NewRow::Feedback(model) => {
                feedback::Entity::insert(model)
                    .exec_without_returning(&txn)
                    .await
            }
            NewRow::Idea(model) => {
                idea::Entity::insert(model)
                    .exec_without_returning(&txn)
                    .await
            }
        };
        match inserted {
            Ok(_) => {
                insert_concerns(&txn, pending.concerns.clone()).await?;
                txn.commit().await?;
                return Ok(pending.receipt());
            }
            Err(error) if collided(&error) => {
                txn.rollback().await?;
                tracing::warn!("a receipt reference collided; drawing another");
                pending.redraw();
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "{REFERENCE_ATTEMPTS} receipt references collided in a row"
    )))
}

/// Stores concern rows (from [`concern_rows`]) in the caller's transaction.
pub async fn insert_concerns(
    db: &impl ConnectionTrait,
    rows: Vec<safeguarding_concern::ActiveModel>,
) -> AppResult<()> {
    if !rows.is_empty() {
        safeguarding_concern::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Stores many submissions in one transaction with a handful of statements,
/// whatever their number: all key rows in one insert (keeping those that
/// were new), all new submission rows in one insert per kind, then one read
/// of the keys that were not new, to replay or refuse their retries. Answers
/// one outcome per submission, in order. An error means nothing was stored;
/// the caller may store them one by one instead.
pub async fn store_batch(
    db: &DatabaseConnection,
    batch: &[Pending],
) -> AppResult<Vec<AppResult<Receipt>>> {
    use std::collections::{HashMap, HashSet};

    let txn = crate::db::write(db).await?;
    // The first submission of each key claims it; later ones in the same
    // batch are retries of it (or conflicts with it).
    let mut seen = HashSet::new();
    let claimants: Vec<&Pending> = batch
        .iter()
        .filter(|p| seen.insert(p.key.as_str()))
        .collect();
    let claimed: HashSet<String> =
        match idempotency_key::Entity::insert_many(claimants.iter().map(|p| p.key_row()))
            .on_conflict_do_nothing_on([idempotency_key::Column::Key])
            .exec_with_returning_keys(&txn)
            .await?
        {
            sea_orm::TryInsertResult::Inserted(keys) => keys.into_iter().collect(),
            sea_orm::TryInsertResult::Conflicted | sea_orm::TryInsertResult::Empty => {
                HashSet::new()
            }
        };
    let new_rows: Vec<&Pending> = claimants
        .iter()
        .copied()
        .filter(|p| claimed.contains(&p.key))
        .collect();
    let feedback_rows: Vec<feedback::ActiveModel> = new_rows
        .iter()
        .filter_map(|p| match &p.row {
            NewRow::Feedback(model) => Some(model.clone()),
            NewRow::Idea(_) => None,
        })
        .collect();
    let idea_rows: Vec<idea::ActiveModel> = new_rows
        .iter()
        .filter_map(|p| match &p.row {
            NewRow::Idea(model) => Some(model.clone()),
            NewRow::Feedback(_) => None,
        })
        .collect();
    if !feedback_rows.is_empty() {
        feedback::Entity::insert_many(feedback_rows)
            .exec_without_returning(&txn)
            .await?;
    }
    if !idea_rows.is_empty() {
        idea::Entity::insert_many(idea_rows)
            .exec_without_returning(&txn)
            .await?;
    }
    insert_concerns(
        &txn,
        new_rows
            .iter()
            .flat_map(|p| p.concerns.iter().cloned())
            .collect(),
    )
    .await?;
    let stored: HashSet<Uuid> = new_rows.iter().map(|p| p.id).collect();
    let others: Vec<String> = batch
        .iter()
        .filter(|p| !stored.contains(&p.id))
        .map(|p| p.key.clone())
        .collect();
    let firsts: HashMap<String, idempotency_key::Model> = if others.is_empty() {
        HashMap::new()
    } else {
        idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Key.is_in(others))
            .all(&txn)
            .await?
            .into_iter()
            .map(|row| (row.key.clone(), row))
            .collect()
    };
    txn.commit().await?;
    Ok(batch
        .iter()
        .map(|p| {
            if stored.contains(&p.id) {
                Ok(p.receipt())
            } else {
                p.replay(firsts.get(&p.key))
            }
        })
        .collect())
}

/// What a resident may see of a submission through its receipt.
#[derive(Clone, Debug)]
pub struct ReceiptStatus {
    pub reference: String,
    pub kind: SubmissionKind,
    pub status: &'static str,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub public_response: Option<String>,
}

/// A submission's status by its (already checksum-verified) reference.
pub async fn receipt_status(
    db: &impl ConnectionTrait,
    reference: &Reference,
) -> AppResult<Option<ReceiptStatus>> {
    let key = reference.to_string();
    Ok(match reference.kind() {
        ReferenceKind::Feedback => feedback::Entity::find()
            .filter(feedback::Column::Reference.eq(key))
            .one(db)
            .await?
            .map(|row| ReceiptStatus {
                reference: row.reference,
                kind: SubmissionKind::Feedback,
                status: row.status.as_str(),
                received_at: row.received_at,
                updated_at: row.updated_at,
                public_response: row.public_response,
            }),
        ReferenceKind::Idea => idea::Entity::find()
            .filter(idea::Column::Reference.eq(key))
            .one(db)
            .await?
            .map(|row| ReceiptStatus {
                reference: row.reference,
                kind: SubmissionKind::Idea,
                status: row.status.as_str(),
                received_at: row.received_at,
                updated_at: row.updated_at,
                // A response is public only once the idea is published.
                public_response: if row.published {
                    row.public_response
                } else {
                    None
                },
            }),
    })
}

/// Ideas the public can see: published, not withheld for safeguarding, not
/// spam and not merged into another.
fn on_the_board() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(idea::Column::Published.eq(true))
        .add(idea::Column::Safeguarding.eq(false))
        .add(
            idea::Column::Status
                .is_not_in([IdeaStatus::Spam.as_str(), IdeaStatus::Duplicate.as_str()]),
        )
}

/// How the idea board is ordered.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdeaOrder {
    /// Most supported first.
    #[default]
    Support,
    /// Newest first.
    Recent,
}

/// Where a board page starts: after this idea, in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardCursor {
    Support { support_count: i32, id: Uuid },
    Recent { id: Uuid },
}

/// One page of the idea board, and whether more follow.
pub async fn idea_board(
    db: &impl ConnectionTrait,
    order: IdeaOrder,
    theme: Option<&str>,
    first: u64,
    after: Option<BoardCursor>,
) -> AppResult<Page<idea::Model>> {
    let mut query = idea::Entity::find().filter(on_the_board());
    if let Some(theme) = theme {
        query = query.filter(idea::Column::Theme.eq(theme));
    }
    // Ids are UUIDv7, so id order is arrival order and breaks ties stably.
    query = match (order, after) {
        (IdeaOrder::Support, Some(BoardCursor::Support { support_count, id })) => query.filter(
            sea_orm::Condition::any()
                .add(idea::Column::SupportCount.lt(support_count))
                .add(
                    sea_orm::Condition::all()
                        .add(idea::Column::SupportCount.eq(support_count))
                        .add(idea::Column::Id.lt(id)),
                ),
        ),
        (IdeaOrder::Recent, Some(BoardCursor::Recent { id })) => {
            query.filter(idea::Column::Id.lt(id))
        }
        (_, Some(_)) => {
            return Err(AppError::bad_input(
                "after",
                "is a cursor for another order",
            ));
        }
        (_, None) => query,
    };
    if order == IdeaOrder::Support {
        query = query.order_by_desc(idea::Column::SupportCount);
    }
    let ideas = query
        .order_by_desc(idea::Column::Id)
        .limit(Page::<()>::limit(first))
        .all(db)
        .await?;
    Ok(Page::of(ideas, first))
}

pub async fn count_idea_board(db: &impl ConnectionTrait, theme: Option<&str>) -> AppResult<u64> {
    let mut query = idea::Entity::find().filter(on_the_board());
    if let Some(theme) = theme {
        query = query.filter(idea::Column::Theme.eq(theme));
    }
    Ok(query.count(db).await?)
}

/// Records a supporter of a public idea, once per supporter. Answers the idea
/// as it now stands, or `None` when no such idea is on the board.
pub async fn support_idea(
    db: &impl ConnectionTrait,
    idea_id: IdeaId,
    supporter: &SupporterKey,
) -> AppResult<Option<idea::Model>> {
    let Some(found) = idea::Entity::find_by_id(idea_id.uuid())
        .filter(on_the_board())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let added = idea_support::Entity::insert(idea_support::ActiveModel {
        idea_id: Set(idea_id.uuid()),
        supporter_hash: Set(supporter.digest()),
        created_at: Set(crate::db::now()),
    })
    .on_conflict(
        OnConflict::columns([
            idea_support::Column::IdeaId,
            idea_support::Column::SupporterHash,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match added {
        Ok(rows) if rows > 0 => {}
        Ok(_) | Err(DbErr::RecordNotInserted) => return Ok(Some(found)),
        Err(error) => return Err(error.into()),
    }
    idea::Entity::update_many()
        .col_expr(
            idea::Column::SupportCount,
            Expr::col(idea::Column::SupportCount).add(1),
        )
        .filter(idea::Column::Id.eq(idea_id.uuid()))
        .exec(db)
        .await?;
    Ok(idea::Entity::find_by_id(idea_id.uuid()).one(db).await?)
}

/// A kiosk as staff and the edge see it.
#[derive(Clone, Debug)]
pub struct KioskView {
    pub id: KioskId,
    pub name: String,
    pub site: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<kiosk::Model> for KioskView {
    fn from(model: kiosk::Model) -> Self {
        Self {
            id: KioskId::from_uuid(model.id),
            name: model.name,
            site: model.site,
            active: model.active,
            created_at: model.created_at,
        }
    }
}

/// Registers a kiosk under the hash of its token.
pub async fn create_kiosk(
    db: &impl ConnectionTrait,
    name: &str,
    site: Option<&str>,
    token_hash: String,
) -> AppResult<KioskView> {
    let model = kiosk::Model {
        id: KioskId::new().uuid(),
        name: name.to_owned(),
        site: site.map(str::to_owned),
        token_hash,
        active: true,
        created_at: crate::db::now(),
        revoked_at: None,
    };
    kiosk::Entity::insert(kiosk::ActiveModel {
        id: Set(model.id),
        name: Set(model.name.clone()),
        site: Set(model.site.clone()),
        token_hash: Set(model.token_hash.clone()),
        active: Set(true),
        created_at: Set(model.created_at),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(model.into())
}

/// The active kiosk holding a token with this hash.
pub async fn active_kiosk_by_token_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> AppResult<Option<KioskView>> {
    Ok(kiosk::Entity::find()
        .filter(kiosk::Column::TokenHash.eq(token_hash))
        .filter(kiosk::Column::Active.eq(true))
        .one(db)
        .await?
        .map(Into::into))
}

/// Revokes a kiosk: its token stops working at once.
pub async fn revoke_kiosk(db: &impl ConnectionTrait, id: KioskId) -> AppResult<Option<KioskView>> {
    kiosk::Entity::update_many()
        .col_expr(kiosk::Column::Active, Expr::value(false))
        .col_expr(kiosk::Column::RevokedAt, Expr::value(crate::db::now()))
        .filter(kiosk::Column::Id.eq(id.uuid()))
        .exec(db)
        .await?;
    Ok(kiosk::Entity::find_by_id(id.uuid())
        .one(db)
        .await?
        .map(Into::into))
}

pub async fn kiosks_by_ids(
    db: &impl ConnectionTrait,
    ids: &[KioskId],
) -> AppResult<Vec<KioskView>> {
    Ok(kiosk::Entity::find()
        .filter(kiosk::Column::Id.is_in(ids.iter().map(|id| id.uuid())))
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn kiosks(db: &impl ConnectionTrait) -> AppResult<Vec<KioskView>> {
    Ok(kiosk::Entity::find()
        .order_by_asc(kiosk::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The channel a submission came through when the client did not say.
pub fn default_channel(kiosk: Option<&KioskView>) -> Channel {
    if kiosk.is_some() {
        Channel::Kiosk
    } else {
        Channel::Web
    }
}
