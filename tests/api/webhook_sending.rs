//! How deliveries are sent: a workspace whose endpoints answer slowly, and
//! that is flooded with events, holds up no other workspace's delivery and
//! gets each of its own sent once, with one instance or two; an endpoint
//! answering a huge body costs its snippet, not its size.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Uri},
    Router,
};
use entity::webhook_delivery;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::{helpers::*, webhooks::*};

/// An endpoint that answers 200 after `delay`, remembering what it got and
/// how many requests it held at once, per path.
#[derive(Clone)]
struct SlowReceiver {
    url: String,
    state: Arc<Slow>,
}

struct Slow {
    delay: Duration,
    /// (path, webhook-id) of every request, in order of arrival.
    received: Mutex<Vec<(String, String)>>,
    /// Requests being answered now, and the most at once, per path.
    open: Mutex<HashMap<String, (usize, usize)>>,
}

impl SlowReceiver {
    async fn start(delay: Duration) -> SlowReceiver {
        let state = Arc::new(Slow {
            delay,
            received: Mutex::default(),
            open: Mutex::default(),
        });
        let app = Router::new().fallback(slowly).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        SlowReceiver {
            url: format!("http://{addr}/slow"),
            state,
        }
    }

    fn received(&self) -> Vec<(String, String)> {
        self.state.received.lock().unwrap().clone()
    }

    /// The most requests any one path held at once.
    fn most_at_once(&self) -> usize {
        let open = self.state.open.lock().unwrap();
        open.values().map(|(_, most)| *most).max().unwrap_or(0)
    }

    async fn until(&self, count: usize, within: Duration) {
        eventually(within, move || async move {
            match self.received().len() {
                came if came >= count => Ok(()),
                came => Err(format!("{came} of {count} came")),
            }
        })
        .await;
    }
}

async fn slowly(State(slow): State<Arc<Slow>>, uri: Uri, headers: HeaderMap) -> &'static str {
    let path = uri.path().to_owned();
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    slow.received.lock().unwrap().push((path.clone(), id));
    {
        let mut open = slow.open.lock().unwrap();
        let (now, most) = open.entry(path.clone()).or_default();
        *now += 1;
        *most = (*most).max(*now);
    }
    tokio::time::sleep(slow.delay).await;
    slow.open.lock().unwrap().get_mut(&path).unwrap().0 -= 1;
    "ok"
}

const SLOW_ENDPOINTS: usize = 3;
const FLOOD: usize = 10;

/// A flooded workspace with three slow endpoints, and a quiet one whose
/// event (emitted on the first of `apps`, the instances dispatching, while
/// the flood is being sent) must arrive within 2 s; returns the slow
/// receiver once the whole flood came.
async fn a_flood_and_a_quiet_event(apps: &[&TestApp]) -> SlowReceiver {
    let (app, dispatchers) = (apps[0], apps.len());
    let slow = SlowReceiver::start(Duration::from_millis(800)).await;
    let fast = Receiver::start().await;
    let flooded = app.signup("flood@example.com", "Floodco").await;
    for i in 0..SLOW_ENDPOINTS {
        let url = format!("{}/{i}", slow.url);
        app.endpoint(&flooded.token, &url, &["workspace.renamed"])
            .await;
    }
    let quiet = app.signup("quiet@example.com", "Quietco").await;
    app.endpoint(&quiet.token, &fast.url, &["workspace.renamed"])
        .await;
    for i in 0..FLOOD {
        app.ok(
            Some(&flooded.token),
            RENAME,
            json!({ "n": format!("Floodco {i}") }),
        )
        .await;
    }
    slow.until(1, Duration::from_secs(10)).await;

    let started = Instant::now();
    app.ok(Some(&quiet.token), RENAME, json!({ "n": "Quietco 2" }))
        .await;
    fast.until(1).await;
    let waited = started.elapsed();
    let total = SLOW_ENDPOINTS * FLOOD;
    assert!(
        waited < Duration::from_secs(2),
        "the quiet workspace waited {waited:?}"
    );
    assert!(
        slow.received().len() < total,
        "and did not wait for the flood to be sent"
    );

    slow.until(total, Duration::from_secs(30)).await;
    // Whatever might come twice has come: every instance has looked twice
    // and found nothing due and nothing being sent.
    for app in apps {
        app.after_passes(|r| &r.webhooks_idle, 2).await;
    }
    let received = slow.received();
    let mut distinct = received.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        (received.len(), distinct.len()),
        (total, total),
        "each delivery sent once"
    );
    let most = slow.most_at_once();
    assert!(
        most <= 2 * dispatchers,
        "at most two at once per endpoint and instance: {most}"
    );
    slow
}

