//! What hamlet keeps in memory between requests, each store bounded by the
//! bytes it holds: public answers, staff queue pages, parsed documents (in
//! `graphql.rs`), persisted queries and signed-in staff (in `auth.rs`); and
//! the content generation that says when kept public answers are stale.
//!
//! The stores are [`moka`] caches weighed in bytes: when one is full, its
//! least useful entries are evicted one by one (never the whole store at
//! once, which let one client's spray of distinct queries flush everyone
//! else's), and its total never passes its bound. Their sizes are in
//! `/metrics` as `hamlet_cache_bytes`.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A store bounded by the bytes its entries weigh.
pub struct Bounded<K, V> {
    name: &'static str,
    capacity: u64,
    entries: moka::sync::Cache<K, V>,
}

impl<K, V> Bounded<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A store called `name` (in metrics) of at most `capacity` bytes, each
    /// entry weighing what `weigh` says, in bytes. When it is full, a new
    /// entry is kept only if it is asked for more often than the one it
    /// would evict (moka's TinyLFU), so a spray of one-off requests cannot
    /// push out what everyone asks for.
    pub fn new(
        name: &'static str,
        capacity: u64,
        weigh: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
    ) -> Self {
        Self::with_policy(
            name,
            capacity,
            weigh,
            moka::policy::EvictionPolicy::tiny_lfu(),
        )
    }

    /// Like [`Bounded::new`], but a new entry is always kept, evicting the
    /// least recently used: for entries a client will ask for right after
    /// making them (a persisted query it has just registered).
    pub fn recent_first(
        name: &'static str,
        capacity: u64,
        weigh: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
    ) -> Self {
        Self::with_policy(name, capacity, weigh, moka::policy::EvictionPolicy::lru())
    }

    fn with_policy(
        name: &'static str,
        capacity: u64,
        weigh: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
        policy: moka::policy::EvictionPolicy,
    ) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .eviction_policy(policy)
            .weigher(move |key, value| u32::try_from(weigh(key, value)).unwrap_or(u32::MAX))
            .build();
        Self {
            name,
            capacity,
            entries,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, value);
        // moka settles its books (and evicts) in batches; settling at once
        // keeps the bound a bound, not an average. Inserts are misses, far
        // rarer than hits.
        self.entries.run_pending_tasks();
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.entries.invalidate_all();
        self.entries.run_pending_tasks();
    }

    /// Its size now, for `/metrics`.
    pub fn usage(&self) -> Usage {
        Usage {
            name: self.name,
            bytes: self.entries.weighted_size(),
            entries: self.entries.entry_count(),
            capacity: self.capacity,
        }
    }
}

/// How full one store is.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub name: &'static str,
    pub bytes: u64,
    pub entries: u64,
    pub capacity: u64,
}

/// What an entry costs beyond the bytes it is made of: the map's slot, the
/// key's and value's headers, moka's bookkeeping.
pub const ENTRY_OVERHEAD: usize = 256;

/// How many bytes each store may hold (`HAMLET_CACHE_*_BYTES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheBounds {
    /// Public answers.
    pub answers: u64,
    /// Staff queue pages (SQLite).
    pub staff_pages: u64,
    /// Parsed GraphQL documents.
    pub documents: u64,
    /// Automatic persisted queries.
    pub persisted_queries: u64,
}

impl Default for CacheBounds {
    fn default() -> Self {
        Self {
            answers: 8 << 20,
            staff_pages: 8 << 20,
            documents: 4 << 20,
            persisted_queries: 4 << 20,
        }
    }
}

