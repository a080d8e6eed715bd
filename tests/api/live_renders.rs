//! Events rendered once for every watcher of a subscription shape: the
//! render is nobody's request, so no watcher's budget pays for it nor ends
//! the others' feeds, nothing in an event depends on who watches, and a
//! render that fails reaches no stream as an event and is not kept.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::{faults::captured_logs, helpers::*, rooms::*, ws_client::*};

const CHEAP: &str = "{ viewer { user { id } } }";

/// What is left of the caller's cost budget after a cheap query.
async fn budget_left(app: &TestApp, token: &str) -> u64 {
    let body = app.gql(Some(token), CHEAP, json!({})).await;
    body["extensions"]["cost"]["remaining"]
        .as_u64()
        .unwrap_or_else(|| panic!("no budget in {body}"))
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

db_test! {
    async fn a_watcher_with_a_tiny_budget_is_charged_once_and_ends_no_feed(app)
        with |c: &mut atelya::config::Config| {
            // Far fewer than the events of a run, each its own render.
            c.limits.cost_budget_per_hour = 12;
            c.engine.builtin_token_delay_ms = 3;
        };
    {
        let (ann, members) = app.team(&["MEMBER"]).await;
        let bob = &members[0];
        let id = app.create_workroom(&ann.token, input("Many events")).await;
        let (ann_before, bob_before) = (budget_left(&app, &ann.token).await, budget_left(&app, &bob.token).await);

        // Ann watches first: her shape's events were once rendered as her.
        let mut watchers = Vec::new();
        for account in [&ann, bob] {
            let mut client = Client::connect(&app, &account.token).await;
            client.subscribe("w", WATCH, json!({ "w": id })).await;
            watchers.push(client);
        }
        let mut streams = Vec::new();
        for client in &mut watchers {
            // Each event a `next` without errors (next_of checks), up to the end of the run.
            streams.push(client.events_until("w", reached("COMPLETED")).await);
        }
        assert_eq!(streams[0], streams[1], "both watchers see the same run");
        let last = streams[0].len() as i64;
        assert!(last > 12, "the run has more events than the budget: {last}");
        assert_eq!(seqs(&streams[0]), (1..=last).collect::<Vec<_>>(), "every event, in order");
        for client in &mut watchers {
            assert!(client.quiet("w", Duration::from_millis(200)).await, "nothing after the run");
        }

        // Each paid for the subscription once (at least 1) and the query after it.
        assert_eq!(budget_left(&app, &ann.token).await, ann_before - 2, "ann is not charged per event");
        assert_eq!(budget_left(&app, &bob.token).await, bob_before - 2, "bob is not charged per event");
        let room = app.ok(Some(&bob.token), "query($w: ID!) { workroom(id: $w) { lastSeq } }", json!({ "w": id })).await;
        assert_eq!(room["workroom"]["lastSeq"], json!(last));
    }
}

/// The frames of operation `op` up to its `complete`.
async fn frames_until_complete(client: &mut Client, op: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = client.frame_of(op).await;
        if frame["type"] == "complete" {
            return frames;
        }
        frames.push(frame);
    }
}

