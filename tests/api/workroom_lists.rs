//! Lists of workrooms: their parts load in batches, not one query per row.

use serde_json::json;

use crate::{helpers::*, rooms::*};

const PAGE: &str =
    "query($n: Int) { workspace { workrooms(first: $n) { nodes { id title createdBy { name }
    sources { title } agents { name }
    deliverables { label version }
    tasks { title state agent { name } approval { requiredRole grants { user { name } } } } } } } }";

const LEDGER: &str = "query($n: Int) { workspace { creditLedger(first: $n) { nodes { id amount
    workroom { title } task { title } } } } }";

/// The fewest statements one page of `n` workrooms took over a few tries
/// (background work may add a statement to any single try).
async fn statements_for(app: &TestApp, token: &str, n: i64) -> u64 {
    statements_of(app, token, PAGE, "workrooms", n).await
}

async fn statements_of(app: &TestApp, token: &str, query: &str, list: &str, n: i64) -> u64 {
    let mut fewest = u64::MAX;
    for _ in 0..5 {
        let before = app.state.db.statement_count();
        let data = app.ok(Some(token), query, json!({ "n": n })).await;
        let after = app.state.db.statement_count();
        assert_eq!(
            data["workspace"][list]["nodes"].as_array().unwrap().len() as i64,
            n
        );
        fewest = fewest.min(after - before);
    }
    fewest
}

db_test! {
    async fn a_page_of_workrooms_costs_the_same_statements_whatever_its_size(app)
        with |c: &mut atelya::config::Config| c.engine.poll_ms = 2_000;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "AGENCY").await;
        let mut ids = Vec::new();
        for i in 0..12 {
            ids.push(app.create_workroom(&ann.token, input(&format!("Room {i}"))).await);
        }
        for id in &ids {
            app.wait_for(&ann.token, id, &["COMPLETED"]).await;
        }
        for id in ids.iter().take(6) {
            app.ok(Some(&ann.token), "mutation($w: ID!) { addSource(workroomId: $w, input: { kind: BRIEF, title: \"Brief\", content: \"Short.\" }) { id } }", json!({ "w": id })).await;
        }
        let small = statements_for(&app, &ann.token, 3).await;
        let large = statements_for(&app, &ann.token, 12).await;
        assert_eq!(small, large, "3 workrooms took {small} statements, 12 took {large}");

        // Ledger entries with the workroom and task each one paid for.
        let small = statements_of(&app, &ann.token, LEDGER, "creditLedger", 3).await;
        let large = statements_of(&app, &ann.token, LEDGER, "creditLedger", 30).await;
        assert_eq!(small, large, "3 ledger entries took {small} statements, 30 took {large}");
    }
}
