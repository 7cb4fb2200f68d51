//! A small trained model beside the rules: logistic regression over a
//! text's words (their English stems, the English meanings the rules files
//! give words in other languages, neighbouring pairs, and whether a word is
//! negated or part of an idiom). It catches disclosures the cue patterns do
//! not, since residents describe harm in more ways than anyone can list.
//!
//! Its weights are data (`rules/safeguarding/model.tsv`, one row per feature:
//! the weight for "any concern" and for each category), trained by
//! `hamlet evaluate safeguarding --train-model` on the development half of the
//! labelled corpus only, so retraining after a change to the rules files is
//! one command. Nothing is fetched or learnt at run time.

use rustc_hash::FxHashMap;

use super::SafeguardingCategory;

/// Marks a free slot of the rows' table.
const NO_ROW: u32 = u32::MAX;

/// Outputs: "any concern", then each category in [`SafeguardingCategory::ALL`] order.
pub(super) const OUTPUTS: usize = 13;

/// A word's hash (or a feature kind's, "w:"): read eight bytes at a time
/// (a multiply and a rotate per word, as FxHash does), then mixed so every
/// bit of the text reaches every bit of the hash.
pub(super) fn key_hash(key: &[u8]) -> u64 {
    let mut hash = key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(26) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(26) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    mix(hash)
}

/// A feature's hash so far joined with its next part's: so a feature is
/// hashed from its words' hashes, worked out once per word of a text.
pub(super) fn join(so_far: u64, next: u64) -> u64 {
    mix(so_far.rotate_left(23) ^ next.wrapping_mul(K))
}

const K: u64 = 0xf135_7aea_2e62_a9c5;

/// splitmix64's finaliser.
fn mix(mut hash: u64) -> u64 {
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The hash of a feature by its name in `model.tsv`, the same as the
/// detector makes from its parts: `b:` and two words with a space between,
/// a kind (`w:`, `n:`, `i:`, or one of those and `p:`) and a word, or a
/// name of its own (`s:resolved`).
pub(super) fn hash_of(name: &str) -> u64 {
    if let Some((first, second)) = name.strip_prefix("b:").and_then(|r| r.split_once(' ')) {
        let so_far = join(key_hash(b"b:"), key_hash(first.as_bytes()));
        return join(so_far, key_hash(second.as_bytes()));
    }
    for kind in ["w:", "n:", "i:"] {
        if let Some(rest) = name.strip_prefix(kind) {
            let (kind, key) = match rest.strip_prefix("p:") {
                Some(key) => (format!("{kind}p:"), key),
                None => (kind.to_owned(), rest),
            };
            return join(key_hash(kind.as_bytes()), key_hash(key.as_bytes()));
        }
    }
    key_hash(name.as_bytes())
}

/// The trained weights.
#[derive(Debug, Default)]
pub(super) struct Model {
    bias: [f32; OUTPUTS],
    weights: FxHashMap<u64, [f32; OUTPUTS]>,
    /// "Any concern" scores at or above this raise a concern by themselves.
    pub threshold: f32,
    /// A concern the rules raise from medium cues only is dropped when the
    /// "any concern" score is below this.
    pub veto: f32,
    /// How much higher the score must be to raise a concern by itself when
    /// no medium or strong cue counted in the text at all.
    pub without_cues: f32,
    /// For screening: each feature's row in `rows`, the rows in the order of
    /// their features' hashes (see [`Model::score_rows`]). A table of
    /// (hash, row) at least twice the rows' number, a feature in the first
    /// free slot from its hash's low bits on (the hashes are well mixed, so
    /// they need no hashing again); [`NO_ROW`] marks a free slot.
    row_slots: Vec<(u64, u32)>,
    rows: Vec<[f32; OUTPUTS]>,
}

impl Model {
    /// Scores a text's features: one logit per output.
    pub fn score(&self, features: &[u64]) -> [f32; OUTPUTS] {
        let mut scores = self.bias;
        for feature in features {
            if let Some(weights) = self.weights.get(feature) {
                for (score, weight) in scores.iter_mut().zip(weights) {
                    *score += weight;
                }
            }
        }
        scores
    }

    /// Numbers the features' rows in the order of their hashes, for
    /// [`Model::score_rows`]; done once the weights are read or trained.
    fn index_rows(&mut self) {
        let mut features: Vec<(u64, [f32; OUTPUTS])> =
            self.weights.iter().map(|(hash, w)| (*hash, *w)).collect();
        features.sort_unstable_by_key(|(hash, _)| *hash);
        let size = (features.len() * 2).next_power_of_two().max(16);
        self.row_slots = vec![(0, NO_ROW); size];
        for (row, (hash, _)) in features.iter().enumerate() {
            let mut slot = *hash as usize & (size - 1);
            while self.row_slots[slot].1 != NO_ROW {
                slot = (slot + 1) & (size - 1);
            }
            self.row_slots[slot] = (*hash, row as u32);
        }
        self.rows = features.into_iter().map(|(_, weights)| weights).collect();
    }

    /// The number of rows [`Model::row`] numbers features with.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// The row of a feature the model has a weight for.
    pub fn row(&self, feature: u64) -> Option<u32> {
        let mask = self.row_slots.len().checked_sub(1)?;
        let mut slot = feature as usize & mask;
        loop {
            let (hash, row) = self.row_slots[slot];
            if row == NO_ROW {
                return None;
            }
            if hash == feature {
                return Some(row);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Scores a text's features given as a set of rows (bit `r` of the
    /// words of `present` for row `r`): the same sums in the same order as
    /// [`Model::score`] over the features' hashes sorted and without
    /// repeats, since the rows are in the order of the hashes.
    pub fn score_rows(&self, present: &[u64]) -> [f32; OUTPUTS] {
        let mut scores = self.bias;
        for (index, &word) in present.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let row = index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(weights) = self.rows.get(row) {
                    for (score, weight) in scores.iter_mut().zip(weights) {
                        *score += weight;
                    }
                }
            }
        }
        scores
    }

    /// The weight of one feature for "any concern".
    pub fn weight(&self, feature: u64) -> f32 {
        self.weights.get(&feature).map_or(0.0, |w| w[0])
    }

    /// Reads `model.tsv`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut model = Self {
            threshold: 0.0,
            veto: f32::NEG_INFINITY,
            ..Self::default()
        };
        let mut header_seen = false;
        for (number, line) in source.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let name = fields.next().unwrap_or_default();
            if !header_seen {
                if name != "feature" {
                    return Err(format!("line {}: expected the header row", number + 1));
                }
                header_seen = true;
                continue;
            }
            let values: Vec<f32> = fields
                .map(|value| {
                    value
                        .parse::<f32>()
                        .map_err(|_| format!("line {}: {value:?} is not a number", number + 1))
                })
                .collect::<Result<_, _>>()?;
            match name {
                "_threshold" => model.threshold = values.first().copied().unwrap_or(0.0),
                "_veto" => model.veto = values.first().copied().unwrap_or(f32::NEG_INFINITY),
                "_without_cues" => model.without_cues = values.first().copied().unwrap_or(0.0),
                _ => {
                    if values.len() != OUTPUTS {
                        return Err(format!(
                            "line {}: {} weights, expected {OUTPUTS}",
                            number + 1,
                            values.len()
                        ));
                    }
                    let mut weights = [0.0; OUTPUTS];
                    weights.copy_from_slice(&values);
                    if name == "_bias" {
                        model.bias = weights;
                    } else {
                        model.weights.insert(hash_of(name), weights);
                    }
                }
            }
        }
        model.index_rows();
        Ok(model)
    }
}

