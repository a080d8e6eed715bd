//! Prometheus metrics: the process's one recorder (the `metrics` facade with
//! `metrics-exporter-prometheus`), the names every part of the server counts
//! under, and the HTTP side: a middleware counting requests by route and
//! status, and the `/metrics` handler.
//!
//! Where `/metrics` is served: on its own address when `ATELYA_METRICS_BIND`
//! is set, else on the main port outside production (in production without
//! that address, nowhere: the public port never shows it).
//!
//! Histogram samples wait in the recorder until they are folded into their
//! buckets; a thread does that every [`UPKEEP_EVERY`], so memory stays flat
//! whether or not anything scrapes `/metrics`.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::SharedState;

pub const HTTP_REQUESTS: &str = "atelya_http_requests_total";
pub const HTTP_DURATION: &str = "atelya_http_request_duration_seconds";
pub const GRAPHQL_OPERATIONS: &str = "atelya_graphql_operations_total";
pub const GRAPHQL_DURATION: &str = "atelya_graphql_operation_duration_seconds";
pub const GRAPHQL_ERRORS: &str = "atelya_graphql_errors_total";
pub const WEBSOCKETS_OPEN: &str = "atelya_websockets_open";
pub const SUBSCRIPTIONS_LIVE: &str = "atelya_subscriptions_live";
pub const BUS_PUBLISHED: &str = "atelya_bus_messages_published_total";
pub const BUS_DELIVERED: &str = "atelya_bus_messages_delivered_total";
pub const BUS_GAPS_FILLED: &str = "atelya_bus_gaps_filled_total";
pub const ENGINE_RUNS: &str = "atelya_engine_runs_total";
pub const ENGINE_STEPS: &str = "atelya_engine_steps_total";
pub const CREDITS_CHARGED: &str = "atelya_credits_charged_total";
pub const MODEL_TOKENS: &str = "atelya_model_tokens_total";
pub const TOOL_CALLS: &str = "atelya_tool_calls_total";
pub const TOOL_CALL_SECONDS: &str = "atelya_tool_call_duration_seconds";
pub const DB_CONNECTIONS: &str = "atelya_db_pool_connections";
pub const DB_STATEMENTS: &str = "atelya_db_statements_total";
pub const RATE_LIMITED: &str = "atelya_rate_limited_total";
pub const REDIS_FALLBACKS: &str = "atelya_redis_fallbacks_total";
pub const REDIS_FALLBACK: &str = "atelya_redis_fallback";

/// Seconds; from a cache hit to a slow page.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// How often pending histogram samples are folded into their buckets: each
/// sample waits as 8 bytes until then, so this bounds them to one interval's.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use with the thread that keeps
/// it up. Several servers in one process (the tests) share it, as they share
/// the process.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows only this one's"
            );
        }
        describe();
        keep_up(handle.clone());
        handle
    })
}

/// Folds `handle`'s pending samples in every [`UPKEEP_EVERY`], for the
/// process's life. A thread, not a task: the recorder outlives any runtime.
fn keep_up(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            handle.run_upkeep();
        });
    if let Err(err) = spawned {
        tracing::error!(error = %err, "the metrics upkeep thread did not start; histograms grow until scraped");
    }
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by route and method"
    );
    describe_counter!(
        GRAPHQL_OPERATIONS,
        "GraphQL operations by operation name and type"
    );
    describe_histogram!(
        GRAPHQL_DURATION,
        metrics::Unit::Seconds,
        "GraphQL operation latency by operation name and type"
    );
    describe_counter!(GRAPHQL_ERRORS, "GraphQL errors by code");
    describe_gauge!(WEBSOCKETS_OPEN, "Open websockets");
    describe_gauge!(SUBSCRIPTIONS_LIVE, "Live subscriptions");
    describe_counter!(BUS_PUBLISHED, "Messages published on the event bus");
    describe_counter!(
        BUS_DELIVERED,
        "Bus messages delivered to this instance's subscribers"
    );
    describe_counter!(
        BUS_GAPS_FILLED,
        "Gaps in a live feed filled from the database"
    );
    describe_counter!(ENGINE_RUNS, "Workroom runs ended, by outcome");
    describe_counter!(
        ENGINE_STEPS,
        "Engine steps (planning, tasks) by kind and outcome"
    );
    describe_counter!(CREDITS_CHARGED, "Credits charged for model and tool use");
    describe_counter!(
        MODEL_TOKENS,
        "Language-model tokens, by direction (prompt, output)"
    );
    describe_counter!(
        TOOL_CALLS,
        "Tool calls by source (builtin, mcp) and outcome"
    );
    describe_histogram!(
        TOOL_CALL_SECONDS,
        metrics::Unit::Seconds,
        "Tool call latency by source"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections by state (idle, in_use)"
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit");
    describe_counter!(
        REDIS_FALLBACKS,
        "Times a store (rate limits, cost budgets) fell back from Redis to this process"
    );
    describe_gauge!(
        REDIS_FALLBACK,
        "1 while a store (rate limits, cost budgets) is kept in this process because Redis fails"
    );
}

