//! The web edge's share of the server's one body budget (`Limits::body_budget_mib`): the
//! upload form holds the inline files of its commit in memory until the commit is written,
//! so it reserves those bytes in the same semaphore the API's bodies use, and waits (then
//! answers 503) when other uploads hold it all.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{WebError, WebResult};

const MIB: u64 = 1 << 20;
/// Bytes held without reserving (the connection cap bounds them together), as in the API.
pub(crate) const UNCOUNTED_BYTES: u64 = MIB;

/// The shared budget, in MiB permits; cheap to clone.
#[derive(Clone, Debug)]
pub struct BodyShare {
    permits: Arc<Semaphore>,
    total_mib: u32,
    wait: Duration,
}

impl BodyShare {
    /// The budget the API edge hands over (its semaphore of MiB, its size, how long to wait).
    pub fn new(permits: Arc<Semaphore>, total_mib: u32, wait: Duration) -> Self {
        Self { permits, total_mib: total_mib.max(1), wait }
    }
}

/// What one request holds; released when dropped.
pub(crate) struct Held {
    share: BodyShare,
    permit: Option<OwnedSemaphorePermit>,
    mib: u32,
}

impl Held {
    pub(crate) fn new(share: &BodyShare) -> Self {
        Self { share: share.clone(), permit: None, mib: 0 }
    }

    /// Makes the reservation cover `bytes` in all (a request larger than the whole budget is
    /// clamped to it and may still run alone).
    pub(crate) async fn cover(&mut self, bytes: u64) -> WebResult<()> {
        if bytes <= UNCOUNTED_BYTES {
            return Ok(());
        }
        let wanted = u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX).min(self.share.total_mib);
        if wanted <= self.mib {
            return Ok(());
        }
        let acquire = self.share.permits.clone().acquire_many_owned(wanted - self.mib);
        let permit = match tokio::time::timeout(self.share.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(WebError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server is busy receiving other uploads; please try again in a moment.",
                ));
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

    #[tokio::test]
    async fn reservations_grow_wait_and_release() {
        let share = BodyShare::new(Arc::new(Semaphore::new(4)), 4, Duration::from_millis(50));
        let mut first = Held::new(&share);
        first.cover(MIB / 2).await.unwrap();
        assert_eq!(share.permits.available_permits(), 4, "small bodies are not counted");
        first.cover(3 * MIB).await.unwrap();
        assert_eq!(share.permits.available_permits(), 1);
        let mut second = Held::new(&share);
        let refused = second.cover(2 * MIB).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(first);
        second.cover(100 * MIB).await.unwrap();
        assert_eq!(share.permits.available_permits(), 0, "clamped to the whole budget");
    }
}