/// One training text: its features (hash and name) and its labels.
pub(super) struct Example {
    pub features: Vec<u64>,
    pub labels: [bool; OUTPUTS],
}

/// The labels of a corpus item: any concern, then each category.
pub(super) fn labels(categories: &[SafeguardingCategory]) -> [bool; OUTPUTS] {
    let mut labels = [false; OUTPUTS];
    labels[0] = !categories.is_empty();
    for (index, category) in SafeguardingCategory::ALL.iter().enumerate() {
        labels[index + 1] = categories.contains(category);
    }
    labels
}

/// How training goes: passes over the data, step size, weight decay, and
/// how rare a feature may be and still be learnt.
const EPOCHS: usize = 40;
const LEARNING_RATE: f32 = 0.2;
const DECAY: f32 = 0.0005;
const MIN_COUNT: usize = 2;

fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
/// Weights smaller than this are left out of the file.
const KEEP: f32 = 0.01;

/// Trains logistic regression by stochastic gradient descent, in a fixed
/// order so the same data gives the same weights.
pub(super) fn train(examples: &[Example], threshold: f32, veto: f32, without_cues: f32) -> Model {
    let epochs: usize = knob("SG_EPOCHS", EPOCHS);
    let learning_rate: f32 = knob("SG_LR", LEARNING_RATE);
    let decay: f32 = knob("SG_DECAY", DECAY);
    let min_count: usize = knob("SG_MIN", MIN_COUNT);
    let mut counts: FxHashMap<u64, usize> = FxHashMap::default();
    for example in examples {
        for feature in &example.features {
            *counts.entry(*feature).or_default() += 1;
        }
    }
    let mut positives = [0usize; OUTPUTS];
    for example in examples {
        for (count, label) in positives.iter_mut().zip(example.labels) {
            *count += usize::from(label);
        }
    }
    // Rare categories weigh their positives up, so the model does not learn
    // to say "no" to all of them.
    let total = examples.len().max(1) as f32;
    let positive_weight: Vec<f32> = positives
        .iter()
        .map(|&p| {
            let p = p.max(1) as f32;
            ((total - p) / p).sqrt().clamp(1.0, 4.0)
        })
        .collect();

    let mut model = Model {
        threshold,
        veto,
        without_cues,
        ..Model::default()
    };
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for epoch in 0..epochs {
        // Fisher-Yates with a fixed xorshift, for a repeatable order.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let rate = learning_rate / (1.0 + epoch as f32 * 0.1);
        for &index in &order {
            let example = &examples[index];
            let active: Vec<u64> = example
                .features
                .iter()
                .copied()
                .filter(|f| counts.get(f).copied().unwrap_or(0) >= min_count)
                .collect();
            let scores = model.score(&active);
            let mut gradients = [0.0f32; OUTPUTS];
            for output in 0..OUTPUTS {
                let p = 1.0 / (1.0 + (-scores[output]).exp());
                let y = if example.labels[output] { 1.0 } else { 0.0 };
                let weight = if example.labels[output] {
                    positive_weight[output]
                } else {
                    1.0
                };
                gradients[output] = (y - p) * weight;
                model.bias[output] += rate * gradients[output];
            }
            for feature in &active {
                let weights = model.weights.entry(*feature).or_insert([0.0; OUTPUTS]);
                for (w, gradient) in weights.iter_mut().zip(gradients) {
                    *w += rate * (gradient - decay * *w);
                }
            }
        }
    }
    model.index_rows();
    model
}

