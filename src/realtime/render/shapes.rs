//! The shapes of a workroom's watchers, each keeping the payloads it
//! rendered so its other watchers reuse them, and only those: a render that
//! failed is tried again a few times, then its watchers are told it failed.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    time::Duration,
};

use entity::workroom_event;

use super::Template;
use crate::error::{AppError, AppResult};

/// Rendered payloads a shape keeps, by count and by bytes; the oldest go first.
const KEEP: usize = 512;
const KEEP_BYTES: usize = 1 << 20;
/// Attempts at rendering one batch before its watchers are told it failed:
/// a database error of a moment (a field that loads the actor) passes.
const ATTEMPTS: u32 = 3;
/// The wait after the first failed attempt, doubled after each next one:
/// short, because every watcher of the shape waits for it.
const BACKOFF: Duration = Duration::from_millis(50);

/// The shapes of one workroom's live watchers.
#[derive(Default)]
pub struct Shapes {
    shapes: Mutex<HashMap<u64, Weak<Shape>>>,
}

impl Shapes {
    /// The shape of `template`, shared with every watcher that has the same.
    pub fn shape(&self, template: Template) -> Arc<Shape> {
        let key = template.key();
        let mut shapes = self.shapes.lock().expect("shapes lock");
        if let Some(shape) = shapes.get(&key).and_then(Weak::upgrade) {
            return shape;
        }
        shapes.retain(|_, shape| shape.strong_count() > 0);
        let shape = Arc::new(Shape {
            template,
            rendered: Default::default(),
            failures: AtomicU64::new(0),
        });
        shapes.insert(key, Arc::downgrade(&shape));
        shape
    }

    /// How many distinct shapes are live.
    pub fn live(&self) -> usize {
        let shapes = self.shapes.lock().expect("shapes lock");
        shapes.values().filter(|s| s.strong_count() > 0).count()
    }
}

/// One way of rendering events, and the payloads rendered so far.
pub struct Shape {
    template: Template,
    /// Held while rendering, so watchers asking for one event render it once.
    rendered: tokio::sync::Mutex<Rendered>,
    /// Renders that failed after every attempt, counted under the lock: a
    /// watcher that waited for the lock while one failed takes that answer
    /// instead of trying again, so the shape's watchers do not retry it each in turn.
    failures: AtomicU64,
}

impl Shape {
    /// The payloads of `rows`, rendering those no watcher of this shape
    /// rendered yet; INTERNAL when they could not be rendered.
    pub async fn payloads(&self, rows: &[Arc<workroom_event::Model>]) -> AppResult<Vec<Arc<str>>> {
        let failures = self.failures.load(Ordering::Acquire);
        let mut rendered = self.rendered.lock().await;
        let missing: Vec<_> = rows
            .iter()
            .filter(|row| !rendered.has(row.seq))
            .cloned()
            .collect();
        let mut fresh = Vec::new();
        if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
            let seqs = (first.seq, last.seq);
            if self.failures.load(Ordering::Acquire) != failures {
                if let Some(cause) = rendered.failed(seqs) {
                    return Err(render_failed(
                        seqs,
                        &format!("{cause} (for another watcher, just now)"),
                    ));
                }
            }
            // Boxed: a watcher's future stays small; rendering happens once per event and shape.
            let render = || Box::pin(self.template.render(missing.clone()));
            match attempts(render, seqs).await {
                Ok(payloads) => fresh = missing.iter().map(|row| row.seq).zip(payloads).collect(),
                Err(cause) => {
                    rendered.last_failure = Some((seqs, cause.clone()));
                    self.failures.fetch_add(1, Ordering::AcqRel);
                    return Err(render_failed(seqs, &cause));
                }
            }
        }
        let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
        Ok(rendered.answer(&seqs, fresh))
    }
}

/// The error a watcher of events that could not be rendered is told (and logs).
fn render_failed((first, last): (i64, i64), cause: &str) -> AppError {
    AppError::Internal(format!(
        "rendering events {first} to {last} failed: {cause}"
    ))
}

