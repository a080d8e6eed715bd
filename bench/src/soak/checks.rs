//! What must hold after a soak, as pure functions of what the watchers
//! recorded and what the API gives back.
//!
//! **Once and in order.** A watch (one watcher following one workroom from
//! `afterSeq`) received exactly the seqs after it up to the workroom's
//! terminal STATE_CHANGED, each once, in increasing order: its runs of
//! consecutive seqs are the one run `after + 1 ..= terminal`.
//!
//! **No workroom ran twice** (from a workroom's events, its deliverables and
//! the ledger):
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
//!
//! **The ledger equals every balance.** Oldest first, each entry's
//! `balanceAfter` is the previous one plus its amount (from 0), the entries
//! sum to the balance, and nothing is left reserved once every workroom ended.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::watcher::WatchRecord;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub state: Option<String>,
    pub task_id: Option<String>,
    pub deliverable_id: Option<String>,
    pub text: Option<String>,
    #[serde(default)]
    pub data: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Deliverable {
    pub id: String,
    pub content: Option<String>,
}

/// A workroom as the API gives it back.
#[derive(Debug, Clone)]
pub struct Room {
    pub id: String,
    pub credits_spent: i64,
    pub deliverables: Vec<Deliverable>,
    pub events: Vec<Event>,
}

/// What the checks keep of a workroom.
#[derive(Debug, Clone, Default)]
pub struct RoomSummary {
    pub id: String,
    pub events: usize,
    /// The seq of its terminal STATE_CHANGED, when its last event is one.
    pub terminal: Option<i64>,
    pub completed: bool,
    pub attempts: usize,
    /// Attempts beyond the first of a task (after an interruption).
    pub retried: usize,
    /// `(task, credits)` of each CREDITS_CHARGED; no task for planning.
    pub charges: Vec<(Option<String>, i64)>,
    pub credits_spent: i64,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Id {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub workroom: Option<Id>,
    pub task: Option<Id>,
}

/// A workspace's ledger, oldest entry first, and its credits.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub balance: i64,
    pub reserved: i64,
    pub entries: Vec<Entry>,
}

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
    let mut tasks: HashMap<&str, Attempts> = HashMap::new();
    let mut reset: HashSet<&str> = HashSet::new();
    for e in &room.events {
        let task = e.task_id.as_deref().unwrap_or("");
        let deliverable = e.deliverable_id.as_deref().unwrap_or("");
        match e.kind.as_str() {
            "TASK_STARTED" => {
                let t = tasks.entry(task).or_default();
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
                s.attempts += 1;
                s.retried += usize::from(n > 1);
                reset.clear();
            }
            "TASK_COMPLETED" | "TASK_FAILED" | "CREDITS_CHARGED" if !task.is_empty() => {
                let Some(t) = tasks.get_mut(task) else {
                    problems.push(format!(
                        "{} of task {task} (#{}) before it started",
                        e.kind, e.seq
                    ));
                    continue;
                };
                settle(e, task, t, &mut s.charges, problems);
            }
            "CREDITS_CHARGED" => s
                .charges
                .push((None, e.data["credits"].as_i64().unwrap_or(0))),
            "COMPOSER_RESET" => {
                reset.insert(deliverable);
            }
            "COMPOSER_DELTA" if !reset.contains(deliverable) => problems.push(format!(
                "a delta of {deliverable} (#{}) with no reset since the latest attempt started",
                e.seq
            )),
            _ => {}
        }
    }
    for (task, t) in &tasks {
        if !t.completed {
            problems.push(format!("task {task} started but never completed"));
        }
    }
    let planning = s.charges.iter().filter(|(t, _)| t.is_none()).count();
    if planning != plans {
        problems.push(format!("{planning} planning charges for {plans} plans"));
    }
    for d in &room.deliverables {
        if d.content.as_deref() != Some(&streamed(&room.events, &d.id)) {
            problems.push(format!(
                "{}'s content is not its deltas after its latest reset",
                d.id
            ));
        }
    }
    s
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

/// The events a watch received, when they are exactly those of its workroom after its `afterSeq`.
pub fn delivery(watch: &WatchRecord, room: Option<&RoomSummary>) -> Result<u64, String> {
    let room = room.ok_or("its workroom was not read back")?;
    let end = room.terminal.ok_or("its workroom did not end")?;
    let expected = [(watch.after + 1, end)];
    if watch.ranges == expected {
        return Ok((end - watch.after) as u64);
    }
    let mut shown: Vec<String> = watch
        .ranges
        .iter()
        .take(6)
        .map(|(a, b)| format!("{a}-{b}"))
        .collect();
    if watch.ranges.len() > 6 {
        shown.push("...".into());
    }
    let how = if watch.finished {
        "received"
    } else {
        "cut off, having received"
    };
    Err(format!(
        "{how} [{}] of {}-{end}",
        shown.join(", "),
        watch.after + 1
    ))
}

/// Breaks in a ledger's chain, and between its sum and its balance.
pub fn ledger(ledger: &Ledger) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sum = 0;
    for (i, e) in ledger.entries.iter().enumerate() {
        sum += e.amount;
        if e.balance_after != sum {
            problems.push(format!(
                "entry {} ({} {}): balanceAfter {} after {}",
                i + 1,
                e.kind,
                e.amount,
                e.balance_after,
                sum - e.amount
            ));
            sum = e.balance_after;
        }
    }
    let total: i64 = ledger.entries.iter().map(|e| e.amount).sum();
    if total != ledger.balance {
        problems.push(format!(
            "the entries sum to {total}, the balance is {}",
            ledger.balance
        ));
    }
    if ledger.reserved != 0 {
        problems.push(format!(
            "{} credits still reserved after every workroom ended",
            ledger.reserved
        ));
    }
    problems
}

/// Whether a workroom's CHARGE entries are its CREDITS_CHARGED events, and add up to its creditsSpent.
pub fn charges(room: &RoomSummary, entries: &[&Entry]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ledger: Vec<(Option<String>, i64)> = entries
        .iter()
        .filter(|e| e.kind == "CHARGE")
        .map(|e| (e.task.as_ref().map(|t| t.id.clone()), -e.amount))
        .collect();
    let mut events = room.charges.clone();
    ledger.sort();
    events.sort();
    if ledger != events {
        problems.push(format!(
            "{} CHARGE entries {ledger:?} for {} CREDITS_CHARGED {events:?}",
            ledger.len(),
            events.len()
        ));
    }
    let spent: i64 = entries
        .iter()
        .filter(|e| e.kind == "CHARGE" || e.kind == "REFUND")
        .map(|e| -e.amount)
        .sum();
    if spent != room.credits_spent {
        problems.push(format!(
            "creditsSpent {} where its entries say {spent}",
            room.credits_spent
        ));
    }
    problems
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
