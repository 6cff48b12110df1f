//! CPU-heavy rendering (Markdown, highlighting, diffs) runs on the blocking pool, at most one
//! job per core at a time, so a burst of expensive pages never takes the async workers that
//! answer everything else. A job waits at most `WAIT` for a slot; past it the page shows its
//! plain fallback instead of queueing more work.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a page waits for a free slot.
const WAIT: Duration = Duration::from_secs(2);

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Arc::new(Semaphore::new(cores.max(1)))
});

/// Runs `job` on the blocking pool once a slot is free; `None` when none was free in time
/// (or the job panicked).
pub(crate) async fn run<T, F>(job: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let permit = tokio::time::timeout(WAIT, SLOTS.clone().acquire_owned()).await.ok()?.ok()?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn jobs_run_off_the_async_workers_and_return_their_value() {
        let here = std::thread::current().id();
        let (value, there) = super::run(|| (41 + 1, std::thread::current().id())).await.unwrap();
        assert_eq!(value, 42);
        assert_ne!(here, there);
    }
}
