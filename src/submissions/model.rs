//! Submissions' domain types and rules: what a resident may send, parsed into
//! types that cannot hold a bad value. No I/O here.

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use sha2::{Digest as _, Sha256};

use crate::content::model::Slug;
use crate::error::AppError;
use crate::locale::Locale;

/// An enum the API shows and the database stores under the same names: a
/// GraphQL enum and a sea-orm active enum at once, so a stored value is read
/// as the type or fails (an error, logged), never a guessed default.
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $stored:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, sea_orm::EnumIter,
            sea_orm::DeriveActiveEnum, serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(sea_orm::sea_query::StringLen::None)")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $stored)] #[serde(rename = $stored)] $variant),+
        }

        impl $name {
            /// The name stored and shown, e.g. `IN_REVIEW`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }

            /// The value named `value` exactly, if there is one.
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($stored => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

stored_enum! {
    /// The NHS Friends and Family Test answer to "Overall, how was your experience
    /// of our service?".
    pub enum FftRating {
        VeryGood => "VERY_GOOD",
        Good => "GOOD",
        NeitherGoodNorPoor => "NEITHER_GOOD_NOR_POOR",
        Poor => "POOR",
        VeryPoor => "VERY_POOR",
        DontKnow => "DONT_KNOW",
    }
}

stored_enum! {
    /// How a submission reached us.
    pub enum Channel {
        Web => "WEB",
        Kiosk => "KIOSK",
        Mobile => "MOBILE",
        Paper => "PAPER",
        Phone => "PHONE",
    }
}

stored_enum! {
    /// Who raised a safeguarding concern.
    pub enum ConcernOrigin {
        /// The detector, from the words of the submission.
        Detected => "DETECTED",
        /// A member of staff, by hand.
        Staff => "STAFF",
    }
}

stored_enum! {
    /// What staff decided about a safeguarding concern.
    pub enum ConcernStatus {
        /// Not yet looked at.
        Raised => "RAISED",
        /// A real concern, escalated.
        Confirmed => "CONFIRMED",
        /// Not a concern, with a reason.
        Dismissed => "DISMISSED",
    }
}

stored_enum! {
    pub enum SubmissionKind {
        Feedback => "FEEDBACK",
        Idea => "IDEA",
    }
}

stored_enum! {
    /// Where a piece of feedback is in moderation.
    pub enum FeedbackStatus {
        New => "NEW",
        InReview => "IN_REVIEW",
        Actioned => "ACTIONED",
        Closed => "CLOSED",
        Spam => "SPAM",
    }
}

stored_enum! {
    /// Where an idea is in moderation.
    pub enum IdeaStatus {
        New => "NEW",
        UnderReview => "UNDER_REVIEW",
        Accepted => "ACCEPTED",
        Planned => "PLANNED",
        Implemented => "IMPLEMENTED",
        Declined => "DECLINED",
        Duplicate => "DUPLICATE",
        Spam => "SPAM",
    }
}

/// The longest free text each field accepts, in characters.
pub mod limits {
    pub const COMMENT: usize = 2000;
    pub const IDEA_TITLE: usize = 150;
    pub const IDEA_DESCRIPTION: usize = 5000;
    pub const THEME: usize = 60;
    pub const CONTACT_NAME: usize = 100;
    pub const EMAIL: usize = 254;
    pub const IDEMPOTENCY_KEY: usize = 128;
    pub const SUPPORTER_KEY: usize = 128;
}

/// How far ahead of our clock a device's `capturedAt` may be: kiosk clocks drift.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A client-made key that makes a submission safe to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        opaque_key(value, "idempotencyKey", limits::IDEMPOTENCY_KEY).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-made key that stands for one supporter of ideas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupporterKey(String);

impl SupporterKey {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        opaque_key(value, "supporterKey", limits::SUPPORTER_KEY).map(Self)
    }

    /// What is stored: a hash, so the key a device holds never sits in our database.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

fn opaque_key(value: &str, field: &str, max: usize) -> Result<String, AppError> {
    let valid = (8..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be 8 to {max} letters, digits, '-', '_', '.' or ':' (a UUID is ideal)"),
        ))
    }
}

/// Free text a resident wrote: trimmed, line endings made `\n`, control and
/// invisible characters removed and in Unicode normalisation form C (see
/// [`crate::text`]), never empty and never longer than its field allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeText(String);

