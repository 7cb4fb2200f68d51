//! What an audit event says: who did what to which subject, with the states
//! before and after. One constructor per kind of action, so every event of
//! one kind has the same shape and a reader of the log can rely on it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ids::{FeedbackId, IdeaId, KioskId, PageId, StaffId, SubmissionId};

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Feedback(FeedbackId),
    Idea(IdeaId),
    Staff(StaffId),
    Kiosk(KioskId),
    Page(PageId),
    Organisation(Uuid),
    Webhook(Uuid),
}

impl Subject {
    /// The kind as the log stores it (`subjectKind`).
    pub fn kind(self) -> &'static str {
        match self {
            Self::Feedback(_) => "FEEDBACK",
            Self::Idea(_) => "IDEA",
            Self::Staff(_) => "STAFF",
            Self::Kiosk(_) => "KIOSK",
            Self::Page(_) => "PAGE",
            Self::Organisation(_) => "ORGANISATION",
            Self::Webhook(_) => "WEBHOOK",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Self::Feedback(id) => id.uuid(),
            Self::Idea(id) => id.uuid(),
            Self::Staff(id) => id.uuid(),
            Self::Kiosk(id) => id.uuid(),
            Self::Page(id) => id.uuid(),
            Self::Organisation(id) | Self::Webhook(id) => id,
        }
    }
}

impl From<SubmissionId> for Subject {
    fn from(id: SubmissionId) -> Self {
        match id {
            SubmissionId::Feedback(id) => Self::Feedback(id),
            SubmissionId::Idea(id) => Self::Idea(id),
        }
    }
}

/// One staff action, built by the constructor named for it.
#[derive(Debug)]
pub struct AuditEntry {
    pub(super) action: &'static str,
    pub(super) actor: Option<StaffId>,
    pub(super) subject: Option<Subject>,
    pub(super) before: Option<Value>,
    pub(super) after: Option<Value>,
}

impl AuditEntry {
    fn new(action: &'static str, actor: Option<StaffId>, subject: Option<Subject>) -> Self {
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

    /// What was done, e.g. `idea.moderated`.
    pub fn action(&self) -> &'static str {
        self.action
    }

    // Staff and their sessions. `actor` is `None` when the command line did it.

    pub fn staff_created(actor: Option<StaffId>, staff: StaffId, after: Value) -> Self {
        Self::new("staff.created", actor, Some(Subject::Staff(staff))).states(None, Some(after))
    }

    pub fn staff_updated(actor: StaffId, staff: StaffId, before: Value, after: Value) -> Self {
        Self::new("staff.updated", Some(actor), Some(Subject::Staff(staff)))
            .states(Some(before), Some(after))
    }

    pub fn password_changed(actor: StaffId) -> Self {
        Self::new(
            "staff.password_changed",
            Some(actor),
            Some(Subject::Staff(actor)),
        )
    }

    pub fn refresh_token_reused(staff: Option<StaffId>, session: Uuid) -> Self {
        Self::new(
            "staff.session_revoked_on_reuse",
            None,
            staff.map(Subject::Staff),
        )
        .states(None, Some(json!({ "session": session })))
    }

    // Kiosks.

    pub fn kiosk_created(actor: Option<StaffId>, kiosk: KioskId, after: Value) -> Self {
        Self::new("kiosk.created", actor, Some(Subject::Kiosk(kiosk))).states(None, Some(after))
    }

    pub fn kiosk_revoked(actor: Option<StaffId>, kiosk: KioskId) -> Self {
        Self::new("kiosk.revoked", actor, Some(Subject::Kiosk(kiosk))).states(
            Some(json!({ "active": true })),
            Some(json!({ "active": false })),
        )
    }

    // Moderation.

    pub fn feedback_moderated(
        actor: StaffId,
        feedback: FeedbackId,
        before: Value,
        after: Value,
    ) -> Self {
        Self::new(
            "feedback.moderated",
            Some(actor),
            Some(Subject::Feedback(feedback)),
        )
        .states(Some(before), Some(after))
    }

    pub fn idea_moderated(actor: StaffId, idea: IdeaId, before: Value, after: Value) -> Self {
        Self::new("idea.moderated", Some(actor), Some(Subject::Idea(idea)))
            .states(Some(before), Some(after))
    }

    pub fn idea_merged(actor: StaffId, source: IdeaId, target: IdeaId, support_count: i32) -> Self {
        Self::new("idea.merged", Some(actor), Some(Subject::Idea(source))).states(
            None,
            Some(json!({ "mergedInto": target, "targetSupportCount": support_count })),
        )
    }

