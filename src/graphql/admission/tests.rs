//! Admission, and the time every document takes to be answered: fragment
//! DAGs of any shape are answered (run or refused) within a small bound.

use std::time::{Duration, Instant};

use async_graphql::Request;
use proptest::prelude::*;

use super::*;
use crate::graphql::{default_limits, limits::code_of, schema_builder, AppSchema};

fn schema() -> &'static AppSchema {
    static SCHEMA: std::sync::OnceLock<AppSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| schema_builder(&default_limits(), false).finish())
}

fn validator() -> &'static Validator {
    static VALIDATOR: std::sync::OnceLock<Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| Validator::new(&crate::graphql::sdl(), true).unwrap())
}

fn refusal(query: &str) -> (String, String) {
    let err = admit(query, &default_limits(), validator())
        .err()
        .expect("refused");
    (code_of(&err).unwrap_or_default(), err.message)
}

/// `levels` fragments on Query, each spreading the next `fan_out` times.
fn bomb(levels: usize, fan_out: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..levels {
        let spreads = format!("...F{} ", i + 1).repeat(fan_out);
        doc.push_str(&format!(" fragment F{i} on Query {{ {spreads}}}"));
    }
    doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    doc
}

#[test]
fn the_fragment_bomb_is_refused_before_anything_expands_it() {
    let doc = bomb(22, 2);
    assert!(doc.len() < 1_000, "{}", doc.len());
    let started = Instant::now();
    let (code, message) = refusal(&doc);
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, VALIDATION_FAILED);
    assert!(
        message.contains("selections once its fragments are expanded"),
        "{message}"
    );
    // Small enough, the same shape is valid and runs.
    assert!(admit(&bomb(5, 2), &default_limits(), validator()).is_ok());
}

#[test]
fn depth_is_counted_through_spreads_and_inline_fragments() {
    let mut limits = default_limits();
    limits.max_depth = 3;
    let deep = "{ viewer { ...A } } fragment A on Viewer { workspace { ... on Workspace { id } } }";
    assert!(admit(deep, &limits, validator()).is_ok(), "three levels");
    let deeper = "{ viewer { ...A } } fragment A on Viewer { workspace { ... on Workspace { credits { balance } } } }";
    let err = admit(deeper, &limits, validator()).err().unwrap();
    assert!(
        err.message.contains("4 levels of nested fields"),
        "{}",
        err.message
    );
}

#[test]
fn a_long_chain_of_spreads_is_refused_for_its_nesting() {
    let mut doc = String::from("{ ...F0 }");
    for i in 0..100 {
        doc.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
    }
    doc.push_str(" fragment F100 on Query { __typename }");
    let (code, message) = refusal(&doc);
    assert_eq!(code, VALIDATION_FAILED);
    assert!(message.contains("levels of nested selections"), "{message}");
}

#[test]
fn syntax_errors_and_rules_the_parser_enforces_are_told_apart() {
    assert_eq!(refusal("{ viewer ").0, PARSE_FAILED);
    assert_eq!(
        refusal("query A { plans { plan } } query A { plans { plan } }").0,
        VALIDATION_FAILED
    );
    assert_eq!(
        refusal("{ plans { plan } } query B { plans { plan } }").0,
        VALIDATION_FAILED
    );
    assert_eq!(
        refusal("{ ...F } fragment F on Query { plans { plan } } fragment F on Query { plans { plan } }").0,
        VALIDATION_FAILED
    );
    assert_eq!(
        refusal("type Foo { a: Int } { plans { plan } }").0,
        VALIDATION_FAILED
    );
    let (code, message) =
        refusal("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
    assert_eq!(code, VALIDATION_FAILED);
    assert!(message.starts_with("Cannot spread fragment"), "{message}");
}

/// A fragment DAG: `depth` fragments on Query, each holding `fan_out`
/// items that reach the next, as plain spreads, spreads under an inline
/// fragment, or spreads with a directive, and here and there an aliased
/// `__typename`.
fn dag(depth: usize, fan_outs: &[usize], kinds: &[u8]) -> String {
    let mut doc = String::from("query Bomb { ...F0 }");
    for level in 0..depth {
        let next = level + 1;
        let mut items = String::new();
        for item in 0..fan_outs[level % fan_outs.len()] {
            let kind = kinds[(level * 4 + item) % kinds.len()];
            items.push_str(&match kind % 5 {
                0 => format!("...F{next} "),
                1 => format!("... on Query {{ ...F{next} }} "),
                2 => format!("...F{next} @include(if: true) "),
                3 => format!("... @skip(if: false) {{ ...F{next} }} "),
                _ => format!("t{level}x{item}: __typename ...F{next} "),
            });
        }
        doc.push_str(&format!(" fragment F{level} on Query {{ {items}}}"));
    }
    doc.push_str(&format!(" fragment F{depth} on Query {{ __typename }}"));
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever the DAG, the answer (data, or one request error) comes
    /// within a small bound: nothing walks the expansion before its size is
    /// known, and what runs is bounded by the limit on that size.
    #[test]
    fn any_fragment_dag_is_answered_quickly(
        depth in 1usize..=40,
        fan_outs in prop::collection::vec(2usize..=4, 1..6),
        kinds in prop::collection::vec(any::<u8>(), 1..12),
    ) {
        let doc = dag(depth, &fan_outs, &kinds);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let started = Instant::now();
        let response = runtime.block_on(schema().execute(Request::new(doc.clone()).data(crate::auth::Authn::Anonymous)));
        let elapsed = started.elapsed();
        prop_assert!(elapsed < Duration::from_millis(750), "{elapsed:?} for {doc}");
        let codes: Vec<_> = response.errors.iter().filter_map(code_of).collect();
        prop_assert!(
            response.errors.is_empty() || codes == [VALIDATION_FAILED],
            "{:?} for {doc}", response.errors
        );
    }
}
