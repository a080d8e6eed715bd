use std::sync::OnceLock;

use super::*;

/// The server's own schema, read as the server reads it.
fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| Validator::new(&crate::graphql::sdl(), true).expect("the schema reads"))
}

fn refused(query: &str) -> String {
    match validator().validate(query) {
        Ok(()) => panic!("{query} was accepted"),
        Err(errors) => {
            assert!(errors
                .iter()
                .all(|e| super::super::limits::code_of(e).as_deref() == Some(VALIDATION_FAILED)));
            errors[0].message.clone()
        }
    }
}

#[test]
fn valid_documents_pass() {
    for query in [
        "{ viewer { user { id name } } }",
        "query($show: Boolean!) { __typename @include(if: $show) }",
        "query Q($id: ID!) { workroom(id: $id) { id ...W } } fragment W on Workroom { title state }",
        "subscription S { ... on Subscription { credits { balance } } }",
        "mutation { updateExportProfile(input: { font: \"Inter\" }) { font } }",
        "{ workspace { creditUsage(groupBy: MEMBER) { key } } }",
    ] {
        assert!(validator().validate(query).is_ok(), "{query}: {:?}", validator().validate(query));
    }
}

#[test]
fn the_rules_async_graphql_skipped_are_applied() {
    refused("{ __typename { value } }");
    refused("{ __typename @client }");
    refused("mutation { updateExportProfile(input: { font: \"a\", font: \"b\" }) { font } }");
    refused("{ __typename @include(if: true) @include(if: true) }");
    refused("query($a: Int @include(if: true)) { __typename }");
    refused("{ workspace { creditUsage(groupBy: \"MEMBER\") { key } } }");
    refused("mutation { updateExportProfile(input: true) { font } }");
    refused("query($id: ID) { workroom(id: $id) { id } }");
}

#[test]
fn a_subscription_selects_exactly_one_root_field() {
    refused("subscription { credits { balance } activity { id } }");
    refused("subscription Both { ...F } fragment F on Subscription { credits { balance } activity { id } }");
    refused("subscription { __typename }");
    assert!(validator()
        .validate("subscription { a: credits { balance } a: credits { reserved } }")
        .is_ok());
}

#[test]
fn fields_that_cannot_merge_are_refused() {
    refused("{ node(id: \"x\") { ... on Workroom { a: title } ... on Agent { a: id } } }");
    refused("{ viewer { user { a: id a: name } } }");
}

#[test]
fn only_syntax_errors_are_syntax_errors() {
    assert!(is_valid_syntax("query A { a } query A { b }"));
    assert!(is_valid_syntax("type Foo { a: Int } { a }"));
    assert!(!is_valid_syntax("{ a "));
    assert!(!is_valid_syntax("query { a(b: ) }"));
}

#[test]
fn an_unknown_field_is_the_error_not_the_emptied_selection_it_leaves() {
    let errors = validator()
        .validate("{ plans { monthlyCredit } }")
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].message,
        "type `PlanInfo` does not have a field `monthlyCredit`. Did you mean \"monthlyCredits\"?"
    );
}
