//! Staff: the partnership's moderators, editors, analysts and admins. It owns
//! accounts and roles, password hashing, signing in (access and refresh
//! tokens, sessions) and the admin's management of accounts. The edge turns a
//! bearer token into a [`crate::auth::Viewer`] through this feature's store.

pub mod actions;
pub mod entity;
pub mod graphql;
pub mod model;
pub mod password;
pub mod store;
pub mod throttle;
pub mod token;