/// `render`'s result, trying it [`ATTEMPTS`] times with a growing pause
/// between; the last attempt's cause when none succeeded.
async fn attempts<T, F>(
    mut render: impl FnMut() -> F,
    (first, last): (i64, i64),
) -> Result<T, String>
where
    F: Future<Output = Result<T, String>>,
{
    let mut pause = BACKOFF;
    let mut attempt = 1;
    loop {
        match render().await {
            Ok(done) => return Ok(done),
            Err(cause) if attempt < ATTEMPTS => {
                tracing::warn!(%cause, attempt, first, last, "rendering events failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            Err(cause) => return Err(format!("{cause} ({attempt} attempts)")),
        }
    }
}

/// The most recent payloads of a shape, by seq.
#[derive(Default)]
struct Rendered {
    payloads: BTreeMap<i64, Arc<str>>,
    /// The lengths of `payloads` together.
    bytes: usize,
    /// The first and last seq of the latest render that failed, and why.
    last_failure: Option<((i64, i64), String)>,
}

impl Rendered {
    fn has(&self, seq: i64) -> bool {
        self.payloads.contains_key(&seq)
    }

    /// Why the latest failed render failed, if it had any of the seqs `first..=last`.
    fn failed(&self, (first, last): (i64, i64)) -> Option<&str> {
        let ((from, to), cause) = self.last_failure.as_ref()?;
        (first <= *to && *from <= last).then_some(cause.as_str())
    }

    /// The payloads of `seqs`, once `fresh` ones are added; then keeps the
    /// newest within [`KEEP`] and [`KEEP_BYTES`].
    fn answer(&mut self, seqs: &[i64], fresh: Vec<(i64, Arc<str>)>) -> Vec<Arc<str>> {
        for (seq, payload) in fresh {
            self.bytes += payload.len();
            if let Some(replaced) = self.payloads.insert(seq, payload) {
                self.bytes -= replaced.len();
            }
        }
        // Taken before the trim, which may drop some of them.
        let answer = seqs.iter().map(|seq| self.payloads[seq].clone()).collect();
        while self.payloads.len() > KEEP || self.bytes > KEEP_BYTES {
            match self.payloads.pop_first() {
                Some((_, oldest)) => self.bytes -= oldest.len(),
                None => break,
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[tokio::test]
    async fn a_render_that_fails_for_a_moment_is_tried_again() {
        let tries = AtomicU32::new(0);
        let render = || {
            let attempt = tries.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                if attempt < ATTEMPTS {
                    Err(format!("attempt {attempt} failed"))
                } else {
                    Ok(attempt)
                }
            }
        };
        assert_eq!(attempts(render, (1, 2)).await, Ok(ATTEMPTS));
    }

    #[tokio::test]
    async fn a_render_that_keeps_failing_gives_up_after_a_few_short_pauses() {
        let tries = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let render = || {
            tries.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>("the database is gone".to_owned()) }
        };
        let cause = attempts(render, (1, 2)).await.unwrap_err();
        assert_eq!(tries.load(Ordering::Relaxed), ATTEMPTS);
        assert!(cause.starts_with("the database is gone"), "{cause}");
        let paused = started.elapsed();
        assert!(
            paused >= BACKOFF * 3 && paused < Duration::from_secs(2),
            "{paused:?}"
        );
    }

    #[test]
    fn a_failure_is_shared_only_with_renders_of_its_events() {
        let rendered = Rendered {
            last_failure: Some(((10, 20), "gone".into())),
            ..Default::default()
        };
        assert_eq!(rendered.failed((20, 30)), Some("gone"));
        assert_eq!(rendered.failed((1, 10)), Some("gone"));
        assert_eq!(rendered.failed((21, 30)), None);
        assert!(!rendered.has(15), "nothing of a failed render is kept");
    }

    #[test]
    fn a_batch_is_answered_whole_even_when_the_cache_trims_it() {
        let payload = |seq: i64| -> (i64, Arc<str>) { (seq, Arc::from(seq.to_string())) };
        let mut rendered = Rendered::default();
        // Live events, then a watcher's replay from the start.
        rendered.answer(&[], (1001..=1100).map(payload).collect());
        rendered.answer(&[], (1..=500).map(payload).collect());
        // Another replay from 51: most of it is cached, the rest is rendered,
        // and the trim that follows drops cached seqs of this very batch.
        let seqs: Vec<i64> = (51..=550).collect();
        let missing = seqs.iter().copied().filter(|seq| !rendered.has(*seq));
        let answer = rendered.answer(&seqs, missing.map(payload).collect());
        let expected: Vec<String> = seqs.iter().map(i64::to_string).collect();
        assert_eq!(
            answer.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(rendered.payloads.len(), KEEP);
        assert!(rendered.has(1100) && rendered.has(550));
    }

    #[test]
    fn what_a_shape_keeps_is_bounded_by_bytes() {
        let large = |seq: i64| -> (i64, Arc<str>) { (seq, Arc::from("x".repeat(100_000))) };
        let mut rendered = Rendered::default();
        let answer = rendered.answer(&[1, 2, 3], (1..=3).map(large).collect());
        assert_eq!(answer.len(), 3);
        rendered.answer(&[], (4..=40).map(large).collect());
        assert_eq!(rendered.bytes, KEEP_BYTES / 100_000 * 100_000);
        assert!(rendered.has(40) && !rendered.has(1));
        let kept: usize = rendered.payloads.values().map(|p| p.len()).sum();
        assert_eq!(kept, rendered.bytes);
    }
}
