//! Receipt references: the short code a resident gets when they submit
//! feedback or an idea, such as `FB-7K3Q-9XMD`, and later types in to see
//! what happened to it.
//!
//! # Shape
//!
//! `<PREFIX>-XXXX-XXXX`: the prefix names the kind (`FB` feedback, `ID` idea),
//! then seven payload symbols (35 random bits) and one check symbol.
//!
//! # Why Crockford base 32
//!
//! The symbols are Douglas Crockford's base-32 alphabet, `0-9` and `A-Z`
//! without `I`, `L`, `O` and `U`. References are read aloud over the phone,
//! copied from paper receipts and typed on kiosk keyboards, so no two symbols
//! look or sound alike, and the mistakes people do make are forgiven as
//! Crockford specifies: case does not matter, spaces and hyphens anywhere are
//! ignored, `O` reads as `0`, and `I` and `L` read as `1`.
//!
//! # Why a check symbol modulo 37
//!
//! The check symbol is Crockford's: the remainder, modulo the prime 37, of the
//! whole code read as one number, with the kind as its leading symbol (`R` for
//! feedback, `S` for ideas). So any stock Crockford implementation with check
//! symbols accepts `FB-7K3Q-9XMD` written as `R7K3Q9XMD`.
//!
//! Reading the symbols as a number gives each position a weight, a power of 32
//! modulo 37 (the check symbol's is −1), and the weights of the nine positions
//! (kind, seven payload symbols, check) are non-zero and pairwise distinct
//! modulo 37. Because 37 is prime and symbol values differ by less than 37,
//! that guarantees that these are always rejected:
//!
//! - every single wrong symbol anywhere in the code, check symbol included;
//! - every swap of two different symbols, adjacent or not;
//! - the right code under the other kind's prefix (`FB-…` typed as `ID-…`).
//!
//! About one in 37 of all other mistakes slips through as a well-formed code,
//! which then almost certainly names no submission. One inherent blind spot:
//! when the last payload symbol equals the check symbol and both are mistyped
//! as the same other symbol (`…MM` as `…NN`).
//!
//! A mistyped reference is therefore turned away by [`Reference::parse`]
//! with a message that says so, without touching the database.
//!
//! # Letters and digits only
//!
//! Crockford's check alphabet adds `*`, `~`, `$`, `=` and `U` for the
//! remainders 32 to 36. Those are awkward to read aloud and often missing
//! from kiosk keyboards, so hamlet never issues such a reference: generation
//! picks uniformly among the payloads whose remainder is below 32 (about
//! 29.7 billion per kind, 34.8 bits), and parsing accepts data symbols only.
//!
//! # Uniqueness
//!
//! References are random, not counted, so they reveal nothing about volumes
//! and cannot be walked. They are not unique by construction: among a million
//! references of one kind, about 17 clashing pairs are to be expected, so
//! storage must keep a unique index on the reference and draw again on a
//! clash.

use std::fmt::{self, Write as _};
use std::str::FromStr;

/// What a resident submitted, as told by a reference's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// Feedback about a service: prefix `FB`.
    Feedback,
    /// An idea for improving health and wellbeing: prefix `ID`.
    Idea,
}

impl ReferenceKind {
    /// The two letters a reference of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Feedback => "FB",
            Self::Idea => "ID",
        }
    }

    fn from_prefix(first: u8, second: u8) -> Option<Self> {
        match [first.to_ascii_uppercase(), second.to_ascii_uppercase()] {
            [b'F', b'B'] => Some(Self::Feedback),
            [b'I', b'D'] => Some(Self::Idea),
            _ => None,
        }
    }

    /// The kind's leading symbol in the checked number. Any two distinct values
    /// below 37 make the check reject a swapped prefix; feedback's is chosen so
    /// that the design's example, `FB-7K3Q-9XMD`, is itself well formed.
    fn leading_symbol(self) -> u64 {
        match self {
            Self::Feedback => 24, // R
            Self::Idea => 25,     // S
        }
    }

    /// The checked number is `leading_symbol · 32⁷ + payload`.
    fn offset(self) -> u64 {
        self.leading_symbol() << PAYLOAD_BITS
    }
}

