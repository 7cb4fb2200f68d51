//! Moderation: staff triage of what residents send. It owns the queues of
//! feedback and ideas, the workflows they move through, assignment, tags,
//! internal notes, merging duplicate ideas, the live subscription to new
//! submissions, and the append-only audit trail every staff action writes.

pub mod audit;
pub mod entity;
pub mod graphql;
pub mod model;
pub mod store;
