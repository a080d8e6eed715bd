//! Whether a workroom ran once, seen from outside: from its events, its
//! deliverables and (in [`super::charges`]) the ledger.
//! - its seqs are 1..=n with no gap; exactly one STATE_CHANGED to COMPLETED,
//!   none to FAILED or CANCELLED, and it is the last event;
//! - exactly one PLAN_CREATED, and one planning charge for it;
//! - per task, TASK_STARTED attempts are numbered 1, 2, 3... (a restart
//!   interrupts an attempt, and the next instance starts the next one); no
//!   event of a task after its TASK_COMPLETED; each started task completes
//!   exactly once;
//! - each CREDITS_CHARGED and TASK_FAILED names the task's latest attempt
//!   (an older attempt settling after a newer one started would be two
//!   attempts overlapping), and no attempt is charged twice;
//! - every COMPOSER_DELTA follows a COMPOSER_RESET of its deliverable since
//!   the latest TASK_STARTED (a second Composer writing at once would not),
//!   and each deliverable's content is its deltas after its latest reset;
//! - its CHARGE ledger entries are its CREDITS_CHARGED events (same task,
//!   same credits, as many), and they sum to its `creditsSpent`.

use std::collections::{HashMap, HashSet};

use super::{Event, Room, RoomSummary};

/// A task's attempts so far.
#[derive(Default)]
struct Attempts {
    latest: i64,
    completed: bool,
    charged: HashSet<i64>,
}

/// Checks that a workroom ran once, and keeps what the other checks need.
pub fn summarize(room: &Room) -> RoomSummary {
    let mut s = RoomSummary {
        id: room.id.clone(),
        events: room.events.len(),
        credits_spent: room.credits_spent,
        ..Default::default()
    };
    let plans = course(room, &mut s);
    attempts(room, &mut s);
    let planning = s.charges.iter().filter(|(t, _)| t.is_none()).count();
    if planning != plans {
        s.problems
            .push(format!("{planning} planning charges for {plans} plans"));
    }
    for d in &room.deliverables {
        if d.content.as_deref() != Some(&streamed(&room.events, &d.id)) {
            s.problems.push(format!(
                "{}'s content is not its deltas after its latest reset",
                d.id
            ));
        }
    }
    s
}

/// Its seqs, its one end, its one plan; returns how many plans it had.
fn course(room: &Room, s: &mut RoomSummary) -> usize {
    let problems = &mut s.problems;
    if let Some((i, e)) = room
        .events
        .iter()
        .enumerate()
        .find(|(i, e)| e.seq != *i as i64 + 1)
    {
        problems.push(format!("seq {} where {} was due", e.seq, i + 1));
    }
    let ended = |e: &&Event| e.kind == "STATE_CHANGED" && is_terminal(e.state.as_deref());
    let ends: Vec<&Event> = room.events.iter().filter(ended).collect();
    let completions = ends
        .iter()
        .filter(|e| e.state.as_deref() == Some("COMPLETED"))
        .count();
    s.completed = completions == 1 && ends.len() == 1;
    if !s.completed {
        let states: Vec<_> = ends
            .iter()
            .map(|e| e.state.clone().unwrap_or_default())
            .collect();
        problems.push(format!(
            "terminal states {states:?} where one COMPLETED was due"
        ));
    }
    match room.events.last() {
        Some(last) if ended(&last) => s.terminal = Some(last.seq),
        Some(last) => problems.push(format!(
            "its last event is {} #{}, not its end",
            last.kind, last.seq
        )),
        None => problems.push("no events".into()),
    }
    let plans = room
        .events
        .iter()
        .filter(|e| e.kind == "PLAN_CREATED")
        .count();
    if plans != 1 {
        problems.push(format!("{plans} PLAN_CREATED"));
    }
    plans
}

