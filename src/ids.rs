//! Ids of the things hamlet stores, each its own type, so that a
//! `FeedbackId` cannot be passed where a `StaffId` is meant. All are UUIDv7
//! (time-ordered) underneath and stored as plain UUID columns.

use uuid::Uuid;

use crate::error::{AppError, AppResult};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, ordered after every id made before it.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id stored as `uuid`.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// An id sent by a client in `field`.
            pub fn parse(id: &str, field: &str) -> AppResult<Self> {
                Uuid::parse_str(id.trim())
                    .map(Self)
                    .map_err(|_| AppError::bad_input(field, "is not an id"))
            }

            /// An id sent by a client, or `None` when it is not one (a
            /// look-up by such an id finds nothing).
            pub fn parse_or_none(id: &str) -> Option<Self> {
                Uuid::parse_str(id.trim()).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(id: $name) -> sea_orm::Value {
                id.0.into()
            }
        }
    };
}

id!(
    /// A piece of feedback about a service.
    FeedbackId
);
id!(
    /// An idea for improving health and wellbeing.
    IdeaId
);
id!(
    /// A staff member's account.
    StaffId
);
id!(
    /// A registered kiosk.
    KioskId
);
id!(
    /// A content page (all its locales and revisions).
    PageId
);

/// A submission a moderator works on: a piece of feedback or an idea. Tags,
/// notes and erasure apply to either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubmissionId {
    Feedback(FeedbackId),
    Idea(IdeaId),
}

impl SubmissionId {
    pub fn uuid(self) -> Uuid {
        match self {
            Self::Feedback(id) => id.uuid(),
            Self::Idea(id) => id.uuid(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_what_they_print_and_refuse_anything_else() {
        let id = FeedbackId::new();
        assert_eq!(FeedbackId::parse(&id.to_string(), "id").unwrap(), id);
        assert!(FeedbackId::parse_or_none("FB-7K3Q-9XMD").is_none());
        let error = StaffId::parse("not an id", "assigneeId").unwrap_err();
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert!(FeedbackId::new() > id, "ids are time-ordered");
    }
}
