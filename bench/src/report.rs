//! Running the rounds, and the figures they give.

use std::{io::Write, time::Duration};

use serde_json::{json, Value};

use crate::{
    api,
    process::{self, Server},
    watch::{self, Target},
    Settings, Shape,
};

/// How long one measured run may take before its watchers give up.
const RUN_WITHIN: Duration = Duration::from_secs(180);
/// How long watchers read, from when they open until their run completes.
const LISTEN_WITHIN: Duration = Duration::from_secs(600);

/// The figures of one run.
#[derive(Debug, Clone)]
struct Figures {
    label: &'static str,
    watchers: usize,
    round: usize,
    expected: u64,
    delivered: u64,
    in_order: bool,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_delivery: f64,
    kib_per_idle_watcher: f64,
    released_pct: f64,
    pubsub_connections: Option<usize>,
    idle_db_transactions_per_s: Option<f64>,
}

impl Figures {
    fn json(&self) -> Value {
        json!({
            "label": self.label, "watchers": self.watchers, "round": self.round,
            "expected": self.expected, "delivered": self.delivered, "inOrder": self.in_order,
            "perSecond": self.per_second, "p50Ms": self.p50_ms, "p99Ms": self.p99_ms,
            "cpuUsPerDelivery": self.cpu_us_per_delivery, "kibPerIdleWatcher": self.kib_per_idle_watcher,
            "releasedPct": self.released_pct, "pubsubConnections": self.pubsub_connections,
            "idleDbTransactionsPerS": self.idle_db_transactions_per_s,
        })
    }
}

pub async fn run(settings: Settings) {
    eprintln!("recording the frames of a run for the baseline to replay");
    let frames = warm_up(&settings).await;
    eprintln!(
        "{} frames over {:?}",
        frames.len(),
        frames.last().map(|f| f.0).unwrap_or_default()
    );
    let mut out = settings
        .out
        .as_ref()
        .map(|path| std::fs::File::create(path).expect("the output file"));
    let mut all = Vec::new();
    for &watchers in &settings.watchers {
        for round in 1..=settings.rounds {
            let mut runs = vec![baseline(&settings, watchers, round, &frames).await];
            for &shape in &settings.shapes {
                runs.push(atelya(&settings, shape, watchers, round).await);
            }
            for figures in runs {
                eprintln!("{figures:?}");
                if let Some(out) = out.as_mut() {
                    writeln!(out, "{}", figures.json()).unwrap();
                }
                all.push(figures);
            }
        }
    }
    println!("{}", table(&all, &settings));
}

/// One Atelya run with one watcher, recorded.
async fn warm_up(settings: &Settings) -> Vec<(Duration, String)> {
    let server = start(settings, Shape::Sqlite, None).await.remove(0);
    let room = api::prepare(&server.http(), settings.deliverables).await;
    let target = atelya_target(&server, &room);
    let socket = watch::open(&target, 1, 1).await.remove(0);
    api::approve(&server.http(), &room).await;
    watch::record(socket, RUN_WITHIN).await
}

fn atelya_target(server: &Server, room: &api::Room) -> Target {
    Target::Atelya {
        url: server.ws("/graphql"),
        token: room.token.clone(),
        workroom: room.id.clone(),
        after: room.last_seq - 1,
    }
}

/// The servers of a shape: the first is the one watchers connect to, the last the one driven.
async fn start(settings: &Settings, shape: Shape, database: Option<&str>) -> Vec<Server> {
    let pace = (
        "ATELYA_BUILTIN_TOKEN_DELAY_MS",
        settings.token_delay_ms.to_string(),
    );
    match shape {
        Shape::Sqlite => vec![process::start_atelya(&settings.server, &[pace]).await],
        Shape::Postgres => {
            let db = ("DATABASE_URL", database.unwrap().to_owned());
            vec![process::start_atelya(&settings.server, &[pace, db]).await]
        }
        Shape::Redis => {
            let prefix = format!("atelya-bench-{}", uuid::Uuid::now_v7().simple());
            let env = |watching_only: bool| {
                let mut env = vec![
                    pace.clone(),
                    ("DATABASE_URL", database.unwrap().to_owned()),
                    ("REDIS_URL", settings.redis.clone()),
                    ("ATELYA_REDIS_PREFIX", prefix.clone()),
                ];
                if watching_only {
                    // Runs happen on the other instance.
                    env.push(("ATELYA_ENGINE_POLL_MS", "3600000".into()));
                }
                env
            };
            let watched = process::start_atelya(&settings.server, &env(true)).await;
            let driven = process::start_atelya(&settings.server, &env(false)).await;
            vec![watched, driven]
        }
    }
}

