//! Personal data in free text: NHS numbers, UK phone numbers, email addresses
//! and UK postcodes. No I/O here.
//!
//! The scanners are written by hand over bytes. Every pattern is ASCII, so a
//! match always starts and ends on an ASCII byte, which is always a character
//! boundary: cutting the text at a match never splits a Bengali letter, an emoji
//! or a combining mark. Each scanner looks at a bounded window from each start
//! (emails: the stretch between neighbouring `@`s), so a scan is linear in the
//! length of the text.
//!
//! Two rules make [`mask`] stable, so masking masked text changes nothing and
//! leaves nothing to find:
//! - a match whose first or last character is a letter or digit must not touch
//!   another ASCII letter or digit on that side (a word boundary), so
//!   `9434765919` inside a longer number or `E1 4DG` inside a word is not a
//!   match, and replacing a neighbour by a placeholder cannot make it one;
//! - candidates that overlap are merged into one match, so no fragment of a
//!   half-masked candidate is left behind.

/// A kind of personal data found in free text.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// A ten-digit NHS number whose check digit is right.
    NhsNumber,
    /// A UK mobile or landline number.
    Phone,
    /// An email address.
    Email,
    /// A full UK postcode.
    Postcode,
}

impl PiiKind {
    /// Every kind, in order.
    pub const ALL: [Self; 4] = [Self::NhsNumber, Self::Phone, Self::Email, Self::Postcode];

    /// The stored name, the same as the GraphQL name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NhsNumber => "NHS_NUMBER",
            Self::Phone => "PHONE",
            Self::Email => "EMAIL",
            Self::Postcode => "POSTCODE",
        }
    }

    /// Reads a stored name back.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// The text that replaces this kind of personal data in public views.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::NhsNumber => "[NHS number removed]",
            Self::Phone => "[phone number removed]",
            Self::Email => "[email removed]",
            Self::Postcode => "[postcode removed]",
        }
    }

    /// Which kind names a span where candidates of several kinds overlap (lower
    /// wins). A valid NHS number is the most sensitive and the most specific
    /// (its check digit rarely holds by chance), so it beats a phone number
    /// with the same digits; an email beats the phone number or postcode
    /// that happens to be its local part.
    fn precedence(self) -> u8 {
        match self {
            Self::NhsNumber => 0,
            Self::Email => 1,
            Self::Phone => 2,
            Self::Postcode => 3,
        }
    }
}

/// A set of personal-data kinds, as an item's `piiFlags`. Stored as the kinds'
/// names joined by commas in [`PiiKind::ALL`]'s order (`PHONE,EMAIL`; empty
/// for none), so the database reads the same as before this type existed; a
/// stored name hamlet does not know is an error when read, never dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(
    value_type = "String",
    from_str = "PiiKinds::from_stored",
    to_str = "PiiKinds::to_stored"
)]
pub struct PiiKinds(u8);

impl PiiKinds {
    pub const NONE: Self = Self(0);

    fn bit(kind: PiiKind) -> u8 {
        1 << (kind as u8)
    }

    pub fn insert(&mut self, kind: PiiKind) {
        self.0 |= Self::bit(kind);
    }

