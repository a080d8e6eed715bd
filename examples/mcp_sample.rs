//! The sample MCP server, an agency's CRM with a read-only `lookup_client`
//! and a destructive `send_report`, to connect to Atelya while trying tools
//! out: `cargo run --example mcp_sample -- [--bind 127.0.0.1:8091] [--delay-ms 0]`.
//!
//! The same server as `atelya-bench mcp-sample` (one source, in the bench,
//! which also measures calls against it); this entry point is built with
//! the tests, so CI drives the live page against it without building the
//! bench.

#[path = "../bench/src/mcp_sample.rs"]
#[allow(dead_code)]
mod mcp_sample;

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8091")]
    bind: std::net::SocketAddr,
    /// How long each call takes before it answers, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    mcp_sample::serve(args.bind, args.delay_ms).await;
}
