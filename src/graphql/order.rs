//! Response fields in the order they were selected (GraphQL spec 7.1.2,
//! "Serialized Map Ordering").
//!
//! async-graphql resolves an object's fields concurrently and keeps them in
//! the order they finish, so the same request could come back with its keys
//! in a different order each time (bad for humans reading it, for byte-wise
//! caches and ETags, and for clients that parse in a streaming way). After
//! execution each object is put back in the order of the fields that select
//! it: the first appearance of each response key, following fragment spreads
//! and inline fragments in place, as CollectFields does.

use async_graphql::{
    indexmap::IndexMap,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    Name, Value,
};

/// Orders `data`, the result of the operation `operation_name` of `doc`.
pub fn order(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    if let Some((_, root)) = super::nulls::operation(doc, operation_name) {
        order_by(data, &[root], doc);
    }
}

fn order_by(value: &mut Value, sets: &[&SelectionSet], doc: &ExecutableDocument) {
    match value {
        Value::List(items) => {
            for item in items {
                order_by(item, sets, doc);
            }
        }
        Value::Object(fields) => {
            let mut keys: Vec<(&str, Vec<&SelectionSet>)> = Vec::new();
            for set in sets {
                collect(set, doc, &mut keys, &mut Vec::new());
            }
            let in_order = fields.keys().map(Name::as_str).eq(keys
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| fields.contains_key(*k)));
            if in_order {
                // The common case: fields that finished in order stay where they are.
                for (key, sub) in keys {
                    if let (Some(value), false) = (fields.get_mut(key), sub.is_empty()) {
                        order_by(value, &sub, doc);
                    }
                }
                return;
            }
            let mut unordered = std::mem::take(fields);
            let mut ordered = IndexMap::with_capacity(unordered.len());
            for (key, sub) in keys {
                if let Some((name, mut value)) = unordered.shift_remove_entry(key) {
                    if !sub.is_empty() {
                        order_by(&mut value, &sub, doc);
                    }
                    ordered.insert(name, value);
                }
            }
            // Nothing should be left; if anything is, it keeps its place after.
            ordered.extend(unordered);
            *fields = ordered;
        }
        _ => {}
    }
}

/// Each response key of `set` in order of first appearance, with the
/// selection sets of every field that answers to it.
fn collect<'d>(
    set: &'d SelectionSet,
    doc: &'d ExecutableDocument,
    keys: &mut Vec<(&'d str, Vec<&'d SelectionSet>)>,
    visited: &mut Vec<&'d Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.response_key().node.as_str();
                let sub = &field.selection_set.node;
                let at = match keys.iter().position(|(k, _)| *k == key) {
                    Some(at) => at,
                    None => {
                        keys.push((key, Vec::new()));
                        keys.len() - 1
                    }
                };
                if !sub.items.is_empty() {
                    keys[at].1.push(sub);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, doc, keys, visited)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if visited.contains(&name) {
                    continue;
                }
                visited.push(name);
                if let Some(fragment) = doc.fragments.get(name) {
                    collect(&fragment.node.selection_set.node, doc, keys, visited);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, data: serde_json::Value) -> String {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let mut data = Value::from_json(data).unwrap();
        order(&mut data, &doc, None);
        data.into_json().unwrap().to_string()
    }

    #[test]
    fn objects_and_lists_of_objects_follow_the_selection() {
        let json = serde_json::json!({ "b": [{ "y": 1, "x": 2 }], "a": { "n": 1, "m": 2 } });
        // `json!` keeps insertion order here, so the input is out of order.
        assert_eq!(
            ordered("{ a { m n } b { x y } }", json),
            r#"{"a":{"m":2,"n":1},"b":[{"x":2,"y":1}]}"#
        );
    }

    #[test]
    fn aliases_fragments_and_repeated_fields_keep_their_first_place() {
        let json = serde_json::json!({
            "w": { "tasks": [{ "id": 1, "title": "t" }], "id": "w1", "state": "S" },
            "first": 1,
        });
        let query = "query { first: __typename w: workroom { ...Head ... on Workroom { tasks { title } } tasks { id } } }
                     fragment Head on Workroom { id state }";
        assert_eq!(
            ordered(query, json),
            r#"{"first":1,"w":{"id":"w1","state":"S","tasks":[{"title":"t","id":1}]}}"#
        );
    }

    #[test]
    fn a_fragment_spreading_itself_does_not_loop() {
        let json = serde_json::json!({ "b": 1, "a": 2 });
        assert_eq!(
            ordered("{ ...F } fragment F on Query { a ...F b }", json),
            r#"{"a":2,"b":1}"#
        );
    }
}
