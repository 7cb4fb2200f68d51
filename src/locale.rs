//! Locales: which language a resident reads, and what to show when we lack it.

use std::fmt;

use crate::error::AppError;

/// The locale every piece of content exists in.
pub const DEFAULT_LOCALE: &str = "en";

/// A BCP 47 language tag of the common shape `language[-Script][-REGION]`,
/// normalised (`en`, `bn`, `en-GB`, `zh-Hant-TW`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Locale(String);

impl Locale {
    /// Parses a tag, case-insensitively. `field` names the input for the error.
    pub fn parse(tag: &str, field: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input(field, "is not a language tag like en, bn or en-GB");
        let mut parts = tag.trim().split(['-', '_']);
        let language = parts.next().ok_or_else(invalid)?;
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(invalid());
        }
        let mut normalised = language.to_ascii_lowercase();
        let mut seen_script = false;
        let mut seen_region = false;
        for part in parts {
            let alphabetic = part.chars().all(|c| c.is_ascii_alphabetic());
            if part.len() == 4 && alphabetic && !seen_script && !seen_region {
                seen_script = true;
                normalised.push('-');
                normalised.push_str(&part[..1].to_ascii_uppercase());
                normalised.push_str(&part[1..].to_ascii_lowercase());
            } else if ((part.len() == 2 && alphabetic)
                || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit())))
                && !seen_region
            {
                seen_region = true;
                normalised.push('-');
                normalised.push_str(&part.to_ascii_uppercase());
            } else {
                return Err(invalid());
            }
        }
        Ok(Self(normalised))
    }

    pub fn default_locale() -> Self {
        Self(DEFAULT_LOCALE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language without script or region: `en` for `en-GB`.
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The locales to try, best first: the one asked for, its bare language, then the
/// default. `bn-BD` gives `[bn-BD, bn, en]`; no request gives `[en]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocaleChain(Vec<Locale>);

impl LocaleChain {
    pub fn new(requested: Option<Locale>) -> Self {
        Self::from_preferences(requested.into_iter().collect())
    }

    /// A chain from the reader's preferences, best first: each tag, then its
    /// bare language, then the default. `[bn-BD, so]` gives
    /// `[bn-BD, bn, so, en]`.
    pub fn from_preferences(preferred: Vec<Locale>) -> Self {
        let mut unique: Vec<Locale> = Vec::with_capacity(preferred.len() * 2 + 1);
        let mut push = |locale: Locale| {
            if !unique.contains(&locale) {
                unique.push(locale);
            }
        };
        for locale in preferred {
            let language = Locale(locale.language().to_owned());
            push(locale);
            push(language);
        }
        push(Locale::default_locale());
        Self(unique)
    }

    /// Parses the optional `locale` argument of a query: one language tag, or
    /// several separated by commas, best first (`bn,so`), at most five.
    pub fn from_argument(locale: Option<&str>) -> Result<Self, AppError> {
        let Some(locale) = locale else {
            return Ok(Self::new(None));
        };
        let tags: Vec<&str> = locale.split(',').map(str::trim).collect();
        if tags.len() > 5 {
            return Err(AppError::bad_input("locale", "give at most five locales"));
        }
        let preferred = tags
            .into_iter()
            .map(|tag| Locale::parse(tag, "locale"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_preferences(preferred))
    }

    pub fn locales(&self) -> &[Locale] {
        &self.0
    }

    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|locale| locale.0.clone()).collect()
    }

    /// The position of `locale` in the chain: lower is better; `None` if absent.
    pub fn rank(&self, locale: &str) -> Option<usize> {
        self.0.iter().position(|candidate| candidate.0 == locale)
    }

    /// The best of `available` by this chain.
    pub fn choose<'a, T>(
        &self,
        available: impl IntoIterator<Item = &'a T>,
        locale_of: impl Fn(&T) -> &str,
    ) -> Option<&'a T>
    where
        T: 'a,
    {
        available
            .into_iter()
            .filter_map(|item| self.rank(locale_of(item)).map(|rank| (rank, item)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, item)| item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised() {
        assert_eq!(Locale::parse("EN", "locale").unwrap().as_str(), "en");
        assert_eq!(Locale::parse("en_gb", "locale").unwrap().as_str(), "en-GB");
        assert_eq!(
            Locale::parse("zh-hant-tw", "locale").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert_eq!(
            Locale::parse("es-419", "locale").unwrap().as_str(),
            "es-419"
        );
    }

    #[test]
    fn malformed_tags_are_refused() {
        for tag in [
            "",
            "e",
            "english",
            "en-",
            "en-GB-GB",
            "1n",
            "en GB",
            "../en",
            "en-Latn-Latn",
        ] {
            assert!(Locale::parse(tag, "locale").is_err(), "{tag}");
        }
    }

    #[test]
    fn the_chain_ends_in_the_default_locale() {
        let chain = LocaleChain::new(Some(Locale::parse("bn-BD", "locale").unwrap()));
        assert_eq!(chain.as_strings(), ["bn-BD", "bn", "en"]);
        assert_eq!(LocaleChain::new(None).as_strings(), ["en"]);
        let english = LocaleChain::new(Some(Locale::parse("en", "locale").unwrap()));
        assert_eq!(english.as_strings(), ["en"]);
    }

    #[test]
    fn a_list_of_locales_is_a_chain_in_the_readers_order() {
        let chain = LocaleChain::from_argument(Some("bn-BD, so")).unwrap();
        assert_eq!(chain.as_strings(), ["bn-BD", "bn", "so", "en"]);
        assert!(LocaleChain::from_argument(Some("bn,,en")).is_err());
        assert!(LocaleChain::from_argument(Some("a1,bn")).is_err());
        assert!(LocaleChain::from_argument(Some("bn,so,cy,pl,lt,ur")).is_err());
    }

    #[test]
    fn choose_prefers_the_earliest_locale_in_the_chain() {
        let chain = LocaleChain::new(Some(Locale::parse("bn", "locale").unwrap()));
        let available = ["en", "fr", "bn"];
        assert_eq!(chain.choose(&available, |l| l), Some(&"bn"));
        assert_eq!(chain.choose(&["fr"], |l| l), None);
    }
}
