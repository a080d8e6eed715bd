//! Checks on a parsed document before validation: the alias and directive
//! counts against the limits, the refusal of strings holding U+0000, and
//! whether the document asks for introspection.

use async_graphql::{
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
    Positioned, ServerResult, Variables,
};
use async_graphql_value::{ConstValue, Value};

use super::limits::{request_error, BAD_USER_INPUT, VALIDATION_FAILED};
use crate::config::Limits;

/// Refuses a variable holding U+0000 anywhere (see [`refuse_nul_literals`]).
pub(super) fn refuse_nul_variables(variables: &Variables) -> ServerResult<()> {
    if variables.values().any(holds_nul) {
        return Err(nul_refused());
    }
    Ok(())
}

fn nul_refused() -> async_graphql::ServerError {
    request_error(
        "strings may not contain the NUL character (U+0000)",
        BAD_USER_INPUT,
    )
}

fn holds_nul(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(s) => s.contains('\0'),
        ConstValue::List(items) => items.iter().any(holds_nul),
        ConstValue::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Refuses any string literal holding U+0000: PostgreSQL text cannot store
/// it, and no field has a use for it. Checked here once (and before
/// validation, like a limit), so every field and both databases answer alike.
pub(super) fn refuse_nul_literals(doc: &ExecutableDocument) -> ServerResult<()> {
    fn literal_holds_nul(value: &Value) -> bool {
        let literal = value
            .clone()
            .into_const_with(|_| Ok::<_, std::convert::Infallible>(ConstValue::Null));
        literal.is_ok_and(|v| holds_nul(&v))
    }
    fn set_holds_nul(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                field
                    .node
                    .arguments
                    .iter()
                    .any(|(_, v)| literal_holds_nul(&v.node))
                    || directives_hold_nul(&field.node.directives)
                    || set_holds_nul(&field.node.selection_set.node)
            }
            Selection::InlineFragment(inline) => {
                directives_hold_nul(&inline.node.directives)
                    || set_holds_nul(&inline.node.selection_set.node)
            }
            Selection::FragmentSpread(spread) => directives_hold_nul(&spread.node.directives),
        })
    }
    fn directives_hold_nul(directives: &[Positioned<Directive>]) -> bool {
        directives.iter().any(|d| {
            d.node
                .arguments
                .iter()
                .any(|(_, v)| literal_holds_nul(&v.node))
        })
    }
    let in_operations = doc.operations.iter().any(|(_, op)| {
        directives_hold_nul(&op.node.directives)
            || op.node.variable_definitions.iter().any(|v| {
                v.node
                    .default_value
                    .as_ref()
                    .is_some_and(|d| holds_nul(&d.node))
            })
            || set_holds_nul(&op.node.selection_set.node)
    });
    let in_fragments = doc.fragments.values().any(|f| {
        directives_hold_nul(&f.node.directives) || set_holds_nul(&f.node.selection_set.node)
    });
    if in_operations || in_fragments {
        return Err(nul_refused());
    }
    Ok(())
}

/// Checks the aliases (with `__typename`) and directives of a parsed document,
/// as written: fragments are counted once, where they are defined.
pub fn check_shape(doc: &ExecutableDocument, limits: &Limits) -> ServerResult<()> {
    let mut counts = Counts::default();
    for (_, op) in doc.operations.iter() {
        counts.directives += op.node.directives.len();
        counts.directives += op
            .node
            .variable_definitions
            .iter()
            .map(|v| v.node.directives.len())
            .sum::<usize>();
        counts.walk(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        counts.directives += fragment.node.directives.len();
        counts.walk(&fragment.node.selection_set.node);
    }
    within(
        counts.aliases,
        limits.max_aliases,
        "aliases (each __typename counts)",
    )?;
    within(counts.directives, limits.max_directives, "directives")?;
    // The grammar has no fragment named `on` (`...on` opens an inline
    // fragment), though async-graphql's parser takes one.
    if counts.spreads_on || doc.fragments.keys().any(|name| name == "on") {
        return Err(request_error(
            "Syntax error: a fragment cannot be named \"on\"",
            super::limits::PARSE_FAILED,
        ));
    }
    Ok(())
}

/// The one error of a document over a limit.
pub(super) fn within(found: usize, max: usize, what: &str) -> ServerResult<()> {
    if found > max {
        let message = format!("the document has {found} {what}; at most {max} are allowed");
        return Err(request_error(message, VALIDATION_FAILED));
    }
    Ok(())
}

/// Whether the document asks for `__schema` or `__type` anywhere.
pub(super) fn selects_introspection(doc: &ExecutableDocument) -> bool {
    fn walk(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => {
                matches!(f.node.name.node.as_str(), "__schema" | "__type")
                    || walk(&f.node.selection_set.node)
            }
            Selection::InlineFragment(inline) => walk(&inline.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(&op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| walk(&f.node.selection_set.node))
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
    /// A spread of a fragment named `on` was written.
    spreads_on: bool,
}

impl Counts {
    /// Counts what is written in a selection set (fragments are counted once, where defined).
    fn walk(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let f = &field.node;
                    if f.alias.is_some() || f.name.node == "__typename" {
                        self.aliases += 1;
                    }
                    self.directives += f.directives.len();
                    self.walk(&f.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives += spread.node.directives.len();
                    self.spreads_on |= spread.node.fragment_name.node == "on";
                }
                Selection::InlineFragment(inline) => {
                    self.directives += inline.node.directives.len();
                    self.walk(&inline.node.selection_set.node);
                }
            }
        }
    }
}
