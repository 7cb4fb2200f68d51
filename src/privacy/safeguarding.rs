//! Safeguarding: does a resident's free text suggest that someone may be at
//! risk of harm (suicide, self-harm, abuse, violence, neglect)? No I/O here.
//!
//! The check deliberately errs towards flagging. A flagged item is never
//! published, sorts first in the moderators' queue and raises an alert, so a
//! false alarm costs a moderator a minute of reading; a missed disclosure can
//! cost someone their safety. So the list holds broad words ("abuse",
//! "neglect", "overdose") as well as phrases, and negation is ignored ("I don't
//! want to die" still flags: a person reads it).
//!
//! It matches whole words and whole phrases, not substrings, so the false
//! alarms stay plausible ones: "therapist" does not contain "rapist",
//! "rapeseed" is not "rape", "disabused" is not "abused". Text is lowercased,
//! apostrophes (straight or curly) are dropped so "can't" and "can’t" and
//! "cant" read the same, and any run of spaces, punctuation or line breaks
//! separates words, so "self-harm", "self  harm" and "self\nharm" all match.
//!
//! English only for now; phrases in the partnership's other community
//! languages belong in the same list, in the same form.

/// Phrases that suggest a risk of harm, as lowercase words separated by
/// single spaces, written without apostrophes. A word ending in `*` matches
/// any word it begins ("suicid*" matches "suicide" and "suicidal").
const RISK_PHRASES: &[&str] = &[
    // Suicide and self-harm.
    "suicid*",
    "kill myself",
    "killing myself",
    "kill my self",
    "kill meself",
    "end my life",
    "ending my life",
    "end it all",
    "take my own life",
    "take my life",
    "taking my own life",
    "want to die",
    "wants to die",
    "wanted to die",
    "wanna die",
    "want to be dead",
    "wish i was dead",
    "wish i were dead",
    "better off dead",
    "better off without me",
    "no reason to live",
    "nothing to live for",
    "not worth living",
    "self harm*",
    "selfharm*",
    "self injur*",
    "harm myself",
    "harming myself",
    "hurt myself",
    "hurting myself",
    "cut myself",
    "cutting myself",
    "cuts myself",
    "overdos*",
    "unalive*",
    "kms",
    // Abuse and violence.
    "abus*",
    "hit me",
    "hits me",
    "hitting me",
    "hits her",
    "hits him",
    "hits my",
    "beat me",
    "beats me",
    "beating me",
    "beats her",
    "beats him",
    "beats my",
    "beaten",
    "beat up",
    "punched me",
    "punches me",
    "kicked me",
    "kicks me",
    "slapped me",
    "slaps me",
    "choked me",
    "chokes me",
    "strangled",
    "strangles",
    "hurt me",
    "hurts me",
    "hurting me",
    "kill me",
    "threatens me",
    "threatened me",
    "threatening me",
    "threatened to kill",
    "domestic violence",
    "violent partner",
    "violent husband",
    "violent wife",
    "violent boyfriend",
    "violent girlfriend",
    "coercive control*",
    "controlling partner",
    "takes my money",
    "took my money",
    "taking my money",
    "steals my money",
    "stole my money",
    "scared of him",
    "scared of her",
    "afraid of him",
    "afraid of her",
    "frightened of him",
    "frightened of her",
    "scared to go home",
    "afraid to go home",
    "frightened to go home",
    "unsafe at home",
    "not safe at home",
    "dont feel safe",
    "do not feel safe",
    "feel unsafe",
    "feels unsafe",
    "felt unsafe",
    "sexual assault*",
    "sexually assault*",
    "assaulted",
    "rape",
    "raped",
    "raping",
    "rapist",
    "molest*",
    "grooming",
    "groomed",
    "sexually exploit*",
    "exploited me",
    "child exploitation",
    "criminal exploitation",
    "touched me inappropriately",
    "inappropriately touched",
    "inappropriate touching",
    "trafficked",
    "trafficking",
    "modern slavery",
    "forced marriage",
    "forced to marry",
    "fgm",
    "female genital mutilation",
    "honour based",
    "honor based",
    // Neglect.
    "neglect*",
    "left alone for days",
    "left alone all day",
    "left alone all night",
    "left alone overnight",
    "left on my own for days",
    "not been fed",
    "havent been fed",
    "hasnt been fed",
    "not being fed",
    "not fed",
    "no food",
    "nothing to eat",
    "not been washed",
    "not been changed",
    "left in soiled",
    "bed sores",
    "bedsores",
    "pressure sores",
];

