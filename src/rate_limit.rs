//! Per-client rate limits: a token bucket per key, refilled continuously, so a
//! client may burst up to its allowance and then sends at the steady rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets are forgotten once full again; past this many keys, full buckets
/// are swept so memory stays bounded under a spray of addresses.
const SWEEP_ABOVE: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
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
        }
    }

    /// Takes one request from `key`'s allowance of `per_minute × multiplier`.
    /// On refusal, answers how many whole seconds until one more is allowed.
    pub fn check(&self, key: &str, multiplier: u32) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute.saturating_mul(multiplier.max(1)));
        let per_second = capacity / 60.0;
        let now = Instant::now();
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
    fn a_multiplier_raises_the_allowance() {
        let limiter = RateLimiter::new(2);
        for _ in 0..20 {
            assert!(limiter.check("kiosk", 10).is_ok());
        }
        assert!(limiter.check("kiosk", 10).is_err());
    }
}
