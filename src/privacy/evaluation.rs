//! Measuring the detectors against a labelled corpus (`corpus/*.jsonl`, see
//! `corpus/README.md`): recall and precision overall, per language and per
//! category or kind. `hamlet evaluate` prints these reports and the held-out
//! test asserts on them.
//!
//! The corpus is split once into a development half, which the rules may be
//! tuned on, and a held-out half, which they must not be. Only aggregate
//! figures are ever shown for held-out items: [`safeguarding_mistakes`],
//! which shows texts, reads development items alone.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::model::{PiiKind, kinds};
use super::safeguarding::{
    Concern, CueTrace, Detector, Language, RaisedBy, SafeguardingCategory, TrainedModel,
};

/// Which half of the corpus to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Dev,
    Heldout,
    All,
}

impl Split {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "dev" => Some(Self::Dev),
            "heldout" => Some(Self::Heldout),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    fn includes(self, split: &str) -> bool {
        match self {
            Self::Dev => split == "dev",
            Self::Heldout => split == "heldout",
            Self::All => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Heldout => "heldout",
            Self::All => "all",
        }
    }
}

/// One labelled text of `corpus/safeguarding.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct SafeguardingItem {
    pub id: String,
    pub text: String,
    pub locale: Option<String>,
    pub language: String,
    pub categories: Vec<String>,
    pub kind: String,
    pub split: String,
}

/// One labelled text of `corpus/personal-data.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct PersonalDataItem {
    pub id: String,
    pub text: String,
    pub language: String,
    pub kinds: Vec<String>,
    pub split: String,
}

/// Reads a JSON Lines corpus file.
pub fn read_corpus<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let source = std::fs::read_to_string(path)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    parse_corpus(&source).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// Parses JSON Lines (blank lines are skipped).
pub fn parse_corpus<T: serde::de::DeserializeOwned>(source: &str) -> anyhow::Result<Vec<T>> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .map_err(|error| anyhow::anyhow!("line {}: {error}", number + 1))
        })
        .collect()
}

/// Counts of one binary decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
}

impl Tally {
    fn add(&mut self, expected: bool, found: bool) {
        match (expected, found) {
            (true, true) => self.true_positives += 1,
            (false, true) => self.false_positives += 1,
            (true, false) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
    }

    /// Found among those that should be; 1.0 when there were none to find.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Right among those flagged; 1.0 when nothing was flagged.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn positives(&self) -> usize {
        self.true_positives + self.false_negatives
    }

