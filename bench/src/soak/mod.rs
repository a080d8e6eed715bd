//! `atelya-bench soak`: two instances on PostgreSQL and Redis under steady
//! load for a long time, one of them restarted now and then, and what must
//! hold at the end.
//!
//! The load: `--workrooms` workrooms running at once (as one completes
//! another starts) across `--workspaces` workspaces, and `--watchers`
//! watchers spread over them and over both instances, each following one
//! workroom at a time over graphql-transport-ws and reconnecting with the
//! last seq it saw when its socket drops. Every `--restart-every` minutes
//! one instance (A, then B, in turn) gets SIGTERM and starts again on the
//! same port. After `--minutes`, no workroom starts any more; the running
//! ones finish (the drain), and the checks read everything back through the
//! API.
//!
//! - `cluster`: the two server processes, their restarts, their RSS.
//! - `client`: GraphQL over HTTP to whichever instance answers.
//! - `rooms`: the workspaces, and the driver that keeps workrooms running.
//! - `watcher`: one watcher, from workroom to workroom, across reconnects.
//! - `history`: reading every workroom's events and every ledger back.
//! - `checks`: what must hold, as pure functions of what was recorded and read.
//! - `figures`: the timeline, latency windows, and the RSS line of each instance life.
//! - `report`, `tables`: every check's PASS or FAIL, and the tables, in Markdown.

mod checks;
mod client;
mod cluster;
mod figures;
mod history;
mod report;
mod rooms;
mod tables;
mod watcher;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::watch;

use crate::process;
use client::Client;
use cluster::Cluster;
use watcher::Phase;

#[derive(clap::Args, Clone, Debug)]
pub struct SoakSettings {
    /// Minutes of load (workrooms starting, watchers watching, restarts); the drain comes after.
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Minutes between restarts, each of one instance, A and B in turn (0: never).
    #[arg(long, default_value_t = 10.0)]
    pub restart_every: f64,
    /// Workrooms running at once.
    #[arg(long, default_value_t = 50)]
    pub workrooms: usize,
    /// Watchers, spread over the running workrooms and both instances.
    #[arg(long, default_value_t = 500)]
    pub watchers: usize,
    /// Workspaces the workrooms (and the watchers) are spread over.
    #[arg(long, default_value_t = 10)]
    pub workspaces: usize,
    /// Deliverables per workroom.
    #[arg(long, default_value_t = 2)]
    pub deliverables: usize,
    /// The built-in model's pause between tokens.
    #[arg(long, default_value_t = 10)]
    pub token_delay_ms: u64,
    /// The plan of every workspace.
    #[arg(long, default_value = "SOLO")]
    pub plan: String,
    /// Credits per top-up. A workspace buys one whenever its available
    /// credits are this much below where they started: small and frequent,
    /// so that top-ups land among the charges of running workrooms.
    #[arg(long, default_value_t = 100)]
    pub top_up_credits: i64,
    /// Seconds a restarted instance stays down between exiting and starting again.
    #[arg(long, default_value_t = 5)]
    pub down_secs: u64,
    /// Seconds an instance may take to exit after SIGTERM before it is killed.
    #[arg(long, default_value_t = 60)]
    pub stop_timeout_secs: u64,
    /// Minutes the running workrooms may take to finish after the load.
    #[arg(long, default_value_t = 5.0)]
    pub drain_minutes: f64,
    /// Minutes per latency window.
    #[arg(long, default_value_t = 5.0)]
    pub window_minutes: f64,
    /// Highest p99 delivery latency of live events in any window, ms.
    #[arg(long, default_value_t = 100.0)]
    pub max_p99_ms: f64,
    /// Seconds between RSS samples of each instance.
    #[arg(long, default_value_t = 5)]
    pub rss_every_secs: u64,
    /// Highest RSS slope after warm-up, MiB per 10 minutes.
    #[arg(long, default_value_t = 4.0)]
    pub max_rss_slope: f64,
    /// Shortest instance life (minutes) whose RSS is judged.
    #[arg(long, default_value_t = 3.0)]
    pub rss_min_life: f64,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/atelya")]
    pub server: PathBuf,
    /// A PostgreSQL server where the soak may create (and drop) its database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// The instances' Redis.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// More settings of both servers, `NAME=value`.
    #[arg(long = "server-env", value_parser = crate::http::parse_env)]
    pub server_env: Vec<(String, String)>,
}

