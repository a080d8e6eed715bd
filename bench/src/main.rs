//! `atelya-bench`: live watchers of one workroom, measured against a plain
//! websocket broadcast of the same bytes to the same number of sockets.
//!
//! `atelya-bench run` starts the servers itself (the release `atelya`
//! binary, and this binary's own `baseline-server`), and for each watcher
//! count alternates, round after round: the baseline, then Atelya in each
//! chosen deployment shape (SQLite with the in-process bus; PostgreSQL with
//! the in-process bus; two instances on PostgreSQL and Redis, watchers on
//! one, the run driven through the other). It prints the median of each
//! figure, and each figure's ratio to the baseline's median of the same run.
//!
//! `atelya-bench http` measures the HTTP hot path the same way: requests per
//! second, latency and SQL statements per request of GraphQL requests
//! against plain axum and a hand-written axum + sea-orm endpoint (`http`).
//!
//! `atelya-bench soak` runs two instances on PostgreSQL and Redis for half an
//! hour (by default) under steady load, restarting one every ten minutes,
//! and checks delivery, that no workroom ran twice, the ledger, memory and
//! latency (`soak`).
//!
//! - `process`: starting servers, reading their CPU time and memory.
//! - `api`: the GraphQL calls that prepare and drive a run.
//! - `watch`: opening watchers and measuring what they receive.
//! - `baseline`: the plain axum websocket broadcast server.
//! - `report`: figures, medians, the table.
//! - `http`: the HTTP hot-path benchmark and its baseline server.
//! - `soak`: two instances on PostgreSQL and Redis under steady load for a
//!   long time, restarted in turn, and what must still hold at the end.
//! - `mcp_sample`: `atelya-bench mcp-sample`, a small MCP server (an
//!   agency's CRM) to connect to Atelya when trying tools out.
//! - `tools`: `atelya-bench tools`, the overhead of a tool call made by the
//!   engine against the same call made directly with rmcp.

mod api;
mod baseline;
mod http;
mod mcp_sample;
mod process;
mod report;
mod soak;
mod tools;
mod watch;

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "atelya-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the comparison and prints the figures.
    Run(Settings),
    /// The baseline: a plain axum websocket server broadcasting what `/publish` receives to every `/watch` socket.
    BaselineServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
    },
    /// Measures the HTTP hot path (GraphQL requests against plain axum) and prints the figures.
    Http(http::HttpSettings),
    /// Two instances on PostgreSQL and Redis under steady load, one restarted now and then; checks what must hold.
    Soak(soak::SoakSettings),
    /// A sample MCP server (an agency's CRM: `lookup_client`, `send_report`) at `http://<bind>/mcp`.
    McpSample {
        #[arg(long, default_value = "127.0.0.1:8091")]
        bind: std::net::SocketAddr,
        /// How long each call takes before it answers, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// The overhead of a tool call made by the engine, against the same call made directly with rmcp.
    Tools(tools::ToolSettings),
    /// The HTTP baselines: `GET /plaintext`, and with a database the hand-written workroom page on `POST /page`.
    HttpBaselineServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
        /// Atelya's SQLite database, e.g. `sqlite:///tmp/x/bench.db?mode=ro`.
        #[arg(long)]
        database: Option<String>,
    },
}

/// A deployment shape of Atelya to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    /// One instance, SQLite, in-process bus (the embedded default).
    Sqlite,
    /// One instance, PostgreSQL, in-process bus.
    Postgres,
    /// Two instances on PostgreSQL and Redis: watchers on one, the run on the other.
    Redis,
}

#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// Watcher counts to measure, each in its own set of rounds.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub watchers: Vec<usize>,
    /// Rounds per watcher count (each round runs the baseline and every shape once).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Shapes of Atelya to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite")]
    pub shapes: Vec<Shape>,
    /// Deliverables the Composer writes in the measured run.
    #[arg(long, default_value_t = 3)]
    pub deliverables: usize,
    /// The built-in model's pause between tokens (10 ms: 100 tokens per second).
    #[arg(long, default_value_t = 10)]
    pub token_delay_ms: u64,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/atelya")]
    pub server: PathBuf,
    /// A PostgreSQL server where the bench may create databases.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// The Redis of the two-instance shape.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Sockets opened at once while connecting watchers.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Seconds idle watchers are left before their memory is read.
    #[arg(long, default_value_t = 2)]
    pub settle_secs: u64,
    /// Writes every run's figures here as JSON lines.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl Settings {
    pub fn settle(&self) -> Duration {
        Duration::from_secs(self.settle_secs)
    }
}

fn main() {
    let cli = Cli::parse();
    process::raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match cli.command {
        Command::BaselineServer { bind } => runtime.block_on(baseline::serve(bind)),
        Command::Run(settings) => runtime.block_on(report::run(settings)),
        Command::Http(settings) => runtime.block_on(http::run(settings)),
        Command::Soak(settings) => runtime.block_on(soak::run(settings)),
        Command::McpSample { bind, delay_ms } => {
            runtime.block_on(mcp_sample::serve(bind, delay_ms))
        }
        Command::Tools(settings) => runtime.block_on(tools::run(settings)),
        Command::HttpBaselineServer { bind, database } => {
            runtime.block_on(http::serve_baseline(bind, database))
        }
    }
}
