//! The detector: every rules file compiled into one word vocabulary and one
//! index of patterns, and the screening of a text against them.
//!
//! Screening is linear in the text. Each different word of a text is looked
//! up once in one vocabulary (its form, and its stem and sound key where they
//! differ, each one hash look-up that finds every id, marker and meaning the
//! string has) and in a trie of the beginnings of `word*` patterns, giving
//! the ids of the pattern words it matches. A pattern is tried only where its
//! first word matches, and the rest must follow within a bounded number of
//! words in the same sentence, so no text makes the matching backtrack far.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::language::{Language, Votes};
use super::model::{self, Model};
use super::rules::{self, RuleSet, RulesError, Tiers, WordMode};
use super::text::{self, Script, Token, Tokens};
use super::{Assessment, Concern, RaisedBy, SafeguardingCategory};

/// How many words before a cue a negation reaches ("never" in "he has never
/// raised a hand to anyone").
const NEGATION_REACH: usize = 6;
/// How many words after a cue a negation that follows the verb may start:
/// at once, or after one word ("mare na", "mare to na").
const NEGATION_AFTER_REACH: usize = 1;
/// How many words either side of a cue a word of service talk reaches
/// ("training", "leaflet", "documentary").
const ABOUT_REACH: usize = 10;
/// The most bytes an excerpt spans when it joins several cues.
const EXCERPT_MAX: usize = 200;
/// A category's cues must add up to this to raise a concern.
const THRESHOLD: f32 = 1.0;

/// Ids that stand for a class of words rather than one.
const ANY_NUMBER: u32 = 0;
const CHILD_AGE: u32 = 1;
const FIRST_WORD_ID: u32 = 2;
/// Marks a beginning of a `word*` pattern that is not itself one.
const NO_ID: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Cue(SafeguardingCategory, f32),
    AnyConcern(f32),
    Negation,
    NegationAfter,
    NegationStop,
    Idiom,
    Resolved,
    About,
    Clinical,
    ClauseBreak,
    Near(u16),
}

#[derive(Debug)]
struct Step {
    gap: u8,
    optional: bool,
    phrases: Vec<Vec<u32>>,
    /// The ids the phrases begin with, sorted: a word with none of them
    /// begins none of the phrases.
    firsts: Box<[u32]>,
    /// For each of `firsts`, the phrases that begin with it, in their order:
    /// `by_first[first_ranges[k].0..first_ranges[k].1]` are indices into
    /// `phrases`.
    first_ranges: Box<[(u32, u32)]>,
    by_first: Box<[u32]>,
}

#[derive(Debug)]
struct Rule {
    role: Role,
    steps: Vec<Step>,
    /// Where the rule came from, for explanations: file and pattern.
    file: u8,
    source: Box<str>,
}

#[derive(Debug)]
struct AlsoRule {
    category: SafeguardingCategory,
    when: Vec<SafeguardingCategory>,
}

/// Every rules file, compiled. Build one with [`Detector::built_in`] or
/// [`Detector::from_dir`]; [`super::detector`] holds the one hamlet uses.
#[derive(Debug, Default)]
pub struct Detector {
    files: Vec<String>,
    languages: Vec<Language>,
    surface: FxHashMap<Box<str>, u32>,
    stem: FxHashMap<Box<str>, u32>,
    sound: FxHashMap<Box<str>, u32>,
    /// Beginnings of `word*` patterns, by the word as written and by its
    /// sound key.
    surface_prefix: Prefixes,
    sound_prefix: Prefixes,
    next_id: u32,
    /// The languages (as bits) whose files compare words by sound key: a
    /// text in none of them needs no sound keys.
    sound_languages: u8,
    /// Other ways of writing a word: the words meant, each with the
    /// languages whose files say so (a meaning applies only to texts in one
    /// of them, so a Sylheti "take" is not read into English).
    forms: Forms,
    markers: FxHashMap<Box<str>, u8>,
    rules: Vec<Rule>,
    model: Option<Model>,
    /// Rules by the id of a word their first element can begin with, with
    /// what is needed to reject most of them without reading the rule.
    first: FxHashMap<u32, Vec<Candidate>>,
    /// The ids [`Candidate`]s point into, side by side.
    pool: Vec<u32>,
    also: Vec<AlsoRule>,
    /// The maps above joined for screening, built once every file is read.
    vocabulary: Vocabulary,
}

/// The word maps of a [`Detector`], joined for screening: one look-up of a
/// string finds every id, marker and meaning it has, each word `[forms]`
/// gives as a meaning comes with the ids it matches worked out, and the
/// rules a word can begin are found by its id in a list, not a map.
#[derive(Debug, Default)]
struct Vocabulary {
    entries: FxHashMap<Box<str>, Entry>,
    /// (meaning, languages as bits) in runs that [`Entry`]s and
    /// `prefix_meanings` point to.
    meaning_lists: Vec<(u32, u8)>,
    /// The run of `meaning_lists` of each beginning in the forms' trie.
    prefix_meanings: Vec<(u32, u32)>,
    meanings: Vec<Meaning>,
    /// The ids [`Meaning`]s point to.
    meaning_ids: Vec<u32>,
    /// The rules each id can begin: `candidates[first[id].0..first[id].1]`,
    /// in the order the rules were read.
    first: Vec<(u32, u32)>,
    candidates: Vec<Candidate>,
}

/// What one string stands for in the rules: ranges are of
/// [`Vocabulary::meaning_lists`], ids [`NO_ID`] where it is none.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// As a word written in a pattern, as an English stem, as a sound key.
    surface: u32,
    stem: u32,
    sound: u32,
    /// The languages it is a marker of, as bits.
    markers: u8,
    /// What it means as a form written so, as a stem, as a sound key.
    exact: (u32, u32),
    stem_meanings: (u32, u32),
    sound_meanings: (u32, u32),
}

impl Entry {
    const NONE: Self = Self {
        surface: NO_ID,
        stem: NO_ID,
        sound: NO_ID,
        markers: 0,
        exact: (0, 0),
        stem_meanings: (0, 0),
        sound_meanings: (0, 0),
    };
}

/// A word some form means.
#[derive(Debug)]
struct Meaning {
    /// Its English stem (the model's key for it) and the stem's hash.
    stem: Box<str>,
    stem_hash: u64,
    /// The ids it matches as a word of each kind (see [`Meaning::variant`]):
    /// ranges of [`Vocabulary::meaning_ids`].
    ids: [(u32, u32); 4],
}

impl Meaning {
    /// Which of a meaning's `ids` a word of `script` takes, in a text that
    /// is or is not compared by sound keys.
    fn variant(script: Script, with_sound: bool) -> usize {
        match script {
            Script::Latin if with_sound => 0,
            Script::Latin => 1,
            Script::Digits => 2,
            Script::Bengali | Script::Currency | Script::Other => 3,
        }
    }

    /// A word of each variant, in [`Meaning::variant`]'s order.
    const VARIANTS: [(Script, bool); 4] = [
        (Script::Latin, true),
        (Script::Latin, false),
        (Script::Digits, false),
        (Script::Bengali, false),
    ];
}

/// Other ways of writing words, from every file's `[forms]`.
#[derive(Debug, Default)]
struct Forms {
    /// By the word as written.
    exact: FxHashMap<Box<str>, Vec<(Box<str>, u8)>>,
    /// By English stem (English files), so "medicines" finds "medicine".
    stem: FxHashMap<Box<str>, Vec<(Box<str>, u8)>>,
    /// By sound key (romanised Bengali files).
    sound: FxHashMap<Box<str>, Vec<(Box<str>, u8)>>,
    /// By beginning (`word*`): an index into `prefix_meanings`.
    prefix: Prefixes,
    prefix_meanings: Vec<Vec<(Box<str>, u8)>>,
}

