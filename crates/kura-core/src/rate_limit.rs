//! A token bucket per key, in memory: enough to stop one account from minting tokens in a
//! loop. Each process counts on its own (replicas do not share buckets).

use std::collections::HashMap;

use kura_model::Timestamp;

/// Buckets of `capacity` tokens refilled at one per `refill_ms`, keyed by user id.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    capacity: u32,
    refill_ms: i64,
    /// Key → (tokens left, time of the last refill).
    buckets: HashMap<i64, (u32, Timestamp)>,
}

impl RateLimiter {
    pub(crate) fn new(capacity: u32, refill_ms: i64) -> Self {
        Self { capacity, refill_ms: refill_ms.max(1), buckets: HashMap::new() }
    }

    /// Takes one token from `key`'s bucket; `Err(wait_ms)` when it is empty.
    pub(crate) fn take(&mut self, key: i64, now: Timestamp) -> Result<(), i64> {
        if self.buckets.len() > 10_000 {
            // Full buckets carry no information; dropping them bounds memory.
            let (capacity, refill_ms) = (self.capacity, self.refill_ms);
            self.buckets
                .retain(|_, (left, at)| i64::from(*left) + (now - *at) / refill_ms < i64::from(capacity));
        }
        let (left, at) = self.buckets.entry(key).or_insert((self.capacity, now));
        let refilled = ((now - *at).max(0) / self.refill_ms).min(i64::from(self.capacity));
        if refilled > 0 {
            let refilled = u32::try_from(refilled).unwrap_or(self.capacity);
            *left = left.saturating_add(refilled).min(self.capacity);
            *at += i64::from(refilled) * self.refill_ms;
            if *left == self.capacity {
                *at = now;
            }
        }
        if *left == 0 {
            return Err(self.refill_ms - (now - *at));
        }
        *left -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn buckets_empty_refill_and_are_per_key() {
        let mut limiter = RateLimiter::new(3, 1000);
        for _ in 0..3 {
            assert_eq!(limiter.take(1, 0), Ok(()));
        }
        assert_eq!(limiter.take(1, 400), Err(600));
        assert_eq!(limiter.take(2, 400), Ok(()), "another user has its own bucket");
        assert_eq!(limiter.take(1, 1000), Ok(()), "one token back after refill_ms");
        assert_eq!(limiter.take(1, 1500), Err(500));
        assert_eq!(limiter.take(1, 60_000), Ok(()));
        assert_eq!(limiter.take(1, 60_000), Ok(()));
        assert_eq!(limiter.take(1, 60_000), Ok(()));
        assert!(limiter.take(1, 60_000).is_err(), "never more than the capacity");
    }
}
