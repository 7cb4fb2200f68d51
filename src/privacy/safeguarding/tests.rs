use super::*;

fn built_in() -> Detector {
    Detector::built_in().expect("the built-in rules compile")
}

#[expect(dead_code, reason = "used by the example tests")]
fn categories(detector: &Detector, text: &str) -> Vec<SafeguardingCategory> {
    detector
        .assess(text, None)
        .concerns
        .into_iter()
        .map(|concern| concern.category)
        .collect()
}

#[test]
fn every_rules_file_parses() {
    for (name, source) in rules::BUILT_IN {
        let set = rules::parse(name, source).unwrap_or_else(|error| panic!("{error}"));
        assert!(
            set.categories.iter().any(|(_, tiers)| !tiers.is_empty()),
            "{name} has no cues"
        );
    }
    built_in();
}

#[test]
fn a_category_that_is_not_one_is_an_error_naming_the_file() {
    let files = vec![(
        "xx.toml".to_owned(),
        "language = \"en\"\nwords = \"stem\"\n[HARM]\nstrong = [\"hit me\"]\n".to_owned(),
    )];
    let error = Detector::compile(&files).unwrap_err();
    assert_eq!(error.file, "xx.toml");
    assert!(error.message.contains("HARM"), "{error}");
}

#[test]
fn excerpts_are_cut_from_the_text_on_character_boundaries() {
    let detector = built_in();
    let text = "“my husband hits me” 😢 আমার";
    let assessment = detector.assess(text, None);
    assert!(!assessment.concerns.is_empty());
    for concern in &assessment.concerns {
        assert!(text.contains(&concern.excerpt), "{concern:?}");
    }
}

#[test]
fn a_negation_after_the_verb_stops_the_cue_before_it_in_sylheti() {
    let detector = built_in();
    assert!(
        !detector
            .assess("amar jamai amare mare", None)
            .concerns
            .is_empty(),
        "the cue on its own counts"
    );
    let negated = detector.assess("amar jamai amare mare na, khub bhalo manush", None);
    assert!(negated.concerns.is_empty(), "{:?}", negated.concerns);
    // Only right after the cue: a negation later in the sentence is about
    // something else.
    let later = detector.assess("amar jamai amare mare, ar keu help kore na", None);
    assert!(!later.concerns.is_empty());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_screened_without_panicking(text in any::<String>()) {
            let _ = detector().assess(&text, None);
        }

        #[test]
        fn an_excerpt_is_always_part_of_the_text(
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
        ) {
            let text = format!("{before} my husband hits me {after}");
            for concern in detector().assess(&text, None).concerns {
                prop_assert!(text.contains(&concern.excerpt));
            }
        }
    }
}
