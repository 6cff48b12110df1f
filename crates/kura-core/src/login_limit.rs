//! Login rate limits: a token bucket per user name and per client network, kept in memory
//! (each replica counts on its own). Sans-IO: callers pass the current `Instant`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts allowed in a burst, per key.
pub const LOGIN_BURST: u32 = 10;
/// One attempt comes back this often (so `LOGIN_BURST` per minute when it is 6 s).
const REFILL_EVERY: Duration = Duration::from_secs(6);
/// Above this many tracked keys, full buckets are forgotten before a new key is added.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Attempts left, scaled by `REFILL_EVERY` in milliseconds so refills stay exact.
    tokens_ms: u128,
    at: Instant,
}

impl Bucket {
    fn capacity_ms() -> u128 {
        u128::from(LOGIN_BURST) * REFILL_EVERY.as_millis()
    }

    fn refilled(self, now: Instant) -> Self {
        let gained = now.saturating_duration_since(self.at).as_millis();
        Self { tokens_ms: (self.tokens_ms + gained).min(Self::capacity_ms()), at: now }
    }
}

/// The bucket key of a client address. IPv4 counts per address (also mapped into IPv6,
/// `::ffff:a.b.c.d`); IPv6 per /64, the block one subscriber or host usually has whole: per
/// address, a client would get a fresh budget from each of its 2^64 addresses.
pub(crate) fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => format!("ip:{}/64", Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
        },
    }
}

/// Token buckets keyed by strings such as `user:alice`, `ip:192.0.2.1` and `ip:2001:db8::/64`.
#[derive(Debug, Default)]
pub(crate) struct LoginLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl LoginLimiter {
    /// Takes one attempt from every key's bucket, or from none: `Err(wait)` when a bucket is
    /// empty, with the time until it has an attempt again.
    pub(crate) fn attempt(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > MAX_KEYS {
            let full = Bucket::capacity_ms();
            buckets.retain(|_, bucket| bucket.refilled(now).tokens_ms < full);
        }
        let cost = REFILL_EVERY.as_millis();
        let mut wait = Duration::ZERO;
        for key in keys {
            let bucket = buckets
                .get(key)
                .map_or(Bucket { tokens_ms: Bucket::capacity_ms(), at: now }, |b| b.refilled(now));
            if bucket.tokens_ms < cost {
                let missing = u64::try_from(cost - bucket.tokens_ms).unwrap_or(u64::MAX);
                wait = wait.max(Duration::from_millis(missing));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for key in keys {
            let bucket = buckets
                .get(key)
                .map_or(Bucket { tokens_ms: Bucket::capacity_ms(), at: now }, |b| b.refilled(now));
            buckets.insert(key.clone(), Bucket { tokens_ms: bucket.tokens_ms - cost, ..bucket });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_by_address() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("192.0.2.1"), "ip:192.0.2.1");
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("::ffff:192.0.2.1"), "ip:192.0.2.1", "mapped IPv4 is IPv4");
        assert_eq!(key("2001:db8:1:2::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::1"), "ip:::/64");
    }

    #[test]
    fn a_burst_then_one_attempt_per_refill() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        for _ in 0..LOGIN_BURST {
            assert!(limiter.attempt(&keys(&["user:a"]), start).is_ok());
        }
        let wait = limiter.attempt(&keys(&["user:a"]), start).unwrap_err();
        assert_eq!(wait, REFILL_EVERY);
        assert!(limiter.attempt(&keys(&["user:a"]), start + REFILL_EVERY / 2).is_err());
        assert!(limiter.attempt(&keys(&["user:a"]), start + REFILL_EVERY).is_ok());
        assert!(limiter.attempt(&keys(&["user:a"]), start + REFILL_EVERY).is_err());
        assert!(limiter.attempt(&keys(&["user:b"]), start).is_ok(), "keys are independent");
    }

    #[test]
    fn an_empty_bucket_blocks_without_draining_the_others() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        for i in 0..LOGIN_BURST {
            assert!(limiter.attempt(&keys(&["ip:x", &format!("user:{i}")]), now).is_ok());
        }
        assert!(limiter.attempt(&keys(&["ip:x", "user:fresh"]), now).is_err(), "the address is spent");
        for _ in 1..LOGIN_BURST {
            assert!(limiter.attempt(&keys(&["user:fresh"]), now).is_ok());
        }
        assert!(limiter.attempt(&keys(&["user:fresh"]), now).is_ok(), "the refused attempt took nothing");
        assert!(limiter.attempt(&keys(&["user:fresh"]), now).is_err());
    }
}
