//! Content's domain types and rules. No I/O here.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::AppError;

/// A page or service address: lowercase letters, digits and single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(value: &str, field: &str) -> Result<Self, AppError> {
        let valid = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(AppError::bad_input(
                field,
                "must be lowercase letters, digits and single hyphens, at most 100 characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::stored_enum! {
    /// Where a page is in its life.
    pub enum PageStatus {
        /// Being written; never shown to the public.
        Draft => "DRAFT",
        /// Public from its `publishedAt` time.
        Published => "PUBLISHED",
        /// Withdrawn from the public.
        Archived => "ARCHIVED",
    }
}

crate::stored_enum! {
    /// What kind of thing a page's media item is.
    pub enum MediaKind {
        Video => "VIDEO",
        Image => "IMAGE",
        Audio => "AUDIO",
        Document => "DOCUMENT",
    }
}

/// The organisation's text in one locale.
#[derive(Clone, Debug)]
pub struct OrganisationView {
    pub name: String,
    pub vision: String,
    pub mission: String,
    pub purpose: String,
    pub values: Vec<ValueView>,
    pub locale: String,
    pub available_locales: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ValueView {
    pub position: i32,
    pub title: String,
    pub description: Option<String>,
}

/// A page in one locale, with its media.
#[derive(Clone, Debug)]
pub struct PageView {
    pub id: Uuid,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub body_html: String,
    pub media: Vec<MediaView>,
    pub status: PageStatus,
    pub version: i32,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub available_locales: Vec<String>,
    /// When the page is set to be published next, if it is.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The version the public reads, once the page has been published.
    pub published_version: Option<i32>,
}

#[derive(Clone, Debug)]
pub struct MediaView {
    pub position: i32,
    pub kind: MediaKind,
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub transcript: Option<String>,
    pub captions_url: Option<String>,
    pub alt_text: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ServiceView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub parent_organisation: String,
    pub ods_code: Option<String>,
}

/// What a search hit points at.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchHitKind {
    Page,
    Service,
}

impl SearchHitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Service => "service",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Page, Self::Service]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

#[derive(Clone, Debug)]
pub struct SearchHitView {
    pub kind: SearchHitKind,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub snippet: String,
    pub score: f64,
}

/// A resident's search text, reduced to the words both databases search for.
///
/// Only letters and digits survive, so nothing a resident types can reach the
/// FTS5 or `tsquery` syntax. The last word matches as a prefix, for search as
/// you type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    words: Vec<String>,
}

impl SearchText {
    pub const MAX_CHARS: usize = 200;
    pub const MAX_WORDS: usize = 8;

    pub fn parse(text: &str) -> Result<Self, AppError> {
        if text.chars().count() > Self::MAX_CHARS {
            return Err(AppError::bad_input(
                "text",
                "must be at most 200 characters",
            ));
        }
        let words: Vec<String> = text
            .split(|c: char| !is_word_char(c))
            .filter(|word| !word.is_empty())
            .take(Self::MAX_WORDS)
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return Err(AppError::bad_input(
                "text",
                "must contain at least one letter or digit",
            ));
        }
        Ok(Self { words })
    }

    /// An FTS5 query: every word must match, the last as a prefix.
    pub fn to_fts5(&self) -> String {
        let mut query = self
            .words
            .iter()
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(" ");
        query.push('*');
        query
    }

    /// A PostgreSQL `tsquery`: every word must match, the last as a prefix.
    pub fn to_tsquery(&self) -> String {
        let mut query = self.words.join(" & ");
        query.push_str(":*");
        query
    }
}

/// Letters, digits and the combining marks that many scripts write words with
/// (Bengali's vowel signs and virama, Urdu's harakat): splitting on a mark would
/// cut a Bengali word into meaningless pieces.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c,
            '\u{0300}'..='\u{036F}'          // combining diacritical marks
            | '\u{0610}'..='\u{061A}'        // Arabic marks
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06ED}'
            | '\u{0900}'..='\u{0963}'        // Indic scripts, less the dandas
            | '\u{0966}'..='\u{0DFF}'
            | '\u{200C}' | '\u{200D}') // zero-width (non-)joiners inside words
}

/// A media item as an editor sends it and a revision keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaDraft {
    pub kind: MediaKind,
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub transcript: Option<String>,
    pub captions_url: Option<String>,
    pub alt_text: Option<String>,
}

impl MediaDraft {
    pub fn view(&self, position: i32) -> MediaView {
        MediaView {
            position,
            kind: self.kind,
            title: self.title.clone(),
            description: self.description.clone(),
            url: self.url.clone(),
            transcript: self.transcript.clone(),
            captions_url: self.captions_url.clone(),
            alt_text: self.alt_text.clone(),
        }
    }
}

impl From<&MediaView> for MediaDraft {
    fn from(view: &MediaView) -> Self {
        Self {
            kind: view.kind,
            title: view.title.clone(),
            description: view.description.clone(),
            url: view.url.clone(),
            transcript: view.transcript.clone(),
            captions_url: view.captions_url.clone(),
            alt_text: view.alt_text.clone(),
        }
    }
}

