//! Reports' database operations: the one grouped query statistics are added
//! up from, tag counts, the pages the export streams, and the rows an import
//! writes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait, DbBackend, EntityTrait as _,
    FromQueryResult, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::model::{Cell, Cube, Month};
use crate::content::entity::service;
use crate::error::AppResult;
use crate::moderation::entity::submission_tag;
use crate::privacy::PiiKinds;
use crate::submissions::entity::{feedback, idempotency_key};
use crate::submissions::model::{Channel, FeedbackStatus, FftRating, SubmissionKind};
use crate::submissions::store as submissions_store;

/// Which feedback statistics count. SPAM never counts.
#[derive(Clone, Debug, Default)]
pub struct StatsQuery {
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_to: Option<DateTime<Utc>>,
    pub service_id: Option<Uuid>,
    /// Any of these; all when empty.
    pub channels: Vec<Channel>,
}

impl StatsQuery {
    fn condition(&self) -> Condition {
        use feedback::Column as C;
        let mut condition = Condition::all().add(C::Status.ne(FeedbackStatus::Spam.as_str()));
        if let Some(from) = self.received_from {
            condition = condition.add(C::ReceivedAt.gte(from));
        }
        if let Some(to) = self.received_to {
            condition = condition.add(C::ReceivedAt.lt(to));
        }
        if let Some(service) = self.service_id {
            condition = condition.add(C::ServiceId.eq(service));
        }
        if !self.channels.is_empty() {
            condition = condition.add(C::Channel.is_in(self.channels.iter().map(|c| c.as_str())));
        }
        condition
    }
}

/// `received_at`'s calendar month in UTC, as `YYYY-MM`. SQLite keeps
/// timestamps as RFC 3339 text in UTC (`2026-05-04T09:15:00.123456+00:00`, as
/// sqlx writes a `DateTime<Utc>`), so the month is its first seven characters.
fn month_of_received_at(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM')",
        _ => "substr(received_at, 1, 7)",
    }
}

/// Responses counted by service, channel, month and rating, in one grouped
/// query: at most (months × services × 5 channels × 6 ratings) rows however
/// many responses there are. Every breakdown is added up from these.
///
/// The month leads the grouping, so that SQLite, which sorts to group,
/// never walks a service index row by row to save a sort (it would, and a
/// million random row reads cost more than the sort). On SQLite a date range
/// is also given as a range of months, which an index on the month
/// expression (if one exists) serves without any sort at all.
pub async fn cube(db: &impl ConnectionTrait, query: &StatsQuery) -> AppResult<Cube> {
    use feedback::Column as C;
    let backend = db.get_database_backend();
    let month = month_of_received_at(backend);
    let mut condition = query.condition();
    if backend == DbBackend::Sqlite {
        if let Some(from) = query.received_from {
            condition = condition.add(Expr::cust(month).gte(Month::of(from).to_string()));
        }
        if let Some(to) = query.received_to {
            condition = condition.add(Expr::cust(month).lte(Month::before(to).to_string()));
        }
    }
    let rows: Vec<(String, Uuid, String, String, i64)> = feedback::Entity::find()
        .select_only()
        .column_as(Expr::cust(month), "month")
        .column(C::ServiceId)
        .column(C::Channel)
        .column(C::Rating)
        // COUNT(*), not of a column, so a covering index needs no row reads.
        .column_as(Expr::cust("COUNT(*)"), "responses")
        .filter(condition)
        .group_by(Expr::cust(month))
        .group_by(C::ServiceId)
        .group_by(C::Channel)
        .group_by(C::Rating)
        .into_tuple()
        .all(db)
        .await?;
    let mut cells = Vec::with_capacity(rows.len());
    for (month, service, channel, rating, count) in rows {
        let parsed = (
            Channel::parse(&channel),
            FftRating::parse(&rating),
            Month::parse(&month, "received_at"),
            u64::try_from(count),
        );
        match parsed {
            (Some(channel), Some(rating), Ok(month), Ok(count)) => cells.push(Cell {
                service,
                channel,
                month,
                rating,
                count,
            }),
            _ => tracing::warn!(
                channel,
                rating,
                month,
                count,
                "feedback statistics: skipped a group with an unknown value"
            ),
        }
    }
    Ok(Cube::new(cells))
}

