//! Submissions' database operations.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    SqlErr,
};
use uuid::Uuid;

use super::entity::{feedback, idea, idea_support, idempotency_key, kiosk};
use super::model::{
    Channel, FeedbackStatus, IdeaStatus, NewFeedback, NewIdea, SubmissionKind, SupporterKey,
};
use super::reference::{Reference, ReferenceKind};
use crate::content::entity::service;
use crate::content::model::Slug;
use crate::error::{AppError, AppResult};

/// What a resident gets back for a submission.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub id: Option<Uuid>,
    pub reference: String,
    pub kind: SubmissionKind,
    pub received_at: DateTime<Utc>,
    pub replayed: bool,
}

/// What screening the free text found.
#[derive(Clone, Debug, Default)]
pub struct Screening {
    /// Comma-separated personal-data kinds.
    pub pii_flags: String,
    pub safeguarding: bool,
}

/// The id of an active service by slug.
pub async fn active_service_id(db: &impl ConnectionTrait, slug: &Slug) -> AppResult<Option<Uuid>> {
    Ok(service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .filter(service::Column::Slug.eq(slug.as_str()))
        .filter(service::Column::Active.eq(true))
        .into_tuple()
        .one(db)
        .await?)
}

/// A row to insert once its reference is known.
enum NewRow {
    Feedback(feedback::ActiveModel),
    Idea(idea::ActiveModel),
}

/// Stores feedback unless its idempotency key was used before.
pub async fn store_feedback(
    db: &DatabaseConnection,
    new: &NewFeedback,
    service_id: Uuid,
    kiosk_id: Option<Uuid>,
    screening: &Screening,
) -> AppResult<Receipt> {
    let contact = new.contact.as_ref();
    store_once(
        db,
        new.key.as_str(),
        SubmissionKind::Feedback,
        new.fingerprint(),
        |id, reference, now| {
            NewRow::Feedback(feedback::ActiveModel {
                id: Set(id),
                reference: Set(reference.to_owned()),
                service_id: Set(service_id),
                rating: Set(new.rating.as_str().to_owned()),
                comment: Set(new.comment.as_ref().map(|c| c.as_str().to_owned())),
                pii_flags: Set(screening.pii_flags.clone()),
                channel: Set(new.channel.as_str().to_owned()),
                locale: Set(new.locale.as_str().to_owned()),
                kiosk_id: Set(kiosk_id),
                status: Set(FeedbackStatus::New.as_str().to_owned()),
                assignee_id: Set(None),
                public_response: Set(None),
                safeguarding: Set(screening.safeguarding),
                contact_name: Set(contact
                    .and_then(|c| c.name.as_ref())
                    .map(|n| n.as_str().to_owned())),
                contact_email: Set(contact
                    .and_then(|c| c.email.as_ref())
                    .map(|e| e.as_str().to_owned())),
                contact_phone: Set(contact
                    .and_then(|c| c.phone.as_ref())
                    .map(|p| p.as_str().to_owned())),
                version: Set(1),
                captured_at: Set(new.captured_at),
                received_at: Set(now),
                updated_at: Set(now),
                erased_at: Set(None),
            })
        },
    )
    .await
}

/// Stores an idea unless its idempotency key was used before.
pub async fn store_idea(
    db: &DatabaseConnection,
    new: &NewIdea,
    kiosk_id: Option<Uuid>,
    screening: &Screening,
) -> AppResult<Receipt> {
    let contact = new.contact.as_ref();
    store_once(
        db,
        new.key.as_str(),
        SubmissionKind::Idea,
        new.fingerprint(),
        |id, reference, now| {
            NewRow::Idea(idea::ActiveModel {
                id: Set(id),
                reference: Set(reference.to_owned()),
                title: Set(new.title.as_str().to_owned()),
                description: Set(new.description.as_str().to_owned()),
                theme: Set(new.theme.as_ref().map(|t| t.as_str().to_owned())),
                pii_flags: Set(screening.pii_flags.clone()),
                channel: Set(new.channel.as_str().to_owned()),
                locale: Set(new.locale.as_str().to_owned()),
                kiosk_id: Set(kiosk_id),
                status: Set(IdeaStatus::New.as_str().to_owned()),
                assignee_id: Set(None),
                published: Set(false),
                public_response: Set(None),
                safeguarding: Set(screening.safeguarding),
                support_count: Set(0),
                merged_into_id: Set(None),
                contact_name: Set(contact
                    .and_then(|c| c.name.as_ref())
                    .map(|n| n.as_str().to_owned())),
                contact_email: Set(contact
                    .and_then(|c| c.email.as_ref())
                    .map(|e| e.as_str().to_owned())),
                contact_phone: Set(contact
                    .and_then(|c| c.phone.as_ref())
                    .map(|p| p.as_str().to_owned())),
                version: Set(1),
                captured_at: Set(new.captured_at),
                received_at: Set(now),
                updated_at: Set(now),
                erased_at: Set(None),
            })
        },
    )
    .await
}

