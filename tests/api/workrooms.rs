//! Workrooms through the API: a run from goal to finished deliverable, and
//! everything a member does to one on the way (pause, resume, cancel,
//! replan, revisions, sources, messages, constraints), the refusals of the
//! transition table, allowedActions, roles, tenancy, input limits, the
//! history's paging, the workroom list and the activity entries.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use atelya::{
    config::Config,
    llm::{builtin::BuiltinModel, LanguageModel, ModelError, ModelRequest, ModelStream, Purpose},
};
use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

db_test! {
    async fn a_workroom_runs_from_its_goal_to_a_finished_deliverable(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        assert_eq!(
            outline(&events),
            [
                "STATE_CHANGED(PLANNING)", "CREDITS_CHARGED", "PLAN_CREATED", "STATE_CHANGED(EXECUTING)",
                "TASK_STARTED", "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPOSING)",
                "TASK_STARTED", "COMPOSER_RESET", "COMPOSER_DELTA", "DELIVERABLE_UPDATED",
                "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPLETED)",
            ]
        );
        let deliverable = &room["deliverables"][0];
        assert_eq!(deliverable["version"], 1);
        assert!(deliverable["content"].as_str().unwrap().starts_with("# Proposal"));
        assert_eq!(room["creditsReserved"], 0);
        let charged: i64 = events.iter().filter(|e| e["kind"] == "CREDITS_CHARGED").map(|e| e["data"]["credits"].as_i64().unwrap()).sum();
        assert_eq!(room["creditsSpent"], json!(charged));
        let credits = app.ok(Some(&ann.token), "{ workspace { credits { balance reserved } } }", json!({})).await;
        assert_eq!(credits["workspace"]["credits"]["balance"], json!(500 - charged));
        assert_eq!(credits["workspace"]["credits"]["reserved"], 0);
    }
}

// ------------------------------------------------------------------ helpers

/// Slows the built-in model to `ms` per token, so a run can be caught mid-step.
fn slow(ms: u64) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| c.engine.builtin_token_delay_ms = ms
}

/// The state of a workroom a refused call must leave untouched: the row,
/// its parts, its activity, and the workspace's credits.
const SNAPSHOT: &str = "query($id: ID!) {
    workroom(id: $id) {
        state stateReason lastSeq revisionRound creditsSpent creditsReserved allowedActions
        constraints { deadline maxCredits pasteFlags approval { requiredRole requiredApprovals } }
        sources { id kind title content }
        tasks { id state creditsUsed error }
        deliverables { id version content }
        activity(first: 100) { nodes { id action } }
    }
    workspace { credits { balance reserved } workrooms(first: 100) { nodes { id } } }
}";

/// The fields of an activity entry the tests read.
const ACTIVITY_FIELDS: &str = "action actor { id } targetType targetId summary metadata";

/// A workroom input whose plan holds an approval (OWNER, 1) before composing,
/// so the run waits, stably, in EXECUTING once the drafting task is done.
fn gated(title: &str) -> Value {
    let mut input = input(title);
    input["constraints"] =
        json!({ "approval": { "requiredRole": "OWNER", "requiredApprovals": 1 } });
    input
}

/// The query and variables of a workroom mutation, by its field name, on the workroom `id`.
fn mutation(name: &str, id: &str) -> (String, Value) {
    match name {
        "pauseWorkroom" | "resumeWorkroom" | "cancelWorkroom" | "replanWorkroom" => (
            format!("mutation($id: ID!) {{ {name}(id: $id) {{ id state }} }}"),
            json!({ "id": id }),
        ),
        "requestRevision" => (
            "mutation($id: ID!, $n: String!) { requestRevision(id: $id, notes: $n) { id state } }".into(),
            json!({ "id": id, "n": "Make the key points shorter" }),
        ),
        "addSource" => (
            "mutation($id: ID!, $s: SourceInput!) { addSource(workroomId: $id, input: $s) { id } }".into(),
            json!({ "id": id, "s": { "kind": "NOTES", "title": "Call notes", "content": "They liked the reels." } }),
        ),
        "postMessage" => (
            "mutation($id: ID!, $b: String!) { postMessage(workroomId: $id, body: $b) { seq } }".into(),
            json!({ "id": id, "b": "Looks good so far" }),
        ),
        "updateConstraints" => (
            "mutation($id: ID!, $c: ConstraintsInput!) { updateConstraints(workroomId: $id, input: $c) { id } }".into(),
            json!({ "id": id, "c": { "maxCredits": 400, "pasteFlags": ["no-emoji"] } }),
        ),
        other => panic!("no such workroom mutation: {other}"),
    }
}

/// Every mutation on an existing workroom.
const ALL_MUTATIONS: [&str; 8] = [
    "addSource",
    "updateConstraints",
    "pauseWorkroom",
    "resumeWorkroom",
    "cancelWorkroom",
    "replanWorkroom",
    "requestRevision",
    "postMessage",
];

