//! Server faults: a client sees only INTERNAL, "internal error" and the
//! request id; the server log has the whole cause chain under that id.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;

/// Everything the server logs at WARN and above in this test process, from
/// the first call on; `None` when `ATELYA_TEST_LOG` already sent logs to stderr.
pub fn captured_logs() -> Option<Arc<Mutex<Vec<u8>>>> {
    if std::env::var_os("ATELYA_TEST_LOG").is_some() {
        eprintln!("ATELYA_TEST_LOG is set: the log assertions are skipped");
        return None;
    }
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test installs a global subscriber");
        logs
    })
    .clone()
    .into()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn post_with_id(app: &TestApp, token: &str, request_id: Option<&str>) -> (String, Value) {
    let mut request = app
        .client
        .post(&app.url)
        .bearer_auth(token)
        .json(&json!({ "query": "{ workspace { name exportProfile { letterhead } } }" }));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (id, response.json().await.unwrap())
}

db_test! {
    async fn an_internal_fault_shows_the_client_its_request_id_and_logs_the_cause_under_it(app);
    {
        let logs = captured_logs();
        let ann = app.signup("ann@example.com", "Acme").await;
        app.state
            .db
            .conn()
            .execute_unprepared("ALTER TABLE export_profiles RENAME TO export_profiles_gone")
            .await
            .unwrap();

        let client_id = format!("client-{}", uuid::Uuid::now_v7().simple());
        let (kept, body) = post_with_id(&app, &ann.token, Some(&client_id)).await;
        let (made, other) = post_with_id(&app, &ann.token, None).await;

        assert_eq!(kept, client_id, "a client's own request id is kept");
        assert!(made.len() >= 16 && made != kept, "{made}");
        for (id, body) in [(&kept, &body), (&made, &other)] {
            let err = &body["errors"][0];
            assert_eq!(err["message"], "internal error", "{body}");
            assert_eq!(err["extensions"], json!({ "code": "INTERNAL", "requestId": id }), "{body}");
            assert_eq!(body["data"]["workspace"], Value::Null, "{body}");
        }
        let Some(logs) = logs else { return };
        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        let line = logs
            .lines()
            .find(|l| l.contains(&client_id) && l.contains("internal error"))
            .unwrap_or_else(|| panic!("no log line of the fault under its request id:\n{logs}"));
        assert!(line.contains("export_profiles"), "the cause names the missing table: {line}");
    }
}

db_test! {
    async fn every_response_carries_a_request_id(app);
    {
        let response = app.client.get(format!("{}?query={{__typename}}", app.url)).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(id.len() >= 16, "{id}");
        let invalid = app.client.post(&app.url).header("x-request-id", "two words").body("{").send().await.unwrap();
        assert_ne!(invalid.headers()["x-request-id"], "two words", "an unreasonable id is replaced");
    }
}
