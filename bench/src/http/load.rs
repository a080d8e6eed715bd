//! Load from `wrk`, and the statement counters read around it.
//!
//! Each request is described by a Lua script (method, body, headers) that
//! `wrk` runs with `-t<threads> -c<connections> -d<secs> --latency`; the
//! figures are read from its report: requests, requests per second, the 50%
//! and 99% lines of its latency distribution, non-2xx answers and socket errors.

use std::path::Path;

use tokio::process::Command;

/// One request, repeated by every connection.
#[derive(Clone, Debug)]
pub struct Request {
    pub url: String,
    pub method: &'static str,
    pub body: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    /// The `wrk` script that sends this request.
    fn lua(&self) -> String {
        let quote = |s: &str| format!("[==[{s}]==]");
        let mut script = format!("wrk.method = {}\n", quote(self.method));
        if let Some(body) = &self.body {
            script.push_str(&format!("wrk.body = {}\n", quote(body)));
        }
        for (name, value) in &self.headers {
            // Spaced: `[[` would open a Lua long string.
            script.push_str(&format!(
                "wrk.headers[ {} ] = {}\n",
                quote(name),
                quote(value)
            ));
        }
        script
    }

    /// Sends it once; the status and the body's bytes.
    pub async fn once(&self) -> (u16, Vec<u8>) {
        let client = reqwest::Client::new();
        let mut request = match self.method {
            "POST" => client.post(&self.url),
            _ => client.get(&self.url),
        };
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.bytes().await.expect("a body").to_vec())
    }
}

/// What `wrk` reports.
#[derive(Clone, Debug, Default)]
pub struct Wrk {
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

/// Runs `wrk` against `request`.
pub async fn wrk(
    request: &Request,
    scripts: &Path,
    threads: usize,
    connections: usize,
    secs: u64,
) -> Wrk {
    let script = scripts.join(format!("{}.lua", uuid::Uuid::now_v7().simple()));
    std::fs::write(&script, request.lua()).expect("write the wrk script");
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(&request.url)
        .output()
        .await
        .expect("wrk runs (apt-get install -y wrk)");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    parse(&text).unwrap_or_else(|| panic!("an unreadable wrk report:\n{text}"))
}

/// Reads `wrk --latency`'s report.
pub fn parse(report: &str) -> Option<Wrk> {
    let mut figures = Wrk::default();
    let (mut p50, mut p99, mut rps, mut requests) = (None, None, None, None);
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = millis(value),
            ["99%", value] => p99 = millis(value),
            ["Requests/sec:", value] => rps = value.parse().ok(),
            [count, "requests", "in", ..] => requests = count.parse().ok(),
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                figures.non_2xx = count.parse().ok()?
            }
            ["Socket", "errors:", rest @ ..] => {
                figures.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    figures.p50_ms = p50?;
    figures.p99_ms = p99?;
    figures.per_second = rps?;
    figures.requests = requests?;
    Some(figures)
}

/// `wrk`'s durations (`812.00us`, `1.23ms`, `1.01s`, `2.00m`) in milliseconds.
fn millis(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

/// Where a server's count of SQL statements so far is read.
#[derive(Clone, Debug)]
pub enum Counter {
    /// No database.
    None,
    /// Atelya's Prometheus `/metrics`: `atelya_db_statements_total`.
    Metrics(String),
    /// The hand-written server's `/stats`: a bare number.
    Stats(String),
}

impl Counter {
    pub async fn read(&self) -> Option<u64> {
        let (url, metrics) = match self {
            Counter::None => return None,
            Counter::Metrics(url) => (url, true),
            Counter::Stats(url) => (url, false),
        };
        let text = reqwest::get(url)
            .await
            .expect("the counter answers")
            .text()
            .await
            .expect("a counter body");
        if !metrics {
            return text.trim().parse().ok();
        }
        let total = text
            .lines()
            .filter(|l| l.starts_with("atelya_db_statements_total"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .sum::<f64>();
        Some(total as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 10s test @ http://127.0.0.1:1/plaintext
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   610.21us  300.00us  12.00ms   90.00%
  Latency Distribution
     50%  550.00us
     75%  700.00us
     90%  900.00us
     99%    1.52ms
  812345 requests in 10.00s, 99.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:  81234.50
Transfer/sec:      9.90MB
";
        let wrk = parse(report).unwrap();
        assert_eq!(wrk.requests, 812_345);
        assert_eq!(wrk.per_second, 81_234.5);
        assert!((wrk.p50_ms - 0.55).abs() < 1e-9 && (wrk.p99_ms - 1.52).abs() < 1e-9);
        assert_eq!((wrk.non_2xx, wrk.socket_errors), (3, 3));
    }
}