fn strings(values: &Value) -> Vec<String> {
    values
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {values}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// The position of the first STATE_CHANGED to `state`.
fn state_change(events: &[Value], state: &str) -> usize {
    events
        .iter()
        .position(|e| e["kind"] == "STATE_CHANGED" && e["state"] == state)
        .unwrap_or_else(|| panic!("no STATE_CHANGED({state}) in {:?}", outline(events)))
}

fn charged(events: &[Value]) -> i64 {
    events
        .iter()
        .filter(|e| e["kind"] == "CREDITS_CHARGED")
        .map(|e| e["data"]["credits"].as_i64().unwrap())
        .sum()
}

impl TestApp {
    /// Runs a workroom mutation by name; returns the whole body.
    async fn mutate(&self, token: &str, name: &str, id: &str) -> Value {
        let (query, variables) = mutation(name, id);
        self.gql(Some(token), &query, variables).await
    }

    /// Runs `pauseWorkroom`, `resumeWorkroom`, `cancelWorkroom` or
    /// `replanWorkroom`, asserting it succeeds; returns the workroom with [`ROOM`]'s fields.
    async fn lifecycle(&self, token: &str, name: &str, id: &str) -> Value {
        let query = format!("mutation($id: ID!) {{ {name}(id: $id) {{ {ROOM} }} }}");
        self.ok(Some(token), &query, json!({ "id": id })).await[name].clone()
    }

    async fn request_revision(&self, token: &str, id: &str, notes: &str) -> Value {
        let query = format!(
            "mutation($id: ID!, $n: String!) {{ requestRevision(id: $id, notes: $n) {{ {ROOM} }} }}"
        );
        self.gql(Some(token), &query, json!({ "id": id, "n": notes }))
            .await
    }

    async fn add_source(&self, token: &str, id: &str, source: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($id: ID!, $s: SourceInput!) { addSource(workroomId: $id, input: $s) { id kind title content } }",
            json!({ "id": id, "s": source }),
        )
        .await
    }

    async fn post_message(&self, token: &str, id: &str, body: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($id: ID!, $b: String!) { postMessage(workroomId: $id, body: $b) { seq kind text workroomId actor { id } } }",
            json!({ "id": id, "b": body }),
        )
        .await
    }

    async fn update_constraints(&self, token: &str, id: &str, constraints: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($id: ID!, $c: ConstraintsInput!) { updateConstraints(workroomId: $id, input: $c) {
                state constraints { deadline maxCredits pasteFlags approval { requiredRole requiredApprovals } } } }",
            json!({ "id": id, "c": constraints }),
        )
        .await
    }

    async fn snapshot(&self, token: &str, id: &str) -> Value {
        self.ok(Some(token), SNAPSHOT, json!({ "id": id })).await
    }

    /// Asserts that `name` on the workroom `id` is refused with `expected`
    /// and changes nothing. For workrooms at rest only (see [`TestApp::settled`]).
    async fn refused(&self, token: &str, observer: &str, id: &str, name: &str, expected: &str) {
        let before = self.snapshot(observer, id).await;
        let body = self.mutate(token, name, id).await;
        assert_eq!(code(&body), expected, "{name}: {body}");
        assert!(body["data"].is_null(), "{name} returned data: {body}");
        let after = self.snapshot(observer, id).await;
        assert_eq!(before, after, "{name} was refused but changed something");
    }

    /// Like [`TestApp::refused`] with CONFLICT, for a workroom the engine is
    /// still running: each of `names` is refused, the state stays, and they
    /// add no activity entry and no event of a member.
    async fn refused_while_running(&self, token: &str, id: &str, names: &[&str]) {
        let before = self.snapshot(token, id).await["workroom"].clone();
        for name in names {
            let body = self.mutate(token, name, id).await;
            assert_eq!(
                code(&body),
                "CONFLICT",
                "{name} while {}: {body}",
                before["state"]
            );
        }
        let after = self.snapshot(token, id).await["workroom"].clone();
        assert_eq!(
            before["state"], after["state"],
            "{names:?} moved the workroom"
        );
        assert_eq!(
            before["activity"], after["activity"],
            "{names:?} wrote activity"
        );
        let since = before["lastSeq"].as_i64().unwrap();
        let by_members: Vec<Value> = self
            .history(token, id)
            .await
            .into_iter()
            .filter(|e| e["seq"].as_i64().unwrap() > since && !e["actor"].is_null())
            .collect();
        assert!(by_members.is_empty(), "{names:?} appended {by_members:?}");
    }

    /// Polls until the workroom holds no credits and runs no task: any
    /// attempt a pause or a cancel interrupted has been settled.
    async fn settled(&self, token: &str, id: &str) -> Value {
        eventually(Duration::from_secs(20), move || async move {
            let room = self.room(token, id).await;
            let running = room["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["state"] == "RUNNING");
            if room["creditsReserved"] == 0 && !running {
                return Ok(room);
            }
            Err(format!("still holding credits or running a task: {room}"))
        })
        .await
    }

    /// Asserts that the workroom's history does not grow any more: it is the
    /// same after the engine has looked for work twice more.
    async fn assert_at_rest(&self, token: &str, id: &str) -> Value {
        let room = self.settled(token, id).await;
        self.after_passes(|r| &r.engine, 2).await;
        let later = self.room(token, id).await;
        assert_eq!(
            room["lastSeq"], later["lastSeq"],
            "the history grew at rest"
        );
        assert_eq!(room["state"], later["state"]);
        later
    }

    /// The workroom's own activity entries, newest first.
    async fn room_activity(&self, token: &str, id: &str) -> Vec<Value> {
        let query = format!(
            "query($id: ID!) {{ workroom(id: $id) {{ activity(first: 100) {{ nodes {{ {ACTIVITY_FIELDS} }} }} }} }}"
        );
        self.ok(Some(token), &query, json!({ "id": id })).await["workroom"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The workspace's activity entries, newest first.
    async fn workspace_activity(&self, token: &str) -> Vec<Value> {
        let query = format!(
            "{{ workspace {{ activity(first: 100) {{ nodes {{ {ACTIVITY_FIELDS} }} }} }} }}"
        );
        self.ok(Some(token), &query, json!({})).await["workspace"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// A task by `node(id)`, or null.
    async fn task_node(&self, token: &str, id: &str) -> Value {
        self.ok(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on Task { id state kind error } } }",
            json!({ "id": id }),
        )
        .await["node"]
            .clone()
    }

    /// The titles of `workspace.workrooms(filter, first, after)`, and its pageInfo.
    async fn workroom_titles(
        &self,
        token: &str,
        filter: Value,
        first: i64,
        after: Value,
    ) -> (Vec<String>, Value) {
        let data = self
            .ok(
                Some(token),
                "query($f: WorkroomFilter, $first: Int, $after: String) { workspace { workrooms(filter: $f, first: $first, after: $after) {
                    nodes { title } pageInfo { hasNextPage endCursor } } } }",
                json!({ "f": filter, "first": first, "after": after }),
            )
            .await;
        let list = &data["workspace"]["workrooms"];
        let titles = list["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect();
        (titles, list["pageInfo"].clone())
    }
}

// ------------------------------------------------------------ pause, resume

db_test! {
    async fn pausing_mid_compose_charges_the_partial_attempt_and_resuming_composes_afresh(app)
    with slow(8);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        app.wait_for_event(&ann.token, &id, "COMPOSER_DELTA").await;

        let paused = app.lifecycle(&ann.token, "pauseWorkroom", &id).await;

        assert_eq!(paused["state"], "PAUSED");
        assert!(strings(&paused["allowedActions"]).contains(&"RESUME".to_owned()), "{paused}");
        let room = app.assert_at_rest(&ann.token, &id).await;
        assert_eq!(room["state"], "PAUSED");
        assert_eq!(room["stateReason"], Value::Null);
        assert_eq!(room["creditsReserved"], 0);
        let compose = room["tasks"].as_array().unwrap().iter().find(|t| t["kind"] == "COMPOSE").unwrap().clone();
        assert_eq!(compose["state"], "PENDING", "the interrupted task goes back: {room}");
        assert_eq!(room["deliverables"][0]["content"], Value::Null);
        assert_eq!(room["deliverables"][0]["version"], 0);
        let events = app.history(&ann.token, &id).await;
        let pause = state_change(&events, "PAUSED");
        assert_eq!(events[pause]["data"]["from"], "COMPOSING");
        assert_eq!(events[pause]["actor"]["id"], json!(ann.user_id));
        let partial: Vec<&Value> = events[pause..].iter().filter(|e| e["kind"] == "CREDITS_CHARGED").collect();
        assert_eq!(partial.len(), 1, "one charge for the interrupted attempt: {:?}", outline(&events));
        assert_eq!(partial[0]["taskId"], compose["id"]);
        let (credits, held) = (partial[0]["data"]["credits"].as_i64().unwrap(), partial[0]["data"]["held"].as_i64().unwrap());
        assert!(credits >= 1 && credits < held, "partial usage charged, the rest released: {}", partial[0]);
        assert_eq!(room["creditsSpent"], json!(charged(&events)));
        let pool = app.ok(Some(&ann.token), "{ workspace { credits { reserved } } }", json!({})).await;
        assert_eq!(pool["workspace"]["credits"]["reserved"], 0);

        let resumed = app.lifecycle(&ann.token, "resumeWorkroom", &id).await;
        assert_eq!(resumed["state"], "COMPOSING", "back to the state the pause left");

        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        let deliverable = &room["deliverables"][0];
        let did = deliverable["id"].as_str().unwrap();
        let resets: Vec<usize> = events.iter().enumerate()
            .filter(|(_, e)| e["kind"] == "COMPOSER_RESET" && e["deliverableId"] == did && e["data"]["restored"] != true)
            .map(|(i, _)| i).collect();
        assert_eq!(resets.len(), 2, "a reset per compose attempt: {:?}", outline(&events));
        // The interrupted attempt is closed by a restoring reset (the deliverable had no content yet).
        let restored = events.iter().position(|e| e["kind"] == "COMPOSER_RESET" && e["data"]["restored"] == true).expect("a restore");
        assert!(resets[0] < restored && restored < resets[1], "{:?}", outline(&events));
        assert!(events[restored + 1..resets[1]].iter().all(|e| e["kind"] != "COMPOSER_DELTA"), "nothing to restore");
        assert!(resets[1] > state_change(&events, "PAUSED"), "the second reset comes after the pause");
        // What the interrupted attempt streamed was the beginning of the same text.
        let first_attempt: String = events[resets[0]..restored].iter()
            .filter(|e| e["kind"] == "COMPOSER_DELTA" && e["deliverableId"] == did)
            .map(|e| e["text"].as_str().unwrap()).collect();
        let content = deliverable["content"].as_str().unwrap();
        assert!(!first_attempt.is_empty() && content.starts_with(&first_attempt), "{first_attempt:?}");
        assert_eq!(streamed_text(&events, did), content);
        assert_eq!(deliverable["version"], 1, "an interrupted attempt stores no version");
        let resumed_at = events.iter().rposition(|e| e["kind"] == "STATE_CHANGED" && e["state"] == "COMPOSING").unwrap();
        assert_eq!(
            outline(&events[resumed_at..]),
            [
                "STATE_CHANGED(COMPOSING)", "TASK_STARTED", "COMPOSER_RESET", "COMPOSER_DELTA",
                "DELIVERABLE_UPDATED", "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPLETED)",
            ]
        );
        assert_eq!(events[resumed_at + 1]["data"]["attempt"], 2, "the compose task runs again");
        assert_eq!(room["creditsReserved"], 0);
        assert_eq!(room["creditsSpent"], json!(charged(&events)));
    }
}

