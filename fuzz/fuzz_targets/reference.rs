//! Receipt references: parsing anything never panics, whatever parses prints
//! in its canonical form and parses back to itself, and every issuable
//! reference parses.
#![no_main]

use hamlet::submissions::reference::{Reference, ReferenceKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(reference) = Reference::parse(&text) {
        let canonical = reference.to_string();
        assert_eq!(Reference::parse(&canonical), Ok(reference), "{canonical}");
    }
    if let Some(random) = data.get(..8) {
        let random = u64::from_le_bytes(random.try_into().unwrap_or_default());
        for kind in [ReferenceKind::Feedback, ReferenceKind::Idea] {
            let issued = Reference::from_random(kind, random);
            assert_eq!(Reference::parse(&issued.to_string()), Ok(issued));
        }
    }
});
