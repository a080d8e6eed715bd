//! An event stream's access is checked again however busy the stream is,
//! and however the database answers: a flood of events does not keep a
//! revoked key's stream open, and a check that failed is tried again
//! instead of ending the stream or leaving it unchecked.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use atelya::realtime::sockets::flag;
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::{
    helpers::*,
    rooms::*,
    sse::{until_error, EventStream},
    ws_client::WATCH,
};

const CREATE_KEY: &str =
    "mutation { createApiKey(input: { name: \"feed\", role: VIEWER }) { secret apiKey { id } } }";
const REVOKE_KEY: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id } }";

/// Messages posted at once, back to back, while the streams read.
const WRITERS: usize = 4;
/// Events in the workroom before the streams open. Each stream replays them
/// from the start, so when its key is revoked it has hundreds of events
/// ready at once, besides those still being posted.
const HISTORY: i64 = 600;
/// Streams of the key.
const STREAMS: usize = 4;

/// A VIEWER key of `owner`'s workspace: its secret and id.
async fn key(app: &TestApp, owner: &Account) -> (String, Value) {
    let created = app.ok(Some(&owner.token), CREATE_KEY, json!({})).await;
    let secret = created["createApiKey"]["secret"].as_str().unwrap();
    (
        secret.to_owned(),
        created["createApiKey"]["apiKey"]["id"].clone(),
    )
}

/// Posts messages in workroom `id` back to back until `stop` is set.
async fn flood(
    app: &TestApp,
    token: &str,
    id: &str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (client, url, token, id) = (
        app.client.clone(),
        app.url.clone(),
        token.to_owned(),
        id.to_owned(),
    );
    tokio::spawn(async move {
        let query = "mutation($id: ID!) { postMessage(workroomId: $id, body: \"more\") { seq } }";
        while !stop.load(Ordering::Relaxed) {
            let body = json!({ "query": query, "variables": { "id": id } });
            let _ = client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
        }
    })
}

db_test! {
    async fn streams_flooded_with_events_end_within_a_second_of_their_key_being_revoked(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&owner.token, input("Busy")).await;
        let (secret, key_id) = key(&app, &owner).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            writers.push(flood(&app, &owner.token, &id, stop.clone()).await);
        }
        // A history long enough that streams from its start have events
        // waiting, more coming all the while.
        let (client, token, room) = (&app, owner.token.as_str(), id.as_str());
        eventually(Duration::from_secs(60), move || async move {
            match last_seq(client, token, room).await {
                seq if seq >= HISTORY => Ok(()),
                seq => Err(format!("the flood is too slow: {seq} of {HISTORY} events")),
            }
        })
        .await;
        let mut streams = Vec::new();
        for _ in 0..STREAMS {
            let mut stream = EventStream::post(&app, Some(&secret), WATCH, json!({ "w": id })).await;
            assert_eq!(stream.next().await["data"]["workroomEvents"]["seq"], 1);
            streams.push(stream);
        }

        app.ok(Some(&owner.token), REVOKE_KEY, json!({ "id": key_id })).await;
        let revoked = Instant::now();
        let ends = streams.iter_mut().map(|stream| async move {
            let ended = until_error(stream).await;
            assert_eq!(code(&ended), "UNAUTHENTICATED", "{ended}");
            stream.completes().await;
        });
        tokio::time::timeout(Duration::from_secs(1), futures_util::future::join_all(ends))
            .await
            .expect("every stream ended within a second, events still coming");
        assert!(revoked.elapsed() < Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.await.unwrap();
        }
    }
}

async fn last_seq(app: &TestApp, token: &str, id: &str) -> i64 {
    let data = app
        .ok(
            Some(token),
            "query($id: ID!) { workroom(id: $id) { lastSeq } }",
            json!({ "id": id }),
        )
        .await;
    data["workroom"]["lastSeq"].as_i64().unwrap()
}

db_test! {
    async fn a_stream_whose_access_check_fails_checks_again_until_it_gets_an_answer(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&owner.token, input("Watched")).await;
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
        let (secret, _) = key(&app, &owner).await;
        let mut stream = EventStream::post(&app, Some(&secret), WATCH, json!({ "w": id })).await;
        assert_eq!(stream.next().await["data"]["workroomEvents"]["seq"], 1);
        let sockets = app.state.realtime.sockets.clone();

        // The database cannot tell whether the key is good: the stream stays open.
        let db = app.state.db.conn();
        db.execute_unprepared("ALTER TABLE api_keys RENAME TO api_keys_gone").await.unwrap();
        sockets.signal_all(flag::RECHECK);
        let open = tokio::time::timeout(Duration::from_millis(2500), until_error(&mut stream)).await;
        assert!(open.is_err(), "the stream ended while its access was unknown: {open:?}");

        // The key is revoked behind the server's back, with no signal: the
        // check tried again finds it, within a second of the database answering.
        db.execute_unprepared("ALTER TABLE api_keys_gone RENAME TO api_keys").await.unwrap();
        entity::api_key::Entity::update_many()
            .col_expr(entity::api_key::Column::RevokedAt, Expr::value(chrono::Utc::now()))
            .filter(entity::api_key::Column::RevokedAt.is_null())
            .exec(db)
            .await
            .unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(2), until_error(&mut stream))
            .await
            .expect("checked again once the database answered");
        assert_eq!(code(&ended), "UNAUTHENTICATED", "{ended}");
        stream.completes().await;
    }
}
