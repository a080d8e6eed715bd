//! The workspaces, and the driver that keeps `--workrooms` workrooms running:
//! it polls each workspace's running workrooms, starts a new one where one
//! has finished, tops credits up when they run low (and resumes a workroom
//! that paused for credits), and publishes the running workrooms in the
//! [`Pool`] for watchers to pick.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use tokio::sync::watch;

use super::{client::Client, watcher::Phase, SoakSettings};
use crate::api;

/// How often the driver looks at every workspace.
const POLL: Duration = Duration::from_millis(500);

/// A workspace of the soak: its owner's token.
#[derive(Clone)]
pub struct Workspace {
    pub token: Arc<str>,
}

/// A running workroom.
pub struct Live {
    pub id: Arc<str>,
    pub workspace: usize,
    /// Its newest seq when the driver last looked: where a watcher joining it starts.
    pub after: AtomicI64,
    /// Watchers following it now.
    pub watching: AtomicUsize,
    /// A watcher saw it end: no new watch picks it while the driver has not
    /// noticed yet (its watchers would only replay its end, over and over).
    pub ended: AtomicBool,
}

/// The running workrooms.
#[derive(Clone, Default)]
pub struct Pool(Arc<Mutex<Vec<Arc<Live>>>>);

impl Pool {
    /// The least-watched running workroom of `workspace` (the oldest among
    /// equals), counted as watched once more.
    pub fn pick(&self, workspace: usize) -> Option<Arc<Live>> {
        let rooms = self.0.lock().unwrap();
        let live = rooms
            .iter()
            .filter(|r| r.workspace == workspace && !r.ended.load(Ordering::Relaxed))
            .min_by_key(|r| r.watching.load(Ordering::Relaxed))?;
        live.watching.fetch_add(1, Ordering::Relaxed);
        Some(live.clone())
    }

    fn add(&self, id: &str, workspace: usize, after: i64) {
        self.0.lock().unwrap().push(Arc::new(Live {
            id: id.into(),
            workspace,
            after: AtomicI64::new(after),
            watching: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
        }));
    }

    fn remove(&self, id: &str) {
        self.0.lock().unwrap().retain(|r| &*r.id != id);
    }

    fn seen(&self, id: &str, last_seq: i64) {
        if let Some(r) = self.0.lock().unwrap().iter().find(|r| &*r.id == id) {
            r.after.store(last_seq, Ordering::Relaxed);
        }
    }
}

/// What the driver did.
#[derive(Debug, Default)]
pub struct Driven {
    pub started: usize,
    pub finished: usize,
    pub top_ups: usize,
    pub resumed: usize,
    /// Workrooms still running when the drain timed out.
    pub left_running: usize,
    pub errors: usize,
    /// The first few errors.
    pub first_errors: Vec<String>,
}

impl Driven {
    fn error(&mut self, what: &str, err: String) {
        self.errors += 1;
        if self.first_errors.len() < 10 {
            self.first_errors.push(format!("{what}: {err}"));
        }
    }
}

/// Signs up `--workspaces` workspaces and puts each on `--plan`.
pub async fn prepare(client: &Client, settings: &SoakSettings) -> Vec<Workspace> {
    let mut workspaces = Vec::new();
    for _ in 0..settings.workspaces {
        let token = api::sign_up(client.url(0)).await;
        let plan = "mutation($p: Plan!) { changePlan(plan: $p) { plan } }";
        client
            .call(&token, plan, json!({ "p": settings.plan }))
            .await
            .expect("changing the plan");
        workspaces.push(Workspace {
            token: token.into(),
        });
    }
    workspaces
}

const POLL_QUERY: &str = "query Poll($s: [WorkroomState!]) { workspace {
  credits { available }
  workrooms(filter: { states: $s }, first: 100) { nodes { id state stateReason lastSeq } } } }";

const RUNNING: [&str; 5] = [
    "PLANNING",
    "EXECUTING",
    "PAUSED",
    "COMPOSING",
    "AWAITING_REVISION",
];

