//! Safeguarding: does a resident's free text suggest that someone may be at
//! risk of harm, and of which kind? No I/O here (unless
//! `HAMLET_SAFEGUARDING_RULES` names a folder of rules to read once).
//!
//! The categories are the Care Act 2014 statutory guidance's, plus suicide and
//! self-harm and a child at risk. The detector matches weighted cue patterns
//! written in plain files (`rules/safeguarding/<language>.toml`, built into
//! hamlet) against the text's words, in English, Bengali, Sylheti or Bengali
//! typed in Latin letters, and Somali, all at once, since residents mix them.
//! A cue does not count when it is negated in its clause ("no one has ever
//! been unkind to me"), part of an idiom ("the hold music nearly finished me
//! off"), in a sentence about harm that is over and dealt with ("social
//! services stepped in and she has been safe ever since") or near talk about
//! services, training, news or a job ("the talk on staying safe online").
//! A category's cues that count are added up; a strong cue alone raises a
//! concern, weaker ones must come together.
//!
//! The detector errs towards flagging, but not towards flagging words: a
//! flagged item is never published and goes to the top of the queue, and a
//! moderator reads it, so a false alarm costs a minute; a missed disclosure
//! can cost someone their safety. It is a screen, not a judgement: it cannot
//! see irony, or harm described without any of its words.

mod detector;
pub mod language;
mod model;
mod rules;
mod text;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use detector::{CueTrace, Detector, TrainedModel};
pub use language::Language;
pub use rules::RulesError;

/// A kind of harm, after the Care Act 2014 statutory guidance (plus suicide
/// and self-harm, and a child at risk).
#[derive(
    async_graphql::Enum,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SafeguardingCategory {
    /// Physical abuse: hitting, pushing, rough handling, restraint, misuse of
    /// medication.
    Physical,
    /// Domestic abuse: by a partner, former partner or family member,
    /// including coercive control, so-called honour-based abuse and forced
    /// marriage.
    Domestic,
    /// Sexual abuse or exploitation.
    Sexual,
    /// Psychological or emotional abuse: threats, humiliation, intimidation,
    /// isolation.
    Psychological,
    /// Financial or material abuse: theft, fraud, scams, pressure over money,
    /// property or benefits.
    Financial,
    /// Modern slavery: trafficking, forced labour, domestic servitude, debt
    /// bondage.
    ModernSlavery,
    /// Discriminatory abuse: because of race, religion, disability, age,
    /// sexuality or another protected characteristic.
    Discriminatory,
    /// Organisational abuse: harm that comes from how a care setting or
    /// service is run.
    Organisational,
    /// Neglect and acts of omission: care, food, medicine or help withheld.
    Neglect,
    /// Self-neglect: not caring for one's own health, hygiene or
    /// surroundings, including hoarding.
    SelfNeglect,
    /// Suicide or self-harm.
    SuicideSelfHarm,
    /// A child at risk.
    Child,
}

impl SafeguardingCategory {
    /// Every category, in order.
    pub const ALL: [Self; 12] = [
        Self::Physical,
        Self::Domestic,
        Self::Sexual,
        Self::Psychological,
        Self::Financial,
        Self::ModernSlavery,
        Self::Discriminatory,
        Self::Organisational,
        Self::Neglect,
        Self::SelfNeglect,
        Self::SuicideSelfHarm,
        Self::Child,
    ];

    /// The name the corpus, the rules files and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Physical => "PHYSICAL",
            Self::Domestic => "DOMESTIC",
            Self::Sexual => "SEXUAL",
            Self::Psychological => "PSYCHOLOGICAL",
            Self::Financial => "FINANCIAL",
            Self::ModernSlavery => "MODERN_SLAVERY",
            Self::Discriminatory => "DISCRIMINATORY",
            Self::Organisational => "ORGANISATIONAL",
            Self::Neglect => "NEGLECT",
            Self::SelfNeglect => "SELF_NEGLECT",
            Self::SuicideSelfHarm => "SUICIDE_SELF_HARM",
            Self::Child => "CHILD",
        }
    }

    /// Reads a name back.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == name)
    }
}

impl std::fmt::Display for SafeguardingCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One concern the detector raised about a text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Concern {
    pub category: SafeguardingCategory,
    /// The words that raised it: a short span of the original text, as
    /// written. As private as the text it comes from (staff only).
    pub excerpt: String,
    /// How strongly the cues point to it, from 0.5 (just enough to raise
    /// it) to 1.0 (several strong cues).
    pub strength: f32,
}

/// What screening one text found.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The language the text is in, as far as its words tell.
    pub language: Language,
    /// The concerns, strongest first; empty when the text suggests none.
    pub concerns: Vec<Concern>,
    /// Who raised them: the cue patterns, or the model alone.
    pub raised_by: RaisedBy,
    /// The weight of the strongest cue that counted, whether or not it
    /// raised a concern (0 when none did).
    pub best_cue: f32,
}

/// What raised a text's concerns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RaisedBy {
    /// Nothing: there are none.
    #[default]
    Nothing,
    /// Cue patterns in the rules files (the excerpt holds the cue's words).
    Rules,
    /// The model alone (the excerpt is the sentence that weighs most).
    Model,
}

static DETECTOR: OnceLock<Detector> = OnceLock::new();

/// The detector hamlet uses: the built-in rules, or those in the folder
/// `HAMLET_SAFEGUARDING_RULES` names. Loaded on first use; call
/// [`load`] at start to load it then and to fail on broken rules.
pub fn detector() -> &'static Detector {
    DETECTOR.get_or_init(|| match load_from_env() {
        Ok(detector) => detector,
        Err(error) => {
            // Only reachable if `load` was not called at start. The
            // built-in rules are checked by the tests, so fall back to them
            // rather than screen nothing.
            tracing::error!(%error, "safeguarding rules could not be loaded; using the built-in rules");
            Detector::built_in().unwrap_or_default()
        }
    })
}

/// Loads the detector now (at start), so broken rules stop hamlet with a
/// message naming the file rather than being found on the first submission.
pub fn load() -> Result<&'static Detector, RulesError> {
    if let Some(detector) = DETECTOR.get() {
        return Ok(detector);
    }
    let detector = load_from_env()?;
    Ok(DETECTOR.get_or_init(|| detector))
}

fn load_from_env() -> Result<Detector, RulesError> {
    match std::env::var_os("HAMLET_SAFEGUARDING_RULES") {
        Some(dir) if !dir.is_empty() => Detector::from_dir(std::path::Path::new(&dir)),
        _ => Detector::built_in(),
    }
}

/// The concerns `text` raises, strongest first (empty for none).
pub fn concerns(text: &str) -> Vec<Concern> {
    detector().assess(text, None).concerns
}

/// Screens `text`, with the locale the form declared (if any) to settle
/// which language it is in when its words do not.
pub fn assess(text: &str, declared_locale: Option<&str>) -> Assessment {
    detector().assess(text, declared_locale.and_then(Language::from_locale))
}

/// Whether `text` suggests that someone may be at risk of harm.
pub fn suggests_risk(text: &str) -> bool {
    !concerns(text).is_empty()
}

#[cfg(test)]
mod tests;
