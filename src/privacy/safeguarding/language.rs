//! Which language a resident wrote in. Forms declare a locale, but kiosks
//! default to English and Sylheti typed in Latin letters is sent as English,
//! so the text decides: Bengali script is Bengali; Latin letters are English,
//! Bengali or Somali by a vote of each language's common words (the `markers`
//! of its rules file).

use serde::{Deserialize, Serialize};

/// A language the safeguarding rules cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    /// Bengali in Bengali script (often Sylheti in its words).
    #[serde(rename = "bn")]
    Bengali,
    /// Sylheti or Bengali typed in Latin letters, often mixed with English.
    #[serde(rename = "bn-latn")]
    RomanisedBengali,
    #[serde(rename = "so")]
    Somali,
}

impl Language {
    pub const ALL: [Self; 4] = [
        Self::English,
        Self::Bengali,
        Self::RomanisedBengali,
        Self::Somali,
    ];

    /// The code the corpus and the rules files use: `en`, `bn`, `bn-latn`, `so`.
    pub fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Bengali => "bn",
            Self::RomanisedBengali => "bn-latn",
            Self::Somali => "so",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|language| language.code() == code)
    }

    /// What a declared locale (`en`, `bn`, `so`, `en-GB`…) says, if anything.
    pub fn from_locale(locale: &str) -> Option<Self> {
        let primary = locale.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Self::English),
            "bn" | "syl" => Some(Self::Bengali),
            "so" => Some(Self::Somali),
            _ => None,
        }
    }

    pub(super) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Votes for each language, counted over a text's words.
#[derive(Debug, Default)]
pub(super) struct Votes {
    pub bengali_script: usize,
    pub latin_words: usize,
    pub markers: [usize; 4],
}

impl Votes {
    /// The languages whose rules and word meanings apply to the text, as
    /// bits: English and Bengali script always (their words are their own),
    /// the language the text is in, and any other whose common words are a
    /// good part of it (texts mix languages).
    pub fn allowed(&self, language: Language) -> u8 {
        let mut bits = Language::English.bit() | Language::Bengali.bit() | language.bit();
        let english = self.markers[Language::English as usize];
        for other in [Language::RomanisedBengali, Language::Somali] {
            let votes = self.markers[other as usize];
            if votes >= 3 && votes * 3 >= english {
                bits |= other.bit();
            }
        }
        bits
    }

    /// The language the votes point to; `declared` settles a tie.
    pub fn decide(&self, declared: Option<Language>) -> Language {
        if self.bengali_script > 0 && self.bengali_script >= self.latin_words {
            return Language::Bengali;
        }
        let latin = [
            Language::English,
            Language::RomanisedBengali,
            Language::Somali,
        ];
        let best = latin
            .iter()
            .map(|language| self.markers[*language as usize])
            .max()
            .unwrap_or(0);
        if best == 0 {
            return match declared {
                Some(Language::Bengali) if self.bengali_script == 0 => Language::RomanisedBengali,
                Some(language) => language,
                None => Language::English,
            };
        }
        let leaders: Vec<Language> = latin
            .into_iter()
            .filter(|language| self.markers[*language as usize] == best)
            .collect();
        match declared {
            Some(Language::Bengali) if leaders.contains(&Language::RomanisedBengali) => {
                Language::RomanisedBengali
            }
            Some(language) if leaders.contains(&language) => language,
            _ => leaders[0],
        }
    }
}