impl Forms {
    fn add(&mut self, written: &str, meaning: &str, mode: WordMode, language: u8) {
        fn push(list: &mut Vec<(Box<str>, u8)>, meaning: &str, language: u8) {
            match list.iter_mut().find(|(m, _)| &**m == meaning) {
                Some((_, bits)) => *bits |= language,
                None => list.push((meaning.into(), language)),
            }
        }
        if let Some(stem) = written.strip_suffix('*') {
            let mut next = self.prefix_meanings.len() as u32;
            let index = self.prefix.intern(&mut next, stem) as usize;
            if index >= self.prefix_meanings.len() {
                self.prefix_meanings.resize_with(index + 1, Vec::new);
            }
            push(&mut self.prefix_meanings[index], meaning, language);
            return;
        }
        push(
            self.exact.entry(written.into()).or_default(),
            meaning,
            language,
        );
        match mode {
            WordMode::Stem => push(
                self.stem.entry(text::stem(written).into()).or_default(),
                meaning,
                language,
            ),
            WordMode::Sound => push(
                self.sound.entry(text::sound(written).into()).or_default(),
                meaning,
                language,
            ),
            WordMode::Exact => {}
        }
    }
}

/// A model fresh from training, with its features' names for writing it out.
pub struct TrainedModel {
    model: Model,
    names: FxHashMap<u64, String>,
}

impl TrainedModel {
    /// The model as the contents of `model.tsv`.
    pub fn to_tsv(&self, comment: &str) -> String {
        model::to_tsv(&self.model, &self.names, comment)
    }
}

/// A rule that may begin at a word, as the index of first words holds it.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    rule: u32,
    /// The rest of the first phrase (after the word it is indexed by):
    /// `pool[rest_at..rest_at + rest_len]`.
    rest_at: u32,
    rest_len: u8,
    /// The rest's first id ([`NO_ID`] when the phrase is one word): the
    /// next word must have it.
    second: u32,
    /// The language of the rule's file, as a bit.
    language: u8,
    /// The steps that must match: `pool[needs_at..needs_at + needs_len]`
    /// holds, for each, its number of phrases and the id each begins with.
    needs_at: u32,
    needs_len: u32,
}

/// Whether a rule can match a text at all.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Possible {
    Unknown,
    Yes,
    No,
}

/// One pattern found in a text.
#[derive(Clone, Copy, Debug)]
struct Found {
    rule: u32,
    start: usize,
    end: usize,
}

/// A category raised: its score and the cues that raised it, strongest first.
type Flagged = (SafeguardingCategory, f32, Vec<(Found, f32)>);

/// What one cue contributed, for explanations and tuning.
#[derive(Clone, Debug, PartialEq)]
pub struct CueTrace {
    pub category: Option<SafeguardingCategory>,
    pub file: String,
    pub pattern: String,
    pub words: String,
    pub weight: f32,
    /// Why it did not count, if it did not.
    pub dropped: Option<&'static str>,
}

impl Detector {
    /// The rules built into hamlet.
    pub fn built_in() -> Result<Self, RulesError> {
        let files: Vec<(String, String)> = rules::BUILT_IN
            .iter()
            .map(|(name, source)| ((*name).to_owned(), (*source).to_owned()))
            .collect();
        Self::compile_with_model(&files, Some(rules::BUILT_IN_MODEL))
    }

    /// The rules in a folder of `*.toml` files (a changed copy of
    /// `rules/safeguarding/`).
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, RulesError> {
        let model = rules::read_model(dir)?;
        Self::compile_with_model(&rules::read_dir(dir)?, model.as_deref())
    }

    /// Compiles rules files given as (name, contents), without a model.
    pub fn compile(files: &[(String, String)]) -> Result<Self, RulesError> {
        Self::compile_with_model(files, None)
    }

    /// Compiles rules files and the model's weights (`model.tsv`).
    pub fn compile_with_model(
        files: &[(String, String)],
        model: Option<&str>,
    ) -> Result<Self, RulesError> {
        let mut detector = Self::compile_rules(files)?;
        if let Some(source) = model {
            detector.model = Some(
                Model::parse(source).map_err(|message| RulesError::new("model.tsv", message))?,
            );
        }
        Ok(detector)
    }

    /// Whether a trained model is loaded beside the rules.
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// Trains a model on labelled texts (the development split only: the
    /// held-out half must never be learnt from) with the current rules'
    /// word forms and scopes.
    pub fn train(
        &self,
        examples: &[(&str, &[SafeguardingCategory])],
        threshold: f32,
        veto: f32,
        without_cues: f32,
    ) -> TrainedModel {
        let mut names: FxHashMap<u64, String> = FxHashMap::default();
        let mut training = Vec::with_capacity(examples.len());
        for (text, categories) in examples {
            let features = self.features(text);
            let mut hashes = Vec::with_capacity(features.len());
            for (hash, name) in features {
                hashes.push(hash);
                names.entry(hash).or_insert(name);
            }
            training.push(model::Example {
                features: hashes,
                labels: model::labels(categories),
            });
        }
        TrainedModel {
            model: model::train(&training, threshold, veto, without_cues),
            names,
        }
    }

    /// The model's "any concern" score for a text (a logit), if a model is
    /// loaded.
    pub fn model_score(&self, text: &str) -> Option<f32> {
        let model = self.model.as_ref()?;
        let hashes: Vec<u64> = self
            .features(text)
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        Some(model.score(&hashes)[0])
    }

    /// Uses a trained model from now on (or none).
    pub fn use_model(&mut self, trained: Option<TrainedModel>) {
        self.model = trained.map(|trained| trained.model);
    }

    fn compile_rules(files: &[(String, String)]) -> Result<Self, RulesError> {
        let mut detector = Self {
            next_id: FIRST_WORD_ID,
            ..Self::default()
        };
        let sets: Vec<RuleSet> = files
            .iter()
            .map(|(name, source)| rules::parse(name, source))
            .collect::<Result<_, _>>()?;
        for set in &sets {
            detector.add(set)?;
        }
        detector.compile_vocabulary();
        Ok(detector)
    }