    /// The note's text stays with the note, not in the audit trail.
    pub fn note_added(actor: StaffId, subject: SubmissionId, note: Uuid) -> Self {
        Self::new("note.added", Some(actor), Some(subject.into()))
            .states(None, Some(json!({ "note": note })))
    }

    /// A moderator's decision about a safeguarding concern (`raised`,
    /// `confirmed`, `dismissed` or `recategorised`): `safeguarding.<what>`.
    /// The states hold no free text.
    pub fn safeguarding_decided(
        actor: StaffId,
        subject: SubmissionId,
        what: &'static str,
        before: Value,
        after: Value,
    ) -> Self {
        let action = match what {
            "raised" => "safeguarding.raised",
            "confirmed" => "safeguarding.confirmed",
            "dismissed" => "safeguarding.dismissed",
            _ => "safeguarding.recategorised",
        };
        let before = (!before.is_null()).then_some(before);
        Self::new(action, Some(actor), Some(subject.into())).states(before, Some(after))
    }

    // Content.

    pub fn page_saved(
        actor: StaffId,
        page: PageId,
        version: i32,
        locale: &str,
        slug: &str,
    ) -> Self {
        Self::new("page.saved", Some(actor), Some(Subject::Page(page))).states(
            None,
            Some(json!({ "version": version, "locale": locale, "slug": slug })),
        )
    }

    pub fn page_restored(actor: StaffId, page: PageId, from: i32, version: i32) -> Self {
        Self::new("page.restored", Some(actor), Some(Subject::Page(page)))
            .states(None, Some(json!({ "from": from, "version": version })))
    }

    /// `actor` is `None` when the scheduler published it on time.
    pub fn page_published(
        actor: Option<StaffId>,
        page: PageId,
        before: Value,
        after: Value,
    ) -> Self {
        Self::new("page.published", actor, Some(Subject::Page(page)))
            .states(Some(before), Some(after))
    }

    pub fn page_scheduled(actor: StaffId, page: PageId, at: DateTime<Utc>, version: i32) -> Self {
        Self::new("page.scheduled", Some(actor), Some(Subject::Page(page)))
            .states(None, Some(json!({ "at": at, "version": version })))
    }

    pub fn page_unpublished(actor: StaffId, page: PageId, before: Value, after: Value) -> Self {
        Self::new("page.unpublished", Some(actor), Some(Subject::Page(page)))
            .states(Some(before), Some(after))
    }

    /// The scheduler could not publish a page at its time.
    pub fn page_schedule_failed(page: PageId, reason: &str) -> Self {
        Self::new("page.schedule_failed", None, Some(Subject::Page(page)))
            .states(None, Some(json!({ "reason": reason })))
    }

    pub fn organisation_updated(
        actor: StaffId,
        organisation: Uuid,
        locale: &str,
        values: usize,
    ) -> Self {
        Self::new(
            "organisation.updated",
            Some(actor),
            Some(Subject::Organisation(organisation)),
        )
        .states(None, Some(json!({ "locale": locale, "values": values })))
    }

    // Webhooks.

    pub fn webhook_created(actor: StaffId, webhook: Uuid, url: &str) -> Self {
        Self::new(
            "webhook.created",
            Some(actor),
            Some(Subject::Webhook(webhook)),
        )
        .states(None, Some(json!({ "url": url })))
    }

    pub fn webhook_deleted(actor: StaffId, webhook: Uuid) -> Self {
        Self::new(
            "webhook.deleted",
            Some(actor),
            Some(Subject::Webhook(webhook)),
        )
    }

    // Residents' data.

    /// `hamlet import feedback` stored `rows` and skipped `skipped`.
    pub fn feedback_imported(rows: u64, skipped: u64) -> Self {
        Self::new("feedback.imported", None, None)
            .states(None, Some(json!({ "rows": rows, "skipped": skipped })))
    }

    /// `actor` is `None` for the command line.
    pub fn submission_erased(
        actor: Option<StaffId>,
        subject: SubmissionId,
        at: DateTime<Utc>,
    ) -> Self {
        Self::new("submission.erased", actor, Some(subject.into()))
            .states(None, Some(json!({ "erasedAt": at })))
    }

    /// The retention period was applied; `actor` is `None` for the
    /// background loop and the command line.
    pub fn retention_purged(
        actor: Option<StaffId>,
        cutoff: DateTime<Utc>,
        feedback: u64,
        ideas: u64,
        contacts: u64,
    ) -> Self {
        Self::new("retention.purged", actor, None).states(
            None,
            Some(json!({
                "cutoff": cutoff,
                "feedback": feedback,
                "ideas": ideas,
                "contacts": contacts,
            })),
        )
    }
}
