//! Parsed documents, kept by their text: an SPA sends the same few documents
//! over and over, and parsing one costs more than running it.
//!
//! Only a document that passed the checks that depend on its text alone (the
//! token count, the syntax, the alias, directive and depth counts) is kept,
//! so a hit skips them all; what depends on the variables or the caller (the
//! cost, U+0000 in variables, the budget) is checked on every request.
//!
//! The cache is bounded by two generations: hits in the older one move to
//! the newer, and when the newer is full the older is dropped. A stream of
//! one-off documents (or a hostile client) thus costs at most two full
//! generations of memory, and what is used often stays.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::parser::types::ExecutableDocument;

/// Documents per generation.
const GENERATION: usize = 512;
/// Longest document kept, in bytes: a larger one is parsed every time.
const MAX_TEXT: usize = 16 * 1024;

/// Parsed documents that passed the checks on their text.
#[derive(Default)]
pub struct DocumentCache {
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    newer: HashMap<Arc<str>, Arc<ExecutableDocument>>,
    older: HashMap<Arc<str>, Arc<ExecutableDocument>>,
}

impl DocumentCache {
    /// The document parsed from exactly `query`, if it is kept.
    pub fn get(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let mut generations = self.generations.lock().expect("document cache");
        if let Some(document) = generations.newer.get(query) {
            return Some(document.clone());
        }
        let (text, document) = generations.older.remove_entry(query)?;
        generations.promote(text, document.clone());
        Some(document)
    }

    /// Keeps `document`, parsed from `query` and found within the limits.
    pub fn put(&self, query: &str, document: Arc<ExecutableDocument>) {
        if query.len() > MAX_TEXT {
            return;
        }
        let mut generations = self.generations.lock().expect("document cache");
        generations.promote(Arc::from(query), document);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.generations.lock().expect("document cache");
        generations.newer.len() + generations.older.len()
    }
}

impl Generations {
    fn promote(&mut self, text: Arc<str>, document: Arc<ExecutableDocument>) {
        if self.newer.len() >= GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(text, document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(cache: &DocumentCache, query: &str) -> Arc<ExecutableDocument> {
        cache.get(query).unwrap_or_else(|| {
            let document = Arc::new(async_graphql::parser::parse_query(query).unwrap());
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
    fn the_cache_is_bounded_and_keeps_what_is_used() {
        let cache = DocumentCache::default();
        let hot = parsed(&cache, "{ hot }");
        for i in 0..GENERATION * 3 {
            parsed(&cache, &format!("{{ field{i} }}"));
            if i % (GENERATION / 2) == 0 {
                parsed(&cache, "{ hot }");
            }
        }
        assert!(cache.len() <= 2 * GENERATION);
        assert!(Arc::ptr_eq(&hot, &cache.get("{ hot }").unwrap()));
        assert!(cache.get("{ field0 }").is_none());
    }

    #[test]
    fn a_large_document_is_not_kept() {
        let cache = DocumentCache::default();
        let large = format!("{{ a {} }}", "b ".repeat(MAX_TEXT));
        parsed(&cache, &large);
        assert_eq!(cache.len(), 0);
    }
}