// ------------------------------------------------------------------ cancel

db_test! {
    async fn cancelling_stops_a_run_in_any_running_state_and_nothing_happens_afterwards(app)
    with slow(10);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        // (state the cancel comes from, how to get there)
        for from in ["PLANNING", "EXECUTING", "COMPOSING", "PAUSED"] {
            let id = app.create_workroom(&ann.token, input(&format!("Cancelled while {from}"))).await;
            match from {
                "PLANNING" => {}
                "EXECUTING" => { app.wait_for_event(&ann.token, &id, "TASK_STARTED").await; }
                "COMPOSING" => { app.wait_for_event(&ann.token, &id, "COMPOSER_DELTA").await; }
                _ => {
                    app.wait_for_event(&ann.token, &id, "TASK_STARTED").await;
                    assert_eq!(app.lifecycle(&ann.token, "pauseWorkroom", &id).await["state"], "PAUSED");
                }
            }

            let cancelled = app.lifecycle(&ann.token, "cancelWorkroom", &id).await;

            assert_eq!(cancelled["state"], "CANCELLED", "from {from}");
            assert_eq!(cancelled["allowedActions"], json!([]));
            let room = app.assert_at_rest(&ann.token, &id).await;
            assert_eq!(room["state"], "CANCELLED");
            assert_eq!(room["creditsReserved"], 0);
            let events = app.history(&ann.token, &id).await;
            assert_history(&events, &room);
            let at = state_change(&events, "CANCELLED");
            assert_eq!(events[at]["data"]["from"], from, "{:?}", outline(&events));
            assert_eq!(events[at]["actor"]["id"], json!(ann.user_id));
            // Only the end of the attempt the cancel interrupted may follow: the
            // deliverable's restore (a reset and its content) and its settlement.
            let after: Vec<String> = outline(&events[at + 1..]);
            let closing = ["COMPOSER_RESET", "COMPOSER_DELTA", "CREDITS_CHARGED"];
            assert!(
                after.iter().all(|k| closing.contains(&k.as_str())) && after.iter().filter(|k| *k == "CREDITS_CHARGED").count() <= 1,
                "from {from}, after the cancel: {after:?}"
            );
            assert_eq!(room["creditsSpent"], json!(charged(&events)));
            assert!(room["deliverables"][0]["content"].is_null(), "nothing was composed");

            // Cancelling again is a conflict and changes nothing.
            app.refused(&ann.token, &ann.token, &id, "cancelWorkroom", "CONFLICT").await;
        }
        let pool = app.ok(Some(&ann.token), "{ workspace { credits { reserved } } }", json!({})).await;
        assert_eq!(pool["workspace"]["credits"]["reserved"], 0);
    }
}

db_test! {
    async fn cancelling_a_revision_mid_compose_keeps_the_history_in_step_with_the_content(app)
    with slow(8);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        let done = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let first = done["deliverables"][0]["content"].as_str().unwrap().to_owned();
        let body = app.request_revision(&ann.token, &id, "Add an owner to every next step").await;
        assert_eq!(body["data"]["requestRevision"]["state"], "AWAITING_REVISION", "{body}");
        // Wait until the revision has streamed part of its text.
        let (client, token, room_id) = (&app, ann.token.as_str(), id.as_str());
        eventually(Duration::from_secs(20), move || async move {
            let events = client.history(token, room_id).await;
            let asked = events.iter().position(|e| e["kind"] == "REVISION_REQUESTED").unwrap();
            match events[asked..].iter().any(|e| e["kind"] == "COMPOSER_DELTA") {
                true => Ok(()),
                false => Err("the revision has streamed nothing yet".to_owned()),
            }
        })
        .await;

        let cancelled = app.lifecycle(&ann.token, "cancelWorkroom", &id).await;

        assert_eq!(cancelled["state"], "CANCELLED");
        let room = app.assert_at_rest(&ann.token, &id).await;
        let deliverable = &room["deliverables"][0];
        assert_eq!(deliverable["version"], 1, "the cancelled revision stored nothing");
        assert_eq!(deliverable["content"], json!(first));
        assert_eq!(room["revisionRound"], 0);
        assert_eq!(room["creditsReserved"], 0);
        let events = app.history(&ann.token, &id).await;
        assert_eq!(events[state_change(&events, "CANCELLED")]["data"]["from"], "AWAITING_REVISION");
        // DESIGN.md: the deltas after a deliverable's latest COMPOSER_RESET add
        // up to its content, so a watcher replaying the history shows what
        // `content` holds.
        assert_history(&events, &room);
    }
}

// ------------------------------------------------------------------ replan

db_test! {
    async fn replanning_a_paused_workroom_discards_its_unfinished_tasks_and_plans_again(app)
    with slow(10);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        app.wait_for_event(&ann.token, &id, "TASK_STARTED").await;
        app.lifecycle(&ann.token, "pauseWorkroom", &id).await;
        let paused = app.settled(&ann.token, &id).await;
        let events = app.history(&ann.token, &id).await;
        assert_eq!(events[state_change(&events, "PAUSED")]["data"]["from"], "EXECUTING");
        let old: Vec<String> = paused["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(old.len(), 2, "drafting and composing: {paused}");
        assert!(paused["tasks"].as_array().unwrap().iter().all(|t| t["state"] == "PENDING"), "{paused}");

        let replanned = app.lifecycle(&ann.token, "replanWorkroom", &id).await;

        assert_eq!(replanned["state"], "PLANNING");
        for task in &old {
            let node = app.task_node(&ann.token, task).await;
            assert_eq!(node["state"], "DISCARDED", "{node}");
        }
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let tasks = room["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2, "only the new plan: {room}");
        assert!(tasks.iter().all(|t| t["state"] == "COMPLETED" && !old.contains(&t["id"].as_str().unwrap().to_owned())), "{room}");
        for task in &old {
            assert_eq!(app.task_node(&ann.token, task).await["state"], "DISCARDED", "discarded tasks stay reachable");
        }
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        let rounds: Vec<&Value> = events.iter().filter(|e| e["kind"] == "PLAN_CREATED").map(|e| &e["data"]["round"]).collect();
        assert_eq!(rounds, [&json!(1), &json!(2)]);
        let replan = events.iter().rposition(|e| e["kind"] == "STATE_CHANGED" && e["state"] == "PLANNING").unwrap();
        assert_eq!(events[replan]["data"]["from"], "PAUSED");
        assert_eq!(events[replan]["actor"]["id"], json!(ann.user_id));
        assert_eq!(room["deliverables"][0]["version"], 1);
        assert_eq!(room["creditsReserved"], 0);
        assert_eq!(room["creditsSpent"], json!(charged(&events)));
        let entry = &app.room_activity(&ann.token, &id).await.into_iter().find(|e| e["action"] == "workroom.replanned").unwrap();
        assert_eq!(entry["metadata"]["discardedTasks"], 2);
    }
}

/// The built-in model, except that AGENT calls fail while `failing` is set.
struct FlakyAgents {
    inner: BuiltinModel,
    failing: Arc<AtomicBool>,
}

const MODEL_DOWN: &str = "the model is unavailable";

impl LanguageModel for FlakyAgents {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        if request.purpose == Purpose::Agent && self.failing.load(Ordering::SeqCst) {
            return Box::pin(futures_util::stream::iter([Err(ModelError(
                MODEL_DOWN.into(),
            ))]));
        }
        self.inner.stream(request)
    }

    fn count_tokens(&self, text: &str) -> u32 {
        self.inner.count_tokens(text)
    }
}