/// A receipt reference such as `FB-7K3Q-9XMD`: the only handle a resident has
/// on what they submitted.
///
/// A value of this type is always well formed and checksummed. Its
/// [`Display`](fmt::Display) form (uppercase, hyphenated) is the canonical
/// one: it is what receipts show, what the API returns and what storage keys
/// on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    kind: ReferenceKind,
    /// Below 2³⁵, and `(kind.offset() + payload) % 37 < 32`.
    payload: u64,
}

/// Why some text is not a receipt reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Wrong length, an unknown prefix or a character outside the alphabet.
    #[error("this is not a receipt reference; references look like FB-7K3Q-9XMD")]
    Malformed,
    /// Shaped like a reference, but the check symbol does not match: a typing
    /// mistake.
    #[error("this receipt reference has a typing mistake; please check it against your receipt")]
    ChecksumMismatch,
}

/// Crockford's base-32 data symbols, by value.
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford's check symbols, by value: the data symbols and five more.
/// hamlet only issues references whose check is one of the first 32.
const CHECK_SYMBOLS: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
const MODULUS: u64 = 37;
const PAYLOAD_SYMBOLS: u32 = 7;
const PAYLOAD_BITS: u32 = 5 * PAYLOAD_SYMBOLS;
const PAYLOAD_LIMIT: u64 = 1 << PAYLOAD_BITS;
/// Two prefix letters, seven payload symbols and the check symbol.
const CODE_LEN: usize = 10;
/// Longer input is refused before any other work; the canonical form is 12.
const MAX_INPUT_LEN: usize = 32;

impl Reference {
    /// A new random reference of the given kind, drawn from the operating
    /// system's randomness (through a version 4 UUID).
    pub fn generate(kind: ReferenceKind) -> Self {
        let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
        // A v4 UUID fixes four version bits in `high` (bits 12 to 15) and two
        // variant bits in `low` (bits 62 and 63); the XOR lines each fixed bit
        // up with a random one, so all 64 bits are random.
        Self::from_random(kind, high ^ low)
    }

    /// The reference that `random` picks among all issuable references of
    /// `kind`. Uniform `random` gives a uniform reference (the modulo bias is
    /// below one in 500 million), and each value below
    /// [`issuable_count`](Self::issuable_count) gives a different reference.
    pub fn from_random(kind: ReferenceKind, random: u64) -> Self {
        let offset = kind.offset();
        // Number the issuable values of `offset + payload` (those whose
        // remainder modulo 37 is below 32) in order and take the chosen one:
        // index `32q + r` is the number `37q + r`.
        let index = issuable_below(offset) + random % Self::issuable_count(kind);
        let number = MODULUS * (index / 32) + index % 32;
        Self {
            kind,
            payload: number - offset,
        }
    }

    /// How many different references of `kind` can be issued: about 29.7
    /// billion.
    pub fn issuable_count(kind: ReferenceKind) -> u64 {
        let offset = kind.offset();
        issuable_below(offset + PAYLOAD_LIMIT) - issuable_below(offset)
    }

