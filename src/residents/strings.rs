//! The residents' pages' words, one TOML file per language in `locales/`
//! (embedded in the binary). A key a locale lacks falls back to English, so a
//! half-translated file still gives whole pages; a test checks the shipped
//! files are complete.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use include_dir::{Dir, include_dir};
use serde::Deserialize;

static FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/locales");

/// The language every page falls back to.
pub const DEFAULT: &str = "en";

/// Every string a page shows, in one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strings {
    /// The language tag, from the file name (`bn` for `bn.toml`).
    #[serde(skip)]
    pub lang: String,
    pub language_name: String,
    pub skip_link: String,
    pub language_label: String,
    pub nav_label: String,
    pub nav_home: String,
    pub nav_feedback: String,
    pub nav_ideas: String,
    pub nav_track: String,
    pub footer_privacy: String,
    pub footer_emergency: String,
    pub home_title: String,
    pub home_intro: String,
    pub home_feedback_link: String,
    pub home_feedback_hint: String,
    pub home_idea_link: String,
    pub home_idea_hint: String,
    pub home_board_link: String,
    pub home_board_hint: String,
    pub home_track_link: String,
    pub home_track_hint: String,
    pub feedback_title: String,
    pub service_legend: String,
    pub service_filter_label: String,
    pub service_filter_button: String,
    pub service_filter_none: String,
    pub service_filter_clear: String,
    pub rating_legend: String,
    pub rating_very_good: String,
    pub rating_good: String,
    pub rating_neither: String,
    pub rating_poor: String,
    pub rating_very_poor: String,
    pub rating_dont_know: String,
    pub comment_label: String,
    pub comment_hint: String,
    pub consent_legend: String,
    pub consent_hint: String,
    pub consent_yes: String,
    pub consent_no: String,
    pub contact_title: String,
    pub contact_hint: String,
    pub contact_name_label: String,
    pub contact_email_label: String,
    pub contact_phone_label: String,
    pub contact_back: String,
    pub submit_feedback: String,
    pub continue_button: String,
    pub error_summary_title: String,
    pub error_service: String,
    pub error_rating: String,
    pub error_consent: String,
    pub error_contact: String,
    pub error_email: String,
    pub error_phone: String,
    pub error_name: String,
    pub error_comment: String,
    pub error_title: String,
    pub error_description: String,
    pub error_theme: String,
    pub error_rate_limited: String,
    pub error_unavailable: String,
    pub error_general: String,
    pub receipt_title: String,
    pub receipt_feedback: String,
    pub receipt_idea: String,
    pub receipt_reference_label: String,
    pub receipt_keep: String,
    pub receipt_track_link: String,
    pub receipt_another: String,
    pub receipt_home: String,
    pub ideas_title: String,
    pub ideas_intro: String,
    pub ideas_share_link: String,
    pub ideas_empty: String,
    pub ideas_support: String,
    pub ideas_supported: String,
    pub ideas_supporters: String,
    pub ideas_response: String,
    pub ideas_theme_label: String,
    pub ideas_status_label: String,
    pub ideas_more: String,
    pub idea_new_title: String,
    pub idea_title_label: String,
    pub idea_description_label: String,
    pub idea_description_hint: String,
    pub idea_theme_label: String,
    pub submit_idea: String,
    pub theme_none: String,
    pub theme_access: String,
    pub theme_mental_health: String,
    pub theme_healthy_living: String,
    pub theme_older_people: String,
    pub theme_children: String,
    pub theme_community: String,
    pub theme_other: String,
    pub track_title: String,
    pub track_label: String,
    pub track_hint: String,
    pub track_button: String,
    pub track_malformed: String,
    pub track_typo: String,
    pub track_not_found: String,
    pub track_status_label: String,
    pub track_kind_label: String,
    pub track_received_label: String,
    pub track_updated_label: String,
    pub track_response_label: String,
    pub track_no_response: String,
    pub kind_feedback: String,
    pub kind_idea: String,
    pub status_new: String,
    pub status_in_review: String,
    pub status_actioned: String,
    pub status_closed: String,
    pub status_under_review: String,
    pub status_accepted: String,
    pub status_planned: String,
    pub status_implemented: String,
    pub status_declined: String,
    pub status_duplicate: String,
    pub offline_saved_title: String,
    pub offline_saved: String,
    pub outbox_count: String,
    pub outbox_set_aside: String,
    pub outbox_send_now: String,
    pub sending: String,
    pub kiosk_title: String,
    pub kiosk_enrol_title: String,
    pub kiosk_enrol_hint: String,
    pub kiosk_token_label: String,
    pub kiosk_enrol_button: String,
    pub kiosk_enrol_failed: String,
    pub kiosk_revoked: String,
    pub kiosk_needs_js: String,
    pub kiosk_idle_title: String,
    pub kiosk_idle_text: String,
    pub kiosk_idle_continue: String,
    pub kiosk_finish: String,
    pub not_found_title: String,
    pub not_found_text: String,
}

