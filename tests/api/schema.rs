//! The committed `schema.graphql` is the schema the code builds.

/// Reads the committed SDL from the repository root.
fn committed_schema() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; generate it with `cargo run -- schema > schema.graphql`",
            path.display()
        )
    })
}

/// The first line where the two texts differ, for a readable failure.
fn first_difference(committed: &str, built: &str) -> String {
    let (mut a, mut b) = (committed.lines(), built.lines());
    for number in 1.. {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => return format!("line {number}: committed {x:?}, built {y:?}"),
        }
    }
    "only in line endings or the final newline".into()
}

#[test]
fn the_committed_schema_file_matches_the_schema_the_code_builds() {
    let committed = committed_schema();

    let built = atelya::graphql::sdl();

    assert!(
        committed == built,
        "schema.graphql is stale ({}): regenerate it with `cargo run -- schema > schema.graphql` and commit it",
        first_difference(&committed, &built)
    );
}