    pub fn items(&self) -> usize {
        self.true_positives + self.false_positives + self.false_negatives + self.true_negatives
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// How the safeguarding detector did on a corpus.
#[derive(Clone, Debug, Default)]
pub struct SafeguardingReport {
    pub split: Option<&'static str>,
    /// A disclosure counts as found when any concern is raised for it.
    pub overall: Tally,
    pub by_language: BTreeMap<String, Tally>,
    /// Per category, by label: found when that category is raised.
    pub by_category: BTreeMap<SafeguardingCategory, Tally>,
    /// False alarms by the kind of text (hard_negative, ordinary).
    pub false_alarms_by_kind: BTreeMap<String, (usize, usize)>,
    /// Texts whose language the detector told right, of all.
    pub language_right: (usize, usize),
    /// (found, false alarms) raised by the rules and by the model alone.
    pub by_rules: (usize, usize),
    pub by_model: (usize, usize),
    /// Of those raised by the model alone, (found, false alarms) where no
    /// medium or strong cue counted.
    pub by_model_without_cues: (usize, usize),
}

/// Scores the detector on the items of `split`.
pub fn evaluate_safeguarding(
    detector: &Detector,
    items: &[SafeguardingItem],
    split: Split,
) -> SafeguardingReport {
    let mut report = SafeguardingReport {
        split: Some(split.as_str()),
        ..SafeguardingReport::default()
    };
    for item in items.iter().filter(|item| split.includes(&item.split)) {
        let declared = item.locale.as_deref().and_then(Language::from_locale);
        let assessment = detector.assess(&item.text, declared);
        let expected = !item.categories.is_empty();
        let found = !assessment.concerns.is_empty();
        report.overall.add(expected, found);
        let source = match assessment.raised_by {
            RaisedBy::Rules => Some(&mut report.by_rules),
            RaisedBy::Model => Some(&mut report.by_model),
            RaisedBy::Nothing => None,
        };
        if let Some(source) = source {
            if expected {
                source.0 += 1;
            } else {
                source.1 += 1;
            }
        }
        if assessment.raised_by == RaisedBy::Model && assessment.best_cue <= 0.3 {
            if expected {
                report.by_model_without_cues.0 += 1;
            } else {
                report.by_model_without_cues.1 += 1;
            }
        }
        report
            .by_language
            .entry(item.language.clone())
            .or_default()
            .add(expected, found);
        for category in SafeguardingCategory::ALL {
            let labelled = item.categories.iter().any(|c| c == category.as_str());
            let raised = assessment.concerns.iter().any(|c| c.category == category);
            if labelled || raised {
                report
                    .by_category
                    .entry(category)
                    .or_default()
                    .add(labelled, raised);
            }
        }
        if !expected {
            let entry = report
                .false_alarms_by_kind
                .entry(item.kind.clone())
                .or_default();
            entry.1 += 1;
            if found {
                entry.0 += 1;
            }
        }
        report.language_right.1 += 1;
        if assessment.language.code() == item.language {
            report.language_right.0 += 1;
        }
    }
    report
}

/// The column heads of a report's table, the first one named `items`.
fn header(f: &mut fmt::Formatter<'_>, items: &str) -> fmt::Result {
    writeln!(
        f,
        "{:<20} {:>6} {:>6} {:>6} {:>8} {:>10}",
        "", items, "found", "missed", "recall", "precision"
    )
}

/// One row of a report's table; `wrong` names its false positives.
fn tally_row(f: &mut fmt::Formatter<'_>, name: &str, tally: &Tally, wrong: &str) -> fmt::Result {
    writeln!(
        f,
        "{:<20} {:>6} {:>6} {:>6} {:>8.3} {:>10.3}   ({} {wrong})",
        name,
        tally.items(),
        tally.true_positives,
        tally.false_negatives,
        tally.recall(),
        tally.precision(),
        tally.false_positives
    )
}

impl fmt::Display for SafeguardingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "safeguarding detector, split {}: {} texts, {} disclosures",
            self.split.unwrap_or("?"),
            self.overall.items(),
            self.overall.positives()
        )?;
        writeln!(f)?;
        header(f, "texts")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, tally: &Tally| {
            tally_row(f, name, tally, "false alarms")
        };
        row(f, "overall", &self.overall)?;
        for (language, tally) in &self.by_language {
            row(f, &format!("language {language}"), tally)?;
        }
        writeln!(f)?;
        writeln!(f, "per category (by label; a text may have several):")?;
        header(f, "label")?;
        for (category, tally) in &self.by_category {
            writeln!(
                f,
                "{:<20} {:>6} {:>6} {:>6} {:>8.3} {:>10.3}   ({} raised without the label)",
                category.as_str(),
                tally.positives(),
                tally.true_positives,
                tally.false_negatives,
                tally.recall(),
                tally.precision(),
                tally.false_positives
            )?;
        }
        writeln!(f)?;
        for (kind, (alarms, of)) in &self.false_alarms_by_kind {
            writeln!(f, "false alarms on {kind} texts: {alarms} of {of}")?;
        }
        writeln!(
            f,
            "raised by the rules: {} found, {} false alarms; by the model alone: {} found, {} false alarms",
            self.by_rules.0, self.by_rules.1, self.by_model.0, self.by_model.1
        )?;
        writeln!(
            f,
            "  of which with no medium or strong cue: {} found, {} false alarms",
            self.by_model_without_cues.0, self.by_model_without_cues.1
        )?;
        writeln!(
            f,
            "language told right: {} of {}",
            self.language_right.0, self.language_right.1
        )
    }
}