/// Stores a custom agent in `owner`'s workspace straight in the database
/// (this API has no agent mutations yet); returns its global id.
async fn insert_custom_agent(app: &TestApp, owner: &Account, name: &str) -> String {
    use atelya::ids::{decode_any, encode, Kind};
    use sea_orm::{EntityTrait, IntoActiveModel};
    let (_, workspace_id) = decode_any(&owner.workspace_id).expect("a workspace id");
    let (_, user_id) = decode_any(&owner.user_id).expect("a user id");
    let now = chrono::Utc::now();
    let row = entity::agent::Model {
        id: uuid::Uuid::now_v7(),
        workspace_id,
        kind: atelya::agent::AgentKind::Custom,
        name: name.into(),
        description: String::new(),
        instructions: "Write punchy copy.".into(),
        client_name: None,
        created_by: Some(user_id),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    entity::agent::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(app.state.db.conn())
        .await
        .expect("the agent is stored");
    encode(Kind::Agent, row.id)
}

/// A server whose AGENT calls fail until the returned flag is cleared.
async fn spawn_flaky(backend: Backend) -> (TestApp, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(true));
    let model = FlakyAgents {
        inner: BuiltinModel::new(Duration::ZERO),
        failing: failing.clone(),
    };
    let app = spawn_app_with_model(backend, Box::new(|_| {}), Some(Arc::new(model))).await;
    (app, failing)
}

async fn a_task_failing_every_attempt_fails_the_workroom_until_a_replan(backend: Backend) {
    let (app, failing) = spawn_flaky(backend).await;
    let ann = app.signup("ann@example.com", "Acme").await;
    let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;

    let room = app.wait_for(&ann.token, &id, &["FAILED"]).await;

    assert_eq!(room["stateReason"], "TASK_FAILED");
    assert_eq!(
        room["allowedActions"],
        json!(["REPLAN", "ADD_SOURCE", "POST_MESSAGE"])
    );
    assert_eq!(room["creditsReserved"], 0);
    let draft = room["tasks"][0].clone();
    assert_eq!(draft["kind"], "AGENT");
    assert_eq!(draft["state"], "FAILED");
    assert_eq!(draft["error"], MODEL_DOWN);
    assert_eq!(room["tasks"][1]["state"], "PENDING");
    let events = app.history(&ann.token, &id).await;
    assert_history(&events, &room);
    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "TASK_FAILED")
        .collect();
    assert_eq!(failures.len(), 3, "one per attempt: {:?}", outline(&events));
    for (i, failure) in failures.iter().enumerate() {
        assert_eq!(failure["taskId"], draft["id"]);
        assert_eq!(failure["data"]["attempt"], json!(i + 1));
        assert_eq!(failure["data"]["error"], MODEL_DOWN);
        assert_eq!(failure["data"]["final"], json!(i == 2));
    }
    assert_eq!(count(&events, "TASK_STARTED"), 3);
    let last = events.last().unwrap();
    assert_eq!(
        (&last["kind"], &last["state"]),
        (&json!("STATE_CHANGED"), &json!("FAILED"))
    );
    assert_eq!(last["data"]["from"], "EXECUTING");
    assert!(last["actor"].is_null());
    assert_eq!(room["creditsSpent"], json!(charged(&events)));
    let activity = app.room_activity(&ann.token, &id).await;
    assert_eq!(activity[0]["action"], "workroom.failed");
    assert!(
        activity[0]["actor"].is_null(),
        "the engine fails a workroom: {}",
        activity[0]
    );
    assert_eq!(activity[0]["targetId"], json!(id));
    assert_eq!(activity[0]["metadata"]["reason"], "TASK_FAILED");

    // A failed workroom waits for a replan: nothing else moves it.
    for name in [
        "pauseWorkroom",
        "resumeWorkroom",
        "cancelWorkroom",
        "requestRevision",
        "updateConstraints",
    ] {
        app.refused(&ann.token, &ann.token, &id, name, "CONFLICT")
            .await;
    }

    failing.store(false, Ordering::SeqCst);
    let replanned = app.lifecycle(&ann.token, "replanWorkroom", &id).await;

    assert_eq!(replanned["state"], "PLANNING");
    assert_eq!(replanned["stateReason"], Value::Null);
    let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
    let node = app
        .task_node(&ann.token, draft["id"].as_str().unwrap())
        .await;
    assert_eq!(node["state"], "DISCARDED");
    assert_eq!(node["error"], MODEL_DOWN);
    assert!(
        room["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "COMPLETED" && t["id"] != draft["id"]),
        "{room}"
    );
    assert_eq!(room["deliverables"][0]["version"], 1);
    assert_eq!(room["creditsReserved"], 0);
    let events = app.history(&ann.token, &id).await;
    assert_history(&events, &room);
    assert_eq!(room["creditsSpent"], json!(charged(&events)));
    let replan = events
        .iter()
        .rposition(|e| e["kind"] == "STATE_CHANGED" && e["state"] == "PLANNING")
        .unwrap();
    assert_eq!(events[replan]["data"]["from"], "FAILED");
    let actions: Vec<Value> = app
        .room_activity(&ann.token, &id)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("workroom.completed"),
            json!("workroom.replanned"),
            json!("workroom.failed"),
            json!("workroom.created")
        ]
    );
}

mod a_task_failing_every_attempt_fails_the_workroom_until_a_replan {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_task_failing_every_attempt_fails_the_workroom_until_a_replan(Backend::Sqlite)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
    async fn postgres() {
        let Some(backend) = Backend::postgres() else {
            return;
        };
        super::a_task_failing_every_attempt_fails_the_workroom_until_a_replan(backend).await;
    }
}

// ---------------------------------------------------------------- revision

db_test! {
    async fn a_revision_rewrites_the_deliverable_with_the_notes(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        let before = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let first = before["deliverables"][0]["content"].as_str().unwrap().to_owned();
        for notes in ["", "   ", &"n".repeat(10_001)] {
            let (query, mut variables) = mutation("requestRevision", &id);
            variables["n"] = json!(notes);
            let snapshot = app.snapshot(&ann.token, &id).await;
            let body = app.gql(Some(&ann.token), &query, variables).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "notes of {} characters", notes.len());
            assert_eq!(app.snapshot(&ann.token, &id).await, snapshot);
        }
        let notes = "Add an owner and a deadline to every next step";

        let body = app.request_revision(&ann.token, &id, notes).await;

        let asked = &body["data"]["requestRevision"];
        assert_eq!(asked["state"], "AWAITING_REVISION", "{body}");
        assert_eq!(asked["revisionRound"], 0);
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        assert_eq!(room["revisionRound"], 1);
        let deliverable = &room["deliverables"][0];
        assert_eq!(deliverable["version"], 2);
        let content = deliverable["content"].as_str().unwrap();
        assert_ne!(content, first);
        assert!(content.contains(notes), "the revision mentions the notes:\n{content}");
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        let asked_at = events.iter().position(|e| e["kind"] == "REVISION_REQUESTED").unwrap();
        assert_eq!(events[asked_at]["text"], notes);
        assert_eq!(events[asked_at]["actor"]["id"], json!(ann.user_id));
        assert_eq!(
            outline(&events[asked_at - 1..]),
            [
                "STATE_CHANGED(AWAITING_REVISION)", "REVISION_REQUESTED", "TASK_STARTED", "COMPOSER_RESET",
                "COMPOSER_DELTA", "DELIVERABLE_UPDATED", "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPLETED)",
            ],
            "a revision composes again without planning again"
        );
        let updated = events.iter().rfind(|e| e["kind"] == "DELIVERABLE_UPDATED").unwrap();
        assert_eq!(updated["data"]["version"], 2);
        assert_eq!(count(&events, "COMPOSER_RESET"), 2);
        assert_eq!(room["creditsReserved"], 0);
        assert_eq!(room["creditsSpent"], json!(charged(&events)));
    }
}

