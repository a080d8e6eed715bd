use serde_json::json;

use super::*;

/// Events numbered in order from a compact description.
fn events(spec: &[(&str, Value)]) -> Vec<Event> {
    spec.iter()
        .enumerate()
        .map(|(i, (kind, extra))| Event {
            seq: i as i64 + 1,
            kind: (*kind).to_owned(),
            state: extra["state"].as_str().map(str::to_owned),
            task_id: extra["task"].as_str().map(str::to_owned),
            deliverable_id: extra["deliverable"].as_str().map(str::to_owned),
            text: extra["text"].as_str().map(str::to_owned),
            data: extra["data"].clone(),
        })
        .collect()
}

fn started(task: &str, attempt: i64) -> (&'static str, Value) {
    (
        "TASK_STARTED",
        json!({ "task": task, "data": { "attempt": attempt } }),
    )
}

fn charged(task: &str, attempt: i64, credits: i64) -> (&'static str, Value) {
    let key = format!("task:{task}-uuid:{attempt}");
    (
        "CREDITS_CHARGED",
        json!({ "task": task, "data": { "credits": credits, "attempt": key } }),
    )
}

fn state(state: &str) -> (&'static str, Value) {
    ("STATE_CHANGED", json!({ "state": state }))
}

fn of(kind: &'static str, extra: Value) -> (&'static str, Value) {
    (kind, extra)
}

/// A whole run: plan, one agent task (`agent`), then compose (`compose`) "Hello".
fn run(agent: Vec<(&'static str, Value)>, compose: Vec<(&'static str, Value)>) -> Room {
    let mut spec = vec![
        state("PLANNING"),
        of(
            "CREDITS_CHARGED",
            json!({ "data": { "credits": 1, "attempt": "plan:r:x" } }),
        ),
        of("PLAN_CREATED", json!({})),
        state("EXECUTING"),
    ];
    spec.extend(agent);
    spec.push(state("COMPOSING"));
    spec.extend(compose);
    spec.push(state("COMPLETED"));
    Room {
        id: "wrm_1".into(),
        credits_spent: 0,
        deliverables: vec![Deliverable {
            id: "d1".into(),
            content: Some("Hello".into()),
        }],
        events: events(&spec),
    }
}

fn agent_once() -> Vec<(&'static str, Value)> {
    vec![
        started("t1", 1),
        charged("t1", 1, 2),
        of("TASK_COMPLETED", json!({ "task": "t1" })),
    ]
}

fn compose_once() -> Vec<(&'static str, Value)> {
    vec![
        started("c", 1),
        of("COMPOSER_RESET", json!({ "deliverable": "d1" })),
        of(
            "COMPOSER_DELTA",
            json!({ "deliverable": "d1", "text": "Hel" }),
        ),
        of(
            "COMPOSER_DELTA",
            json!({ "deliverable": "d1", "text": "lo" }),
        ),
        of("DELIVERABLE_UPDATED", json!({ "deliverable": "d1" })),
        charged("c", 1, 3),
        of("TASK_COMPLETED", json!({ "task": "c" })),
    ]
}

#[test]
fn a_run_that_went_once_has_no_problems() {
    let summary = summarize(&run(agent_once(), compose_once()));
    assert_eq!(summary.problems, Vec::<String>::new());
    assert_eq!(summary.terminal, Some(16));
    assert_eq!(summary.attempts, 2);
    assert_eq!(summary.charges.len(), 3);
}

#[test]
fn an_attempt_interrupted_by_a_restart_and_started_again_is_not_running_twice() {
    let mut agent = vec![started("t1", 1)];
    agent.extend(vec![
        started("t1", 2),
        charged("t1", 2, 2),
        of("TASK_COMPLETED", json!({ "task": "t1" })),
    ]);
    let summary = summarize(&run(agent, compose_once()));
    assert_eq!(summary.problems, Vec::<String>::new());
    assert_eq!(summary.retried, 1);
}

#[test]
fn an_older_attempt_charged_after_a_newer_one_started_is_an_overlap() {
    let agent = vec![
        started("t1", 1),
        started("t1", 2),
        charged("t1", 1, 2),
        charged("t1", 2, 2),
        of("TASK_COMPLETED", json!({ "task": "t1" })),
    ];
    let problems = summarize(&run(agent, compose_once())).problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("attempt 1"), "{problems:?}");
}

#[test]
fn a_task_started_again_after_it_completed_ran_twice() {
    let mut agent = agent_once();
    agent.push(started("t1", 2));
    let problems = summarize(&run(agent, compose_once())).problems;
    assert!(
        problems.iter().any(|p| p.contains("after it completed")),
        "{problems:?}"
    );
}

#[test]
fn an_attempt_charged_twice_is_a_problem() {
    let agent = vec![
        started("t1", 1),
        charged("t1", 1, 2),
        charged("t1", 1, 2),
        of("TASK_COMPLETED", json!({ "task": "t1" })),
    ];
    let problems = summarize(&run(agent, compose_once())).problems;
    assert!(
        problems.iter().any(|p| p.contains("charged twice")),
        "{problems:?}"
    );
}