/// Middleware (on matched routes): counts each request and its latency
/// under its route pattern, never its concrete path, and its method when it
/// is a standard one (a client may send any token as a method, and each
/// label value is kept for the process's life).
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    response
}

fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(state): State<SharedState>) -> Response {
    let pool = state.db.pool_status();
    gauge!(DB_CONNECTIONS, "state" => "idle").set(pool.idle as f64);
    gauge!(DB_CONNECTIONS, "state" => "in_use").set(pool.in_use as f64);
    let handle = handle();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// A request refused by the limit named `limit`.
pub fn rate_limited(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// A store (`rate_limits`, `cost_budgets`) falling back from Redis to this
/// process (`active`), or going back to Redis.
pub fn redis_fallback(store: &'static str, active: bool) {
    if active {
        counter!(REDIS_FALLBACKS, "store" => store).increment(1);
    }
    gauge!(REDIS_FALLBACK, "store" => store).set(if active { 1.0 } else { 0.0 });
}

/// Counted in a gauge for as long as it lives (an open websocket, a live subscription).
pub struct Live(&'static str);

impl Live {
    pub fn new(gauge_name: &'static str) -> Live {
        gauge!(gauge_name).increment(1.0);
        Live(gauge_name)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        gauge!(self.0).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_outside_the_standard_ones_is_labelled_other() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
        assert_eq!(
            method_label(&Method::from_bytes(b"X1234").unwrap()),
            "other"
        );
    }

    /// Set in the child process that [`histogram_samples_do_not_pile_up_unscraped`] runs.
    const CHILD: &str = "ATELYA_UPKEEP_PROBE_CHILD";

    /// The process's resident memory, in bytes.
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    /// Runs [`samples_recorded_unscraped`] alone in a child process, so no
    /// other test's memory blurs what it measures.
    #[test]
    fn histogram_samples_do_not_pile_up_unscraped() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "telemetry::tests::samples_recorded_unscraped",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .status()
            .expect("the test binary runs");
        assert!(status.success(), "the child measurement failed: {status}");
    }

    /// Records 8 million samples (64 MB if they were kept) without a scrape,
    /// pausing for an upkeep between each million: memory stays near one
    /// million's worth.
    #[test]
    #[ignore = "run by histogram_samples_do_not_pile_up_unscraped in a process of its own"]
    fn samples_recorded_unscraped() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        handle();
        let probe = histogram!("atelya_upkeep_probe_seconds");
        let record = |count: u32| (0..count).for_each(|i| probe.record(f64::from(i % 100) / 1e4));
        // Warm up: the allocator's arenas and the histogram's first blocks.
        record(1_000_000);
        std::thread::sleep(UPKEEP_EVERY * 2);
        let before = resident();
        for _ in 0..8 {
            record(1_000_000);
            std::thread::sleep(UPKEEP_EVERY * 2);
        }
        let grown = resident().saturating_sub(before);
        assert!(
            grown < 24 << 20,
            "resident memory grew {} MiB over 8 million unscraped samples",
            grown >> 20
        );
    }
}