    /// Joins the word maps into the [`Vocabulary`] screening reads.
    fn compile_vocabulary(&mut self) {
        fn entry<'a>(entries: &'a mut FxHashMap<Box<str>, Entry>, key: &str) -> &'a mut Entry {
            entries.entry(key.into()).or_insert(Entry::NONE)
        }
        let mut vocabulary = Vocabulary::default();
        let mut meaning_index: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut meaning_texts: Vec<Box<str>> = Vec::new();
        let mut list = |vocabulary: &mut Vocabulary, list: &[(Box<str>, u8)]| -> (u32, u32) {
            let from = vocabulary.meaning_lists.len() as u32;
            for (meaning, bits) in list {
                let index = *meaning_index.entry(meaning.clone()).or_insert_with(|| {
                    meaning_texts.push(meaning.clone());
                    (meaning_texts.len() - 1) as u32
                });
                vocabulary.meaning_lists.push((index, *bits));
            }
            (from, vocabulary.meaning_lists.len() as u32)
        };
        for (key, &id) in &self.surface {
            entry(&mut vocabulary.entries, key).surface = id;
        }
        for (key, &id) in &self.stem {
            entry(&mut vocabulary.entries, key).stem = id;
        }
        for (key, &id) in &self.sound {
            entry(&mut vocabulary.entries, key).sound = id;
        }
        for (key, &bits) in &self.markers {
            entry(&mut vocabulary.entries, key).markers = bits;
        }
        for (key, meanings) in &self.forms.exact {
            let range = list(&mut vocabulary, meanings);
            entry(&mut vocabulary.entries, key).exact = range;
        }
        for (key, meanings) in &self.forms.stem {
            let range = list(&mut vocabulary, meanings);
            entry(&mut vocabulary.entries, key).stem_meanings = range;
        }
        for (key, meanings) in &self.forms.sound {
            let range = list(&mut vocabulary, meanings);
            entry(&mut vocabulary.entries, key).sound_meanings = range;
        }
        for meanings in &self.forms.prefix_meanings {
            let range = list(&mut vocabulary, meanings);
            vocabulary.prefix_meanings.push(range);
        }
        for meaning in &meaning_texts {
            let mut ids = [(0, 0); 4];
            for (variant, (script, with_sound)) in Meaning::VARIANTS.into_iter().enumerate() {
                let from = vocabulary.meaning_ids.len() as u32;
                self.word_ids(
                    &Keys::of(meaning, script, with_sound),
                    &mut vocabulary.meaning_ids,
                );
                ids[variant] = (from, vocabulary.meaning_ids.len() as u32);
            }
            let stem = text::stem(meaning);
            vocabulary.meanings.push(Meaning {
                stem: stem.as_ref().into(),
                stem_hash: model::key_hash(stem.as_bytes()),
                ids,
            });
        }
        for id in 0..self.next_id {
            let from = vocabulary.candidates.len() as u32;
            if let Some(candidates) = self.first.get(&id) {
                vocabulary.candidates.extend_from_slice(candidates);
            }
            vocabulary
                .first
                .push((from, vocabulary.candidates.len() as u32));
        }
        self.vocabulary = vocabulary;
    }

    /// The languages the loaded rules cover.
    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// The categories each loaded language has cues for.
    pub fn coverage(&self) -> BTreeMap<Language, Vec<SafeguardingCategory>> {
        let mut coverage: BTreeMap<Language, Vec<SafeguardingCategory>> = BTreeMap::new();
        for rule in &self.rules {
            if let Role::Cue(category, _) = rule.role {
                let language = self.languages[usize::from(rule.file)];
                let list = coverage.entry(language).or_default();
                if !list.contains(&category) {
                    list.push(category);
                }
            }
        }
        for list in coverage.values_mut() {
            list.sort();
        }
        coverage
    }

    fn add(&mut self, set: &RuleSet) -> Result<(), RulesError> {
        let file = u8::try_from(self.files.len())
            .map_err(|_| RulesError::new(&set.file, "too many rules files"))?;
        self.files.push(set.file.clone());
        self.languages.push(set.language);
        let body = &set.body;
        let mode = body.words;
        if mode == WordMode::Sound {
            self.sound_languages |= set.language.bit();
        }
        let error = |message: String| RulesError::new(&set.file, message);

        for (written, meant) in &body.forms {
            let prefix = written.ends_with('*');
            let written = one_word(written.trim_end_matches('*'))
                .ok_or_else(|| error(format!("forms: {written:?} must be one word")))?;
            let written = if prefix {
                format!("{written}*")
            } else {
                written
            };
            for meaning in meant.split('|') {
                let meaning = one_word(meaning).ok_or_else(|| {
                    error(format!(
                        "forms: {written} = {meant:?}: each meaning must be one word"
                    ))
                })?;
                self.forms.add(&written, &meaning, mode, set.language.bit());
            }
        }
        for marker in &body.markers {
            let word = one_word(marker)
                .ok_or_else(|| error(format!("markers: {marker:?} must be one word")))?;
            *self.markers.entry(word.into()).or_default() |= set.language.bit();
        }

        let groups = &body.groups;
        let add = |detector: &mut Self, pattern: &str, role: Role| -> Result<(), RulesError> {
            for elements in rules::variants(pattern, groups).map_err(error)? {
                detector
                    .add_rule(pattern, elements, role, mode, file)
                    .map_err(error)?;
            }
            Ok(())
        };

        let not = &body.not_a_concern;
        for pattern in &not.negations {
            add(self, pattern, Role::Negation)?;
        }
        for pattern in &not.negations_after {
            add(self, pattern, Role::NegationAfter)?;
        }
        for pattern in &not.negation_stops {
            add(self, pattern, Role::NegationStop)?;
        }
        for pattern in &not.idioms {
            add(self, pattern, Role::Idiom)?;
        }
        for pattern in &not.resolved {
            add(self, pattern, Role::Resolved)?;
        }
        for pattern in &not.about {
            add(self, pattern, Role::About)?;
        }
        for pattern in &not.clinical {
            add(self, pattern, Role::Clinical)?;
        }
        for pattern in &body.clause_breaks {
            add(self, pattern, Role::ClauseBreak)?;
        }
        for (pattern, weight) in body.any_concern.weighted() {
            add(self, pattern, Role::AnyConcern(weight))?;
        }
        for (category, tiers) in &set.categories {
            for (pattern, weight) in tiers.weighted() {
                add(self, pattern, Role::Cue(*category, weight))?;
            }
        }
        for also in &body.also {
            let index =
                u16::try_from(self.also.len()).map_err(|_| error("too many [[also]]".into()))?;
            let parse = |name: &String| {
                SafeguardingCategory::parse(name)
                    .ok_or_else(|| error(format!("{name}: not a category")))
            };
            self.also.push(AlsoRule {
                category: parse(&also.category)?,
                when: also.when.iter().map(parse).collect::<Result<_, _>>()?,
            });
            for pattern in &also.near {
                add(self, pattern, Role::Near(index))?;
            }
        }
        Ok(())
    }

    /// Compiles one sequence of a pattern into a rule.
    fn add_rule(
        &mut self,
        pattern: &str,
        elements: Vec<rules::Element>,
        role: Role,
        mode: WordMode,
        file: u8,
    ) -> Result<(), String> {
        let mut steps = Vec::with_capacity(elements.len());
        for element in elements {
            let mut phrases = Vec::with_capacity(element.phrases.len());
            for written in &element.phrases {
                let ids = self
                    .phrase_ids(written, mode)
                    .ok_or_else(|| format!("{pattern:?}: {written:?} has no words"))?;
                phrases.push(ids);
            }
            // The phrases by the id each begins with, in their order.
            let mut by_first: Vec<(u32, u32)> = phrases
                .iter()
                .enumerate()
                .map(|(index, ids)| (ids[0], index as u32))
                .collect();
            by_first.sort_unstable();
            let mut firsts: Vec<u32> = Vec::new();
            let mut first_ranges: Vec<(u32, u32)> = Vec::new();
            for (at, &(id, _)) in by_first.iter().enumerate() {
                if firsts.last() != Some(&id) {
                    firsts.push(id);
                    first_ranges.push((at as u32, at as u32));
                }
                if let Some(range) = first_ranges.last_mut() {
                    range.1 = at as u32 + 1;
                }
            }
            steps.push(Step {
                gap: element.gap,
                optional: element.optional,
                phrases,
                firsts: firsts.into(),
                first_ranges: first_ranges.into(),
                by_first: by_first.into_iter().map(|(_, index)| index).collect(),
            });
        }
        let index = u32::try_from(self.rules.len()).map_err(|_| "too many rules".to_owned())?;
        // For each step after the first that must match: how many phrases
        // it has, then the id each begins with.
        let needs_at = self.pool.len() as u32;
        for step in steps.iter().skip(1).filter(|step| !step.optional) {
            self.pool.push(step.phrases.len() as u32);
            self.pool.extend(step.phrases.iter().map(|ids| ids[0]));
        }
        let needs_len = self.pool.len() as u32 - needs_at;
        for ids in &steps[0].phrases {
            let rest_at = self.pool.len() as u32;
            self.pool.extend_from_slice(&ids[1..]);
            let candidate = Candidate {
                rule: index,
                rest_at,
                rest_len: u8::try_from(ids.len() - 1)
                    .map_err(|_| format!("{pattern:?}: a phrase is too long"))?,
                second: ids.get(1).copied().unwrap_or(NO_ID),
                language: self.languages.get(usize::from(file)).map_or(0, |l| l.bit()),
                needs_at,
                needs_len,
            };
            self.first.entry(ids[0]).or_default().push(candidate);
        }
        self.rules.push(Rule {
            role,
            steps,
            file,
            source: pattern.into(),
        });
        Ok(())
    }

    /// The ids of a phrase's words, interning new ones.
    fn phrase_ids(&mut self, written: &[String], mode: WordMode) -> Option<Vec<u32>> {
        let mut ids = Vec::new();
        for raw in written {
            match raw.as_str() {
                "#" => {
                    ids.push(ANY_NUMBER);
                    continue;
                }
                "#child" => {
                    ids.push(CHILD_AGE);
                    continue;
                }
                _ => {}
            }
            // `=word` is matched as written, whatever the file's mode.
            let (raw, mode) = match raw.strip_prefix('=') {
                Some(rest) => (rest, WordMode::Exact),
                None => (raw.as_str(), mode),
            };
            let (body, prefix) = match raw.strip_suffix('*') {
                Some(body) => (body, true),
                None => (raw, false),
            };
            let tokens = text::tokenize(body);
            let count = tokens.list.len();
            for (index, token) in tokens.list.iter().enumerate() {
                let word = tokens.word(token);
                let last = index + 1 == count;
                let id = if prefix && last {
                    match mode {
                        WordMode::Sound => {
                            let key = text::sound(word).into_owned();
                            self.sound_prefix.intern(&mut self.next_id, &key)
                        }
                        WordMode::Stem | WordMode::Exact => {
                            self.surface_prefix.intern(&mut self.next_id, word)
                        }
                    }
                } else {
                    match mode {
                        WordMode::Stem if token.script == Script::Latin => {
                            let key = text::stem(word).into_owned();
                            intern(&mut self.stem, &mut self.next_id, &key)
                        }
                        WordMode::Sound if token.script == Script::Latin => {
                            let key = text::sound(word).into_owned();
                            intern(&mut self.sound, &mut self.next_id, &key)
                        }
                        _ => intern(&mut self.surface, &mut self.next_id, word),
                    }
                };
                ids.push(id);
            }
        }
        (!ids.is_empty()).then_some(ids)
    }

    /// The ids a word matches, appended to `out`, from the maps the rules
    /// were read into (screening reads the [`Vocabulary`] instead, which
    /// gives the same ids).
    fn word_ids(&self, keys: &Keys<'_>, out: &mut Vec<u32>) {
        let word = keys.word;
        if let Some(&id) = self.surface.get(word) {
            out.push(id);
        }
        match keys.script {
            Script::Latin => {
                if !self.stem.is_empty()
                    && let Some(&id) = self.stem.get(&*keys.stem)
                {
                    out.push(id);
                }
                if keys.with_sound {
                    if let Some(&id) = self.sound.get(&*keys.sound) {
                        out.push(id);
                    }
                    self.sound_prefix.walk(&keys.sound, |id| out.push(id));
                }
                self.surface_prefix.walk(word, |id| out.push(id));
            }
            Script::Digits => {
                out.push(ANY_NUMBER);
                if word.len() <= 2 && word.parse::<u8>().is_ok_and(|age| age < 18) {
                    out.push(CHILD_AGE);
                }
            }
            Script::Bengali | Script::Currency | Script::Other => {
                self.surface_prefix.walk(word, |id| out.push(id))
            }
        }
    }

    /// Whether the text holds, for every step of the candidate's rule that
    /// must match, a word one of the step's phrases begins with.
    fn needs_met(&self, candidate: &Candidate, in_text: &impl Fn(u32) -> bool) -> bool {
        let at = candidate.needs_at as usize;
        let mut needs = &self.pool[at..at + candidate.needs_len as usize];
        while let Some((&count, rest)) = needs.split_first() {
            let (firsts, after) = rest.split_at(count as usize);
            if !firsts.iter().any(|&id| in_text(id)) {
                return false;
            }
            needs = after;
        }
        true
    }

    /// Screens one text.
    pub fn assess(&self, text: &str, declared: Option<Language>) -> Assessment {
        self.run(text, declared, None, None)
    }

    /// The model's features of a text, with their names: for training.
    pub(super) fn features(&self, text: &str) -> Vec<(u64, String)> {
        let mut features = Vec::new();
        self.run(text, None, None, Some(&mut features));
        features
    }

    /// Screens one text and says which cues matched and why any did not
    /// count: for tuning the rules on the development corpus.
    pub fn explain(&self, text: &str) -> (Assessment, Vec<CueTrace>) {
        let mut trace = Vec::new();
        let assessment = self.run(text, None, Some(&mut trace), None);
        (assessment, trace)
    }

    fn run(
        &self,
        text: &str,
        declared: Option<Language>,
        mut trace: Option<&mut Vec<CueTrace>>,
        named_features: Option<&mut Vec<(u64, String)>>,
    ) -> Assessment {
        let tokens = text::tokenize(text);
        let n = tokens.list.len();
        let vocabulary = &self.vocabulary;

        // Each different word of the text once ("the", "my" and "he" come
        // again and again), with its entry in the vocabulary: token i is
        // word word_of[i].
        let mut words: Vec<WordData<'_, '_>> = Vec::with_capacity(n / 2 + 1);
        let mut word_of: Vec<u32> = Vec::with_capacity(n);
        let mut seen: FxHashMap<&str, u32> = FxHashMap::default();
        seen.reserve(n);
        let mut votes = Votes::default();
        for token in &tokens.list {
            let word = tokens.word(token);
            let index = *seen.entry(word).or_insert_with(|| {
                words.push(WordData::new(word, token, vocabulary.entries.get(word)));
                (words.len() - 1) as u32
            });
            word_of.push(index);
            match token.script {
                Script::Bengali => votes.bengali_script += 1,
                Script::Latin => {
                    votes.latin_words += 1;
                    let bits = words[index as usize].entry.map_or(0, |entry| entry.markers);
                    if bits != 0 {
                        for language in Language::ALL {
                            if bits & language.bit() != 0 {
                                votes.markers[language as usize] += 1;
                            }
                        }
                    }
                }
                Script::Digits | Script::Currency | Script::Other => {}
            }
        }
        let language = votes.decide(declared);
        let allowed = votes.allowed(language);
        let with_sound = allowed & self.sound_languages != 0;
        let wants_features = self.model.is_some() || named_features.is_some();

        // Each word's keys, the ids it matches and the words it may mean,
        // flattened: word w has ids[w.ids.0..w.ids.1] and
        // meanings[w.meanings.0..w.meanings.1].
        let mut ids: Vec<u32> = Vec::with_capacity(n * 2);
        let mut meanings: Vec<u32> = Vec::with_capacity(n);
        let mut present = vec![0u64; (self.next_id as usize).div_ceil(64)];
        for data in &mut words {
            self.look_up(data, allowed, with_sound, &mut ids, &mut meanings);
            for &id in &ids[data.ids.0 as usize..data.ids.1 as usize] {
                if let Some(bits) = present.get_mut(id as usize / 64) {
                    *bits |= 1 << (id % 64);
                }
            }
            if wants_features {
                data.key_hash = model::key_hash(data.key.as_bytes());
                if data.script == Script::Bengali {
                    data.prefix = bengali_prefix(data.word);
                }
            }
        }
        let in_text = |id: u32| {
            present
                .get(id as usize / 64)
                .is_some_and(|bits| bits & (1 << (id % 64)) != 0)
        };

        // The rules each word can begin here: those of the text's languages
        // whose every step has a word in the text, as has the rest of the
        // phrase the word begins. Settled once for each different word, so
        // a common word ("the", "my"), which begins hundreds of rules, costs
        // nothing more when it comes again.
        let mut possible = vec![Possible::Unknown; self.rules.len()];
        let mut viable: Vec<&Candidate> = Vec::with_capacity(4 * n + 16);
        for data in &mut words {
            let from = viable.len() as u32;
            for &id in &ids[data.ids.0 as usize..data.ids.1 as usize] {
                let (a, b) = vocabulary.first.get(id as usize).copied().unwrap_or((0, 0));
                for candidate in &vocabulary.candidates[a as usize..b as usize] {
                    if candidate.language & allowed == 0 {
                        continue;
                    }
                    let possible = &mut possible[candidate.rule as usize];
                    if *possible == Possible::Unknown {
                        *possible = if self.needs_met(candidate, &in_text) {
                            Possible::Yes
                        } else {
                            Possible::No
                        };
                    }
                    if *possible == Possible::Yes
                        && self.rest(candidate).iter().all(|&id| in_text(id))
                    {
                        viable.push(candidate);
                    }
                }
            }
            data.viable = (from, viable.len() as u32);
        }

        let spans: Vec<(u32, u32)> = word_of.iter().map(|&w| words[w as usize].ids).collect();
        let matcher = Matcher {
            tokens: &tokens,
            ids: &ids,
            spans: &spans,
        };
        let mut found: Vec<Found> = Vec::with_capacity(64);
        for (start, &word) in word_of.iter().enumerate() {
            let sentence = tokens.list[start].sentence;
            // The ids of the next word, if it is in the sentence: a phrase
            // of two words or more goes on only if it has the second.
            let next_ids = match tokens.list.get(start + 1) {
                Some(next) if next.sentence == sentence => matcher.ids_of(start + 1),
                _ => &[],
            };
            let (from, to) = words[word as usize].viable;
            for candidate in &viable[from as usize..to as usize] {
                if candidate.second != NO_ID && !next_ids.contains(&candidate.second) {
                    continue;
                }
                let Some(after_first) =
                    matcher.phrase_at(self.rest(candidate), start + 1, sentence)
                else {
                    continue;
                };
                let rule = &self.rules[candidate.rule as usize];
                if let Some(end) = matcher.steps_from(&rule.steps, 1, after_first, sentence) {
                    found.push(Found {
                        rule: candidate.rule,
                        start,
                        end,
                    });
                }
            }
        }
        found.sort_unstable_by_key(|f| (f.rule, f.start));
        found.dedup_by_key(|f| (f.rule, f.start));

        // Scopes.
        let mut masked = vec![false; n];
        let mut clause_break = vec![false; n];
        let mut negation_stop = vec![false; n];
        let sentences = tokens.list.last().map_or(0, |t| t.sentence as usize + 1);
        let mut resolved_sentence = vec![false; sentences];
        let mut negations: Vec<(usize, usize)> = Vec::new();
        let mut negations_after: Vec<usize> = Vec::new();
        let mut abouts: Vec<usize> = Vec::new();
        let mut clinicals: Vec<usize> = Vec::new();
        for f in &found {
            let rule = &self.rules[f.rule as usize];
            if let Some(trace) = trace.as_deref_mut() {
                let scope = match rule.role {
                    Role::Idiom => Some("scope: idiom"),
                    Role::Resolved => Some("scope: resolved"),
                    Role::About => Some("scope: about"),
                    Role::Clinical => Some("scope: clinical"),
                    Role::Negation | Role::NegationAfter => Some("scope: negation"),
                    _ => None,
                };
                if let Some(scope) = scope {
                    trace.push(CueTrace {
                        category: None,
                        file: self.files[usize::from(rule.file)].clone(),
                        pattern: rule.source.to_string(),
                        words: text[tokens.list[f.start].start..tokens.list[f.end - 1].end]
                            .to_owned(),
                        weight: 0.0,
                        dropped: Some(scope),
                    });
                }
            }
            match rule.role {
                Role::Idiom => masked[f.start..f.end].iter_mut().for_each(|m| *m = true),
                Role::ClauseBreak => clause_break[f.start] = true,
                Role::NegationStop => negation_stop[f.start] = true,
                Role::Resolved => resolved_sentence[tokens.list[f.start].sentence as usize] = true,
                Role::Negation => negations.push((f.start, f.end)),
                Role::NegationAfter => negations_after.push(f.start),
                Role::About => abouts.extend(f.start..f.end),
                Role::Clinical => clinicals.extend(f.start..f.end),
                Role::Cue(..) | Role::AnyConcern(_) | Role::Near(_) => {}
            }
        }
        let mut clause = vec![0u32; n];
        let mut current = 0u32;
        for i in 0..n {
            if i > 0 && (tokens.list[i].clause != tokens.list[i - 1].clause || clause_break[i]) {
                current += 1;
            }
            clause[i] = current;
        }

        let mut sink = FeatureSink {
            model: self.model.as_ref(),
            rows: vec![
                0;
                self.model
                    .as_ref()
                    .map_or(0, |m| m.row_count().div_ceil(64))
            ],
            names: named_features,
            unigram: Vec::with_capacity(n),
        };
        if wants_features {
            // A word is negated when a negation ends at most
            // NEGATION_REACH - 1 words before it in its clause, with no
            // negation stop from the negation's end up to it.
            let mut negated = vec![false; n];
            for &(s, e) in &negations {
                for i in e..n.min(e + NEGATION_REACH) {
                    // Clauses only go up, so none after this is the negation's.
                    if clause[i] != clause[s] {
                        break;
                    }
                    negated[i] = true;
                    if negation_stop[i] {
                        break;
                    }
                }
            }
            // And the words a negation after the verb follows, in its clause.
            for &s in &negations_after {
                for i in s.saturating_sub(NEGATION_AFTER_REACH + 1)..s {
                    if clause[i] == clause[s] {
                        negated[i] = true;
                    }
                }
            }
            let scopes = [
                (resolved_sentence.iter().any(|&r| r), "s:resolved"),
                (!abouts.is_empty(), "s:about"),
                (!clinicals.is_empty(), "s:clinical"),
                (masked.iter().any(|&m| m), "s:idiom"),
            ];
            let text_words = TextWords {
                tokens: &tokens,
                word_of: &word_of,
                words: &words,
                meanings: &meanings,
            };
            self.extract_features(&text_words, &masked, &negated, &scopes, &mut sink);
        }

        let dropped = |f: &Found| -> Option<&'static str> {
            if masked[f.start..f.end].iter().any(|&m| m) {
                return Some("inside an idiom");
            }
            let sentence = tokens.list[f.start].sentence as usize;
            if resolved_sentence[sentence] {
                return Some("harm over and dealt with");
            }
            let near = |a: &usize| {
                tokens.list[*a].sentence as usize == sentence
                    && a + ABOUT_REACH >= f.start
                    && *a <= f.end + ABOUT_REACH
            };
            if abouts.iter().any(near) {
                return Some("talk about services, news or a job");
            }
            let strong =
                matches!(self.rules[f.rule as usize].role, Role::Cue(_, w) if w >= Tiers::STRONG);
            if !strong && clinicals.iter().any(near) {
                return Some("ordinary clinical care");
            }
            let negated = negations.iter().any(|&(s, e)| {
                e <= f.start
                    && f.start - e <= NEGATION_REACH
                    && clause[s] == clause[f.start]
                    && !negation_stop[e..f.start].iter().any(|&stop| stop)
            });
            // Or, where the negation follows the verb, one right after the
            // cue in the clause of its last word.
            let last = f.end - 1;
            let negated_after = negations_after.iter().any(|&s| {
                s >= f.end
                    && s - f.end <= NEGATION_AFTER_REACH
                    && clause[s] == clause[last]
                    && !negation_stop[f.end..s].iter().any(|&stop| stop)
            });
            if negated || negated_after {
                return Some("negated");
            }
            None
        };

        // Cues by category; a pattern counts once however often it matches.
        let mut by_category: BTreeMap<SafeguardingCategory, Vec<(Found, f32)>> = BTreeMap::new();
        let mut any: Vec<(Found, f32)> = Vec::new();
        let mut near: Vec<(u16, Found)> = Vec::new();
        for f in &found {
            let rule = &self.rules[f.rule as usize];
            let (category, weight) = match rule.role {
                Role::Cue(category, weight) => (Some(category), weight),
                Role::AnyConcern(weight) => (None, weight),
                Role::Near(index) => {
                    if dropped(f).is_none() {
                        near.push((index, *f));
                    }
                    continue;
                }
                _ => continue,
            };
            let why = dropped(f);
            if let Some(trace) = trace.as_deref_mut() {
                trace.push(CueTrace {
                    category,
                    file: self.files[usize::from(rule.file)].clone(),
                    pattern: rule.source.to_string(),
                    words: text[tokens.list[f.start].start..tokens.list[f.end - 1].end].to_owned(),
                    weight,
                    dropped: why,
                });
            }
            if why.is_some() {
                continue;
            }
            match category {
                Some(category) => {
                    let list = by_category.entry(category).or_default();
                    if !list.iter().any(|(other, _)| other.rule == f.rule) {
                        list.push((*f, weight));
                    }
                }
                None => {
                    if !any.iter().any(|(other, _)| other.rule == f.rule) {
                        any.push((*f, weight));
                    }
                }
            }
        }
        let any_weight: f32 = any.iter().map(|(_, w)| w).sum();

        // The best evidence below a concern: a category's counted cues.
        let best_cue: f32 = by_category
            .values()
            .flat_map(|cues| cues.iter().map(|(_, w)| *w))
            .fold(0.0, f32::max);
        let mut concerns = Vec::new();
        let mut flagged: Vec<Flagged> = Vec::new();
        for (category, mut cues) in by_category {
            let score: f32 = cues.iter().map(|(_, w)| w).sum::<f32>() + any_weight;
            // Weak cues only support: some cue must say more than they do.
            let grounded = cues.iter().any(|(_, w)| *w > Tiers::WEAK);
            if grounded && score + 1e-4 >= THRESHOLD {
                cues.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.start.cmp(&b.0.start)));
                flagged.push((category, score, cues));
            }
        }
        for (index, also) in self.also.iter().enumerate() {
            if flagged.iter().any(|(c, _, _)| *c == also.category) {
                continue;
            }
            let source = flagged.iter().find_map(|(category, score, cues)| {
                if !also.when.contains(category) {
                    return None;
                }
                cues.iter().find_map(|(cue, _)| {
                    let sentence = tokens.list[cue.start].sentence;
                    near.iter()
                        .any(|(i, f)| {
                            usize::from(*i) == index && tokens.list[f.start].sentence == sentence
                        })
                        .then(|| (*score, cues.clone()))
                })
            });
            if let Some((score, cues)) = source {
                flagged.push((also.category, score, cues));
            }
        }
        let mut raised_by = RaisedBy::Nothing;
        if let Some(model) = &self.model {
            let scores = model.score_rows(&sink.rows);
            let any = scores[0];
            // The model vetoes concerns the rules raise from medium cues
            // alone when the text reads like none; a strong cue stands.
            flagged.retain(|(_, _, cues)| {
                any >= model.veto || cues.iter().any(|(_, w)| *w >= Tiers::STRONG)
            });
            let gate = if best_cue > Tiers::WEAK {
                model.threshold
            } else {
                model.threshold + model.without_cues
            };
            if flagged.is_empty() && any >= gate {
                raised_by = RaisedBy::Model;
                let strength = (1.0 / (1.0 + (-any).exp())).clamp(0.5, 1.0);
                let excerpt = model_excerpt(text, &tokens, model, &sink.unigram);
                let mut ranked: Vec<(f32, SafeguardingCategory)> = SafeguardingCategory::ALL
                    .iter()
                    .enumerate()
                    .map(|(index, category)| (scores[index + 1], *category))
                    .collect();
                ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
                for (rank, (score, category)) in ranked.into_iter().enumerate() {
                    if rank == 0 || (score >= 0.0 && rank < 3) {
                        concerns.push(Concern {
                            category,
                            excerpt: excerpt.clone(),
                            strength,
                        });
                    }
                }
            }
        }
        if !flagged.is_empty() {
            raised_by = RaisedBy::Rules;
        }
        for (category, score, cues) in flagged {
            concerns.push(Concern {
                category,
                excerpt: excerpt(text, &tokens, &cues),
                strength: (score / (2.0 * THRESHOLD)).clamp(0.5, 1.0),
            });
        }
        concerns.sort_by(|a, b| {
            b.strength
                .total_cmp(&a.strength)
                .then(a.category.cmp(&b.category))
        });
        Assessment {
            language,
            concerns,
            raised_by,
            best_cue,
        }
    }
}

