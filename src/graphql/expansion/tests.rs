use super::*;

fn measure(query: &str) -> Result<Measure, Unmeasurable> {
    of_document(&async_graphql::parser::parse_query(query).unwrap())
}

/// `levels` fragments, each spreading the next `fan_out` times.
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
fn a_document_without_fragments_measures_what_is_written() {
    let m = measure("{ a { b c { d } } e }").unwrap();
    assert_eq!(
        m,
        Measure {
            selections: 5,
            depth: 3,
            nesting: 3
        }
    );
}

#[test]
fn a_fragment_bomb_is_measured_at_its_full_expansion_without_expanding_it() {
    let started = std::time::Instant::now();
    let m = measure(&bomb(70, 2)).unwrap();
    // 2^71 spreads and fields: the count saturates instead of overflowing.
    assert_eq!(m.selections, usize::MAX);
    assert!(started.elapsed() < std::time::Duration::from_millis(200));
    let small = measure(&bomb(3, 2)).unwrap();
    // The operation's spread, 2 + 4 + 8 spreads, and 8 fields.
    assert_eq!(small.selections, 1 + 2 + 4 + 8 + 8);
}

#[test]
fn depth_counts_fields_through_spreads_and_inline_fragments() {
    let doc = "{ viewer { ...A } }
        fragment A on Viewer { workspace { ... on Workspace { members { ...B } } } }
        fragment B on MemberConnection { nodes { user { id } } }";
    let m = measure(doc).unwrap();
    assert_eq!(m.depth, 6, "viewer workspace members nodes user id");
    // Selection sets: the operation's, viewer's, A's, workspace's, the inline
    // fragment's, members', B's, nodes', user's.
    assert_eq!(m.nesting, 9);
}

#[test]
fn a_long_chain_of_spreads_is_measured_without_recursion() {
    let n = 5_000;
    let mut doc = String::from("{ ...F0 }");
    for i in 0..n {
        doc.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
    }
    doc.push_str(&format!(" fragment F{n} on Query {{ __typename }}"));
    let m = measure(&doc).unwrap();
    assert_eq!(m.nesting, n + 2);
    assert_eq!(m.selections, n + 2);
}

#[test]
fn a_cycle_is_named_however_far_round() {
    assert_eq!(
        measure("{ ...A } fragment A on Query { ...A }"),
        Err(Unmeasurable::Cycle(Name::new("A")))
    );
    let found = measure(
        "{ ...A } fragment A on Query { viewer { ...B } }
         fragment B on Viewer { ... on Viewer { ...C } }
         fragment C on Viewer { user { id } ...B }",
    );
    assert!(
        matches!(&found, Err(Unmeasurable::Cycle(n)) if n == "B" || n == "C"),
        "{found:?}"
    );
    assert!(measure(
        "{ ...A ...B } fragment A on Query { ...B } fragment B on Query { plans { plan } }"
    )
    .is_ok());
}

#[test]
fn an_unknown_fragment_adds_nothing() {
    let m = measure("{ a ...Missing }").unwrap();
    assert_eq!(m.selections, 2);
}
