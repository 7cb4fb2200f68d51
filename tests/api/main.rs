//! Integration tests: the real app on a random port, driven over HTTP as a
//! client would, on SQLite by default and on PostgreSQL when
//! `HAMLET_TEST_DATABASE_URL` is set. Each test gets a fresh database.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly by design"
)]

mod browser;
mod browser_harness;
mod cluster;
mod console;
mod console_admin;
mod console_browser;
mod console_browser_admin;
mod console_browser_editors;
mod console_editors;
mod content;
mod durability;
mod editing;
mod helpers;
mod http;
mod memory;
mod moderation;
mod outage;
mod reports;
mod residents;
mod residents_browser;
mod roles;
mod safeguarding;
mod schema;
mod security;
mod staff;
mod submissions;
mod tokens;
