//! Live subscriptions over websockets: watching a run, replaying from a seq,
//! tenancy, presence, access changes, activity and credits.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*, ws_client::*};

/// A workroom whose plan waits for the owner's approval before composing,
/// so watchers can join before the Composer writes.
pub(crate) fn gated(title: &str) -> Value {
    let mut input = input(title);
    input["constraints"] =
        json!({ "approval": { "requiredRole": "OWNER", "requiredApprovals": 1 } });
    input["deliverables"] = json!(["Proposal", "Summary"]);
    input
}

/// The approval task of a workroom waiting for it.
pub(crate) async fn approval_task(app: &TestApp, token: &str, id: &str) -> String {
    app.wait_for(token, id, &["EXECUTING"]).await;
    eventually(Duration::from_secs(20), move || async move {
        let room = app.room(token, id).await;
        let waiting = room["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "APPROVAL" && t["state"] == "AWAITING_APPROVAL");
        match waiting {
            Some(task) => Ok(task["id"].as_str().unwrap().to_owned()),
            None => Err(format!("no approval waits: {room}")),
        }
    })
    .await
}

pub(crate) async fn approve(app: &TestApp, token: &str, task: &str) {
    app.ok(
        Some(token),
        "mutation($t: ID!) { grantApproval(taskId: $t) { id } }",
        json!({ "t": task }),
    )
    .await;
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

db_test! {
    async fn two_watchers_receive_the_whole_run_live_gap_free_and_equal_to_the_history(app)
        with |c: &mut atelya::config::Config| c.engine.builtin_token_delay_ms = 1;
    {
        let (owner, members) = app.team(&["VIEWER"]).await;
        let viewer = &members[0];
        let id = app.create_workroom(&owner.token, gated("Live proposal")).await;
        let task = approval_task(&app, &owner.token, &id).await;

        let mut watchers = Vec::new();
        for account in [&owner, viewer] {
            let mut client = Client::connect(&app, &account.token).await;
            client.subscribe("w", WATCH, json!({ "w": id })).await;
            watchers.push(client);
        }
        // Both see the history so far, then the Composer writing, live.
        approve(&app, &owner.token, &task).await;
        let mut streams = Vec::new();
        for client in &mut watchers {
            streams.push(client.events_until("w", reached("COMPLETED")).await);
        }
        let room = app.room(&owner.token, &id).await;
        let history = app.history(&owner.token, &id).await;
        assert_eq!(streams[0], history, "the owner's stream is the history");
        assert_eq!(streams[1], history, "the viewer's stream is the history");
        assert_eq!(seqs(&streams[0]), (1..=history.len() as i64).collect::<Vec<_>>());
        // The stream alone rebuilds every deliverable.
        for deliverable in room["deliverables"].as_array().unwrap() {
            let text = streamed_text(&streams[1], deliverable["id"].as_str().unwrap());
            assert_eq!(text, deliverable["content"].as_str().unwrap());
        }
        assert!(outline(&streams[0]).contains(&"COMPOSER_DELTA".to_owned()));
        // Nothing more is sent once the run is over.
        assert!(watchers[0].quiet("w", Duration::from_millis(300)).await);
    }
}

db_test! {
    async fn after_seq_k_starts_at_k_plus_one_and_then_streams_what_comes_next(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Done")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let last = room["lastSeq"].as_i64().unwrap();
        let history = app.history(&ann.token, &id).await;

        let mut client = Client::connect(&app, &ann.token).await;
        client.subscribe("k", WATCH, json!({ "w": id, "after": 3 })).await;
        client.subscribe("end", WATCH, json!({ "w": id, "after": last })).await;
        let replayed = client.events_until("k", |e| e["seq"] == last).await;
        assert_eq!(replayed, history[3..].to_vec());
        assert!(client.quiet("end", Duration::from_millis(200)).await, "nothing after the last seq yet");

        app.ok(
            Some(&ann.token),
            "mutation($w: ID!) { postMessage(workroomId: $w, body: \"Looks good\") { seq } }",
            json!({ "w": id }),
        )
        .await;
        for op in ["k", "end"] {
            let message = client.next_of(op).await["workroomEvents"].clone();
            assert_eq!(message["seq"], json!(last + 1), "{op}");
            assert_eq!(message["kind"], "MESSAGE");
            assert_eq!(message["text"], "Looks good");
        }
    }
}

db_test! {
    async fn a_watcher_that_reconnects_with_its_last_seq_misses_nothing(app)
        with |c: &mut atelya::config::Config| c.engine.builtin_token_delay_ms = 2;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Reconnect")).await;
        let mut client = Client::connect(&app, &ann.token).await;
        client.subscribe("w", WATCH, json!({ "w": id })).await;
        let mut seen = client.events_until("w", |e| e["kind"] == "COMPOSER_DELTA").await;
        // The socket drops mid-compose; the client comes back with the last seq it saw.
        drop(client);
        let last = seen.last().unwrap()["seq"].clone();
        let mut client = Client::connect(&app, &ann.token).await;
        client.subscribe("w", WATCH, json!({ "w": id, "after": last })).await;
        seen.extend(client.events_until("w", reached("COMPLETED")).await);
        assert_eq!(seen, app.history(&ann.token, &id).await);
    }
}

db_test! {
    async fn another_workspaces_workroom_is_not_found_and_the_socket_stays_open(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let theirs = app.create_workroom(&ann.token, input("Secret plan")).await;
        let bob = app.signup("bob@example.com", "Other").await;
        let mine = app.create_workroom(&bob.token, input("Bob's")).await;

        let mut client = Client::connect(&app, &bob.token).await;
        for (op, query) in [
            ("events", WATCH),
            ("watchers", "subscription($w: ID!) { workroomWatchers(workroomId: $w) { id email } }"),
        ] {
            client.subscribe(op, query, json!({ "w": theirs })).await;
            let refused = client.frame_of(op).await;
            assert_eq!(refused["type"], "next", "{refused}");
            assert_eq!(refused["payload"]["data"], Value::Null);
            assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND");
            assert!(!refused.to_string().contains("Secret plan") && !refused.to_string().contains("ann@"));
            assert_eq!(client.frame_of(op).await, json!({ "type": "complete", "id": op }));
        }
        // The same socket goes on working.
        client.subscribe("mine", WATCH, json!({ "w": mine, "after": 0 })).await;
        assert_eq!(client.next_of("mine").await["workroomEvents"]["seq"], 1);
        let watchers = app
            .ok(Some(&ann.token), "query($w: ID!) { workroom(id: $w) { watchers { id } } }", json!({ "w": theirs }))
            .await;
        assert_eq!(watchers["workroom"]["watchers"], json!([]), "the refused subscriber never watched");
    }
}

db_test! {
    async fn removing_a_watcher_closes_their_socket_within_a_second(app);
    {
        let (owner, members) = app.team(&["MEMBER"]).await;
        let member = &members[0];
        let id = app.create_workroom(&owner.token, input("Watched")).await;
        let mut client = Client::connect(&app, &member.token).await;
        client.subscribe("w", WATCH, json!({ "w": id })).await;
        assert_eq!(client.next_of("w").await["workroomEvents"]["seq"], 1);
        let member_id = app.member_id(member).await;
        app.ok(Some(&owner.token), "mutation($m: ID!) { removeMember(memberId: $m) }", json!({ "m": member_id })).await;
        let started = Instant::now();
        assert_eq!(close_code(&mut client.socket).await, 4403);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}

db_test! {
    async fn ending_a_sign_in_closes_its_sockets_and_its_token_stops_working(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        app.ok(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": ann.refresh })).await;
        let started = Instant::now();
        assert_eq!(close_code(&mut socket).await, 4403);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        let body = app.gql(Some(&ann.token), "{ viewer { user { id } } }", json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_demoted_member_keeps_watching_and_sees_their_new_role(app);
    {
        let (owner, members) = app.team(&["ADMIN"]).await;
        let admin = &members[0];
        let id = app.create_workroom(&owner.token, input("Demotion")).await;
        let mut client = Client::connect(&app, &admin.token).await;
        client.subscribe("w", WATCH, json!({ "w": id })).await;
        assert_eq!(client.next_of("w").await["workroomEvents"]["seq"], 1);
        let member_id = app.member_id(admin).await;
        app.ok(
            Some(&owner.token),
            "mutation($m: ID!) { changeMemberRole(memberId: $m, role: VIEWER) { role } }",
            json!({ "m": member_id }),
        )
        .await;
        // Every subscription is readable by viewers: the socket stays, and its new role applies at once.
        client.subscribe("q", "{ viewer { member { role } } }", json!({})).await;
        assert_eq!(client.next_of("q").await["viewer"]["member"]["role"], "VIEWER");
        client.subscribe("m", "mutation { renameWorkspace(name: \"Nope\") { name } }", json!({})).await;
        let refused = client.frame_of("m").await;
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }
}

const WATCHERS: &str = "subscription($w: ID!) { workroomWatchers(workroomId: $w) { id } }";

fn ids_of(users: &Value) -> Vec<String> {
    let mut ids: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

db_test! {
    async fn presence_lists_the_watchers_and_drops_one_whose_socket_vanished(app);
    {
        let (owner, members) = app.team(&["VIEWER", "MEMBER"]).await;
        let (viewer, member) = (&members[0], &members[1]);
        let id = app.create_workroom(&owner.token, input("Presence")).await;
        // The member only follows the watcher list: that does not make them a watcher.
        let mut follower = Client::connect(&app, &member.token).await;
        follower.subscribe("p", WATCHERS, json!({ "w": id })).await;
        assert_eq!(follower.next_of("p").await["workroomWatchers"], json!([]), "nobody watches yet");
        assert!(follower.quiet("p", Duration::from_millis(200)).await, "nothing changed yet");

        let mut owner_client = Client::connect(&app, &owner.token).await;
        owner_client.subscribe("w", WATCH, json!({ "w": id })).await;
        assert_eq!(ids_of(&follower.next_of("p").await["workroomWatchers"]), vec![owner.user_id.clone()]);
        let mut viewer_client = Client::connect(&app, &viewer.token).await;
        viewer_client.subscribe("w", WATCH, json!({ "w": id })).await;
        let both = {
            let mut both = vec![owner.user_id.clone(), viewer.user_id.clone()];
            both.sort();
            both
        };
        assert_eq!(ids_of(&follower.next_of("p").await["workroomWatchers"]), both);
        let query = "query($w: ID!) { workroom(id: $w) { watchers { id } } }";
        let listed = app.ok(Some(&member.token), query, json!({ "w": id })).await;
        assert_eq!(ids_of(&listed["workroom"]["watchers"]), both);

        // The viewer's connection vanishes without a close frame.
        drop(viewer_client);
        let started = Instant::now();
        assert_eq!(ids_of(&follower.next_of("p").await["workroomWatchers"]), vec![owner.user_id.clone()]);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let listed = app.ok(Some(&member.token), query, json!({ "w": id })).await;
        assert_eq!(ids_of(&listed["workroom"]["watchers"]), vec![owner.user_id.clone()]);

        // Completing the watch (not closing the socket) ends it too.
        send(&mut owner_client.socket, json!({ "type": "complete", "id": "w" })).await;
        assert_eq!(follower.next_of("p").await["workroomWatchers"], json!([]));
    }
}

db_test! {
    async fn a_user_with_two_tabs_watches_until_both_are_closed(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Tabs")).await;
        let query = "query($w: ID!) { workroom(id: $w) { watchers { id email } } }";
        let mut tabs = Vec::new();
        for _ in 0..2 {
            let mut tab = Client::connect(&app, &ann.token).await;
            tab.subscribe("w", WATCH, json!({ "w": id })).await;
            tab.next_of("w").await;
            tabs.push(tab);
        }
        let listed = app.ok(Some(&ann.token), query, json!({ "w": id })).await;
        assert_eq!(listed["workroom"]["watchers"], json!([{ "id": ann.user_id, "email": ann.email }]));
        tabs.pop();
        // Once the server has let the closed tab's socket go, ann still watches through the other.
        let sockets = &app.state.realtime.sockets;
        eventually(Duration::from_secs(10), move || async move {
            match sockets.count() {
                0 | 1 => Ok(()),
                open => Err(format!("the closed tab's socket was never let go ({open} open)")),
            }
        })
        .await;
        let listed = app.ok(Some(&ann.token), query, json!({ "w": id })).await;
        assert_eq!(listed["workroom"]["watchers"].as_array().unwrap().len(), 1, "one tab is still open");
        tabs.pop();
        let (client, token, room_id) = (&app, ann.token.as_str(), id.as_str());
        eventually(Duration::from_secs(5), move || async move {
            let listed = client.ok(Some(token), query, json!({ "w": room_id })).await;
            match listed["workroom"]["watchers"] == json!([]) {
                true => Ok(()),
                false => Err(format!("still watching: {listed}")),
            }
        })
        .await;
    }
}

db_test! {
    async fn activity_and_credits_subscriptions_deliver_a_top_up(app);
    {
        let (owner, members) = app.team(&["VIEWER"]).await;
        let viewer = &members[0];
        let before = app.ok(Some(&owner.token), "{ workspace { credits { balance } } }", json!({})).await;
        let balance = before["workspace"]["credits"]["balance"].as_i64().unwrap();
        let mut client = Client::connect(&app, &viewer.token).await;
        client.subscribe("a", "subscription { activity { action actor { id } summary metadata } }", json!({})).await;
        client.subscribe("c", "subscription { credits { balance reserved available monthlyAllowance } }", json!({})).await;
        assert_eq!(client.next_of("c").await["credits"]["balance"], json!(balance), "the balance as it is first");
        assert!(client.quiet("c", Duration::from_millis(200)).await, "nothing changed yet");

        app.ok(Some(&owner.token), "mutation { purchaseTopUp(credits: 250, idempotencyKey: \"live-1\") { id } }", json!({})).await;
        let entry = client.next_of("a").await["activity"].clone();
        assert_eq!(entry["action"], "billing.top_up");
        assert_eq!(entry["actor"]["id"], json!(owner.user_id));
        let credits = client.next_of("c").await["credits"].clone();
        assert_eq!(credits["balance"], json!(balance + 250));
        assert_eq!(credits["available"], json!(balance + 250));
        assert_eq!(credits["reserved"], 0);
        assert_eq!(credits["monthlyAllowance"], 150000);

        // A repeated key adds nothing: no credits change, no activity.
        app.ok(Some(&owner.token), "mutation { purchaseTopUp(credits: 250, idempotencyKey: \"live-1\") { id } }", json!({})).await;
        assert!(client.quiet("c", Duration::from_millis(300)).await);
        assert!(client.quiet("a", Duration::from_millis(10)).await);
        app.ok(Some(&owner.token), "mutation { renameWorkspace(name: \"Renamed\") { id } }", json!({})).await;
        assert_eq!(client.next_of("a").await["activity"]["action"], "workspace.renamed");
    }
}

db_test! {
    async fn activity_is_delivered_gap_free_while_a_run_writes_it(app)
        with |c: &mut atelya::config::Config| c.engine.builtin_token_delay_ms = 1;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut client = Client::connect(&app, &ann.token).await;
        client.subscribe("a", "subscription { activity { action targetId } }", json!({})).await;
        // The subscription is live from when the server set it up.
        assert!(client.quiet("a", Duration::from_millis(300)).await);
        let ids: Vec<String> = futures_util::future::join_all(
            (0..3).map(|i| app.create_workroom(&ann.token, input(&format!("Room {i}")))),
        )
        .await;
        let mut created = Vec::new();
        let mut completed = Vec::new();
        let mut all = Vec::new();
        while completed.len() < ids.len() {
            let entry = client.next_of("a").await["activity"].clone();
            all.push(entry.clone());
            match entry["action"].as_str().unwrap() {
                "workroom.created" => created.push(entry["targetId"].clone()),
                "workroom.completed" => completed.push(entry["targetId"].clone()),
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(created.len(), 3, "{all:#?}");
        for id in &ids {
            assert!(completed.contains(&json!(id)));
        }
    }
}

db_test! {
    async fn the_legacy_protocol_streams_a_subscription_as_data_frames(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Legacy")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let mut socket = open(&app, Some("graphql-ws"), None).await.unwrap();
        send(&mut socket, init_frame(&ann.token)).await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
        send(&mut socket, json!({ "type": "start", "id": "1", "payload": { "query": WATCH, "variables": { "w": id, "after": 1 } } })).await;
        let mut frame = recv(&mut socket).await;
        while frame["type"] == "ka" {
            frame = recv(&mut socket).await;
        }
        assert_eq!(frame["type"], "data");
        assert_eq!(frame["payload"]["data"]["workroomEvents"]["seq"], 2);
        send(&mut socket, json!({ "type": "stop", "id": "1" })).await;
    }
}

db_test! {
    async fn a_socket_runs_a_bounded_number_of_operations(app)
        with |c: &mut atelya::config::Config| c.sockets.max_operations = 3;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Bounded")).await;
        let mut client = Client::connect(&app, &ann.token).await;
        for op in ["1", "2", "3"] {
            client.subscribe(op, WATCH, json!({ "w": id })).await;
        }
        client.subscribe("4", WATCH, json!({ "w": id })).await;
        let refused = client.frame_of("4").await;
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        // Completing one makes room again.
        send(&mut client.socket, json!({ "type": "complete", "id": "1" })).await;
        // The server takes the complete in its own time: a subscription sent
        // meanwhile may still be refused, one sent after it never is.
        let mut attempt = 5;
        loop {
            let op = attempt.to_string();
            client.subscribe(&op, WATCH, json!({ "w": id })).await;
            let frame = client.frame_of(&op).await;
            if frame["type"] == "next" {
                assert_eq!(frame["payload"]["data"]["workroomEvents"]["seq"], 1);
                break;
            }
            assert_eq!(frame["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{frame}");
            assert!(attempt < 100, "completing an operation never made room");
            attempt += 1;
        }
    }
}

db_test! {
    async fn shutting_down_closes_every_socket_with_1001(app);
    {
        let mut app = app;
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Shutdown")).await;
        let mut watching = Client::connect(&app, &ann.token).await;
        watching.subscribe("w", WATCH, json!({ "w": id })).await;
        watching.next_of("w").await;
        let mut idle = initialised(&app, &ann.token).await;
        app.shut_down();
        assert_eq!(close_code(&mut watching.socket).await, 1001);
        assert_eq!(close_code(&mut idle).await, 1001);
    }
}

db_test! {
    async fn a_message_over_the_size_limit_closes_the_socket_with_1009(app)
        with |c: &mut atelya::config::Config| c.limits.max_body_bytes = 4096;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        let query = format!("{{ viewer {{ user {{ id }} }} }} # {}", "x".repeat(8192));
        send(&mut socket, json!({ "type": "subscribe", "id": "big", "payload": { "query": query } })).await;
        assert_eq!(close_code(&mut socket).await, 1009);
    }
}

db_test! {
    async fn a_watcher_that_stops_reading_slows_nobody_and_catches_up_from_the_database(app)
        with |c: &mut atelya::config::Config| {
            c.sockets.queue = 2;
            // A client that reads nothing answers no ping: on a loaded
            // machine the posting below may outlast the default liveness
            // limits, which are not what this test is about.
            c.sockets.idle_secs = 300;
            c.sockets.write_timeout_secs = 300;
        };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Busy room")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let after = room["lastSeq"].as_i64().unwrap();
        let mut stalled = Client::connect_with_small_buffer(&app, &ann.token).await;
        stalled.subscribe("w", WATCH, json!({ "w": id, "after": after })).await;
        let mut reader = Client::connect(&app, &ann.token).await;
        reader.subscribe("w", WATCH, json!({ "w": id, "after": after })).await;
        assert!(reader.quiet("w", Duration::from_millis(300)).await);

        // More than the sockets' buffers and the feed's broadcast hold for a reader that stopped.
        const MESSAGES: i64 = 1600;
        let reading = tokio::spawn(async move {
            let events = reader.events_until("w", |e| e["seq"] == after + MESSAGES).await;
            events.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>()
        });
        let body = "x".repeat(9_000);
        let post = "mutation($w: ID!, $b: String!) { postMessage(workroomId: $w, body: $b) { seq } }";
        let started = Instant::now();
        for _ in 0..MESSAGES / 8 {
            let posts = (0..8).map(|_| app.ok(Some(&ann.token), post, json!({ "w": id, "b": body })));
            futures_util::future::join_all(posts).await;
        }
        let posting = started.elapsed();
        let seqs = tokio::time::timeout(Duration::from_secs(30), reading).await.expect("the reader kept up").unwrap();
        assert_eq!(seqs, (after + 1..=after + MESSAGES).collect::<Vec<_>>());

        // The watcher that stopped reading resumes: everything, once, in order.
        let events = stalled.events_until("w", |e| e["seq"] == after + MESSAGES).await;
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (after + 1..=after + MESSAGES).collect::<Vec<_>>());
        assert!(events.iter().all(|e| e["text"] == body));
        eprintln!("{MESSAGES} messages posted in {posting:?} past a stalled watcher");
    }
}

db_test! {
    async fn a_subscription_of_two_root_fields_is_refused_and_the_socket_stays(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Two roots")).await;
        let mut client = Client::connect(&app, &ann.token).await;
        let two = "subscription($w: ID!) { workroomEvents(workroomId: $w) { seq } credits { balance } }";
        client.subscribe("two", two, json!({ "w": id })).await;
        let refused = client.frame_of("two").await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
        client.subscribe("one", WATCH, json!({ "w": id })).await;
        assert_eq!(client.next_of("one").await["workroomEvents"]["seq"], 1);
    }
}

db_test! {
    async fn a_result_larger_than_a_megabyte_reaches_the_socket(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Big sources")).await;
        let content = "y".repeat(190_000);
        for _ in 0..6 {
            app.ok(
                Some(&ann.token),
                "mutation($w: ID!, $s: SourceInput!) { addSource(workroomId: $w, input: $s) { id } }",
                json!({ "w": id, "s": { "kind": "NOTES", "content": content } }),
            )
            .await;
        }
        let mut client = Client::connect(&app, &ann.token).await;
        client.subscribe("q", "query($w: ID!) { workroom(id: $w) { sources { content } } }", json!({ "w": id })).await;
        let sources = client.next_of("q").await["workroom"]["sources"].clone();
        let total: usize = sources.as_array().unwrap().iter().map(|s| s["content"].as_str().unwrap().len()).sum();
        assert!(total > 1024 * 1024, "{total}");
        assert_eq!(client.frame_of("q").await["type"], "complete");
    }
}