/// A development text the detector got wrong, with what matched.
#[derive(Clone, Debug)]
pub struct Mistake {
    pub id: String,
    pub language: String,
    pub text: String,
    pub expected: Vec<String>,
    pub concerns: Vec<Concern>,
    pub trace: Vec<CueTrace>,
}

/// The development items the detector missed or flagged wrongly (or, with
/// `categories`, raised the wrong categories for). Held-out items are never
/// looked at here.
pub fn safeguarding_mistakes(
    detector: &Detector,
    items: &[SafeguardingItem],
    categories: bool,
) -> Vec<Mistake> {
    items
        .iter()
        .filter(|item| item.split == "dev")
        .filter_map(|item| {
            let (assessment, trace) = detector.explain(&item.text);
            let expected = !item.categories.is_empty();
            let found = !assessment.concerns.is_empty();
            let wrong_categories = categories
                && expected
                && found
                && item.categories.iter().any(|label| {
                    !assessment
                        .concerns
                        .iter()
                        .any(|c| c.category.as_str() == label)
                });
            (expected != found || wrong_categories).then(|| Mistake {
                id: item.id.clone(),
                language: item.language.clone(),
                text: item.text.clone(),
                expected: item.categories.clone(),
                concerns: assessment.concerns,
                trace,
            })
        })
        .collect()
}

/// The labelled development items as training examples. Held-out items are
/// never included, whatever the file holds.
fn training_examples(items: &[SafeguardingItem]) -> Vec<(&str, Vec<SafeguardingCategory>)> {
    items
        .iter()
        .filter(|item| item.split == "dev")
        .map(|item| {
            let categories = item
                .categories
                .iter()
                .filter_map(|c| SafeguardingCategory::parse(c))
                .collect();
            (item.text.as_str(), categories)
        })
        .collect()
}

/// Trains the safeguarding model on the development items of `items`.
pub fn train_safeguarding_model(
    detector: &Detector,
    items: &[SafeguardingItem],
    settings: ModelSettings,
) -> TrainedModel {
    let examples = training_examples(items);
    let borrowed: Vec<(&str, &[SafeguardingCategory])> = examples
        .iter()
        .map(|(text, categories)| (*text, categories.as_slice()))
        .collect();
    detector.train(
        &borrowed,
        settings.threshold,
        settings.veto,
        settings.without_cues,
    )
}

/// When the model's score raises a concern (see `model.rs`).
#[derive(Clone, Copy, Debug)]
pub struct ModelSettings {
    pub threshold: f32,
    pub veto: f32,
    pub without_cues: f32,
}

/// What cross-validation on the development items found.
#[derive(Clone, Debug, Default)]
pub struct CrossValidation {
    /// The whole detector (rules and a model trained without the fold), on
    /// each fold in turn. The rules were tuned on all of these texts, so
    /// this flatters the rules; the model's part is fair.
    pub detector: SafeguardingReport,
    /// The model alone: (threshold, recall, precision) of "any concern".
    pub model_alone: Vec<(f32, f64, f64)>,
    /// The same by language: (language, threshold, recall, precision).
    pub model_by_language: Vec<(String, f32, f64, f64)>,
}

