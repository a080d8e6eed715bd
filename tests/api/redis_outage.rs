//! The shared limits when Redis fails. Stopped, full (refusing writes with
//! OOM) or hung, Redis is replaced by the instance's own store: password
//! guessing, the per-address limit and cost budgets still refuse, no
//! request waits on Redis, and the switch is logged once and counted. When
//! Redis takes writes again the limits live there again, without a restart.
//! Each test starts a `redis-server` of its own, on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use atelya::config::{Config, Secret};
use serde_json::{json, Value};

use crate::{faults::captured_logs, helpers::*, redis_server::RedisServer};

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
const CHEAP: &str = "{ viewer { user { id } } }";

/// Runs `$scenario(backend)` on SQLite and on PostgreSQL, each with a Redis of its own.
macro_rules! on_both_backends {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(redis_tests),
                ignore = "TEST_REDIS_URL is not set (the Redis fault tests need redis-server)"
            )]
            async fn sqlite() {
                super::$scenario(crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(all(postgres_tests, redis_tests)),
                ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
            )]
            async fn postgres() {
                let Some(backend) = crate::helpers::Backend::postgres() else {
                    return;
                };
                super::$scenario(backend).await;
            }
        }
    };
}

on_both_backends!(
    with_redis_stopped_password_guessing_the_address_limit_and_budgets_still_hold,
    stopped
);
on_both_backends!(
    a_full_redis_refusing_writes_is_replaced_until_it_takes_writes_again,
    full
);
on_both_backends!(
    a_hung_redis_stalls_no_request_and_the_limits_still_hold,
    hung
);
on_both_backends!(
    once_redis_is_back_the_limits_live_there_again_without_a_restart,
    back
);

/// An app on `redis` under a prefix of its own, with ann signed up.
struct Setup {
    app: TestApp,
    redis: RedisServer,
    prefix: String,
    ann: Account,
}

/// Five wrong passwords per email, eight password checks per address a
/// minute, a budget of three documents an hour.
fn tight(c: &mut Config) {
    c.limits.failed_logins_per_15_min = 5;
    c.limits.auth_rate_per_minute = 8;
    c.limits.cost_budget_per_hour = 3;
}

