//! Moderation's rules: the workflows feedback and ideas move through, and the
//! tags staff put on them. No I/O here.

use crate::error::AppError;
use crate::submissions::model::{FeedbackStatus, IdeaStatus};

/// A moderation workflow: the statuses an item may move to from each status.
/// Staying where it is is always allowed (it changes nothing).
pub trait Workflow: Copy + Eq + 'static {
    fn next(self) -> &'static [Self];

    fn name(self) -> &'static str;

    fn can_become(self, to: Self) -> bool {
        self == to || self.next().contains(&to)
    }

    /// Checks a move, naming `field` when it is not allowed.
    fn check_move(self, to: Self, field: &str) -> Result<(), AppError> {
        if self.can_become(to) {
            Ok(())
        } else {
            Err(AppError::bad_input(
                field,
                format!("cannot move from {} to {}", self.name(), to.name()),
            ))
        }
    }
}

impl Workflow for FeedbackStatus {
    /// Feedback is reviewed, acted on and closed; it can be reopened from
    /// ACTIONED or CLOSED; anything may be marked SPAM, and SPAM may go back to
    /// NEW when it was marked by mistake.
    fn next(self) -> &'static [Self] {
        use FeedbackStatus::{Actioned, Closed, InReview, New, Spam};
        match self {
            New => &[InReview, Actioned, Closed, Spam],
            InReview => &[Actioned, Closed, Spam],
            Actioned => &[Closed, InReview, Spam],
            Closed => &[InReview, Spam],
            Spam => &[New],
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Workflow for IdeaStatus {
    /// NEW → UNDER_REVIEW → ACCEPTED → PLANNED → IMPLEMENTED, or to DECLINED
    /// from any step before IMPLEMENTED. DUPLICATE is reached only by merging.
    /// Anything may be marked SPAM, and SPAM may go back to NEW.
    fn next(self) -> &'static [Self] {
        use IdeaStatus::{
            Accepted, Declined, Duplicate, Implemented, New, Planned, Spam, UnderReview,
        };
        match self {
            New => &[UnderReview, Declined, Spam],
            UnderReview => &[Accepted, Declined, Spam],
            Accepted => &[Planned, Declined, Spam],
            Planned => &[Implemented, Declined, Spam],
            Implemented | Declined | Duplicate => &[Spam],
            Spam => &[New],
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// Whether an idea in `status` may be shown on the public board.
pub fn publishable(status: IdeaStatus, safeguarding: bool) -> Result<(), AppError> {
    if safeguarding {
        return Err(AppError::bad_input(
            "published",
            "items marked for safeguarding are never published",
        ));
    }
    if matches!(status, IdeaStatus::Spam | IdeaStatus::Duplicate) {
        return Err(AppError::bad_input(
            "published",
            format!("a {} idea cannot be published", status.as_str()),
        ));
    }
    Ok(())
}

/// A staff tag such as `waiting-times`: lower-case letters, digits and
/// hyphens, 1 to 40 characters, so that tags group reliably in reports.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub const MAX_CHARS: usize = 40;
    /// Tags one item may carry.
    pub const MAX_PER_ITEM: usize = 20;

    pub fn parse(value: &str, field: &str) -> Result<Self, AppError> {
        let tag: String = value
            .trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-");
        let valid = !tag.is_empty()
            && tag.chars().count() <= Self::MAX_CHARS
            && tag.chars().all(|c| c.is_alphanumeric() || c == '-');
        if valid {
            Ok(Self(tag))
        } else {
            Err(AppError::bad_input(
                field,
                format!(
                    "a tag is 1 to {} letters, digits or hyphens",
                    Self::MAX_CHARS
                ),
            ))
        }
    }

    /// A set of tags: each once, sorted, at most [`Self::MAX_PER_ITEM`].
    pub fn parse_all(values: &[String], field: &str) -> Result<Vec<Self>, AppError> {
        let mut tags = values
            .iter()
            .map(|value| Self::parse(value, field))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > Self::MAX_PER_ITEM {
            return Err(AppError::bad_input(
                field,
                format!("at most {} tags", Self::MAX_PER_ITEM),
            ));
        }
        Ok(tags)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEEDBACK: [FeedbackStatus; 5] = [
        FeedbackStatus::New,
        FeedbackStatus::InReview,
        FeedbackStatus::Actioned,
        FeedbackStatus::Closed,
        FeedbackStatus::Spam,
    ];

    const IDEAS: [IdeaStatus; 8] = [
        IdeaStatus::New,
        IdeaStatus::UnderReview,
        IdeaStatus::Accepted,
        IdeaStatus::Planned,
        IdeaStatus::Implemented,
        IdeaStatus::Declined,
        IdeaStatus::Duplicate,
        IdeaStatus::Spam,
    ];

    /// Every pair of statuses, against the table written out by hand.
    #[test]
    fn feedback_moves_exactly_as_the_table_says() {
        let allowed = |from: FeedbackStatus, to: FeedbackStatus| {
            use FeedbackStatus::*;
            from == to
                || to == Spam
                || matches!(
                    (from, to),
                    (New, InReview | Actioned | Closed)
                        | (InReview, Actioned | Closed)
                        | (Actioned, Closed | InReview)
                        | (Closed, InReview)
                        | (Spam, New)
                )
        };
        for from in FEEDBACK {
            for to in FEEDBACK {
                assert_eq!(from.can_become(to), allowed(from, to), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn ideas_move_exactly_as_the_design_says() {
        let allowed = |from: IdeaStatus, to: IdeaStatus| {
            use IdeaStatus::*;
            from == to
                || to == Spam
                || matches!(
                    (from, to),
                    (New, UnderReview)
                        | (UnderReview, Accepted)
                        | (Accepted, Planned)
                        | (Planned, Implemented)
                        | (New | UnderReview | Accepted | Planned, Declined)
                        | (Spam, New)
                )
        };
        for from in IDEAS {
            for to in IDEAS {
                assert_eq!(from.can_become(to), allowed(from, to), "{from:?} -> {to:?}");
            }
        }
        // DUPLICATE is never a move a moderator makes.
        for from in IDEAS {
            if from != IdeaStatus::Duplicate {
                assert!(!from.can_become(IdeaStatus::Duplicate), "{from:?}");
            }
        }
        let error = IdeaStatus::New.check_move(IdeaStatus::Implemented, "status");
        assert!(
            error
                .unwrap_err()
                .to_string()
                .contains("NEW to IMPLEMENTED")
        );
    }

    #[test]
    fn safeguarding_spam_and_duplicates_are_never_published() {
        assert!(publishable(IdeaStatus::Accepted, false).is_ok());
        assert!(publishable(IdeaStatus::Accepted, true).is_err());
        assert!(publishable(IdeaStatus::Spam, false).is_err());
        assert!(publishable(IdeaStatus::Duplicate, false).is_err());
    }

    #[test]
    fn tags_are_normalised_and_bounded() {
        let tags = Tag::parse_all(
            &[
                "Waiting Times".into(),
                "waiting-times".into(),
                "parking".into(),
            ],
            "tags",
        )
        .unwrap();
        let names: Vec<_> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["parking", "waiting-times"]);
        for bad in ["", "   ", "no_underscores", "semi;colon", &"x".repeat(41)] {
            assert!(Tag::parse(bad, "tags").is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(Tag::parse_all(&many, "tags").is_err());
    }
}
