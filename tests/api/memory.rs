//! Memory stays bounded by bytes whatever clients send: public answers,
//! parsed documents, persisted queries and staff pages are kept in stores of
//! a set size, which evict entries one by one when full.

use std::collections::HashMap;

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp};

/// `hamlet_cache_<metric>{cache="<name>"}` values from `/metrics`, by name.
fn gauges(metrics: &str, metric: &str) -> HashMap<String, u64> {
    let prefix = format!("hamlet_cache_{metric}{{cache=\"");
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (name, value) = rest.split_once("\"} ")?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_distinct_large_answers_and_persisted_queries_stay_within_the_bounds() {
    use sha2::Digest as _;
    const BOUND: u64 = 256 << 10;
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.cache_bounds.answers = BOUND;
        config.cache_bounds.documents = BOUND;
        config.cache_bounds.persisted_queries = BOUND;
    })
    .await;

    // Each request is a distinct public query (its alias differs) with a
    // large answer (every page's body, twice over), registered as a
    // persisted query with a long comment of its own: 2,000 answers of
    // about 30 KB and 2,000 queries of about 3 KB, far past every bound.
    let sent = 2000;
    let padding = "p".repeat(3000);
    let bodies = futures_util::stream::iter(0..sent)
        .map(|i| {
            let app = &app;
            let padding = &padding;
            async move {
                let query = format!(
                    "# {i} {padding}\n{{ a{i}: pages(first: 50) {{ edges {{ node {{ body bodyHtml }} }} }} \
                     b{i}: pages(first: 50) {{ edges {{ node {{ body bodyHtml }} }} }} }}"
                );
                let hash = hex::encode(sha2::Sha256::digest(query.as_bytes()));
                let response = app
                    .client
                    .post(app.url("/graphql"))
                    .json(&json!({
                        "query": query,
                        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap().len()
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<usize>>()
        .await;
    let answered: usize = bodies.iter().sum();
    assert!(
        answered as u64 > 20 * BOUND,
        "the answers were large: {answered} bytes in all"
    );

    let metrics = app.metrics().await;
    let bytes = gauges(&metrics, "bytes");
    let capacity = gauges(&metrics, "capacity_bytes");
    let entries = gauges(&metrics, "entries");
    for cache in ["answers", "documents", "persisted_queries"] {
        assert_eq!(capacity[cache], BOUND, "{cache}: {metrics}");
        assert!(
            bytes[cache] <= BOUND,
            "{cache} holds {} bytes, over its bound of {BOUND}",
            bytes[cache]
        );
        // Full, not flushed: evicted one by one, it still holds a good part.
        assert!(
            bytes[cache] > BOUND / 4 && entries[cache] > 1 && entries[cache] < sent as u64,
            "{cache}: {} bytes in {} entries",
            bytes[cache],
            entries[cache]
        );
    }
    // The default bounds are what the README says.
    for (cache, bound) in [("staff_pages", 8 << 20), ("viewers", 2 << 20)] {
        assert_eq!(capacity[cache], bound, "{cache}");
    }

    // What is kept is still served: a kept persisted query answers by hash.
    let query = "{ organisation { name } }";
    let hash = hex::encode(sha2::Sha256::digest(query.as_bytes()));
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let first: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "extensions": extensions }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "extensions": extensions }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first, again);
    assert!(again["data"]["organisation"]["name"].is_string(), "{again}");
}