    /// Reads a reference as a resident might type it.
    ///
    /// Case is ignored, and so are whitespace and hyphens anywhere (including
    /// the Unicode dashes that word processors substitute). `O` reads as `0`,
    /// and `I` and `L` as `1`. Input longer than 32 bytes is refused outright.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(ReferenceError::Malformed);
        }
        let mut code = [0u8; CODE_LEN];
        let mut len = 0;
        for c in input.chars().filter(|&c| !is_separator(c)) {
            let slot = code.get_mut(len).ok_or(ReferenceError::Malformed)?;
            *slot = u8::try_from(c).map_err(|_| ReferenceError::Malformed)?;
            len += 1;
        }
        if len != CODE_LEN {
            return Err(ReferenceError::Malformed);
        }

        let [first, second, symbols @ ..] = code;
        let kind = ReferenceKind::from_prefix(first, second).ok_or(ReferenceError::Malformed)?;
        let [payload_symbols @ .., check_symbol] = symbols;
        let mut payload = 0;
        for symbol in payload_symbols {
            let value = symbol_value(symbol).ok_or(ReferenceError::Malformed)?;
            payload = payload << 5 | value;
        }
        let check = symbol_value(check_symbol).ok_or(ReferenceError::Malformed)?;
        if check != check_value(kind, payload) {
            return Err(ReferenceError::ChecksumMismatch);
        }
        Ok(Self { kind, payload })
    }

    /// Whether this is feedback or an idea.
    pub fn kind(&self) -> ReferenceKind {
        self.kind
    }
}