// -------------------------------------------------------- transition table

db_test! {
    async fn the_transition_table_refuses_everything_it_does_not_list(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        // COMPLETED
        let done = app.create_workroom(&ann.token, input("Done")).await;
        app.wait_for(&ann.token, &done, &["COMPLETED"]).await;
        for name in ["pauseWorkroom", "resumeWorkroom", "cancelWorkroom", "replanWorkroom", "updateConstraints"] {
            app.refused(&ann.token, &ann.token, &done, name, "CONFLICT").await;
        }

        // EXECUTING, waiting for an approval
        let gate = app.create_workroom(&ann.token, gated("Gated")).await;
        app.wait_for_event(&ann.token, &gate, "APPROVAL_REQUESTED").await;
        assert_eq!(app.settled(&ann.token, &gate).await["state"], "EXECUTING");
        for name in ["resumeWorkroom", "requestRevision"] {
            app.refused(&ann.token, &ann.token, &gate, name, "CONFLICT").await;
        }

        // PAUSED
        assert_eq!(app.lifecycle(&ann.token, "pauseWorkroom", &gate).await["state"], "PAUSED");
        for name in ["pauseWorkroom", "requestRevision"] {
            app.refused(&ann.token, &ann.token, &gate, name, "CONFLICT").await;
        }

        // CANCELLED
        assert_eq!(app.lifecycle(&ann.token, "cancelWorkroom", &gate).await["state"], "CANCELLED");
        for name in ALL_MUTATIONS {
            app.refused(&ann.token, &ann.token, &gate, name, "CONFLICT").await;
        }
    }
}

db_test! {
    async fn a_running_workroom_refuses_what_its_state_does_not_allow(app)
    with slow(10);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;

        // PLANNING: only credits pause planning; nothing to resume, replan or revise.
        app.refused_while_running(&ann.token, &id, &["pauseWorkroom", "resumeWorkroom", "replanWorkroom", "requestRevision"]).await;

        // COMPOSING
        app.wait_for_event(&ann.token, &id, "COMPOSER_DELTA").await;
        app.refused_while_running(&ann.token, &id, &["replanWorkroom", "resumeWorkroom", "requestRevision"]).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        assert_eq!(count(&events, "PLAN_CREATED"), 1);
        assert_eq!(count(&events, "COMPOSER_RESET"), 1, "the refusals did not interrupt the Composer");
        assert_eq!(room["deliverables"][0]["version"], 1);

        // AWAITING_REVISION: it can be cancelled, not paused, replanned or revised again.
        let body = app.request_revision(&ann.token, &id, "Shorter, please").await;
        assert_eq!(body["data"]["requestRevision"]["state"], "AWAITING_REVISION", "{body}");
        app.refused_while_running(&ann.token, &id, &["pauseWorkroom", "resumeWorkroom", "replanWorkroom", "requestRevision"]).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        assert_eq!(room["revisionRound"], 1);
        assert_eq!(room["deliverables"][0]["version"], 2);
        assert_history(&app.history(&ann.token, &id).await, &room);
    }
}

// ---------------------------------------------------------- allowedActions

db_test! {
    async fn allowed_actions_follow_the_state_and_the_role(app)
    with slow(8);
    {
        let (owner, team) = app.team(&["VIEWER"]).await;
        let viewer = &team[0];
        let actions_of = |room: &Value| strings(&room["allowedActions"]);
        let viewer_sees_none = |id: String| {
            let app = &app;
            let token = viewer.token.clone();
            async move {
                let data = app.ok(Some(&token), "query($id: ID!) { workroom(id: $id) { state allowedActions } }", json!({ "id": id })).await;
                assert_eq!(data["workroom"]["allowedActions"], json!([]), "a viewer may do nothing: {data}");
            }
        };

        let created = app.ok(Some(&owner.token), "mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id state allowedActions } }", json!({ "i": input("Live") })).await;
        let created = &created["createWorkroom"];
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["state"], "PLANNING");
        assert_eq!(actions_of(created), ["CANCEL", "ADD_SOURCE", "POST_MESSAGE"]);
        viewer_sees_none(id.clone()).await;

        app.wait_for_event(&owner.token, &id, "COMPOSER_DELTA").await;
        let room = app.room(&owner.token, &id).await;
        assert_eq!(room["state"], "COMPOSING");
        assert_eq!(actions_of(&room), ["PAUSE", "CANCEL", "ADD_SOURCE", "POST_MESSAGE"]);
        viewer_sees_none(id.clone()).await;

        let room = app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
        // Composed content can be exported from then on, whatever the state.
        assert_eq!(actions_of(&room), ["REQUEST_REVISION", "ADD_SOURCE", "POST_MESSAGE", "EXPORT"]);
        viewer_sees_none(id.clone()).await;

        let revising = app.request_revision(&owner.token, &id, "Shorter, please").await;
        let revising = &revising["data"]["requestRevision"];
        assert_eq!(revising["state"], "AWAITING_REVISION");
        assert_eq!(actions_of(revising), ["CANCEL", "ADD_SOURCE", "POST_MESSAGE", "EXPORT"]);
        viewer_sees_none(id.clone()).await;
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;

        let gate = app.create_workroom(&owner.token, gated("Gated")).await;
        app.wait_for_event(&owner.token, &gate, "APPROVAL_REQUESTED").await;
        let room = app.settled(&owner.token, &gate).await;
        assert_eq!(room["state"], "EXECUTING");
        assert_eq!(actions_of(&room), ["PAUSE", "CANCEL", "REPLAN", "ADD_SOURCE", "POST_MESSAGE"]);
        viewer_sees_none(gate.clone()).await;
        let paused = app.lifecycle(&owner.token, "pauseWorkroom", &gate).await;
        assert_eq!(paused["state"], "PAUSED");
        assert_eq!(actions_of(&paused), ["RESUME", "CANCEL", "REPLAN", "ADD_SOURCE", "POST_MESSAGE"]);
        viewer_sees_none(gate.clone()).await;

        let cancelled = app.lifecycle(&owner.token, "cancelWorkroom", &gate).await;
        assert_eq!(cancelled["state"], "CANCELLED");
        assert_eq!(cancelled["allowedActions"], json!([]));
        viewer_sees_none(gate.clone()).await;
    }
}

// ------------------------------------------------------- roles and tenancy

