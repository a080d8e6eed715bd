//! What an operator sees: Prometheus metrics that move with real requests
//! and runs (on the main port in development, on their own address when
//! configured, never on the public port in production), and log lines that
//! parse as JSON and carry the request id and the operation's name.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

async fn scrape(app: &TestApp, base: &str) -> String {
    let response = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels as Prometheus prints them), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

fn base_of(app: &TestApp) -> String {
    app.url.trim_end_matches("/graphql").to_owned()
}

db_test! {
    async fn metrics_move_with_requests_operations_errors_and_runs(app);
    {
        let base = base_of(&app);
        let ann = app.signup("ann@example.com", "Acme").await;
        let probe = r#"atelya_graphql_operations_total{operation="MetricsProbe",type="query"}"#;
        let before = scrape(&app, &base).await;
        for _ in 0..3 {
            let body = json!({ "query": "query MetricsProbe { viewer { user { id } } }", "operationName": "MetricsProbe" });
            let response = app.client.post(&app.url).bearer_auth(&ann.token).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let refused = app.gql(Some("not-a-token"), "{ viewer { user { id } } }", json!({})).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED");
        let id = app.create_workroom(&ann.token, input("Measured")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        // A socket with a live subscription, open while the metrics are read.
        let mut watcher = crate::ws_client::Client::connect(&app, &ann.token).await;
        watcher.subscribe("1", "subscription { activity { id } }", json!({})).await;
        let (client, base) = (&app, base.as_str());
        let after = eventually(Duration::from_secs(10), move || async move {
            let metrics = scrape(client, base).await;
            match sample(&metrics, "atelya_subscriptions_live") >= 1.0 {
                true => Ok(metrics),
                false => Err("the subscription is not live yet".to_owned()),
            }
        })
        .await;
        assert!(sample(&after, probe) >= sample(&before, probe) + 3.0, "{after}");
        let unauthenticated = r#"atelya_graphql_errors_total{code="UNAUTHENTICATED"}"#;
        assert!(sample(&after, unauthenticated) > sample(&before, unauthenticated));
        let posts = r#"atelya_http_requests_total{route="/graphql",method="POST",status="200"}"#;
        assert!(sample(&after, posts) >= sample(&before, posts) + 4.0);
        assert!(after.contains(r#"atelya_graphql_operation_duration_seconds_bucket{operation="MetricsProbe",type="query",le="0.005"}"#), "{after}");
        for moved in [
            r#"atelya_engine_runs_total{outcome="COMPLETED"}"#,
            r#"atelya_engine_steps_total{kind="compose",outcome="completed"}"#,
            "atelya_credits_charged_total",
            r#"atelya_model_tokens_total{direction="output"}"#,
            "atelya_bus_messages_published_total",
        ] {
            assert!(sample(&after, moved) > sample(&before, moved), "{moved} did not move:\n{after}");
        }
        for present in ["atelya_db_pool_connections{state=\"idle\"}", "# HELP atelya_http_requests_total"] {
            assert!(after.contains(present), "{present} is missing:\n{after}");
        }
        assert!(sample(&after, "atelya_websockets_open") >= 1.0, "{after}");
        assert!(sample(&after, "atelya_subscriptions_live") >= 1.0, "{after}");
        drop(watcher);
    }
}

db_test! {
    async fn metrics_move_to_their_own_address_when_one_is_set(app)
        with |config| config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    {
        let main = app.client.get(format!("{}/metrics", base_of(&app))).send().await.unwrap();
        assert_eq!(main.status(), 404, "not on the public port");
        app.signup("ann@example.com", "Acme").await;
        let own = format!("http://{}", app.metrics_addr.expect("a metrics address"));
        assert!(scrape(&app, &own).await.contains("atelya_http_requests_total"));
    }
}

db_test! {
    async fn production_never_shows_metrics_on_the_public_port(app)
        with |config| {
            config.env = "production".into();
            config.secret_key = Some(atelya::config::Secret("ab".repeat(32)));
        };
    {
        let main = app.client.get(format!("{}/metrics", base_of(&app))).send().await.unwrap();
        assert_eq!(main.status(), 404);
    }
}

/// The server binary with `envs`, its standard output read line by line.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(envs: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelya"));
        command
            .arg("serve")
            .env("ATELYA_BIND", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/log.db?mode=rwc", dir.path().display()),
            )
            .env("ATELYA_ARGON2_MEMORY_KIB", "64")
            .env_remove("ATELYA_LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("atelya starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    async fn ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while client
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lines written so far, and until `done` holds for one (or 10 s pass).
    fn lines_until(&self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut lines = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = done(&line);
                    lines.push(line);
                    if found {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        lines
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn json_log_lines_parse_and_carry_the_request_id_and_operation() {
    let server = Server::start(&[
        ("ATELYA_LOG_FORMAT", "json"),
        ("RUST_LOG", "info,atelya=debug"),
    ]);
    server.ready().await;
    let body = json!({ "query": "query LogProbe { __typename }", "operationName": "LogProbe" });
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .header("x-request-id", "log-probe-7")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "log-probe-7");

    let lines = server
        .lines_until(|line| line.contains("log-probe-7") && line.contains("request finished"));
    let parsed: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let finished = parsed
        .iter()
        .find(|l| {
            l["message"] == "request finished" && l["spans"].to_string().contains("log-probe-7")
        })
        .unwrap_or_else(|| panic!("no line of the request: {lines:#?}"));
    let span = &finished["spans"][0];
    assert_eq!(
        (&span["request_id"], &span["operation"]),
        (&json!("log-probe-7"), &json!("LogProbe"))
    );
    assert_eq!(
        (&finished["method"], &finished["path"], &finished["status"]),
        (&json!("POST"), &json!("/graphql"), &json!(200))
    );
    assert_eq!(finished["level"], "DEBUG");
    assert!(finished["timestamp"].is_string());
}

#[tokio::test]
async fn text_logs_carry_no_colour_codes_when_not_on_a_terminal() {
    let server = Server::start(&[("RUST_LOG", "info")]);
    server.ready().await;
    let lines = server.lines_until(|line| line.contains("atelya is serving"));
    assert!(
        lines.iter().any(|l| l.contains("atelya is serving")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:#?}");
}
