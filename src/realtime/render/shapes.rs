//! The shapes of a workroom's watchers, each keeping the payloads it
//! rendered so its other watchers reuse them.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, Weak},
};

use entity::workroom_event;
use serde_json::Value;

use super::Template;

/// Rendered payloads a shape keeps, newest first out.
const KEEP: usize = 512;

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
}

impl Shape {
    /// The payloads of `rows`, rendering those no watcher of this shape rendered yet.
    pub async fn payloads(
        &self,
        rows: &[Arc<workroom_event::Model>],
    ) -> Result<Vec<Arc<str>>, Value> {
        let mut rendered = self.rendered.lock().await;
        let missing: Vec<_> = rows
            .iter()
            .filter(|row| !rendered.has(row.seq))
            .cloned()
            .collect();
        let mut fresh = Vec::new();
        if !missing.is_empty() {
            let seqs: Vec<i64> = missing.iter().map(|row| row.seq).collect();
            // Boxed: a watcher's future stays small; rendering happens once per event and shape.
            let payloads = Box::pin(self.template.render(missing)).await?;
            fresh = seqs.into_iter().zip(payloads).collect();
        }
        let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
        Ok(rendered.answer(&seqs, fresh))
    }
}

/// The most recent payloads of a shape, by seq.
#[derive(Default)]
struct Rendered {
    payloads: BTreeMap<i64, Arc<str>>,
}

impl Rendered {
    fn has(&self, seq: i64) -> bool {
        self.payloads.contains_key(&seq)
    }

    /// The payloads of `seqs`, once `fresh` ones are added; then keeps the newest [`KEEP`].
    fn answer(&mut self, seqs: &[i64], fresh: Vec<(i64, Arc<str>)>) -> Vec<Arc<str>> {
        self.payloads.extend(fresh);
        // Taken before the trim, which may drop some of them.
        let answer = seqs.iter().map(|seq| self.payloads[seq].clone()).collect();
        while self.payloads.len() > KEEP {
            self.payloads.pop_first();
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
