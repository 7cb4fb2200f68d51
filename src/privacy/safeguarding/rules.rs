//! The rules files (`rules/safeguarding/*.toml`): their format, and reading
//! one into patterns the detector compiles. The files are built into hamlet;
//! `HAMLET_SAFEGUARDING_RULES` names a folder of changed ones to use instead.
//!
//! A pattern is words separated by spaces, matched in order in one sentence:
//! - `word` matches the word and, in English files, its other endings
//!   ("hit" matches "hits" and "hitting"); `word*` matches any word it begins;
//!   `=word` matches the word exactly as written ("=rape" is not "rap");
//! - `(a|b c|d)` matches any one of the phrases between the bars;
//! - `@group` matches any phrase of the group of that name in `[groups]`;
//! - `(a|b)?` or `word?` may be left out;
//! - `...` lets up to six other words come between its neighbours;
//! - `#` matches any number and `#child` a number under 18 (an age).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::SafeguardingCategory;
use super::language::Language;

/// The built-in rules, one file per language.
pub(super) const BUILT_IN: [(&str, &str); 4] = [
    (
        "en.toml",
        include_str!("../../../rules/safeguarding/en.toml"),
    ),
    (
        "bn.toml",
        include_str!("../../../rules/safeguarding/bn.toml"),
    ),
    (
        "bn-latn.toml",
        include_str!("../../../rules/safeguarding/bn-latn.toml"),
    ),
    (
        "so.toml",
        include_str!("../../../rules/safeguarding/so.toml"),
    ),
];

/// The built-in model's weights (see `model.rs`).
pub(super) const BUILT_IN_MODEL: &str = include_str!("../../../rules/safeguarding/model.tsv");

/// Reads `model.tsv` from a rules folder, if there is one.
pub(super) fn read_model(dir: &Path) -> Result<Option<String>, RulesError> {
    let path = dir.join("model.tsv");
    if !path.exists() {
        return Ok(None);
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|error| RulesError::new("model.tsv", error.to_string()))
}

/// Why a rules file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("safeguarding rules {file}: {message}")]
pub struct RulesError {
    pub file: String,
    pub message: String,
}

impl RulesError {
    pub(super) fn new(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads every `*.toml` file in `dir`, in name order.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, RulesError> {
    let shown = dir.display().to_string();
    let entries =
        std::fs::read_dir(dir).map_err(|error| RulesError::new(&shown, error.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| RulesError::new(&shown, error.to_string()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = std::fs::read_to_string(&path)
                .map_err(|error| RulesError::new(&name, error.to_string()))?;
            files.push((name, source));
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(RulesError::new(
            &shown,
            "no .toml rules files in this folder",
        ));
    }
    Ok(files)
}

/// How the words of a file's patterns are compared with the words of a text.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum WordMode {
    /// English: a word matches its other endings too.
    Stem,
    /// Bengali in Latin letters: spellings that sound the same match.
    Sound,
    /// The word as written (Bengali script, Somali); end it with `*` to
    /// match endings.
    Exact,
}

/// Cues by how much each counts: a strong cue raises a concern on its own,
/// two medium ones or a medium and two weak ones together.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Tiers {
    #[serde(default)]
    pub strong: Vec<String>,
    #[serde(default)]
    pub medium: Vec<String>,
    #[serde(default)]
    pub weak: Vec<String>,
}

impl Tiers {
    pub const STRONG: f32 = 1.0;
    pub const MEDIUM: f32 = 0.5;
    pub const WEAK: f32 = 0.3;

    pub fn weighted(&self) -> impl Iterator<Item = (&str, f32)> {
        let strong = self.strong.iter().map(|p| (p.as_str(), Self::STRONG));
        let medium = self.medium.iter().map(|p| (p.as_str(), Self::MEDIUM));
        let weak = self.weak.iter().map(|p| (p.as_str(), Self::WEAK));
        strong.chain(medium).chain(weak)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.strong.is_empty() && self.medium.is_empty() && self.weak.is_empty()
    }
}

/// What makes a cue not count.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotAConcern {
    /// Shortly before a cue in its clause, these say it did not happen.
    #[serde(default)]
    pub negations: Vec<String>,
    /// Right after a cue in its clause, these say it did not happen: the
    /// negation of languages that put it after the verb ("mare na", he
    /// does not hit).
    #[serde(default)]
    pub negations_after: Vec<String>,
    /// Words that end a negation's reach ("nobody knows he hits me").
    #[serde(default)]
    pub negation_stops: Vec<String>,
    /// Figures of speech: no cue counts inside them.
    #[serde(default)]
    pub idioms: Vec<String>,
    /// Harm that is over and was dealt with: no cue counts in their sentence.
    #[serde(default)]
    pub resolved: Vec<String>,
    /// Talk about services, training, news, fiction or jobs: no cue counts
    /// near them in their sentence.
    #[serde(default)]
    pub about: Vec<String>,
    /// Ordinary clinical care ("blood test", "jab"): only strong cues count
    /// near these in their sentence, so a bruise from a blood test is not one.
    #[serde(default)]
    pub clinical: Vec<String>,
}

/// A second category that follows from a first: a concern found in one of
/// `when` also counts as `category` when one of `near` is in the same
/// sentence (harm to a child is also CHILD; harm by a partner or relative is
/// also DOMESTIC).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Also {
    pub category: String,
    pub when: Vec<String>,
    pub near: Vec<String>,
}

