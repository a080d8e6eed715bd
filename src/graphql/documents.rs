//! Parsed documents, kept by their text: an SPA sends the same few documents
//! over and over, and parsing one costs more than running it.
//!
//! Only a document that passed the checks that depend on its text alone (the
//! token count, the syntax, the alias, directive and depth counts) is kept,
//! so a hit skips them all; what depends on the variables or the caller (the
//! cost, U+0000 in variables, the budget) is checked on every request.
//!
//! A document without variables costs the same and validates the same every
//! time, so its cost and its validation are kept with it once known.
//!
//! The cache is bounded by two generations: hits in the older one move to
//! the newer, and when the newer is full the older is dropped. A stream of
//! one-off documents (or a hostile client) thus costs at most two full
//! generations of memory, and what is used often stays.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::{parser::types::ExecutableDocument, ValidationResult};

/// A parsed document, and what is known of it whatever the request.
pub struct Parsed {
    pub document: ExecutableDocument,
    /// Without `$` anywhere, no variable can change what it costs or whether it is valid.
    constant: bool,
    cost: OnceLock<usize>,
    validation: OnceLock<ValidationResult>,
}

impl Parsed {
    pub fn new(query: &str, document: ExecutableDocument) -> Parsed {
        Parsed {
            document,
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

    /// The validation of a document without variables, once it passed.
    pub fn validated(&self) -> Option<ValidationResult> {
        self.validation.get().copied()
    }

    /// Keeps a passed validation, if no variable could change it.
    pub fn passed(&self, result: ValidationResult) {
        if self.constant {
            let _ = self.validation.set(result);
        }
    }
}

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
    newer: HashMap<Arc<str>, Arc<Parsed>>,
    older: HashMap<Arc<str>, Arc<Parsed>>,
}

impl DocumentCache {
    /// The document parsed from exactly `query`, if it is kept.
    pub fn get(&self, query: &str) -> Option<Arc<Parsed>> {
        let mut generations = self.generations.lock().expect("document cache");
        if let Some(document) = generations.newer.get(query) {
            return Some(document.clone());
        }
        let (text, document) = generations.older.remove_entry(query)?;
        generations.promote(text, document.clone());
        Some(document)
    }

    /// Keeps `document`, parsed from `query` and found within the limits.
    pub fn put(&self, query: &str, document: Arc<Parsed>) {
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
    fn promote(&mut self, text: Arc<str>, document: Arc<Parsed>) {
        if self.newer.len() >= GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(text, document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(cache: &DocumentCache, query: &str) -> Arc<Parsed> {
        cache.get(query).unwrap_or_else(|| {
            let document = async_graphql::parser::parse_query(query).unwrap();
            let document = Arc::new(Parsed::new(query, document));
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
    fn only_a_document_without_variables_keeps_its_cost_and_validation() {
        let result = ValidationResult {
            cache_control: Default::default(),
            complexity: 1,
            depth: 1,
        };
        let cache = DocumentCache::default();
        let constant = parsed(&cache, "{ workrooms(first: 5) { id } }");
        assert_eq!(constant.cost(|| 7), 7);
        assert_eq!(constant.cost(|| 9), 7);
        constant.passed(result);
        assert!(constant.validated().is_some());

        let variable = parsed(&cache, "query($n: Int) { workrooms(first: $n) { id } }");
        assert_eq!(variable.cost(|| 7), 7);
        assert_eq!(variable.cost(|| 9), 9);
        variable.passed(result);
        assert!(variable.validated().is_none());
    }

    #[test]
    fn a_large_document_is_not_kept() {
        let cache = DocumentCache::default();
        let large = format!("{{ a {} }}", "b ".repeat(MAX_TEXT));
        parsed(&cache, &large);
        assert_eq!(cache.len(), 0);
    }
}