impl Strings {
    /// `template` with `{seconds}` or `{count}` filled in.
    pub fn fill(template: &str, name: &str, value: impl std::fmt::Display) -> String {
        template.replace(&format!("{{{name}}}"), &value.to_string())
    }
}

/// The languages hamlet's pages speak, by tag.
pub struct Catalogue {
    languages: BTreeMap<String, Strings>,
}

/// Loaded once. A broken locale file stops hamlet at start ([`check`]), so
/// pages never meet one.
static CATALOGUE: LazyLock<Result<Catalogue, String>> = LazyLock::new(Catalogue::load);

/// Whether every locale file loads: called at startup.
pub fn check() -> Result<(), String> {
    CATALOGUE.as_ref().map(|_| ()).map_err(Clone::clone)
}

impl Catalogue {
    pub fn get() -> &'static Self {
        match &*CATALOGUE {
            Ok(catalogue) => catalogue,
            Err(_) => &EMPTY,
        }
    }

    fn load() -> Result<Self, String> {
        let english = table(DEFAULT)?;
        let mut languages = BTreeMap::new();
        for file in FILES.files() {
            let Some(lang) = file
                .path()
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".toml"))
            else {
                continue;
            };
            let mut merged = english.clone();
            merged.extend(table(lang)?);
            let mut strings: Strings = toml::Value::Table(merged)
                .try_into()
                .map_err(|error| format!("locales/{lang}.toml: {error}"))?;
            strings.lang = lang.to_owned();
            languages.insert(lang.to_owned(), strings);
        }
        Ok(Self { languages })
    }

    /// The strings for `lang`, if hamlet speaks it.
    pub fn language(&self, lang: &str) -> Option<&Strings> {
        self.languages.get(lang)
    }

    /// The strings for the first language of `wanted` that hamlet speaks,
    /// else English.
    pub fn choose<'a>(&self, wanted: impl IntoIterator<Item = &'a str>) -> &Strings {
        wanted
            .into_iter()
            .find_map(|lang| self.language(&lang.trim().to_ascii_lowercase()))
            .or_else(|| self.language(DEFAULT))
            .or_else(|| self.languages.values().next())
            .unwrap_or_else(|| no_languages())
    }

    /// Every language, by tag, with its own name for itself.
    pub fn all(&self) -> impl Iterator<Item = &Strings> {
        self.languages.values()
    }
}

static EMPTY: Catalogue = Catalogue {
    languages: BTreeMap::new(),
};

/// Never reached: hamlet does not start when the locale files do not load
/// (see [`check`]).
fn no_languages() -> ! {
    panic!("the locale files did not load; hamlet checks them at start")
}

fn table(lang: &str) -> Result<toml::Table, String> {
    let file = FILES
        .get_file(format!("{lang}.toml"))
        .ok_or_else(|| format!("locales/{lang}.toml is missing"))?;
    let text = file
        .contents_utf8()
        .ok_or_else(|| format!("locales/{lang}.toml is not UTF-8"))?;
    toml::from_str(text).map_err(|error| format!("locales/{lang}.toml: {error}"))
}

/// The languages an `Accept-Language` header asks for, most wanted first
/// (just the language part: `bn` for `bn-BD`).
pub fn accepted(header: &str) -> Vec<&str> {
    let mut ranked: Vec<(f32, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(position, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|piece| piece.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let language = tag.split('-').next()?;
            (quality > 0.0 && !language.is_empty()).then_some((quality, position, language))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .map(|(_, _, language)| language)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_file_loads_and_has_every_key() {
        let catalogue = Catalogue::load().unwrap();
        let english = table(DEFAULT).unwrap();
        for strings in catalogue.all() {
            let own = table(&strings.lang).unwrap();
            let missing: Vec<_> = english
                .keys()
                .filter(|key| !own.contains_key(*key))
                .collect();
            assert!(
                missing.is_empty(),
                "locales/{}.toml lacks {missing:?}",
                strings.lang
            );
        }
        assert!(catalogue.language("bn").is_some());
        assert_eq!(catalogue.language("bn").unwrap().rating_good, "ভালো");
    }

    #[test]
    fn the_most_wanted_language_spoken_is_chosen() {
        let catalogue = Catalogue::load().unwrap();
        assert_eq!(
            catalogue.choose(accepted("fr, bn-BD;q=0.9, en;q=0.8")).lang,
            "bn"
        );
        assert_eq!(catalogue.choose(accepted("en;q=0.5, bn")).lang, "bn");
        assert_eq!(catalogue.choose(accepted("fr")).lang, "en");
        assert_eq!(catalogue.choose(accepted("")).lang, "en");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Strings::fill("wait {seconds} s", "seconds", 12),
            "wait 12 s"
        );
    }
}
