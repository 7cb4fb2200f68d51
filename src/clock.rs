//! The time that rate limits and sign-in waits read. In service it is the
//! real clock. Tests give the app a [`ManualClock`] instead, which stands
//! still until the test moves it on, so what a test of a limit sees never
//! depends on how fast the machine runs it.
//!
//! Only code can choose the manual clock (`Config::clock`); no environment
//! variable or command-line flag reaches it, so a deployed hamlet always
//! runs on the real clock.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Where throttling reads the time: the real clock, or a test's manual one.
#[derive(Clone, Default)]
pub struct Clock(Option<ManualClock>);

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// Now, for buckets and waits kept in memory.
    pub fn now(&self) -> Instant {
        match &self.0 {
            None => Instant::now(),
            Some(manual) => manual.now(),
        }
    }

    /// Now as a date, for buckets kept in PostgreSQL; `None` on the real
    /// clock, which leaves the time to the database's `now()` so that every
    /// process sharing the buckets reads one clock.
    pub fn database_now(&self) -> Option<DateTime<Utc>> {
        self.0.as_ref().map(ManualClock::wall)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(manual) => write!(f, "Clock::manual(+{:?})", manual.advanced()),
        }
    }
}

/// A clock for tests: it stands still until [`advance`](Self::advance)d.
/// Clones share one time.
#[derive(Clone)]
pub struct ManualClock(Arc<Manual>);

struct Manual {
    started: Instant,
    started_at: DateTime<Utc>,
    advanced: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at the real time of its making.
    pub fn new() -> Self {
        Self(Arc::new(Manual {
            started: Instant::now(),
            started_at: Utc::now(),
            advanced: Mutex::new(Duration::ZERO),
        }))
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut advanced = self
            .0
            .advanced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *advanced += by;
    }

    /// The [`Clock`] to give an app, reading this one's time.
    pub fn clock(&self) -> Clock {
        Clock(Some(self.clone()))
    }

    fn advanced(&self) -> Duration {
        *self
            .0
            .advanced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> Instant {
        self.0.started + self.advanced()
    }

    fn wall(&self) -> DateTime<Utc> {
        // A step of more than the ~292,000 years a `TimeDelta` holds is no
        // test's; stand still rather than wrap.
        let advanced = chrono::TimeDelta::from_std(self.advanced()).unwrap_or_default();
        self.0.started_at + advanced
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_advanced() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let (then, then_at) = (clock.now(), clock.database_now().unwrap());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), then);
        manual.advance(Duration::from_secs(2));
        assert_eq!(clock.now() - then, Duration::from_secs(2));
        assert_eq!(
            clock.database_now().unwrap() - then_at,
            chrono::TimeDelta::seconds(2)
        );
    }

    #[test]
    fn the_system_clock_leaves_the_database_its_own_time() {
        assert!(Clock::system().database_now().is_none());
    }
}
