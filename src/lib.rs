//! hamlet: a headless content and feedback service for a health and social care
//! partnership. One GraphQL API serves partner websites (content), kiosks and
//! apps (residents' feedback and ideas) and staff (moderation, editing, admin).
//!
//! Shared plumbing sits at the top level; each feature has its own folder.

pub mod app;
pub mod audit;
pub mod auth;
pub mod background;
pub mod cache;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod content;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod loaders;
pub mod locale;
pub mod metrics;
pub mod moderation;
pub mod pagination;
pub mod privacy;
pub mod query_limits;
pub mod rate_limit;
pub mod reports;
pub mod residents;
pub mod staff;
pub mod submissions;
pub mod telemetry;
pub mod text;
pub mod webhooks;

pub use app::App;
pub use config::Config;