/// The model as `model.tsv`, with the names of its features.
pub(super) fn to_tsv(model: &Model, names: &FxHashMap<u64, String>, comment: &str) -> String {
    let mut out = String::new();
    for line in comment.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("feature\tANY");
    for category in SafeguardingCategory::ALL {
        out.push('\t');
        out.push_str(category.as_str());
    }
    out.push('\n');
    out.push_str(&format!("_threshold\t{}\n", model.threshold));
    if model.veto.is_finite() {
        out.push_str(&format!("_veto\t{}\n", model.veto));
    }
    out.push_str(&format!("_without_cues\t{}\n", model.without_cues));
    let row = |out: &mut String, name: &str, weights: &[f32; OUTPUTS]| {
        out.push_str(name);
        for w in weights {
            if w.abs() < KEEP {
                out.push_str("\t0");
            } else {
                out.push_str(&format!("\t{w:.3}"));
            }
        }
        out.push('\n');
    };
    row(&mut out, "_bias", &model.bias);
    let mut rows: Vec<(&String, &[f32; OUTPUTS])> = model
        .weights
        .iter()
        .filter(|(_, w)| w.iter().any(|w| w.abs() >= KEEP))
        .filter_map(|(hash, w)| names.get(hash).map(|name| (name, w)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    for (name, weights) in rows {
        row(&mut out, name, weights);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_hashes_the_same_from_its_parts_or_its_name() {
        let word = join(key_hash(b"w:"), key_hash(b"hit"));
        assert_eq!(word, hash_of("w:hit"));
        let prefix = join(key_hash(b"n:p:"), key_hash("মার".as_bytes()));
        assert_eq!(prefix, hash_of("n:p:মার"));
        let pair = join(join(key_hash(b"b:"), key_hash(b"hit")), key_hash(b"me"));
        assert_eq!(pair, hash_of("b:hit me"));
        assert_ne!(pair, hash_of("b:me hit"), "a pair's order counts");
        assert_eq!(key_hash(b"s:resolved"), hash_of("s:resolved"));
        assert_ne!(hash_of("w:hit"), hash_of("n:hit"));
    }

    #[test]
    fn a_written_model_reads_back() {
        let examples = vec![
            Example {
                features: vec![hash_of("w:hit"), hash_of("w:me")],
                labels: labels(&[SafeguardingCategory::Physical]),
            },
            Example {
                features: vec![hash_of("w:hit"), hash_of("w:me")],
                labels: labels(&[SafeguardingCategory::Physical]),
            },
            Example {
                features: vec![hash_of("w:park"), hash_of("w:me")],
                labels: labels(&[]),
            },
            Example {
                features: vec![hash_of("w:park"), hash_of("w:me")],
                labels: labels(&[]),
            },
        ];
        let model = train(&examples, 0.5, -2.0, 1.0);
        let mut names = FxHashMap::default();
        for name in ["w:hit", "w:me", "w:park"] {
            names.insert(hash_of(name), name.to_owned());
        }
        let written = to_tsv(&model, &names, "test");
        let read = Model::parse(&written).unwrap();
        assert!(read.score(&[hash_of("w:hit")])[0] > read.score(&[hash_of("w:park")])[0]);
        let mut present = vec![0u64; read.row_count().div_ceil(64)];
        for name in ["w:park", "w:hit"] {
            if let Some(row) = read.row(hash_of(name)) {
                present[row as usize / 64] |= 1 << (row % 64);
            }
        }
        let mut sorted = vec![hash_of("w:hit"), hash_of("w:park")];
        sorted.sort_unstable();
        assert_eq!(read.score_rows(&present), read.score(&sorted));
        assert_eq!(read.threshold, 0.5);
        assert_eq!(read.veto, -2.0);
        assert_eq!(read.without_cues, 1.0);
    }
}
