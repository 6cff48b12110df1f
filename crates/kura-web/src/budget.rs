//! The web edge's side of the server's one body budget (`kura_core::BodyBudget`): the upload
//! form holds the inline files of its commit in memory until the commit is written, so it
//! reserves those bytes in the same budget the API's bodies use, and answers 503 when other
//! uploads hold it all.

use axum::http::StatusCode;
use kura_core::{BodyBudget, UNCOUNTED_BYTES};

use crate::error::{WebError, WebResult};

/// What one request holds; released when dropped.
pub(crate) struct Held(kura_core::Reservation);

impl Held {
    pub(crate) fn new(budget: &BodyBudget) -> Self {
        Self(kura_core::Reservation::new(budget))
    }

    /// Makes the reservation cover `bytes` in all; small bodies are not counted.
    pub(crate) async fn cover(&mut self, bytes: u64) -> WebResult<()> {
        if bytes <= UNCOUNTED_BYTES {
            return Ok(());
        }
        self.0.cover(bytes).await.map_err(|_| {
            WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy receiving other uploads; please try again in a moment.",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_bodies_are_free_and_a_full_budget_is_a_503() {
        let budget = BodyBudget::new(&kura_core::Limits {
            body_budget_mib: 4,
            body_budget_wait_secs: 0,
            ..kura_core::Limits::default()
        });
        let mut first = Held::new(&budget);
        first.cover(UNCOUNTED_BYTES / 2).await.unwrap();
        assert_eq!(budget.available_mib(), 4, "small bodies are not counted");
        first.cover(3 << 20).await.unwrap();
        assert_eq!(budget.available_mib(), 1);
        let refused = Held::new(&budget).cover(2 << 20).await.map(|_| ()).unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
