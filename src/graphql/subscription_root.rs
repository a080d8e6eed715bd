//! A subscription's root field written out where async-graphql looks for it.
//!
//! async-graphql starts a subscription's stream only for the fields written
//! directly in its root selection set: one reached through a fragment
//! (`subscription { ...Root }`), named or inline, is valid GraphQL but
//! would stream nothing. So once a document is admitted, each subscription's
//! root selection is rewritten as the fields it collects to, those of one
//! response key merged into one (validation guarantees they can merge: same
//! field, same arguments), which is what the spec's CollectFields gives.

use std::collections::HashSet;

use async_graphql::{
    parser::types::{
        DocumentOperations, ExecutableDocument, Field, FragmentDefinition, OperationDefinition,
        OperationType, Selection, SelectionSet,
    },
    Name, Positioned,
};

/// Rewrites every subscription's root selection of `doc` as plain fields.
pub fn write_out(doc: &mut ExecutableDocument) {
    let ExecutableDocument {
        operations,
        fragments,
    } = doc;
    let operations: Vec<&mut Positioned<OperationDefinition>> = match operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values_mut().collect(),
    };
    for op in operations {
        let root = &mut op.node.selection_set;
        let plain = root
            .node
            .items
            .iter()
            .all(|item| matches!(item.node, Selection::Field(_)));
        if op.node.ty != OperationType::Subscription || plain {
            continue;
        }
        let mut fields: Vec<Positioned<Field>> = Vec::new();
        collect(&root.node, fragments, &mut fields, &mut HashSet::new());
        root.node.items = fields
            .into_iter()
            .map(|field| Positioned::new(Selection::Field(field.clone()), field.pos))
            .collect();
    }
}

/// The fields of `set`, through its fragments, one per response key.
fn collect(
    set: &SelectionSet,
    fragments: &std::collections::HashMap<Name, Positioned<FragmentDefinition>>,
    fields: &mut Vec<Positioned<Field>>,
    seen: &mut HashSet<Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                match fields
                    .iter_mut()
                    .find(|f| f.node.response_key().node == *key)
                {
                    Some(merged) => merged
                        .node
                        .selection_set
                        .node
                        .items
                        .extend(field.node.selection_set.node.items.iter().cloned()),
                    None => fields.push(field.clone()),
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, fragments, fields, seen)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if let Some(fragment) = fragments.get(name) {
                    if seen.insert(name.clone()) {
                        collect(&fragment.node.selection_set.node, fragments, fields, seen);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(query: &str) -> Vec<(String, usize)> {
        let mut doc = async_graphql::parser::parse_query(query).unwrap();
        write_out(&mut doc);
        let (_, op) = doc.operations.iter().next().unwrap();
        op.node
            .selection_set
            .node
            .items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => (
                    f.node.response_key().node.to_string(),
                    f.node.selection_set.node.items.len(),
                ),
                _ => panic!("not written out"),
            })
            .collect()
    }

    #[test]
    fn a_root_field_in_fragments_is_written_out_and_merged() {
        assert_eq!(
            root_of(
                "subscription S { ...Root } fragment Root on Subscription { credits { balance } }"
            ),
            [("credits".to_owned(), 1)]
        );
        assert_eq!(
            root_of("subscription { ... { credits { balance } } credits { reserved } ...R } fragment R on Subscription { credits { available } }"),
            [("credits".to_owned(), 3)]
        );
        assert_eq!(
            root_of("subscription { credits { balance } }"),
            [("credits".to_owned(), 1)]
        );
    }
}