db_test! {
    async fn a_render_that_fails_reaches_no_stream_as_an_event_and_is_not_kept(app);
    {
        let logs = captured_logs();
        let (ann, members) = app.team(&["VIEWER"]).await;
        let bob = &members[0];
        let id = app.create_workroom(&ann.token, input("Broken row")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let last = room["lastSeq"].as_i64().unwrap();
        let history = app.history(&ann.token, &id).await;

        // A watcher of the same shape that has seen everything keeps the
        // shape, and whatever it keeps, alive throughout.
        let mut keeper = Client::connect(&app, &ann.token).await;
        keeper.subscribe("w", WATCH, json!({ "w": id, "after": last })).await;
        assert!(keeper.quiet("w", Duration::from_millis(300)).await);

        // Event 2 can no longer be read as an event: every render of it fails.
        let kind = history[1]["kind"].as_str().unwrap();
        let corrupt = |kind: &str| format!("UPDATE workroom_events SET kind = '{kind}' WHERE seq = 2");
        let db = app.state.db.conn();
        db.execute_unprepared(&corrupt("NOT_A_KIND")).await.unwrap();

        let mut request_ids = Vec::new();
        let mut failed = Vec::new();
        for (name, account) in [("ann", &ann), ("bob", bob)] {
            let request_id = format!("render-{name}-{}", uuid::Uuid::now_v7().simple());
            let mut client = Client::connect_as(&app, &account.token, &request_id).await;
            client.subscribe("w", WATCH, json!({ "w": id })).await;
            let frames = frames_until_complete(&mut client, "w").await;
            let (error, events) = frames.split_last().expect("an error before complete");
            for event in events {
                // Only events before the one that fails, each whole.
                assert!(event["payload"].get("errors").is_none(), "{event}");
                assert!(event["payload"]["data"]["workroomEvents"]["seq"].as_i64().unwrap() < 2, "{event}");
            }
            assert_eq!(error["type"], "next", "{error}");
            assert_eq!(
                error["payload"],
                json!({ "data": null, "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL", "requestId": request_id } }] }),
                "{name} is told the server failed, under their own request id"
            );
            request_ids.push(request_id);
            failed.push(client);
        }

        // Once the event reads again, a watcher of the same shape gets it:
        // nothing of the failed renders was kept.
        db.execute_unprepared(&corrupt(kind)).await.unwrap();
        let client = &mut failed[0];
        client.subscribe("again", WATCH, json!({ "w": id })).await;
        let replayed = client.events_until("again", |e| e["seq"] == last).await;
        assert_eq!(replayed, history);

        // The keeper saw none of it, and goes on.
        assert!(keeper.quiet("w", Duration::from_millis(10)).await);
        app.ok(Some(&ann.token), "mutation($w: ID!) { postMessage(workroomId: $w, body: \"Still here\") { seq } }", json!({ "w": id })).await;
        assert_eq!(keeper.next_of("w").await["workroomEvents"]["seq"], json!(last + 1));

        let Some(logs) = logs else { return };
        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        // The row no longer reads (its kind is no WorkroomEventKind): each
        // failure is logged with that cause under the request that met it.
        for request_id in &request_ids {
            assert!(
                logs.lines().any(|l| l.contains(request_id.as_str()) && l.contains("NOT_A_KIND")),
                "no log line of the failure and its cause under {request_id}:\n{logs}"
            );
        }
    }
}

/// The type of an introspected field, without its wrappers.
fn named(mut ty: &Value) -> (&str, &str) {
    while ty["name"].is_null() {
        ty = &ty["ofType"];
    }
    (ty["kind"].as_str().unwrap(), ty["name"].as_str().unwrap())
}

/// Every field of `type_name` that takes no argument, objects' fields in
/// turn (read by introspection, so a field added later is covered too).
async fn every_field(app: &TestApp, token: &str, type_name: &str) -> String {
    let query = "query($t: String!) { __type(name: $t) { fields { name args { name }
        type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let data = app.ok(Some(token), query, json!({ "t": type_name })).await;
    let mut selection = Vec::new();
    for field in data["__type"]["fields"].as_array().unwrap() {
        if !field["args"].as_array().unwrap().is_empty() {
            continue;
        }
        let name = field["name"].as_str().unwrap();
        match named(&field["type"]) {
            ("OBJECT", inner) => {
                let fields = Box::pin(every_field(app, token, inner)).await;
                selection.push(format!("{name} {{ {fields} }}"));
            }
            ("INTERFACE" | "UNION", _) => selection.push(format!("{name} {{ __typename }}")),
            _ => selection.push(name.to_owned()),
        }
    }
    selection.join(" ")
}

db_test! {
    async fn every_field_of_an_event_reads_for_each_watcher_as_in_their_own_history(app);
    {
        let (ann, members) = app.team(&["VIEWER"]).await;
        let viewer = &members[0];
        let id = app.create_workroom(&ann.token, input("Same for all")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let post = "mutation($w: ID!) { postMessage(workroomId: $w, body: \"From the owner\") { seq } }";
        let last = app.ok(Some(&ann.token), post, json!({ "w": id })).await["postMessage"]["seq"].as_i64().unwrap();

        let fields = every_field(&app, &ann.token, "WorkroomEvent").await;
        assert!(fields.contains("actor {"), "{fields}");
        let watch = format!("subscription($w: ID!) {{ workroomEvents(workroomId: $w) {{ {fields} }} }}");
        let own = format!("query($w: ID!) {{ workroom(id: $w) {{ events(first: 1000) {{ {fields} }} }} }}");
        let mut streams = Vec::new();
        for account in [&ann, viewer] {
            let mut client = Client::connect(&app, &account.token).await;
            client.subscribe("w", &watch, json!({ "w": id })).await;
            // One shared render, which no viewer could shape: each event rendered whole.
            streams.push(client.events_until("w", |e| e["seq"] == last).await);
        }
        for (account, stream) in [&ann, viewer].into_iter().zip(&streams) {
            let history = app.ok(Some(&account.token), &own, json!({ "w": id })).await;
            assert_eq!(
                json!(stream),
                history["workroom"]["events"],
                "{} sees live what they read in the history",
                account.email
            );
        }
        assert!(streams[0].iter().any(|e| e["actor"]["email"] == json!(ann.email)));
    }
}