impl FreeText {
    pub fn parse(value: &str, field: &str, max_chars: usize) -> Result<Self, AppError> {
        let cleaned = crate::text::clean_free_text(value);
        let trimmed = cleaned.trim();
        if trimmed.is_empty() {
            return Err(AppError::bad_input(field, "must not be empty"));
        }
        if trimmed.chars().count() > max_chars {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {max_chars} characters"),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address of the ordinary `name@domain.tld` shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// A resident's contact email.
    pub fn parse(value: &str) -> Result<Self, AppError> {
        Self::parse_field(value, "contact.email")
    }

    /// An email address given in `field`.
    pub fn parse_field(value: &str, field: &str) -> Result<Self, AppError> {
        let value = value.trim();
        let invalid = || AppError::bad_input(field, "is not an email address");
        crate::text::check_identifier(value, field)?;
        if value.len() > limits::EMAIL || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A UK phone number, kept in its national form (`07700900123`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input("contact.phone", "is not a UK phone number");
        let value = value.trim();
        if value.len() > 32
            || !value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            return Err(invalid());
        }
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        let national = if value.starts_with('+') {
            let rest = digits.strip_prefix("44").ok_or_else(invalid)?;
            // "+44 (0)20 …" writes the trunk zero too.
            let rest = if value.contains("(0)") {
                rest.strip_prefix('0').unwrap_or(rest)
            } else {
                rest
            };
            format!("0{rest}")
        } else {
            digits
        };
        let valid = national.starts_with('0')
            && !national.starts_with("00")
            && (national.len() == 11 || (national.len() == 10 && national.starts_with("01")));
        if valid {
            Ok(Self(national))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to reach a resident who asked to be contacted. Only ever built when
/// they consented.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Contact {
    pub name: Option<FreeText>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
}

impl Contact {
    /// Parses contact details. Without consent nothing is kept, whatever was
    /// sent; with consent, an email or a phone number is needed.
    pub fn parse(
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
        consent: bool,
    ) -> Result<Option<Self>, AppError> {
        fn present(value: Option<&str>) -> Option<&str> {
            value.filter(|v| !v.trim().is_empty())
        }
        let contact = Self {
            name: present(name)
                .map(|name| FreeText::parse(name, "contact.name", limits::CONTACT_NAME))
                .transpose()?,
            email: present(email).map(Email::parse).transpose()?,
            phone: present(phone).map(Phone::parse).transpose()?,
        };
        if !consent {
            return Ok(None);
        }
        if contact.email.is_none() && contact.phone.is_none() {
            return Err(AppError::bad_input(
                "contact",
                "give an email or a phone number so we can contact you",
            ));
        }
        Ok(Some(contact))
    }
}

/// When a device says the resident filled in the form: never in the future.
pub fn captured_at(
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    match value {
        Some(at) if at > now + CLOCK_SKEW => Err(AppError::bad_input(
            "capturedAt",
            "must not be in the future",
        )),
        // Kept to the microsecond, as the database keeps it.
        other => Ok(other.map(|at| at.trunc_subsecs(6))),
    }
}

/// What every submission carries besides its own fields, parsed and checked.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub key: IdempotencyKey,
    pub channel: Channel,
    pub locale: Locale,
    pub contact: Option<Contact>,
    pub captured_at: Option<DateTime<Utc>>,
}

impl Envelope {
    /// The fingerprint of a submission with these fields of its own kind
    /// (see [`fingerprint`]).
    pub fn fingerprint(&self, own: [Option<&str>; 4]) -> String {
        let captured = self.captured_at.map(|at| at.to_rfc3339());
        let [name, email, phone] = contact_fields(self.contact.as_ref());
        let carried = [
            Some(self.channel.as_str()),
            Some(self.locale.as_str()),
            name,
            email,
            phone,
            captured.as_deref(),
        ];
        fingerprint(&[&own[..], &carried[..]].concat())
    }
}

/// Feedback, parsed and checked.
#[derive(Clone, Debug)]
pub struct NewFeedback {
    pub service: Slug,
    pub rating: FftRating,
    pub comment: Option<FreeText>,
    pub envelope: Envelope,
}

/// An idea, parsed and checked.
#[derive(Clone, Debug)]
pub struct NewIdea {
    pub title: FreeText,
    pub description: FreeText,
    pub theme: Option<FreeText>,
    pub envelope: Envelope,
}

/// A fingerprint of what was submitted, to tell a retry from a different
/// submission under the same key. Each field is length-prefixed, so no two
/// payloads share a fingerprint by moving text between fields.
pub fn fingerprint(fields: &[Option<&str>]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        match field {
            Some(value) => {
                hasher.update([1]);
                hasher.update((value.len() as u64).to_le_bytes());
                hasher.update(value.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    hex::encode(hasher.finalize())
}

fn contact_fields(contact: Option<&Contact>) -> [Option<&str>; 3] {
    [
        contact.and_then(|c| c.name.as_ref()).map(FreeText::as_str),
        contact.and_then(|c| c.email.as_ref()).map(Email::as_str),
        contact.and_then(|c| c.phone.as_ref()).map(Phone::as_str),
    ]
}

impl NewFeedback {
    pub fn fingerprint(&self) -> String {
        self.envelope.fingerprint([
            Some("feedback"),
            Some(self.service.as_str()),
            Some(self.rating.as_str()),
            self.comment.as_ref().map(FreeText::as_str),
        ])
    }
}

impl NewIdea {
    pub fn fingerprint(&self) -> String {
        self.envelope.fingerprint([
            Some("idea"),
            Some(self.title.as_str()),
            Some(self.description.as_str()),
            self.theme.as_ref().map(FreeText::as_str),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_round_trip() {
        for rating in [
            FftRating::VeryGood,
            FftRating::Good,
            FftRating::NeitherGoodNorPoor,
            FftRating::Poor,
            FftRating::VeryPoor,
            FftRating::DontKnow,
        ] {
            assert_eq!(FftRating::parse(rating.as_str()), Some(rating));
        }
        for status in [
            IdeaStatus::New,
            IdeaStatus::UnderReview,
            IdeaStatus::Accepted,
            IdeaStatus::Planned,
            IdeaStatus::Implemented,
            IdeaStatus::Declined,
            IdeaStatus::Duplicate,
            IdeaStatus::Spam,
        ] {
            assert_eq!(IdeaStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(Channel::parse("KIOSK"), Some(Channel::Kiosk));
        assert_eq!(Channel::parse("kiosk"), None);
    }

    #[test]
    fn free_text_is_cleaned_and_bounded() {
        let text = FreeText::parse("  Good\r\nservice\u{0}\u{7} \t", "comment", 20).unwrap();
        assert_eq!(text.as_str(), "Good\nservice");
        assert!(FreeText::parse(" \n\t ", "comment", 20).is_err());
        assert!(FreeText::parse(&"é".repeat(21), "comment", 20).is_err());
        assert!(FreeText::parse(&"é".repeat(20), "comment", 20).is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").unwrap().as_str(),
            "Ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "ada@exa..mple.org",
            "ada@-x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for (input, national) in [
            ("07700 900123", "07700900123"),
            ("+44 7700 900123", "07700900123"),
            ("+44 (0)20 7946 0018", "02079460018"),
            ("(020) 7946-0018", "02079460018"),
            ("01632 960001", "01632960001"),
        ] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), national, "{input}");
        }
        for bad in [
            "",
            "12345",
            "+33 1 23 45 67 89",
            "0770090012345",
            "call me",
            "00447700900123",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contact_needs_consent_and_a_way_to_reach() {
        assert_eq!(
            Contact::parse(Some("Ada"), Some("ada@example.org"), None, false).unwrap(),
            None
        );
        assert!(Contact::parse(Some("Ada"), None, None, true).is_err());
        let contact = Contact::parse(None, None, Some("07700 900123"), true)
            .unwrap()
            .unwrap();
        assert_eq!(contact.phone.unwrap().as_str(), "07700900123");
        // A malformed detail is an error even without consent: the resident
        // should know what they typed was wrong.
        assert!(Contact::parse(None, Some("nope"), None, false).is_err());
    }

    #[test]
    fn captured_at_may_not_be_in_the_future() {
        let now = Utc::now();
        assert!(captured_at(Some(now - Duration::days(3)), now).is_ok());
        assert!(captured_at(Some(now + Duration::minutes(1)), now).is_ok());
        assert!(captured_at(Some(now + Duration::hours(1)), now).is_err());
    }

    #[test]
    fn keys_are_opaque_but_bounded() {
        assert!(IdempotencyKey::parse("0195f3a2-7c1e-7000-8000-000000000001").is_ok());
        for bad in ["short", "has space in it", "semi;colon;", &"k".repeat(129)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_separate_fields() {
        assert_ne!(
            fingerprint(&[Some("ab"), Some("c")]),
            fingerprint(&[Some("a"), Some("bc")])
        );
        assert_ne!(
            fingerprint(&[None, Some("a")]),
            fingerprint(&[Some("a"), None])
        );
        assert_eq!(fingerprint(&[Some("a")]), fingerprint(&[Some("a")]));
    }
}
