//! Privacy: what the free text residents write (a comment, an idea's title or
//! description) gives away or reveals. It owns the personal-data scan (NHS
//! numbers, UK phone numbers, emails, postcodes), the masking public views use,
//! and the safeguarding check that keeps items suggesting a risk of harm out of
//! public view and at the top of the moderators' queue.
//!
//! The scan and the masking are pure: the submission and moderation features
//! call them and store what they say. `lifecycle` erases personal data on
//! request and when the retention period has passed.

pub mod evaluation;
pub mod graphql;
pub mod lifecycle;
pub mod model;
pub mod safeguarding;

pub use model::{PiiKind, PiiKinds, PiiMatch, detect, is_valid_nhs_number, kinds, mask};
pub use safeguarding::{Concern, SafeguardingCategory, suggests_risk};

/// What screening a submission's free text found: the personal data it holds
/// and whether it suggests a risk of harm, and of which kinds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Screening {
    pub pii_flags: PiiKinds,
    /// Whether any text raised a safeguarding concern.
    pub safeguarding: bool,
    /// The concerns, one per category (the strongest of any text), strongest
    /// first.
    pub safeguarding_concerns: Vec<Concern>,
}

/// Screens a submission's texts (a comment; an idea's title, description and
/// theme). The one screening every way in uses: the API and the CSV import.
pub fn screen(texts: &[&str]) -> Screening {
    let mut concerns: Vec<Concern> = Vec::new();
    for text in texts {
        for concern in safeguarding::concerns(text) {
            match concerns.iter_mut().find(|c| c.category == concern.category) {
                Some(known) if known.strength >= concern.strength => {}
                Some(known) => *known = concern,
                None => concerns.push(concern),
            }
        }
    }
    concerns.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(a.category.cmp(&b.category))
    });
    Screening {
        pii_flags: texts
            .iter()
            .fold(PiiKinds::NONE, |found, text| found.union(kinds(text))),
        safeguarding: !concerns.is_empty(),
        safeguarding_concerns: concerns,
    }
}
