//! The API edge's side of the server's one body budget (`kura_core::BodyBudget`): a
//! reservation whose refusal is the 503 with `Retry-After` clients retry (the Xet client
//! retries server errors).

use axum::http::StatusCode;
pub use kura_core::BodyBudget;
pub(crate) use kura_core::UNCOUNTED_BYTES;

use crate::error::{ApiError, ApiResult};

/// Seconds a client refused for lack of room is told to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// Bytes reserved by one request, released when it is dropped (at the end of the request).
pub(crate) struct Reservation(kura_core::Reservation);

impl Reservation {
    pub(crate) fn new(budget: &BodyBudget) -> Self {
        Self(kura_core::Reservation::new(budget))
    }

    /// The core's reservation, for use cases that grow it as they read (a refusal there is
    /// the core's error, a 429 with `Retry-After`).
    pub(crate) fn core(&mut self) -> &mut kura_core::Reservation {
        &mut self.0
    }

    /// Makes the reservation cover `bytes` in all (see `kura_core::Reservation::cover`).
    pub(crate) async fn cover(&mut self, bytes: u64) -> ApiResult<()> {
        self.0.cover(bytes).await.map_err(|_| {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy receiving other uploads; please retry",
            );
            error.headers.push(("retry-after", RETRY_AFTER_SECS.to_string()));
            error
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_budget_is_a_503_with_retry_after() {
        let budget = BodyBudget::new(&kura_core::Limits {
            body_budget_mib: 1,
            body_budget_wait_secs: 0,
            ..kura_core::Limits::default()
        });
        let mut first = Reservation::new(&budget);
        first.cover(1 << 20).await.unwrap();
        let refused = Reservation::new(&budget).cover(1 << 20).await.map(|_| ()).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers.iter().any(|(name, _)| *name == "retry-after"));
    }
}
