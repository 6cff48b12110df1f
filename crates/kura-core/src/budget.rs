//! The server's one budget of request bytes held in memory (`Limits::body_budget_mib`): every
//! edge that buffers a large body (whole xorbs and shards, JSON bodies, the inline content of
//! commits, the browser upload form) reserves its bytes here first, in MiB, so concurrent
//! uploads wait for each other instead of adding up past what the machine has. A request that
//! finds no room within the configured wait gets `BudgetBusy`; each edge answers it (503).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Limits;

const MIB: u64 = 1 << 20;

/// Bodies up to this size are not counted: the connection cap bounds them together.
pub const UNCOUNTED_BYTES: u64 = MIB;

/// The shared budget; cheap to clone.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    wait: Duration,
}

impl BodyBudget {
    /// The budget of `limits` (`body_budget_mib`, `body_budget_wait_secs`).
    pub fn new(limits: &Limits) -> Self {
        // At most 2^30 MiB (an exabyte): far more than any machine, and a valid permit count.
        let total_mib = u32::try_from(limits.body_budget_mib.clamp(1, 1 << 30)).unwrap_or(1 << 30);
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
            wait: Duration::from_secs(limits.body_budget_wait_secs),
        }
    }

    /// MiB currently free (for tests and metrics).
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

/// No room in the budget within the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetBusy;

/// Bytes reserved by one request, released when it is dropped (at the end of the request).
pub struct Reservation {
    budget: BodyBudget,
    permit: Option<OwnedSemaphorePermit>,
    mib: u32,
}

impl Reservation {
    pub fn new(budget: &BodyBudget) -> Self {
        Self { budget: budget.clone(), permit: None, mib: 0 }
    }

    /// Makes the reservation cover `bytes` in all, waiting for room when needed. A request
    /// larger than the whole budget may still run, alone: it is clamped to the budget.
    pub async fn cover(&mut self, bytes: u64) -> Result<(), BudgetBusy> {
        let wanted = u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX).min(self.budget.total_mib);
        if wanted <= self.mib {
            return Ok(());
        }
        let acquire = self.budget.permits.clone().acquire_many_owned(wanted - self.mib);
        let permit = match tokio::time::timeout(self.budget.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(BudgetBusy),
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
        BodyBudget::new(&Limits { body_budget_mib: mib, body_budget_wait_secs: wait, ..Limits::default() })
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
        assert_eq!(second.cover(7 * MIB).await, Err(BudgetBusy));
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
