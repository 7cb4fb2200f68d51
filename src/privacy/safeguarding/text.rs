//! Text as the rules see it: words, each with where it sits in the original
//! text and which sentence and clause it belongs to, and the keys rules compare
//! words by (the word itself, an English stem, a sound key for Bengali typed in
//! Latin letters).
//!
//! A word is lowercased, accents are taken off Latin letters ("café" is
//! "cafe"), apostrophes are dropped ("don't", "don’t" and "dont" are one word)
//! and Bengali digits read as ASCII digits. Digits and letters are separate
//! words ("13yo" is "13" and "yo"), so ages and counts can be matched.

use std::borrow::Cow;

/// The script a word is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Script {
    Latin,
    Bengali,
    Digits,
    /// A currency or per cent sign, a word of its own ("£20" is "£" and "20").
    Currency,
    Other,
}

/// One word of the text.
#[derive(Clone, Debug)]
pub(super) struct Token {
    /// Byte range in the original text (always on character boundaries).
    pub start: usize,
    pub end: usize,
    /// Byte range of the normalised word in [`Tokens::normalised`].
    word: (usize, usize),
    pub script: Script,
    pub sentence: u32,
    pub clause: u32,
}

/// The words of one text.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    normalised: String,
    pub list: Vec<Token>,
}

impl Tokens {
    pub fn word(&self, token: &Token) -> &str {
        &self.normalised[token.word.0..token.word.1]
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{FF07}' | '`' | '\u{00B4}'
    )
}

/// Characters that join or shape letters without being one: kept inside a
/// word, never written to it.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{00AD}' | '\u{FE0F}' | '\u{2060}'
    ) || ('\u{0300}'..='\u{036F}').contains(&c)
}

fn is_bengali(c: char) -> bool {
    ('\u{0980}'..='\u{09FF}').contains(&c)
}

fn is_sentence_end(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '\n' | '\r' | '\u{0964}' | '\u{0965}' | '\u{2026}'
    )
}

fn is_clause_end(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '(' | ')' | '[' | ']' | '\u{2013}' | '\u{2014}' | '/' | '|'
    )
}

/// The ASCII digit a Bengali digit stands for.
fn bengali_digit(c: char) -> Option<char> {
    let offset = (c as u32).checked_sub(0x09E6)?;
    (offset < 10).then(|| char::from(b'0' + offset as u8))
}

/// The base letter of an accented Latin letter ("é" is "e").
fn fold_latin(c: char) -> char {
    if c.is_ascii() || !('\u{00C0}'..='\u{024F}').contains(&c) {
        return c;
    }
    let mut base = c;
    let mut first = true;
    unicode_normalization::char::decompose_canonical(c, |part| {
        if first {
            base = part;
            first = false;
        }
    });
    base
}

fn is_currency(c: char) -> bool {
    matches!(c, '£' | '$' | '€' | '%')
}

fn script_of(c: char) -> Script {
    if is_currency(c) {
        Script::Currency
    } else if c.is_ascii_digit() || bengali_digit(c).is_some() {
        Script::Digits
    } else if is_bengali(c) {
        Script::Bengali
    } else if c.is_alphabetic() && (c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c)) {
        Script::Latin
    } else {
        Script::Other
    }
}

/// What an ASCII character is to [`tokenize`], looked up by its byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Byte {
    Letter,
    Digit,
    /// Ends a word and a sentence (`.`, `!`, `?`, a line break).
    SentenceEnd,
    /// Ends a word and a clause (`,`, `;`, `:`, brackets, `/`, `|`).
    ClauseEnd,
    /// Ends a word and nothing more (a space, most punctuation).
    Space,
    /// Needs the rules for any character: an apostrophe or a currency sign.
    Other,
}

/// [`Byte`] for each ASCII character, the same as the character functions
/// above say.
const BYTES: [Byte; 128] = {
    let mut table = [Byte::Space; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8 as char;
        table[b] = if c.is_ascii_alphabetic() {
            Byte::Letter
        } else if c.is_ascii_digit() {
            Byte::Digit
        } else if matches!(c, '.' | '!' | '?' | '\n' | '\r') {
            Byte::SentenceEnd
        } else if matches!(c, ',' | ';' | ':' | '(' | ')' | '[' | ']' | '/' | '|') {
            Byte::ClauseEnd
        } else if matches!(c, '\'' | '`' | '$' | '%') {
            Byte::Other
        } else {
            Byte::Space
        };
        b += 1;
    }
    table
};

