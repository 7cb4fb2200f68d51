//! Content: the organisation's own text, its pages and the services residents
//! give feedback about, in every locale the partnership publishes, and the
//! full-text search over them. Partner websites read all of it without signing in.

pub mod entity;
pub mod graphql;
pub mod markdown;
pub mod model;
pub mod seed;
pub mod store;
