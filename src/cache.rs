//! The content generation: a number that goes up whenever public content
//! changes (a page published or unpublished, the organisation edited, an
//! idea published or erased). Anything that keeps public answers keys them by
//! it, so a change is visible on the very next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct ContentGeneration(Arc<AtomicU64>);

impl ContentGeneration {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Marks every kept public answer stale. Call it after the change commits.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Public answers kept in memory, so a partner site's page view costs a hash
/// lookup instead of a GraphQL execution and database queries.
///
/// Entries are keyed by the request (its query, normalised; its variables;
/// its operation name) and stamped with the content generation they were
/// made in: an entry from an older generation is a miss, so a content
/// change is visible on the very next request. Only anonymous, error-free
/// answers that the schema marks public are kept, each with its `ETag`
/// computed once.
pub struct ResponseCache {
    generation: ContentGeneration,
    entries: std::sync::RwLock<std::collections::HashMap<u64, Arc<CachedAnswer>>>,
}

/// One kept answer.
#[derive(Debug)]
pub struct CachedAnswer {
    pub generation: u64,
    pub body: bytes::Bytes,
    pub etag: axum::http::HeaderValue,
    pub cache_control: axum::http::HeaderValue,
    /// The operation's label for metrics.
    pub label: String,
}

impl CachedAnswer {
    /// An answer with its validators: a strong `ETag` over its exact bytes,
    /// computed once, and `Cache-Control` for `max_age` seconds.
    pub fn new(generation: u64, body: bytes::Bytes, label: String, max_age: u32) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        let cache_control = if max_age > 0 {
            format!("public, max-age={max_age}")
        } else {
            "no-cache".to_owned()
        };
        Self {
            generation,
            body,
            etag: axum::http::HeaderValue::from_str(&etag)
                .unwrap_or(axum::http::HeaderValue::from_static("\"\"")),
            cache_control: axum::http::HeaderValue::from_str(&cache_control)
                .unwrap_or(axum::http::HeaderValue::from_static("no-cache")),
            label,
        }
    }
}

impl ResponseCache {
    /// Kept answers at most; past this the cache starts again empty. Public
    /// content is small, so this bounds memory to a few megabytes.
    const MAX_ENTRIES: usize = 2048;
    /// Answers larger than this are not kept.
    pub const MAX_BODY: usize = 256 * 1024;

    pub fn new(generation: ContentGeneration) -> Self {
        Self {
            generation,
            entries: std::sync::RwLock::default(),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.current()
    }

    /// The key of a request.
    pub fn key(query: &str, variables: Option<&serde_json::Value>, operation: Option<&str>) -> u64 {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut hasher = KEY_HASHER.build_hasher();
        // Whitespace is normalised only outside string literals: a query
        // holding a string is keyed by its exact text.
        if query.contains('"') {
            hasher.write(query.as_bytes());
        } else {
            for word in query.split_whitespace() {
                hasher.write(word.as_bytes());
                hasher.write_u8(b' ');
            }
        }
        hasher.write_u8(0);
        if let Some(variables) = variables
            .filter(|v| !v.as_object().is_some_and(serde_json::Map::is_empty) && !v.is_null())
        {
            // serde_json's maps are sorted, so equal variables print equally.
            hasher.write(variables.to_string().as_bytes());
        }
        hasher.write_u8(0);
        hasher.write(operation.unwrap_or_default().as_bytes());
        hasher.finish()
    }

    /// The kept answer for `key`, if it is from the current generation.
    pub fn get(&self, key: u64) -> Option<Arc<CachedAnswer>> {
        let entries = self.entries.read().ok()?;
        let answer = entries.get(&key)?;
        (answer.generation == self.generation()).then(|| answer.clone())
    }

    pub fn put(&self, key: u64, answer: CachedAnswer) {
        if answer.body.len() > Self::MAX_BODY {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= Self::MAX_ENTRIES {
            let current = self.generation();
            entries.retain(|_, kept| kept.generation == current);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Arc::new(answer));
    }
}

/// Keys are made with a fixed, randomly seeded hasher: stable within the
/// process, not guessable from outside (so nobody can aim collisions).
static KEY_HASHER: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_layout_but_not_meaning() {
        let key = ResponseCache::key;
        assert_eq!(
            key("{ page(slug: $s) { title } }", None, None),
            key(
                "{\n  page(slug: $s)   { title }\n}",
                Some(&serde_json::json!({})),
                None
            )
        );
        let a = serde_json::json!({ "s": "vision-and-purpose", "l": "en" });
        let b = serde_json::json!({ "l": "en", "s": "vision-and-purpose" });
        assert_eq!(key("q", Some(&a), None), key("q", Some(&b), None));
        assert_ne!(
            key("q", Some(&a), None),
            key("q", Some(&serde_json::json!({ "s": "x" })), None)
        );
        assert_ne!(key("q", None, Some("A")), key("q", None, Some("B")));
        // Inside strings, spacing is meaning.
        assert_ne!(
            key("{ search(text: \"a  b\") }", None, None),
            key("{ search(text: \"a b\") }", None, None)
        );
    }

    #[test]
    fn a_content_change_makes_every_kept_answer_a_miss() {
        let generation = ContentGeneration::default();
        let cache = ResponseCache::new(generation.clone());
        let answer = |generation| CachedAnswer {
            generation,
            body: bytes::Bytes::from_static(b"{}"),
            etag: axum::http::HeaderValue::from_static("\"x\""),
            cache_control: axum::http::HeaderValue::from_static("public"),
            label: "anonymous".into(),
        };
        cache.put(1, answer(cache.generation()));
        assert!(cache.get(1).is_some());
        generation.bump();
        assert!(cache.get(1).is_none());
        cache.put(1, answer(cache.generation()));
        assert!(cache.get(1).is_some());
    }
}

/// Automatic persisted queries: a client sends a query's SHA-256 instead of
/// its text, so a partner site can use short GET addresses a CDN caches. The
/// first time, hamlet answers `PERSISTED_QUERY_NOT_FOUND`; the client sends
/// the text with its hash, hamlet checks the hash and keeps the text.
#[derive(Default)]
pub struct PersistedQueries {
    queries: std::sync::RwLock<std::collections::HashMap<String, Arc<str>>>,
}

impl PersistedQueries {
    /// Queries kept at most; past this the store starts again empty.
    const MAX_QUERIES: usize = 10_000;

    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.queries.read().ok()?.get(hash).cloned()
    }

