//! How many exports one instance renders at once.
//!
//! Rendering a PDF or DOCX is CPU-bound work on the blocking pool; without
//! a bound a burst of exports would take every core and stall the requests
//! around them. Renders past the bound wait their turn, for at most
//! [`QUEUE_WAIT`], then are refused with RATE_LIMITED. The permit goes
//! into the blocking task, so a render whose request was dropped still
//! counts until it has finished.

use std::{sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// The longest an export waits for a render slot before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(30);

pub struct Renders {
    permits: Arc<Semaphore>,
    at_once: usize,
    wait: Duration,
}

impl Renders {
    /// `at_once` renders at a time (unset: half the cores, at least 1).
    pub fn new(at_once: Option<u64>) -> Renders {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let at_once = at_once.map_or(cores / 2, |n| n as usize).max(1);
        Renders::bounded(at_once, QUEUE_WAIT)
    }

    fn bounded(at_once: usize, wait: Duration) -> Renders {
        Renders {
            permits: Arc::new(Semaphore::new(at_once)),
            at_once,
            wait,
        }
    }

    /// How many renders run at once.
    pub fn at_once(&self) -> usize {
        self.at_once
    }

    /// Runs `render` on the blocking pool once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        render: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                AppError::RateLimited(format!(
                    "this server is busy rendering exports; try again in {} s",
                    self.wait.as_secs().max(1)
                ))
            })?
            .map_err(|e| AppError::internal(&e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            render()
        })
        .await
        .map_err(|e| AppError::internal(&e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Runs `count` renders of `each` at once; the most seen running together.
    async fn busiest(renders: Arc<Renders>, count: usize, each: Duration) -> usize {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let (renders, running, most) = (renders.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    renders
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(each);
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().expect("every render ran");
        }
        most.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_bound_render_at_once_and_the_rest_wait_their_turn() {
        let renders = Arc::new(Renders::bounded(2, Duration::from_secs(10)));
        assert_eq!(
            busiest(renders, 6, Duration::from_millis(40)).await,
            2,
            "six renders, two at a time"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_render_that_cannot_start_in_time_is_refused_as_rate_limited() {
        let renders = Arc::new(Renders::bounded(1, Duration::from_millis(50)));
        let slow = {
            let renders = renders.clone();
            tokio::spawn(async move {
                renders
                    .run(|| std::thread::sleep(Duration::from_millis(400)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = renders.run(|| ()).await.unwrap_err();
        assert_eq!(refused.code(), "RATE_LIMITED");
        slow.await.unwrap().unwrap();
        renders
            .run(|| ())
            .await
            .expect("a free slot is taken at once");
    }

    #[test]
    fn unset_the_bound_is_half_the_cores_and_never_zero() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(Renders::new(None).at_once(), (cores / 2).max(1));
        assert_eq!(Renders::new(Some(3)).at_once(), 3);
    }
}