/// One rules file.
#[derive(Debug, Deserialize)]
pub(super) struct RulesFile {
    pub language: String,
    pub words: WordMode,
    /// Other ways of writing a word: written form = the word meant (or
    /// several, separated by `|`).
    #[serde(default)]
    pub forms: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Words common in this language and rare in the others, to tell which
    /// language a text is in.
    #[serde(default)]
    pub markers: Vec<String>,
    /// Words that begin a new clause ("but").
    #[serde(default)]
    pub clause_breaks: Vec<String>,
    #[serde(default)]
    pub not_a_concern: NotAConcern,
    /// Cues that make a concern found in the same text more likely, whatever
    /// its category ("don't tell anyone", "I'm scared").
    #[serde(default)]
    pub any_concern: Tiers,
    #[serde(default)]
    pub also: Vec<Also>,
    /// The cues of each category, under the category's name.
    #[serde(flatten)]
    pub categories: BTreeMap<String, Tiers>,
}

/// A parsed rules file, checked.
pub(super) struct RuleSet {
    pub file: String,
    pub language: Language,
    pub body: RulesFile,
    pub categories: Vec<(SafeguardingCategory, Tiers)>,
}

pub(super) fn parse(file: &str, source: &str) -> Result<RuleSet, RulesError> {
    let mut body: RulesFile =
        toml::from_str(source).map_err(|error| RulesError::new(file, error.to_string()))?;
    let language = Language::from_code(&body.language).ok_or_else(|| {
        RulesError::new(
            file,
            format!("language {:?} is not en, bn, bn-latn or so", body.language),
        )
    })?;
    let mut categories = Vec::new();
    for (name, tiers) in std::mem::take(&mut body.categories) {
        let category = SafeguardingCategory::parse(&name).ok_or_else(|| {
            RulesError::new(
                file,
                format!("[{name}] is not a safeguarding category or a known section"),
            )
        })?;
        categories.push((category, tiers));
    }
    for also in &body.also {
        for name in std::iter::once(&also.category).chain(&also.when) {
            if SafeguardingCategory::parse(name).is_none() {
                return Err(RulesError::new(
                    file,
                    format!("[[also]] names {name:?}, which is not a safeguarding category"),
                ));
            }
        }
    }
    Ok(RuleSet {
        file: file.to_owned(),
        language,
        body,
        categories,
    })
}

/// One element of a pattern, as written: phrases any one of which matches
/// here, each a list of words (a word ending in `*` matches endings).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Element {
    /// How many other words may come before this element (0: right after
    /// the previous one).
    pub gap: u8,
    /// Whether the pattern also matches without this element.
    pub optional: bool,
    pub phrases: Vec<Vec<String>>,
}

/// The most words `...` lets through.
pub(super) const GAP: u8 = 6;

/// The most phrases one element may expand to.
const MAX_PHRASES: usize = 4096;

/// Splits a pattern into its elements, expanding `@group`s and nested
/// alternatives into the phrases each element matches.
pub(super) fn elements(
    pattern: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Element>, String> {
    let mut elements = Vec::new();
    let mut gap = 0u8;
    for (item, optional) in items(pattern)? {
        if item == "..." {
            if elements.is_empty() || optional {
                return Err(format!("{pattern:?}: ... must come between words"));
            }
            gap = GAP;
            continue;
        }
        let phrases = options(item, groups).map_err(|error| format!("{pattern:?}: {error}"))?;
        if phrases.is_empty() || phrases.iter().any(Vec::is_empty) {
            return Err(format!("{pattern:?}: {item:?} has an empty phrase"));
        }
        elements.push(Element {
            gap,
            optional,
            phrases,
        });
        gap = 0;
    }
    if gap != 0 {
        return Err(format!("{pattern:?}: ... must come between words"));
    }
    if elements.is_empty() {
        return Err("an empty pattern".to_owned());
    }
    Ok(elements)
}

/// A pattern as one or more sequences of elements, none beginning with an
/// element that may be left out (matching starts at the first element, so
/// "(just)? waiting to die" becomes "just waiting to die" and "waiting to
/// die").
pub(super) fn variants(
    pattern: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<Element>>, String> {
    let mut pending = vec![elements(pattern, groups)?];
    let mut done = Vec::new();
    while let Some(mut sequence) = pending.pop() {
        match sequence.first_mut() {
            Some(first) if first.optional => {
                first.optional = false;
                let mut rest: Vec<Element> = sequence.iter().skip(1).map(Element::clone).collect();
                if let Some(next) = rest.first_mut() {
                    next.gap = 0;
                    pending.push(rest);
                }
                pending.push(sequence);
            }
            Some(_) => done.push(sequence),
            None => {}
        }
    }
    Ok(done)
}

/// The items of a sequence, split at spaces outside brackets, each with
/// whether it ends in `?` (may be left out).
fn items(sequence: &str) -> Result<Vec<(&str, bool)>, String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    for (at, c) in sequence.char_indices() {
        match c {
            '(' => {
                start.get_or_insert(at);
                depth += 1;
            }
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("{sequence:?}: a ) without its ("))?;
            }
            c if c.is_whitespace() && depth == 0 => {
                if let Some(begin) = start.take() {
                    items.push(&sequence[begin..at]);
                }
            }
            _ => {
                start.get_or_insert(at);
            }
        }
    }
    if depth != 0 {
        return Err(format!("{sequence:?}: a ( without its )"));
    }
    if let Some(begin) = start {
        items.push(&sequence[begin..]);
    }
    Ok(items
        .into_iter()
        .map(|item| match item.strip_suffix('?') {
            Some(rest) if !rest.is_empty() && rest != "..." => (rest, true),
            _ => (item, false),
        })
        .collect())
}

