//! What residents and staff type: every parser answers a value or a
//! `BAD_USER_INPUT`, never a panic; cleaned free text holds no control or
//! invisible character but newline and tab and cleaning it again changes
//! nothing; accepted identifiers hold no hidden character.
#![no_main]

use hamlet::error::AppError;
use hamlet::submissions::model::{Email, FreeText, IdempotencyKey, Phone, SupporterKey};
use hamlet::text::{clean_free_text, is_forbidden_in_identifier};
use libfuzzer_sys::fuzz_target;

fn bad_input_or_ok<T>(result: Result<T, AppError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(AppError::BadInput { .. }) => None,
        Err(other) => panic!("not BAD_USER_INPUT: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let cleaned = clean_free_text(&text);
    assert_eq!(clean_free_text(&cleaned), cleaned, "cleaning is stable");
    if let Some(free) = bad_input_or_ok(FreeText::parse(&text, "comment", 2000)) {
        let free = free.as_str();
        assert!(!free.is_empty() && free.chars().count() <= 2000);
        assert!(
            free.chars()
                .all(|c| !c.is_control() || c == '\n' || c == '\t')
        );
        assert!(!free.contains(['\u{202E}', '\u{200B}', '\u{FEFF}', '\u{FFFD}']));
    }
    if let Some(email) = bad_input_or_ok(Email::parse(&text)) {
        assert!(!email.as_str().chars().any(is_forbidden_in_identifier));
    }
    if let Some(phone) = bad_input_or_ok(Phone::parse(&text)) {
        assert!(phone.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    bad_input_or_ok(IdempotencyKey::parse(&text));
    bad_input_or_ok(SupporterKey::parse(&text));
    bad_input_or_ok(hamlet::locale::Locale::parse(&text, "locale"));
    bad_input_or_ok(hamlet::content::model::Slug::parse(&text, "slug"));
    bad_input_or_ok(hamlet::moderation::model::Tag::parse(&text, "tags"));
    bad_input_or_ok(hamlet::staff::model::StaffEmail::parse(&text, "email"));
});
