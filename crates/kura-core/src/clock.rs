//! Wall-clock time in the units the stores use, and the clock a [`crate::Hub`] reads it from
//! (the system clock, or one a test moves forward instead of sleeping).

use std::sync::Arc;

use kura_model::Timestamp;

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_millis() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where the hub reads the time: expiry of tokens, sessions and signed URLs, rate limits,
/// and the timestamps it stores. The default is the system clock.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(now_millis))
    }

    /// A clock that reads `now` (milliseconds since the Unix epoch), e.g. the system clock
    /// plus an offset a test advances.
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// Milliseconds since the Unix epoch, by this clock.
    pub fn now_millis(&self) -> Timestamp {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now_millis()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::Clock;

    #[test]
    fn a_test_clock_moves_only_when_told() {
        let now = Arc::new(AtomicI64::new(1_000));
        let clock = Clock::from_fn({
            let now = now.clone();
            move || now.load(Ordering::Relaxed)
        });
        assert_eq!(clock.now_millis(), 1_000);
        now.fetch_add(1_500, Ordering::Relaxed);
        assert_eq!(clock.clone().now_millis(), 2_500);
        assert!(Clock::default().now_millis() > 1_700_000_000_000, "the default is the system clock");
    }
}
