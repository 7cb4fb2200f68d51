//! Submissions: residents' feedback about services and ideas for improving
//! health and wellbeing, from kiosks, apps and web forms. It owns receipts
//! (checksummed references), idempotent retries, kiosks and their tokens, the
//! public idea board and supporting an idea, and the event each new submission
//! raises for the moderators' live queue.

pub mod entity;
pub mod graphql;
pub mod model;
pub mod reference;
pub mod store;
pub mod writer;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use model::SubmissionKind;

/// A submission was stored (never raised for a replay or a honeypot drop).
#[derive(Clone, Debug)]
pub struct SubmissionEvent {
    pub kind: SubmissionKind,
    pub id: Uuid,
    pub reference: String,
    pub safeguarding: bool,
    pub received_at: DateTime<Utc>,
}

/// The in-process channel new submissions are announced on.
#[derive(Clone)]
pub struct SubmissionEvents(broadcast::Sender<SubmissionEvent>);

impl SubmissionEvents {
    /// Listeners that fall this far behind miss the oldest events rather than
    /// slowing submissions down.
    const CAPACITY: usize = 1024;

    pub fn new() -> Self {
        Self(broadcast::channel(Self::CAPACITY).0)
    }

    pub fn publish(&self, event: SubmissionEvent) {
        // No listener is not an error: nobody is watching the queue live.
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SubmissionEvent> {
        self.0.subscribe()
    }
}

impl Default for SubmissionEvents {
    fn default() -> Self {
        Self::new()
    }
}