db_test! {
    async fn viewers_may_only_watch_and_members_may_work(app);
    {
        let (owner, team) = app.team(&["VIEWER", "MEMBER"]).await;
        let (viewer, member) = (&team[0], &team[1]);
        let id = app.create_workroom(&owner.token, gated("Gated")).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        app.settled(&owner.token, &id).await;

        let body = app.gql(Some(&viewer.token), CREATE, json!({ "input": input("Nope") })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        for name in ALL_MUTATIONS {
            app.refused(&viewer.token, &owner.token, &id, name, "FORBIDDEN").await;
        }
        let seen = app.room(&viewer.token, &id).await;
        assert_eq!(seen["state"], "EXECUTING", "viewers read workrooms");
        let listed = app.workroom_titles(&viewer.token, Value::Null, 10, Value::Null).await.0;
        assert_eq!(listed, ["Gated"], "the viewer created nothing");

        // A member does every one of them.
        for name in ["addSource", "updateConstraints", "postMessage"] {
            let body = app.mutate(&member.token, name, &id).await;
            assert!(body.get("errors").is_none(), "{name}: {body}");
        }
        assert_eq!(app.lifecycle(&member.token, "pauseWorkroom", &id).await["state"], "PAUSED");
        assert_eq!(app.lifecycle(&member.token, "resumeWorkroom", &id).await["state"], "EXECUTING");
        assert_eq!(app.lifecycle(&member.token, "replanWorkroom", &id).await["state"], "PLANNING");
        assert_eq!(app.lifecycle(&member.token, "cancelWorkroom", &id).await["state"], "CANCELLED");
        let own = app.create_workroom(&member.token, input("Member's")).await;
        app.wait_for(&member.token, &own, &["COMPLETED"]).await;
        let body = app.request_revision(&member.token, &own, "Shorter, please").await;
        assert_eq!(body["data"]["requestRevision"]["state"], "AWAITING_REVISION", "{body}");
        assert_eq!(app.wait_for(&member.token, &own, &["COMPLETED"]).await["revisionRound"], 1);
        let by_member: Vec<Value> = app.workspace_activity(&owner.token).await.into_iter()
            .filter(|e| e["actor"]["id"] == json!(member.user_id) && e["action"].as_str().unwrap().starts_with("workroom."))
            .map(|e| e["action"].clone()).collect();
        assert_eq!(
            by_member,
            [
                "workroom.revision_requested", "workroom.created", "workroom.cancelled", "workroom.replanned",
                "workroom.resumed", "workroom.paused", "workroom.message_posted", "workroom.constraints_updated",
                "workroom.source_added",
            ]
        );
    }
}

db_test! {
    async fn another_workspaces_workroom_is_not_found(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let eve = app.signup("eve@example.com", "Elsewhere").await;
        let id = app.create_workroom(&ann.token, gated("Secret plans")).await;
        app.wait_for_event(&ann.token, &id, "APPROVAL_REQUESTED").await;
        let room = app.settled(&ann.token, &id).await;
        let approval = room["tasks"].as_array().unwrap().iter().find(|t| t["kind"] == "APPROVAL").unwrap()["id"].clone();

        for name in ALL_MUTATIONS {
            app.refused(&eve.token, &ann.token, &id, name, "NOT_FOUND").await;
        }
        let before = app.snapshot(&ann.token, &id).await;
        let body = app.gql(Some(&eve.token), "mutation($t: ID!) { grantApproval(taskId: $t) { id } }", json!({ "t": approval })).await;
        assert_eq!(code(&body), "NOT_FOUND");
        assert_eq!(app.snapshot(&ann.token, &id).await, before);

        let data = app.ok(Some(&eve.token), "query($id: ID!) { workroom(id: $id) { id } node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(data, json!({ "workroom": null, "node": null }));
        let parts = [
            approval.as_str().unwrap().to_owned(),
            room["deliverables"][0]["id"].as_str().unwrap().to_owned(),
            before["workroom"]["sources"][0]["id"].as_str().unwrap().to_owned(),
        ];
        for part in parts {
            let data = app.ok(Some(&eve.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": part })).await;
            assert_eq!(data["node"], Value::Null, "{part}");
        }
        assert!(app.workroom_titles(&eve.token, Value::Null, 10, Value::Null).await.0.is_empty());
        assert!(app.workspace_activity(&eve.token).await.iter().all(|e| !e["action"].as_str().unwrap().starts_with("workroom.")));
    }
}

// -------------------------------------------------------- input validation

db_test! {
    async fn workroom_input_is_accepted_up_to_its_limits_and_refused_one_past(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let eve = app.signup("eve@example.com", "Elsewhere").await;
        let theirs = insert_custom_agent(&app, &eve, "Copywriter").await;
        let unknown = atelya::ids::encode(atelya::ids::Kind::Agent, uuid::Uuid::now_v7());

        let with = |field: &str, value: Value| {
            let mut i = input("Q3 proposal");
            i[field] = value;
            i
        };
        let refusals = [
            ("goal of 20,001", with("goal", json!("é".repeat(20_001))), "BAD_USER_INPUT"),
            ("title of 201", with("title", json!("é".repeat(201))), "BAD_USER_INPUT"),
            ("blank title", with("title", json!("   ")), "BAD_USER_INPUT"),
            ("source of 200,001", with("sources", json!([{ "kind": "BRIEF", "content": "a".repeat(200_001) }])), "BAD_USER_INPUT"),
            ("no deliverables", with("deliverables", json!([])), "BAD_USER_INPUT"),
            ("unknown agent", with("agentIds", json!([unknown])), "NOT_FOUND"),
            ("another workspace's agent", with("agentIds", json!([theirs])), "NOT_FOUND"),
        ];
        for (what, bad, expected) in refusals {
            let body = app.gql(Some(&ann.token), CREATE, json!({ "input": bad })).await;
            assert_eq!(code(&body), expected, "{what}: {body}");
        }
        assert!(app.workroom_titles(&ann.token, Value::Null, 10, Value::Null).await.0.is_empty(), "nothing was created");
        assert!(app.workspace_activity(&ann.token).await.iter().all(|e| e["action"] != "workroom.created"));

        let mut at_limits = input(&"é".repeat(200));
        at_limits["goal"] = json!("é".repeat(20_000));
        at_limits["sources"] = json!([{ "kind": "BRIEF", "title": "t".repeat(200), "content": "a".repeat(200_000) }]);
        let mine = insert_custom_agent(&app, &ann, "Strategist").await;
        at_limits["agentIds"] = json!([mine]);
        let id = app.create_workroom(&ann.token, at_limits).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        assert_history(&app.history(&ann.token, &id).await, &room);
        let data = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { title goal sources { content } agents { id } } }", json!({ "id": id })).await;
        assert_eq!(data["workroom"]["agents"], json!([{ "id": mine }]));
        assert_eq!(data["workroom"]["title"].as_str().unwrap().chars().count(), 200);
        assert_eq!(data["workroom"]["goal"].as_str().unwrap().chars().count(), 20_000);
        assert_eq!(data["workroom"]["sources"][0]["content"].as_str().unwrap().len(), 200_000);

        // addSource and postMessage, on the finished workroom.
        let body = app.add_source(&ann.token, &id, json!({ "kind": "NOTES", "content": "b".repeat(200_000) })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let body = app.post_message(&ann.token, &id, &"m".repeat(10_000)).await;
        assert_eq!(body["data"]["postMessage"]["text"].as_str().unwrap().len(), 10_000, "{body}");
        let before = app.snapshot(&ann.token, &id).await;
        let body = app.add_source(&ann.token, &id, json!({ "kind": "NOTES", "content": "b".repeat(200_001) })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        for bad in [String::new(), "  ".into(), "m".repeat(10_001)] {
            let body = app.post_message(&ann.token, &id, &bad).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "a message of {} characters", bad.len());
        }
        assert_eq!(app.snapshot(&ann.token, &id).await, before, "nothing changed");
        assert_eq!(before["workroom"]["sources"].as_array().unwrap().len(), 2);
    }
}

// ---------------------------------- sources, messages and constraints

db_test! {
    async fn sources_messages_and_constraints_are_added_and_shown(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, gated("Gated")).await;
        app.wait_for_event(&ann.token, &id, "APPROVAL_REQUESTED").await;
        app.settled(&ann.token, &id).await;

        let body = app.add_source(&ann.token, &id, json!({ "kind": "SAMPLE", "title": "  Last year's post  ", "content": "Gear up for autumn." })).await;
        let source = &body["data"]["addSource"];
        assert_eq!(source["kind"], "SAMPLE", "{body}");
        assert_eq!(source["title"], "Last year's post");
        let data = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { sources { id kind title content } } }", json!({ "id": id })).await;
        let sources = data["workroom"]["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0]["kind"], "BRIEF");
        assert_eq!(&sources[1], source);
        assert_eq!(sources[1]["content"], "Gear up for autumn.");

        let body = app.post_message(&ann.token, &id, "  Can we mention the autumn range?  ").await;
        let message = &body["data"]["postMessage"];
        assert_eq!(message["kind"], "MESSAGE", "{body}");
        assert_eq!(message["text"], "Can we mention the autumn range?");
        assert_eq!(message["actor"]["id"], json!(ann.user_id));
        assert_eq!(message["workroomId"], json!(id));
        let room = app.room(&ann.token, &id).await;
        assert_eq!(room["lastSeq"], message["seq"]);
        let events = app.history(&ann.token, &id).await;
        assert_eq!(events.last().unwrap()["kind"], "MESSAGE");
        assert_eq!(events.last().unwrap()["text"], "Can we mention the autumn range?");
        assert_eq!(events.last().unwrap()["actor"]["id"], json!(ann.user_id));

        let body = app.update_constraints(&ann.token, &id, json!({
            "deadline": "2030-01-31T17:00:00Z",
            "maxCredits": 250,
            "pasteFlags": ["no-emoji", " uk-spelling "],
            "approval": { "requiredRole": "ADMIN", "requiredApprovals": 2 },
        })).await;
        let expected = json!({
            "deadline": "2030-01-31T17:00:00+00:00",
            "maxCredits": 250,
            "pasteFlags": ["no-emoji", "uk-spelling"],
            "approval": { "requiredRole": "ADMIN", "requiredApprovals": 2 },
        });
        let shown = &body["data"]["updateConstraints"]["constraints"];
        assert_eq!(shown["maxCredits"], 250, "{body}");
        assert_eq!(shown["pasteFlags"], expected["pasteFlags"]);
        assert_eq!(shown["approval"], expected["approval"]);
        assert!(shown["deadline"].as_str().unwrap().starts_with("2030-01-31T17:00:00"), "{shown}");
        // What a later update leaves out stays as it was.
        let body = app.update_constraints(&ann.token, &id, json!({ "maxCredits": 300 })).await;
        let shown = &body["data"]["updateConstraints"]["constraints"];
        assert_eq!(shown["maxCredits"], 300, "{body}");
        assert_eq!(shown["pasteFlags"], expected["pasteFlags"]);
        assert_eq!(shown["approval"], expected["approval"]);
        assert_eq!(app.snapshot(&ann.token, &id).await["workroom"]["constraints"], *shown);
        for bad in [json!({ "maxCredits": 0 }), json!({ "approval": { "requiredRole": "MEMBER", "requiredApprovals": 0 } }), json!({ "pasteFlags": [""] })] {
            let before = app.snapshot(&ann.token, &id).await;
            let body = app.update_constraints(&ann.token, &id, bad.clone()).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}");
            assert_eq!(app.snapshot(&ann.token, &id).await, before);
        }

        // A cancelled workroom takes no more input.
        app.lifecycle(&ann.token, "cancelWorkroom", &id).await;
        for name in ["addSource", "postMessage", "updateConstraints"] {
            app.refused(&ann.token, &ann.token, &id, name, "CONFLICT").await;
        }

        // A completed one takes sources and messages (they feed a revision), not constraints.
        let done = app.create_workroom(&ann.token, input("Done")).await;
        app.wait_for(&ann.token, &done, &["COMPLETED"]).await;
        assert!(app.mutate(&ann.token, "addSource", &done).await.get("errors").is_none());
        assert!(app.mutate(&ann.token, "postMessage", &done).await.get("errors").is_none());
        app.refused(&ann.token, &ann.token, &done, "updateConstraints", "CONFLICT").await;
    }
}

// ---------------------------------------------------- the history, the list

db_test! {
    async fn the_history_pages_by_seq_with_a_default_of_100_and_at_most_1000(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        // Messages posted concurrently still get gap-free seqs.
        for batch in 0..11 {
            let bodies: Vec<String> = (0..10).map(|i| format!("message {}", batch * 10 + i)).collect();
            let posts = bodies.iter().map(|b| app.post_message(&ann.token, &id, b));
            for body in futures_util::future::join_all(posts).await {
                assert!(body.get("errors").is_none(), "{body}");
            }
        }
        let room = app.room(&ann.token, &id).await;
        let last = room["lastSeq"].as_i64().unwrap();
        assert!(last > 110, "{last}");
        let page = |after: Value, first: Value| {
            let app = &app;
            let token = ann.token.clone();
            let id = id.clone();
            async move {
                app.gql(Some(&token), "query($id: ID!, $a: Int, $f: Int) { workroom(id: $id) { events(afterSeq: $a, first: $f) { seq kind text } } }",
                    json!({ "id": id, "a": after, "f": first })).await
            }
        };
        let seqs = |body: &Value| -> Vec<i64> {
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["workroom"]["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
        };

        assert_eq!(seqs(&page(Value::Null, Value::Null).await), (1..=100).collect::<Vec<_>>(), "100 by default");
        assert_eq!(seqs(&page(json!(100), Value::Null).await), (101..=last).collect::<Vec<_>>());
        assert_eq!(seqs(&page(json!(10), json!(5)).await), [11, 12, 13, 14, 15]);
        assert_eq!(seqs(&page(json!(last), Value::Null).await), Vec::<i64>::new());
        assert_eq!(seqs(&page(Value::Null, json!(0)).await), Vec::<i64>::new());
        assert_eq!(seqs(&page(Value::Null, json!(1000)).await), (1..=last).collect::<Vec<_>>());
        for first in [1001, -1] {
            assert_eq!(code(&page(Value::Null, json!(first)).await), "BAD_USER_INPUT", "first: {first}");
        }

        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        let mut texts: Vec<String> = events.iter().filter(|e| e["kind"] == "MESSAGE").map(|e| e["text"].as_str().unwrap().to_owned()).collect();
        texts.sort();
        let mut expected: Vec<String> = (0..110).map(|i| format!("message {i}")).collect();
        expected.sort();
        assert_eq!(texts, expected, "every message, once");
    }
}

db_test! {
    async fn the_workroom_list_filters_by_state_title_and_creator_newest_first(app);
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        let member = &team[0];
        let alpha = app.create_workroom(&owner.token, gated("Alpha proposal")).await;
        let beta = app.create_workroom(&owner.token, input("Beta report")).await;
        let organic = app.create_workroom(&owner.token, gated("100% organic reels")).await;
        let follow_up = app.create_workroom(&member.token, gated("ALPHA follow-up")).await;
        for id in [&alpha, &organic, &follow_up] {
            app.wait_for_event(&owner.token, id, "APPROVAL_REQUESTED").await;
        }
        app.wait_for(&owner.token, &beta, &["COMPLETED"]).await;
        app.lifecycle(&owner.token, "cancelWorkroom", &organic).await;

        let titles = |filter: Value| {
            let app = &app;
            let token = owner.token.clone();
            async move { app.workroom_titles(&token, filter, 10, Value::Null).await.0 }
        };
        assert_eq!(titles(Value::Null).await, ["ALPHA follow-up", "100% organic reels", "Beta report", "Alpha proposal"]);
        assert_eq!(titles(json!({ "states": ["EXECUTING"] })).await, ["ALPHA follow-up", "Alpha proposal"]);
        assert_eq!(titles(json!({ "states": ["COMPLETED", "CANCELLED"] })).await, ["100% organic reels", "Beta report"]);
        assert_eq!(titles(json!({ "states": ["PAUSED"] })).await, Vec::<String>::new());
        assert_eq!(titles(json!({ "titleContains": "alpha" })).await, ["ALPHA follow-up", "Alpha proposal"]);
        assert_eq!(titles(json!({ "titleContains": "aLpHa P" })).await, ["Alpha proposal"]);
        assert_eq!(titles(json!({ "titleContains": "%" })).await, ["100% organic reels"], "wildcards match literally");
        assert_eq!(titles(json!({ "titleContains": "_" })).await, Vec::<String>::new());
        assert_eq!(titles(json!({ "createdBy": member.user_id })).await, ["ALPHA follow-up"]);
        assert_eq!(titles(json!({ "createdBy": owner.user_id, "states": ["EXECUTING"] })).await, ["Alpha proposal"]);
        let body = app.gql(Some(&owner.token), "{ workspace { workrooms(filter: { createdBy: \"nope\" }) { nodes { id } } } }", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");

        let (first, info) = app.workroom_titles(&owner.token, Value::Null, 3, Value::Null).await;
        assert_eq!(first, ["ALPHA follow-up", "100% organic reels", "Beta report"]);
        assert_eq!(info["hasNextPage"], true);
        let (rest, info) = app.workroom_titles(&owner.token, Value::Null, 3, info["endCursor"].clone()).await;
        assert_eq!(rest, ["Alpha proposal"]);
        assert_eq!(info["hasNextPage"], false);
        let (page, _) = app.workroom_titles(&owner.token, json!({ "titleContains": "alpha" }), 1, Value::Null).await;
        assert_eq!(page, ["ALPHA follow-up"]);
    }
}

db_test! {
    async fn the_title_search_ignores_case_beyond_ascii_too(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.create_workroom(&ann.token, input("Été campaign for Ökotex")).await;
        app.create_workroom(&ann.token, input("Winter campaign")).await;
        for search in ["Été", "été", "ÉTÉ", "ökotex", "Campaign"] {
            let (titles, _) = app.workroom_titles(&ann.token, json!({ "titleContains": search }), 10, Value::Null).await;
            let expected: &[&str] = if search == "Campaign" { &["Winter campaign", "Été campaign for Ökotex"] } else { &["Été campaign for Ökotex"] };
            assert_eq!(titles, expected, "titleContains {search:?}");
        }
    }
}

// ---------------------------------------------------------------- activity

db_test! {
    async fn every_workroom_mutation_writes_one_activity_entry_and_the_engine_records_completion(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, gated("Gated")).await;
        app.wait_for_event(&ann.token, &id, "APPROVAL_REQUESTED").await;
        let created = app.room_activity(&ann.token, &id).await;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["action"], "workroom.created");

        let steps = [
            ("addSource", "workroom.source_added"),
            ("updateConstraints", "workroom.constraints_updated"),
            ("postMessage", "workroom.message_posted"),
            ("pauseWorkroom", "workroom.paused"),
            ("resumeWorkroom", "workroom.resumed"),
            ("replanWorkroom", "workroom.replanned"),
            ("cancelWorkroom", "workroom.cancelled"),
        ];
        for (name, action) in steps {
            let (before, all_before) = (app.room_activity(&ann.token, &id).await, app.workspace_activity(&ann.token).await);
            let body = app.mutate(&ann.token, name, &id).await;
            assert!(body.get("errors").is_none(), "{name}: {body}");
            let (after, all_after) = (app.room_activity(&ann.token, &id).await, app.workspace_activity(&ann.token).await);
            assert_eq!(after.len(), before.len() + 1, "{name}: exactly one entry");
            assert_eq!(all_after.len(), all_before.len() + 1, "{name}: exactly one entry in the workspace");
            let entry = &after[0];
            assert_eq!(entry["action"], action, "{name}");
            assert_eq!(entry["actor"]["id"], json!(ann.user_id));
            assert_eq!(entry["targetType"], "Workroom");
            assert_eq!(entry["targetId"], json!(id));
            assert!(!entry["summary"].as_str().unwrap().is_empty());
            assert_eq!(all_after[0], *entry);
            if name == "replanWorkroom" {
                // Wait for the new plan to reach its approval again before cancelling.
                let (client, token, room) = (&app, ann.token.as_str(), id.as_str());
                eventually(Duration::from_secs(20), move || async move {
                    match count(&client.history(token, room).await, "APPROVAL_REQUESTED") {
                        0 | 1 => Err("no second approval request".to_owned()),
                        _ => Ok(()),
                    }
                })
                .await;
            }
        }

        let done = app.create_workroom(&ann.token, input("Done")).await;
        app.wait_for(&ann.token, &done, &["COMPLETED"]).await;
        let body = app.request_revision(&ann.token, &done, "Shorter, please").await;
        assert!(body.get("errors").is_none(), "{body}");
        app.wait_for(&ann.token, &done, &["COMPLETED"]).await;
        let entries = app.room_activity(&ann.token, &done).await;
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["workroom.completed", "workroom.revision_requested", "workroom.completed", "workroom.created"]);
        for completed in [&entries[0], &entries[2]] {
            assert!(completed["actor"].is_null(), "the engine completes: {completed}");
            assert_eq!(completed["targetId"], json!(done));
        }
        assert_eq!(entries[0]["metadata"]["revisionRound"], 1);
        assert_eq!(entries[2]["metadata"]["revisionRound"], 0);
        assert_eq!(entries[1]["metadata"]["notes"], "Shorter, please");

        // Each workroom lists its own entries only.
        let gated_actions: Vec<Value> = app.room_activity(&ann.token, &id).await.iter().map(|e| e["action"].clone()).collect();
        assert_eq!(
            gated_actions,
            [
                "workroom.cancelled", "workroom.replanned", "workroom.resumed", "workroom.paused",
                "workroom.message_posted", "workroom.constraints_updated", "workroom.source_added", "workroom.created",
            ]
        );
    }
}