/// Whether a character of `script` goes on a word begun in `current`.
fn joins(current: Script, script: Script) -> bool {
    (current == script && script != Script::Currency)
        || (script == Script::Other && current != Script::Digits)
        || (current == Script::Other && script != Script::Digits)
}

/// Splits `text` into words. Linear in the length of the text.
///
/// ASCII letters, digits and punctuation are read a byte at a time through
/// a table, runs of letters or digits in one go; any other character goes
/// through the character functions above. What lies between two words is
/// noted as it is read (did a sentence or a clause end in it?), so it is
/// never read twice.
pub(super) fn tokenize(text: &str) -> Tokens {
    let mut reader = Reader {
        tokens: Tokens {
            normalised: String::with_capacity(text.len() + 8),
            list: Vec::with_capacity(text.len() / 5 + 1),
        },
        current: None,
        last_end: 0,
        previous_end: 0,
        sentence: 0,
        clause: 0,
        gap_ends_sentence: false,
        gap_ends_clause: false,
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let class = BYTES.get(usize::from(byte)).copied().unwrap_or(Byte::Other);
        match class {
            Byte::Letter | Byte::Digit => {
                let script = if class == Byte::Letter {
                    Script::Latin
                } else {
                    Script::Digits
                };
                if !reader
                    .current
                    .is_some_and(|(_, _, open)| joins(open, script))
                {
                    reader.begin(text, at, script);
                }
                // The rest of the run of letters (or digits) in one go.
                let mut end = at + 1;
                while BYTES
                    .get(usize::from(bytes.get(end).copied().unwrap_or(0x80)))
                    .is_some_and(|&next| next == class)
                {
                    end += 1;
                }
                let normalised = &mut reader.tokens.normalised;
                let from = normalised.len();
                normalised.push_str(&text[at..end]);
                normalised[from..].make_ascii_lowercase();
                at = end;
                reader.last_end = at;
            }
            Byte::SentenceEnd | Byte::ClauseEnd | Byte::Space => {
                reader.end_word();
                reader.gap_ends_sentence |= class == Byte::SentenceEnd;
                reader.gap_ends_clause |= class == Byte::ClauseEnd;
                at += 1;
            }
            Byte::Other => {
                let Some(c) = text[at..].chars().next() else {
                    break;
                };
                reader.character(text, at, c);
                at += c.len_utf8();
            }
        }
    }
    reader.end_word();
    reader.tokens
}

/// [`tokenize`]'s state.
struct Reader {
    tokens: Tokens,
    /// The word being read: its start in the text and in `normalised`, and
    /// its script (its first character's).
    current: Option<(usize, usize, Script)>,
    /// Where the word being read ends so far.
    last_end: usize,
    /// Where the last word ended.
    previous_end: usize,
    sentence: u32,
    clause: u32,
    /// Whether what was read since the last word ended holds a sentence end,
    /// or a clause end.
    gap_ends_sentence: bool,
    gap_ends_clause: bool,
}

impl Reader {
    /// Ends the word being read, if any.
    fn end_word(&mut self) {
        if let Some(open) = self.current.take() {
            push(
                &mut self.tokens,
                open,
                self.last_end,
                self.sentence,
                self.clause,
            );
            self.previous_end = self.last_end;
            self.gap_ends_sentence = false;
            self.gap_ends_clause = false;
        }
    }

    /// Begins a word at `at` (ending the one being read), in the sentence
    /// and clause that what came between the two says.
    fn begin(&mut self, text: &str, at: usize, script: Script) {
        self.end_word();
        if !self.tokens.list.is_empty() {
            if self.gap_ends_sentence && !is_decimal_point(text, self.previous_end, at) {
                self.sentence += 1;
                self.clause += 1;
            } else if self.gap_ends_clause {
                self.clause += 1;
            }
        }
        self.current = Some((at, self.tokens.normalised.len(), script));
    }