/// Where a text's model features go: the rows of the model's weights they
/// have (when scoring), their names (when training), and each word's own
/// feature (for excerpts).
struct FeatureSink<'a> {
    model: Option<&'a Model>,
    /// Bit r is set when the text has the feature of row r.
    rows: Vec<u64>,
    names: Option<&'a mut Vec<(u64, String)>>,
    unigram: Vec<Option<u64>>,
}

impl FeatureSink<'_> {
    /// Adds a feature by its hash, and its name (its parts joined) when
    /// training.
    fn add(&mut self, hash: u64, parts: &[&str]) -> u64 {
        if let Some(row) = self.model.and_then(|model| model.row(hash))
            && let Some(bits) = self.rows.get_mut(row as usize / 64)
        {
            *bits |= 1 << (row % 64);
        }
        if let Some(names) = self.names.as_deref_mut() {
            let name = parts.concat();
            debug_assert_eq!(hash, model::hash_of(&name), "{name}");
            names.push((hash, name));
        }
        hash
    }
}

/// One different word of a text and what screening found for it.
struct WordData<'t, 'd> {
    word: &'t str,
    /// The script of the word where it first comes.
    script: Script,
    entry: Option<&'d Entry>,
    /// Ranges of the ids it matches, of the words it may mean and of the
    /// rules it may begin here (see [`Detector::run`]).
    ids: (u32, u32),
    meanings: (u32, u32),
    viable: (u32, u32),
    /// The model's key for it (its English stem in Latin letters, `#` for
    /// a number, the word itself otherwise) and the key's hash.
    key: Cow<'t, str>,
    key_hash: u64,
    /// A Bengali word's first three letters (where it has more): their end
    /// and hash.
    prefix: Option<(usize, u64)>,
}

