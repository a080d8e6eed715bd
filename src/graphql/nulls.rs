//! Null propagation (GraphQL spec 6.4.4, "Handling Field Errors").
//!
//! A field that raises an error is null in the response, and when its type
//! is non-null that null moves to the nearest nullable parent (up to `data`
//! itself). async-graphql 7 instead leaves the failed field's key out of its
//! parent object, which clients with normalized caches (Relay, Apollo) treat
//! as a malformed response. After execution, each error's path is followed
//! through the operation and the schema to find the type of every position
//! on it, and the null is put where the spec says.

use async_graphql::{
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
    registry::{MetaTypeName, Registry},
    PathSegment, Response, Value,
};

/// Puts the nulls of `response`'s field errors where the spec puts them.
pub fn propagate(
    response: &mut Response,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    registry: &Registry,
) {
    let Some((kind, root)) = operation(doc, operation_name) else {
        return;
    };
    let root_type = match kind {
        OperationType::Query => registry.query_type.as_str(),
        OperationType::Mutation => match registry.mutation_type.as_deref() {
            Some(name) => name,
            None => return,
        },
        OperationType::Subscription => return,
    };
    let mut paths: Vec<Vec<PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| e.path.clone())
        .collect();
    paths.sort_by_key(|path| format!("{path:?}"));
    paths.dedup();
    for path in paths {
        let Some(types) = types_along(&path, root, root_type, doc, registry) else {
            continue;
        };
        // The deepest position on the path that may be null takes the null.
        match types
            .iter()
            .rposition(|ty| !MetaTypeName::create(ty).is_non_null())
        {
            Some(nullable) => set_null(&mut response.data, &path[..=nullable]),
            None => response.data = Value::Null,
        }
    }
}

/// The operation run, and its selection set.
pub(super) fn operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, &'d SelectionSet)> {
    doc.operations
        .iter()
        .find(|(op_name, _)| name.is_none() || op_name.map(|n| n.as_str()) == name)
        .map(|(_, op)| (op.node.ty, &op.node.selection_set.node))
}

/// The schema type of each position of `path` (a field's type, or a list's
/// item type for an index); `None` when the path cannot be followed.
fn types_along(
    path: &[PathSegment],
    root: &SelectionSet,
    root_type: &str,
    doc: &ExecutableDocument,
    registry: &Registry,
) -> Option<Vec<String>> {
    let mut types = Vec::with_capacity(path.len());
    let mut sets = vec![(root, root_type.to_owned())];
    let mut current = root_type.to_owned();
    for segment in path {
        match segment {
            PathSegment::Index(_) => {
                let item = list_item(&current)?;
                types.push(item.to_owned());
                current = item.to_owned();
            }
            PathSegment::Field(key) => {
                let mut found = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for (set, parent) in &sets {
                    fields_with_key(set, key, parent, doc, &mut found, &mut seen);
                }
                let mut ty = None;
                for (_, parent, name) in &found {
                    let meta = registry.types.get(parent.as_str())?;
                    if let Some(field) = meta.field_by_name(name) {
                        ty = Some(field.ty.clone());
                        break;
                    }
                }
                let ty = ty?;
                let named = MetaTypeName::concrete_typename(&ty).to_owned();
                sets = found
                    .into_iter()
                    .map(|(set, _, _)| (set, named.clone()))
                    .collect();
                types.push(ty.clone());
                current = ty;
            }
        }
    }
    Some(types)
}

/// The item type of a list type (`[X!]!` gives `X!`).
fn list_item(ty: &str) -> Option<&str> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => list_item(inner),
        MetaTypeName::List(item) => Some(item),
        MetaTypeName::Named(_) => None,
    }
}

/// Every field of `set` (through fragments) answering to `key`: its
/// selection set, the type it is selected on, and its name. A fragment is
/// looked into once (`seen`): spread again, it holds the same fields.
fn fields_with_key<'d>(
    set: &'d SelectionSet,
    key: &str,
    on: &str,
    doc: &'d ExecutableDocument,
    found: &mut Vec<(&'d SelectionSet, String, String)>,
    seen: &mut std::collections::HashSet<&'d str>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) if field.node.response_key().node.as_str() == key => {
                found.push((
                    &field.node.selection_set.node,
                    on.to_owned(),
                    field.node.name.node.to_string(),
                ));
            }
            Selection::Field(_) => {}
            Selection::InlineFragment(inline) => {
                let on = inline
                    .node
                    .type_condition
                    .as_ref()
                    .map_or(on, |t| t.node.on.node.as_str());
                fields_with_key(&inline.node.selection_set.node, key, on, doc, found, seen);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if !seen.insert(name) {
                    continue;
                }
                if let Some(fragment) = doc.fragments.get(name) {
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    let inner = &fragment.node.selection_set.node;
                    fields_with_key(inner, key, on, doc, found, seen);
                }
            }
        }
    }
}

/// Sets the value at `path` in `data` to null, unless an ancestor already is.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut at = data;
    for segment in parents {
        at = match (segment, at) {
            (PathSegment::Field(key), Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(next) => next,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
                Some(next) => next,
                None => return,
            },
            _ => return,
        };
    }
    match (last, at) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(async_graphql::Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}