/// Each task's attempts, their charges, and the Composer's resets.
fn attempts(room: &Room, s: &mut RoomSummary) {
    let mut tasks: HashMap<&str, Attempts> = HashMap::new();
    let mut reset: HashSet<&str> = HashSet::new();
    for e in &room.events {
        let task = e.task_id.as_deref().unwrap_or("");
        let deliverable = e.deliverable_id.as_deref().unwrap_or("");
        match e.kind.as_str() {
            "TASK_STARTED" => {
                let t = tasks.entry(task).or_default();
                start(e, task, t, &mut s.problems);
                s.attempts += 1;
                s.retried += usize::from(t.latest > 1);
                reset.clear();
            }
            "TASK_COMPLETED" | "TASK_FAILED" | "CREDITS_CHARGED" if !task.is_empty() => {
                match tasks.get_mut(task) {
                    Some(t) => settle(e, task, t, &mut s.charges, &mut s.problems),
                    None => s.problems.push(format!(
                        "{} of task {task} (#{}) before it started",
                        e.kind, e.seq
                    )),
                }
            }
            "CREDITS_CHARGED" => s
                .charges
                .push((None, e.data["credits"].as_i64().unwrap_or(0))),
            "COMPOSER_RESET" => {
                reset.insert(deliverable);
            }
            "COMPOSER_DELTA" if !reset.contains(deliverable) => s.problems.push(format!(
                "a delta of {deliverable} (#{}) with no reset since the latest attempt started",
                e.seq
            )),
            _ => {}
        }
    }
    for (task, t) in &tasks {
        if !t.completed {
            s.problems
                .push(format!("task {task} started but never completed"));
        }
    }
}

/// A task's TASK_STARTED: the next attempt, never after it completed.
fn start(e: &Event, task: &str, t: &mut Attempts, problems: &mut Vec<String>) {
    let n = e.data["attempt"].as_i64().unwrap_or(-1);
    if t.completed {
        problems.push(format!(
            "task {task} started again (attempt {n}, #{}) after it completed",
            e.seq
        ));
    }
    if n != t.latest + 1 {
        problems.push(format!(
            "task {task} started attempt {n} after attempt {} (#{})",
            t.latest, e.seq
        ));
    }
    t.latest = n;
}

/// A task's TASK_COMPLETED, TASK_FAILED or CREDITS_CHARGED.
fn settle(
    e: &Event,
    task: &str,
    t: &mut Attempts,
    charges: &mut Vec<(Option<String>, i64)>,
    problems: &mut Vec<String>,
) {
    if t.completed {
        problems.push(format!(
            "{} of task {task} (#{}) after it completed",
            e.kind, e.seq
        ));
    }
    let attempt = match e.kind.as_str() {
        "TASK_COMPLETED" => {
            t.completed = true;
            return;
        }
        "TASK_FAILED" => e.data["attempt"].as_i64(),
        // The hold's key: `task:<task>:<attempt>`.
        _ => e.data["attempt"]
            .as_str()
            .and_then(|k| k.rsplit(':').next()?.parse().ok()),
    };
    let n = attempt.unwrap_or(-1);
    if n != t.latest {
        problems.push(format!(
            "{} of task {task} attempt {n} (#{}) while attempt {} ran",
            e.kind, e.seq, t.latest
        ));
    }
    if e.kind == "CREDITS_CHARGED" {
        if !t.charged.insert(n) {
            problems.push(format!(
                "task {task} attempt {n} charged twice (#{})",
                e.seq
            ));
        }
        charges.push((
            Some(task.to_owned()),
            e.data["credits"].as_i64().unwrap_or(0),
        ));
    }
}

fn is_terminal(state: Option<&str>) -> bool {
    matches!(state, Some("COMPLETED" | "FAILED" | "CANCELLED"))
}

/// The texts of a deliverable's COMPOSER_DELTA events after its latest COMPOSER_RESET.
fn streamed(events: &[Event], deliverable: &str) -> String {
    let mine = |e: &&Event| e.deliverable_id.as_deref() == Some(deliverable);
    let from = events
        .iter()
        .rposition(|e| e.kind == "COMPOSER_RESET" && mine(&e))
        .map_or(0, |i| i + 1);
    events[from..]
        .iter()
        .filter(|e| e.kind == "COMPOSER_DELTA" && mine(e))
        .filter_map(|e| e.text.as_deref())
        .collect()
}
