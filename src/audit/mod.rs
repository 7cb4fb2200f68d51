//! The audit trail: one append-only event for every staff action, written in
//! the same transaction as the change it records, so neither exists without
//! the other. Every feature writes to it, through one named constructor per
//! kind of action ([`AuditEntry`]); admins read it (`auditLog`). Events name
//! what they describe by id and hold states, never free text or contact
//! details, so they survive the erasure of a submission.

pub mod entity;
pub mod graphql;
pub mod model;
pub mod store;

pub use model::{AuditEntry, Subject};
pub use store::record;