/// How often to draw a fresh reference if one collides (35 random bits make a
/// collision rare; three in a row would mean something else is wrong).
const REFERENCE_ATTEMPTS: usize = 3;

/// The idempotent write: the key row and the submission row commit together
/// or not at all. The key is written first, so that on SQLite the transaction
/// takes the write lock at once instead of upgrading from a read (which can
/// fail with SQLITE_BUSY), and concurrent retries of one key queue on it: the
/// first commits, the others find its row and replay its receipt.
async fn store_once(
    db: &DatabaseConnection,
    key: &str,
    kind: SubmissionKind,
    fingerprint: String,
    row: impl Fn(Uuid, &str, DateTime<Utc>) -> NewRow,
) -> AppResult<Receipt> {
    let reference_kind = match kind {
        SubmissionKind::Feedback => ReferenceKind::Feedback,
        SubmissionKind::Idea => ReferenceKind::Idea,
    };
    for _ in 0..REFERENCE_ATTEMPTS {
        let reference = Reference::generate(reference_kind).to_string();
        let now = crate::db::now();
        let id = Uuid::now_v7();
        let txn = crate::db::write(db).await?;
        let claimed = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            key: Set(key.to_owned()),
            kind: Set(kind.as_str().to_owned()),
            payload_hash: Set(fingerprint.clone()),
            reference: Set(reference.clone()),
            received_at: Set(now),
        })
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
            let first = idempotency_key::Entity::find_by_id(key.to_owned())
                .one(&txn)
                .await?;
            txn.rollback().await?;
            return match first {
                Some(first) if first.payload_hash == fingerprint && first.kind == kind.as_str() => {
                    Ok(Receipt {
                        id: None,
                        reference: first.reference,
                        kind,
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
            };
        }
        let inserted = match row(id, &reference, now) {
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
                txn.commit().await?;
                return Ok(Receipt {
                    id: Some(id),
                    reference,
                    kind,
                    received_at: now,
                    replayed: false,
                });
            }
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                txn.rollback().await?;
                tracing::warn!("a receipt reference collided; drawing another");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "{REFERENCE_ATTEMPTS} receipt references collided in a row"
    )))
}

/// What a resident may see of a submission through its receipt.
#[derive(Clone, Debug)]
pub struct ReceiptStatus {
    pub reference: String,
    pub kind: SubmissionKind,
    pub status: String,
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
                status: row.status,
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
                status: row.status,
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
) -> AppResult<(Vec<idea::Model>, bool)> {
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
    let mut ideas = query
        .order_by_desc(idea::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = ideas.len() as u64 > first;
    ideas.truncate(first as usize);
    Ok((ideas, has_next))
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
    db: &DatabaseConnection,
    idea_id: Uuid,
    supporter: &SupporterKey,
) -> AppResult<Option<idea::Model>> {
    let txn = crate::db::write(db).await?;
    // Write first (see `store_once`): the support row, then the count.
    let added = idea_support::Entity::insert(idea_support::ActiveModel {
        idea_id: Set(idea_id),
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
    .exec_without_returning(&txn)
    .await;
    let added = match added {
        Ok(rows) => rows > 0,
        Err(DbErr::RecordNotInserted) => false,
        // The idea does not exist at all.
        Err(error)
            if matches!(
                error.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ) =>
        {
            txn.rollback().await?;
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    let Some(found) = idea::Entity::find_by_id(idea_id)
        .filter(on_the_board())
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return Ok(None);
    };
    if !added {
        txn.rollback().await?;
        return Ok(Some(found));
    }
    idea::Entity::update_many()
        .col_expr(
            idea::Column::SupportCount,
            Expr::col(idea::Column::SupportCount).add(1),
        )
        .filter(idea::Column::Id.eq(idea_id))
        .exec(&txn)
        .await?;
    let updated = idea::Entity::find_by_id(idea_id).one(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// A kiosk as staff and the edge see it.
#[derive(Clone, Debug)]
pub struct KioskView {
    pub id: Uuid,
    pub name: String,
    pub site: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<kiosk::Model> for KioskView {
    fn from(model: kiosk::Model) -> Self {
        Self {
            id: model.id,
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
        id: Uuid::now_v7(),
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
pub async fn revoke_kiosk(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<KioskView>> {
    kiosk::Entity::update_many()
        .col_expr(kiosk::Column::Active, Expr::value(false))
        .col_expr(kiosk::Column::RevokedAt, Expr::value(crate::db::now()))
        .filter(kiosk::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(kiosk::Entity::find_by_id(id).one(db).await?.map(Into::into))
}

pub async fn kiosks_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<KioskView>> {
    Ok(kiosk::Entity::find()
        .filter(kiosk::Column::Id.is_in(ids.iter().copied()))
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
