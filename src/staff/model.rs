//! Staff domain types and rules: roles, sign-in emails, display names and the
//! password policy. No I/O here.

use std::collections::BTreeSet;

use crate::error::AppError;
use crate::submissions::model::{Email, FreeText};

/// What a staff member may do. A staff member may hold several roles; none
/// implies another.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Triages feedback and ideas, answers ideas in public.
    Moderator,
    /// Edits the partnership's content.
    Editor,
    /// Reads statistics; never free text or contact details.
    Analyst,
    /// Manages staff and kiosks, erases submissions, reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Moderator, Role::Editor, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moderator => "MODERATOR",
            Self::Editor => "EDITOR",
            Self::Analyst => "ANALYST",
            Self::Admin => "ADMIN",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// A staff member's roles: at least one, each once.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    pub fn parse(roles: &[Role], field: &str) -> Result<Self, AppError> {
        if roles.is_empty() {
            return Err(AppError::bad_input(field, "give at least one role"));
        }
        Ok(Self(roles.iter().copied().collect()))
    }

    /// Roles as stored. A name hamlet does not know (a newer version's, or
    /// a hand edit) is an error, logged, never silently dropped or guessed.
    pub fn from_stored(value: &str) -> Result<Self, AppError> {
        value
            .split(',')
            .filter(|name| !name.is_empty())
            .map(|name| {
                Role::parse(name).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "a stored role is not one hamlet knows: {name:?}"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn any_of(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.contains(*role))
    }

    pub fn to_vec(&self) -> Vec<Role> {
        self.0.iter().copied().collect()
    }
}

/// The email a staff member signs in with, lower-cased so it matches however
/// it is typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffEmail(String);

impl StaffEmail {
    pub fn parse(value: &str, field: &str) -> Result<Self, AppError> {
        Ok(Self(
            Email::parse_field(value, field)?.as_str().to_lowercase(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name colleagues see, e.g. in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(FreeText);

impl DisplayName {
    pub const MAX: usize = 100;

    pub fn parse(value: &str, field: &str) -> Result<Self, AppError> {
        let text = FreeText::parse(value, field, Self::MAX)?;
        if text.as_str().contains('\n') {
            return Err(AppError::bad_input(field, "must be one line"));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A password that meets the policy, for a new account or a change.
///
/// The policy follows NCSC and NIST SP 800-63B guidance: length matters, not
/// character classes. At least 12 characters; at most 128, so that hashing
/// cannot be made expensive with a huge input; not one of the passwords
/// attackers try first; and not the account's own email.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(value: &str, email: Option<&StaffEmail>, field: &str) -> Result<Self, AppError> {
        let chars = value.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let lowered = value.to_lowercase();
        let distinct: BTreeSet<char> = lowered.chars().collect();
        let guessable = distinct.len() < 4
            || COMMON.iter().any(|common| lowered.starts_with(common))
            || email.is_some_and(|email| {
                let local = email.as_str().split('@').next().unwrap_or_default();
                lowered.contains(email.as_str()) || (local.len() >= 4 && lowered.contains(local))
            });
        if guessable {
            return Err(AppError::bad_input(
                field,
                "is too easy to guess: try three or four random words",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Beginnings of the passwords most often tried first.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "123456",
    "qwerty",
    "letmein",
    "welcome",
    "iloveyou",
    "abc123",
    "admin",
    "changeme",
    "towerhamlets",
    "nhs",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_storage() {
        let roles = Roles::parse(&[Role::Admin, Role::Moderator, Role::Admin], "roles").unwrap();
        assert_eq!(roles.to_stored(), "MODERATOR,ADMIN");
        assert_eq!(Roles::from_stored("MODERATOR,ADMIN").unwrap(), roles);
        let unknown = Roles::from_stored("MODERATOR,OVERLORD").unwrap_err();
        assert_eq!(unknown.code(), "INTERNAL");
        assert!(Roles::parse(&[], "roles").is_err());
        assert!(roles.any_of(&[Role::Analyst, Role::Admin]));
        assert!(!roles.any_of(&[Role::Editor]));
        assert_eq!(Role::parse(" editor "), Some(Role::Editor));
    }

    #[test]
    fn staff_emails_are_lower_cased() {
        let email = StaffEmail::parse(" Ada.Moderator@Example.ORG ", "email").unwrap();
        assert_eq!(email.as_str(), "ada.moderator@example.org");
        assert!(StaffEmail::parse("not an email", "email").is_err());
    }

    #[test]
    fn the_password_policy_wants_length_and_no_obvious_guesses() {
        let email = StaffEmail::parse("ada@example.org", "email").unwrap();
        for weak in [
            "short",
            "password1234567",
            "aaaaaaaaaaaaaaaa",
            "ababababababab",
            "ada@example.org!!",
            &"long enough ".repeat(11),
        ] {
            assert!(
                NewPassword::parse(weak, Some(&email), "password").is_err(),
                "{weak}"
            );
        }
        assert!(
            NewPassword::parse("correct horse battery staple", Some(&email), "password").is_ok()
        );
        assert!(NewPassword::parse("plum kettle orbit 42", None, "password").is_ok());
    }
}