impl fmt::Display for Reference {
    /// The canonical form, such as `FB-7K3Q-9XMD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.prefix())?;
        for (position, shift) in (0..PAYLOAD_SYMBOLS).rev().enumerate() {
            if position % 4 == 0 {
                f.write_char('-')?;
            }
            let value = (self.payload >> (5 * shift)) & 31;
            f.write_char(char::from(SYMBOLS[value as usize]))?;
        }
        let check = check_value(self.kind, self.payload);
        f.write_char(char::from(CHECK_SYMBOLS[check as usize]))
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// Crockford's check: the checked number modulo 37.
fn check_value(kind: ReferenceKind, payload: u64) -> u64 {
    (kind.offset() + payload) % MODULUS
}

/// How many numbers below `n` have a remainder modulo 37 below 32.
fn issuable_below(n: u64) -> u64 {
    32 * (n / MODULUS) + (n % MODULUS).min(32)
}

fn is_separator(c: char) -> bool {
    // U+2010..=U+2015 are the hyphens and dashes, U+2212 the minus sign.
    c == '-' || c.is_whitespace() || matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// A data symbol's value, reading case-insensitively and forgiving the
/// letters Crockford leaves out because they look like digits.
fn symbol_value(symbol: u8) -> Option<u64> {
    let value = match symbol.to_ascii_uppercase() {
        b'O' => 0,
        b'I' | b'L' => 1,
        digit @ b'0'..=b'9' => digit - b'0',
        letter @ b'A'..=b'H' => letter - b'A' + 10,
        b'J' => 18,
        b'K' => 19,
        b'M' => 20,
        b'N' => 21,
        b'P' => 22,
        b'Q' => 23,
        b'R' => 24,
        b'S' => 25,
        b'T' => 26,
        b'V' => 27,
        b'W' => 28,
        b'X' => 29,
        b'Y' => 30,
        b'Z' => 31,
        _ => return None,
    };
    Some(u64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "FB-7K3Q-9XMD";

    fn kinds() -> impl Strategy<Value = ReferenceKind> {
        prop_oneof![Just(ReferenceKind::Feedback), Just(ReferenceKind::Idea)]
    }

    fn references() -> impl Strategy<Value = Reference> {
        (kinds(), any::<u64>()).prop_map(|(kind, random)| Reference::from_random(kind, random))
    }

    /// Whether typing `typed` where `original` belongs still means the same
    /// thing: the same letter in either case, or a Crockford alias.
    fn reads_the_same(original: u8, typed: u8, is_prefix: bool) -> bool {
        if is_prefix {
            original.eq_ignore_ascii_case(&typed)
        } else {
            symbol_value(typed).is_some() && symbol_value(typed) == symbol_value(original)
        }
    }

    /// Positions in the display form that hold a prefix letter or a symbol.
    fn code_positions(display: &[u8]) -> Vec<usize> {
        (0..display.len()).filter(|&i| display[i] != b'-').collect()
    }

    fn swapped(display: &str, i: usize, j: usize) -> String {
        let mut bytes = display.as_bytes().to_vec();
        bytes.swap(i, j);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn the_design_example_is_a_well_formed_feedback_reference() -> Result<(), ReferenceError> {
        let reference = Reference::parse(EXAMPLE)?;
        assert_eq!(reference.kind(), ReferenceKind::Feedback);
        assert_eq!(reference.to_string(), EXAMPLE);
        Ok(())
    }

    #[test]
    fn a_reference_reads_back_from_its_display_form() {
        for kind in [ReferenceKind::Feedback, ReferenceKind::Idea] {
            for random in [0, 1, 36, 37, u64::MAX, Reference::issuable_count(kind) - 1] {
                let reference = Reference::from_random(kind, random);
                let display = reference.to_string();
                assert_eq!(display.len(), 12);
                assert!(display.starts_with(kind.prefix()));
                assert_eq!(Reference::parse(&display), Ok(reference));
                assert_eq!(display.parse::<Reference>(), Ok(reference));
            }
        }
    }

    #[test]
    fn parsing_ignores_case() {
        assert_eq!(Reference::parse("fb-7k3q-9xmd"), Reference::parse(EXAMPLE));
        assert_eq!(Reference::parse("Fb-7K3q-9xMd"), Reference::parse(EXAMPLE));
    }

    #[test]
    fn parsing_ignores_spaces_and_hyphens_anywhere() -> Result<(), ReferenceError> {
        let expected = Reference::parse(EXAMPLE)?;
        for typed in [
            "FB7K3Q9XMD",
            "FB 7K3Q 9XMD",
            "  FB-7K3Q-9XMD\n",
            "F-B 7K-3Q9X M-D",
            "FB--7K3Q--9XMD",
            "\tFB - 7K3Q - 9XMD",
            "FB\u{2013}7K3Q\u{2013}9XMD",
        ] {
            assert_eq!(Reference::parse(typed), Ok(expected), "{typed:?}");
        }
        Ok(())
    }

    #[test]
    fn letters_that_look_like_digits_read_as_those_digits() -> Result<(), ReferenceError> {
        let expected = Reference::parse("ID-1101-1010")?;
        assert_eq!(expected.kind(), ReferenceKind::Idea);
        for typed in ["ID-1IO1-IOLO", "ID-IlOl-1o1o", "id-l1oi-lOIo"] {
            assert_eq!(Reference::parse(typed), Ok(expected), "{typed:?}");
        }
        Ok(())
    }

    #[test]
    fn the_right_code_under_the_other_prefix_is_a_typing_mistake() {
        assert_eq!(
            Reference::parse("ID-7K3Q-9XMD"),
            Err(ReferenceError::ChecksumMismatch)
        );
    }

    #[test]
    fn an_unknown_prefix_is_malformed() {
        for typed in [
            "XX-7K3Q-9XMD",
            "F8-7K3Q-9XMD",
            "1D-7K3Q-9XMD",
            "BF-7K3Q-9XMD",
            "7K3Q-9XMD",
        ] {
            assert_eq!(
                Reference::parse(typed),
                Err(ReferenceError::Malformed),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn too_short_or_too_long_is_malformed() {
        for typed in [
            "FB-7K3Q-9XM",
            "FB-7K3Q-9XMDD",
            "FB-7K3Q-9XMD-7K3Q",
            // Well formed once the spaces go, but 33 bytes: refused unread.
            &format!("{EXAMPLE}{}", " ".repeat(21)),
            &"F".repeat(10_000),
        ] {
            assert_eq!(
                Reference::parse(typed),
                Err(ReferenceError::Malformed),
                "{typed:?}"
            );
        }
        assert!(Reference::parse(&format!("{EXAMPLE}{}", " ".repeat(20))).is_ok());
    }

    #[test]
    fn garbage_is_malformed() {
        for typed in [
            "",
            "   ",
            "---",
            "hello",
            "FB-7K3Q-9XM!",
            "FB-7K3U-9XMD",
            "FB-7K3Q-9XM*",
            "FB-7K3Q-9XMU",
            "FB-7K3Q-9XM\u{0}",
            "FB-7K3Q-9XMÐ",
            "FB-7K3Q-9XM😀",
            "FB-7K3Q-９XMD",
            "' OR 1=1 --",
        ] {
            assert_eq!(
                Reference::parse(typed),
                Err(ReferenceError::Malformed),
                "{typed:?}"
            );
        }
    }

    /// The algebra behind the guarantees: the check is linear, so a mistake
    /// changing symbol values by `d` at positions with weights `w` goes
    /// unnoticed only if `Σ d·w ≡ 0 (mod 37)`. With every `|d| < 37` and 37
    /// prime, non-zero weights catch every single wrong symbol and pairwise
    /// distinct weights catch every swap.
    #[test]
    fn every_position_weighs_differently_and_never_nothing() {
        // Kind, then the payload symbols from the most significant, as powers
        // of 32; the check symbol is subtracted.
        let mut weights: Vec<u64> = (0..=PAYLOAD_SYMBOLS)
            .rev()
            .map(|power| (0..power).fold(1, |w, _| w * 32 % MODULUS))
            .collect();
        weights.push(MODULUS - 1);
        assert_eq!(weights.len(), 9);
        for (i, &a) in weights.iter().enumerate() {
            assert_ne!(a % MODULUS, 0);
            for &b in &weights[i + 1..] {
                assert_ne!(a % MODULUS, b % MODULUS);
            }
        }
        assert_ne!(
            ReferenceKind::Feedback.leading_symbol() % MODULUS,
            ReferenceKind::Idea.leading_symbol() % MODULUS
        );
    }

    #[test]
    fn random_values_number_the_issuable_references_in_order() {
        for kind in [ReferenceKind::Feedback, ReferenceKind::Idea] {
            let count = Reference::issuable_count(kind);
            // 2³⁵ · 32/37, give or take the ends.
            assert!(count.abs_diff(PAYLOAD_LIMIT * 32 / 37) <= 32, "{count}");
            let issuable = |payload: u64| check_value(kind, payload) < 32;
            for randoms in [0..5_000, count - 5_000..count] {
                let payloads: Vec<u64> = randoms
                    .map(|random| Reference::from_random(kind, random).payload)
                    .collect();
                assert!(payloads.iter().all(|&payload| payload < PAYLOAD_LIMIT));
                assert!(payloads.iter().all(|&payload| issuable(payload)));
                // Consecutive values give the next issuable payload: nothing
                // issuable is skipped and nothing is given twice.
                for pair in payloads.windows(2) {
                    assert!(pair[0] < pair[1]);
                    assert!(!(pair[0] + 1..pair[1]).any(issuable));
                }
            }
            // The first and last reach the ends of the payload range.
            let first = Reference::from_random(kind, 0).payload;
            let last = Reference::from_random(kind, count - 1).payload;
            assert!(!(0..first).any(issuable));
            assert!(!(last + 1..PAYLOAD_LIMIT).any(issuable));
            assert_eq!(
                Reference::from_random(kind, count),
                Reference::from_random(kind, 0)
            );
        }
    }

    #[test]
    fn generated_references_are_fresh_and_well_formed() {
        let references: Vec<_> = (0..200)
            .map(|_| Reference::generate(ReferenceKind::Idea))
            .collect();
        for reference in &references {
            assert_eq!(reference.kind(), ReferenceKind::Idea);
            assert_eq!(Reference::parse(&reference.to_string()), Ok(*reference));
        }
        let distinct: std::collections::HashSet<_> = references.iter().collect();
        assert_eq!(distinct.len(), references.len());
    }

    proptest! {
        #[test]
        fn display_then_parse_gives_back_the_reference(reference in references()) {
            let display = reference.to_string();
            prop_assert_eq!(Reference::parse(&display), Ok(reference));
            prop_assert_eq!(Reference::parse(&display.to_lowercase()), Ok(reference));
            prop_assert_eq!(Reference::parse(&display.replace('-', "")), Ok(reference));
        }

        #[test]
        fn issued_references_are_uppercase_letters_and_digits(reference in references()) {
            let display = reference.to_string();
            let bytes = display.as_bytes();
            prop_assert_eq!(bytes.len(), 12);
            prop_assert_eq!(bytes[2], b'-');
            prop_assert_eq!(bytes[7], b'-');
            prop_assert!(bytes[3..].iter().all(|b| *b == b'-' || SYMBOLS.contains(b)), "{}", display);
        }

        /// Every printable ASCII character typed in place of each prefix
        /// letter or symbol is either the same symbol (other case, Crockford
        /// alias) or rejected. That covers all 32 data symbols and all 37
        /// check symbols at every position.
        #[test]
        fn every_single_wrong_character_is_rejected(reference in references()) {
            let display = reference.to_string();
            let bytes = display.as_bytes();
            for position in code_positions(bytes) {
                let original = bytes[position];
                for typed in (b' '..=b'~').filter(|&typed| typed != original) {
                    let mut mistyped = bytes.to_vec();
                    mistyped[position] = typed;
                    let mistyped = String::from_utf8_lossy(&mistyped).into_owned();
                    let parsed = Reference::parse(&mistyped);
                    if reads_the_same(original, typed, position < 2) {
                        prop_assert_eq!(parsed, Ok(reference), "{}", mistyped);
                    } else {
                        prop_assert!(parsed.is_err(), "{} accepted as {}", mistyped, display);
                    }
                }
            }
        }

        /// Adjacent means adjacent in the code: a hyphen between two symbols
        /// does not shield them.
        #[test]
        fn every_adjacent_transposition_is_rejected(reference in references()) {
            let display = reference.to_string();
            let positions = code_positions(display.as_bytes());
            for pair in positions.windows(2) {
                let (i, j) = (pair[0], pair[1]);
                if display.as_bytes()[i] != display.as_bytes()[j] {
                    let mistyped = swapped(&display, i, j);
                    prop_assert!(Reference::parse(&mistyped).is_err(), "{} accepted as {}", mistyped, display);
                }
            }
        }

        #[test]
        fn every_transposition_of_two_symbols_is_rejected(reference in references()) {
            let display = reference.to_string();
            let positions = code_positions(display.as_bytes());
            for (n, &i) in positions.iter().enumerate() {
                for &j in &positions[n + 1..] {
                    if display.as_bytes()[i] != display.as_bytes()[j] {
                        let mistyped = swapped(&display, i, j);
                        prop_assert!(Reference::parse(&mistyped).is_err(), "{} accepted as {}", mistyped, display);
                    }
                }
            }
        }

        #[test]
        fn the_other_kinds_prefix_is_rejected(reference in references()) {
            let other = match reference.kind() {
                ReferenceKind::Feedback => ReferenceKind::Idea,
                ReferenceKind::Idea => ReferenceKind::Feedback,
            };
            let display = reference.to_string();
            let mistyped = format!("{}{}", other.prefix(), &display[2..]);
            prop_assert_eq!(Reference::parse(&mistyped), Err(ReferenceError::ChecksumMismatch));
        }

        #[test]
        fn parse_never_panics_on_any_text(input in any::<String>()) {
            let _ = Reference::parse(&input);
        }

        #[test]
        fn parse_never_panics_on_near_misses(input in "[-0-9A-Za-z *~$=\u{2013}\u{00e9}]{0,40}") {
            if let Ok(reference) = Reference::parse(&input) {
                prop_assert_eq!(Reference::parse(&reference.to_string()), Ok(reference));
            }
        }
    }
}