    pub fn contains(self, kind: PiiKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in [`PiiKind::ALL`]'s order.
    pub fn to_vec(self) -> Vec<PiiKind> {
        PiiKind::ALL
            .into_iter()
            .filter(|kind| self.contains(*kind))
            .collect()
    }

    /// Every kind in either set.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn to_stored(&self) -> String {
        self.to_vec()
            .iter()
            .map(|kind| kind.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_stored(stored: &str) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
        let mut kinds = Self::NONE;
        for name in stored.split(',').filter(|name| !name.is_empty()) {
            kinds.insert(PiiKind::parse(name).ok_or(sea_orm::sea_query::ValueTypeErr)?);
        }
        Ok(kinds)
    }
}

impl FromIterator<PiiKind> for PiiKinds {
    fn from_iter<I: IntoIterator<Item = PiiKind>>(kinds: I) -> Self {
        let mut set = Self::NONE;
        for kind in kinds {
            set.insert(kind);
        }
        set
    }
}

/// One piece of personal data: its kind and its byte range `start..end` in
/// the scanned text (always on character boundaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiiMatch {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// Finds the personal data in `text`: non-overlapping matches, in order.
pub fn detect(text: &str) -> Vec<PiiMatch> {
    let bytes = text.as_bytes();
    let mut candidates = Vec::new();
    let mut emails = Vec::new();
    for at in 0..bytes.len() {
        if bytes.get(at) == Some(&b'@') {
            if let Some((start, end)) = email_around(bytes, at) {
                emails.push(PiiMatch {
                    kind: PiiKind::Email,
                    start,
                    end,
                });
            }
            continue;
        }
        let found = [
            (PiiKind::NhsNumber, nhs_number_at(bytes, at)),
            (PiiKind::Phone, phone_at(bytes, at)),
            (PiiKind::Postcode, postcode_at(bytes, at)),
        ];
        for (kind, end) in found {
            if let Some(end) = end {
                candidates.push(PiiMatch {
                    kind,
                    start: at,
                    end,
                });
            }
        }
    }
    // Both lists are already in start order (an email's local part cannot
    // reach back past the previous `@`), and the standard library's stable
    // sort finds and merges such runs in linear time.
    candidates.append(&mut emails);
    candidates.sort_by_key(|candidate| candidate.start);
    merge_overlapping(candidates)
}

/// The kinds of personal data in `text`.
pub fn kinds(text: &str) -> PiiKinds {
    detect(text).into_iter().map(|found| found.kind).collect()
}

/// `text` with every piece of personal data replaced by its kind's
/// placeholder, e.g. `[phone number removed]`. This is what public views show.
pub fn mask(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut copied_to = 0;
    for found in detect(text) {
        // Matches sit on character boundaries (see the module comment), so
        // `get` always succeeds; were it ever not to, dropping the text errs
        // towards hiding rather than leaking.
        masked.push_str(text.get(copied_to..found.start).unwrap_or_default());
        masked.push_str(found.kind.placeholder());
        copied_to = found.end;
    }
    masked.push_str(text.get(copied_to..).unwrap_or_default());
    masked
}

/// Whether `digits` is a valid NHS number: ten digits, optionally grouped
/// 3-3-4 by single spaces or hyphens (`943 476 5919`), whose modulus-11 check
/// digit is right.
pub fn is_valid_nhs_number(digits: &str) -> bool {
    nhs_number_at(digits.as_bytes(), 0) == Some(digits.len())
}

fn merge_overlapping(sorted: Vec<PiiMatch>) -> Vec<PiiMatch> {
    let mut merged: Vec<PiiMatch> = Vec::with_capacity(sorted.len());
    for candidate in sorted {
        match merged.last_mut() {
            Some(last) if candidate.start < last.end => {
                last.end = last.end.max(candidate.end);
                if candidate.kind.precedence() < last.kind.precedence() {
                    last.kind = candidate.kind;
                }
            }
            _ => merged.push(candidate),
        }
    }
    merged
}

/// Whether the byte before `at` is an ASCII letter or digit. Non-ASCII text
/// counts as a boundary: every pattern here is ASCII, and it errs towards
/// finding ("নম্বর9434765919" is still an NHS number).
fn word_before(bytes: &[u8], at: usize) -> bool {
    at.checked_sub(1)
        .and_then(|before| bytes.get(before))
        .is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether the byte at `at` is an ASCII letter or digit.
fn word_at(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_some_and(u8::is_ascii_alphanumeric)
}

/// How many bytes from `from` satisfy `keep`, counting at most `cap + 1` so
/// that a scan never runs further than it needs to ("more than `cap`").
fn run(bytes: &[u8], from: usize, cap: usize, keep: fn(&u8) -> bool) -> usize {
    bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take(cap + 1)
        .take_while(|byte| keep(byte))
        .count()
}

fn digit_run(bytes: &[u8], from: usize, cap: usize) -> usize {
    run(bytes, from, cap, u8::is_ascii_digit)
}

fn is_separator(byte: Option<&u8>) -> bool {
    matches!(byte, Some(b' ' | b'-'))
}

// ---- NHS numbers ----

/// The end of an NHS number starting at `start`, if one does.
fn nhs_number_at(bytes: &[u8], start: usize) -> Option<usize> {
    if !bytes.get(start)?.is_ascii_digit() || word_before(bytes, start) {
        return None;
    }
    let end = if digit_run(bytes, start, 10) == 10 {
        start + 10
    } else {
        let mut at = start;
        for (group, len) in [3, 3, 4].into_iter().enumerate() {
            if group > 0 {
                if !is_separator(bytes.get(at)) {
                    return None;
                }
                at += 1;
            }
            if digit_run(bytes, at, len) != len {
                return None;
            }
            at += len;
        }
        at
    };
    if word_at(bytes, end) {
        return None;
    }
    let digits = bytes
        .get(start..end)?
        .iter()
        .filter(|byte| byte.is_ascii_digit())
        .map(|byte| u32::from(byte - b'0'));
    nhs_check_digit_holds(digits).then_some(end)
}

/// The modulus-11 check: weights 10 down to 2 on the first nine digits; the
/// check digit is 11 minus the remainder, where 11 means 0 and 10 means the
/// number cannot be valid.
fn nhs_check_digit_holds(digits: impl Iterator<Item = u32>) -> bool {
    let mut sum = 0;
    let mut check = None;
    let mut count = 0;
    for (position, digit) in digits.enumerate() {
        count += 1;
        match position {
            0..=8 => sum += digit * (10 - position as u32),
            _ => check = Some(digit),
        }
    }
    let expected = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        expected => expected,
    };
    count == 10 && check == Some(expected)
}

// ---- Phone numbers ----

/// The end of a UK phone number starting at `start`, if one does.
///
/// Written nationally a number has 10 or 11 digits starting with `0` (not
/// `00`), possibly with the area code in brackets: `020 7946 0018`,
/// `(020) 7946 0018`, `07700900123`. Internationally it is `+44` or `0044`,
/// then an optional `(0)`, then 9 or 10 digits not starting with `0`:
/// `+44 7700 900123`, `+44 (0)20 7946 0018`. Digit groups may be separated by
/// single spaces or hyphens. Dates (`12/03/2024`), money (`£1,200`) and years
/// never have enough digits in such groups.
fn phone_at(bytes: &[u8], start: usize) -> Option<usize> {
    let first = *bytes.get(start)?;
    if first.is_ascii_digit() && word_before(bytes, start) {
        return None;
    }
    let international_prefix = if first == b'+' && bytes.get(start + 1..start + 3) == Some(b"44") {
        Some(3)
    } else if bytes.get(start..start + 4) == Some(b"0044") {
        Some(4)
    } else {
        None
    };
    if let Some(prefix) = international_prefix {
        let mut at = start + prefix;
        skip_separator(bytes, &mut at);
        if bytes.get(at..at + 3) == Some(b"(0)") {
            at += 3;
            skip_separator(bytes, &mut at);
        }
        if !matches!(bytes.get(at), Some(b'1'..=b'9')) {
            return None;
        }
        return longest_number(bytes, at, 0, 9..=10);
    }
    match first {
        b'(' => {
            let area = digit_run(bytes, start + 1, 6);
            if !(3..=6).contains(&area) || !is_national_start(bytes, start + 1) {
                return None;
            }
            let mut at = start + 1 + area;
            if bytes.get(at) != Some(&b')') {
                return None;
            }
            at += 1;
            skip_separator(bytes, &mut at);
            if !bytes.get(at).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            longest_number(bytes, at, area, 10..=11)
        }
        b'0' if is_national_start(bytes, start) => longest_number(bytes, start, 0, 10..=11),
        _ => None,
    }
}

/// `0` then a digit other than `0` (`00` starts an international number).
fn is_national_start(bytes: &[u8], at: usize) -> bool {
    bytes.get(at) == Some(&b'0') && matches!(bytes.get(at + 1), Some(b'1'..=b'9'))
}

/// Steps over one space or hyphen when a digit group or `(0)` follows.
fn skip_separator(bytes: &[u8], at: &mut usize) {
    if is_separator(bytes.get(*at)) && matches!(bytes.get(*at + 1), Some(b'0'..=b'9' | b'(')) {
        *at += 1;
    }
}

/// Reads digit groups from `at` (with `counted` digits already read) and
/// returns the end of the longest run of whole groups whose digit count is in
/// `wanted` and which does not run into a letter or digit. Taking the longest
/// whole-group prefix means "020 7946 0018 9434765919" is a phone number
/// followed by an NHS number, not one 21-digit nothing.
fn longest_number(
    bytes: &[u8],
    mut at: usize,
    mut counted: usize,
    wanted: std::ops::RangeInclusive<usize>,
) -> Option<usize> {
    let most = *wanted.end();
    let mut longest = None;
    loop {
        let group = digit_run(bytes, at, most);
        if group == 0 {
            break;
        }
        counted += group;
        at += group;
        if counted > most {
            break;
        }
        if wanted.contains(&counted) && !word_at(bytes, at) {
            longest = Some(at);
        }
        if is_separator(bytes.get(at)) && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
            at += 1;
        } else {
            break;
        }
    }
    longest
}

