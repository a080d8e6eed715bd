//! Which variables a subscription's selection uses: those, with the
//! document and its operation, make its shape.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    parser::types::{DocumentOperations, FragmentDefinition, Selection, SelectionSet},
    Name, Positioned,
};

/// The variables the root field's selection set uses (its own arguments
/// excluded); `None` when the document cannot be read that way.
pub(super) fn used_variables(query: &str, operation: Option<&str>) -> Option<HashSet<String>> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let operation = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(&Name::new(name))?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    let root = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(field) => Some(field),
            _ => None,
        })?;
    let mut used = HashSet::new();
    let mut seen_fragments = HashSet::new();
    for directive in &root.node.directives {
        for (_, value) in &directive.node.arguments {
            collect(&value.node, &mut used);
        }
    }
    walk(
        &root.node.selection_set.node,
        &document.fragments,
        &mut used,
        &mut seen_fragments,
    );
    Some(used)
}

fn walk(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    used: &mut HashSet<String>,
    seen: &mut HashSet<Name>,
) {
    for selection in &set.items {
        let (directives, inner) = match &selection.node {
            Selection::Field(field) => {
                for (_, value) in &field.node.arguments {
                    collect(&value.node, used);
                }
                (&field.node.directives, Some(&field.node.selection_set.node))
            }
            Selection::InlineFragment(fragment) => (
                &fragment.node.directives,
                Some(&fragment.node.selection_set.node),
            ),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let inner = if seen.insert(name.clone()) {
                    fragments.get(name).map(|f| &f.node.selection_set.node)
                } else {
                    None
                };
                if let Some(fragment) = fragments.get(name) {
                    for directive in &fragment.node.directives {
                        for (_, value) in &directive.node.arguments {
                            collect(&value.node, used);
                        }
                    }
                }
                (&spread.node.directives, inner)
            }
        };
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                collect(&value.node, used);
            }
        }
        if let Some(inner) = inner {
            walk(inner, fragments, used, seen);
        }
    }
}

/// Adds the variables `value` names.
fn collect(value: &async_graphql_value::Value, used: &mut HashSet<String>) {
    let _ = value.clone().into_const_with(|name| {
        used.insert(name.to_string());
        Ok::<_, ()>(async_graphql::Value::Null)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(query: &str) -> Vec<String> {
        let mut names: Vec<_> = used_variables(query, None).unwrap().into_iter().collect();
        names.sort();
        names
    }

    #[test]
    fn the_root_fields_arguments_do_not_make_a_shape() {
        assert!(used("subscription($w: ID!, $a: Int) { workroomEvents(workroomId: $w, afterSeq: $a) { seq text } }").is_empty());
        assert_eq!(
            used("subscription($w: ID!, $t: Boolean!) { workroomEvents(workroomId: $w) { seq text @include(if: $t) } }"),
            vec!["t"]
        );
        assert_eq!(
            used("subscription($w: ID!, $x: Boolean!) { workroomEvents(workroomId: $w) { ...F } } fragment F on WorkroomEvent { kind @skip(if: $x) }"),
            vec!["x"]
        );
    }
}