/// Whether `text` suggests that someone may be at risk of harm (self-harm,
/// suicide, abuse, neglect). Errs towards `true`: a moderator reviews every
/// flagged item before anything else happens to it.
pub fn suggests_risk(text: &str) -> bool {
    let words = words(text);
    PHRASE_WORDS.iter().any(|phrase| {
        words
            .windows(phrase.len())
            .any(|window| window.iter().zip(phrase).all(|(w, p)| word_matches(w, p)))
    })
}

/// [`RISK_PHRASES`], each split into its words once (every submission is
/// screened against all of them).
static PHRASE_WORDS: std::sync::LazyLock<Vec<Vec<&'static str>>> = std::sync::LazyLock::new(|| {
    RISK_PHRASES
        .iter()
        .map(|phrase| phrase.split(' ').collect())
        .collect()
});

fn word_matches(word: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(stem) => word.starts_with(stem),
        None => word == pattern,
    }
}

/// The text's words, lowercased, with apostrophes dropped.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if is_apostrophe(c) {
            // Dropped, so "don't", "don’t" and "dont" are one word.
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{FF07}' | '`'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_phrase_is_written_in_the_form_it_is_matched_in() {
        for phrase in RISK_PHRASES {
            assert_eq!(words(phrase).join(" "), phrase.replace('*', ""), "{phrase}");
            assert!(
                phrase
                    .split(' ')
                    .all(|word| !word.is_empty() && !word[..word.len() - 1].contains('*')),
                "{phrase}"
            );
        }
    }

    #[test]
    fn words_of_risk_are_flagged() {
        for text in [
            "I have been feeling suicidal since the clinic closed",
            "Suicide prevention should be a priority",
            "sometimes I want to kill myself",
            "I just want to END MY LIFE",
            "my daughter has been self-harming",
            "history of self harm",
            "I keep cutting myself",
            "he took an overdose last month",
            "I want to die",
            "my carer abused me",
            "this is abuse",
            "my husband hits me when he drinks",
            "he hit me",
            "I was beaten by my son",
            "the home neglected my mum",
            "Dad was left alone for days",
            "the children have not been fed",
            "I am unsafe at home",
            "domestic violence services are too hard to reach",
            "after the sexual assault nobody called me back",
            "I think my nephew is being groomed online, grooming is real",
            "I'm scared to go home",
            "There is no food in the house",
            "he keeps hurting me",
            "I don\u{2019}t feel safe with him",
            "I dont feel safe",
        ] {
            assert!(suggests_risk(text), "{text:?}");
        }
    }

    #[test]
    fn spacing_case_hyphens_and_line_breaks_do_not_hide_a_phrase() {
        for text in [
            "KILL   MYSELF",
            "kill\nmyself",
            "kill\t myself",
            "self-harm",
            "Self–Harm",
            "selfharm",
            "end.my.life",
        ] {
            assert!(suggests_risk(text), "{text:?}");
        }
    }

    #[test]
    fn words_inside_other_words_are_not_flagged() {
        for text in [
            "My therapist was brilliant",
            "rapeseed oil in the canteen",
            "the grapes were lovely",
            "I was disabused of that idea",
            "white ribbon for the hitmen film", // "hit me" must be whole words
            "The staff were kind and the ward was clean",
            "Better signposting to the food bank please",
            "",
        ] {
            assert!(!suggests_risk(text), "{text:?}");
        }
    }

    #[test]
    fn other_scripts_neither_panic_nor_flag_by_accident() {
        assert!(!suggests_risk("আমার ডাক্তার খুব ভালো ✅ e\u{301}"));
        assert!(suggests_risk("আমার স্বামী hits me 😢"));
    }

    proptest! {
        #[test]
        fn any_text_is_checked_without_panicking(text in any::<String>()) {
            let _ = suggests_risk(&text);
        }

        #[test]
        fn a_phrase_is_found_whatever_surrounds_it(
            index in 0..RISK_PHRASES.len(),
            before in "[a-z]{0,8}",
            after in "[a-z]{0,8}",
        ) {
            let phrase = RISK_PHRASES[index].replace('*', "");
            let text = format!("{before} {} {after}", phrase.to_uppercase());
            prop_assert!(suggests_risk(&text), "{}", text);
        }
    }
}
