//! The figures of the HTTP scenarios, their medians, ratios and targets.

use serde_json::{json, Value};

use super::HttpSettings;
use crate::report::median;

/// One scenario measured once.
#[derive(Debug, Clone)]
pub struct Figures {
    pub key: String,
    pub label: String,
    pub round: usize,
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// SQL statements the server ran per request answered; none for servers without a database.
    pub statements_per_request: Option<f64>,
    pub non_2xx: u64,
    pub socket_errors: u64,
}

impl Figures {
    pub fn json(&self, settings: &HttpSettings, date: &str) -> Value {
        json!({
            "date": date, "scenario": self.key, "label": self.label, "round": self.round,
            "threads": settings.threads, "connections": settings.connections, "secs": settings.secs,
            "requests": self.requests, "perSecond": self.per_second,
            "p50Ms": self.p50_ms, "p99Ms": self.p99_ms,
            "statementsPerRequest": self.statements_per_request,
            "non2xx": self.non_2xx, "socketErrors": self.socket_errors,
        })
    }
}

/// Medians of one scenario's rounds.
struct Medians {
    label: String,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    statements: f64,
    errors: u64,
}

fn medians(all: &[Figures], key: &str) -> Option<Medians> {
    let runs: Vec<&Figures> = all.iter().filter(|f| f.key == key).collect();
    let m = |get: fn(&Figures) -> f64| median(runs.iter().map(|f| get(f)).collect());
    Some(Medians {
        label: runs.first()?.label.clone(),
        per_second: m(|f| f.per_second),
        p50_ms: m(|f| f.p50_ms),
        p99_ms: m(|f| f.p99_ms),
        statements: m(|f| f.statements_per_request.unwrap_or(0.0)),
        errors: runs.iter().map(|f| f.non_2xx + f.socket_errors).sum(),
    })
}

/// The scenario each is compared with: (b), (c) with (a); a page through Atelya with its hand-written twin.
fn reference(key: &str) -> Option<String> {
    match key {
        "b" | "c" => Some("a".into()),
        page if page.starts_with('d') => Some(format!("e{}", &page[1..])),
        _ => None,
    }
}

/// The table of medians, each requests/s with its ratio to its reference, then the targets.
pub fn table(all: &[Figures], keys: &[String], settings: &HttpSettings) -> String {
    let mut out = format!(
        "Medians of {} alternating rounds; wrk -t{} -c{} -d{}s --latency per scenario per round.\n\n",
        settings.rounds, settings.threads, settings.connections, settings.secs
    );
    out.push_str("| scenario | requests/s | ratio | p50 ms | p99 ms | SQL statements/request | non-2xx + socket errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for key in keys {
        let Some(m) = medians(all, key) else { continue };
        let ratio = reference(key)
            .and_then(|r| Some((medians(all, &r)?, r)))
            .map_or("–".to_owned(), |(r, name)| {
                format!("{:.2}× ({name})", m.per_second / r.per_second)
            });
        out.push_str(&format!(
            "| ({key}) {} | {:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {} |\n",
            m.label, m.per_second, m.p50_ms, m.p99_ms, m.statements, m.errors
        ));
    }
    out.push_str("\nTargets:\n\n");
    let rps = |key: &str| medians(all, key).map_or(f64::NAN, |m| m.per_second);
    let mut target = |what: String, value: f64, goal: f64, at_least: bool| {
        let met = if at_least {
            value >= goal
        } else {
            value <= goal
        };
        let sign = if at_least { "≥" } else { "≤" };
        out.push_str(&format!(
            "- {what}: {value:.2} (target {sign} {goal:.2}) — {}\n",
            if met { "met" } else { "NOT met" }
        ));
    };
    target("(b)/(a) requests/s".into(), rps("b") / rps("a"), 0.45, true);
    target("(c)/(a) requests/s".into(), rps("c") / rps("a"), 0.70, true);
    let pages: Vec<&String> = keys.iter().filter(|k| k.starts_with('d')).collect();
    if let Some(largest) = pages.first() {
        let n = &largest[1..];
        let d = medians(all, largest);
        target(
            format!("(d)/(e) requests/s, {n} tasks"),
            rps(largest) / rps(&format!("e{n}")),
            0.50,
            true,
        );
        target(
            format!("(d) p99 ms, {n} tasks"),
            d.map_or(f64::NAN, |m| m.p99_ms),
            20.0,
            false,
        );
    }
    let statements: Vec<String> = pages
        .iter()
        .filter_map(|k| {
            Some(format!(
                "{:.2} at {} tasks",
                medians(all, k)?.statements,
                &k[1..]
            ))
        })
        .collect();
    let per_page: Vec<f64> = pages
        .iter()
        .filter_map(|k| medians(all, k).map(|m| m.statements))
        .collect();
    let constant = per_page.windows(2).all(|w| (w[0] - w[1]).abs() < 0.5);
    out.push_str(&format!(
        "- (d) SQL statements/request constant in the page size: {} — {}\n",
        statements.join(", "),
        if constant { "met" } else { "NOT met" }
    ));
    out
}

/// Every run, round by round.
pub fn rounds(all: &[Figures]) -> String {
    let mut out = String::from(
        "| round | scenario | requests | requests/s | p50 ms | p99 ms | SQL statements/request | non-2xx + socket errors |\n|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for f in all {
        out.push_str(&format!(
            "| {} | ({}) {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |\n",
            f.round,
            f.key,
            f.label,
            f.requests,
            f.per_second,
            f.p50_ms,
            f.p99_ms,
            f.statements_per_request
                .map_or("–".to_owned(), |s| format!("{s:.3}")),
            f.non_2xx + f.socket_errors
        ));
    }
    out
}