impl<'t, 'd> WordData<'t, 'd> {
    fn new(word: &'t str, token: &Token, entry: Option<&'d Entry>) -> Self {
        Self {
            word,
            script: token.script,
            entry,
            ids: (0, 0),
            meanings: (0, 0),
            viable: (0, 0),
            key: Cow::Borrowed(word),
            key_hash: 0,
            prefix: None,
        }
    }
}

/// Sorts a word's few ids (an insertion sort: a word has a handful, and a
/// general sort costs more to set up than that takes).
fn sort_small(ids: &mut [u32]) {
    if ids.len() > 16 {
        ids.sort_unstable();
        return;
    }
    for i in 1..ids.len() {
        let mut j = i;
        while j > 0 && ids[j - 1] > ids[j] {
            ids.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The first three letters of a Bengali word with more: their end and hash.
fn bengali_prefix(word: &str) -> Option<(usize, u64)> {
    let (cut, _) = word.char_indices().nth(3)?;
    Some((cut, model::key_hash(&word.as_bytes()[..cut])))
}

/// A text's words as the model sees them.
struct TextWords<'a, 't, 'd> {
    tokens: &'a Tokens,
    word_of: &'a [u32],
    words: &'a [WordData<'t, 'd>],
    /// Indices into [`Vocabulary::meanings`].
    meanings: &'a [u32],
}

impl Detector {
    /// The ids of the rest of a candidate's first phrase.
    fn rest(&self, candidate: &Candidate) -> &[u32] {
        let at = candidate.rest_at as usize;
        &self.pool[at..at + usize::from(candidate.rest_len)]
    }

    /// Works out a word's keys, the ids it matches and the words it may
    /// mean (in the `allowed` languages), appending them to `ids` and
    /// `meanings`: the same as looking each key up in its own map, as
    /// [`Detector::word_ids`] does, and each meaning too.
    fn look_up<'t>(
        &self,
        data: &mut WordData<'t, '_>,
        allowed: u8,
        with_sound: bool,
        ids: &mut Vec<u32>,
        meanings: &mut Vec<u32>,
    ) {
        let vocabulary = &self.vocabulary;
        let word = data.word;
        let begin = ids.len();
        let meanings_begin = meanings.len();
        let take = |(a, b): (u32, u32), meanings: &mut Vec<u32>| {
            for &(meaning, bits) in &vocabulary.meaning_lists[a as usize..b as usize] {
                if bits & allowed != 0 && !meanings[meanings_begin..].contains(&meaning) {
                    meanings.push(meaning);
                }
            }
        };
        let add = |entry: Option<&Entry>,
                   id: fn(&Entry) -> u32,
                   list: fn(&Entry) -> (u32, u32),
                   ids: &mut Vec<u32>,
                   meanings: &mut Vec<u32>| {
            if let Some(entry) = entry {
                if id(entry) != NO_ID {
                    ids.push(id(entry));
                }
                take(list(entry), meanings);
            }
        };
        add(data.entry, |e| e.surface, |e| e.exact, ids, meanings);
        match data.script {
            Script::Latin => {
                let stem = text::stem(word);
                let stem_entry = if *stem == *word {
                    data.entry
                } else {
                    vocabulary.entries.get(&*stem)
                };
                add(stem_entry, |e| e.stem, |e| e.stem_meanings, ids, meanings);
                if with_sound {
                    let sound = text::sound(word);
                    let sound_entry = if *sound == *word {
                        data.entry
                    } else if *sound == *stem {
                        stem_entry
                    } else {
                        vocabulary.entries.get(&*sound)
                    };
                    add(
                        sound_entry,
                        |e| e.sound,
                        |e| e.sound_meanings,
                        ids,
                        meanings,
                    );
                    self.sound_prefix.walk(&sound, |id| ids.push(id));
                }
                self.surface_prefix.walk(word, |id| ids.push(id));
                data.key = stem;
            }
            Script::Digits => {
                ids.push(ANY_NUMBER);
                if word.len() <= 2 && word.parse::<u8>().is_ok_and(|age| age < 18) {
                    ids.push(CHILD_AGE);
                }
                data.key = Cow::Borrowed("#");
            }
            Script::Bengali | Script::Currency | Script::Other => {
                self.surface_prefix.walk(word, |id| ids.push(id));
            }
        }
        self.forms.prefix.walk(word, |index| {
            if let Some(&range) = vocabulary.prefix_meanings.get(index as usize) {
                take(range, meanings);
            }
        });
        let variant = Meaning::variant(data.script, with_sound);
        for &meaning in &meanings[meanings_begin..] {
            if let Some(meaning) = vocabulary.meanings.get(meaning as usize) {
                let (a, b) = meaning.ids[variant];
                ids.extend_from_slice(&vocabulary.meaning_ids[a as usize..b as usize]);
            }
        }
        sort_small(&mut ids[begin..]);
        let mut kept = begin;
        for i in begin..ids.len() {
            if kept == begin || ids[i] != ids[kept - 1] {
                ids[kept] = ids[i];
                kept += 1;
            }
        }
        ids.truncate(kept);
        data.ids = (begin as u32, kept as u32);
        data.meanings = (meanings_begin as u32, meanings.len() as u32);
    }

    fn extract_features(
        &self,
        words: &TextWords<'_, '_, '_>,
        masked: &[bool],
        negated: &[bool],
        scopes: &[(bool, &str)],
        sink: &mut FeatureSink<'_>,
    ) {
        let list = &words.tokens.list;
        let hash = |text: &str| model::key_hash(text.as_bytes());
        // Each word's key was hashed once; features are joined from them.
        let kinds = [("w:", hash("w:")), ("n:", hash("n:")), ("i:", hash("i:"))];
        let prefix_kinds = [hash("w:p:"), hash("n:p:"), hash("i:p:")];
        let pair = hash("b:");
        let word_at = |i: usize| &words.words[words.word_of[i] as usize];
        for (i, token) in list.iter().enumerate() {
            let which = if masked[i] {
                2
            } else if negated[i] {
                1
            } else {
                0
            };
            let (kind, kind_hash) = kinds[which];
            let data = word_at(i);
            let key: &str = &data.key;
            let own = sink.add(model::join(kind_hash, data.key_hash), &[kind, key]);
            sink.unigram.push((which == 0).then_some(own));
            let (a, b) = data.meanings;
            for &meaning in &words.meanings[a as usize..b as usize] {
                if let Some(meaning) = self.vocabulary.meanings.get(meaning as usize)
                    && *meaning.stem != *key
                {
                    let feature = model::join(kind_hash, meaning.stem_hash);
                    sink.add(feature, &[kind, &meaning.stem]);
                }
            }
            if token.script == Script::Bengali {
                let prefix = if data.script == Script::Bengali {
                    data.prefix
                } else {
                    bengali_prefix(data.word)
                };
                if let Some((cut, prefix_hash)) = prefix {
                    let feature = model::join(prefix_kinds[which], prefix_hash);
                    sink.add(feature, &[kind, "p:", &data.word[..cut]]);
                }
            }
            if let Some(next) = list.get(i + 1)
                && next.sentence == token.sentence
                && !masked[i]
                && !masked[i + 1]
            {
                let next_data = word_at(i + 1);
                let feature = model::join(model::join(pair, data.key_hash), next_data.key_hash);
                sink.add(feature, &["b:", key, " ", &next_data.key]);
            }
        }
        for (present, name) in scopes {
            if *present {
                sink.add(hash(name), &[name]);
            }
        }
        if let Some(names) = sink.names.as_deref_mut() {
            names.sort();
            names.dedup();
        }
    }
}

/// A word and the keys rules compare it by, worked out once.
#[derive(Clone)]
struct Keys<'w> {
    word: &'w str,
    script: Script,
    /// Its English stem (Latin letters; the word itself otherwise).
    stem: std::borrow::Cow<'w, str>,
    /// Its sound key (Latin letters; the word itself otherwise), when the
    /// text may be in a language whose rules compare words by it.
    sound: std::borrow::Cow<'w, str>,
    with_sound: bool,
}

