//! Privacy: what the free text residents write (a comment, an idea's title or
//! description) gives away or reveals. It owns the personal-data scan (NHS
//! numbers, UK phone numbers, emails, postcodes), the masking public views use,
//! and the safeguarding check that keeps items suggesting a risk of harm out of
//! public view and at the top of the moderators' queue.
//!
//! The scan and the masking are pure: the submission and moderation features
//! call them and store what they say. `lifecycle` erases personal data on
//! request and when the retention period has passed.

pub mod graphql;
pub mod lifecycle;
pub mod model;
pub mod safeguarding;

pub use model::{PiiKind, PiiMatch, detect, is_valid_nhs_number, kinds, mask};
pub use safeguarding::suggests_risk;
