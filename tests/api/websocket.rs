//! GraphQL over websockets: graphql-transport-ws (and legacy graphql-ws) on /graphql.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::ws_client::*;

db_test! {
    async fn a_query_and_a_mutation_run_over_an_initialised_socket(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        send(&mut socket, json!({ "type": "subscribe", "id": "q1", "payload": { "query": "{ viewer { user { email } } }" } })).await;
        let next = recv(&mut socket).await;
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "q1");
        assert_eq!(next["payload"]["data"]["viewer"]["user"]["email"], "ann@example.com");
        assert_eq!(recv(&mut socket).await, json!({ "type": "complete", "id": "q1" }));

        send(&mut socket, json!({ "type": "subscribe", "id": "m1", "payload": {
            "query": "mutation($n: String!) { renameWorkspace(name: $n) { name } }", "variables": { "n": "Acme Live" } } })).await;
        assert_eq!(recv(&mut socket).await["payload"]["data"]["renameWorkspace"]["name"], "Acme Live");
        assert_eq!(recv(&mut socket).await["type"], "complete");
        // The same id may be used again once its operation completed.
        send(&mut socket, json!({ "type": "subscribe", "id": "q1", "payload": { "query": "{ workspace { name } }" } })).await;
        assert_eq!(recv(&mut socket).await["payload"]["data"]["workspace"]["name"], "Acme Live");
    }
}

db_test! {
    async fn an_invalid_document_gets_an_error_message_and_no_complete(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        send(&mut socket, json!({ "type": "subscribe", "id": "bad", "payload": { "query": "{ nope }" } })).await;
        let error = recv(&mut socket).await;
        assert_eq!(error["type"], "error");
        assert_eq!(error["id"], "bad");
        assert_eq!(error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
        send(&mut socket, json!({ "type": "ping", "payload": { "n": 1 } })).await;
        assert_eq!(recv(&mut socket).await, json!({ "type": "pong", "payload": { "n": 1 } }), "no complete came before the pong");
    }
}

db_test! {
    async fn protocol_violations_close_the_socket_with_their_codes(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.token) } });

        let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        send(&mut socket, json!({ "type": "what" })).await;
        assert_eq!(close_code(&mut socket).await, 4400, "invalid message");

        let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        socket.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
        assert_eq!(close_code(&mut socket).await, 4400, "binary frame");

        let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        send(&mut socket, json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ plans { plan } }" } })).await;
        assert_eq!(close_code(&mut socket).await, 4401, "subscribe before connection_ack");

        for payload in [json!({}), json!({ "authorization": "Bearer forged" }), json!({ "authorization": ann.token })] {
            let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
            send(&mut socket, json!({ "type": "connection_init", "payload": payload })).await;
            assert_eq!(close_code(&mut socket).await, 4403, "bad or missing token: {payload}");
        }

        let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        send(&mut socket, init.clone()).await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
        send(&mut socket, init.clone()).await;
        assert_eq!(close_code(&mut socket).await, 4429, "second connection_init");

        let mut socket = open(&app, None, None).await.unwrap();
        assert_eq!(close_code(&mut socket).await, 4406, "no subprotocol");
    }
}

db_test! {
    async fn a_socket_that_never_initialises_is_closed_after_three_seconds(app);
    {
        let started = Instant::now();
        let mut socket = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        assert_eq!(close_code(&mut socket).await, 4408);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(2900) && waited < Duration::from_secs(5), "{waited:?}");
    }
}

db_test! {
    async fn a_socket_is_closed_within_a_second_once_its_token_expires(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        // No leeway on open sockets: the access token (900 s) is past its exp.
        app.state.clock.advance(Duration::from_secs(901));
        let started = Instant::now();
        assert_eq!(close_code(&mut socket).await, 4403);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}

db_test! {
    async fn a_removed_members_socket_is_closed_within_a_second(app);
    {
        let (owner, members) = app.team(&["MEMBER"]).await;
        let member = &members[0];
        let mut socket = initialised(&app, &member.token).await;
        let member_id = app.member_id(member).await;
        app.ok(Some(&owner.token), "mutation($m: ID!) { removeMember(memberId: $m) }", json!({ "m": member_id })).await;
        let started = Instant::now();
        assert_eq!(close_code(&mut socket).await, 4403);
        assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    }
}

db_test! {
    async fn an_upgrade_from_a_refused_origin_is_refused(app)
        with |c: &mut atelya::config::Config| c.cors_origins = vec!["https://app.example.com".into()];
    {
        let refused = open(&app, Some("graphql-transport-ws"), Some("https://evil.example.com")).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
            other => panic!("expected a 403, got {other:?}"),
        }
        assert!(open(&app, Some("graphql-transport-ws"), Some("https://app.example.com")).await.is_ok());
        assert!(open(&app, Some("graphql-transport-ws"), None).await.is_ok(), "no Origin: a server or script");
    }
}