/// The content generation: a number that goes up whenever public content
/// changes (a page published or unpublished, the organisation edited, an
/// idea published or erased). Anything that keeps public answers keys them by
/// it, so a change is visible on the very next request.

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
    entries: Bounded<u64, Arc<CachedAnswer>>,
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
    /// Answers larger than this are not kept.
    pub const MAX_BODY: usize = 256 * 1024;

    /// A cache of at most `capacity` bytes of answers.
    pub fn new(generation: ContentGeneration, capacity: u64) -> Self {
        Self {
            generation,
            entries: Bounded::new("answers", capacity, |_, answer: &Arc<CachedAnswer>| {
                answer.body.len() + answer.label.len() + ENTRY_OVERHEAD
            }),
        }
    }

    pub fn usage(&self) -> Usage {
        self.entries.usage()
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
        let answer = self.entries.get(&key)?;
        (answer.generation == self.generation()).then_some(answer)
    }

    pub fn put(&self, key: u64, answer: CachedAnswer) {
        if answer.body.len() > Self::MAX_BODY {
            return;
        }
        self.entries.insert(key, Arc::new(answer));
    }
}

/// Keys are made with a fixed, randomly seeded hasher: stable within the
/// process, not guessable from outside (so nobody can aim collisions).
static KEY_HASHER: std::sync::LazyLock<std::collections::hash_map::RandomState> =
    std::sync::LazyLock::new(std::collections::hash_map::RandomState::new);

/// Automatic persisted queries: a client sends a query's SHA-256 instead of
/// its text, so a partner site can use short GET addresses a CDN caches. The
/// first time, hamlet answers `PERSISTED_QUERY_NOT_FOUND`; the client sends
/// the text with its hash, hamlet checks the hash and keeps the text.
pub struct PersistedQueries {
    queries: Bounded<String, Arc<str>>,
}

impl PersistedQueries {
    /// A store of at most `capacity` bytes of queries.
    pub fn new(capacity: u64) -> Self {
        Self {
            queries: Bounded::recent_first(
                "persisted_queries",
                capacity,
                |hash: &String, query: &Arc<str>| hash.len() + query.len() + ENTRY_OVERHEAD,
            ),
        }
    }

    pub fn usage(&self) -> Usage {
        self.queries.usage()
    }

    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.queries.get(hash)
    }

    /// Keeps `query` under `hash`, if `hash` is its SHA-256 in hex.
    pub fn remember(&self, hash: &str, query: &str) -> bool {
        use sha2::Digest as _;
        if !hash.eq_ignore_ascii_case(&hex::encode(sha2::Sha256::digest(query.as_bytes()))) {
            return false;
        }
        self.queries
            .insert(hash.to_ascii_lowercase(), Arc::from(query));
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
    kept: Bounded<String, (i64, bytes::Bytes)>,
    /// `hamlet_db_statements_total`, which the version reads count in.
    statements: prometheus::IntCounter,
}

impl StaffAnswers {
    /// The only root fields whose answers are kept: the two queues.
    pub const FIELDS: [&'static str; 2] = ["feedbackQueue", "ideas"];
    /// Answers larger than this are not kept.
    const MAX_BODY: usize = 256 << 10;

    /// For the database at `url`: kept answers (at most `capacity` bytes)
    /// on a SQLite file, none otherwise (PostgreSQL, or SQLite in memory,
    /// where another connection would be another database).
    pub async fn for_database(
        url: &str,
        capacity: u64,
        statements: prometheus::IntCounter,
    ) -> anyhow::Result<Self> {
        use sea_orm::sqlx::ConnectOptions as _;
        use std::str::FromStr as _;
        let kept = Bounded::new(
            "staff_pages",
            capacity,
            |key: &String, (_, body): &(i64, bytes::Bytes)| key.len() + body.len() + ENTRY_OVERHEAD,
        );
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !url.starts_with("sqlite:") || in_memory {
            return Ok(Self {
                version: None,
                kept,
                statements,
            });
        }
        let connection = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .connect()
            .await?;
        Ok(Self {
            version: Some(tokio::sync::Mutex::new(connection)),
            kept,
            statements,
        })
    }

    pub fn usage(&self) -> Usage {
        self.kept.usage()
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
        let (made_at, body) = self.kept.get(key)?;
        (made_at == version).then_some(body)
    }

    /// Keeps `body`, made from the database at `version`.
    pub fn put(&self, key: String, version: i64, body: bytes::Bytes) {
        if body.len() > Self::MAX_BODY {
            return;
        }
        self.kept.insert(key, (version, body));
    }
}

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
        let cache = ResponseCache::new(generation.clone(), 1 << 20);
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
