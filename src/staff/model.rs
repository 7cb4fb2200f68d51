//! Staff domain types and rules: roles, sign-in emails, display names and the
//! password policy. No I/O here.

use std::collections::BTreeSet;
use std::fmt::Write as _;

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

/// Whose password it is: what an attacker who knows the account would try.
#[derive(Clone, Debug, Default)]
pub struct PasswordOwner {
    pub email: Option<StaffEmail>,
    pub display_name: Option<DisplayName>,
}

impl PasswordOwner {
    /// The words zxcvbn should treat as known to an attacker: the email, its
    /// local part and each piece of it, the display name and each word of
    /// it, and the service's own names.
    fn guessable_words(&self) -> Vec<String> {
        let mut words: Vec<String> = SERVICE_WORDS.iter().map(|&word| word.to_owned()).collect();
        if let Some(email) = &self.email {
            let email = email.as_str();
            words.push(email.to_owned());
            words.extend(email.split('@').next().map(str::to_owned));
            words.extend(pieces(email));
        }
        if let Some(name) = &self.display_name {
            words.push(name.as_str().to_owned());
            words.extend(pieces(name.as_str()));
        }
        words
    }
}

/// The letters-and-digits runs of `text` long enough to be worth guessing.
fn pieces(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|piece| piece.chars().count() >= 3)
        .map(str::to_owned)
}

/// Names anyone attacking this service would try with the account's own.
const SERVICE_WORDS: &[&str] = &["hamlet", "towerhamlets", "nhs"];

/// A password that meets the policy, for a new account or a change. Only
/// setting a password scores it; signing in checks the hash and nothing else.
///
/// The policy follows NCSC and NIST SP 800-63B guidance: length matters, not
/// character classes. At least 12 characters; at most 128, so that hashing
/// cannot be made expensive with a huge input; not the account's own email;
/// and hard to guess by zxcvbn's estimate (a score of at least
/// [`Self::MIN_SCORE`] of 4), which knows common passwords, words, names,
/// keyboard patterns, repeats, sequences and dates, and is told the
/// account's email and display name.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;
    /// zxcvbn's "safely unguessable": more than 10⁸ guesses.
    pub const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

    /// Scores the password with zxcvbn, a few milliseconds' work (tens for
    /// the longest): run it off the async threads, as
    /// [`crate::staff::password::Passwords::parse_new`] does.
    pub fn parse(value: &str, owner: &PasswordOwner, field: &str) -> Result<Self, AppError> {
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
        let holds_email = owner.email.as_ref().is_some_and(|email| {
            let local = email.as_str().split('@').next().unwrap_or_default();
            lowered.contains(email.as_str()) || (local.len() >= 4 && lowered.contains(local))
        });
        if holds_email {
            return Err(AppError::bad_input(
                field,
                "must not contain the account's email address",
            ));
        }
        let words = owner.guessable_words();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(value, &words);
        if estimate.score() < Self::MIN_SCORE {
            return Err(AppError::bad_input(field, too_easy(estimate.feedback())));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Why a password is too easy to guess, in zxcvbn's words where it has
/// some; they describe the kind of weakness and never repeat the password.
fn too_easy(feedback: Option<&zxcvbn::feedback::Feedback>) -> String {
    let mut reason = String::from("is too easy to guess.");
    let warning = feedback.and_then(|feedback| feedback.warning());
    let suggestions = feedback.map_or(&[][..], |feedback| feedback.suggestions());
    if let Some(warning) = warning {
        let _ = write!(reason, " {warning}");
    }
    for suggestion in suggestions {
        let _ = write!(reason, " {suggestion}");
    }
    if suggestions.is_empty() {
        reason.push_str(" Try three or four random words.");
    }
    reason
}

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
        let owner = PasswordOwner {
            email: Some(StaffEmail::parse("ada@example.org", "email").unwrap()),
            display_name: None,
        };
        for weak in [
            "short",
            "password1234567",
            "aaaaaaaaaaaaaaaa",
            "ababababababab",
            "ada@example.org!!",
            &"long enough ".repeat(11),
        ] {
            let error = NewPassword::parse(weak, &owner, "password").err();
            assert_eq!(
                error.as_ref().map(AppError::code),
                Some("BAD_USER_INPUT"),
                "{weak}"
            );
        }
        assert!(NewPassword::parse("correct horse battery staple", &owner, "password").is_ok());
        assert!(
            NewPassword::parse(
                "plum kettle orbit 42",
                &PasswordOwner::default(),
                "password"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_password_made_of_the_owners_name_or_email_is_too_easy() {
        let owner = PasswordOwner {
            email: Some(StaffEmail::parse("cardamom.quill@example.org", "email").unwrap()),
            display_name: Some(DisplayName::parse("Marigold Featherstonehaugh", "name").unwrap()),
        };
        for own in [
            "marigold featherstonehaugh",
            "Featherstonehaugh1985",
            "cardamom.quill@example.org is mine",
        ] {
            assert!(
                NewPassword::parse(own, &PasswordOwner::default(), "password").is_ok(),
                "{own} is strong for a stranger"
            );
            assert!(
                NewPassword::parse(own, &owner, "password").is_err(),
                "{own} is weak for its owner"
            );
        }
    }

    #[test]
    fn a_weak_password_is_refused_in_plain_words_that_never_repeat_it() {
        let owner = PasswordOwner::default();
        let reason = |password: &str| match NewPassword::parse(password, &owner, "newPassword") {
            Err(AppError::BadInput { field, reason }) => {
                assert_eq!(field, "newPassword");
                assert!(!reason.contains(password), "{reason}");
                reason
            }
            _ => panic!("{password} was accepted"),
        };
        let common = reason("Password1234");
        assert!(common.starts_with("is too easy to guess."), "{common}");
        assert!(
            common.contains("similar to a commonly used password"),
            "{common}"
        );
        let repeat = reason("aaaaaaaaaaaaaaaa");
        assert!(repeat.contains("Repeats like"), "{repeat}");
        let ours = reason("towerhamlets2024");
        assert!(ours.contains("Add another word"), "{ours}");
    }
}