impl<'w> Keys<'w> {
    fn of(word: &'w str, script: Script, with_sound: bool) -> Self {
        let latin = script == Script::Latin;
        let stem = if latin { text::stem(word) } else { word.into() };
        let with_sound = with_sound && latin;
        let sound = if with_sound {
            text::sound(word)
        } else {
            word.into()
        };
        Self {
            word,
            script,
            stem,
            sound,
            with_sound,
        }
    }
}

/// The words a model-raised concern rests on: the sentence whose words
/// weigh most towards a concern, cut to its heaviest stretch if long.
fn model_excerpt(text: &str, tokens: &Tokens, model: &Model, unigram: &[Option<u64>]) -> String {
    let list = &tokens.list;
    if list.is_empty() {
        return String::new();
    }
    let weight = |i: usize| {
        unigram
            .get(i)
            .copied()
            .flatten()
            .map_or(0.0, |h| model.weight(h).max(0.0))
    };
    let sentences = list.last().map_or(0, |t| t.sentence as usize + 1);
    let mut totals = vec![0.0f32; sentences];
    for (i, token) in list.iter().enumerate() {
        totals[token.sentence as usize] += weight(i);
    }
    let best_sentence = totals
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index) as u32;
    let in_sentence: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].sentence == best_sentence)
        .collect();
    let (Some(&first), Some(&last)) = (in_sentence.first(), in_sentence.last()) else {
        return String::new();
    };
    if list[last].end - list[first].start <= EXCERPT_MAX {
        return text[list[first].start..list[last].end].to_owned();
    }
    let peak = in_sentence
        .iter()
        .copied()
        .max_by(|a, b| weight(*a).total_cmp(&weight(*b)))
        .unwrap_or(first);
    let (mut start, mut end) = (peak, peak);
    loop {
        let grown_left = start > first && list[end].end - list[start - 1].start <= EXCERPT_MAX;
        if grown_left {
            start -= 1;
        }
        let grown_right = end < last && list[end + 1].end - list[start].start <= EXCERPT_MAX;
        if grown_right {
            end += 1;
        }
        if !grown_left && !grown_right {
            break;
        }
    }
    text[list[start].start..list[end].end].to_owned()
}