    /// Reads one character that is not an ASCII letter, digit or plain
    /// punctuation.
    fn character(&mut self, text: &str, at: usize, c: char) {
        if c.is_alphanumeric() || is_bengali(c) || is_currency(c) {
            let script = script_of(c);
            if !self.current.is_some_and(|(_, _, open)| joins(open, script)) {
                self.begin(text, at, script);
            }
            let normalised = &mut self.tokens.normalised;
            if let Some(digit) = bengali_digit(c) {
                normalised.push(digit);
            } else if c.is_ascii() {
                normalised.push(c.to_ascii_lowercase());
            } else {
                for lower in c.to_lowercase() {
                    normalised.push(fold_latin(lower));
                }
            }
            self.last_end = at + c.len_utf8();
        } else if is_apostrophe(c) || is_invisible(c) {
            // Inside a word: kept out of it, but the word goes on.
            if self.current.is_some() {
                self.last_end = at + c.len_utf8();
            }
        } else {
            self.end_word();
            self.gap_ends_sentence |= is_sentence_end(c);
            self.gap_ends_clause |= is_clause_end(c);
        }
    }
}

/// The tokenizer as first written, a character at a time: what
/// [`tokenize`] must agree with.
#[cfg(test)]
pub(super) fn tokenize_reference(text: &str) -> Tokens {
    let mut tokens = Tokens {
        normalised: String::with_capacity(text.len() + 8),
        list: Vec::with_capacity(text.len() / 5 + 1),
    };
    // The word being read: its start in the text and in `normalised`, and
    // where it ends so far.
    let mut current: Option<(usize, usize, Script)> = None;
    let mut last_end = 0usize;
    let mut sentence = 0u32;
    let mut clause = 0u32;
    let mut previous_end = 0usize;

    let bytes = text.as_bytes();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        // The rest of a word of ASCII letters or digits, in one go: the
        // common case, and the same as reading it a character at a time.
        if let Some((_, _, script @ (Script::Latin | Script::Digits))) = current {
            let same: fn(&u8) -> bool = if script == Script::Latin {
                u8::is_ascii_alphabetic
            } else {
                u8::is_ascii_digit
            };
            if same(&bytes[at]) {
                let run = bytes[at..].iter().take_while(|b| same(b)).count();
                let from = tokens.normalised.len();
                tokens.normalised.push_str(&text[at..at + run]);
                tokens.normalised[from..].make_ascii_lowercase();
                last_end = at + run;
                if run > 1 {
                    chars.nth(run - 2);
                }
                continue;
            }
        }
        if c.is_alphanumeric() || is_bengali(c) || is_currency(c) {
            let script = script_of(c);
            let joins = current.is_some_and(|(_, _, current_script)| {
                (current_script == script && script != Script::Currency)
                    || (script == Script::Other && current_script != Script::Digits)
                    || (current_script == Script::Other && script != Script::Digits)
            });
            if !joins {
                if let Some(open) = current.take() {
                    push(&mut tokens, open, last_end, sentence, clause);
                    previous_end = last_end;
                }
                if !tokens.list.is_empty() {
                    let between = &text[previous_end..at];
                    if between.chars().any(is_sentence_end)
                        && !is_decimal_point(text, previous_end, at)
                    {
                        sentence += 1;
                        clause += 1;
                    } else if between.chars().any(is_clause_end) {
                        clause += 1;
                    }
                }
                current = Some((at, tokens.normalised.len(), script));
            }
            if let Some(digit) = bengali_digit(c) {
                tokens.normalised.push(digit);
            } else if c.is_ascii() {
                tokens.normalised.push(c.to_ascii_lowercase());
            } else {
                for lower in c.to_lowercase() {
                    tokens.normalised.push(fold_latin(lower));
                }
            }
            last_end = at + c.len_utf8();
        } else if is_apostrophe(c) || is_invisible(c) {
            // Inside a word: kept out of it, but the word goes on.
            if current.is_some() {
                last_end = at + c.len_utf8();
            }
        } else if let Some(open) = current.take() {
            push(&mut tokens, open, last_end, sentence, clause);
            previous_end = last_end;
        }
    }
    if let Some(open) = current.take() {
        push(&mut tokens, open, last_end, sentence, clause);
    }
    tokens
}

