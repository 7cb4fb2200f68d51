//! Per-client rate limits: a token bucket per key, refilled continuously, so a
//! client may burst up to its allowance and then sends at the steady rate.
//!
//! On SQLite hamlet is one process and keeps its buckets in memory. On
//! PostgreSQL several processes may serve together, so the buckets live in
//! the database (`rate_limit_bucket`), taken from in one statement, and a
//! client's allowance is the same however its requests are spread.
//!
//! Why hand-written rather than a crate such as `governor`: those limiters
//! keep their state in the process's memory, so with several hamlet
//! processes behind one address each would grant the full allowance and a
//! client could multiply its rate by the number of processes. The shared
//! buckets need the one-statement take against PostgreSQL in `take_shared`,
//! which no in-memory limiter does; the in-memory path for SQLite is the
//! same token-bucket arithmetic, kept beside it so both behave alike.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, DbErr, Statement};

/// Buckets are forgotten once full again; past this many keys, full buckets
/// are swept so memory stays bounded under a spray of addresses.
const SWEEP_ABOVE: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The database and this limiter's name in it, on PostgreSQL.
    shared: Option<(DatabaseConnection, &'static str)>,
    checks: std::sync::atomic::AtomicU64,
    clock: crate::clock::Clock,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant, per_second: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(self.capacity);
        self.updated = now;
    }
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
            shared: None,
            checks: std::sync::atomic::AtomicU64::new(0),
            clock: crate::clock::Clock::system(),
        }
    }

    /// The same limiter, refilling by `clock` (tests hold it still).
    pub fn with_clock(self, clock: crate::clock::Clock) -> Self {
        Self { clock, ..self }
    }

    /// A limiter whose buckets are shared through `db` when it is PostgreSQL
    /// (`scope` keeps its keys apart from other limiters'); in memory otherwise.
    pub fn for_database(per_minute: u32, db: &DatabaseConnection, scope: &'static str) -> Self {
        let shared =
            (db.get_database_backend() == DbBackend::Postgres).then(|| (db.clone(), scope));
        Self {
            shared,
            ..Self::new(per_minute)
        }
    }

    /// Takes one request from `key`'s allowance of `per_minute × multiplier`,
    /// wherever the buckets are kept. On refusal, answers how many whole
    /// seconds until one more is allowed. If the database cannot be asked,
    /// the request is let through: a limit must not take the service down.
    pub async fn allow(&self, key: &str, multiplier: u32) -> Result<(), u64> {
        let Some((db, scope)) = &self.shared else {
            return self.check(key, multiplier);
        };
        let capacity = f64::from(self.per_minute.saturating_mul(multiplier.max(1)));
        // Now and then forget buckets that have been full for a while (any
        // bucket refills within a minute), so the table stays small.
        if self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % 1000
            == 999
        {
            let db = db.clone();
            tokio::spawn(async move {
                let forget = "DELETE FROM rate_limit_bucket WHERE updated_at < now() - interval '10 minutes'";
                if let Err(error) = db.execute_unprepared(forget).await {
                    tracing::warn!(%error, "forgetting old rate-limit buckets");
                }
            });
        }
        let now = self.clock.database_now();
        match take_shared(db, &format!("{scope}:{key}"), capacity, now).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(%error, "a shared rate limit could not be checked; allowing");
                Ok(())
            }
        }
    }

    /// Takes one request from `key`'s allowance of `per_minute × multiplier`.
    /// On refusal, answers how many whole seconds until one more is allowed.
    pub fn check(&self, key: &str, multiplier: u32) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute.saturating_mul(multiplier.max(1)));
        let per_second = capacity / 60.0;
        let now = self.clock.now();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; do not lock residents out.
            return Ok(());
        };
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, bucket| {
                bucket.refill(now, bucket.capacity / 60.0);
                bucket.tokens < bucket.capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            capacity,
            updated: now,
        });
        bucket.refill(now, per_second);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

/// One token from a shared bucket, in one statement: the update happens only
/// when a token is there, so a refusal changes nothing and returns no row.
/// The time is the database's own unless `now` (a test's clock) says.
async fn take_shared(
    db: &DatabaseConnection,
    key: &str,
    capacity: f64,
    now: Option<DateTime<Utc>>,
) -> Result<Result<(), u64>, DbErr> {
    let per_second = capacity / 60.0;
    let now_sql = "COALESCE($4::timestamptz, now())";
    let refilled =
        format!("LEAST($2, b.tokens + EXTRACT(EPOCH FROM ({now_sql} - b.updated_at)) * $3)");
    let taken = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "INSERT INTO rate_limit_bucket AS b (key, tokens, updated_at) VALUES ($1, $2 - 1, {now_sql}) \
                 ON CONFLICT (key) DO UPDATE SET tokens = {refilled} - 1, updated_at = {now_sql} \
                 WHERE {refilled} >= 1 RETURNING b.tokens"
            ),
            [key.into(), capacity.into(), per_second.into(), now.into()],
        ))
        .await?;
    if taken.is_some() {
        return Ok(Ok(()));
    }
    let tokens = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT {refilled} AS tokens FROM rate_limit_bucket AS b WHERE key = $1"),
            [key.into(), capacity.into(), per_second.into(), now.into()],
        ))
        .await?
        .and_then(|row| row.try_get::<f64>("", "tokens").ok())
        .unwrap_or(0.0);
    let wait = (1.0 - tokens) / per_second;
    Ok(Err(wait.ceil().max(1.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_allowance_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check("a", 1).is_ok());
        }
        let wait = limiter.check("a", 1).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        // Another client has its own allowance.
        assert!(limiter.check("b", 1).is_ok());
    }

    #[test]
    fn a_spent_allowance_refills_as_the_clock_moves_on() {
        let clock = crate::clock::ManualClock::new();
        let limiter = RateLimiter::new(3).with_clock(clock.clock());
        for _ in 0..3 {
            assert!(limiter.check("a", 1).is_ok());
        }
        assert_eq!(limiter.check("a", 1), Err(20), "one token in 60 s / 3");
        clock.advance(std::time::Duration::from_secs(19));
        assert_eq!(limiter.check("a", 1), Err(1));
        clock.advance(std::time::Duration::from_secs(1));
        assert!(limiter.check("a", 1).is_ok());
        assert!(limiter.check("a", 1).is_err());
    }

    #[test]
    fn a_multiplier_raises_the_allowance() {
        let limiter = RateLimiter::new(2);
        for _ in 0..20 {
            assert!(limiter.check("kiosk", 10).is_ok());
        }
        assert!(limiter.check("kiosk", 10).is_err());
    }
}
