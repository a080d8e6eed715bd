//! `atelya-bench http`: the HTTP hot path, measured against plain axum.
//!
//! It starts the release `atelya` binary on a fresh SQLite database,
//! prepares the data through its API (`prepare`), then starts this binary's
//! `http-baseline-server` on the same database file, read-only (`baseline`).
//! Scenarios, each loaded by `wrk` (`load`):
//!
//! - (a) plain axum: `GET /plaintext`;
//! - (b) Atelya: `POST /graphql` `{ viewer { user { id name } } }`, with a bearer token;
//! - (c) Atelya: the same document as an Automatic Persisted Query `GET` hit;
//! - (d) Atelya: a workroom page (its tasks and deliverables) per page size;
//! - (e) axum + sea-orm, hand-written: the same page, the same bytes.
//!
//! Every round runs every scenario once, one after the other; the figures
//! are the medians of the rounds (`report`). SQL statements per request are
//! the server's statement count (Atelya's `/metrics`, the hand-written
//! server's `/stats`) before and after a scenario, over the requests `wrk` saw answered.

mod baseline;
mod load;
mod prepare;
mod report;
mod verify;

use std::{io::Write, net::SocketAddr, path::PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::process;
use load::{Counter, Request};

pub use baseline::serve as serve_baseline;

/// The trivial authenticated document of (b) and (c).
const VIEWER: &str = "{ viewer { user { id name } } }";
/// The page of (d) and (e).
const PAGE: &str = "query Page($id: ID!) { workroom(id: $id) { id title state tasks { id title kind state output } deliverables { id label version content } } }";

#[derive(clap::Args, Clone, Debug)]
pub struct HttpSettings {
    /// Rounds; each runs every scenario once.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds of load per scenario per round.
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// wrk connections.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// Seconds of load per scenario before the first round, not counted.
    #[arg(long, default_value_t = 2)]
    pub warm_up_secs: u64,
    /// Tasks in the workroom pages of (d) and (e), largest first (2 to 50 each).
    #[arg(long, value_delimiter = ',', default_value = "50,10")]
    pub pages: Vec<usize>,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/atelya")]
    pub server: PathBuf,
    /// Appends every run's figures here as JSON lines [default: bench/results/<date>-http.jsonl].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// More settings of the Atelya server, `NAME=value` (e.g. `ATELYA_SESSION_CACHE_MS=0`).
    #[arg(long = "server-env", value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
}

pub(crate) fn parse_env(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{raw:?} is not NAME=value"))
}

/// A scenario: what is sent, and where its statements are counted.
struct Scenario {
    key: String,
    label: String,
    request: Request,
    counter: Counter,
}

pub async fn run(settings: HttpSettings) {
    let env = [
        ("ATELYA_BUILTIN_TOKEN_DELAY_MS", "0".to_owned()),
        ("ATELYA_COST_BUDGET_PER_HOUR", "1000000000".to_owned()),
        ("ATELYA_AUTH_RATE_PER_MINUTE", "1000000".to_owned()),
        ("ATELYA_ACCESS_TOKEN_TTL", "86400".to_owned()),
        // A plan of ten agents is longer than the default 400 tokens.
        ("ATELYA_PLAN_MAX_TOKENS", "8000".to_owned()),
    ];
    let mut env: Vec<(&str, String)> = env.into();
    env.extend(
        settings
            .server_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone())),
    );
    let atelya = process::start_atelya(&settings.server, &env).await;
    let database = atelya.dir().expect("a database directory").join("bench.db");
    let graphql = atelya.http();
    eprintln!("preparing workrooms of {:?} tasks", settings.pages);
    let prepared = prepare::prepare(&graphql, &database, &settings.pages).await;
    let url = format!("sqlite://{}?mode=ro", database.display());
    let plain = process::start_own(&["http-baseline-server", "--database", &url]);
    let scenarios = scenarios(atelya.addr, plain.addr, &prepared).await;
    verify::verify(&scenarios).await;
    let scripts = tempfile::tempdir().expect("a directory for wrk scripts");
    let load = |scenario: &Scenario, secs: u64| {
        let request = scenario.request.clone();
        let (threads, connections) = (settings.threads, settings.connections);
        let dir = scripts.path().to_owned();
        async move { load::wrk(&request, &dir, threads, connections, secs).await }
    };
    if settings.warm_up_secs > 0 {
        for scenario in &scenarios {
            eprintln!("warming up ({})", scenario.key);
            let wrk = load(scenario, settings.warm_up_secs).await;
            assert_eq!(
                wrk.non_2xx + wrk.socket_errors,
                0,
                "({}) failed under load: {wrk:?}",
                scenario.key
            );
        }
    }
    let date = chrono::Local::now().format("%Y-%m-%d").to_string();
    let path = settings
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench/results/{date}-http.jsonl")));
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {} ({e})", path.display()));
    let mut all = Vec::new();
    for round in 1..=settings.rounds {
        for scenario in &scenarios {
            let before = scenario.counter.read().await;
            let wrk = load(scenario, settings.secs).await;
            let after = scenario.counter.read().await;
            let statements = before
                .zip(after)
                .map(|(b, a)| (a - b) as f64 / wrk.requests.max(1) as f64)
                .or(Some(0.0));
            let figures = report::Figures {
                key: scenario.key.clone(),
                label: scenario.label.clone(),
                round,
                requests: wrk.requests,
                per_second: wrk.per_second,
                p50_ms: wrk.p50_ms,
                p99_ms: wrk.p99_ms,
                statements_per_request: statements,
                non_2xx: wrk.non_2xx,
                socket_errors: wrk.socket_errors,
            };
            eprintln!("{figures:?}");
            writeln!(out, "{}", figures.json(&settings, &date)).expect("append the figures");
            all.push(figures);
        }
    }
    let keys: Vec<String> = scenarios.iter().map(|s| s.key.clone()).collect();
    println!("{}", report::table(&all, &keys, &settings));
    println!("{}", report::rounds(&all));
    eprintln!("raw figures appended to {}", path.display());
    drop(plain);
    drop(atelya);
}

