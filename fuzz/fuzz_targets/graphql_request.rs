//! A GraphQL request body as the HTTP edge reads it: lone surrogates
//! repaired, the JSON read, the query's nesting bounded, then parsed and its
//! aliases and fragment expansion bounded. Never a panic, and the checks stay
//! fast on any document (libFuzzer reports a slow input as a timeout).
#![no_main]

use hamlet::query_limits::{DocumentLimits, check_document, check_nesting};
use hamlet::text::repair_json_surrogates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let repaired = repair_json_surrogates(data);
    assert_eq!(repaired.len(), data.len(), "repair keeps the length");
    let limits = DocumentLimits::new(12, 30, 5000);
    let query = match serde_json::from_slice::<async_graphql::Request>(&repaired) {
        Ok(request) => request.query,
        // Raw bytes as a query too, so the document checks get fuzzed
        // without the JSON around them.
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    };
    if check_nesting(&query, limits.max_nesting).is_err() {
        return;
    }
    if let Ok(document) = async_graphql::parser::parse_query(&query) {
        let _ = check_document(&document, &limits);
    }
});
