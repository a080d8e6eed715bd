//! The checks, PASS or FAIL each, and the figures behind them, as Markdown
//! for BENCHMARKS.md.

use std::{collections::HashMap, fmt::Write};

use super::{
    checks::{self, Entry, RoomSummary},
    client::Client,
    figures::{self, quantile_ms, Latencies, Timeline},
    history::ReadBack,
    rooms::Driven,
    tables,
    watcher::Outcome,
    Recorded, SoakSettings,
};

/// Problems shown per check (all are counted).
const SHOWN: usize = 10;

struct Check {
    name: String,
    /// `None`: nothing to judge.
    pass: Option<bool>,
    figures: String,
    problems: Vec<String>,
}

pub struct Report {
    header: String,
    checks: Vec<Check>,
    tables: String,
}

impl Report {
    pub fn new(
        settings: &SoakSettings,
        recorded: &Recorded,
        read: &ReadBack,
        client: &Client,
    ) -> Report {
        let Recorded {
            timeline,
            driven,
            outcomes,
            samples,
            restarts,
        } = recorded;
        let mut latencies = Latencies::default();
        for outcome in outcomes {
            latencies.merge(&outcome.latencies);
        }
        let lives = figures::lives(samples);
        let checks = vec![
            delivery(outcomes, read),
            ran_once(driven, read),
            ledgers(read),
            rss(settings, &lives),
            latency(settings, timeline, &latencies),
        ];
        let mut tables = String::new();
        tables::latency_table(&mut tables, settings, timeline, &latencies, restarts);
        tables::rss_table(&mut tables, settings, &lives);
        tables::restart_table(&mut tables, restarts);
        tables::driver(&mut tables, driven, client);
        Report {
            header: header(settings, timeline),
            checks,
            tables,
        }
    }

    /// Every check passed (or had nothing to judge).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass != Some(false))
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "{}\n\n| check | result | figures |\n|---|:-:|---|\n",
            self.header
        );
        for c in &self.checks {
            let verdict = match c.pass {
                Some(true) => "PASS",
                Some(false) => "**FAIL**",
                None => "n/a",
            };
            let _ = writeln!(out, "| {} | {verdict} | {} |", c.name, c.figures);
        }
        out.push_str(&self.tables);
        for c in self.checks.iter().filter(|c| !c.problems.is_empty()) {
            let _ = writeln!(out, "\n{} ({} problems):", c.name, c.problems.len());
            for p in c.problems.iter().take(SHOWN) {
                let _ = writeln!(out, "- {p}");
            }
        }
        out
    }
}

fn header(settings: &SoakSettings, timeline: &Timeline) -> String {
    format!(
        "{} min of load, one instance restarted every {} min (A, B in turn), {} workrooms at once over {} workspaces ({}), {} watchers, {} deliverables per workroom, built-in model at {} ms per token; then the drain ({:.1} min).",
        settings.minutes,
        settings.restart_every,
        settings.workrooms,
        settings.workspaces,
        settings.plan,
        settings.watchers,
        settings.deliverables,
        settings.token_delay_ms,
        timeline.secs() / 60.0 - settings.minutes,
    )
}

fn judged(name: &str, figures: String, problems: Vec<String>) -> Check {
    Check {
        name: name.to_owned(),
        pass: Some(problems.is_empty()),
        figures,
        problems,
    }
}

fn delivery(outcomes: &[Outcome], read: &ReadBack) -> Check {
    let by_id: HashMap<&str, &RoomSummary> =
        read.rooms.iter().map(|r| (r.id.as_str(), r)).collect();
    let (mut watches, mut delivered, mut reconnects) = (0, 0, 0);
    let mut problems = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        for w in &outcome.watches {
            watches += 1;
            reconnects += w.reconnects;
            match checks::delivery(w, by_id.get(&*w.room).copied()) {
                Ok(n) => delivered += n,
                Err(err) => problems.push(format!("watcher {i} on {}: {err}", w.room)),
            }
            for err in &w.errors {
                problems.push(format!("watcher {i} on {}: the server sent {err}", w.room));
            }
        }
    }
    let figures =
        format!("{watches} watches, {delivered} events delivered, {reconnects} reconnections");
    judged(
        "every watcher received every event of its workroom, once, in order",
        figures,
        problems,
    )
}