async fn setup(backend: Backend, tweak: fn(&mut Config)) -> Setup {
    let redis = RedisServer::start().await;
    let prefix = format!("atelya-test-{}", uuid::Uuid::now_v7().simple());
    let (url, own) = (redis.url(), prefix.clone());
    let app = spawn_app(
        backend,
        Box::new(move |c| {
            c.redis_url = Some(Secret(url));
            c.redis_prefix = own;
            tweak(c);
        }),
    )
    .await;
    let ann = app.signup("ann@example.com", "Acme").await;
    Setup {
        app,
        redis,
        prefix,
        ann,
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.gql(None, LOGIN, json!({ "e": email, "p": password }))
        .await
}

/// The limits of [`tight`], each one past its allowance, with Redis failing.
async fn limits_hold(app: &TestApp, ann: &Account) {
    for i in 1..=5 {
        let guess = login(app, &ann.email, "wrong password!").await;
        assert_eq!(
            code(&guess),
            "UNAUTHENTICATED",
            "wrong password {i}: {guess}"
        );
    }
    let sixth = login(app, &ann.email, "wrong password!").await;
    assert_eq!(
        code(&sixth),
        "RATE_LIMITED",
        "the 6th wrong password for one email: {sixth}"
    );
    assert_eq!(
        code(&login(app, &ann.email, PASSWORD).await),
        "RATE_LIMITED",
        "even the right one"
    );
    assert_eq!(
        code(&login(app, "nobody@example.com", "guess").await),
        "UNAUTHENTICATED"
    );
    let ninth = login(app, "someone@example.com", "guess").await;
    assert_eq!(
        code(&ninth),
        "RATE_LIMITED",
        "the 9th password check from one address: {ninth}"
    );
    for i in 1..=3 {
        let body = app.gql(Some(&ann.token), CHEAP, json!({})).await;
        assert!(
            body.get("errors").is_none(),
            "document {i} within the budget: {body}"
        );
    }
    let over = app.gql(Some(&ann.token), CHEAP, json!({})).await;
    assert_eq!(
        code(&over),
        "RATE_LIMITED",
        "the 4th document over a budget of 3: {over}"
    );
}

/// Times the falls back to this process counted for `store` (every app in
/// this test process counts into the one recorder).
async fn fallbacks(app: &TestApp, store: &str) -> f64 {
    let base = app.url.trim_end_matches("/graphql");
    let text = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("atelya_redis_fallbacks_total{{store=\"{store}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Runs `limits_hold` while Redis fails; asserts each store fell back once,
/// in the log and in the metric.
async fn fails_over(setup: &Setup, fault: &str) {
    let logs = captured_logs();
    let before = (
        fallbacks(&setup.app, "rate_limits").await,
        fallbacks(&setup.app, "cost_budgets").await,
    );
    let started = Instant::now();
    limits_hold(&setup.app, &setup.ann).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{fault}: {:?}",
        started.elapsed()
    );
    let after = (
        fallbacks(&setup.app, "rate_limits").await,
        fallbacks(&setup.app, "cost_budgets").await,
    );
    assert!(
        after.0 > before.0 && after.1 > before.1,
        "{fault}: counted {before:?} -> {after:?}"
    );
    let Some(logs) = logs else { return };
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for store in ["ratelimit", "cost"] {
        let namespace = format!("{}:{store} ", setup.prefix);
        let lines = logs
            .lines()
            .filter(|l| l.contains(&namespace) && l.contains("kept in this process"));
        assert_eq!(
            lines.count(),
            1,
            "{fault}: one warning for {store}:\n{logs}"
        );
    }
}

/// Limiter keys in Redis (besides the probe's).
async fn limits_in_redis(setup: &Setup) -> usize {
    let mut connection = setup.redis.connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:ratelimit:*", setup.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    keys.iter().filter(|k| !k.ends_with(":alive")).count()
}

/// Waits until the limiter writes to Redis again (a few seconds of reconnecting at most).
async fn back_in_redis(setup: &Setup) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        if limits_in_redis(setup).await > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the limits did not go back to Redis"
        );
        login(&setup.app, &format!("probe{i}@example.com"), "guess").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn config_set(redis: &RedisServer, name: &str, value: &str) {
    let mut connection = redis.connection().await.unwrap();
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query_async(&mut connection)
        .await
        .unwrap();
}

/// Empties Redis (a full one too: this frees memory).
async fn flush(redis: &RedisServer) {
    let mut connection = redis.connection().await.unwrap();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut connection)
        .await
        .unwrap();
}

async fn stopped(backend: Backend) {
    let mut setup = setup(backend, tight).await;
    setup.redis.stop();
    fails_over(&setup, "stopped").await;
}

async fn full(backend: Backend) {
    let setup = setup(backend, tight).await;
    config_set(&setup.redis, "maxmemory-policy", "noeviction").await;
    config_set(&setup.redis, "maxmemory", "1").await;
    flush(&setup.redis).await;
    fails_over(&setup, "full").await;
    assert_eq!(
        limits_in_redis(&setup).await,
        0,
        "the full Redis took no write"
    );
    config_set(&setup.redis, "maxmemory", "0").await;
    back_in_redis(&setup).await;
}

async fn hung(backend: Backend) {
    let setup = setup(backend, tight).await;
    let (_, elapsed) = tokio::join!(setup.redis.freeze(Duration::from_secs(4)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        fails_over(&setup, "hung").await;
        started.elapsed()
    });
    assert!(
        elapsed < Duration::from_secs(3),
        "requests waited for the hung Redis: {elapsed:?}"
    );
}

async fn back(backend: Backend) {
    let mut setup = setup(backend, |c| c.limits.failed_logins_per_15_min = 5).await;
    let bob = setup.app.signup("bob@example.com", "Bobs").await;
    setup.redis.stop();
    for _ in 0..5 {
        login(&setup.app, &setup.ann.email, "wrong password!").await;
    }
    assert_eq!(
        code(&login(&setup.app, &setup.ann.email, PASSWORD).await),
        "RATE_LIMITED"
    );

    setup.redis.start_again().await;
    back_in_redis(&setup).await;

    for _ in 0..5 {
        login(&setup.app, &bob.email, "wrong password!").await;
    }
    assert_eq!(
        code(&login(&setup.app, &bob.email, PASSWORD).await),
        "RATE_LIMITED"
    );
    flush(&setup.redis).await;
    let freed = login(&setup.app, &bob.email, PASSWORD).await;
    assert!(
        freed.get("errors").is_none(),
        "bob's lock lived in Redis, not in the process: {freed}"
    );
}
