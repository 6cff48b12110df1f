//! The global budget of request bytes held in memory: every route that buffers a large body
//! (whole xorbs and shards, JSON bodies, the inline content of commits) reserves its bytes
//! here first, in MiB, so that many concurrent uploads wait for each other instead of adding
//! up past what the machine has. A request that finds no room within the configured wait is
//! answered 503 with `Retry-After` (the Xet client retries server errors).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

const MIB: u64 = 1 << 20;

/// Bodies up to this size are not counted: the connection cap bounds them together.
pub(crate) const UNCOUNTED_BYTES: u64 = MIB;

/// Seconds a client refused for lack of room is told to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// The shared budget; cheap to clone.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    wait: Duration,
}

impl BodyBudget {
    /// The budget of `limits` (`body_budget_mib`, `body_budget_wait_secs`).
    pub fn new(limits: &kura_core::Limits) -> Self {
        // At most 2^30 MiB (an exabyte): far more than any machine, and a valid permit count.
        let total_mib = u32::try_from(limits.body_budget_mib.clamp(1, 1 << 30)).unwrap_or(1 << 30);
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
            wait: Duration::from_secs(limits.body_budget_wait_secs),
        }
    }

    /// The semaphore of MiB permits, its size and the wait, for another edge (the web
    /// pages) to reserve in the same budget.
    pub fn parts(&self) -> (Arc<Semaphore>, u32, Duration) {
        (self.permits.clone(), self.total_mib, self.wait)
    }

    /// MiB currently free (for tests and metrics).
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

/// Bytes reserved by one request, released when it is dropped (at the end of the request).
pub(crate) struct Reservation {
    budget: BodyBudget,
    permit: Option<OwnedSemaphorePermit>,
    mib: u32,
}

impl Reservation {
    pub(crate) fn new(budget: &BodyBudget) -> Self {
        Self { budget: budget.clone(), permit: None, mib: 0 }
    }

    /// Makes the reservation cover `bytes` in all, waiting for room when needed. A request
    /// larger than the whole budget may still run, alone: it is clamped to the budget.
    pub(crate) async fn cover(&mut self, bytes: u64) -> ApiResult<()> {
        let wanted = u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX).min(self.budget.total_mib);
        if wanted <= self.mib {
            return Ok(());
        }
        let more = wanted - self.mib;
        let acquire = self.budget.permits.clone().acquire_many_owned(more);
        let permit = match tokio::time::timeout(self.budget.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            _ => {
                let mut error = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server is busy receiving other uploads; please retry",
                );
                error.headers.push(("retry-after", RETRY_AFTER_SECS.to_string()));
                return Err(error);
            }
        };
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.mib = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(mib: u64, wait: u64) -> BodyBudget {
        BodyBudget::new(&kura_core::Limits {
            body_budget_mib: mib,
            body_budget_wait_secs: wait,
            ..kura_core::Limits::default()
        })
    }

    #[tokio::test]
    async fn reservations_grow_wait_and_release() {
        let budget = budget(10, 0);
        let mut first = Reservation::new(&budget);
        first.cover(3 * MIB + 1).await.unwrap();
        assert_eq!(budget.available_mib(), 6);
        first.cover(2 * MIB).await.unwrap();
        assert_eq!(budget.available_mib(), 6, "covering less takes nothing");
        let mut second = Reservation::new(&budget);
        let refused = second.cover(7 * MIB).await.map(|_| ()).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers.iter().any(|(name, _)| *name == "retry-after"));
        drop(first);
        second.cover(7 * MIB).await.unwrap();
        assert_eq!(budget.available_mib(), 3);
        // Larger than the whole budget: clamped, so it runs alone once the rest is free.
        drop(second);
        let mut huge = Reservation::new(&budget);
        huge.cover(1 << 40).await.unwrap();
        assert_eq!(budget.available_mib(), 0);
    }
}
