//! Moderation's database operations: the staff queues, the workflow changes
//! with their audit events, bulk changes, notes and merging ideas. Changes
//! take the caller's transaction, so the change and its audit event commit
//! together; [`super::actions`] runs each in a transaction of its own.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::json;
use uuid::Uuid;

use super::entity::{feedback_tally, moderation_note, submission_tag};
use super::model::{Tag, Workflow as _, publishable};
use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::{FeedbackId, IdeaId, KioskId, StaffId, SubmissionId};
use crate::pagination::Page;
use crate::staff::model::Role;
use crate::staff::store as staff_store;
use crate::submissions::entity::{feedback, idea, idea_support};
use crate::submissions::model::{Channel, FeedbackStatus, FftRating, IdeaStatus, SubmissionKind};

/// Where a queue page starts: after this item. Queues run in three bands,
/// safeguarding concerns first, then items with personal data, then the
/// rest, each newest first (or oldest first); ids are UUIDv7, so id order
/// is arrival order and a page never shifts when new items arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCursor {
    pub safeguarding: bool,
    pub personal_data: bool,
    pub id: Uuid,
}

impl QueueCursor {
    /// The cursor of an item with these flags and id.
    pub fn of(safeguarding: bool, personal_data: bool, id: Uuid) -> Self {
        Self {
            safeguarding,
            personal_data,
            id,
        }
    }

    pub fn encode(&self) -> String {
        crate::pagination::encode_cursor(
            "queue",
            &format!(
                "{}:{}:{}",
                u8::from(self.safeguarding),
                u8::from(self.personal_data),
                self.id
            ),
        )
    }

    pub fn decode(cursor: &str) -> AppResult<Self> {
        let invalid = || AppError::bad_input("after", "is not a cursor from this list");
        let flag = |text: &str| match text {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(invalid()),
        };
        let key = crate::pagination::decode_cursor("queue", cursor)?;
        let mut parts = key.splitn(3, ':');
        let (Some(safeguarding), Some(personal_data), Some(id)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Self {
            safeguarding: flag(safeguarding)?,
            personal_data: flag(personal_data)?,
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        })
    }
}

/// Filters the feedback and idea queues share.
#[derive(Clone, Debug, Default)]
pub struct CommonFilter {
    pub channels: Vec<Channel>,
    pub kiosk_id: Option<KioskId>,
    pub safeguarding: Option<bool>,
    pub pii_flagged: Option<bool>,
    /// `Some(None)`: unassigned only.
    pub assignee: Option<Option<StaffId>>,
    pub tag: Option<Tag>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// Items with a standing concern in any of these categories.
    pub safeguarding_categories: Vec<crate::privacy::SafeguardingCategory>,
    pub text: Option<String>,
}

/// What the feedback queue shows.
#[derive(Clone, Debug, Default)]
pub struct FeedbackFilter {
    pub statuses: Vec<FeedbackStatus>,
    pub service_id: Option<Uuid>,
    pub ratings: Vec<FftRating>,
    pub common: CommonFilter,
}

/// What the idea queue shows.
#[derive(Clone, Debug, Default)]
pub struct IdeaFilter {
    pub statuses: Vec<IdeaStatus>,
    pub published: Option<bool>,
    pub theme: Option<String>,
    pub common: CommonFilter,
}

/// `lower(column) LIKE '%text%'`, with the text's own `%`, `_` and `\`
/// taken literally, the same on SQLite and PostgreSQL.
fn contains_text(column: impl sea_orm::sea_query::IntoColumnRef, text: &str) -> Expr {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// The subjects carrying a tag.
fn tagged(tag: &Tag) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(submission_tag::Column::SubjectId)
        .from(submission_tag::Entity)
        .and_where(submission_tag::Column::Tag.eq(tag.as_str()))
        .to_owned()
}

/// The columns the shared filters read, in feedback or ideas.
struct CommonColumns<C> {
    channel: C,
    kiosk: C,
    safeguarding: C,
    pii_flags: C,
    assignee: C,
    id: C,
    received_at: C,
}

