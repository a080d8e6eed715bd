//! The run engine across crashes and instances, and what a run may spend.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

/// The (task, attempt) of every TASK_STARTED, and the attempt of every charge.
fn starts_and_charges(events: &[Value]) -> (Vec<(String, i64)>, Vec<String>) {
    let starts = events
        .iter()
        .filter(|e| e["kind"] == "TASK_STARTED")
        .map(|e| {
            (
                e["taskId"].as_str().unwrap().to_owned(),
                e["data"]["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    let charges = events
        .iter()
        .filter(|e| e["kind"] == "CREDITS_CHARGED")
        .map(|e| e["data"]["attempt"].as_str().unwrap().to_owned())
        .collect();
    (starts, charges)
}

fn all_distinct<T: std::hash::Hash + Eq + Clone>(items: &[T]) -> bool {
    items.iter().cloned().collect::<HashSet<_>>().len() == items.len()
}

/// Balance and reserved credits, and the ledger's amounts, newest first.
async fn pool(app: &TestApp, token: &str) -> (i64, i64, Vec<i64>) {
    let data = app
        .ok(Some(token), "{ workspace { credits { balance reserved } creditLedger(first: 100) { nodes { kind amount balanceAfter } } } }", json!({}))
        .await;
    let ws = &data["workspace"];
    let amounts = ws["creditLedger"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    (
        ws["credits"]["balance"].as_i64().unwrap(),
        ws["credits"]["reserved"].as_i64().unwrap(),
        amounts,
    )
}

async fn killed_mid_compose_then_taken_over(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let slow = |c: &mut atelya::config::Config| {
        c.lease_ttl = 1;
        c.engine.builtin_token_delay_ms = 5;
    };
    let mut first = Instance::start(&database.url, slow).await;
    let ann = first.app.signup("ann@example.com", "Acme").await;
    let id = first
        .app
        .create_workroom(&ann.token, input("Survives a crash"))
        .await;
    first
        .app
        .wait_for_event(&ann.token, &id, "COMPOSER_DELTA")
        .await;
    first.kill();

    let second = Instance::start(&database.url, |c| c.lease_ttl = 1).await;
    let room = second.app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
    let events = second.app.history(&ann.token, &id).await;
    assert_history(&events, &room);
    let resets = events
        .iter()
        .filter(|e| e["kind"] == "COMPOSER_RESET")
        .count();
    assert_eq!(
        resets, 2,
        "the interrupted compose ran again from the start"
    );
    let (starts, charges) = starts_and_charges(&events);
    assert!(
        all_distinct(&starts),
        "no attempt started twice: {starts:?}"
    );
    assert!(
        all_distinct(&charges),
        "no attempt charged twice: {charges:?}"
    );
    // The crashed attempt's hold was released without a charge.
    assert_eq!(
        charges.len(),
        starts.len() - 1 + 1,
        "planning, drafting and the second compose are charged"
    );
    let (balance, reserved, amounts) = pool(&second.app, &ann.token).await;
    assert_eq!(reserved, 0);
    assert_eq!(amounts.iter().sum::<i64>(), balance);
    assert_eq!(room["creditsSpent"].as_i64().unwrap(), 500 - balance);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_compose_is_taken_over_and_completes_once_sqlite() {
    killed_mid_compose_then_taken_over(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn a_run_killed_mid_compose_is_taken_over_and_completes_once_postgres() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    killed_mid_compose_then_taken_over(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn two_instances_on_one_database_never_run_the_same_workroom() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = TestDatabase::create(backend).await;
    let config = |c: &mut atelya::config::Config| {
        c.lease_ttl = 5;
        c.engine.builtin_token_delay_ms = 1;
        c.engine.poll_ms = 20;
    };
    let a = Instance::start(&database.url, config).await;
    let b = Instance::start(&database.url, config).await;
    let ann = a.app.signup("ann@example.com", "Acme").await;
    a.app.change_plan(&ann.token, "AGENCY").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let via = if i % 2 == 0 { &a.app } else { &b.app };
        ids.push(
            via.create_workroom(&ann.token, input(&format!("Room {i}")))
                .await,
        );
    }
    for id in &ids {
        let room = a.app.wait_for(&ann.token, id, &["COMPLETED"]).await;
        let events = b.app.history(&ann.token, id).await;
        assert_history(&events, &room);
        let (starts, charges) = starts_and_charges(&events);
        // Two runners at once would interleave events (breaking the history's
        // invariants above), start one attempt twice, or charge one twice. A
        // lease can change hands under load; the next attempt then runs anew.
        assert!(
            all_distinct(&starts),
            "a task attempt ran twice: {starts:?}"
        );
        assert!(
            all_distinct(&charges),
            "an attempt was charged twice: {charges:?}"
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| e["kind"] == "PLAN_CREATED")
                .count(),
            1,
            "planned once"
        );
    }
    let (balance, reserved, amounts) = pool(&a.app, &ann.token).await;
    assert_eq!(reserved, 0);
    assert_eq!(amounts.iter().sum::<i64>(), balance);
}

db_test! {
    async fn a_call_never_outputs_more_than_its_hold_paid_for(app)
        with |c: &mut atelya::config::Config| { c.engine.compose_max_tokens = 15; c.engine.tokens_per_credit = 1; };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "AGENCY").await;
        let id = app.create_workroom(&ann.token, input("Short")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let content = room["deliverables"][0]["content"].as_str().unwrap();
        assert_eq!(atelya::llm::builtin::split_tokens(content).len(), 15, "{content}");
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        for charge in events.iter().filter(|e| e["kind"] == "CREDITS_CHARGED") {
            assert!(charge["data"]["credits"].as_i64() <= charge["data"]["held"].as_i64(), "{charge}");
        }
    }
}
