//! Content: the organisation's own text, its pages and the services residents
//! give feedback about, in every locale the partnership publishes, and the
//! full-text search over them. Partner websites read all of it without signing in.

pub mod actions;
pub mod editing;
pub mod entity;
pub mod graphql;
pub mod markdown;
pub mod model;
pub mod seed;
pub mod store;

/// What a change to public content must tell the rest of hamlet, once it has
/// committed: kept public answers are stale, and webhook deliveries wait in
/// the outbox.
#[derive(Clone, Default)]
pub struct ContentSignals {
    pub generation: crate::cache::ContentGeneration,
    pub webhooks: crate::webhooks::delivery::DeliveryBell,
    /// Other processes on the same PostgreSQL database.
    pub others: Option<crate::cluster::Notifier>,
}

impl ContentSignals {
    pub fn changed(&self) {
        self.generation.bump();
        self.webhooks.ring();
        if let Some(others) = &self.others {
            others.content_changed();
        }
    }
}
