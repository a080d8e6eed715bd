//! Helpers for workroom tests: creating, waiting, reading the history, and
//! checking the history's invariants.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

pub const CREATE: &str =
    "mutation($input: CreateWorkroomInput!) { createWorkroom(input: $input) { id state } }";

/// The fields tests usually read.
pub const ROOM: &str = "id title state stateReason lastSeq revisionRound creditsSpent creditsReserved allowedActions
    constraints { maxCredits approval { requiredRole requiredApprovals } }
    tasks { id title kind state creditsUsed output error dependsOn assignedRole approval { requiredApprovals grants { user { id } } } }
    deliverables { id label version content }";

/// A minimal valid input: one deliverable, one brief.
pub fn input(title: &str) -> Value {
    json!({
        "title": title,
        "goal": "Win the Q3 retainer with Northwind by proposing a content calendar",
        "deliverables": ["Proposal"],
        "sources": [{ "kind": "BRIEF", "title": "Client brief", "content": "Northwind sells outdoor gear. They want three posts a week." }]
    })
}

impl TestApp {
    /// Creates a workroom; returns its id.
    pub async fn create_workroom(&self, token: &str, input: Value) -> String {
        let data = self
            .ok(Some(token), CREATE, json!({ "input": input }))
            .await;
        data["createWorkroom"]["id"].as_str().unwrap().to_owned()
    }

    /// The workroom with [`ROOM`]'s fields.
    pub async fn room(&self, token: &str, id: &str) -> Value {
        let query = format!("query($id: ID!) {{ workroom(id: $id) {{ {ROOM} }} }}");
        self.ok(Some(token), &query, json!({ "id": id })).await["workroom"].clone()
    }

    /// Polls until the workroom is in one of `states`; panics after 20 seconds.
    pub async fn wait_for(&self, token: &str, id: &str, states: &[&str]) -> Value {
        eventually(Duration::from_secs(20), move || async move {
            let room = self.room(token, id).await;
            if states.iter().any(|s| room["state"] == *s) {
                return Ok(room);
            }
            Err(format!(
                "still {}, waiting for {states:?}: {room}",
                room["state"]
            ))
        })
        .await
    }

    /// Polls until the workroom's history has an event of `kind`; returns the history.
    pub async fn wait_for_event(&self, token: &str, id: &str, kind: &str) -> Vec<Value> {
        eventually(Duration::from_secs(20), move || async move {
            let events = self.history(token, id).await;
            if events.iter().any(|e| e["kind"] == kind) {
                return Ok(events);
            }
            Err(format!("no {kind} yet"))
        })
        .await
    }

    /// Asserts that nothing happens to the workroom (same state, same
    /// lastSeq) while the engine looks for work twice and finds none, with
    /// no run going: the engine is not running anything more.
    pub async fn assert_quiet(&self, token: &str, id: &str) -> Value {
        let before = self.room(token, id).await;
        self.after_passes(|r| &r.engine_idle, 2).await;
        let now = self.room(token, id).await;
        assert_eq!(
            now["lastSeq"], before["lastSeq"],
            "the workroom moved on: {now}"
        );
        assert_eq!(now["state"], before["state"], "{now}");
        before
    }

    /// The whole history, oldest first (paging through `events(afterSeq:)`).
    pub async fn history(&self, token: &str, id: &str) -> Vec<Value> {
        let query = "query($id: ID!, $after: Int) { workroom(id: $id) { events(afterSeq: $after, first: 1000) {
            seq kind state text taskId deliverableId data actor { id } } } }";
        let mut all: Vec<Value> = Vec::new();
        loop {
            let after = all.last().map(|e| e["seq"].clone()).unwrap_or(json!(0));
            let data = self
                .ok(Some(token), query, json!({ "id": id, "after": after }))
                .await;
            let page = data["workroom"]["events"].as_array().unwrap().clone();
            let done = page.len() < 1000;
            all.extend(page);
            if done {
                return all;
            }
        }
    }
}

/// The invariants of every history: seq gap-free from 1, seq 1 is
/// STATE_CHANGED(PLANNING), and for each deliverable the deltas after its
/// latest reset add up to its content.
pub fn assert_history(events: &[Value], room: &Value) {
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], json!(i as i64 + 1), "seq gap at {i}: {event}");
    }
    assert_eq!(events[0]["kind"], "STATE_CHANGED");
    assert_eq!(events[0]["state"], "PLANNING");
    assert_eq!(room["lastSeq"], json!(events.len()));
    for deliverable in room["deliverables"].as_array().unwrap() {
        let Some(content) = deliverable["content"].as_str() else {
            continue;
        };
        assert_eq!(
            streamed_text(events, deliverable["id"].as_str().unwrap()),
            content,
            "deltas of {}",
            deliverable["label"]
        );
    }
}

/// The text of a deliverable's deltas after its latest reset.
pub fn streamed_text(events: &[Value], deliverable: &str) -> String {
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["deliverableId"] == deliverable)
        .collect();
    let start = mine
        .iter()
        .rposition(|e| e["kind"] == "COMPOSER_RESET")
        .expect("a reset");
    mine[start + 1..]
        .iter()
        .filter(|e| e["kind"] == "COMPOSER_DELTA")
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

/// The kinds of the history, in order, with consecutive deltas folded into one.
pub fn outline(events: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let kind = match e["kind"].as_str().unwrap() {
            "STATE_CHANGED" => format!("STATE_CHANGED({})", e["state"].as_str().unwrap()),
            k => k.to_owned(),
        };
        if kind == "COMPOSER_DELTA" && out.last().map(String::as_str) == Some("COMPOSER_DELTA") {
            continue;
        }
        out.push(kind);
    }
    out
}