fn ran_once(driven: &Driven, read: &ReadBack) -> Check {
    let mut problems: Vec<String> = read.errors.clone();
    if driven.left_running > 0 {
        problems.push(format!(
            "{} workrooms still running after the drain",
            driven.left_running
        ));
    }
    let mut by_room: HashMap<&str, Vec<&Entry>> = HashMap::new();
    for entry in read.ledgers.iter().flat_map(|l| &l.entries) {
        if let Some(room) = &entry.workroom {
            by_room.entry(room.id.as_str()).or_default().push(entry);
        }
    }
    for room in &read.rooms {
        let entries = by_room.remove(room.id.as_str()).unwrap_or_default();
        let found = room
            .problems
            .iter()
            .cloned()
            .chain(checks::charges(room, &entries));
        problems.extend(found.map(|p| format!("{}: {p}", room.id)));
    }
    for room in by_room.keys() {
        problems.push(format!("ledger entries of {room}, which was not read back"));
    }
    let completed = read.rooms.iter().filter(|r| r.completed).count();
    let attempts: usize = read.rooms.iter().map(|r| r.attempts).sum();
    let retried: usize = read.rooms.iter().map(|r| r.retried).sum();
    let events: usize = read.rooms.iter().map(|r| r.events).sum();
    let figures = format!(
        "{} workrooms ({events} events), {completed} completed once; {attempts} task attempts, {retried} of them after an interrupted one",
        read.rooms.len()
    );
    judged("no workroom ran twice", figures, problems)
}

fn ledgers(read: &ReadBack) -> Check {
    let mut problems = Vec::new();
    for (w, ledger) in read.ledgers.iter().enumerate() {
        problems.extend(
            checks::ledger(ledger)
                .into_iter()
                .map(|p| format!("workspace {w}: {p}")),
        );
    }
    let entries: usize = read.ledgers.iter().map(|l| l.entries.len()).sum();
    let count = |kind: &str| {
        read.ledgers
            .iter()
            .flat_map(|l| &l.entries)
            .filter(|e| e.kind == kind)
            .count()
    };
    let charged: i64 = read
        .ledgers
        .iter()
        .flat_map(|l| &l.entries)
        .filter(|e| e.kind == "CHARGE")
        .map(|e| -e.amount)
        .sum();
    let figures = format!(
        "{} workspaces, {entries} entries ({} charges of {charged} credits in all, {} top-ups)",
        read.ledgers.len(),
        count("CHARGE"),
        count("TOP_UP")
    );
    judged("the ledger equals every balance", figures, problems)
}

pub fn long_enough(settings: &SoakSettings, life: &figures::Life) -> bool {
    life.to - life.from >= settings.rss_min_life
}

fn rss(settings: &SoakSettings, lives: &[figures::Life]) -> Check {
    let judged_lives: Vec<&figures::Life> =
        lives.iter().filter(|l| long_enough(settings, l)).collect();
    let problems: Vec<String> = judged_lives
        .iter()
        // A slope that is not a number (no samples after warm-up) fails too.
        .filter(|l| {
            l.slope_mib_per_10min.is_nan() || l.slope_mib_per_10min > settings.max_rss_slope
        })
        .map(|l| {
            format!(
                "{} life {}: {:+.2} MiB per 10 min",
                ["A", "B"][l.instance],
                l.life,
                l.slope_mib_per_10min
            )
        })
        .collect();
    let steepest = judged_lives
        .iter()
        .map(|l| l.slope_mib_per_10min)
        .reduce(f64::max);
    let spread = judged_lives
        .iter()
        .map(|l| l.spread_mib)
        .fold(0.0, f64::max);
    let figures = match steepest {
        Some(steepest) => format!(
            "steepest {steepest:+.2} MiB per 10 min (at most {:+.1}), widest max − min {spread:.1} MiB, over {} of {} lives of at least {} min",
            settings.max_rss_slope,
            judged_lives.len(),
            lives.len(),
            settings.rss_min_life
        ),
        None => format!("no instance life of at least {} min to judge", settings.rss_min_life),
    };
    Check {
        pass: (!judged_lives.is_empty()).then_some(problems.is_empty()),
        ..judged("RSS of each instance flat after warm-up", figures, problems)
    }
}

fn latency(settings: &SoakSettings, timeline: &Timeline, latencies: &Latencies) -> Check {
    let mut worst = (f64::NAN, 0);
    let mut problems = Vec::new();
    for (w, live) in latencies
        .live
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        let mut sorted = live.clone();
        sorted.sort_unstable();
        let p99 = quantile_ms(&sorted, 0.99);
        if worst.0.is_nan() || p99 > worst.0 {
            worst = (p99, w);
        }
        if p99 > settings.max_p99_ms {
            problems.push(format!("{}: p99 {p99:.1} ms", window(timeline, w)));
        }
    }
    let figures = format!(
        "worst p99 {:.1} ms ({})",
        worst.0,
        window(timeline, worst.1)
    );
    let name = format!(
        "p99 delivery latency of live events ≤ {} ms in every window",
        settings.max_p99_ms
    );
    judged(&name, figures, problems)
}

pub fn window(timeline: &Timeline, w: usize) -> String {
    let m = timeline.window_minutes();
    format!("{}–{} min", w as f64 * m, (w + 1) as f64 * m)
}
