//! Parsed documents, kept by their text: an SPA sends the same few documents
//! over and over, and parsing one costs more than running it.
//!
//! Only a document that passed every check of its text (see
//! [`super::admission`]: the limits and validation) is kept, so a hit skips
//! them all, and a stream of documents that fail costs no memory. What
//! depends on the variables or the caller (the cost of a document with
//! variables, their coercion, U+0000 in them, the budget) is checked on
//! every request.
//!
//! The cache is bounded by bytes, in two generations: hits in the older one
//! move to the newer, and when the newer holds half the budget the older is
//! dropped. A document's syntax tree is reckoned at [`TREE_BYTES_PER_BYTE`]
//! times its text, the most measured (a document of 8,000 bare fields); a
//! stream of one-off documents (or a hostile client) thus holds at most the
//! budget, and what is used often stays.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::{parser::types::ExecutableDocument, ValidationResult};

use super::expansion::Measure;

/// A parsed document that passed the checks of its text, and what is known
/// of it whatever the request.
pub struct Parsed {
    pub document: ExecutableDocument,
    /// Its fragments expanded, what it amounts to.
    pub measure: Measure,
    /// Without `$` anywhere, no variable can change what it costs.
    constant: bool,
    cost: OnceLock<usize>,
    validation: OnceLock<ValidationResult>,
}

impl Parsed {
    pub fn new(query: &str, document: ExecutableDocument, measure: Measure) -> Parsed {
        Parsed {
            document,
            measure,
            constant: !query.contains('$'),
            cost: OnceLock::new(),
            validation: OnceLock::new(),
        }
    }

    /// The document's cost: kept for a document without variables, else `of` each time.
    pub fn cost(&self, of: impl FnOnce() -> usize) -> usize {
        if self.constant {
            *self.cost.get_or_init(of)
        } else {
            of()
        }
    }

    /// What the schema's own (fast) validation found: its cache control.
    pub fn validated(&self) -> Option<ValidationResult> {
        self.validation.get().copied()
    }

    /// Keeps it: no variable changes it.
    pub fn passed(&self, result: ValidationResult) {
        let _ = self.validation.set(result);
    }
}

/// Bytes of syntax tree reckoned per byte of a document's text: measured
/// from 43 (arguments and strings) to 106 (bare fields) with a counting
/// allocator.
pub const TREE_BYTES_PER_BYTE: usize = 110;
/// Longest document kept, in bytes: a larger one is parsed every time.
const MAX_TEXT: usize = 16 * 1024;

/// Parsed documents that passed the checks on their text, within a budget of bytes.
pub struct DocumentCache {
    budget: usize,
    generations: Mutex<Generations>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache::with_budget(DEFAULT_BUDGET)
    }
}

/// The default budget: 64 MiB, some 40 documents of the longest kept and
/// thousands of an SPA's.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Generations {
    newer: HashMap<Arc<str>, Arc<Parsed>>,
    newer_bytes: usize,
    older: HashMap<Arc<str>, Arc<Parsed>>,
}

fn reckoned(text: &str) -> usize {
    text.len().saturating_mul(TREE_BYTES_PER_BYTE)
}

impl DocumentCache {
    /// A cache holding at most `budget` bytes of documents (reckoned).
    pub fn with_budget(budget: usize) -> DocumentCache {
        DocumentCache {
            budget,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The document parsed from exactly `query`, if it is kept.
    pub fn get(&self, query: &str) -> Option<Arc<Parsed>> {
        let mut generations = self.generations.lock().expect("document cache");
        if let Some(document) = generations.newer.get(query) {
            return Some(document.clone());
        }
        let (text, document) = generations.older.remove_entry(query)?;
        generations.promote(text, document.clone(), self.budget / 2);
        Some(document)
    }

    /// Keeps `document`, parsed from `query` and found fit to run.
    pub fn put(&self, query: &str, document: Arc<Parsed>) {
        if query.len() > MAX_TEXT || reckoned(query) > self.budget / 2 {
            return;
        }
        let mut generations = self.generations.lock().expect("document cache");
        generations.promote(Arc::from(query), document, self.budget / 2);
    }

    /// Bytes held, as reckoned (both generations).
    pub fn bytes(&self) -> usize {
        let generations = self.generations.lock().expect("document cache");
        generations.newer_bytes + generations.older.keys().map(|t| reckoned(t)).sum::<usize>()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.generations.lock().expect("document cache");
        generations.newer.len() + generations.older.len()
    }
}

impl Generations {
    fn promote(&mut self, text: Arc<str>, document: Arc<Parsed>, half: usize) {
        let bytes = reckoned(&text);
        if self.newer_bytes + bytes > half {
            self.older = std::mem::take(&mut self.newer);
            self.newer_bytes = 0;
        }
        if self.newer.insert(text, document).is_none() {
            self.newer_bytes += bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(cache: &DocumentCache, query: &str) -> Arc<Parsed> {
        cache.get(query).unwrap_or_else(|| {
            let document = async_graphql::parser::parse_query(query).unwrap();
            let document = Arc::new(Parsed::new(query, document, Measure::default()));
            cache.put(query, document.clone());
            document
        })
    }

    #[test]
    fn a_document_is_kept_by_its_text() {
        let cache = DocumentCache::default();
        let first = parsed(&cache, "{ viewer { user { id } } }");
        let second = parsed(&cache, "{ viewer { user { id } } }");
        assert!(Arc::ptr_eq(&first, &second));
        assert!(cache.get("{ viewer { user { id name } } }").is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded_by_bytes_and_keeps_what_is_used() {
        // Room for about 100 of these documents in each generation.
        let one = reckoned("{ field000 }");
        let cache = DocumentCache::with_budget(200 * one);
        let hot = parsed(&cache, "{ hot }");
        for i in 0..1_000 {
            parsed(&cache, &format!("{{ field{i:03} }}"));
            assert!(cache.bytes() <= 200 * one, "over budget after {i}");
            if i % 50 == 0 {
                parsed(&cache, "{ hot }");
            }
        }
        assert!(cache.len() <= 200);
        assert!(Arc::ptr_eq(&hot, &cache.get("{ hot }").unwrap()));
        assert!(cache.get("{ field000 }").is_none());
    }

    #[test]
    fn only_a_document_without_variables_keeps_its_cost() {
        let cache = DocumentCache::default();
        let constant = parsed(&cache, "{ workrooms(first: 5) { id } }");
        assert_eq!(constant.cost(|| 7), 7);
        assert_eq!(constant.cost(|| 9), 7);
        let variable = parsed(&cache, "query($n: Int) { workrooms(first: $n) { id } }");
        assert_eq!(variable.cost(|| 7), 7);
        assert_eq!(variable.cost(|| 9), 9);
    }

    #[test]
    fn a_large_document_is_not_kept() {
        let cache = DocumentCache::default();
        let large = format!("{{ a {} }}", "b ".repeat(MAX_TEXT));
        parsed(&cache, &large);
        assert_eq!(cache.len(), 0);
        let tight = DocumentCache::with_budget(10);
        parsed(&tight, "{ a }");
        assert_eq!(tight.len(), 0, "a document larger than half the budget");
    }
}
