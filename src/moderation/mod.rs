//! Moderation: staff triage of what residents send. It owns the queues of
//! feedback and ideas, the workflows they move through, assignment, tags,
//! internal notes, merging duplicate ideas, the live subscription to new
//! submissions, and the public idea board that moderators publish to. Every
//! change writes its event to the audit trail ([`crate::audit`]).

pub mod actions;
pub mod concerns;
pub mod entity;
pub mod graphql;
pub mod model;
pub mod store;
