//! The detector: every rules file compiled into one word vocabulary and one
//! index of patterns, and the screening of a text against them.
//!
//! Screening is linear in the text. Each word is looked up in hash maps (its
//! form, stem and sound key, and its beginnings for `word*` patterns), giving
//! the ids of the pattern words it matches. A pattern is tried only where its
//! first word matches, and the rest must follow within a bounded number of
//! words in the same sentence, so no text makes the matching backtrack far.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::language::{Language, Votes};
use super::model::{self, Model};
use super::rules::{self, RuleSet, RulesError, Tiers, WordMode};
use super::text::{self, Script, Tokens};
use super::{Assessment, Concern, RaisedBy, SafeguardingCategory};

/// How many words before a cue a negation reaches ("never" in "he has never
/// raised a hand to anyone").
const NEGATION_REACH: usize = 6;
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

    /// The meanings of `word` in the `allowed` languages, appended to `out`.
    fn meanings<'a>(&'a self, keys: &Keys<'_>, allowed: u8, out: &mut Vec<&'a str>) {
        let word = keys.word;
        let from = out.len();
        let mut take = |list: Option<&'a Vec<(Box<str>, u8)>>| {
            for (meaning, bits) in list.into_iter().flatten() {
                if bits & allowed != 0 && !out[from..].contains(&&**meaning) {
                    out.push(meaning);
                }
            }
        };
        take(self.exact.get(word));
        if keys.script == Script::Latin {
            if !self.stem.is_empty() {
                take(self.stem.get(&*keys.stem));
            }
            if keys.with_sound && !self.sound.is_empty() {
                take(self.sound.get(&*keys.sound));
            }
        }
        self.prefix
            .walk(word, |index| take(self.prefix_meanings.get(index as usize)));
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
        Ok(detector)
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
            let mut firsts: Vec<u32> = phrases.iter().map(|ids| ids[0]).collect();
            firsts.sort_unstable();
            firsts.dedup();
            steps.push(Step {
                gap: element.gap,
                optional: element.optional,
                phrases,
                firsts: firsts.into(),
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

    /// The ids a word of a text matches, appended to `out`.
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

        let mut votes = Votes::default();
        for token in &tokens.list {
            match token.script {
                Script::Bengali => votes.bengali_script += 1,
                Script::Latin => {
                    votes.latin_words += 1;
                    if let Some(&bits) = self.markers.get(tokens.word(token)) {
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

        // Each word's keys, the ids it matches and the words it may mean,
        // flattened: word i has ids[spans[i].0..spans[i].1] and
        // meanings[meaning_spans[i].0..meaning_spans[i].1]. A word met
        // before in the text is looked up once ("the", "my", "he").
        let mut keys: Vec<Keys<'_>> = Vec::with_capacity(n);
        let mut ids: Vec<u32> = Vec::with_capacity(n * 2);
        let mut spans: Vec<(u32, u32)> = Vec::with_capacity(n);
        let mut meanings: Vec<&str> = Vec::new();
        let mut meaning_spans: Vec<(u32, u32)> = Vec::with_capacity(n);
        let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
        seen.reserve(n);
        let mut present = vec![0u64; (self.next_id as usize).div_ceil(64)];
        for (i, token) in tokens.list.iter().enumerate() {
            let word = tokens.word(token);
            if let Some(&earlier) = seen.get(word) {
                keys.push(keys[earlier].clone());
                spans.push(spans[earlier]);
                meaning_spans.push(meaning_spans[earlier]);
                continue;
            }
            seen.insert(word, i);
            let own = Keys::of(word, token.script, with_sound);
            let begin = ids.len();
            self.word_ids(&own, &mut ids);
            let meanings_begin = meanings.len();
            self.forms.meanings(&own, allowed, &mut meanings);
            for meaning in &meanings[meanings_begin..] {
                self.word_ids(&Keys::of(meaning, token.script, with_sound), &mut ids);
            }
            let own_ids = &mut ids[begin..];
            own_ids.sort_unstable();
            let mut kept = begin;
            for i in begin..ids.len() {
                if kept == begin || ids[i] != ids[kept - 1] {
                    ids[kept] = ids[i];
                    kept += 1;
                }
            }
            ids.truncate(kept);
            for &id in &ids[begin..] {
                if let Some(bits) = present.get_mut(id as usize / 64) {
                    *bits |= 1 << (id % 64);
                }
            }
            keys.push(own);
            spans.push((begin as u32, kept as u32));
            meaning_spans.push((meanings_begin as u32, meanings.len() as u32));
        }
        let in_text = |id: u32| {
            present
                .get(id as usize / 64)
                .is_some_and(|bits| bits & (1 << (id % 64)) != 0)
        };
        let matcher = Matcher {
            tokens: &tokens,
            ids: &ids,
            spans: &spans,
        };

        // The rules each first word can begin here: those of the text's
        // languages whose every step has a word in the text. Settled the
        // first time the word is met, so a common word ("the", "my"), which
        // begins hundreds of rules, costs one look-up when it comes again.
        let mut found: Vec<Found> = Vec::new();
        let mut possible = vec![Possible::Unknown; self.rules.len()];
        let mut viable: Vec<&Candidate> = Vec::new();
        let mut viable_of: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        for (start, &(a, b)) in spans.iter().enumerate() {
            let sentence = tokens.list[start].sentence;
            for &id in &ids[a as usize..b as usize] {
                let (from, to) = *viable_of.entry(id).or_insert_with(|| {
                    let from = viable.len() as u32;
                    for candidate in self.first.get(&id).into_iter().flatten() {
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
                        if *possible == Possible::Yes {
                            viable.push(candidate);
                        }
                    }
                    (from, viable.len() as u32)
                });
                for candidate in &viable[from as usize..to as usize] {
                    let rest_at = candidate.rest_at as usize;
                    let rest = &self.pool[rest_at..rest_at + usize::from(candidate.rest_len)];
                    let Some(after_first) = matcher.phrase_at(rest, start + 1, sentence) else {
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
                    Role::Negation => Some("scope: negation"),
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

        let wants_features = self.model.is_some() || named_features.is_some();
        let mut sink = FeatureSink {
            hashes: Vec::with_capacity(4 * n + 4),
            names: named_features,
            unigram: Vec::with_capacity(n),
        };
        if wants_features {
            let negated: Vec<bool> = (0..n)
                .map(|i| {
                    negations.iter().any(|&(s, e)| {
                        e <= i
                            && i - e < NEGATION_REACH
                            && clause[s] == clause[i]
                            && !negation_stop[e..i].iter().any(|&stop| stop)
                    })
                })
                .collect();
            let scopes = [
                (resolved_sentence.iter().any(|&r| r), "s:resolved"),
                (!abouts.is_empty(), "s:about"),
                (!clinicals.is_empty(), "s:clinical"),
                (masked.iter().any(|&m| m), "s:idiom"),
            ];
            let words = Words {
                tokens: &tokens,
                keys: &keys,
                meanings: &meanings,
                meaning_spans: &meaning_spans,
            };
            self.extract_features(&words, &masked, &negated, &scopes, &mut sink);
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
            if negated {
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
            let scores = model.score(&sink.hashes);
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

/// Where a text's model features go: their hashes, their names when
/// training, and each word's own feature (for excerpts).
struct FeatureSink<'a> {
    hashes: Vec<u64>,
    names: Option<&'a mut Vec<(u64, String)>>,
    unigram: Vec<Option<u64>>,
}

impl FeatureSink<'_> {
    /// Adds a feature by its hash, and its name (its parts joined) when
    /// training.
    fn add(&mut self, hash: u64, parts: &[&str]) -> u64 {
        self.hashes.push(hash);
        if let Some(names) = self.names.as_deref_mut() {
            let name = parts.concat();
            debug_assert_eq!(hash, model::hash_of(&name), "{name}");
            names.push((hash, name));
        }
        hash
    }
}

/// A text's words as the model sees them: each word's keys and the words
/// it may mean, found once while its ids were looked up.
struct Words<'t, 'd> {
    tokens: &'t Tokens,
    keys: &'t [Keys<'t>],
    meanings: &'t [&'d str],
    meaning_spans: &'t [(u32, u32)],
}

impl Detector {
    /// The model's key for a word: its English stem in Latin letters, the
    /// word itself otherwise.
    fn model_key<'w>(keys: &'w Keys<'_>) -> &'w str {
        match keys.script {
            Script::Latin => &keys.stem,
            Script::Digits => "#",
            _ => keys.word,
        }
    }

    fn extract_features(
        &self,
        words: &Words<'_, '_>,
        masked: &[bool],
        negated: &[bool],
        scopes: &[(bool, &str)],
        sink: &mut FeatureSink<'_>,
    ) {
        let list = &words.tokens.list;
        let hash = |text: &str| model::key_hash(text.as_bytes());
        // Each word's key hashed once; features are joined from them.
        let keys: Vec<(&str, u64)> = words
            .keys
            .iter()
            .map(|keys| {
                let key = Self::model_key(keys);
                (key, hash(key))
            })
            .collect();
        let kinds = [("w:", hash("w:")), ("n:", hash("n:")), ("i:", hash("i:"))];
        let prefix_kinds = [hash("w:p:"), hash("n:p:"), hash("i:p:")];
        let pair = hash("b:");
        for (i, token) in list.iter().enumerate() {
            let which = if masked[i] {
                2
            } else if negated[i] {
                1
            } else {
                0
            };
            let (kind, kind_hash) = kinds[which];
            let (key, key_hash) = keys[i];
            let own = sink.add(model::join(kind_hash, key_hash), &[kind, key]);
            sink.unigram.push((which == 0).then_some(own));
            let (a, b) = words.meaning_spans[i];
            for meaning in &words.meanings[a as usize..b as usize] {
                let meaning_key = text::stem(meaning);
                if meaning_key != key {
                    let feature = model::join(kind_hash, hash(&meaning_key));
                    sink.add(feature, &[kind, &meaning_key]);
                }
            }
            let word = words.keys[i].word;
            if token.script == Script::Bengali
                && let Some((cut, _)) = word.char_indices().nth(3)
            {
                let feature = model::join(prefix_kinds[which], hash(&word[..cut]));
                sink.add(feature, &[kind, "p:", &word[..cut]]);
            }
            if let Some(next) = list.get(i + 1)
                && next.sentence == token.sentence
                && !masked[i]
                && !masked[i + 1]
            {
                let (next_key, next_hash) = keys[i + 1];
                let feature = model::join(model::join(pair, key_hash), next_hash);
                sink.add(feature, &["b:", key, " ", next_key]);
            }
        }
        for (present, name) in scopes {
            if *present {
                sink.add(hash(name), &[name]);
            }
        }
        sink.hashes.sort_unstable();
        sink.hashes.dedup();
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
            let begins_one = self
                .ids_of(from)
                .iter()
                .any(|id| current.firsts.binary_search(id).is_ok());
            if !begins_one {
                continue;
            }
            for phrase in &current.phrases {
                if let Some(end) = self.phrase_at(phrase, from, sentence)
                    && let Some(end) = self.steps_from(steps, step + 1, end, sentence)
                {
                    return Some(end);
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
    /// Each node's id, or [`NO_ID`] where no beginning ends.
    ids: Vec<u32>,
}

impl Prefixes {
    /// The id of the beginning `key`, a new one from `next` if it is new.
    fn intern(&mut self, next: &mut u32, key: &str) -> u32 {
        if self.ids.is_empty() {
            self.ids.push(NO_ID);
        }
        let mut node = 0u32;
        for &byte in key.as_bytes() {
            let edge = u64::from(node) << 8 | u64::from(byte);
            node = match self.edges.get(&edge) {
                Some(&child) => child,
                None => {
                    let child = self.ids.len() as u32;
                    self.ids.push(NO_ID);
                    self.edges.insert(edge, child);
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
        if self.edges.is_empty() {
            return;
        }
        let mut node = 0u32;
        for &byte in word.as_bytes() {
            match self.edges.get(&(u64::from(node) << 8 | u64::from(byte))) {
                None => return,
                Some(&child) => node = child,
            }
            if let Some(&id) = self.ids.get(node as usize)
                && id != NO_ID
            {
                found(id);
            }
        }
    }
}