/// How often each staff tag was put on feedback received in
/// `[from, to)` (SPAM left out), most used first.
pub async fn tag_counts(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(String, u64)>> {
    let tag = (submission_tag::Entity, submission_tag::Column::Tag);
    let uses = Expr::col((submission_tag::Entity, submission_tag::Column::SubjectId)).count();
    let statement = Query::select()
        .expr_as(Expr::col(tag), "tag")
        .expr_as(uses.clone(), "uses")
        .from(submission_tag::Entity)
        .inner_join(
            feedback::Entity,
            Expr::col((feedback::Entity, feedback::Column::Id))
                .equals((submission_tag::Entity, submission_tag::Column::SubjectId)),
        )
        .and_where(
            Expr::col((feedback::Entity, feedback::Column::Status))
                .ne(FeedbackStatus::Spam.as_str()),
        )
        .and_where(Expr::col((feedback::Entity, feedback::Column::ReceivedAt)).gte(from))
        .and_where(Expr::col((feedback::Entity, feedback::Column::ReceivedAt)).lt(to))
        .group_by_col(tag)
        .order_by_expr(uses, Order::Desc)
        .order_by(tag, Order::Asc)
        .to_owned();
    let mut counts = Vec::new();
    for row in db.query_all(&statement).await? {
        let tag: String = row.try_get("", "tag")?;
        let uses: i64 = row.try_get("", "uses")?;
        counts.push((tag, u64::try_from(uses).unwrap_or(0)));
    }
    Ok(counts)
}

/// Every service's slug by id, active or not (feedback outlives a service).
pub async fn service_slugs(db: &impl ConnectionTrait) -> AppResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .column(service::Column::Slug)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// What the export reads of a feedback row: never contact details.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ExportRow {
    pub id: Uuid,
    pub reference: String,
    pub service_id: Uuid,
    pub rating: FftRating,
    pub comment: Option<String>,
    pub pii_flags: PiiKinds,
    pub channel: Channel,
    pub locale: String,
    pub status: FeedbackStatus,
    pub safeguarding: bool,
    pub captured_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// Feedback received in `[from, to)`, in id (arrival) order, after `after`:
/// one page of the export, read by key so a page costs the same at the end
/// of a million rows as at the start.
pub async fn export_page(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<ExportRow>> {
    use feedback::Column as C;
    let mut condition = Condition::all();
    if let Some(from) = from {
        condition = condition.add(C::ReceivedAt.gte(from));
    }
    if let Some(to) = to {
        condition = condition.add(C::ReceivedAt.lt(to));
    }
    export_rows(db, condition, after, limit, true).await
}

/// The feedback `query` counts (never SPAM), in id (arrival) order, after
/// `after`: one page of the export analysts download, holding exactly the
/// rows the statistics for the same filter add up. The comment is not even
/// read: every row's `comment` is `None`.
pub async fn counted_export_page(
    db: &impl ConnectionTrait,
    query: &StatsQuery,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<ExportRow>> {
    export_rows(db, query.condition(), after, limit, false).await
}

async fn export_rows(
    db: &impl ConnectionTrait,
    condition: Condition,
    after: Option<Uuid>,
    limit: u64,
    with_comment: bool,
) -> AppResult<Vec<ExportRow>> {
    use feedback::Column as C;
    let mut query = feedback::Entity::find().select_only().columns([
        C::Id,
        C::Reference,
        C::ServiceId,
        C::Rating,
        C::PiiFlags,
        C::Channel,
        C::Locale,
        C::Status,
        C::Safeguarding,
        C::CapturedAt,
        C::ReceivedAt,
    ]);
    query = if with_comment {
        query.column(C::Comment)
    } else {
        query.column_as(Expr::cust("CAST(NULL AS TEXT)"), "comment")
    };
    query = query.filter(condition);
    if let Some(after) = after {
        query = query.filter(C::Id.gt(after));
    }
    Ok(query
        .order_by_asc(C::Id)
        .limit(limit)
        .into_model::<ExportRow>()
        .all(db)
        .await?)
}

/// Which of these references are already stored.
pub async fn stored_references(
    db: &impl ConnectionTrait,
    references: &[String],
) -> AppResult<HashSet<String>> {
    if references.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<String> = feedback::Entity::find()
        .select_only()
        .column(feedback::Column::Reference)
        .filter(feedback::Column::Reference.is_in(references.iter().map(String::as_str)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Which of these idempotency keys are already used.
pub async fn used_keys(db: &impl ConnectionTrait, keys: &[String]) -> AppResult<HashSet<String>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<String> = idempotency_key::Entity::find()
        .select_only()
        .column(idempotency_key::Column::Key)
        .filter(idempotency_key::Column::Key.is_in(keys.iter().map(String::as_str)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// One imported response, ready to store.
#[derive(Clone, Debug)]
pub struct ImportedFeedback {
    pub id: Uuid,
    pub reference: String,
    /// The idempotency key derived from the row, for rows without a reference.
    pub key: Option<String>,
    /// The row's fingerprint, stored with its key.
    pub fingerprint: String,
    pub service_id: Uuid,
    pub rating: FftRating,
    pub comment: Option<String>,
    pub pii_flags: PiiKinds,
    pub channel: Channel,
    pub locale: String,
    pub status: FeedbackStatus,
    pub safeguarding: bool,
    /// What the detector found in the comment.
    pub concerns: Vec<crate::privacy::Concern>,
    pub captured_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub tags: Vec<String>,
}

/// Rows per multi-row `INSERT`: 23 columns each stays far below SQLite's
/// 32,766 parameters.
const ROWS_PER_INSERT: usize = 500;

/// Stores imported feedback with its keys and tags. Call it inside the
/// import's transaction.
pub async fn insert_imported(
    db: &impl ConnectionTrait,
    rows: &[ImportedFeedback],
    now: DateTime<Utc>,
) -> AppResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let keys: Vec<idempotency_key::ActiveModel> = chunk
            .iter()
            .filter_map(|row| {
                row.key.as_ref().map(|key| idempotency_key::ActiveModel {
                    key: Set(key.clone()),
                    kind: Set(SubmissionKind::Feedback),
                    payload_hash: Set(row.fingerprint.clone()),
                    reference: Set(row.reference.clone()),
                    received_at: Set(now),
                })
            })
            .collect();
        if !keys.is_empty() {
            idempotency_key::Entity::insert_many(keys)
                .exec_without_returning(db)
                .await?;
        }
        feedback::Entity::insert_many(chunk.iter().map(|row| feedback::ActiveModel {
            id: Set(row.id),
            reference: Set(row.reference.clone()),
            service_id: Set(row.service_id),
            rating: Set(row.rating),
            comment: Set(row.comment.clone()),
            pii_flags: Set(row.pii_flags),
            personal_data: Set(!row.pii_flags.is_empty()),
            channel: Set(row.channel),
            locale: Set(row.locale.clone()),
            kiosk_id: Set(None),
            status: Set(row.status),
            assignee_id: Set(None),
            public_response: Set(None),
            safeguarding: Set(row.safeguarding),
            contact_name: Set(None),
            contact_email: Set(None),
            contact_phone: Set(None),
            version: Set(1),
            captured_at: Set(row.captured_at),
            received_at: Set(row.received_at),
            updated_at: Set(now),
            erased_at: Set(None),
        }))
        .exec_without_returning(db)
        .await?;
        let concerns = chunk
            .iter()
            .flat_map(|row| {
                submissions_store::concern_rows(
                    SubmissionKind::Feedback,
                    row.id,
                    now,
                    &row.concerns,
                )
            })
            .collect();
        submissions_store::insert_concerns(db, concerns).await?;
        let tags: Vec<submission_tag::ActiveModel> = chunk
            .iter()
            .flat_map(|row| {
                row.tags.iter().map(|tag| submission_tag::ActiveModel {
                    subject_id: Set(row.id),
                    tag: Set(tag.clone()),
                })
            })
            .collect();
        // A tag row has two columns, so a chunk's tags (at most 20 each) fit
        // one statement too.
        if !tags.is_empty() {
            submission_tag::Entity::insert_many(tags)
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}
