//! Cost budgets for API consumers, as GitHub and Linear keep them: every
//! document a signed-in member runs is charged its cost (the complexity the
//! document limits use, at least 1) against an hourly budget per member and
//! workspace (`ATELYA_COST_BUDGET_PER_HOUR`). A document that would overspend
//! is refused with RATE_LIMITED and charged nothing.
//!
//! Windows are whole clock hours. With Redis the spend lives there, so every
//! instance draws on one budget (one Lua script checks and charges); without
//! it, in this process. Should Redis not answer in time, or refuse writes
//! (full), each instance keeps the budgets itself until Redis takes writes
//! again (see `ratelimit::shared`): a budget never lapses, at worst each
//! instance grants its own meanwhile.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use chrono::{DateTime, TimeZone, Utc};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::{clock::Clock, ratelimit::shared::Shared};

const WINDOW_SECS: i64 = 3_600;

/// What a document drew from its budget, or would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// The document's cost.
    pub requested: u64,
    /// What is left of the budget in this window (after the charge, if any).
    pub remaining: u64,
    pub limit: u64,
    pub reset_at: DateTime<Utc>,
    /// Whether the document may run (and was charged).
    pub allowed: bool,
}

pub struct CostBudget {
    per_hour: u64,
    clock: Clock,
    /// Spend per key, with the window it belongs to, kept here: all of it
    /// without Redis, and while it fails.
    local: Mutex<HashMap<String, (i64, u64)>>,
    shared: Option<Shared>,
}

/// Reads the spend, refuses an overspend, charges and sets the key to
/// expire with its window: `{allowed, spent}`.
static CHARGE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
        local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
        if spent + cost > limit then return {0, spent} end
        spent = redis.call('INCRBY', KEYS[1], cost)
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        return {1, spent}
        ",
    )
});

impl CostBudget {
    /// `per_hour` of 0 turns budgets off.
    pub fn new(
        per_hour: u64,
        clock: Clock,
        redis: Option<ConnectionManager>,
        prefix: &str,
    ) -> CostBudget {
        CostBudget {
            per_hour,
            clock,
            local: Mutex::new(HashMap::new()),
            shared: redis.map(|connection| {
                Shared::new(connection, format!("{prefix}:cost"), "cost_budgets")
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_hour > 0
    }

    /// Charges `cost` (at least 1) to the member's budget in `workspace`.
    #[tracing::instrument(level = "debug", skip_all, fields(workspace = %workspace, user = %user, cost = cost))]
    pub async fn charge(&self, workspace: Uuid, user: Uuid, cost: u64) -> Charge {
        let cost = cost.max(1);
        let now = self.clock.now().timestamp();
        let window = now.div_euclid(WINDOW_SECS);
        let reset_at = Utc
            .timestamp_opt((window + 1) * WINDOW_SECS, 0)
            .single()
            .unwrap_or_default();
        let key = format!("{workspace}:{user}:{window}");
        let shared = match &self.shared {
            Some(shared) => {
                let ttl = (window + 1) * WINDOW_SECS - now + 60;
                let answer: Option<(i64, i64)> = shared
                    .invoke(
                        CHARGE
                            .key(shared.key(&key))
                            .arg(cost)
                            .arg(self.per_hour)
                            .arg(ttl),
                    )
                    .await;
                answer.map(|(allowed, spent)| (allowed == 1, spent.max(0) as u64))
            }
            None => None,
        };
        let (allowed, spent) = shared.unwrap_or_else(|| self.charge_here(key, window, cost));
        Charge {
            requested: cost,
            remaining: self.per_hour.saturating_sub(spent),
            limit: self.per_hour,
            reset_at,
            allowed,
        }
    }

    /// Charges `cost` to this process's count of `key` in `window`:
    /// whether it was allowed, and the spend after it.
    fn charge_here(&self, key: String, window: i64, cost: u64) -> (bool, u64) {
        let mut spend = self.local.lock().expect("cost budgets");
        spend.retain(|_, (w, _)| *w >= window);
        let entry = spend.entry(key).or_insert((window, 0));
        if entry.1 + cost > self.per_hour {
            return (false, entry.1);
        }
        entry.1 += cost;
        (true, entry.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_budget_is_charged_until_spent_then_refuses_without_charging() {
        let budget = CostBudget::new(10, Clock::default(), None, "t");
        let (ws, user) = (Uuid::now_v7(), Uuid::now_v7());
        let first = budget.charge(ws, user, 6).await;
        assert!(first.allowed);
        assert_eq!((first.requested, first.remaining), (6, 4));
        let zero = budget.charge(ws, user, 0).await;
        assert_eq!(
            (zero.requested, zero.remaining),
            (1, 3),
            "every document costs at least 1"
        );
        let over = budget.charge(ws, user, 4).await;
        assert!(!over.allowed);
        assert_eq!(over.remaining, 3, "a refusal charges nothing");
        assert!(
            budget.charge(ws, Uuid::now_v7(), 10).await.allowed,
            "budgets are per member"
        );
        assert!(
            over.reset_at > Utc::now() && over.reset_at <= Utc::now() + chrono::TimeDelta::hours(1)
        );
    }
}