/// The words that raised a concern: the strongest cue, joined with the other
/// cues of its sentence while the whole stays short.
fn excerpt(text: &str, tokens: &Tokens, cues: &[(Found, f32)]) -> String {
    let Some((best, _)) = cues.first() else {
        return String::new();
    };
    let sentence = tokens.list[best.start].sentence;
    let mut start = tokens.list[best.start].start;
    let mut end = tokens.list[best.end - 1].end;
    for (cue, _) in &cues[1..] {
        if tokens.list[cue.start].sentence != sentence {
            continue;
        }
        let s = start.min(tokens.list[cue.start].start);
        let e = end.max(tokens.list[cue.end - 1].end);
        if e - s <= EXCERPT_MAX {
            start = s;
            end = e;
        }
    }
    text[start..end].to_owned()
}

struct Matcher<'a> {
    tokens: &'a Tokens,
    ids: &'a [u32],
    spans: &'a [(u32, u32)],
}

impl Matcher<'_> {
    fn has(&self, token: usize, id: u32) -> bool {
        self.ids_of(token).binary_search(&id).is_ok()
    }

    fn ids_of(&self, token: usize) -> &[u32] {
        let (a, b) = self.spans[token];
        &self.ids[a as usize..b as usize]
    }

    /// Where the phrase ends if it begins at `start`, in `sentence`.
    fn phrase_at(&self, phrase: &[u32], start: usize, sentence: u32) -> Option<usize> {
        let list = &self.tokens.list;
        for (offset, &id) in phrase.iter().enumerate() {
            let at = start + offset;
            if at >= list.len() || list[at].sentence != sentence || !self.has(at, id) {
                return None;
            }
        }
        Some(start + phrase.len())
    }

    /// Where the pattern ends if its steps from `step` on match from `at`.
    fn steps_from(&self, steps: &[Step], step: usize, at: usize, sentence: u32) -> Option<usize> {
        let Some(current) = steps.get(step) else {
            return Some(at);
        };
        let list = &self.tokens.list;
        for skip in 0..=usize::from(current.gap) {
            let from = at + skip;
            if from >= list.len() || list[from].sentence != sentence {
                break;
            }
            // The ids of the word here that phrases of the step begin with.
            let mut begins = None;
            let mut count = 0;
            for id in self.ids_of(from) {
                if let Ok(k) = current.firsts.binary_search(id) {
                    begins = Some(k);
                    count += 1;
                }
            }
            let Some(k) = begins else {
                continue;
            };
            let rest = |phrase: &[u32]| {
                self.phrase_at(phrase, from, sentence)
                    .and_then(|end| self.steps_from(steps, step + 1, end, sentence))
            };
            if count == 1 {
                // Only the phrases that begin with that id can match here:
                // try just those, in their order.
                let (a, b) = current.first_ranges[k];
                for &phrase in &current.by_first[a as usize..b as usize] {
                    if let Some(end) = rest(&current.phrases[phrase as usize]) {
                        return Some(end);
                    }
                }
            } else {
                for phrase in &current.phrases {
                    if let Some(end) = rest(phrase) {
                        return Some(end);
                    }
                }
            }
        }
        if current.optional {
            return self.steps_from(steps, step + 1, at, sentence);
        }
        None
    }
}