impl SoakSettings {
    fn load(&self) -> Duration {
        Duration::from_secs_f64(self.minutes * 60.0)
    }
}

/// A fresh PostgreSQL database, dropped with this.
struct Database {
    admin: String,
    url: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        process::drop_database(&self.admin, &self.url);
    }
}

pub async fn run(settings: SoakSettings) {
    assert!(
        settings.workspaces > 0 && settings.workrooms >= settings.workspaces,
        "--workrooms must be at least --workspaces (at least one each)"
    );
    let database = Database {
        url: process::create_database(&settings.postgres),
        admin: settings.postgres.clone(),
    };
    let logs = tempfile::Builder::new()
        .prefix("atelya-soak-")
        .tempdir()
        .expect("a directory for the servers' logs");
    let mut cluster = Cluster::start(&settings, &database.url, logs.path()).await;
    let client = Arc::new(Client::new(cluster.urls()));
    let workspaces = rooms::prepare(&client, &settings).await;
    eprintln!(
        "{} workspaces on {}; load for {} minutes",
        workspaces.len(),
        settings.plan,
        settings.minutes
    );
    let recorded = load(&settings, &mut cluster, &client, &workspaces).await;
    eprintln!("reading every workroom and ledger back");
    let read = history::read(&client, &workspaces).await;
    let report = report::Report::new(&settings, &recorded, &read, &client);
    println!("{}", report.markdown());
    cluster.stop().await;
    drop(database);
    if report.passed() {
        eprintln!("PASS");
    } else {
        let kept = logs.keep();
        eprintln!("FAIL; the servers' logs are in {}", kept.display());
        std::process::exit(1);
    }
}

/// What the load and the drain recorded.
pub struct Recorded {
    pub timeline: figures::Timeline,
    pub driven: rooms::Driven,
    pub outcomes: Vec<watcher::Outcome>,
    pub samples: Vec<cluster::Sample>,
    pub restarts: Vec<cluster::Restart>,
}

/// The load (the driver, the watchers, the RSS sampler and the restarts),
/// then the drain.
async fn load(
    settings: &SoakSettings,
    cluster: &mut Cluster,
    client: &Arc<Client>,
    workspaces: &[rooms::Workspace],
) -> Recorded {
    let timeline = figures::Timeline::now(settings.window_minutes);
    let (phase, phase_rx) = watch::channel(Phase::Running);
    let pool = rooms::Pool::default();
    let driver = tokio::spawn(rooms::drive(
        client.clone(),
        workspaces.to_vec(),
        pool.clone(),
        settings.clone(),
        phase_rx.clone(),
    ));
    let shared = Arc::new(watcher::Shared {
        urls: cluster.ws_urls(),
        pool,
        workspaces: workspaces.to_vec(),
        timeline: timeline.clone(),
    });
    let handles: Vec<_> = (0..settings.watchers)
        .map(|i| tokio::spawn(watcher::run(i, shared.clone(), phase_rx.clone())))
        .collect();
    let mut watchers = tokio::spawn(futures_util::future::join_all(handles));
    let sampler = tokio::spawn(cluster::sample_rss(
        cluster.pids(),
        timeline.clone(),
        Duration::from_secs(settings.rss_every_secs.max(1)),
        phase_rx,
    ));

    let restarts = cluster.restart_on_schedule(settings, &timeline).await;
    eprintln!("load over; draining the running workrooms");
    phase.send_replace(Phase::Draining);
    let driven = driver.await.expect("the workroom driver");
    // Watchers end their watch on the terminal event, which they may still be reading.
    let outcomes = tokio::select! {
        outcomes = &mut watchers => outcomes,
        _ = tokio::time::sleep(Duration::from_secs(30)) => {
            phase.send_replace(Phase::Stopped);
            watchers.await
        }
    }
    .expect("the watchers");
    phase.send_replace(Phase::Stopped);
    Recorded {
        timeline,
        driven,
        outcomes: outcomes
            .into_iter()
            .map(|o| o.expect("a watcher"))
            .collect(),
        samples: sampler.await.expect("the RSS sampler"),
        restarts,
    }
}