#[test]
fn a_second_completion_or_anything_after_the_end_is_a_problem() {
    let mut room = run(agent_once(), compose_once());
    let mut more = events(&[state("COMPLETED"), of("MESSAGE", json!({}))]);
    for (i, e) in more.iter_mut().enumerate() {
        e.seq = room.events.len() as i64 + 1 + i as i64;
    }
    room.events.extend(more);
    let summary = summarize(&room);
    assert!(!summary.completed);
    assert_eq!(summary.terminal, None);
    assert_eq!(summary.problems.len(), 2, "{:?}", summary.problems);
}

#[test]
fn a_delta_with_no_reset_since_its_attempt_started_is_a_second_composer() {
    let compose = vec![
        started("c", 1),
        of("COMPOSER_RESET", json!({ "deliverable": "d1" })),
        of(
            "COMPOSER_DELTA",
            json!({ "deliverable": "d1", "text": "He" }),
        ),
        started("c", 2),
        of(
            "COMPOSER_DELTA",
            json!({ "deliverable": "d1", "text": "llo" }),
        ),
        charged("c", 2, 3),
        of("TASK_COMPLETED", json!({ "task": "c" })),
    ];
    let problems = summarize(&run(agent_once(), compose)).problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no reset"), "{problems:?}");
}

#[test]
fn content_that_is_not_the_deltas_after_the_latest_reset_is_a_problem() {
    let mut room = run(agent_once(), compose_once());
    room.deliverables[0].content = Some("Hello Hello".into());
    assert_eq!(summarize(&room).problems.len(), 1);
}

#[test]
fn a_gap_in_the_seqs_is_a_problem() {
    let mut room = run(agent_once(), compose_once());
    room.events.remove(5);
    let problems = summarize(&room).problems;
    assert!(
        problems.iter().any(|p| p.contains("where 6 was due")),
        "{problems:?}"
    );
}

fn watch(after: i64, seqs: &[i64], finished: bool) -> WatchRecord {
    let mut w = WatchRecord {
        room: "wrm_1".into(),
        after,
        ranges: Vec::new(),
        finished,
        reconnects: 0,
        errors: Vec::new(),
    };
    for seq in seqs {
        w.push(*seq);
    }
    w
}

#[test]
fn a_watch_passes_only_with_every_seq_after_its_start_once_and_in_order() {
    let room = RoomSummary {
        terminal: Some(10),
        ..Default::default()
    };
    let all: Vec<i64> = (4..=10).collect();
    assert_eq!(delivery(&watch(3, &all, true), Some(&room)), Ok(7));
    let gap = [4, 5, 7, 8, 9, 10];
    assert!(delivery(&watch(3, &gap, true), Some(&room)).is_err());
    let twice = [4, 5, 6, 6, 7, 8, 9, 10];
    assert!(delivery(&watch(3, &twice, true), Some(&room)).is_err());
    let swapped = [4, 6, 5, 7, 8, 9, 10];
    assert!(delivery(&watch(3, &swapped, true), Some(&room)).is_err());
    let cut = [4, 5, 6];
    let err = delivery(&watch(3, &cut, false), Some(&room)).unwrap_err();
    assert_eq!(err, "cut off, having received [4-6] of 4-10");
}

fn entry(kind: &str, amount: i64, balance_after: i64, task: Option<&str>) -> Entry {
    Entry {
        kind: kind.into(),
        amount,
        balance_after,
        workroom: Some(Id { id: "wrm_1".into() }),
        task: task.map(|t| Id { id: t.into() }),
    }
}

#[test]
fn a_ledger_must_chain_and_sum_to_its_balance_with_nothing_left_reserved() {
    let mut book = Ledger {
        balance: 497,
        reserved: 0,
        entries: vec![
            entry("TRIAL_GRANT", 500, 500, None),
            entry("CHARGE", -3, 497, Some("t1")),
        ],
    };
    assert_eq!(ledger(&book), Vec::<String>::new());
    book.entries[1].balance_after = 498;
    assert_eq!(ledger(&book).len(), 1);
    book.entries[1].balance_after = 497;
    book.balance = 500;
    book.reserved = 4;
    assert_eq!(ledger(&book).len(), 2);
}

#[test]
fn charges_in_the_ledger_must_be_the_workrooms_charge_events() {
    let summary = summarize(&run(agent_once(), compose_once()));
    let room = RoomSummary {
        credits_spent: 6,
        ..summary
    };
    let entries = [
        entry("CHARGE", -1, 0, None),
        entry("CHARGE", -2, 0, Some("t1")),
        entry("CHARGE", -3, 0, Some("c")),
    ];
    let all: Vec<&Entry> = entries.iter().collect();
    assert_eq!(charges(&room, &all), Vec::<String>::new());
    assert_eq!(charges(&room, &all[1..]).len(), 2);
}