    /// Keeps `query` under `hash`, if `hash` is its SHA-256 in hex.
    pub fn remember(&self, hash: &str, query: &str) -> bool {
        use sha2::Digest as _;
        if !hash.eq_ignore_ascii_case(&hex::encode(sha2::Sha256::digest(query.as_bytes()))) {
            return false;
        }
        if let Ok(mut queries) = self.queries.write() {
            if queries.len() >= Self::MAX_QUERIES {
                queries.clear();
            }
            queries.insert(hash.to_ascii_lowercase(), Arc::from(query));
        }
        true
    }
}

/// Staff answers kept between requests, on SQLite: a moderator's queue page,
/// asked for again and again while nothing changes, is answered from memory
/// instead of being read and assembled again.
///
/// Freshness comes from SQLite itself. `PRAGMA data_version`, read on a
/// connection of its own that never writes, changes whenever any connection
/// commits anything: the pool's, or another process's (the `hamlet`
/// command, say). An answer is kept with the version read *before* it was
/// made and given again only while the version is unchanged, so it is never
/// older than the database; each kept answer costs one tiny statement. Answers
/// are kept per staff member and set of roles, and only for
/// [`StaffAnswers::FIELDS`], whose answers depend on nothing but the database
/// and the viewer's roles. PostgreSQL has no such version (and other
/// processes may write), so there nothing is kept.
pub struct StaffAnswers {
    version: Option<tokio::sync::Mutex<sea_orm::sqlx::SqliteConnection>>,
    kept: std::sync::Mutex<KeptStaffAnswers>,
    /// `hamlet_db_statements_total`, which the version reads count in.
    statements: prometheus::IntCounter,
}

#[derive(Default)]
struct KeptStaffAnswers {
    answers: std::collections::HashMap<String, (i64, bytes::Bytes)>,
    bytes: usize,
}

impl StaffAnswers {
    /// The only root fields whose answers are kept: the two queues.
    pub const FIELDS: [&'static str; 2] = ["feedbackQueue", "ideas"];
    /// Bytes of answers kept at most; past this the store starts again empty.
    const MAX_BYTES: usize = 8 << 20;
    /// Answers larger than this are not kept.
    const MAX_BODY: usize = 256 << 10;

    /// For the database at `url`: kept answers on a SQLite file, none
    /// otherwise (PostgreSQL, or SQLite in memory, where another connection
    /// would be another database).
    pub async fn for_database(
        url: &str,
        statements: prometheus::IntCounter,
    ) -> anyhow::Result<Self> {
        use sea_orm::sqlx::ConnectOptions as _;
        use std::str::FromStr as _;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !url.starts_with("sqlite:") || in_memory {
            return Ok(Self {
                version: None,
                kept: std::sync::Mutex::default(),
                statements,
            });
        }
        let connection = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .connect()
            .await?;
        Ok(Self {
            version: Some(tokio::sync::Mutex::new(connection)),
            kept: std::sync::Mutex::default(),
            statements,
        })
    }

    /// The database's version now, or `None` when answers are not kept (or
    /// it could not be read: then nothing is kept or given).
    pub async fn version(&self) -> Option<i64> {
        let mut connection = self.version.as_ref()?.lock().await;
        self.statements.inc();
        sea_orm::sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut *connection)
            .await
            .ok()
    }

    /// The key of a request by `viewer`.
    pub fn key(
        viewer: &crate::auth::Viewer,
        query: &str,
        variables: &async_graphql::Variables,
        operation: Option<&str>,
    ) -> String {
        format!(
            "{}\0{:?}\0{query}\0{}\0{}",
            viewer.id(),
            viewer.staff.roles,
            serde_json::to_string(variables).unwrap_or_default(),
            operation.unwrap_or_default()
        )
    }

    /// The answer kept for `key`, if it was made at `version`.
    pub fn get(&self, key: &str, version: i64) -> Option<bytes::Bytes> {
        let kept = self.kept.lock().ok()?;
        let (made_at, body) = kept.answers.get(key)?;
        (*made_at == version).then(|| body.clone())
    }

    /// Keeps `body`, made from the database at `version`.
    pub fn put(&self, key: String, version: i64, body: bytes::Bytes) {
        if body.len() > Self::MAX_BODY {
            return;
        }
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.bytes + body.len() > Self::MAX_BYTES {
            kept.answers.retain(|_, (made_at, _)| *made_at == version);
            kept.bytes = kept.answers.values().map(|(_, body)| body.len()).sum();
            if kept.bytes + body.len() > Self::MAX_BYTES {
                kept.answers.clear();
                kept.bytes = 0;
            }
        }
        kept.bytes += body.len();
        if let Some((_, replaced)) = kept.answers.insert(key, (version, body)) {
            kept.bytes -= replaced.len();
        }
    }
}
