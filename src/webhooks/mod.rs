//! Webhooks: partner sites and CDNs that want to know the moment content
//! changes. An admin registers an address; every publish, unpublish and
//! organisation edit puts a signed JSON delivery for it in an outbox, in the
//! same transaction as the change, and a background worker posts it with
//! retries and growing delays. A failing receiver never blocks an edit.

pub mod delivery;
pub mod entity;
pub mod graphql;
pub mod store;