db_test! {
    async fn the_legacy_graphql_ws_protocol_runs_operations(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = open(&app, Some("graphql-ws"), None).await.unwrap();
        send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.token) } })).await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
        send(&mut socket, json!({ "type": "start", "id": "1", "payload": { "query": "{ workspace { name } }" } })).await;
        let mut frame = recv(&mut socket).await;
        while frame["type"] == "ka" {
            frame = recv(&mut socket).await;
        }
        assert_eq!(frame["type"], "data");
        assert_eq!(frame["payload"]["data"]["workspace"]["name"], "Acme");
        assert_eq!(recv(&mut socket).await, json!({ "type": "complete", "id": "1" }));

        let mut refused = open(&app, Some("graphql-ws"), None).await.unwrap();
        send(&mut refused, json!({ "type": "connection_init", "payload": {} })).await;
        assert_eq!(recv(&mut refused).await["type"], "connection_error");
        assert_eq!(close_code(&mut refused).await, 4403);
    }
}

db_test! {
    async fn fields_come_in_the_order_they_were_selected_over_http_and_websockets(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let query = "{ viewer { user { name id email } member { role } } workspace { plan name id } }";
        let keys = |data: &serde_json::Value| -> Vec<Vec<String>> {
            [&data["viewer"]["user"], &data["viewer"], &data["workspace"]]
                .iter()
                .map(|o| o.as_object().unwrap().keys().cloned().collect())
                .collect()
        };
        let expected = vec![
            vec!["name".to_owned(), "id".into(), "email".into()],
            vec!["user".into(), "member".into()],
            vec!["plan".into(), "name".into(), "id".into()],
        ];
        // Twice: the second request runs the document parsed by the first.
        for _ in 0..2 {
            let body = app
                .client
                .post(&app.url)
                .bearer_auth(&ann.token)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(body.starts_with(r#"{"data":{"viewer":{"user":{"name":"#), "{body}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(keys(&body["data"]), expected);
        }
        let mut socket = initialised(&app, &ann.token).await;
        send(&mut socket, json!({ "type": "subscribe", "id": "q", "payload": { "query": query } })).await;
        let next = recv(&mut socket).await;
        assert_eq!(keys(&next["payload"]["data"]), expected);
        assert_eq!(recv(&mut socket).await["type"], "complete");

        // A page whose lists come from loaders that finish in their own order.
        let id = app.create_workroom(&ann.token, crate::rooms::input("Ordered")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let page = "query($id: ID!) { workroom(id: $id) { title tasks { title id } state deliverables { label id } id } }";
        let room = app.ok(Some(&ann.token), page, json!({ "id": id })).await["workroom"].clone();
        let room_keys: Vec<&String> = room.as_object().unwrap().keys().collect();
        assert_eq!(room_keys, ["title", "tasks", "state", "deliverables", "id"]);
        let task_keys: Vec<&String> = room["tasks"][0].as_object().unwrap().keys().collect();
        assert_eq!(task_keys, ["title", "id"]);
        let deliverable_keys: Vec<&String> = room["deliverables"][0].as_object().unwrap().keys().collect();
        assert_eq!(deliverable_keys, ["label", "id"]);

        // A subscription's events, replayed and then live, the same.
        let watch = "subscription($w: ID!) { workroomEvents(workroomId: $w) { workroomId seq actor { name id } kind } }";
        send(&mut socket, json!({ "type": "subscribe", "id": "s", "payload": { "query": watch, "variables": { "w": id } } })).await;
        for _ in 0..3 {
            let event = recv(&mut socket).await["payload"]["data"]["workroomEvents"].clone();
            let event_keys: Vec<&String> = event.as_object().unwrap().keys().collect();
            assert_eq!(event_keys, ["workroomId", "seq", "actor", "kind"]);
        }
    }
}
