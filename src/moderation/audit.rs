//! The audit trail: one append-only event for every staff action, written in
//! the same transaction as the change it records, so neither exists without
//! the other. Events name what they describe by id and hold states, never
//! free text or contact details, so they survive the erasure of a submission.

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait as _};
use serde_json::Value;
use uuid::Uuid;

use super::entity::audit_event;
use crate::db;
use crate::error::AppResult;

/// One staff action, built by the constructor named for it.
#[derive(Debug)]
pub struct AuditEntry {
    action: &'static str,
    actor: Option<Uuid>,
    subject: Option<(&'static str, Uuid)>,
    before: Option<Value>,
    after: Option<Value>,
}

impl AuditEntry {
    fn new(
        action: &'static str,
        actor: Option<Uuid>,
        subject: Option<(&'static str, Uuid)>,
    ) -> Self {
        Self {
            action,
            actor,
            subject,
            before: None,
            after: None,
        }
    }

    fn states(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// `actor` is `None` when the command line did it.
    pub fn staff_created(actor: Option<Uuid>, staff: Uuid, after: Value) -> Self {
        Self::new("staff.created", actor, Some(("STAFF", staff))).states(None, Some(after))
    }

    pub fn staff_updated(actor: Uuid, staff: Uuid, before: Value, after: Value) -> Self {
        Self::new("staff.updated", Some(actor), Some(("STAFF", staff)))
            .states(Some(before), Some(after))
    }

    pub fn password_changed(actor: Uuid) -> Self {
        Self::new(
            "staff.password_changed",
            Some(actor),
            Some(("STAFF", actor)),
        )
    }

    pub fn refresh_token_reused(staff: Option<Uuid>, session: Uuid) -> Self {
        Self::new(
            "staff.session_revoked_on_reuse",
            None,
            staff.map(|id| ("STAFF", id)),
        )
        .states(None, Some(serde_json::json!({ "session": session })))
    }

    pub fn kiosk_created(actor: Option<Uuid>, kiosk: Uuid, after: Value) -> Self {
        Self::new("kiosk.created", actor, Some(("KIOSK", kiosk))).states(None, Some(after))
    }

    pub fn kiosk_revoked(actor: Option<Uuid>, kiosk: Uuid) -> Self {
        Self::new("kiosk.revoked", actor, Some(("KIOSK", kiosk))).states(
            Some(serde_json::json!({ "active": true })),
            Some(serde_json::json!({ "active": false })),
        )
    }

    pub fn feedback_moderated(actor: Uuid, feedback: Uuid, before: Value, after: Value) -> Self {
        Self::new(
            "feedback.moderated",
            Some(actor),
            Some(("FEEDBACK", feedback)),
        )
        .states(Some(before), Some(after))
    }

    pub fn idea_moderated(actor: Uuid, idea: Uuid, before: Value, after: Value) -> Self {
        Self::new("idea.moderated", Some(actor), Some(("IDEA", idea)))
            .states(Some(before), Some(after))
    }

    pub fn idea_merged(actor: Uuid, source: Uuid, target: Uuid, support_count: i32) -> Self {
        Self::new("idea.merged", Some(actor), Some(("IDEA", source))).states(
            None,
            Some(serde_json::json!({ "mergedInto": target, "targetSupportCount": support_count })),
        )
    }

    /// The note's text stays with the note, not in the audit trail.
    pub fn note_added(actor: Uuid, kind: &'static str, subject: Uuid, note: Uuid) -> Self {
        Self::new("note.added", Some(actor), Some((kind, subject)))
            .states(None, Some(serde_json::json!({ "note": note })))
    }

    /// A generic action for features that record their own kinds of event.
    pub fn other(
        action: &'static str,
        actor: Option<Uuid>,
        subject: Option<(&'static str, Uuid)>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self::new(action, actor, subject).states(before, after)
    }
}

/// Appends `entry` to the audit trail. Call it with the transaction that
/// makes the change.
pub async fn record(db: &impl ConnectionTrait, entry: AuditEntry) -> AppResult<()> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        action: Set(entry.action.to_owned()),
        actor_id: Set(entry.actor),
        subject_kind: Set(entry.subject.map(|(kind, _)| kind.to_owned())),
        subject_id: Set(entry.subject.map(|(_, id)| id)),
        before: Set(entry.before.map(|value| value.to_string())),
        after: Set(entry.after.map(|value| value.to_string())),
        at: Set(db::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
