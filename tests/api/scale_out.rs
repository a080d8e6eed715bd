//! Several instances on one PostgreSQL and one Redis: live events, presence
//! and access changes cross instances; Redis faults lose and duplicate
//! nothing; a graceful shutdown hands runs over at once. These run when
//! `TEST_DATABASE_URL` and `TEST_REDIS_URL` are set (CI sets both; the
//! fault tests start a `redis-server` of their own).

use std::time::{Duration, Instant};

use atelya::config::Config;
use serde_json::{json, Value};

use crate::{helpers::*, redis_server::RedisServer, rooms::*, ws_client::*};

/// Two instances on a fresh PostgreSQL database and the Redis at `redis_url`.
/// Instance A never claims work unless told to, so runs happen on B.
pub(crate) struct Cluster {
    pub a: Instance,
    pub b: Instance,
    _database: TestDatabase,
}

pub(crate) async fn cluster(redis_url: String, tweak: fn(&mut Config)) -> Cluster {
    let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let database = TestDatabase::create(Backend::Postgres(admin)).await;
    let prefix = format!("atelya-test-{}", uuid::Uuid::now_v7().simple());
    let config = move |watching_only: bool| {
        let (url, prefix) = (redis_url.clone(), prefix.clone());
        move |c: &mut Config| {
            c.redis_url = Some(atelya::config::Secret(url));
            c.redis_prefix = prefix;
            if watching_only {
                c.engine.poll_ms = 3_600_000;
            }
            tweak(c);
        }
    };
    let a = Instance::start(&database.url, config(true)).await;
    let b = Instance::start(&database.url, config(false)).await;
    Cluster {
        a,
        b,
        _database: database,
    }
}

/// Whether the scale-out tests can run here; says why not when they cannot.
pub(crate) fn services() -> Option<String> {
    match (std::env::var("TEST_DATABASE_URL"), test_redis()) {
        (Ok(_), Some(redis)) => Some(redis),
        _ => {
            eprintln!("skipped: TEST_DATABASE_URL and TEST_REDIS_URL are not both set");
            None
        }
    }
}

fn paced(c: &mut Config) {
    c.engine.builtin_token_delay_ms = 2;
}

/// A workroom whose Composer waits for the owner's approval.
fn gated(title: &str) -> Value {
    let mut input = input(title);
    input["constraints"] =
        json!({ "approval": { "requiredRole": "OWNER", "requiredApprovals": 1 } });
    input
}