fn push(
    tokens: &mut Tokens,
    (start, word_start, script): (usize, usize, Script),
    end: usize,
    sentence: u32,
    clause: u32,
) {
    tokens.list.push(Token {
        start,
        end,
        word: (word_start, tokens.normalised.len()),
        script,
        sentence,
        clause,
    });
}

/// Whether the only thing between two words is a point between digits
/// ("5.50"), which ends no sentence.
fn is_decimal_point(text: &str, previous_end: usize, start: usize) -> bool {
    &text[previous_end..start] == "."
        && text[..previous_end].ends_with(|c: char| c.is_ascii_digit())
        && text[start..].starts_with(|c: char| c.is_ascii_digit())
}

/// An English stem: the word without its common endings, so "hits",
/// "hitting" and "hit" share one, as do "bruise", "bruised" and "bruises".
/// Crude on purpose: rules and text go through the same function, so all it
/// must do is give the forms of a word one key and different words
/// different keys, nearly always.
pub(super) fn stem(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() || word.len() <= 3 || word.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(word);
    }
    // "cries" and "cried" are "cry": the one stem that is not a beginning
    // of its word, so the only one that needs a new string.
    for ending in ["ies", "ied"] {
        if let Some(base) = word.strip_suffix(ending).filter(|b| b.len() >= 2) {
            return Cow::Owned(format!("{base}y"));
        }
    }
    let mut w = word;
    let mut stripped_verb = false;
    if let Some(base) = w.strip_suffix("ing").filter(|b| b.len() >= 3) {
        w = base;
        stripped_verb = true;
    } else if let Some(base) = w.strip_suffix("in").filter(|b| {
        // Text-speak drops the g: "hittin", "thinkin", "endin".
        b.len() >= 3 && b.ends_with(|c: char| !"aeiouy".contains(c))
    }) {
        w = base;
        stripped_verb = true;
    } else if let Some(base) = w.strip_suffix("ed").filter(|b| b.len() >= 3) {
        w = base;
        stripped_verb = true;
    } else if w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
        && w.len() >= 4
    {
        w = &w[..w.len() - 1];
    }
    if stripped_verb {
        let bytes = w.as_bytes();
        let n = bytes.len();
        if n >= 3 && bytes[n - 1] == bytes[n - 2] && !b"aeiouylsfz".contains(&bytes[n - 1]) {
            w = &w[..n - 1];
        }
    }
    if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
        w = &w[..w.len() - 1];
    }
    Cow::Borrowed(w)
}

