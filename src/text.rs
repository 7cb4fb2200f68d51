//! Unicode hygiene for what clients send: which characters free text loses,
//! which characters an identifier may never hold, and the repair of lone
//! surrogates in JSON, which Rust strings cannot hold.
//!
//! The same rules run before either database sees a value, so SQLite and
//! PostgreSQL store the same thing (PostgreSQL refuses a NUL in text outright;
//! SQLite would store it).
//!
//! - **Free text** (comments, ideas, notes, names) loses control characters
//!   other than newline and tab, bidirectional embeddings, overrides and
//!   isolates (U+202A–U+202E, U+2066–U+2069), zero-width characters (U+200B,
//!   U+2060, U+FEFF) and U+FFFD, the mark left where a lone surrogate was; it
//!   is then put in Unicode normalisation form C, so the same words are the
//!   same bytes however a keyboard composed them. The zero-width non-joiner
//!   and joiner (U+200C, U+200D) are kept only between two visible non-ASCII
//!   characters, where they shape Bengali conjuncts and emoji; next to ASCII
//!   they do nothing but split a word (`sui\u{200D}cide`) or a number, which
//!   would hide it from the safeguarding and personal-data scans.
//! - **Identifiers** (emails and the like; keys, slugs, tags, locales and
//!   references accept only visible ASCII or letters already) are refused
//!   whole when they hold any of those characters: an identifier that looks
//!   like another must not be a different one.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization as _;

use crate::error::AppError;

const ZERO_WIDTH_NON_JOINER: char = '\u{200C}';
const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// Characters that change how text reads or displays without being seen:
/// bidirectional controls, zero-width characters and the replacement
/// character.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200D}' // zero-width space, non-joiner, joiner
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}' // word joiner
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{FEFF}' // zero-width no-break space (byte order mark)
        | '\u{FFFD}' // replacement character: where a lone surrogate was
    )
}

/// Whether `c` may never appear in an identifier.
pub fn is_forbidden_in_identifier(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Refuses an identifier holding a control or invisible character, naming
/// `field`.
pub fn check_identifier(value: &str, field: &str) -> Result<(), AppError> {
    if value.chars().any(is_forbidden_in_identifier) {
        Err(AppError::bad_input(
            field,
            "must not contain control, zero-width or bidirectional-control characters",
        ))
    } else {
        Ok(())
    }
}

/// Free text as it is stored: line endings made `\n`, control characters
/// other than newline and tab removed, invisible characters removed (see the
/// module documentation for the joiners), in normalisation form C. Not
/// trimmed: callers trim and bound it.
pub fn clean_free_text(value: &str) -> String {
    // Normalised before the joiners are judged, since normalisation can
    // turn a neighbour into ASCII (U+037E, the Greek question mark, is `;`),
    // and again after, since removing a joiner can let a letter and its
    // accent compose. Composing never makes ASCII, so a second cleaning
    // changes nothing.
    let kept: Vec<char> = value
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t'))
        .filter(|&c| !is_invisible(c) || is_joiner(c))
        .nfc()
        .collect();
    let shapes = |c: Option<&char>| {
        c.is_some_and(|&c| !c.is_ascii() && !c.is_whitespace() && !is_invisible(c))
    };
    let joined = kept.iter().enumerate().filter_map(|(i, &c)| {
        if !is_joiner(c) {
            return Some(c);
        }
        let before = i.checked_sub(1).and_then(|before| kept.get(before));
        (shapes(before) && shapes(kept.get(i + 1))).then_some(c)
    });
    joined.nfc().collect()
}

fn is_joiner(c: char) -> bool {
    matches!(c, ZERO_WIDTH_NON_JOINER | ZERO_WIDTH_JOINER)
}

/// JSON text with every lone surrogate escape (`\uD800` without its pair)
/// replaced by `\uFFFD`, the replacement character, so that it parses into a
/// Rust string instead of failing the whole request. Valid surrogate pairs
/// and everything else are left alone; when nothing needs repair the input
/// is returned as it is.
///
/// JSON allows such escapes in its grammar, and clients that cut UTF-16
/// strings in the middle of a pair send them. The replacement character is
/// then removed from free text and refused in identifiers like any other
/// invisible character.
pub fn repair_json_surrogates(json: &[u8]) -> Cow<'_, [u8]> {
    let mut repaired: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                in_string = !in_string;
                i += 1;
            }
            b'\\' if in_string => {
                let Some(unit) = escaped_unit(json, i) else {
                    // Any other escape is two bytes long.
                    i += 2;
                    continue;
                };
                let paired = (0xD800..=0xDBFF).contains(&unit)
                    && escaped_unit(json, i + 6)
                        .is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
                if paired {
                    i += 12;
                } else if (0xD800..=0xDFFF).contains(&unit) {
                    let bytes = repaired.get_or_insert_with(|| json.to_vec());
                    bytes[i..i + 6].copy_from_slice(b"\\ufffd");
                    i += 6;
                } else {
                    i += 6;
                }
            }
            _ => i += 1,
        }
    }
    match repaired {
        Some(bytes) => Cow::Owned(bytes),
        None => Cow::Borrowed(json),
    }
}

