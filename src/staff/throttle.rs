//! Sign-in throttling by failure: a run of failed sign-ins for one email, or
//! from one address, makes the next attempt wait, twice as long after each
//! further failure, up to a cap (`HAMLET_LOGIN_BACKOFF_MAX`). A success ends
//! the run; so does a quiet spell of twice the cap. Nothing is ever locked for
//! good, so an attacker cannot lock a colleague out for longer than the cap.
//!
//! This sits beside the per-minute allowance (`HAMLET_LOGIN_PER_MINUTE`),
//! which bounds the rate however attempts are spread; the throttle makes a
//! long guessing run slower and slower. An address gets more free failures
//! than an email, since many colleagues may sign in from one office address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures in a row an email may have before it must wait.
pub const FREE_FAILURES_PER_EMAIL: u32 = 5;
/// Failures in a row an address may have before it must wait.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The wait after the first failure beyond the free ones; it doubles after each.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// Past this many runs, those that ended are swept so memory stays bounded.
const SWEEP_ABOVE: usize = 10_000;

/// Runs of failed sign-ins, by email and by address.
pub struct LoginThrottle {
    cap: Duration,
    runs: Mutex<HashMap<String, Run>>,
    clock: crate::clock::Clock,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    failures: u32,
    /// No attempt before this.
    until: Instant,
    last_failure: Instant,
}

impl LoginThrottle {
    /// A throttle whose waits never exceed `cap`.
    pub fn new(cap: Duration) -> Self {
        Self {
            cap,
            runs: Mutex::new(HashMap::new()),
            clock: crate::clock::Clock::system(),
        }
    }

    /// The same throttle, waiting by `clock` (tests hold it still).
    pub fn with_clock(self, clock: crate::clock::Clock) -> Self {
        Self { clock, ..self }
    }

    /// How many whole seconds an attempt for `email` from `address` must
    /// still wait, if it must.
    pub fn wait(&self, email: &str, address: IpAddr) -> Option<u64> {
        let now = self.clock.now();
        let runs = self.runs.lock().ok()?;
        [email_key(email), address_key(address)]
            .iter()
            .filter_map(|key| runs.get(key))
            .filter(|run| !self.is_over(run, now))
            .map(|run| run.until.saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
            .map(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Records a failed attempt for `email` from `address`.
    pub fn failed(&self, email: &str, address: IpAddr) {
        let now = self.clock.now();
        let Ok(mut runs) = self.runs.lock() else {
            return;
        };
        if runs.len() > SWEEP_ABOVE {
            runs.retain(|_, run| !self.is_over(run, now));
        }
        for (key, free) in [
            (email_key(email), FREE_FAILURES_PER_EMAIL),
            (address_key(address), FREE_FAILURES_PER_ADDRESS),
        ] {
            let run = runs.entry(key).or_insert(Run {
                failures: 0,
                until: now,
                last_failure: now,
            });
            if self.is_over(run, now) {
                run.failures = 0;
            }
            run.failures = run.failures.saturating_add(1);
            run.last_failure = now;
            run.until = now + self.wait_after(run.failures, free);
        }
    }

    /// Records a successful sign-in: both runs end.
    pub fn succeeded(&self, email: &str, address: IpAddr) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.remove(&email_key(email));
            runs.remove(&address_key(address));
        }
    }

    /// The wait after the `failures`-th failure in a row, `free` of which
    /// cost nothing.
    fn wait_after(&self, failures: u32, free: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(free + 1) else {
            return Duration::ZERO;
        };
        FIRST_WAIT
            .checked_mul(1u32.checked_shl(beyond).unwrap_or(u32::MAX))
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// Whether a run has ended by a quiet spell of twice the cap.
    fn is_over(&self, run: &Run, now: Instant) -> bool {
        now.saturating_duration_since(run.last_failure) > self.cap * 2
    }
}

fn email_key(email: &str) -> String {
    format!("email:{email}")
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_cap() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        let free = FREE_FAILURES_PER_EMAIL;
        assert_eq!(throttle.wait_after(free, free), Duration::ZERO);
        assert_eq!(throttle.wait_after(free + 1, free), Duration::from_secs(1));
        assert_eq!(throttle.wait_after(free + 2, free), Duration::from_secs(2));
        assert_eq!(throttle.wait_after(free + 4, free), Duration::from_secs(8));
        assert_eq!(throttle.wait_after(free + 7, free), Duration::from_secs(60));
        assert_eq!(throttle.wait_after(u32::MAX, free), Duration::from_secs(60));
    }

    #[test]
    fn a_run_of_failures_for_an_email_makes_it_wait_and_a_success_ends_the_run() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for _ in 0..FREE_FAILURES_PER_EMAIL {
            assert_eq!(throttle.wait("ada@example.org", HOME), None);
            throttle.failed("ada@example.org", HOME);
        }
        assert_eq!(throttle.wait("ada@example.org", HOME), None);
        throttle.failed("ada@example.org", HOME);
        assert_eq!(throttle.wait("ada@example.org", HOME), Some(1));
        // Another email from the same address is not held up by this one.
        assert_eq!(throttle.wait("bo@example.org", HOME), None);
        throttle.succeeded("ada@example.org", HOME);
        assert_eq!(throttle.wait("ada@example.org", HOME), None);
    }

    #[test]
    fn a_wait_ends_when_its_time_has_passed_and_the_next_failure_doubles_it() {
        let clock = crate::clock::ManualClock::new();
        let throttle = LoginThrottle::new(Duration::from_secs(60)).with_clock(clock.clock());
        for _ in 0..=FREE_FAILURES_PER_EMAIL {
            throttle.failed("ada@example.org", HOME);
        }
        assert_eq!(throttle.wait("ada@example.org", HOME), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.wait("ada@example.org", HOME), None);
        throttle.failed("ada@example.org", HOME);
        assert_eq!(throttle.wait("ada@example.org", HOME), Some(2));
        // A quiet spell of twice the cap ends the run.
        clock.advance(Duration::from_secs(121));
        throttle.failed("ada@example.org", HOME);
        assert_eq!(throttle.wait("ada@example.org", HOME), None);
    }

    #[test]
    fn many_emails_guessed_from_one_address_make_the_address_wait() {
        let throttle = LoginThrottle::new(Duration::from_secs(60));
        for i in 0..=FREE_FAILURES_PER_ADDRESS {
            throttle.failed(&format!("guess{i}@example.org"), HOME);
        }
        assert_eq!(throttle.wait("anyone@example.org", HOME), Some(1));
        let elsewhere: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(throttle.wait("anyone@example.org", elsewhere), None);
    }
}
