//! What a document costs to answer, whatever way it is written.
//!
//! Fields are collected as execution collects them: fragments (named or
//! inline) are expanded in place and fields with the same response key are
//! merged, so moving fields into fragments, or writing one twice, changes
//! nothing. The cost then counts the objects the answer can hold:
//! - a scalar or enum field (and `__typename`) costs nothing, and a single
//!   object costs what its selection costs (it comes with its parent);
//! - a list costs 1 plus its selection;
//! - a field that takes `first` (a connection, or the event history) costs
//!   its page size (`first`, from the argument or its variable, else the
//!   field's default page) times 1 plus its selection.
//!
//! So one page of 100 nodes with all their scalars and a level of nested
//! objects costs a few hundred, while a page nested in a page multiplies the
//! two sizes and is refused. The document's cost is its costliest operation's.

use std::collections::HashSet;

use async_graphql::{
    parser::types::{
        ExecutableDocument, Field, FragmentDefinition, OperationType, Selection, SelectionSet,
    },
    registry::{MetaType, Registry},
    Name, Positioned, Variables,
};
use async_graphql_value::{ConstValue, Value};

use crate::page;
use crate::workroom::graphql::{EVENTS_DEFAULT, EVENTS_MAX};

/// The cost of the costliest operation of `doc`.
pub fn of_document(registry: &Registry, doc: &ExecutableDocument, variables: &Variables) -> usize {
    let walker = Walker { registry, doc };
    doc.operations
        .iter()
        .map(|(_, op)| {
            let root = match op.node.ty {
                OperationType::Query => Some(&registry.query_type),
                OperationType::Mutation => registry.mutation_type.as_ref(),
                OperationType::Subscription => registry.subscription_type.as_ref(),
            };
            let defaults = &op.node.variable_definitions;
            let first_of = |name: &Name| -> Option<i64> {
                if let Some(value) = variables.get(name) {
                    return as_int(value);
                }
                defaults
                    .iter()
                    .find(|d| d.node.name.node == *name)
                    .and_then(|d| d.node.default_value.as_ref())
                    .and_then(|v| as_int(&v.node))
            };
            walker.selection(
                root.map(String::as_str),
                &[&op.node.selection_set.node],
                &first_of,
            )
        })
        .max()
        .unwrap_or(0)
}

struct Walker<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
}

/// One response key's field, with every selection set written for it.
struct Merged<'a> {
    field: &'a Field,
    /// The type the field was selected on (a fragment's condition, or the parent).
    parent: Option<&'a str>,
    selections: Vec<&'a SelectionSet>,
}

impl<'a> Walker<'a> {
    fn selection(
        &self,
        ty: Option<&'a str>,
        sets: &[&'a SelectionSet],
        first_of: &dyn Fn(&Name) -> Option<i64>,
    ) -> usize {
        let mut merged: Vec<(&'a str, Merged<'a>)> = Vec::new();
        // A fragment spread twice among these sets holds the same fields
        // twice, which merge: it is looked into once.
        let mut seen = HashSet::new();
        for set in sets {
            self.collect(ty, set, &mut merged, &mut seen);
        }
        merged
            .iter()
            .map(|(_, m)| self.field(m, first_of))
            .fold(0usize, usize::saturating_add)
    }

    /// Adds the fields of `set` (fragments expanded) to `out` by response key.
    fn collect(
        &self,
        ty: Option<&'a str>,
        set: &'a SelectionSet,
        out: &mut Vec<(&'a str, Merged<'a>)>,
        seen: &mut HashSet<&'a str>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let f = &field.node;
                    let key = f.alias.as_ref().unwrap_or(&f.name).node.as_str();
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, m)) => m.selections.push(&f.selection_set.node),
                        None => out.push((
                            key,
                            Merged {
                                field: f,
                                parent: ty,
                                selections: vec![&f.selection_set.node],
                            },
                        )),
                    }
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let ty = inline
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(ty);
                    self.collect(ty, &inline.selection_set.node, out, seen);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some(fragment) = self.fragment(name) else {
                        continue;
                    };
                    if !seen.insert(name) {
                        continue;
                    }
                    let ty = Some(fragment.node.type_condition.node.on.node.as_str());
                    self.collect(ty, &fragment.node.selection_set.node, out, seen);
                }
            }
        }
    }

    fn fragment(&self, name: &str) -> Option<&'a Positioned<FragmentDefinition>> {
        self.doc.fragments.get(name)
    }

    fn field(&self, merged: &Merged<'a>, first_of: &dyn Fn(&Name) -> Option<i64>) -> usize {
        let field = merged.field;
        if field.name.node == "__typename" {
            return 0;
        }
        let meta = merged
            .parent
            .and_then(|p| self.registry.types.get(p))
            .and_then(|t| t.field_by_name(&field.name.node));
        let named = meta.map(|m| named_type(&m.ty));
        let leaf = named
            .and_then(|n| self.registry.types.get(n))
            .is_some_and(MetaType::is_leaf);
        if leaf {
            return 0;
        }
        let selection = self.selection(named, &merged.selections, first_of);
        let list = meta.is_none_or(|m| m.ty.contains('['));
        let paged = meta.is_some_and(|m| m.args.contains_key("first"));
        if !list && !paged {
            return selection;
        }
        let inner = 1usize.saturating_add(selection);
        if !paged {
            return inner;
        }
        let first = field
            .get_argument("first")
            .and_then(|v| match &v.node {
                Value::Variable(var) => first_of(var),
                literal => as_int(&literal.clone().into_const().unwrap_or_default()),
            })
            .and_then(|n| i32::try_from(n).ok());
        let (default, max) = match named {
            Some(name) if name.ends_with("Connection") => (page::DEFAULT_FIRST, page::MAX_FIRST),
            _ => (EVENTS_DEFAULT, EVENTS_MAX),
        };
        let size = first.unwrap_or(default).clamp(1, max) as usize;
        inner.saturating_mul(size)
    }
}

/// `[Task!]!` → `Task`.
fn named_type(ty: &str) -> &str {
    ty.trim_matches(|c| matches!(c, '[' | ']' | '!'))
}

fn as_int(value: &ConstValue) -> Option<i64> {
    match value {
        ConstValue::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::named_type;

    #[test]
    fn wrappers_are_stripped_to_the_named_type() {
        assert_eq!(named_type("[Task!]!"), "Task");
        assert_eq!(named_type("Workroom"), "Workroom");
        assert_eq!(named_type("[[Int]]"), "Int");
    }
}