impl CommonFilter {
    /// The filters both queues share, over `columns` of one of them. Free
    /// text is left to each queue, which searches its own text columns.
    fn condition<C: sea_orm::ColumnTrait>(&self, columns: CommonColumns<C>) -> Condition {
        let mut condition = Condition::all();
        if !self.channels.is_empty() {
            condition = condition.add(
                columns
                    .channel
                    .is_in(self.channels.iter().map(|c| c.as_str())),
            );
        }
        if let Some(kiosk) = self.kiosk_id {
            condition = condition.add(columns.kiosk.eq(kiosk.uuid()));
        }
        if let Some(flag) = self.safeguarding {
            condition = condition.add(columns.safeguarding.eq(flag));
        }
        match self.pii_flagged {
            Some(true) => condition = condition.add(columns.pii_flags.ne("")),
            Some(false) => condition = condition.add(columns.pii_flags.eq("")),
            None => {}
        }
        match self.assignee {
            Some(Some(staff)) => condition = condition.add(columns.assignee.eq(staff.uuid())),
            Some(None) => condition = condition.add(columns.assignee.is_null()),
            None => {}
        }
        if let Some(tag) = &self.tag {
            condition = condition.add(columns.id.in_subquery(tagged(tag)));
        }
        if !self.safeguarding_categories.is_empty() {
            condition = condition.add(columns.id.in_subquery(super::concerns::with_category(
                &self.safeguarding_categories,
            )));
        }
        if let Some(from) = self.received_from {
            condition = condition.add(columns.received_at.gte(from));
        }
        if let Some(to) = self.received_to {
            condition = condition.add(columns.received_at.lt(to));
        }
        condition
    }
}

impl FeedbackFilter {
    fn condition(&self) -> Condition {
        use feedback::Column as C;
        let common = &self.common;
        let mut condition = Condition::all();
        if !self.statuses.is_empty() {
            condition = condition.add(C::Status.is_in(self.statuses.iter().map(|s| s.as_str())));
        }
        if let Some(service) = self.service_id {
            condition = condition.add(C::ServiceId.eq(service));
        }
        if !self.ratings.is_empty() {
            condition = condition.add(C::Rating.is_in(self.ratings.iter().map(|r| r.as_str())));
        }
        condition = condition.add(common.condition(CommonColumns {
            channel: C::Channel,
            kiosk: C::KioskId,
            safeguarding: C::Safeguarding,
            pii_flags: C::PiiFlags,
            assignee: C::AssigneeId,
            id: C::Id,
            received_at: C::ReceivedAt,
        }));
        if let Some(text) = &common.text {
            condition = condition.add(contains_text(C::Comment, text));
        }
        condition
    }
}

impl IdeaFilter {
    fn condition(&self) -> Condition {
        use idea::Column as C;
        let common = &self.common;
        let mut condition = Condition::all();
        if !self.statuses.is_empty() {
            condition = condition.add(C::Status.is_in(self.statuses.iter().map(|s| s.as_str())));
        }
        if let Some(published) = self.published {
            condition = condition.add(C::Published.eq(published));
        }
        if let Some(theme) = &self.theme {
            condition = condition.add(C::Theme.eq(theme.as_str()));
        }
        condition = condition.add(common.condition(CommonColumns {
            channel: C::Channel,
            kiosk: C::KioskId,
            safeguarding: C::Safeguarding,
            pii_flags: C::PiiFlags,
            assignee: C::AssigneeId,
            id: C::Id,
            received_at: C::ReceivedAt,
        }));
        if let Some(text) = &common.text {
            condition = condition.add(
                Condition::any()
                    .add(contains_text(C::Title, text))
                    .add(contains_text(C::Description, text)),
            );
        }
        condition
    }
}

/// Within each band of the queue, which end comes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arrival {
    #[default]
    NewestFirst,
    /// First come, first seen: how a moderator works through a morning.
    OldestFirst,
}

/// The columns a queue is ordered by: safeguarding, personal data, id.
type QueueOrder<C> = (C, C, C);