/// The scenarios, in the order each round runs them; registers (c)'s document.
async fn scenarios(
    atelya: SocketAddr,
    plain: SocketAddr,
    prepared: &prepare::Prepared,
) -> Vec<Scenario> {
    let graphql = format!("http://{atelya}/graphql");
    let metrics = Counter::Metrics(format!("http://{atelya}/metrics"));
    let bearer = ("Authorization", format!("Bearer {}", prepared.token));
    let json = ("Content-Type", "application/json".to_owned());
    let post = |url: &str, body: serde_json::Value, auth: bool| Request {
        url: url.to_owned(),
        method: "POST",
        body: Some(body.to_string()),
        headers: if auth {
            vec![json.clone(), bearer.clone()]
        } else {
            vec![json.clone()]
        },
    };
    let hash = hex::encode(Sha256::digest(VIEWER.as_bytes()));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let register = post(
        &graphql,
        json!({ "query": VIEWER, "extensions": persisted }),
        true,
    );
    let (status, body) = register.once().await;
    assert_eq!(
        status,
        200,
        "registering the persisted query: {}",
        String::from_utf8_lossy(&body)
    );
    let mut scenarios = vec![
        Scenario {
            key: "a".into(),
            label: "plain axum: GET /plaintext".into(),
            request: Request {
                url: format!("http://{plain}/plaintext"),
                method: "GET",
                body: None,
                headers: Vec::new(),
            },
            counter: Counter::None,
        },
        Scenario {
            key: "b".into(),
            label: "atelya: POST /graphql viewer".into(),
            request: post(&graphql, json!({ "query": VIEWER }), true),
            counter: metrics.clone(),
        },
        Scenario {
            key: "c".into(),
            label: "atelya: GET /graphql persisted viewer (APQ hit)".into(),
            request: Request {
                url: format!("{graphql}?extensions={}", encode(&persisted.to_string())),
                method: "GET",
                body: None,
                headers: vec![bearer.clone()],
            },
            counter: metrics.clone(),
        },
    ];
    for (tasks, id) in &prepared.pages {
        let body = json!({ "query": PAGE, "variables": { "id": id } });
        scenarios.push(Scenario {
            key: format!("d{tasks}"),
            label: format!("atelya: POST /graphql workroom page, {tasks} tasks"),
            request: post(&graphql, body.clone(), true),
            counter: metrics.clone(),
        });
        scenarios.push(Scenario {
            key: format!("e{tasks}"),
            label: format!("axum + sea-orm: POST /page, {tasks} tasks"),
            request: post(&format!("http://{plain}/page"), body, false),
            counter: Counter::Stats(format!("http://{plain}/stats")),
        });
    }
    scenarios
}

/// Percent-encodes a query parameter's value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
