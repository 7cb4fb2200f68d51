//! The personal-data scan and masking: never a panic, matches in order on
//! character boundaries, and masking is stable (masking masked text changes
//! nothing and leaves nothing to find), as `privacy::model` promises.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let found = hamlet::privacy::detect(&text);
    let mut previous_end = 0;
    for item in &found {
        assert!(
            item.start >= previous_end && item.start < item.end,
            "{found:?}"
        );
        assert!(text.is_char_boundary(item.start) && text.is_char_boundary(item.end));
        previous_end = item.end;
    }
    let masked = hamlet::privacy::mask(&text);
    assert_eq!(hamlet::privacy::mask(&masked), masked, "masking is stable");
    assert!(hamlet::privacy::detect(&masked).is_empty(), "{masked:?}");
    let _ = hamlet::privacy::suggests_risk(&text);
});