/// A link an editor gives for media: http or https only, so no `javascript:`
/// or `data:` address ever reaches a partner's page.
pub fn media_url(value: &str, field: &str) -> Result<String, AppError> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let valid = (lower.starts_with("https://") || lower.starts_with("http://"))
        && value.len() <= 2000
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(value.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            "must be an http or https address",
        ))
    }
}

/// The accessibility rules a page's media must meet before the public sees
/// it: a video needs a transcript or captions, audio a transcript, an image
/// alternative text.
pub fn check_accessible(media: &[MediaDraft]) -> Result<(), AppError> {
    let present = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    for (position, item) in media.iter().enumerate() {
        let missing = match item.kind {
            MediaKind::Video if !present(&item.transcript) && !present(&item.captions_url) => {
                Some("a video needs a transcript or captions")
            }
            MediaKind::Audio if !present(&item.transcript) => Some("audio needs a transcript"),
            MediaKind::Image if !present(&item.alt_text) => Some("an image needs alternative text"),
            _ => None,
        };
        if let Some(reason) = missing {
            return Err(AppError::bad_input(
                format!("media[{position}]"),
                format!("{reason} before the page is published (\"{}\")", item.title),
            ));
        }
    }
    Ok(())
}

/// Limits on what an editor writes, in characters.
pub mod limits {
    pub const TITLE: usize = 200;
    pub const SUMMARY: usize = 500;
    pub const BODY: usize = 50_000;
    pub const MEDIA_TEXT: usize = 500;
    pub const TRANSCRIPT: usize = 50_000;
    pub const MEDIA_ITEMS: usize = 20;
    pub const ORGANISATION_TEXT: usize = 5_000;
    pub const VALUES: usize = 12;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_strict() {
        assert!(Slug::parse("vision-and-purpose", "slug").is_ok());
        assert!(Slug::parse("a1", "slug").is_ok());
        for bad in [
            "",
            "Vision",
            "a--b",
            "-a",
            "a-",
            "a b",
            "a_b",
            "é",
            &"a".repeat(101),
        ] {
            assert!(Slug::parse(bad, "slug").is_err(), "{bad}");
        }
    }

    #[test]
    fn search_text_keeps_only_words() {
        let text = SearchText::parse("  Wellbeing\" OR title:* NEAR(x) ").unwrap();
        assert_eq!(
            text.to_fts5(),
            "\"wellbeing\" \"or\" \"title\" \"near\" \"x\"*"
        );
        assert_eq!(text.to_tsquery(), "wellbeing & or & title & near & x:*");
    }

    #[test]
    fn search_text_keeps_bengali_words_whole() {
        let text = SearchText::parse("স্বাস্থ্য ও সুস্থতার।").unwrap();
        assert_eq!(text.to_tsquery(), "স্বাস্থ্য & ও & সুস্থতার:*");
    }

    #[test]
    fn search_text_needs_a_word() {
        assert!(SearchText::parse("  *** ").is_err());
        assert!(SearchText::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            PageStatus::Draft,
            PageStatus::Published,
            PageStatus::Archived,
        ] {
            assert_eq!(PageStatus::parse(status.as_str()), Some(status));
        }
        for kind in [
            MediaKind::Video,
            MediaKind::Image,
            MediaKind::Audio,
            MediaKind::Document,
        ] {
            assert_eq!(MediaKind::parse(kind.as_str()), Some(kind));
        }
    }

    fn media(kind: &str) -> MediaDraft {
        MediaDraft {
            kind: MediaKind::parse(kind).unwrap(),
            title: "Our Vanguard journey".into(),
            description: None,
            url: Some("https://example.org/v.mp4".into()),
            transcript: None,
            captions_url: None,
            alt_text: None,
        }
    }

    #[test]
    fn media_must_be_accessible_before_publishing() {
        assert!(check_accessible(&[media("VIDEO")]).is_err());
        assert!(check_accessible(&[media("AUDIO")]).is_err());
        assert!(check_accessible(&[media("IMAGE")]).is_err());
        assert!(check_accessible(&[media("DOCUMENT")]).is_ok());
        let mut video = media("VIDEO");
        video.captions_url = Some("https://example.org/v.vtt".into());
        let mut image = media("IMAGE");
        image.alt_text = Some("Residents at the launch".into());
        assert!(check_accessible(&[video, image]).is_ok());
        let mut blank = media("VIDEO");
        blank.transcript = Some("   ".into());
        let error = check_accessible(&[media("DOCUMENT"), blank]).unwrap_err();
        assert!(error.to_string().starts_with("media[1]"), "{error}");
    }

    #[test]
    fn media_links_are_web_addresses_only() {
        assert!(media_url("https://youtu.be/x", "url").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://x",
            "https://a b",
            "",
        ] {
            assert!(media_url(bad, "url").is_err(), "{bad}");
        }
    }
}