/// Rows strictly after `after` in queue order (safeguarding first, then
/// personal data, then by arrival in the order asked for).
fn after_cursor<C: sea_orm::ColumnTrait>(
    (safeguarding, personal_data, id): QueueOrder<C>,
    after: Option<QueueCursor>,
    arrival: Arrival,
) -> Condition {
    let Some(cursor) = after else {
        return Condition::all();
    };
    let later = match arrival {
        Arrival::NewestFirst => id.lt(cursor.id),
        Arrival::OldestFirst => id.gt(cursor.id),
    };
    Condition::any()
        .add(safeguarding.lt(cursor.safeguarding))
        .add(
            Condition::all()
                .add(safeguarding.eq(cursor.safeguarding))
                .add(
                    Condition::any()
                        .add(personal_data.lt(cursor.personal_data))
                        .add(
                            Condition::all()
                                .add(personal_data.eq(cursor.personal_data))
                                .add(later),
                        ),
                ),
        )
}

/// One page of the feedback queue, and whether more follow.
pub async fn feedback_page(
    db: &impl ConnectionTrait,
    filter: &FeedbackFilter,
    first: u64,
    after: Option<QueueCursor>,
    arrival: Arrival,
) -> AppResult<Page<feedback::Model>> {
    use feedback::Column as C;
    queue_page::<feedback::Entity>(
        db,
        filter.condition(),
        (C::Safeguarding, C::PersonalData, C::Id),
        first,
        (after, arrival),
    )
    .await
}

/// One page of a queue of `E` matching `condition`, in queue order
/// (safeguarding, then personal data, then by arrival) after `after`, and
/// whether more follow.
async fn queue_page<E: sea_orm::EntityTrait>(
    db: &impl ConnectionTrait,
    condition: Condition,
    order: QueueOrder<E::Column>,
    first: u64,
    (after, arrival): (Option<QueueCursor>, Arrival),
) -> AppResult<Page<E::Model>> {
    let by_arrival = match arrival {
        Arrival::NewestFirst => sea_orm::Order::Desc,
        Arrival::OldestFirst => sea_orm::Order::Asc,
    };
    let rows = E::find()
        .filter(condition)
        .filter(after_cursor(order, after, arrival))
        .order_by_desc(order.0)
        .order_by_desc(order.1)
        .order_by(order.2, by_arrival)
        .limit(Page::<()>::limit(first))
        .all(db)
        .await?;
    Ok(Page::of(rows, first))
}

/// How much feedback matches `filter`. Filters by status and service alone
/// (the usual queues) are answered from the running tally the database
/// keeps, a few rows whatever the volume; any other filter is counted.
pub async fn count_feedback(db: &impl ConnectionTrait, filter: &FeedbackFilter) -> AppResult<u64> {
    let common = &filter.common;
    let tallied = filter.ratings.is_empty()
        && common.channels.is_empty()
        && common.kiosk_id.is_none()
        && common.safeguarding.is_none()
        && common.pii_flagged.is_none()
        && common.assignee.is_none()
        && common.tag.is_none()
        && common.received_from.is_none()
        && common.received_to.is_none()
        && common.safeguarding_categories.is_empty()
        && common.text.is_none();
    if !tallied {
        return Ok(feedback::Entity::find()
            .filter(filter.condition())
            .count(db)
            .await?);
    }
    let mut query = feedback_tally::Entity::find();
    if !filter.statuses.is_empty() {
        query = query.filter(
            feedback_tally::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())),
        );
    }
    if let Some(service) = filter.service_id {
        query = query.filter(feedback_tally::Column::ServiceId.eq(service));
    }
    let total: i64 = query.all(db).await?.iter().map(|row| row.n).sum();
    Ok(u64::try_from(total).unwrap_or(0))
}

/// One page of the idea queue, and whether more follow.
pub async fn idea_page(
    db: &impl ConnectionTrait,
    filter: &IdeaFilter,
    first: u64,
    after: Option<QueueCursor>,
    arrival: Arrival,
) -> AppResult<Page<idea::Model>> {
    use idea::Column as C;
    queue_page::<idea::Entity>(
        db,
        filter.condition(),
        (C::Safeguarding, C::PersonalData, C::Id),
        first,
        (after, arrival),
    )
    .await
}