/// Every phrase one item matches: a word, `@group` or `(a|b c|…)`.
fn options(item: &str, groups: &BTreeMap<String, Vec<String>>) -> Result<Vec<Vec<String>>, String> {
    if let Some(inner) = item.strip_prefix('(') {
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| format!("{item:?}: put a space after the )"))?;
        let mut phrases = Vec::new();
        for alternative in split_top_level(inner) {
            phrases.extend(sequence_phrases(alternative, groups)?);
        }
        Ok(phrases)
    } else if let Some(name) = item.strip_prefix('@') {
        let members = groups
            .get(name)
            .ok_or_else(|| format!("no group @{name} in [groups]"))?;
        let mut phrases = Vec::new();
        for member in members {
            phrases.extend(sequence_phrases(member, groups)?);
        }
        Ok(phrases)
    } else if item.contains(['(', ')', '|']) {
        Err(format!("{item:?}: put a space before the ("))
    } else {
        Ok(vec![vec![item.to_owned()]])
    }
}

/// Splits at `|` outside brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut begin = 0usize;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => {
                parts.push(&text[begin..at]);
                begin = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[begin..]);
    parts
}

/// Every phrase a sequence of items inside brackets matches.
fn sequence_phrases(
    sequence: &str,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<String>>, String> {
    let mut phrases: Vec<Vec<String>> = vec![Vec::new()];
    for (item, optional) in items(sequence)? {
        if item == "..." {
            return Err(format!("{sequence:?}: ... cannot go inside brackets"));
        }
        let mut choices = options(item, groups)?;
        if optional {
            choices.push(Vec::new());
        }
        let mut next = Vec::with_capacity(phrases.len() * choices.len());
        for phrase in &phrases {
            for choice in &choices {
                let mut joined = phrase.clone();
                joined.extend(choice.iter().cloned());
                next.push(joined);
            }
        }
        if next.len() > MAX_PHRASES {
            return Err(format!(
                "{sequence:?} stands for more than {MAX_PHRASES} phrases"
            ));
        }
        phrases = next;
    }
    Ok(phrases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_splits_into_elements_with_gaps_and_groups() {
        let mut groups = BTreeMap::new();
        groups.insert(
            "money".to_owned(),
            vec!["bank card".to_owned(), "pension".to_owned()],
        );
        let parsed = elements("takes ... my (purse|money*)? @money", &groups).unwrap();
        assert_eq!(
            parsed,
            vec![
                Element {
                    gap: 0,
                    optional: false,
                    phrases: vec![vec!["takes".into()]]
                },
                Element {
                    gap: GAP,
                    optional: false,
                    phrases: vec![vec!["my".into()]]
                },
                Element {
                    gap: 0,
                    optional: true,
                    phrases: vec![vec!["purse".into()], vec!["money*".into()]]
                },
                Element {
                    gap: 0,
                    optional: false,
                    phrases: vec![vec!["bank".into(), "card".into()], vec!["pension".into()]]
                },
            ]
        );
        assert!(elements("... my", &groups).is_err());
        assert!(elements("my @nothing", &groups).is_err());
        assert!(elements("my (card", &groups).is_err());
        let nested = elements("in ((his|her) room|out)", &groups).unwrap();
        assert_eq!(
            nested[1].phrases,
            vec![
                vec!["his".to_owned(), "room".to_owned()],
                vec!["her".to_owned(), "room".to_owned()],
                vec!["out".to_owned()]
            ]
        );
        let variants = variants("(my)? card", &groups).unwrap();
        assert_eq!(variants.len(), 2);
    }
}