// ---- Emails ----

fn is_local_byte(byte: &u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// The byte range of an email address around the `@` at `at`, if there is one.
///
/// The local part is every address character back from the `@` (it must hold
/// a letter or digit). The domain is dot-separated labels of letters, digits
/// and hyphens ending in a top-level label of two or more letters; the longest
/// such reading wins, so a full stop after an address is not part of it.
fn email_around(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let local_len = bytes
        .get(..at)?
        .iter()
        .rev()
        .take_while(|byte| is_local_byte(byte))
        .count();
    let start = at - local_len;
    if !bytes.get(start..at)?.iter().any(u8::is_ascii_alphanumeric) {
        return None;
    }

    let mut end = None;
    let mut labels_done = 0;
    let mut label_len = 0;
    let mut label_all_letters = true;
    let mut i = at + 1;
    loop {
        let byte = bytes.get(i).copied();
        // A top-level label may end here: at a dot, a hyphen or the end of the
        // address, never before a letter or digit.
        if !byte.is_some_and(|b| b.is_ascii_alphanumeric())
            && labels_done > 0
            && label_len >= 2
            && label_all_letters
        {
            end = Some(i);
        }
        match byte {
            Some(b) if b.is_ascii_alphanumeric() => {
                label_all_letters &= b.is_ascii_alphabetic();
                label_len += 1;
            }
            Some(b'-') => {
                label_all_letters = false;
                label_len += 1;
            }
            Some(b'.') if label_len > 0 => {
                labels_done += 1;
                label_len = 0;
                label_all_letters = true;
            }
            _ => break,
        }
        i += 1;
    }
    end.map(|end| (start, end))
}

// ---- Postcodes ----

/// The end of a full UK postcode starting at `start`, if one does: an outward
/// code (`E1`, `B33`, `CR2`, `DN55`, `W1A`, `SW1A`), an optional single space
/// and an inward code (`4DG`), any case. The letters allowed in each position
/// follow Royal Mail's rules, which keeps words like "A1 service" or "covid19"
/// from looking like postcodes.
fn postcode_at(bytes: &[u8], start: usize) -> Option<usize> {
    if !bytes.get(start)?.is_ascii_alphabetic() || word_before(bytes, start) {
        return None;
    }
    let first = run(bytes, start, 7, u8::is_ascii_alphanumeric);
    let (outward, inward, end) = if (5..=7).contains(&first) {
        let split = start + first - 3;
        (start..split, split..start + first, start + first)
    } else if (2..=4).contains(&first) && bytes.get(start + first) == Some(&b' ') {
        let inward_start = start + first + 1;
        if run(bytes, inward_start, 3, u8::is_ascii_alphanumeric) != 3 {
            return None;
        }
        (
            start..start + first,
            inward_start..inward_start + 3,
            inward_start + 3,
        )
    } else {
        return None;
    };
    is_postcode(bytes.get(outward)?, bytes.get(inward)?).then_some(end)
}

fn is_postcode(outward: &[u8], inward: &[u8]) -> bool {
    // Girobank's postcode predates the rules.
    if outward.eq_ignore_ascii_case(b"GIR") {
        return inward.eq_ignore_ascii_case(b"0AA");
    }
    let inward_ok = match inward {
        [digit, a, b] => {
            digit.is_ascii_digit() && is_letter_in(*a, b"ABDEFGHJLNPQRSTUWXYZ") && {
                is_letter_in(*b, b"ABDEFGHJLNPQRSTUWXYZ")
            }
        }
        _ => false,
    };
    inward_ok && is_outward_code(outward)
}

fn is_outward_code(outward: &[u8]) -> bool {
    const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPRSTUWYZ";
    const SECOND: &[u8] = b"ABCDEFGHKLMNOPQRSTUVWXY";
    const THIRD: &[u8] = b"ABCDEFGHJKPSTUW";
    const FOURTH: &[u8] = b"ABEHMNPRVWXY";
    let digit = u8::is_ascii_digit;
    match *outward {
        [a, d] => is_letter_in(a, FIRST) && digit(&d),
        [a, d, e] if digit(&d) && digit(&e) => is_letter_in(a, FIRST),
        [a, b, d] if digit(&d) => is_letter_in(a, FIRST) && is_letter_in(b, SECOND),
        [a, d, c] if digit(&d) => is_letter_in(a, FIRST) && is_letter_in(c, THIRD),
        [a, b, d, e] if digit(&d) && digit(&e) => is_letter_in(a, FIRST) && is_letter_in(b, SECOND),
        [a, b, d, c] if digit(&d) => {
            is_letter_in(a, FIRST) && is_letter_in(b, SECOND) && is_letter_in(c, FOURTH)
        }
        _ => false,
    }
}

/// Whether `byte` is a letter, in either case, from the uppercase `allowed`.
fn is_letter_in(byte: u8, allowed: &[u8]) -> bool {
    byte.is_ascii_alphabetic() && allowed.contains(&byte.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_kinds_is_stored_as_before_and_unknown_names_are_refused() {
        let kinds: PiiKinds = [PiiKind::Email, PiiKind::NhsNumber, PiiKind::Email]
            .into_iter()
            .collect();
        assert_eq!(kinds.to_stored(), "NHS_NUMBER,EMAIL");
        assert_eq!(PiiKinds::from_stored("NHS_NUMBER,EMAIL").unwrap(), kinds);
        assert_eq!(PiiKinds::from_stored("").unwrap(), PiiKinds::NONE);
        assert!(PiiKinds::from_stored("EMAIL,PASSPORT").is_err());
        assert_eq!(kinds.to_vec(), [PiiKind::NhsNumber, PiiKind::Email]);
    }
    use proptest::prelude::*;

    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        detect(text)
            .into_iter()
            .map(|m| (m.kind, &text[m.start..m.end]))
            .collect()
    }

    fn only(text: &str, kind: PiiKind, expected: &str) {
        assert_eq!(found(text), vec![(kind, expected)], "in {text:?}");
    }

    fn nothing_in(text: &str) {
        assert_eq!(found(text), vec![], "in {text:?}");
    }

    /// Nine digits and the check digit that makes them a valid NHS number,
    /// or `None` when no check digit can (the remainder gives 10).
    fn with_check_digit(first_nine: &[u8; 9]) -> Option<String> {
        let sum: u32 = first_nine
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(*d) * (10 - i as u32))
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return None,
            c => c,
        };
        let mut number: String = first_nine.iter().map(|d| char::from(b'0' + d)).collect();
        number.push(char::from_digit(check, 10)?);
        Some(number)
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in PiiKind::ALL {
            assert_eq!(PiiKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(PiiKind::NhsNumber.as_str(), "NHS_NUMBER");
        assert_eq!(PiiKind::parse("nhs_number"), None);
    }

    #[test]
    fn nhs_numbers_are_checked_with_modulus_11() {
        assert!(is_valid_nhs_number("9434765919"));
        assert!(is_valid_nhs_number("943 476 5919"));
        assert!(is_valid_nhs_number("943-476-5919"));
        // Check digit 11 becomes 0.
        assert!(is_valid_nhs_number("1000000060"));
        for bad in [
            "9434765918",
            "943476591",
            "94347659190",
            "943 4765919",
            "9434 76 5919",
            "943  476 5919",
            " 9434765919",
            "",
            "abcdefghij",
            // The remainder gives 10: no check digit makes this valid.
            "1000000010",
        ] {
            assert!(!is_valid_nhs_number(bad), "{bad:?}");
        }
    }

    #[test]
    fn nhs_numbers_are_found_in_every_grouping() {
        for written in ["9434765919", "943 476 5919", "943-476-5919"] {
            only(
                &format!("My NHS number is {written}."),
                PiiKind::NhsNumber,
                written,
            );
        }
        only("NHS no:9434765919", PiiKind::NhsNumber, "9434765919");
    }

    #[test]
    fn nhs_numbers_are_not_found_inside_longer_numbers_or_when_invalid() {
        nothing_in("ref 19434765919");
        nothing_in("ref 94347659190");
        nothing_in("ref 9434765918");
        nothing_in("ref 943 476 59190");
        nothing_in("code A9434765919");
    }

    #[test]
    fn a_valid_nhs_number_is_an_nhs_number_not_a_phone_number() {
        // 0123456789 has a valid check digit and also looks like a phone number.
        assert!(is_valid_nhs_number("0123456789"));
        only("call 0123456789", PiiKind::NhsNumber, "0123456789");
    }

    #[test]
    fn phone_numbers_are_found_in_common_forms() {
        for written in [
            "07700 900123",
            "07700900123",
            "07700-900-123",
            "+44 7700 900123",
            "+447700900123",
            "+44 (0)20 7946 0018",
            "+44(0)2079460018",
            "0044 20 7946 0018",
            "020 7946 0018",
            "(020) 7946 0018",
            "(01632) 960001",
            "0161 496 0000",
            "01632 960001",
            "0800 123 456",
        ] {
            only(
                &format!("ring me on {written}, thanks"),
                PiiKind::Phone,
                written,
            );
            only(written, PiiKind::Phone, written);
        }
    }

    #[test]
    fn years_dates_money_and_short_numbers_are_not_phone_numbers() {
        for text in [
            "In 2024 I waited 3 hours",
            "seen on 12/03/2024 at 10:30",
            "it cost £1,200 a month",
            "ward 10, bed 12",
            "0207 946",
            "00 44 20 7946 0018 0",
            "room 07700900123b",
            // `00` starts an international number, not a national one.
            "call 00000 000000",
        ] {
            nothing_in(text);
        }
    }

    #[test]
    fn a_phone_number_ends_at_its_last_whole_digit_group() {
        only("07700 900123 4567", PiiKind::Phone, "07700 900123");
        only("020 7946 0018 ext 12", PiiKind::Phone, "020 7946 0018");
    }

    #[test]
    fn a_phone_number_next_to_an_nhs_number_leaves_both_found() {
        assert_eq!(
            found("020 7946 0018 9434765919"),
            vec![
                (PiiKind::Phone, "020 7946 0018"),
                (PiiKind::NhsNumber, "9434765919")
            ]
        );
    }

    #[test]
    fn emails_are_found() {
        for written in [
            "jo.bloggs@example.com",
            "JO_BLOGGS+nhs@mail.example.co.uk",
            "a@b.io",
            "first-last@my-host.org",
        ] {
            only(&format!("write to {written}."), PiiKind::Email, written);
        }
        only("(mail: x@y.com)", PiiKind::Email, "x@y.com");
    }

    #[test]
    fn things_that_only_look_a_little_like_emails_are_not() {
        for text in [
            "me @ home",
            "@handle on twitter",
            "jo@localhost",
            "jo@example.c",
            "jo@example.123",
            "jo@@example.com",
            "...@example..com",
            "price @ £5.00",
        ] {
            nothing_in(text);
        }
    }

    #[test]
    fn postcodes_are_found_in_standard_formats() {
        for written in [
            "E1 4DG", "e14dg", "e1 4dg", "SW1A 1AA", "sw1a1aa", "EC1A 1BB", "W1A 0AX", "M1 1AE",
            "B33 8TH", "CR2 6XH", "DN55 1PT", "GIR 0AA", "E14 5AB",
        ] {
            only(&format!("I live at {written}."), PiiKind::Postcode, written);
        }
    }

    #[test]
    fn ordinary_words_are_not_postcodes() {
        for text in [
            "I was seen at 10am",
            "the A1 service was good",
            "after covid19 things changed",
            "E1 is my area",
            "E1 4DGX",
            "XE1 4DG",
            "QA1 1AA",
            "E1 4CI",
            "Ward B2, bay 4",
            "E1  4DG",
        ] {
            nothing_in(text);
        }
    }

    #[test]
    fn detect_returns_byte_ranges_in_order() {
        let text = "Call 07700 900123 or email a@b.com; I'm in E1 4DG, NHS 943 476 5919.";
        assert_eq!(
            found(text),
            vec![
                (PiiKind::Phone, "07700 900123"),
                (PiiKind::Email, "a@b.com"),
                (PiiKind::Postcode, "E1 4DG"),
                (PiiKind::NhsNumber, "943 476 5919"),
            ]
        );
        assert_eq!(
            kinds(text).to_vec(),
            vec![
                PiiKind::NhsNumber,
                PiiKind::Phone,
                PiiKind::Email,
                PiiKind::Postcode
            ]
        );
    }

    #[test]
    fn masking_replaces_each_kind_with_its_placeholder() {
        assert_eq!(
            mask("Call 07700 900123 or a@b.com; E1 4DG; NHS 9434765919. Thanks!"),
            "Call [phone number removed] or [email removed]; [postcode removed]; \
             NHS [NHS number removed]. Thanks!"
        );
        assert_eq!(mask("nothing personal here"), "nothing personal here");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn overlapping_candidates_are_masked_as_one() {
        // The phone number is the local part of the email.
        assert_eq!(mask("07700900123@example.com"), "[email removed]");
        assert_eq!(mask("07700 900123.abc@x.com"), "[email removed]");
        assert_eq!(mask("E1 4DG@x.com"), "[email removed]");
    }

    #[test]
    fn masking_is_stable_where_neighbours_touch() {
        for text in [
            "john@x.com9434765919",
            "E1 4DG+44 7700 900123",
            "a@b.com.E1 4DG",
            "a@b.com_x@y.com",
            "E1 4DG9434765919",
        ] {
            let once = mask(text);
            assert_eq!(mask(&once), once, "{text:?}");
            assert!(kinds(&once).is_empty(), "{text:?} -> {once:?}");
        }
    }

    #[test]
    fn text_in_any_script_is_scanned_without_splitting_characters() {
        let text = "আমার NHS নম্বর 943 476 5919 ✅";
        only(text, PiiKind::NhsNumber, "943 476 5919");
        assert_eq!(mask(text), "আমার NHS নম্বর [NHS number removed] ✅");

        let text = "ফোন:07700900123। ইমেল: rahim@example.com e\u{301}1 4DG\u{301} 👩‍👩‍👧E1 4DG🙂";
        assert_eq!(
            found(text),
            vec![
                (PiiKind::Phone, "07700900123"),
                (PiiKind::Email, "rahim@example.com"),
                (PiiKind::Postcode, "E1 4DG"),
            ]
        );
        assert_eq!(
            mask(text),
            "ফোন:[phone number removed]। ইমেল: [email removed] e\u{301}1 4DG\u{301} \
             👩‍👩‍👧[postcode removed]🙂"
        );
    }

    proptest! {
        #[test]
        fn every_valid_nhs_number_is_found_and_masked(
            first_nine in proptest::array::uniform9(0u8..10),
            grouping in 0usize..3,
            before in "[a-zA-Z ,.:]{0,12}",
            after in "[a-zA-Z ,.:]{0,12}",
        ) {
            let Some(number) = with_check_digit(&first_nine) else {
                return Ok(());
            };
            prop_assert!(is_valid_nhs_number(&number));
            let written = match grouping {
                0 => number.clone(),
                1 => format!("{} {} {}", &number[..3], &number[3..6], &number[6..]),
                _ => format!("{}-{}-{}", &number[..3], &number[3..6], &number[6..]),
            };
            prop_assert!(is_valid_nhs_number(&written));
            let text = format!("{before} {written} {after}");
            let matches = detect(&text);
            prop_assert!(
                matches.iter().any(|m| m.kind == PiiKind::NhsNumber
                    && text[m.start..m.end] == written),
                "{:?} in {:?}", written, text
            );
            let masked = mask(&text);
            prop_assert!(!masked.contains(&written));
            prop_assert!(masked.contains(PiiKind::NhsNumber.placeholder()));
        }

        #[test]
        fn changing_any_one_digit_breaks_the_nhs_check(
            first_nine in proptest::array::uniform9(0u8..10),
            position in 0usize..10,
            shift in 1u8..10,
        ) {
            let Some(number) = with_check_digit(&first_nine) else {
                return Ok(());
            };
            let mut digits = number.into_bytes();
            digits[position] = b'0' + (digits[position] - b'0' + shift) % 10;
            let changed = String::from_utf8(digits).unwrap();
            prop_assert!(!is_valid_nhs_number(&changed), "{}", changed);
        }

        #[test]
        fn scanning_any_text_never_panics_and_masking_is_stable(text in any::<String>()) {
            let matches = detect(&text);
            for pair in matches.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start);
            }
            for m in &matches {
                prop_assert!(m.start < m.end && text.get(m.start..m.end).is_some());
            }
            let masked = mask(&text);
            prop_assert_eq!(mask(&masked), masked.clone());
            prop_assert!(kinds(&masked).is_empty());
        }

        #[test]
        fn masking_text_full_of_digits_leaves_nothing_to_find(
            text in "[0-9 ()+@.a-zA-Z\\-_%]{0,80}",
        ) {
            let masked = mask(&text);
            prop_assert_eq!(mask(&masked), masked.clone());
            prop_assert!(kinds(&masked).is_empty());
        }

        #[test]
        fn masking_pii_shaped_text_leaves_nothing_to_find(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("9434765919".to_owned()),
                    Just("943 476 5919".to_owned()),
                    Just("07700 900123".to_owned()),
                    Just("+44 (0)20 7946 0018".to_owned()),
                    Just("a@b.com".to_owned()),
                    Just("E1 4DG".to_owned()),
                    Just("sw1a1aa".to_owned()),
                    "[ .@+()\\-_a-zA-Z0-9]{0,3}",
                    "[\u{980}-\u{9ff}✅🙂]{0,2}",
                ],
                0..12,
            ),
        ) {
            let text = parts.concat();
            let masked = mask(&text);
            prop_assert_eq!(mask(&masked), masked.clone());
            prop_assert!(kinds(&masked).is_empty());
        }
    }
}