/// Every delivery succeeded at its first attempt, as recorded.
async fn all_sent_once(app: &TestApp) {
    eventually(Duration::from_secs(10), move || async move {
        let not_yet = webhook_delivery::Entity::find()
            .filter(
                Condition::any()
                    .add(webhook_delivery::Column::State.ne("SUCCEEDED"))
                    .add(webhook_delivery::Column::Attempts.ne(1)),
            )
            .count(app.state.db.conn())
            .await
            .unwrap();
        match not_yet {
            0 => Ok(()),
            _ => Err(format!("{not_yet} deliveries not recorded as sent once")),
        }
    })
    .await
}

db_test! {
    async fn a_slow_flooded_workspace_holds_up_no_other(app)
        with allow_private;
    {
        a_flood_and_a_quiet_event(&[&app]).await;
        all_sent_once(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_instances_a_slow_flooded_workspace_holds_up_no_other_and_nothing_is_sent_twice() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, allow_private).await;
    a_flood_and_a_quiet_event(&[&cluster.a.app, &cluster.b.app]).await;
    all_sent_once(&cluster.b.app).await;
}

/// Bytes each answer of the huge receiver carries.
const HUGE: usize = 256 * 1024 * 1024;
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// An endpoint that answers every request with [`HUGE`] bytes, made as
/// they are sent (so the receiver itself holds none of them).
async fn huge_receiver(requests: Arc<AtomicUsize>) -> String {
    let app = Router::new().fallback(move || {
        let requests = requests.clone();
        async move {
            requests.fetch_add(1, Ordering::SeqCst);
            let chunks =
                (0..HUGE / CHUNK.len()).map(|_| Ok::<_, Infallible>(Bytes::from_static(&CHUNK)));
            Body::from_stream(futures_util::stream::iter(chunks))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/huge")
}

/// This process's resident memory, in bytes (the server runs in it).
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

async fn succeeded(app: &TestApp, count: u64) {
    eventually(Duration::from_secs(60), move || async move {
        let done = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::State.eq(atelya::webhook::DeliveryState::Succeeded))
            .count(app.state.db.conn())
            .await
            .unwrap();
        match done >= count {
            true => Ok(()),
            false => Err(format!("{done} of {count} deliveries")),
        }
    })
    .await;
}

db_test! {
    async fn a_huge_answer_is_read_only_up_to_its_snippet(app)
        with allow_private;
    {
        let requests = Arc::new(AtomicUsize::new(0));
        let url = huge_receiver(requests.clone()).await;
        let owner = app.signup("ann@example.com", "Acme").await;
        app.endpoint(&owner.token, &url, &["workspace.renamed"]).await;
        // One first, so that what a first attempt sets up once is not counted.
        app.ok(Some(&owner.token), RENAME, json!({ "n": "Acme 0" })).await;
        succeeded(&app, 1).await;

        let before = resident();
        let peak = Arc::new(AtomicU64::new(before));
        let sampling = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(resident(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        for i in 1..=100 {
            app.ok(Some(&owner.token), RENAME, json!({ "n": format!("Acme {i}") })).await;
        }
        succeeded(&app, 101).await;
        sampling.abort();
        let grew = peak.load(Ordering::Relaxed).saturating_sub(before);
        assert!(grew < 64 * 1024 * 1024, "resident memory grew by {} MiB", grew / (1024 * 1024));
        assert_eq!(requests.load(Ordering::SeqCst), 101);

        let rows = webhook_delivery::Entity::find().all(app.state.db.conn()).await.unwrap();
        for row in rows {
            assert_eq!(row.last_response.as_deref(), Some("x".repeat(1_024).as_str()), "the snippet is the first kilobyte");
        }
    }
}