async fn atelya(settings: &Settings, shape: Shape, watchers: usize, round: usize) -> Figures {
    let database = (shape != Shape::Sqlite).then(|| process::create_database(&settings.postgres));
    let servers = start(settings, shape, database.as_deref()).await;
    let (watched, driven) = (&servers[0], servers.last().unwrap());
    let room = api::prepare(&driven.http(), settings.deliverables).await;
    let target = atelya_target(watched, &room);
    let (listening, memory) =
        open_measured(settings, watched, &target, watchers, room.last_seq + 1).await;
    let idle_db_transactions_per_s = match database.as_deref() {
        Some(url) => Some(idle_transactions(&settings.postgres, url).await),
        None => None,
    };
    let pubsub_connections =
        (shape == Shape::Redis).then(|| process::pubsub_connections(&settings.redis));
    let cpu = watched.cpu_secs();
    api::approve(&driven.http(), &room).await;
    let outcomes = watch::measure(listening).await;
    let cpu = watched.cpu_secs() - cpu;
    let events = (api::last_seq(&driven.http(), &room).await - room.last_seq) as u64;
    let label = match shape {
        Shape::Sqlite => "atelya (SQLite, in-process bus)",
        Shape::Postgres => "atelya (PostgreSQL, in-process bus)",
        Shape::Redis => "atelya (2 instances, PostgreSQL + Redis)",
    };
    let mut figures = figures(
        label, watchers, round, events, outcomes, cpu, watched, memory,
    )
    .await;
    figures.pubsub_connections = pubsub_connections;
    figures.idle_db_transactions_per_s = idle_db_transactions_per_s;
    drop(servers);
    if let Some(url) = database {
        process::drop_database(&settings.postgres, &url);
    }
    figures
}

/// Transactions per second PostgreSQL commits for the database while the
/// watchers idle. PostgreSQL publishes a backend's counts lazily (within 10 s
/// of it going idle), so the count starts after 11 quiet seconds.
async fn idle_transactions(admin: &str, url: &str) -> f64 {
    tokio::time::sleep(Duration::from_secs(11)).await;
    let start = process::committed_transactions(admin, url);
    tokio::time::sleep(Duration::from_secs(10)).await;
    (process::committed_transactions(admin, url) - start) as f64 / 10.0
}

async fn baseline(
    settings: &Settings,
    watchers: usize,
    round: usize,
    frames: &[(Duration, String)],
) -> Figures {
    let server = process::start_baseline().await;
    let target = Target::Baseline {
        url: server.ws("/watch"),
    };
    let first = frames
        .first()
        .and_then(|(_, text)| watch::scan(text))
        .map(|f| f.seq)
        .unwrap_or(1);
    let (listening, memory) = open_measured(settings, &server, &target, watchers, first).await;
    let cpu = server.cpu_secs();
    let publisher = tokio::spawn(watch::publish(server.ws("/publish"), frames.to_vec()));
    let outcomes = watch::measure(listening).await;
    let _ = publisher.await;
    let cpu = server.cpu_secs() - cpu;
    figures(
        "baseline (plain axum websocket broadcast)",
        watchers,
        round,
        frames.len() as u64,
        outcomes,
        cpu,
        &server,
        memory,
    )
    .await
}

/// Resident memory around opening the watchers, KiB.
struct Memory {
    /// Before the measured watchers (after a first batch came and went).
    before: u64,
    /// With half of them, idle.
    half: u64,
    /// With all of them, idle.
    idle: u64,
    /// Watchers opened after `half` was read.
    second_half: usize,
}

/// Opens the watchers and reads the server's memory on the way. A first
/// half is opened and closed beforehand, so that what the server sets up
/// once (database connections, the workroom's feed, caches) is not counted
/// against watchers; then half the watchers are opened, then the rest: the
/// second half's growth is what one more idle watcher costs.
async fn open_measured(
    settings: &Settings,
    server: &Server,
    target: &Target,
    watchers: usize,
    from: i64,
) -> (Vec<watch::Watcher>, Memory) {
    let first_half = watchers / 2;
    let warm_up = watch::open(target, first_half, settings.connect_concurrency).await;
    watch::close_all(warm_up).await;
    tokio::time::sleep(settings.settle()).await;
    let before = server.rss_kib();
    let opened = watch::open(target, first_half, settings.connect_concurrency).await;
    let mut listening = watch::listen(opened, from, LISTEN_WITHIN);
    tokio::time::sleep(settings.settle()).await;
    let half = server.rss_kib();
    let opened = watch::open(target, watchers - first_half, settings.connect_concurrency).await;
    listening.extend(watch::listen(opened, from, LISTEN_WITHIN));
    tokio::time::sleep(settings.settle()).await;
    let idle = server.rss_kib();
    let memory = Memory {
        before,
        half,
        idle,
        second_half: watchers - first_half,
    };
    (listening, memory)
}

