//! Validation rules of the GraphQL spec that async-graphql does not apply.
//!
//! - Single root field (spec 5.2.3.1): a subscription selects exactly one
//!   root field, and not an introspection field. async-graphql would merge
//!   the streams of several, which no client can tell apart.

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
