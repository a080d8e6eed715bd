//! What must hold after a soak, as pure functions of what the watchers
//! recorded and what the API gives back.
//!
//! **Once and in order.** A watch (one watcher following one workroom from
//! `afterSeq`) received exactly the seqs after it up to the workroom's
//! terminal STATE_CHANGED, each once, in increasing order: its runs of
//! consecutive seqs are the one run `after + 1 ..= terminal`.
//!
//! **No workroom ran twice**: see [`once`].
//!
//! **The ledger equals every balance.** Oldest first, each entry's
//! `balanceAfter` is the previous one plus its amount (from 0), the entries
//! sum to the balance, and nothing is left reserved once every workroom ended.

mod once;

use serde::Deserialize;
use serde_json::Value;

use super::watcher::WatchRecord;
pub use once::summarize;

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
mod tests;
