//! The report's tables: latency per window, RSS per instance life,
//! restarts, and what the driver did.

use std::fmt::Write;

use super::{
    client::Client,
    cluster::Restart,
    figures::{self, quantile_ms, Latencies, Timeline},
    report::{long_enough, window},
    rooms::Driven,
    SoakSettings,
};

pub fn latency_table(
    out: &mut String,
    settings: &SoakSettings,
    timeline: &Timeline,
    latencies: &Latencies,
    restarts: &[Restart],
) {
    out.push_str("\nDelivery latency per window (receive time minus the event's `at`):\n\n");
    out.push_str("| window | live events | p50 ms | p99 ms | max ms | caught up after a reconnect | their p99 ms | reconnections | restarts |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for w in 0..latencies.windows() {
        let sorted = |v: &Vec<Vec<u32>>| {
            let mut s = v.get(w).cloned().unwrap_or_default();
            s.sort_unstable();
            s
        };
        let (live, caught) = (sorted(&latencies.live), sorted(&latencies.caught_up));
        let drain = if w as f64 * timeline.window_minutes() >= settings.minutes {
            " (drain)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {}{drain} | {} | {} | {} | {} | {} | {} | {} | {} |",
            window(timeline, w),
            live.len(),
            ms(quantile_ms(&live, 0.5)),
            ms(quantile_ms(&live, 0.99)),
            ms(quantile_ms(&live, 1.0)),
            caught.len(),
            ms(quantile_ms(&caught, 0.99)),
            latencies.reconnects.get(w).copied().unwrap_or(0),
            restarts
                .iter()
                .filter(|r| timeline.window_of_secs(r.at) == w)
                .count(),
        );
    }
}

/// Milliseconds to one decimal, or a dash when there were none.
fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else {
        format!("{value:.1}")
    }
}

pub fn rss_table(out: &mut String, settings: &SoakSettings, lives: &[figures::Life]) {
    out.push_str("\nRSS per instance life (warm-up: its first third; the slope is a least-squares line through the rest):\n\n");
    out.push_str("| instance | life | minutes | samples | first MiB | last MiB | slope after warm-up, MiB per 10 min | max − min after warm-up, MiB |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|\n");
    for l in lives {
        let judged = if long_enough(settings, l) {
            ""
        } else {
            " (too short to judge)"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1}–{:.1} | {} | {:.1} | {:.1} | {:+.2}{judged} | {:.1} |",
            ["A", "B"][l.instance],
            l.life,
            l.from,
            l.to,
            l.samples,
            l.first_mib,
            l.last_mib,
            l.slope_mib_per_10min,
            l.spread_mib
        );
    }
}

pub fn restart_table(out: &mut String, restarts: &[Restart]) {
    if restarts.is_empty() {
        return;
    }
    out.push_str("\nRestarts:\n\n| at min | instance | exited after SIGTERM, s | answering again after, s |\n|---:|---|---:|---:|\n");
    for r in restarts {
        let killed = if r.killed { " (killed)" } else { "" };
        let _ = writeln!(
            out,
            "| {:.1} | {} | {:.1}{killed} | {:.1} |",
            r.at / 60.0,
            ["A", "B"][r.instance],
            r.exit_secs,
            r.down_secs
        );
    }
}

pub fn driver(out: &mut String, driven: &Driven, client: &Client) {
    let _ = writeln!(
        out,
        "\nDriver: {} workrooms started, {} finished, {} left running after the drain; {} top-ups, {} resumed after running out of credits; {} HTTP requests sent to the other instance because theirs did not answer; {} errors{}.",
        driven.started,
        driven.finished,
        driven.left_running,
        driven.top_ups,
        driven.resumed,
        client.failovers.load(std::sync::atomic::Ordering::Relaxed),
        driven.errors,
        driven
            .first_errors
            .iter()
            .map(|e| format!("\n- {e}"))
            .collect::<String>(),
    );
}
