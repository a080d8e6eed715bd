//! What a document amounts to once its fragments are expanded, measured
//! without expanding them.
//!
//! A fragment may spread another twice, and that one the next twice: 23
//! such fragments in under a kilobyte expand to millions of fields, and
//! every pass that walks the expansion (validation, the cost, execution, the
//! order of the response) would double its work with each level. So before
//! anything expands a fragment, each fragment is measured once, bottom-up
//! over the spread graph (a DAG once a cycle is refused), and every
//! operation from those measures:
//! - `selections`: the nodes the expansion holds (each field, inline
//!   fragment and spread counts one), saturating rather than overflowing;
//! - `depth`: the deepest nesting of fields, counted through spreads and
//!   inline fragments (which add no level of their own);
//! - `nesting`: the deepest nesting of selection sets of any kind, fields,
//!   inline fragments and spreads alike, which is how deep every recursive
//!   pass goes.
//!
//! The whole measure is one pass over each definition plus one step per
//! spread: linear in the document, whatever it expands to.

use std::collections::HashMap;

use async_graphql::{
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    Name,
};

/// The expansion's size and depths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub selections: usize,
    pub depth: usize,
    pub nesting: usize,
}

/// Why a document cannot be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmeasurable {
    /// This fragment spreads itself, directly or through others.
    Cycle(Name),
}

/// The largest measure among the document's operations.
pub fn of_document(doc: &ExecutableDocument) -> Result<Measure, Unmeasurable> {
    let fragments = fragment_measures(doc)?;
    Ok(doc
        .operations
        .iter()
        .map(|(_, op)| Local::of(&op.node.selection_set.node).resolve(&fragments))
        .fold(Measure::default(), max_of))
}

/// What a selection set holds before its spreads are followed.
#[derive(Default)]
struct Local<'d> {
    own: Measure,
    /// Each spread, with the field depth and the nesting it sits at.
    spreads: Vec<(&'d Name, usize, usize)>,
}

impl<'d> Local<'d> {
    fn of(set: &'d SelectionSet) -> Local<'d> {
        let mut local = Local::default();
        local.walk(set, 0, 0);
        local
    }

    fn walk(&mut self, set: &'d SelectionSet, depth: usize, nesting: usize) {
        let nesting = nesting + 1;
        self.own.nesting = self.own.nesting.max(nesting);
        for item in &set.items {
            self.own.selections = self.own.selections.saturating_add(1);
            match &item.node {
                Selection::Field(field) => {
                    self.own.depth = self.own.depth.max(depth + 1);
                    let sub = &field.node.selection_set.node;
                    if !sub.items.is_empty() {
                        self.walk(sub, depth + 1, nesting);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.walk(&inline.node.selection_set.node, depth, nesting)
                }
                Selection::FragmentSpread(spread) => {
                    self.spreads
                        .push((&spread.node.fragment_name.node, depth, nesting))
                }
            }
        }
    }

    /// The measure with each spread replaced by its fragment's (an unknown
    /// fragment adds nothing: validation refuses it).
    fn resolve(&self, fragments: &HashMap<&Name, Measure>) -> Measure {
        self.spreads
            .iter()
            .filter_map(|(name, depth, nesting)| {
                let inner = fragments.get(name)?;
                Some(Measure {
                    selections: inner.selections,
                    depth: depth + inner.depth,
                    nesting: nesting + inner.nesting,
                })
            })
            .fold(self.own, |acc, m| Measure {
                selections: acc.selections.saturating_add(m.selections),
                ..max_of(acc, m)
            })
    }
}

fn max_of(a: Measure, b: Measure) -> Measure {
    Measure {
        selections: a.selections.max(b.selections),
        depth: a.depth.max(b.depth),
        nesting: a.nesting.max(b.nesting),
    }
}

/// Every fragment's measure, in an order where each comes after the
/// fragments it spreads (Kahn's algorithm, so no recursion follows a chain
/// of spreads however long).
fn fragment_measures(doc: &ExecutableDocument) -> Result<HashMap<&Name, Measure>, Unmeasurable> {
    let locals: HashMap<&Name, Local> = doc
        .fragments
        .iter()
        .map(|(name, f)| (name, Local::of(&f.node.selection_set.node)))
        .collect();
    // How many known fragments each one waits for, and who waits for it.
    let mut waiting: HashMap<&Name, usize> = HashMap::with_capacity(locals.len());
    let mut dependents: HashMap<&Name, Vec<&Name>> = HashMap::new();
    for (name, local) in &locals {
        let known = local
            .spreads
            .iter()
            .filter(|(s, ..)| locals.contains_key(s));
        let mut count = 0;
        for (spread, ..) in known {
            dependents.entry(*spread).or_default().push(*name);
            count += 1;
        }
        waiting.insert(*name, count);
    }
    let mut ready: Vec<&Name> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(name, _)| *name)
        .collect();
    let mut measures = HashMap::with_capacity(locals.len());
    while let Some(name) = ready.pop() {
        measures.insert(name, locals[name].resolve(&measures));
        for dependent in dependents.get(name).into_iter().flatten() {
            let count = waiting.get_mut(dependent).expect("every fragment waits");
            *count -= 1;
            if *count == 0 {
                ready.push(dependent);
            }
        }
    }
    if measures.len() < locals.len() {
        return Err(Unmeasurable::Cycle(in_a_cycle(&locals, &measures)));
    }
    Ok(measures)
}

/// A fragment on a cycle, among those left unmeasured: following unmeasured
/// spreads from any of them must come back round (each waits on another).
fn in_a_cycle(locals: &HashMap<&Name, Local>, measured: &HashMap<&Name, Measure>) -> Name {
    let unmeasured = |name: &Name| locals.contains_key(name) && !measured.contains_key(name);
    let mut names: Vec<&&Name> = locals.keys().filter(|n| unmeasured(n)).collect();
    names.sort();
    let mut at: &Name = names[0];
    let mut seen = std::collections::HashSet::new();
    while seen.insert(at) {
        at = locals[at]
            .spreads
            .iter()
            .map(|(s, ..)| *s)
            .find(|s| unmeasured(s))
            .expect("an unmeasured fragment waits on another");
    }
    at.clone()
}

#[cfg(test)]
mod tests;