/// Keeps `--workrooms` workrooms running until the load is over, then
/// waits (up to `--drain-minutes`) for the running ones to finish.
pub async fn drive(
    client: Arc<Client>,
    workspaces: Vec<Workspace>,
    pool: Pool,
    settings: SoakSettings,
    phase: watch::Receiver<Phase>,
) -> Driven {
    let mut driven = Driven::default();
    let mut tracked: Vec<Tracked> = workspaces
        .iter()
        .map(|ws| Tracked {
            ws: ws.clone(),
            active: HashSet::new(),
            first_available: None,
        })
        .collect();
    let mut drain_until = None;
    // The first workrooms start over a few seconds rather than all at once.
    let per_poll = (settings.workrooms / 10).max(1);
    loop {
        let polls = futures_util::future::join_all(
            workspaces
                .iter()
                .map(|ws| client.call(&ws.token, POLL_QUERY, json!({ "s": RUNNING }))),
        )
        .await;
        for (w, poll) in polls.into_iter().enumerate() {
            match poll {
                Ok(data) => {
                    let at = Looked {
                        w,
                        client: &client,
                        pool: &pool,
                        settings: &settings,
                    };
                    tracked[w].look(&at, &data, &mut driven).await
                }
                Err(err) => driven.error("polling", err),
            }
        }
        let running: usize = tracked.iter().map(|t| t.active.len()).sum();
        if *phase.borrow() != Phase::Running {
            let until = *drain_until.get_or_insert_with(|| {
                Instant::now() + Duration::from_secs_f64(settings.drain_minutes * 60.0)
            });
            if running == 0 || Instant::now() > until {
                driven.left_running = running;
                return driven;
            }
        } else {
            for _ in running..settings.workrooms.min(running + per_poll) {
                let w = (0..workspaces.len())
                    .min_by_key(|w| tracked[*w].active.len())
                    .unwrap();
                match create(&client, &workspaces[w], driven.started, &settings).await {
                    Ok(id) => {
                        pool.add(&id, w, 0);
                        tracked[w].active.insert(id);
                        driven.started += 1;
                    }
                    Err(err) => driven.error("creating a workroom", err),
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A workspace as the driver follows it.
struct Tracked {
    ws: Workspace,
    /// Its workrooms running at the last poll.
    active: HashSet<String>,
    /// Its available credits at the first poll.
    first_available: Option<i64>,
}

/// What looking at a workspace's poll needs.
struct Looked<'a> {
    w: usize,
    client: &'a Client,
    pool: &'a Pool,
    settings: &'a SoakSettings,
}

impl Tracked {
    /// Takes in one poll: finished workrooms leave the pool; credits are
    /// topped up when they are `--top-up-credits` below where they started
    /// (or a workroom paused for lack of them, which is then resumed).
    async fn look(&mut self, at: &Looked<'_>, data: &Value, driven: &mut Driven) {
        let listed: HashMap<&str, &Value> = data["workspace"]["workrooms"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r["id"].as_str()?, r)))
            .collect();
        self.active.retain(|id| {
            let running = listed.contains_key(id.as_str());
            if !running {
                at.pool.remove(id);
                driven.finished += 1;
            }
            running
        });
        for (id, room) in &listed {
            if self.active.insert((*id).to_owned()) {
                // A workroom the driver did not see created (a retried createWorkroom that had committed).
                at.pool.add(id, at.w, 0);
            }
            at.pool.seen(id, room["lastSeq"].as_i64().unwrap_or(0));
        }
        let starved: Vec<&str> = listed
            .iter()
            .filter(|(_, r)| r["state"] == "PAUSED" && r["stateReason"] == "INSUFFICIENT_CREDITS")
            .map(|(id, _)| *id)
            .collect();
        let available = data["workspace"]["credits"]["available"]
            .as_i64()
            .unwrap_or(0);
        let first = *self.first_available.get_or_insert(available);
        if available < first - at.settings.top_up_credits || !starved.is_empty() {
            buy(at.client, &self.ws, at.settings, driven).await;
        }
        for id in starved {
            let resume = "mutation($w: ID!) { resumeWorkroom(id: $w) { state } }";
            match at
                .client
                .call(&self.ws.token, resume, json!({ "w": id }))
                .await
            {
                Ok(_) => driven.resumed += 1,
                Err(err) => driven.error("resuming", err),
            }
        }
    }
}

/// Buys a top-up; its idempotency key makes a retried request add nothing.
async fn buy(client: &Client, ws: &Workspace, settings: &SoakSettings, driven: &mut Driven) {
    let query =
        "mutation($c: Int!, $k: String!) { purchaseTopUp(credits: $c, idempotencyKey: $k) { id } }";
    let key = uuid::Uuid::now_v7().simple().to_string();
    let vars = json!({ "c": settings.top_up_credits, "k": key });
    match client.call(&ws.token, query, vars).await {
        Ok(_) => driven.top_ups += 1,
        Err(err) => driven.error("buying a top-up", err),
    }
}

async fn create(
    client: &Client,
    ws: &Workspace,
    n: usize,
    settings: &SoakSettings,
) -> Result<String, String> {
    let labels: Vec<String> = (1..=settings.deliverables)
        .map(|i| format!("Deliverable {i}"))
        .collect();
    let input = json!({
        "title": format!("Soak {n}"),
        "goal": "Win the Q3 retainer with Northwind by proposing a content calendar for their outdoor gear",
        "deliverables": labels,
        "sources": [{ "kind": "BRIEF", "title": "Client brief", "content": "Northwind sells outdoor gear. They want three posts a week, a monthly newsletter and a seasonal campaign." }]
    });
    let query = "mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }";
    let data = client.call(&ws.token, query, json!({ "i": input })).await?;
    data["createWorkroom"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no id in {data}"))
}