/// Sums the watchers' outcomes up; closes their sockets and reads how much memory came back.
#[allow(clippy::too_many_arguments)]
async fn figures(
    label: &'static str,
    watchers: usize,
    round: usize,
    events: u64,
    outcomes: Vec<(watch::Outcome, watch::Socket)>,
    cpu_secs: f64,
    server: &Server,
    memory: Memory,
) -> Figures {
    let mut latencies: Vec<u32> = Vec::new();
    let (mut delivered, mut in_order) = (0, true);
    let (mut first, mut last) = (None, None);
    let mut sockets = Vec::with_capacity(outcomes.len());
    for (outcome, socket) in outcomes {
        delivered += outcome.received;
        in_order &= outcome.in_order && outcome.completed;
        latencies.extend(&outcome.latencies_us);
        first = match (first, outcome.first) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, b) => a.or(b),
        };
        last = last.max(outcome.last);
        sockets.push(socket);
    }
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |us| *us as f64 / 1000.0)
    };
    let span = match (first, last) {
        (Some(first), Some(last)) => (last - first).as_secs_f64().max(1e-3),
        _ => f64::NAN,
    };
    watch::close_all(sockets).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = server.rss_kib();
    eprintln!(
        "{label}: RSS KiB before {} half {} idle {} one second after closing {}",
        memory.before, memory.half, memory.idle, after_kib
    );
    let grown = memory.idle.saturating_sub(memory.before) as f64;
    let marginal = memory.idle.saturating_sub(memory.half) as f64;
    Figures {
        label,
        watchers,
        round,
        expected: events * watchers as u64,
        delivered,
        in_order,
        per_second: delivered as f64 / span,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        cpu_us_per_delivery: cpu_secs * 1e6 / delivered.max(1) as f64,
        kib_per_idle_watcher: marginal / memory.second_half.max(1) as f64,
        released_pct: 100.0 * memory.idle.saturating_sub(after_kib) as f64 / grown.max(1.0),
        pubsub_connections: None,
        idle_db_transactions_per_s: None,
    }
}

/// The median of the values that are numbers (NaN when there are none).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians of each figure, per label and watcher count, with ratios to the baseline's.
fn table(all: &[Figures], settings: &Settings) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Medians of {} alternating rounds; {} deliverables, built-in model at {} ms per token.\n\n",
        settings.rounds, settings.deliverables, settings.token_delay_ms
    ));
    out.push_str("| watchers | server | delivered | in order | events/s | p50 ms | p99 ms | CPU µs/delivery | KiB/idle watcher | released in 1 s | pub/sub conns | idle DB txn/s |\n");
    out.push_str("|---:|---|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut labels: Vec<&str> = all.iter().map(|f| f.label).collect();
    labels.dedup();
    labels.sort();
    labels.dedup();
    for &watchers in &settings.watchers {
        let of = |label: &str| -> Vec<&Figures> {
            all.iter()
                .filter(|f| f.watchers == watchers && f.label == label)
                .collect()
        };
        let base = of("baseline (plain axum websocket broadcast)");
        let m = |runs: &[&Figures], get: fn(&Figures) -> f64| {
            median(runs.iter().map(|f| get(f)).collect())
        };
        for label in labels.iter().rev() {
            let runs = of(label);
            if runs.is_empty() {
                continue;
            }
            let ratio = |get: fn(&Figures) -> f64| {
                let (value, reference) = (m(&runs, get), m(&base, get));
                if base.is_empty() || runs.iter().any(|f| f.label == base[0].label) {
                    format!("{value:.2}")
                } else {
                    format!("{value:.2} ({:.2}×)", value / reference)
                }
            };
            let delivered: u64 = runs.iter().map(|f| f.delivered).sum();
            let expected: u64 = runs.iter().map(|f| f.expected).sum();
            out.push_str(&format!(
                "| {watchers} | {label} | {:.2} % | {} | {} | {} | {} | {} | {} | {:.0} % | {} | {} |\n",
                100.0 * delivered as f64 / expected.max(1) as f64,
                if runs.iter().all(|f| f.in_order) { "yes" } else { "NO" },
                ratio(|f| f.per_second),
                ratio(|f| f.p50_ms),
                ratio(|f| f.p99_ms),
                ratio(|f| f.cpu_us_per_delivery),
                ratio(|f| f.kib_per_idle_watcher),
                m(&runs, |f| f.released_pct),
                runs[0].pubsub_connections.map_or("–".into(), |c| c.to_string()),
                match m(&runs, |f| f.idle_db_transactions_per_s.unwrap_or(f64::NAN)) {
                    t if t.is_nan() => "–".to_owned(),
                    t => format!("{t:.1}"),
                },
            ));
        }
    }
    out
}
