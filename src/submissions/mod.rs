//! Submissions: residents' feedback about services and ideas for improving
//! health and wellbeing, from kiosks, apps and web forms. It owns receipts
//! (checksummed references), idempotent retries, kiosks and their tokens, the
//! stored ideas the public board reads (the board's GraphQL face is
//! moderation's, since moderators publish to it), and the event each new
//! submission raises for the moderators' live queue.

pub mod actions;
pub mod entity;
pub mod graphql;
pub mod model;
pub mod reference;
pub mod services;
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

/// Where new submissions are announced: an in-process channel that live
/// queues read and, on PostgreSQL, every other process on the database too
/// (see [`crate::cluster`]).
#[derive(Clone)]
pub struct SubmissionEvents {
    local: broadcast::Sender<SubmissionEvent>,
    others: Option<crate::cluster::Notifier>,
}

impl SubmissionEvents {
    /// Listeners that fall this far behind miss the oldest events rather than
    /// slowing submissions down.
    const CAPACITY: usize = 1024;

    pub fn new() -> Self {
        Self {
            local: broadcast::channel(Self::CAPACITY).0,
            others: None,
        }
    }

    /// Events that reach every process through `notifier`.
    pub fn clustered(notifier: Option<crate::cluster::Notifier>) -> Self {
        Self {
            others: notifier,
            ..Self::new()
        }
    }

    /// Announces a stored submission. With other processes, it travels
    /// through the database and comes back to this process too.
    pub fn publish(&self, event: SubmissionEvent) {
        match &self.others {
            Some(notifier) => notifier.submission(&event),
            None => self.publish_here(event),
        }
    }

    /// Announces to this process's listeners only.
    pub fn publish_here(&self, event: SubmissionEvent) {
        // No listener is not an error: nobody is watching the queue live.
        let _ = self.local.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SubmissionEvent> {
        self.local.subscribe()
    }
}

impl Default for SubmissionEvents {
    fn default() -> Self {
        Self::new()
    }
}
