//! GraphQL over HTTP to whichever instance answers, as a load balancer in
//! front of both would: a request that finds its instance down (restarting)
//! goes to the other one.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// How long a request keeps trying the instances before it gives up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

pub struct Client {
    http: reqwest::Client,
    urls: [String; 2],
    /// Which instance the next request tries first: the two take turns.
    next: AtomicUsize,
    /// Requests that reached no instance on the first try.
    pub failovers: AtomicUsize,
}

impl Client {
    pub fn new(urls: [String; 2]) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            urls,
            next: AtomicUsize::new(0),
            failovers: AtomicUsize::new(0),
        }
    }

    /// Instance `i`'s GraphQL URL.
    pub fn url(&self, i: usize) -> &str {
        &self.urls[i]
    }

    /// Runs `query` and returns its `data`; GraphQL errors come back as
    /// `Err` (with their codes) and are not retried. A request that cannot
    /// reach an instance, or gets a 5xx, is sent to the other one, and again
    /// in turn until [`GIVE_UP_AFTER`]. A mutation may then run twice when an
    /// instance committed it but died before answering: callers make theirs
    /// idempotent or harmless when repeated.
    pub async fn call(&self, token: &str, query: &str, variables: Value) -> Result<Value, String> {
        let started = Instant::now();
        let mut instance = self.next.fetch_add(1, Ordering::Relaxed) % 2;
        let mut tries = 0u32;
        loop {
            match self
                .once(&self.urls[instance], token, query, &variables)
                .await
            {
                Ok(body) => return data(body),
                Err(err) if started.elapsed() > GIVE_UP_AFTER => {
                    return Err(format!("no instance answered: {err}"))
                }
                Err(_) => {
                    if tries == 0 {
                        self.failovers.fetch_add(1, Ordering::Relaxed);
                    }
                    tries += 1;
                    instance = 1 - instance;
                    // Both down for a moment (one restarting, the other busy): wait a little.
                    if tries.is_multiple_of(2) {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
        }
    }

    async fn once(
        &self,
        url: &str,
        token: &str,
        query: &str,
        variables: &Value,
    ) -> Result<Value, String> {
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_server_error() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response.json().await.map_err(|e| e.to_string())
    }
}

/// The body's `data`, or its errors (message and code) as one line.
fn data(mut body: Value) -> Result<Value, String> {
    match body.get("errors").and_then(Value::as_array) {
        Some(errors) if !errors.is_empty() => Err(errors
            .iter()
            .map(|e| {
                format!(
                    "{} ({})",
                    e["message"].as_str().unwrap_or("?"),
                    e["extensions"]["code"].as_str().unwrap_or("no code")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")),
        _ => Ok(body["data"].take()),
    }
}
