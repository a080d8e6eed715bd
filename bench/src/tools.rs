//! `atelya-bench tools`: what the engine adds to a tool call. The sample MCP
//! server (answering each call after `--delay-ms`) runs in this process;
//! each round, alternating, makes `--calls` calls of `--tool` (by default
//! `lookup_client`, read-only; `send_report` has side effects) directly
//! with rmcp on one open session (as a client that keeps its session
//! does), then the same number through Atelya: one workroom each,
//! whose plan is that TOOL task, timed from the call's `startedAt` to its
//! `finishedAt` (the engine's whole step around the call: the committed
//! start, the session, the call, and the settled charge). The figures are
//! each round's median, and their median over the rounds.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use rmcp::{
    model::CallToolRequestParams,
    transport::{
        streamable_http_client::StreamableHttpClientTransportConfig, StreamableHttpClientTransport,
    },
    ServiceExt,
};
use serde_json::{json, Value};

use crate::{api, mcp_sample, process};

#[derive(clap::Args, Clone, Debug)]
pub struct ToolSettings {
    /// Rounds (each measures both ways).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Calls each way per round.
    #[arg(long, default_value_t = 20)]
    pub calls: usize,
    /// How long the tool takes to answer, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub delay_ms: u64,
    /// The sample tool called: `lookup_client` (read-only) or `send_report`
    /// (with side effects; its approval is turned off for the bench).
    #[arg(long, default_value = "lookup_client")]
    pub tool: String,
    /// How often the bench reads a workroom while it runs, in milliseconds.
    /// Each read is a GraphQL request the server answers meanwhile, a load
    /// the direct calls do not have: at 50 ms a read rarely falls within a
    /// call; at 10 ms most calls share the server with one.
    #[arg(long, default_value_t = 50)]
    pub poll_ms: u64,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/atelya")]
    pub server: PathBuf,
}

pub async fn run(settings: ToolSettings) {
    let delay = Duration::from_millis(settings.delay_ms);
    let (address, _mcp) = mcp_sample::start("127.0.0.1:0".parse().unwrap(), delay).await;
    let mcp_url = format!("http://{address}/mcp");
    let env = [
        ("ATELYA_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("ATELYA_BUILTIN_TOKEN_DELAY_MS", "0".to_owned()),
        ("ATELYA_ENGINE_POLL_MS", "50".to_owned()),
    ];
    let server = process::start_atelya(&settings.server, &env).await;
    let url = server.http();
    let token = api::sign_up(&url).await;
    let ok = |query: &'static str, variables: Value| {
        let (url, token) = (url.clone(), token.clone());
        async move { api::gql(&url, Some(&token), query, variables).await }
    };
    ok("mutation { changePlan(plan: AGENCY) { plan } }", json!({})).await;
    ok(
        "mutation($u: String!) { connectMcpServer(input: { name: \"crm\", url: $u }) { id } }",
        json!({ "u": mcp_url }),
    )
    .await;
    let other = if settings.tool == "send_report" {
        "lookup_client"
    } else {
        "send_report"
    };
    ok(
        "mutation($n: String!) { setToolPolicy(input: { name: $n, enabled: false }) { name } }",
        json!({ "n": format!("crm.{other}") }),
    )
    .await;
    ok(
        "mutation($n: String!) { setToolPolicy(input: { name: $n, enabled: true, requiresApproval: false }) { name } }",
        json!({ "n": format!("crm.{}", settings.tool) }),
    )
    .await;

    let (mut direct, mut engine) = (Vec::new(), Vec::new());
    for round in 1..=settings.rounds {
        let d = median(directly(&mcp_url, &settings.tool, settings.calls).await);
        let e = median(through_atelya(&url, &token, &settings).await);
        println!("round {round}: direct p50 {d:.2} ms, through the engine p50 {e:.2} ms");
        direct.push(d);
        engine.push(e);
    }
    let (d, e) = (median(direct), median(engine));
    println!(
        "tool call {}, {} ms tool, median of {} rounds of {} calls: direct {d:.2} ms, engine {e:.2} ms, ratio {:.2}x",
        settings.tool,
        settings.delay_ms,
        settings.rounds,
        settings.calls,
        e / d
    );
}

/// Each call's time, in milliseconds, on one open rmcp session.
async fn directly(url: &str, tool: &str, calls: usize) -> Vec<f64> {
    // The same client settings as the engine's: no proxy, no redirects.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url),
    );
    let client = ().serve(transport).await.expect("the sample server answers");
    // One call first, as the engine's session is already open after its first.
    let _ = client.call_tool(call_of(tool)).await;
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        client
            .call_tool(call_of(tool))
            .await
            .expect("the call answers");
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let _ = client.cancel().await;
    times
}

fn call_of(tool: &str) -> CallToolRequestParams {
    let arguments = json!({ "client": "Northwind" });
    CallToolRequestParams::new(tool.to_owned())
        .with_arguments(arguments.as_object().cloned().unwrap_or_default())
}

/// Each call's time in the engine (`startedAt` to `finishedAt`), in milliseconds.
async fn through_atelya(url: &str, token: &str, settings: &ToolSettings) -> Vec<f64> {
    let tool = settings.tool.as_str();
    // A goal and a deliverable the built-in Planner matches to the tool.
    let (goal, deliverable) = if tool == "send_report" {
        ("Send the weekly report to Northwind", "Weekly report")
    } else {
        ("Prepare the client record for Northwind", "Client record")
    };
    let mut times = Vec::with_capacity(settings.calls);
    for i in 0..settings.calls {
        let input = json!({
            "title": format!("Tool {i}"),
            "goal": goal,
            "deliverables": [deliverable],
            "sources": [{ "kind": "BRIEF", "title": "Brief", "content": "Northwind sells outdoor gear." }]
        });
        let created = api::gql(
            url,
            Some(token),
            "mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
        let id = created["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        let call = loop {
            let room = api::gql(
                url,
                Some(token),
                "query($id: ID!) { workroom(id: $id) { state tasks { kind toolCalls { state startedAt finishedAt } } } }",
                json!({ "id": id }),
            )
            .await;
            let call = room["workroom"]["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["kind"] == "TOOL")
                .map(|t| t["toolCalls"][0].clone());
            // The next run starts on an idle engine.
            match call {
                Some(call) if room["workroom"]["state"] == "COMPLETED" => break call,
                _ => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no completed call: {room}"
            );
            tokio::time::sleep(Duration::from_millis(settings.poll_ms)).await;
        };
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(call[field].as_str().unwrap()).unwrap()
        };
        let took = at("finishedAt") - at("startedAt");
        times.push(took.num_microseconds().unwrap_or(0) as f64 / 1e3);
    }
    times
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