fn one_word(text: &str) -> Option<String> {
    let tokens = text::tokenize(text);
    match tokens.list.as_slice() {
        [token] => Some(tokens.word(token).to_owned()),
        _ => None,
    }
}

fn intern(map: &mut FxHashMap<Box<str>, u32>, next: &mut u32, key: &str) -> u32 {
    if let Some(&id) = map.get(key) {
        return id;
    }
    let id = *next;
    *next += 1;
    map.insert(key.into(), id);
    id
}

/// The beginnings of `word*` patterns, as a trie over their bytes: walking a
/// word costs one look-up per byte and stops at the first byte no beginning
/// goes on with, which for most words is the first or second.
#[derive(Debug, Default)]
struct Prefixes {
    /// (node << 8 | byte) to the node it leads to; node 0 is the root.
    edges: FxHashMap<u64, u32>,
    /// The root's edges by byte, [`NO_ID`] for none: every walk begins with
    /// one, so it is a list, not a map.
    root: Vec<u32>,
    /// Each node's id, or [`NO_ID`] where no beginning ends.
    ids: Vec<u32>,
}

impl Prefixes {
    /// The id of the beginning `key`, a new one from `next` if it is new.
    fn intern(&mut self, next: &mut u32, key: &str) -> u32 {
        if self.ids.is_empty() {
            self.ids.push(NO_ID);
            self.root = vec![NO_ID; 256];
        }
        let mut node = 0u32;
        for &byte in key.as_bytes() {
            let edge = u64::from(node) << 8 | u64::from(byte);
            let parent = node;
            node = match self.edges.get(&edge) {
                Some(&child) => child,
                None => {
                    let child = self.ids.len() as u32;
                    self.ids.push(NO_ID);
                    self.edges.insert(edge, child);
                    if parent == 0 {
                        self.root[usize::from(byte)] = child;
                    }
                    child
                }
            };
        }
        let slot = &mut self.ids[node as usize];
        if *slot == NO_ID {
            *slot = *next;
            *next += 1;
        }
        *slot
    }

    /// Calls `found` with the id of every beginning `word` starts with,
    /// shortest first (never the empty one).
    fn walk(&self, word: &str, mut found: impl FnMut(u32)) {
        let Some((&first, rest)) = word.as_bytes().split_first() else {
            return;
        };
        let mut node = match self.root.get(usize::from(first)) {
            Some(&child) if child != NO_ID => child,
            _ => return,
        };
        let mut bytes = rest.iter();
        loop {
            if let Some(&id) = self.ids.get(node as usize)
                && id != NO_ID
            {
                found(id);
            }
            let Some(&byte) = bytes.next() else {
                return;
            };
            match self.edges.get(&(u64::from(node) << 8 | u64::from(byte))) {
                None => return,
                Some(&child) => node = child,
            }
        }
    }
}