pub async fn count_ideas(db: &impl ConnectionTrait, filter: &IdeaFilter) -> AppResult<u64> {
    Ok(idea::Entity::find()
        .filter(filter.condition())
        .count(db)
        .await?)
}

pub async fn feedback_by_id(
    db: &impl ConnectionTrait,
    id: FeedbackId,
) -> AppResult<Option<feedback::Model>> {
    Ok(feedback::Entity::find_by_id(id.uuid()).one(db).await?)
}

/// A piece of feedback, locked until the transaction ends, so that what a
/// change reads (its version, status and tags) cannot change under it. On
/// PostgreSQL this is `SELECT … FOR UPDATE`; on SQLite the write transaction
/// holds the database's write lock already (see [`crate::db::write`]).
pub async fn feedback_for_update(
    db: &impl ConnectionTrait,
    id: FeedbackId,
) -> AppResult<Option<feedback::Model>> {
    Ok(feedback::Entity::find_by_id(id.uuid())
        .lock_exclusive()
        .one(db)
        .await?)
}

/// An idea, locked until the transaction ends; see [`feedback_for_update`].
pub async fn idea_for_update(
    db: &impl ConnectionTrait,
    id: IdeaId,
) -> AppResult<Option<idea::Model>> {
    Ok(idea::Entity::find_by_id(id.uuid())
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn idea_by_id(db: &impl ConnectionTrait, id: IdeaId) -> AppResult<Option<idea::Model>> {
    Ok(idea::Entity::find_by_id(id.uuid()).one(db).await?)
}

pub async fn ideas_by_ids(
    db: &impl ConnectionTrait,
    ids: &[IdeaId],
) -> AppResult<Vec<idea::Model>> {
    Ok(idea::Entity::find()
        .filter(idea::Column::Id.is_in(ids.iter().map(|id| id.uuid())))
        .all(db)
        .await?)
}

/// The tags of each subject, sorted.
pub async fn tags_of(
    db: &impl ConnectionTrait,
    subjects: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows = submission_tag::Entity::find()
        .filter(submission_tag::Column::SubjectId.is_in(subjects.iter().copied()))
        .order_by_asc(submission_tag::Column::Tag)
        .all(db)
        .await?;
    let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in rows {
        tags.entry(row.subject_id).or_default().push(row.tag);
    }
    Ok(tags)
}

/// The notes on each subject, oldest first.
pub async fn notes_of(
    db: &impl ConnectionTrait,
    subjects: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<moderation_note::Model>>> {
    let rows = moderation_note::Entity::find()
        .filter(moderation_note::Column::SubjectId.is_in(subjects.iter().copied()))
        .order_by_asc(moderation_note::Column::Id)
        .all(db)
        .await?;
    let mut notes: HashMap<Uuid, Vec<moderation_note::Model>> = HashMap::new();
    for row in rows {
        notes.entry(row.subject_id).or_default().push(row);
    }
    Ok(notes)
}

async fn replace_tags(db: &impl ConnectionTrait, subject: Uuid, tags: &[Tag]) -> AppResult<()> {
    submission_tag::Entity::delete_many()
        .filter(submission_tag::Column::SubjectId.eq(subject))
        .exec(db)
        .await?;
    if !tags.is_empty() {
        submission_tag::Entity::insert_many(tags.iter().map(|tag| submission_tag::ActiveModel {
            subject_id: Set(subject),
            tag: Set(tag.as_str().to_owned()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Replaces a subject's tags when a change gives new ones; answers the tags
/// it has afterwards.
async fn retag(
    db: &impl ConnectionTrait,
    subject: Uuid,
    tags: Option<&[Tag]>,
    before: &[String],
) -> AppResult<Vec<String>> {
    match tags {
        Some(tags) => {
            replace_tags(db, subject, tags).await?;
            Ok(tags.iter().map(|tag| tag.as_str().to_owned()).collect())
        }
        None => Ok(before.to_vec()),
    }
}

/// An assignee must be an active moderator.
async fn check_assignee(
    db: &impl ConnectionTrait,
    assignee: Option<Option<StaffId>>,
) -> AppResult<()> {
    if let Some(Some(id)) = assignee {
        let ok = staff_store::staff_by_id(db, id)
            .await?
            .is_some_and(|staff| staff.active && staff.roles.contains(Role::Moderator));
        if !ok {
            return Err(AppError::bad_input(
                "assigneeId",
                "is not an active moderator",
            ));
        }
    }
    Ok(())
}

fn stale(version: i32) -> AppError {
    AppError::Conflict(format!(
        "the item changed since you read it (it is now at version {version}); reload and try again"
    ))
}

/// A moderator's change to a piece of feedback; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct FeedbackChange {
    pub status: Option<FeedbackStatus>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<StaffId>>,
    pub tags: Option<Vec<Tag>>,
    /// `Some(None)` removes the response.
    pub public_response: Option<Option<String>>,
}

fn feedback_state(row: &feedback::Model, tags: &[String]) -> serde_json::Value {
    json!({
        "status": row.status.as_str(),
        "assigneeId": row.assignee_id,
        "tags": tags,
        "hasPublicResponse": row.public_response.is_some(),
        "version": row.version,
    })
}

/// The columns feedback and ideas share, so one function writes a
/// moderator's change to either.
trait Moderated: sea_orm::EntityTrait {
    const ID: Self::Column;
    const STATUS: Self::Column;
    const VERSION: Self::Column;
    const UPDATED_AT: Self::Column;
    const ASSIGNEE: Self::Column;
    const PUBLIC_RESPONSE: Self::Column;
}

impl Moderated for feedback::Entity {
    const ID: feedback::Column = feedback::Column::Id;
    const STATUS: feedback::Column = feedback::Column::Status;
    const VERSION: feedback::Column = feedback::Column::Version;
    const UPDATED_AT: feedback::Column = feedback::Column::UpdatedAt;
    const ASSIGNEE: feedback::Column = feedback::Column::AssigneeId;
    const PUBLIC_RESPONSE: feedback::Column = feedback::Column::PublicResponse;
}

impl Moderated for idea::Entity {
    const ID: idea::Column = idea::Column::Id;
    const STATUS: idea::Column = idea::Column::Status;
    const VERSION: idea::Column = idea::Column::Version;
    const UPDATED_AT: idea::Column = idea::Column::UpdatedAt;
    const ASSIGNEE: idea::Column = idea::Column::AssigneeId;
    const PUBLIC_RESPONSE: idea::Column = idea::Column::PublicResponse;
}

/// What a change to feedback and a change to an idea have in common.
struct Common<'a> {
    status: &'static str,
    assignee: Option<Option<StaffId>>,
    public_response: Option<&'a Option<String>>,
    tags: Option<&'a [Tag]>,
}

/// A `CONFLICT` when the caller expected another version than the row's.
fn expect_version(row_version: i32, expected: Option<i32>) -> AppResult<()> {
    match expected {
        Some(expected) if expected != row_version => Err(stale(row_version)),
        _ => Ok(()),
    }
}

/// Writes a moderator's change to the row of `E` with this id, read at
/// `version`: the shared columns and the item's `own`, then its tags.
/// Answers its tags before and after.
async fn write_change<E: Moderated>(
    db: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    common: Common<'_>,
    own: Vec<(E::Column, Expr)>,
) -> AppResult<(Vec<String>, Vec<String>)> {
    check_assignee(db, common.assignee).await?;
    let tags_before = tags_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    let mut update = E::update_many()
        .col_expr(E::STATUS, Expr::value(common.status))
        .col_expr(E::VERSION, Expr::value(version + 1))
        .col_expr(E::UPDATED_AT, Expr::value(db::now()));
    if let Some(assignee) = common.assignee {
        update = update.col_expr(E::ASSIGNEE, Expr::value(assignee.map(StaffId::uuid)));
    }
    if let Some(response) = common.public_response {
        update = update.col_expr(E::PUBLIC_RESPONSE, Expr::value(response.clone()));
    }
    for (column, value) in own {
        update = update.col_expr(column, value);
    }
    let updated = update
        .filter(E::ID.eq(id))
        .filter(E::VERSION.eq(version))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(stale(version + 1));
    }
    let tags_after = retag(db, id, common.tags, &tags_before).await?;
    Ok((tags_before, tags_after))
}

/// Applies a moderator's change to feedback, with its audit event. With
/// `expected_version`, a change to an item someone else changed first is a
/// `CONFLICT`.
pub async fn moderate_feedback(
    db: &impl ConnectionTrait,
    actor: StaffId,
    id: FeedbackId,
    expected_version: Option<i32>,
    change: &FeedbackChange,
) -> AppResult<feedback::Model> {
    let row = feedback_for_update(db, id)
        .await?
        .ok_or(AppError::NotFound("the feedback"))?;
    expect_version(row.version, expected_version)?;
    let status = change.status.unwrap_or(row.status);
    row.status.check_move(status, "status")?;
    let common = Common {
        status: status.as_str(),
        assignee: change.assignee,
        public_response: change.public_response.as_ref(),
        tags: change.tags.as_deref(),
    };
    let (tags_before, tags_after) =
        write_change::<feedback::Entity>(db, id.uuid(), row.version, common, Vec::new()).await?;
    let after = feedback_by_id(db, id)
        .await?
        .ok_or(AppError::NotFound("the feedback"))?;
    audit::record(
        db,
        AuditEntry::feedback_moderated(
            actor,
            id,
            feedback_state(&row, &tags_before),
            feedback_state(&after, &tags_after),
        ),
    )
    .await?;
    Ok(after)
}

/// A moderator's change to an idea; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct IdeaChange {
    pub status: Option<IdeaStatus>,
    pub published: Option<bool>,
    /// `Some(None)` removes the response.
    pub public_response: Option<Option<String>>,
    /// `Some(None)` removes the theme.
    pub theme: Option<Option<String>>,
    pub assignee: Option<Option<StaffId>>,
    pub tags: Option<Vec<Tag>>,
}

fn idea_state(row: &idea::Model, tags: &[String]) -> serde_json::Value {
    json!({
        "status": row.status.as_str(),
        "published": row.published,
        "assigneeId": row.assignee_id,
        "tags": tags,
        "hasPublicResponse": row.public_response.is_some(),
        "mergedInto": row.merged_into_id,
        "version": row.version,
    })
}

/// Applies a moderator's change to an idea, with its audit event. Marking
/// an idea SPAM takes it off the board; safeguarding, spam and duplicate
/// ideas cannot be published.
pub async fn moderate_idea(
    db: &impl ConnectionTrait,
    actor: StaffId,
    id: IdeaId,
    expected_version: Option<i32>,
    change: &IdeaChange,
) -> AppResult<idea::Model> {
    let row = idea_for_update(db, id)
        .await?
        .ok_or(AppError::NotFound("the idea"))?;
    expect_version(row.version, expected_version)?;
    let status = change.status.unwrap_or(row.status);
    row.status.check_move(status, "status")?;
    let mut published = change.published.unwrap_or(row.published);
    if change.published == Some(true) {
        publishable(status, row.safeguarding)?;
    }
    if matches!(status, IdeaStatus::Spam | IdeaStatus::Duplicate) || row.safeguarding {
        published = false;
    }
    let mut own = vec![(idea::Column::Published, Expr::value(published))];
    if let Some(theme) = &change.theme {
        own.push((idea::Column::Theme, Expr::value(theme.clone())));
    }
    let common = Common {
        status: status.as_str(),
        assignee: change.assignee,
        public_response: change.public_response.as_ref(),
        tags: change.tags.as_deref(),
    };
    let (tags_before, tags_after) =
        write_change::<idea::Entity>(db, id.uuid(), row.version, common, own).await?;
    let after = idea_by_id(db, id)
        .await?
        .ok_or(AppError::NotFound("the idea"))?;
    audit::record(
        db,
        AuditEntry::idea_moderated(
            actor,
            id,
            idea_state(&row, &tags_before),
            idea_state(&after, &tags_after),
        ),
    )
    .await?;
    Ok(after)
}

/// Merges `source` into `target`: the source becomes a DUPLICATE off the
/// board, and its supporters are added to the target's, each supporter
/// counted once however many of the two ideas they supported. Answers the
/// target as it now stands.
pub async fn merge_idea(
    db: &impl ConnectionTrait,
    actor: StaffId,
    source_id: IdeaId,
    target_id: IdeaId,
) -> AppResult<idea::Model> {
    if source_id == target_id {
        return Err(AppError::bad_input(
            "targetId",
            "an idea cannot be merged into itself",
        ));
    }
    let source = idea_by_id(db, source_id)
        .await?
        .ok_or(AppError::NotFound("the source idea"))?;
    let target = idea_by_id(db, target_id)
        .await?
        .ok_or(AppError::NotFound("the target idea"))?;
    let source_status = source.status;
    let target_status = target.status;
    if matches!(source_status, IdeaStatus::Duplicate | IdeaStatus::Spam) {
        return Err(AppError::bad_input(
            "sourceId",
            format!("a {} idea cannot be merged", source_status.as_str()),
        ));
    }
    if matches!(target_status, IdeaStatus::Duplicate | IdeaStatus::Spam) {
        return Err(AppError::bad_input(
            "targetId",
            format!(
                "an idea cannot be merged into a {} idea",
                target_status.as_str()
            ),
        ));
    }
    let copy_supporters = Query::insert()
        .into_table(idea_support::Entity)
        .columns([
            idea_support::Column::IdeaId,
            idea_support::Column::SupporterHash,
            idea_support::Column::CreatedAt,
        ])
        .select_from(
            Query::select()
                .expr(Expr::val(target_id.uuid()))
                .column(idea_support::Column::SupporterHash)
                .column(idea_support::Column::CreatedAt)
                .from(idea_support::Entity)
                .and_where(idea_support::Column::IdeaId.eq(source_id.uuid()))
                .to_owned(),
        )
        .map_err(|error| AppError::Internal(anyhow::anyhow!("building the merge: {error}")))?
        .on_conflict(
            OnConflict::columns([
                idea_support::Column::IdeaId,
                idea_support::Column::SupporterHash,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    db.execute(&copy_supporters).await?;
    let supporters = idea_support::Entity::find()
        .filter(idea_support::Column::IdeaId.eq(target_id.uuid()))
        .count(db)
        .await?;
    let support_count = i32::try_from(supporters).unwrap_or(i32::MAX);
    let now = db::now();
    idea::Entity::update_many()
        .col_expr(idea::Column::SupportCount, Expr::value(support_count))
        .col_expr(idea::Column::UpdatedAt, Expr::value(now))
        .filter(idea::Column::Id.eq(target_id.uuid()))
        .exec(db)
        .await?;
    idea::Entity::update_many()
        .col_expr(
            idea::Column::Status,
            Expr::value(IdeaStatus::Duplicate.as_str()),
        )
        .col_expr(idea::Column::Published, Expr::value(false))
        .col_expr(idea::Column::MergedIntoId, Expr::value(target_id.uuid()))
        .col_expr(
            idea::Column::Version,
            Expr::col(idea::Column::Version).add(1),
        )
        .col_expr(idea::Column::UpdatedAt, Expr::value(now))
        .filter(idea::Column::Id.eq(source_id.uuid()))
        .exec(db)
        .await?;
    audit::record(
        db,
        AuditEntry::idea_merged(actor, source_id, target_id, support_count),
    )
    .await?;
    idea_by_id(db, target_id)
        .await?
        .ok_or(AppError::NotFound("the target idea"))
}

/// The submission with this id: a piece of feedback or an idea.
pub async fn submission_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<SubmissionId>> {
    let feedback = FeedbackId::from_uuid(id);
    if feedback_by_id(db, feedback).await?.is_some() {
        return Ok(Some(SubmissionId::Feedback(feedback)));
    }
    let idea = IdeaId::from_uuid(id);
    Ok(idea_by_id(db, idea)
        .await?
        .map(|_| SubmissionId::Idea(idea)))
}

/// Adds an internal note to a piece of feedback or an idea.
pub async fn add_note(
    db: &impl ConnectionTrait,
    actor: StaffId,
    subject_id: Uuid,
    body: &str,
) -> AppResult<moderation_note::Model> {
    let subject = submission_by_id(db, subject_id)
        .await?
        .ok_or(AppError::NotFound("a feedback or idea with that id"))?;
    let kind = match subject {
        SubmissionId::Feedback(_) => SubmissionKind::Feedback,
        SubmissionId::Idea(_) => SubmissionKind::Idea,
    };
    let note = moderation_note::Model {
        id: Uuid::now_v7(),
        subject_id,
        subject_kind: kind.as_str().to_owned(),
        author_id: actor.uuid(),
        body: body.to_owned(),
        created_at: db::now(),
    };
    moderation_note::Entity::insert(moderation_note::ActiveModel::from(note.clone()))
        .exec_without_returning(db)
        .await?;
    audit::record(db, AuditEntry::note_added(actor, subject, note.id)).await?;
    Ok(note)
}

/// One change for many items: what a bulk change sets on each.
#[derive(Clone, Copy, Debug)]
pub struct BulkChange<'a, Status> {
    pub status: Option<Status>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<StaffId>>,
    /// Added to each item's tags.
    pub add_tags: Option<&'a [Tag]>,
}

/// What a bulk change did to each item: its new version, or why it was
/// left alone.
pub type BulkOutcome<Id> = Vec<(Id, AppResult<i32>)>;

/// Errors that end a whole bulk change: the database, not the items.
fn is_fatal(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Internal(_) | AppError::Unavailable | AppError::Busy
    )
}

/// Applies one change to many pieces of feedback: items it cannot apply to
/// (an illegal move) are reported and left alone, the rest are changed, each
/// with its audit event. A database failure ends the whole change.
pub async fn bulk_moderate_feedback(
    db: &impl ConnectionTrait,
    actor: StaffId,
    ids: &[FeedbackId],
    change: BulkChange<'_, FeedbackStatus>,
) -> AppResult<BulkOutcome<FeedbackId>> {
    each_of(ids, |id| async move {
        // Locked before its tags are read, so two bulk changes adding
        // tags at once both keep theirs.
        feedback_for_update(db, id).await?;
        let one = FeedbackChange {
            status: change.status,
            assignee: change.assignee,
            tags: merged_tags(db, id.uuid(), change.add_tags).await?,
            public_response: None,
        };
        let row = moderate_feedback(db, actor, id, None, &one).await?;
        Ok(row.version)
    })
    .await
}

/// Applies one change to many ideas; see [`bulk_moderate_feedback`].
pub async fn bulk_moderate_ideas(
    db: &impl ConnectionTrait,
    actor: StaffId,
    ids: &[IdeaId],
    change: BulkChange<'_, IdeaStatus>,
    published: Option<bool>,
) -> AppResult<BulkOutcome<IdeaId>> {
    each_of(ids, |id| async move {
        idea_for_update(db, id).await?;
        let one = IdeaChange {
            status: change.status,
            published,
            assignee: change.assignee,
            tags: merged_tags(db, id.uuid(), change.add_tags).await?,
            ..IdeaChange::default()
        };
        let row = moderate_idea(db, actor, id, None, &one).await?;
        Ok(row.version)
    })
    .await
}

/// Runs `one` on each id in turn, keeping each item's outcome; a database
/// failure ([`is_fatal`]) ends the whole change.
async fn each_of<Id: Copy, F, Fut>(ids: &[Id], mut one: F) -> AppResult<BulkOutcome<Id>>
where
    F: FnMut(Id) -> Fut,
    Fut: Future<Output = AppResult<i32>>,
{
    let mut outcomes = Vec::with_capacity(ids.len());
    for &id in ids {
        match one(id).await {
            Err(error) if is_fatal(&error) => return Err(error),
            outcome => outcomes.push((id, outcome)),
        }
    }
    Ok(outcomes)
}

/// An item's tags with `add` added, or `None` when nothing is added.
async fn merged_tags(
    db: &impl ConnectionTrait,
    id: Uuid,
    add: Option<&[Tag]>,
) -> AppResult<Option<Vec<Tag>>> {
    let Some(add) = add.filter(|add| !add.is_empty()) else {
        return Ok(None);
    };
    let mut current: Vec<String> = tags_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    current.extend(add.iter().map(|tag| tag.as_str().to_owned()));
    Tag::parse_all(&current, "addTags").map(Some)
}
