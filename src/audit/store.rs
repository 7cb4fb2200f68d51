//! Writing and reading the audit trail.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use super::entity::audit_event;
use super::model::AuditEntry;
use crate::db;
use crate::error::AppResult;
use crate::ids::StaffId;
use crate::pagination::Page;

/// Appends `entry` to the audit trail. Call it with the transaction that
/// makes the change.
pub async fn record(db: &impl ConnectionTrait, entry: AuditEntry) -> AppResult<()> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        action: Set(entry.action.to_owned()),
        actor_id: Set(entry.actor.map(StaffId::uuid)),
        subject_kind: Set(entry.subject.map(|subject| subject.kind().to_owned())),
        subject_id: Set(entry.subject.map(|subject| subject.id())),
        before: Set(entry.before.map(|value| value.to_string())),
        after: Set(entry.after.map(|value| value.to_string())),
        at: Set(db::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Which audit events to read. Every filter given must match.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub subject_id: Option<Uuid>,
    pub actor_id: Option<StaffId>,
    /// Exactly this action, e.g. `staff.updated`.
    pub action: Option<String>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(subject) = self.subject_id {
            condition = condition.add(audit_event::Column::SubjectId.eq(subject));
        }
        if let Some(actor) = self.actor_id {
            condition = condition.add(audit_event::Column::ActorId.eq(actor));
        }
        if let Some(action) = &self.action {
            condition = condition.add(audit_event::Column::Action.eq(action.as_str()));
        }
        if let Some(from) = self.from {
            condition = condition.add(audit_event::Column::At.gte(from));
        }
        if let Some(to) = self.to {
            condition = condition.add(audit_event::Column::At.lt(to));
        }
        condition
    }
}

/// A page of the audit log, newest first, after the event `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<Page<audit_event::Model>> {
    let mut query = audit_event::Entity::find().filter(filter.condition());
    if let Some(after) = after {
        query = query.filter(audit_event::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(audit_event::Column::Id)
        .limit(Page::<()>::limit(first))
        .all(db)
        .await?;
    Ok(Page::of(rows, first))
}

pub async fn count(db: &impl ConnectionTrait, filter: &AuditFilter) -> AppResult<u64> {
    Ok(audit_event::Entity::find()
        .filter(filter.condition())
        .count(db)
        .await?)
}

/// Every action the log holds, once each, in alphabetical order.
pub async fn actions(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    Ok(audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Action)
        .distinct()
        .order_by_asc(audit_event::Column::Action)
        .into_tuple()
        .all(db)
        .await?)
}