async fn approve_when_asked(app: &TestApp, token: &str, id: &str) {
    let task = eventually(Duration::from_secs(20), move || async move {
        let room = app.room(token, id).await;
        let task = room["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "APPROVAL" && t["state"] == "AWAITING_APPROVAL");
        match task {
            Some(task) => Ok(task["id"].clone()),
            None => Err(format!("no approval asked: {room}")),
        }
    })
    .await;
    app.ok(
        Some(token),
        "mutation($t: ID!) { grantApproval(taskId: $t) { id } }",
        json!({ "t": task }),
    )
    .await;
}

fn watcher_ids(data: &Value) -> Vec<String> {
    let mut ids: Vec<String> = data["workroom"]["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Every task ran once and was charged once, and every charge is one task's or the plan's.
fn ran_and_charged_once(history: &[Value]) {
    let mut started = std::collections::HashMap::new();
    let mut charged = std::collections::HashMap::new();
    for event in history {
        let task = event["taskId"].to_string();
        match event["kind"].as_str().unwrap() {
            "TASK_STARTED" => *started.entry(task).or_insert(0) += 1,
            "CREDITS_CHARGED" => *charged.entry(task).or_insert(0) += 1,
            _ => {}
        }
    }
    assert!(
        started.values().all(|n| *n == 1),
        "a task ran twice: {started:?}"
    );
    assert!(
        charged.values().all(|n| *n == 1),
        "something was charged twice: {charged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_watcher_on_one_instance_sees_a_run_driven_through_another() {
    let Some(redis) = services() else { return };
    let cluster = cluster(redis, paced).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let (owner, members) = b.team(&["VIEWER"]).await;
    let viewer = &members[0];
    let id = b.create_workroom(&owner.token, gated("Across")).await;

    let mut on_a = Client::connect(a, &viewer.token).await;
    on_a.subscribe("w", WATCH, json!({ "w": id })).await;
    let mut on_b = Client::connect(b, &owner.token).await;
    on_b.subscribe("w", WATCH, json!({ "w": id })).await;
    on_a.next_of("w").await;
    on_b.next_of("w").await;
    // Presence on each instance lists the watchers of both.
    let mut both = vec![owner.user_id.clone(), viewer.user_id.clone()];
    both.sort();
    let query = "query($w: ID!) { workroom(id: $w) { watchers { id } } }";
    let (token, room_id, both) = (owner.token.as_str(), id.as_str(), &both);
    for app in [a, b] {
        eventually(Duration::from_secs(5), move || async move {
            let listed = app.ok(Some(token), query, json!({ "w": room_id })).await;
            match watcher_ids(&listed) == *both {
                true => Ok(()),
                false => Err(listed.to_string()),
            }
        })
        .await;
    }

    approve_when_asked(b, &owner.token, &id).await;
    let seen_on_a = on_a.events_until("w", reached("COMPLETED")).await;
    let seen_on_b = on_b.events_until("w", reached("COMPLETED")).await;
    let history = b.history(&owner.token, &id).await;
    // Seq 1 was read above.
    assert_eq!(seen_on_a, history[1..], "A streamed B's run, gap-free");
    assert_eq!(seen_on_b, history[1..]);

    // A member removed through B is cut off on A within a second.
    let viewer_member = b.member_id(viewer).await;
    b.ok(
        Some(&owner.token),
        "mutation($m: ID!) { removeMember(memberId: $m) }",
        json!({ "m": viewer_member }),
    )
    .await;
    let removed = Instant::now();
    assert_eq!(close_code(&mut on_a.socket).await, 4403);
    assert!(
        removed.elapsed() < Duration::from_secs(1),
        "{:?}",
        removed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_killed_instances_watchers_vanish_within_seconds() {
    let Some(redis) = services() else { return };
    let mut cluster = cluster(redis, paced).await;
    let (owner, members) = cluster.b.app.team(&["VIEWER"]).await;
    let viewer = &members[0];
    let id = cluster
        .b
        .app
        .create_workroom(&owner.token, gated("Crash"))
        .await;
    let mut follower = Client::connect(&cluster.b.app, &owner.token).await;
    follower
        .subscribe(
            "p",
            "subscription($w: ID!) { workroomWatchers(workroomId: $w) { id } }",
            json!({ "w": id }),
        )
        .await;
    // The list as it is first (nobody watches), then its changes.
    assert_eq!(follower.next_of("p").await["workroomWatchers"], json!([]));
    assert!(follower.quiet("p", Duration::from_millis(300)).await);
    let mut on_a = Client::connect(&cluster.a.app, &viewer.token).await;
    on_a.subscribe("w", WATCH, json!({ "w": id })).await;
    let joined = follower.next_of("p").await;
    assert_eq!(
        joined["workroomWatchers"],
        json!([{ "id": viewer.user_id }])
    );

    cluster.a.kill();
    let killed = Instant::now();
    let left = follower.next_of("p").await;
    assert_eq!(left["workroomWatchers"], json!([]));
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "{:?}",
        killed.elapsed()
    );
}

/// Runs a workroom on B with watchers on both instances while `fault`
/// strikes Redis mid-compose; every watcher still gets every event once, in order.
async fn survives(fault: impl AsyncFnOnce(&mut RedisServer)) {
    let mut redis = RedisServer::start().await;
    let cluster = cluster(redis.url(), paced).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let (owner, members) = b.team(&["VIEWER"]).await;
    let viewer = &members[0];
    let id = b.create_workroom(&owner.token, gated("Faults")).await;
    let mut watchers = vec![
        Client::connect(a, &viewer.token).await,
        Client::connect(b, &owner.token).await,
    ];
    for watcher in &mut watchers {
        watcher.subscribe("w", WATCH, json!({ "w": id })).await;
    }
    approve_when_asked(b, &owner.token, &id).await;
    let mut seen: Vec<Vec<Value>> = Vec::new();
    for watcher in &mut watchers {
        seen.push(
            watcher
                .events_until("w", |e| e["kind"] == "COMPOSER_DELTA")
                .await,
        );
    }
    fault(&mut redis).await;
    for (watcher, seen) in watchers.iter_mut().zip(&mut seen) {
        seen.extend(watcher.events_until("w", reached("COMPLETED")).await);
    }
    let history = b.history(&owner.token, &id).await;
    for seen in &seen {
        assert_eq!(seen, &history, "every event once, in order");
    }
    ran_and_charged_once(&history);
    let room = b.room(&owner.token, &id).await;
    assert_history(&history, &room);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn killing_the_pubsub_connections_mid_run_loses_and_repeats_nothing() {
    if services().is_none() {
        return;
    }
    survives(async |redis: &mut RedisServer| {
        assert!(
            redis.kill_pubsub_clients().await >= 2,
            "each instance had its pub/sub connection"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn restarting_redis_mid_run_loses_and_repeats_nothing() {
    if services().is_none() {
        return;
    }
    survives(async |redis: &mut RedisServer| redis.restart(Duration::from_millis(500)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_redis_that_goes_silent_mid_run_is_noticed_and_loses_and_repeats_nothing() {
    if services().is_none() {
        return;
    }
    // Longer than the PING's deadline: the instances give the connection up and reconnect.
    survives(async |redis: &mut RedisServer| redis.freeze(Duration::from_secs(5)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn each_instance_holds_exactly_one_pubsub_connection() {
    if services().is_none() {
        return;
    }
    let redis = RedisServer::start().await;
    let cluster = cluster(redis.url(), paced).await;
    let (owner, _) = cluster.b.app.team(&[]).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let id = cluster
            .b
            .app
            .create_workroom(&owner.token, input(&format!("Room {i}")))
            .await;
        for app in [&cluster.a.app, &cluster.b.app] {
            let mut client = Client::connect(app, &owner.token).await;
            client.subscribe("w", WATCH, json!({ "w": id })).await;
            client
                .subscribe("a", "subscription { activity { action } }", json!({}))
                .await;
            client.next_of("w").await;
            clients.push(client);
        }
    }
    assert_eq!(
        redis.kill_pubsub_clients().await,
        2,
        "one pub/sub connection per instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_graceful_shutdown_closes_sockets_with_1001_and_hands_its_runs_over_at_once() {
    let Some(redis) = services() else { return };
    let mut cluster = cluster(redis, |c| {
        c.engine.builtin_token_delay_ms = 3;
        c.lease_ttl = 60;
    })
    .await;
    let (owner, _) = cluster.b.app.team(&[]).await;
    let id = cluster
        .b
        .app
        .create_workroom(&owner.token, input("Handover"))
        .await;
    let mut on_b = Client::connect(&cluster.b.app, &owner.token).await;
    on_b.subscribe("w", WATCH, json!({ "w": id })).await;
    on_b.events_until("w", |e| e["kind"] == "COMPOSER_DELTA")
        .await;
    let mut on_a = Client::connect(&cluster.a.app, &owner.token).await;
    on_a.subscribe("w", WATCH, json!({ "w": id })).await;

    cluster.b.stop().await;
    assert_eq!(close_code(&mut on_b.socket).await, 1001);
    // A takes the run over at once, not after the 60 s lease.
    let started = Instant::now();
    let events = on_a.events_until("w", reached("COMPLETED")).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let history = cluster.a.app.history(&owner.token, &id).await;
    assert_eq!(events, history);
    let room = cluster.a.app.room(&owner.token, &id).await;
    assert_history(&history, &room);
}

fn strict_logins(c: &mut Config) {
    c.limits.failed_logins_per_15_min = 3;
    c.limits.auth_rate_per_minute = 8;
}

async fn login_as_ann(app: &TestApp, password: &str) -> Value {
    app.gql(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        json!({ "e": "ann@example.com", "p": password }),
    )
    .await
}

async fn sign_up(app: &TestApp, n: usize) -> Value {
    app.gql(
        None,
        "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }",
        json!({ "i": { "email": format!("u{n}@example.com"), "password": PASSWORD, "name": "U", "workspaceName": "W" } }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn password_and_sign_up_limits_hold_across_instances() {
    let Some(redis) = services() else { return };
    let cluster = cluster(redis, strict_logins).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    a.signup("ann@example.com", "Acme").await;
    // Failures through either instance count toward one lockout.
    assert_eq!(code(&login_as_ann(a, "wrong one").await), "UNAUTHENTICATED");
    assert_eq!(code(&login_as_ann(b, "wrong two").await), "UNAUTHENTICATED");
    assert_eq!(
        code(&login_as_ann(a, "wrong three").await),
        "UNAUTHENTICATED"
    );
    assert_eq!(code(&login_as_ann(b, PASSWORD).await), "RATE_LIMITED");
    assert_eq!(code(&login_as_ann(a, PASSWORD).await), "RATE_LIMITED");
    // Eight sign-ups a minute from one address, across both instances
    // (ann's was the first).
    let mut signed_up = 0;
    for n in 0..12 {
        let app = if n % 2 == 0 { a } else { b };
        if sign_up(app, n).await.get("errors").is_none() {
            signed_up += 1;
        }
    }
    assert_eq!(signed_up, 7, "not eight on each instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_flush_with_nothing_queued_returns_at_once_and_publishing_goes_on() {
    use atelya::realtime::{Message, Signal, Topic};
    let Some(_) = services() else { return };
    let app = spawn_app(Backend::Sqlite, Box::new(use_test_redis)).await;
    let bus = &app.state.realtime.bus;
    let topic = Topic::Workspace(uuid::Uuid::now_v7());
    let mut heard = bus.subscribe(topic).await;

    let started = Instant::now();
    bus.flush(Duration::from_secs(5)).await;
    let flushed_in = started.elapsed();
    bus.publish(topic, Message::Credits);

    assert!(
        flushed_in < Duration::from_secs(1),
        "an empty flush took {flushed_in:?}"
    );
    let signal = tokio::time::timeout(Duration::from_secs(3), heard.recv())
        .await
        .expect("a publication after the flush still goes out");
    assert!(matches!(signal, Signal::Message(m) if **m == Message::Credits));
}