/// K-fold cross-validation on the development items only: each fold is
/// scored by a detector whose model was trained on the other folds.
pub fn cross_validate(
    make_detector: &dyn Fn() -> anyhow::Result<Detector>,
    items: &[SafeguardingItem],
    folds: usize,
    settings: ModelSettings,
) -> anyhow::Result<CrossValidation> {
    let mut dev: Vec<&SafeguardingItem> = items.iter().filter(|i| i.split == "dev").collect();
    dev.sort_by(|a, b| a.id.cmp(&b.id));
    let folds = folds.max(2);
    let mut result = CrossValidation {
        detector: SafeguardingReport {
            split: Some("dev (cross-validated)"),
            ..SafeguardingReport::default()
        },
        ..CrossValidation::default()
    };
    let mut scored: Vec<(f32, bool, String)> = Vec::new();
    for fold in 0..folds {
        let train: Vec<SafeguardingItem> = dev
            .iter()
            .enumerate()
            .filter(|(index, _)| index % folds != fold)
            .map(|(_, item)| (*item).clone())
            .collect();
        let test: Vec<SafeguardingItem> = dev
            .iter()
            .enumerate()
            .filter(|(index, _)| index % folds == fold)
            .map(|(_, item)| (*item).clone())
            .collect();
        let mut detector = make_detector()?;
        let trained = train_safeguarding_model(&detector, &train, settings);
        detector.use_model(Some(trained));
        let report = evaluate_safeguarding(&detector, &test, Split::Dev);
        merge(&mut result.detector, &report);
        for item in &test {
            if let Some(score) = detector.model_score(&item.text) {
                scored.push((score, !item.categories.is_empty(), item.language.clone()));
            }
        }
    }
    for t in [-2.0f32, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0] {
        let mut tally = Tally::default();
        let mut by_language: BTreeMap<&str, Tally> = BTreeMap::new();
        for (score, expected, language) in &scored {
            tally.add(*expected, *score >= t);
            by_language
                .entry(language)
                .or_default()
                .add(*expected, *score >= t);
        }
        result
            .model_alone
            .push((t, tally.recall(), tally.precision()));
        for (language, tally) in by_language {
            result.model_by_language.push((
                language.to_owned(),
                t,
                tally.recall(),
                tally.precision(),
            ));
        }
    }
    Ok(result)
}

fn merge(into: &mut SafeguardingReport, report: &SafeguardingReport) {
    let add = |a: &mut Tally, b: &Tally| {
        a.true_positives += b.true_positives;
        a.false_positives += b.false_positives;
        a.false_negatives += b.false_negatives;
        a.true_negatives += b.true_negatives;
    };
    add(&mut into.overall, &report.overall);
    for (language, tally) in &report.by_language {
        add(into.by_language.entry(language.clone()).or_default(), tally);
    }
    for (category, tally) in &report.by_category {
        add(into.by_category.entry(*category).or_default(), tally);
    }
    for (kind, (alarms, of)) in &report.false_alarms_by_kind {
        let entry = into.false_alarms_by_kind.entry(kind.clone()).or_default();
        entry.0 += alarms;
        entry.1 += of;
    }
    into.by_rules.0 += report.by_rules.0;
    into.by_rules.1 += report.by_rules.1;
    into.by_model.0 += report.by_model.0;
    into.by_model.1 += report.by_model.1;
    into.by_model_without_cues.0 += report.by_model_without_cues.0;
    into.by_model_without_cues.1 += report.by_model_without_cues.1;
    into.language_right.0 += report.language_right.0;
    into.language_right.1 += report.language_right.1;
}

/// How the personal-data detector did on a corpus.
#[derive(Clone, Debug, Default)]
pub struct PersonalDataReport {
    pub split: Option<&'static str>,
    /// A text counts as found when it holds personal data and some is found.
    pub overall: Tally,
    pub by_language: BTreeMap<String, Tally>,
    /// Per kind: found when that kind is flagged.
    pub by_kind: BTreeMap<PiiKind, Tally>,
    /// Texts whose kinds were exactly right, of all.
    pub exact: (usize, usize),
}

