//! Rules of section 5 that apollo-compiler applies otherwise than graphql-js
//! and the spec; applied here instead, on apollo-compiler's reading of the
//! document (see [`super::validate`]).
//!
//! - Single root field (5.2.3.1): a subscription's root selection, its
//!   fragments collected, has exactly one response key. apollo-compiler
//!   counts fields instead, refusing `a: credits { x } a: credits { y }`,
//!   which is one root field selected twice.
//! - Input object field uniqueness (5.6.3): apollo-compiler does not check
//!   the fields of input object literals in a request.
//! - All variable usages are allowed (5.8.5) inside input object and list
//!   literals too (see [`usages`]).
//!
//! Each walk visits every definition once (a spread is followed once per
//! operation), so both are linear in the document.

use std::collections::HashSet;

mod usages;

use apollo_compiler::{
    ast::{Argument, Value},
    executable::{DirectiveList, Selection, SelectionSet},
    ExecutableDocument, Name, Node, Schema,
};

/// Whether an apollo-compiler diagnostic is its own version of the single
/// root field rule, which [`check`] replaces.
pub fn is_replaced(message: &str) -> bool {
    message.ends_with("can only have one root field")
}

/// What these rules find wrong, in words.
pub fn check(doc: &ExecutableDocument, schema: &Schema) -> Vec<String> {
    let mut problems = single_root_field(doc);
    problems.extend(unique_input_fields(doc));
    problems.extend(usages::disallowed(doc, schema));
    problems
}

fn single_root_field(doc: &ExecutableDocument) -> Vec<String> {
    doc.operations
        .iter()
        .filter(|op| op.is_subscription())
        .filter(|op| {
            let mut keys = HashSet::new();
            collect_keys(&op.selection_set, doc, &mut keys, &mut HashSet::new());
            keys.len() > 1
        })
        .map(|op| match &op.name {
            Some(name) => format!("Subscription \"{name}\" must select only one top level field."),
            None => "Anonymous Subscription must select only one top level field.".to_owned(),
        })
        .collect()
}

/// The response keys of a root selection set, through its fragments.
fn collect_keys<'d>(
    set: &'d SelectionSet,
    doc: &'d ExecutableDocument,
    keys: &mut HashSet<&'d Name>,
    seen: &mut HashSet<&'d Name>,
) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                keys.insert(field.response_key());
            }
            Selection::InlineFragment(inline) => {
                collect_keys(&inline.selection_set, doc, keys, seen)
            }
            Selection::FragmentSpread(spread) => {
                if let Some((name, fragment)) = doc.fragments.get_key_value(&spread.fragment_name) {
                    if seen.insert(name) {
                        collect_keys(&fragment.selection_set, doc, keys, seen);
                    }
                }
            }
        }
    }
}

/// Every input object literal that names one field twice: in arguments,
/// directives, and variables' default values.
fn unique_input_fields(doc: &ExecutableDocument) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |value: &Node<Value>| repeated_fields(value, &mut problems);
    for op in doc.operations.iter() {
        for variable in &op.variables {
            if let Some(default) = &variable.default_value {
                check(default);
            }
        }
        directive_values(&op.directives, &mut check);
        set_values(&op.selection_set, &mut check);
    }
    for fragment in doc.fragments.values() {
        directive_values(&fragment.directives, &mut check);
        set_values(&fragment.selection_set, &mut check);
    }
    problems
}

fn set_values(set: &SelectionSet, check: &mut impl FnMut(&Node<Value>)) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                argument_values(&field.arguments, check);
                directive_values(&field.directives, check);
                set_values(&field.selection_set, check);
            }
            Selection::InlineFragment(inline) => {
                directive_values(&inline.directives, check);
                set_values(&inline.selection_set, check);
            }
            Selection::FragmentSpread(spread) => directive_values(&spread.directives, check),
        }
    }
}

fn directive_values(directives: &DirectiveList, check: &mut impl FnMut(&Node<Value>)) {
    for directive in directives.iter() {
        argument_values(&directive.arguments, check);
    }
}

fn argument_values(arguments: &[Node<Argument>], check: &mut impl FnMut(&Node<Value>)) {
    for argument in arguments {
        check(&argument.value);
    }
}

fn repeated_fields(value: &Value, problems: &mut Vec<String>) {
    match value {
        Value::List(items) => items
            .iter()
            .for_each(|item| repeated_fields(item, problems)),
        Value::Object(fields) => {
            let mut names = HashSet::with_capacity(fields.len());
            for (name, inner) in fields {
                if !names.insert(name) {
                    problems.push(format!(
                        "There can be only one input field named \"{name}\"."
                    ));
                }
                repeated_fields(inner, problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "type Query { a(x: In): Int b(l: [Int!]!, d: Int! = 1): Int }
        type Subscription { s: Int t: Int }
        input In { f: Int g: In h: [String!]! }";

    fn problems(query: &str) -> Vec<String> {
        let doc = apollo_compiler::ast::Document::parse(query, "q").unwrap();
        let schema = apollo_compiler::Schema::parse_and_validate(SCHEMA, "s").unwrap();
        check(&doc.to_executable(&schema).unwrap(), &schema)
    }

    #[test]
    fn a_variable_inside_a_literal_must_fit_its_place() {
        assert!(problems("query($h: [String!]!) { a(x: { h: $h }) }").is_empty());
        assert_eq!(
            problems("query($h: [String]!) { a(x: { h: $h }) }").len(),
            1
        );
        assert_eq!(
            problems("query($h: [String!]) { a(x: { g: { h: $h } }) }").len(),
            1
        );
        assert_eq!(problems("query($i: Int) { b(l: [$i]) }").len(), 1);
        assert!(problems("query($i: Int! = 1) { b(l: [$i]) }").is_empty());
        assert!(
            problems("query($i: Int = 3) { b(l: [1], d: $i) }").is_empty(),
            "a default makes it fit"
        );
        assert_eq!(
            problems("query($s: String) { ...F } fragment F on Query { a(x: { h: [$s] }) }").len(),
            1,
            "through a fragment"
        );
    }

    #[test]
    fn a_subscription_may_select_its_one_root_field_twice() {
        assert!(problems("subscription { a: s a: s }").is_empty());
        assert_eq!(problems("subscription { s t }").len(), 1);
        assert_eq!(
            problems("subscription S { ...F } fragment F on Subscription { s t }").len(),
            1
        );
    }

    #[test]
    fn an_input_object_names_each_field_once_at_every_depth() {
        assert!(problems("{ a(x: { f: 1, g: { f: 2 } }) }").is_empty());
        assert_eq!(problems("{ a(x: { f: 1, f: 2 }) }").len(), 1);
        assert_eq!(problems("{ a(x: { g: { f: 1, f: 2 } }) }").len(), 1);
        assert_eq!(
            problems("query($v: In = { f: 1, f: 1 }) { a(x: $v) }").len(),
            1
        );
        assert_eq!(problems("{ a @skip(if: false) @include(if: true) ... @skip(if: false) { a(x: [{ f: 1, f: 1 }]) } }").len(), 1);
    }
}