/// The UTF-16 unit of a `\uXXXX` escape starting at `at`, if there is one.
fn escaped_unit(json: &[u8], at: usize) -> Option<u32> {
    let escape = json.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_loses_controls_and_invisible_characters() {
        let hostile = "a\u{0}b\u{202E}c\u{2066}d\u{200B}e\u{2060}f\u{FEFF}g\u{FFFD}h\u{7}";
        assert_eq!(clean_free_text(hostile), "abcdefgh");
        assert_eq!(
            clean_free_text("one\r\ntwo\rthree\tfour"),
            "one\ntwo\nthree\tfour"
        );
    }

    #[test]
    fn joiners_stay_inside_bengali_and_emoji_but_not_inside_ascii_words() {
        // র‍্য: ra, joiner, virama, ya — the joiner shapes the conjunct.
        let bengali = "\u{09B0}\u{200D}\u{09CD}\u{09AF}";
        assert_eq!(clean_free_text(bengali), bengali);
        // Health worker: woman, joiner, staff of Aesculapius.
        let emoji = "\u{1F469}\u{200D}\u{2695}\u{FE0F}";
        assert_eq!(clean_free_text(emoji), emoji);
        assert_eq!(clean_free_text("sui\u{200D}cide"), "suicide");
        assert_eq!(clean_free_text("07700\u{200C}900123"), "07700900123");
        assert_eq!(clean_free_text("\u{200D}\u{09B0}"), "\u{09B0}");
    }

    #[test]
    fn free_text_is_put_in_normalisation_form_c() {
        // e and a combining acute accent become é.
        assert_eq!(clean_free_text("cafe\u{301}"), "caf\u{E9}");
        // Also once a joiner between them is gone.
        assert_eq!(clean_free_text("cafe\u{200D}\u{301}"), "caf\u{E9}");
    }

    #[test]
    fn cleaning_twice_changes_nothing() {
        // Found by the `input` fuzz target: the Greek question mark
        // normalises to an ASCII semicolon, after which the joiner before
        // it no longer sits between two non-ASCII characters.
        for text in [
            "/\u{72B}\u{200D}\u{37E}",
            "a\u{200D}\u{301}",
            "\u{9B0}\u{200D}\u{9CD}",
        ] {
            let once = clean_free_text(text);
            assert_eq!(clean_free_text(&once), once, "{text:?}");
        }
        assert_eq!(clean_free_text("/\u{72B}\u{200D}\u{37E}"), "/\u{72B};");
    }

    #[test]
    fn identifiers_with_hidden_characters_are_refused_naming_the_field() {
        for hostile in [
            "ada\u{0}@example.org",
            "ada\u{202E}@example.org",
            "ada\u{200B}@x.org",
        ] {
            let error = check_identifier(hostile, "contact.email").unwrap_err();
            assert!(
                matches!(error, AppError::BadInput { ref field, .. } if field == "contact.email")
            );
        }
        assert!(check_identifier("ada@example.org", "contact.email").is_ok());
    }

    #[test]
    fn lone_surrogates_in_json_become_replacement_characters() {
        let repaired = repair_json_surrogates(br#"{"a":"x\ud800y","b":"\udc00"}"#);
        assert_eq!(&*repaired, br#"{"a":"x\ufffdy","b":"\ufffd"}"#);
        let value: serde_json::Value = serde_json::from_slice(&repaired).unwrap();
        assert_eq!(value["a"], "x\u{FFFD}y");
    }

    #[test]
    fn valid_json_is_left_alone() {
        for json in [
            br#"{"a":"\ud83d\ude00"}"#.as_slice(),
            br#"{"a":"\\ud800"}"#,
            br#"{"a":"\u00e9\n\"\\"}"#,
        ] {
            assert!(matches!(repair_json_surrogates(json), Cow::Borrowed(_)));
        }
        // A high surrogate followed by something that is not its pair.
        assert_eq!(
            &*repair_json_surrogates(br#""\ud83d\u0041""#),
            br#""\ufffd\u0041""#
        );
    }
}