/// Scores the personal-data scan on the items of `split`.
pub fn evaluate_personal_data(items: &[PersonalDataItem], split: Split) -> PersonalDataReport {
    let mut report = PersonalDataReport {
        split: Some(split.as_str()),
        ..PersonalDataReport::default()
    };
    for item in items.iter().filter(|item| split.includes(&item.split)) {
        let found = kinds(&item.text);
        let expected = !item.kinds.is_empty();
        report.overall.add(expected, !found.is_empty());
        report
            .by_language
            .entry(item.language.clone())
            .or_default()
            .add(expected, !found.is_empty());
        let mut exact = true;
        for kind in PiiKind::ALL {
            let labelled = item.kinds.iter().any(|k| k == kind.as_str());
            let flagged = found.contains(kind);
            exact &= labelled == flagged;
            report
                .by_kind
                .entry(kind)
                .or_default()
                .add(labelled, flagged);
        }
        report.exact.1 += 1;
        if exact {
            report.exact.0 += 1;
        }
    }
    report
}

impl fmt::Display for PersonalDataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "personal-data detector, split {}: {} texts, {} with personal data",
            self.split.unwrap_or("?"),
            self.overall.items(),
            self.overall.positives()
        )?;
        writeln!(f)?;
        header(f, "texts")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, tally: &Tally| {
            tally_row(f, name, tally, "false flags")
        };
        row(f, "overall", &self.overall)?;
        for (language, tally) in &self.by_language {
            row(f, &format!("language {language}"), tally)?;
        }
        writeln!(f)?;
        writeln!(f, "per kind:")?;
        for (kind, tally) in &self.by_kind {
            row(f, kind.as_str(), tally)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "texts with exactly the right kinds: {} of {}",
            self.exact.0, self.exact.1
        )
    }
}

/// How long screening takes.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Parsing and compiling the built-in rules once.
    pub load: Duration,
    /// Screening one comment of [`SAMPLE_COMMENT`]'s length, averaged.
    pub per_comment: Duration,
    pub comment_bytes: usize,
}

/// A long comment (about 2 KB) of the kind residents write: a complaint
/// about several things, with a disclosure in the middle of it.
pub const SAMPLE_COMMENT: &str = "I want to give some feedback about the last few months because honestly it has been one thing after another. \
First the GP surgery changed the phone system so you cannot get through before half eight and by the time you do every appointment for the day has gone, \
so I end up ringing 111 or going to the walk in centre, which is not what it is for. Then the hospital sent my mum's outpatient letter to our old address \
even though we told them twice that we moved in March, so she missed her eye clinic and now has to wait another four months. \
The pharmacy on the high street has been out of her inhaler twice this month and the staff there do their best but they are clearly short of people. \
The reason I am filling this in for her is that she cannot read English very well and my brother, who is supposed to be doing her shopping and paying her bills \
with her bank card, has not been round in three weeks, her electric key has run out and she has been living on crackers in the cold. \
When I asked him about the money he said it was none of my business and that she would only waste it. I do not know what to do about that. \
Separately, the parking at the health centre is a nightmare, there are four disabled bays and they are always full by nine, and the machine only takes coins. \
The receptionist on Tuesday was lovely though and sorted out a double appointment for mum with an interpreter, which she has never had before. \
The new building looks nice from the outside but the signs inside are confusing and the lifts were broken both times we went. \
Please could someone look at the letters, the parking and the phone lines, and please could someone ring me about my mum. \
The district nurse who came last year was brilliant and we would love to have her back. Thank you for reading all of this.";

/// Times loading the built-in rules and screening [`SAMPLE_COMMENT`].
pub fn time_safeguarding(iterations: u32) -> anyhow::Result<Timing> {
    let started = Instant::now();
    let detector = Detector::built_in()?;
    let load = started.elapsed();
    // Warm up (caches, branch predictors), then measure.
    for _ in 0..iterations.min(100) {
        std::hint::black_box(detector.assess(std::hint::black_box(SAMPLE_COMMENT), None));
    }
    let iterations = iterations.max(1);
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(detector.assess(std::hint::black_box(SAMPLE_COMMENT), None));
    }
    Ok(Timing {
        load,
        per_comment: started.elapsed() / iterations,
        comment_bytes: SAMPLE_COMMENT.len(),
    })
}
