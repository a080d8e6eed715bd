//! Validation rules of the GraphQL spec that async-graphql does not apply.
//!
//! - Single root field (spec 5.2.3.1): a subscription selects exactly one
//!   root field, and not an introspection field. async-graphql would merge
//!   the streams of several, which no client can tell apart.
//! - No fragment cycles (spec 5.5.2.2): async-graphql stops such a document
//!   at its recursion limit while parsing; it is valid syntax, so the answer
//!   must be a validation error naming the fragment.

use std::collections::HashSet;

use async_graphql::{
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
    Name, ServerResult,
};

use super::limits::{request_error, VALIDATION_FAILED};

/// Refuses a subscription that does not select exactly one non-introspection root field.
pub fn single_root_field(doc: &ExecutableDocument) -> ServerResult<()> {
    for (name, op) in doc.operations.iter() {
        if op.node.ty != OperationType::Subscription {
            continue;
        }
        let mut keys = HashSet::new();
        let mut introspection = false;
        collect(
            &op.node.selection_set.node,
            doc,
            &mut keys,
            &mut introspection,
            &mut HashSet::new(),
        );
        let subscription = match name {
            Some(name) => format!("Subscription \"{name}\""),
            None => "Anonymous Subscription".to_owned(),
        };
        if keys.len() != 1 {
            return Err(request_error(
                format!("{subscription} must select only one top level field."),
                VALIDATION_FAILED,
            ));
        }
        if introspection {
            return Err(request_error(
                format!("{subscription} must not select an introspection top level field."),
                VALIDATION_FAILED,
            ));
        }
    }
    Ok(())
}

/// A fragment that spreads itself, directly or through others.
pub fn fragment_cycle(doc: &ExecutableDocument) -> Option<Name> {
    fn spreads(set: &SelectionSet, out: &mut Vec<Name>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => spreads(&field.node.selection_set.node, out),
                Selection::InlineFragment(inline) => spreads(&inline.node.selection_set.node, out),
                Selection::FragmentSpread(spread) => {
                    out.push(spread.node.fragment_name.node.clone())
                }
            }
        }
    }
    /// Depth-first from `name`: the fragment the walk comes back to, if any.
    fn cycles(
        doc: &ExecutableDocument,
        name: &Name,
        path: &mut Vec<Name>,
        done: &mut HashSet<Name>,
    ) -> Option<Name> {
        if path.contains(name) {
            return Some(name.clone());
        }
        if done.contains(name) {
            return None;
        }
        let fragment = doc.fragments.get(name)?;
        let mut next = Vec::new();
        spreads(&fragment.node.selection_set.node, &mut next);
        path.push(name.clone());
        let found = next.iter().find_map(|n| cycles(doc, n, path, done));
        path.pop();
        done.insert(name.clone());
        found
    }
    let mut done = HashSet::new();
    let mut names: Vec<&Name> = doc.fragments.keys().collect();
    names.sort();
    names
        .into_iter()
        .find_map(|name| cycles(doc, name, &mut Vec::new(), &mut done))
}

/// The response keys of a root selection set, through its fragments.
fn collect(
    set: &SelectionSet,
    doc: &ExecutableDocument,
    keys: &mut HashSet<Name>,
    introspection: &mut bool,
    seen: &mut HashSet<Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                *introspection |= field.node.name.node.starts_with("__");
                keys.insert(field.node.response_key().node.clone());
            }
            Selection::InlineFragment(inline) => collect(
                &inline.node.selection_set.node,
                doc,
                keys,
                introspection,
                seen,
            ),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if let Some(fragment) = doc
                    .fragments
                    .get(name)
                    .filter(|_| seen.insert(name.clone()))
                {
                    collect(
                        &fragment.node.selection_set.node,
                        doc,
                        keys,
                        introspection,
                        seen,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        single_root_field(&doc).map_err(|e| e.message)
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_found_however_far_round() {
        let cycle = |q: &str| fragment_cycle(&async_graphql::parser::parse_query(q).unwrap());
        assert_eq!(
            cycle("{ ...A } fragment A on Query { ...A }").as_deref(),
            Some("A")
        );
        assert_eq!(
            cycle("{ ...A } fragment A on Query { viewer { ...B } } fragment B on Viewer { ... on Viewer { ...C } } fragment C on Viewer { user { id } ...B }").as_deref(),
            Some("B")
        );
        assert_eq!(
            cycle(
                "{ ...A ...B } fragment A on Query { ...B } fragment B on Query { plans { plan } }"
            ),
            None
        );
    }

    #[test]
    fn a_subscription_selects_exactly_one_root_field() {
        assert!(check("subscription { credits { balance } }").is_ok());
        assert!(check("subscription S { ... on Subscription { credits { balance } } }").is_ok());
        assert!(check("subscription { a: credits { balance } a: credits { reserved } }").is_ok());
        assert!(
            check("{ viewer { user { id } } plans { plan } }").is_ok(),
            "queries are not concerned"
        );
        assert_eq!(
            check("subscription { credits { balance } activity { id } }").unwrap_err(),
            "Anonymous Subscription must select only one top level field."
        );
        assert_eq!(
            check("subscription Both { ...F } fragment F on Subscription { credits { balance } activity { id } }").unwrap_err(),
            "Subscription \"Both\" must select only one top level field."
        );
        assert!(check("subscription { __typename }")
            .unwrap_err()
            .contains("introspection"));
    }
}