/// A Planner that never answers with a plan: each call is counted, and
/// while `hang` is set a call never ends (as a slow provider would).
struct NoPlans {
    inner: BuiltinModel,
    calls: Arc<std::sync::atomic::AtomicU32>,
    hang_from: u32,
}

impl LanguageModel for NoPlans {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        if request.purpose != Purpose::Plan {
            return self.inner.stream(request);
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call >= self.hang_from {
            return Box::pin(futures_util::stream::pending());
        }
        Box::pin(futures_util::stream::iter([
            Ok(atelya::llm::ModelEvent::Token("no plan today".into())),
            Ok(atelya::llm::ModelEvent::Done(atelya::llm::Usage {
                prompt_tokens: 10,
                output_tokens: 3,
            })),
        ]))
    }

    fn count_tokens(&self, text: &str) -> u32 {
        self.inner.count_tokens(text)
    }
}

fn no_plans(hang_from: u32) -> (Arc<dyn LanguageModel>, Arc<std::sync::atomic::AtomicU32>) {
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let model = NoPlans {
        inner: BuiltinModel::new(Duration::ZERO),
        calls: calls.clone(),
        hang_from,
    };
    (Arc::new(model), calls)
}

async fn an_instance_taking_over_planning_goes_on_counting_its_failures(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    // The first instance fails once, then hangs in its second call.
    let (model, first_calls) = no_plans(2);
    let mut first = serve(test_config(&database.url), Some(model)).await;
    let ann = first.signup("ann@example.com", "Acme").await;
    let id = first
        .create_workroom(&ann.token, input("Q3 proposal"))
        .await;
    let calls = &first_calls;
    eventually(Duration::from_secs(15), move || async move {
        match calls.load(Ordering::SeqCst) {
            0 | 1 => Err("the Planner was not called twice".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    first.shut_down();

    let (model, second_calls) = no_plans(u32::MAX);
    let second = serve(test_config(&database.url), Some(model)).await;
    let room = second.wait_for(&ann.token, &id, &["FAILED"]).await;

    assert_eq!(room["stateReason"], "PLANNING_FAILED");
    assert_eq!(
        second_calls.load(Ordering::SeqCst),
        2,
        "three attempts in all: one failed before the takeover, two after (the interrupted one does not count)"
    );
}

mod an_instance_taking_over_planning_goes_on_counting_its_failures {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::an_instance_taking_over_planning_goes_on_counting_its_failures(Backend::Sqlite)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
    async fn postgres() {
        let Some(backend) = Backend::postgres() else {
            return;
        };
        super::an_instance_taking_over_planning_goes_on_counting_its_failures(backend).await;
    }
}