/// A sound key for Bengali typed in Latin letters, where one word is spelt
/// many ways: "bhai", "vai" and "bai"; "zaibo" and "jaibo"; "thappor" and
/// "tappor"; "koy" and "koi" all share a key.
pub(super) fn sound(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() || word.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(word);
    }
    let bytes = word.as_bytes();
    // Most words are their own key: no letter that changes, no pair that
    // joins and no letter twice in a row. Those need no new string.
    let unchanged = bytes.iter().enumerate().all(|(i, &b)| {
        !matches!(b, b'h' | b'v' | b'z' | b'q' | b'y' | b'w') && (i == 0 || bytes[i - 1] != b)
    });
    if unchanged {
        return Cow::Borrowed(word);
    }
    let mut key = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let mapped = match (b, next) {
            (b'p', Some(b'h')) => {
                i += 1;
                'f'
            }
            (b'b' | b'k' | b'g' | b'c' | b'j' | b't' | b'd' | b's' | b'r', Some(b'h')) => {
                i += 1;
                char::from(b)
            }
            (b'v', _) => 'b',
            (b'z', _) => 'j',
            (b'q', _) => 'k',
            (b'y', _) => 'i',
            (b'w', _) => 'o',
            (b'e', Some(b'e')) => {
                i += 1;
                'i'
            }
            (b'o', Some(b'o')) => {
                i += 1;
                'u'
            }
            _ => char::from(b),
        };
        if !key.ends_with(mapped) {
            key.push(mapped);
        }
        i += 1;
    }
    Cow::Owned(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let tokens = tokenize(text);
        tokens
            .list
            .iter()
            .map(|t| tokens.word(t).to_owned())
            .collect()
    }

    /// Every word of a text as (start, end, word, script, sentence, clause).
    fn read(tokens: &Tokens) -> Vec<(usize, usize, String, Script, u32, u32)> {
        tokens
            .list
            .iter()
            .map(|t| {
                let word = tokens.word(t).to_owned();
                (t.start, t.end, word, t.script, t.sentence, t.clause)
            })
            .collect()
    }

    #[test]
    fn the_tokenizer_reads_tricky_texts_as_the_reference_does() {
        for text in [
            "",
            "it cost 5.50, fine. Then he hit me",
            "5.\n5 1..2 3. 4 ab'.'cd ab'1 12yo £20, $5% 30%off",
            "“আমার” naïve e\u{301}x don’t \u{200B}x\u{200B} ৮৯ ১২abc ।।",
            "\u{212A}elvin İstanbul ǅemal ﬁne ßtraße Ωmega ж$ жa aж 中文 ١٢ Ⅻ",
            "word... (aside) [x] a/b a|b a–b a—b a;b a:b…c !?\r\n'`´",
        ] {
            assert_eq!(
                read(&tokenize(text)),
                read(&tokenize_reference(text)),
                "{text:?}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn the_tokenizer_reads_any_text_as_the_reference_does(text in any::<String>()) {
                prop_assert_eq!(read(&tokenize(&text)), read(&tokenize_reference(&text)));
            }

            #[test]
            fn the_tokenizer_reads_mixed_texts_as_the_reference_does(
                text in "[a-zA-Z0-9 .,;:!?'`$%£€´’‘\n\r()/|\u{200B}\u{301}\u{AD}৮১আম্।…éÄİ\u{212A}ǅﬁжΩ中١–—-]{0,80}"
            ) {
                prop_assert_eq!(read(&tokenize(&text)), read(&tokenize_reference(&text)));
            }
        }
    }

    #[test]
    fn words_are_lowercased_without_apostrophes_or_accents() {
        assert_eq!(
            words("He DIDN'T come, café"),
            ["he", "didnt", "come", "cafe"]
        );
        assert_eq!(words("don’t"), ["dont"]);
        assert_eq!(words("13yo and 6yrs"), ["13", "yo", "and", "6", "yrs"]);
    }

    #[test]
    fn bengali_words_keep_their_marks_and_digits_read_as_ascii() {
        assert_eq!(words("আমার বান্ধবীর ৮ বছরের"), ["আমার", "বান্ধবীর", "8", "বছরের"]);
    }

    #[test]
    fn sentences_and_clauses_are_numbered() {
        let tokens = tokenize("it cost 5.50, fine. Then he hit me");
        let places: Vec<_> = tokens.list.iter().map(|t| (t.sentence, t.clause)).collect();
        assert_eq!(
            places,
            [
                (0, 0),
                (0, 0),
                (0, 0),
                (0, 0),
                (0, 1),
                (1, 2),
                (1, 2),
                (1, 2),
                (1, 2)
            ]
        );
    }

    #[test]
    fn offsets_cut_the_original_text_on_character_boundaries() {
        let text = "“আমার” naïve e\u{301}x don’t";
        for token in tokenize(text).list {
            assert!(text.is_char_boundary(token.start) && text.is_char_boundary(token.end));
        }
    }

    #[test]
    fn forms_of_a_word_share_a_stem() {
        for forms in [
            ["hit", "hits", "hitting"],
            ["slap", "slapped", "slapping"],
            ["bruise", "bruised", "bruises"],
            ["take", "takes", "taking"],
            ["end", "ends", "endin"],
            ["think", "thinking", "thinkin"],
            ["cry", "cries", "cried"],
        ] {
            let stems: Vec<_> = forms.iter().map(|f| stem(f).into_owned()).collect();
            assert!(stems.iter().all(|s| *s == stems[0]), "{forms:?}: {stems:?}");
        }
        assert_ne!(stem("this"), stem("thi"));
        assert_eq!(stem("bus"), "bus");
    }

    #[test]
    fn spellings_of_a_romanised_word_share_a_sound_key() {
        for spellings in [
            ["bhai", "vai"],
            ["zaibo", "jaibo"],
            ["thappor", "tapor"],
            ["koy", "koi"],
        ] {
            assert_eq!(sound(spellings[0]), sound(spellings[1]), "{spellings:?}");
        }
    }
}
