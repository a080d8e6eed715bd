//! Which endpoints an instance sends to next, so that no workspace, slow or
//! flooded with events, holds up another's deliveries.
//!
//! An instance sends at most [`Caps::total`] deliveries at once, at most
//! [`Caps::workspace`] of one workspace and [`Caps::endpoint`] to one
//! endpoint: a slow endpoint ties up its own few slots, never the others.
//! Free slots go round robin: workspaces take turns, the one this instance
//! served longest ago first, and within a workspace its endpoints take turns.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use uuid::Uuid;

/// How many deliveries one instance sends at once.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub total: usize,
    pub workspace: usize,
    pub endpoint: usize,
}

/// An endpoint with deliveries due, its workspace, and how many are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub workspace: Uuid,
    pub endpoint: Uuid,
    pub count: usize,
}

/// Beyond this many remembered turns, those of idle workspaces are forgotten.
const REMEMBERED_TURNS: usize = 10_000;

#[derive(Default)]
struct Counts {
    total: usize,
    workspaces: HashMap<Uuid, usize>,
    endpoints: HashMap<Uuid, usize>,
    /// The turn at which each workspace last got a slot (a counter, not a time).
    served: HashMap<Uuid, u64>,
    turn: u64,
}

/// The deliveries this instance is sending, counted against the [`Caps`].
pub struct Slots {
    caps: Caps,
    counts: Mutex<Counts>,
}

impl Slots {
    pub fn new(caps: Caps) -> Arc<Slots> {
        let at_least_one = |n: usize| n.max(1);
        Arc::new(Slots {
            caps: Caps {
                total: at_least_one(caps.total),
                workspace: at_least_one(caps.workspace),
                endpoint: at_least_one(caps.endpoint),
            },
            counts: Mutex::default(),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Slots free on this instance.
    pub fn free(&self) -> usize {
        self.caps.total.saturating_sub(self.counts().total)
    }

    /// The endpoints to send to, one entry per delivery, in the order to
    /// send them, within every cap. `due` comes oldest first; workspaces
    /// served longest ago go first, then in that order.
    pub fn plan(&self, due: &[Due]) -> Vec<Due> {
        let counts = self.counts();
        let mut free = self.caps.total.saturating_sub(counts.total);
        let mut workspaces: Vec<(Uuid, VecDeque<Due>)> = Vec::new();
        for entry in due {
            match workspaces.iter_mut().find(|(w, _)| *w == entry.workspace) {
                Some((_, endpoints)) => endpoints.push_back(*entry),
                None => workspaces.push((entry.workspace, VecDeque::from([*entry]))),
            }
        }
        workspaces.sort_by_key(|(w, _)| counts.served.get(w).copied().unwrap_or(0));
        let mut busy_workspaces = counts.workspaces.clone();
        let mut busy_endpoints = counts.endpoints.clone();
        let mut picks = Vec::new();
        let mut progressed = true;
        while free > 0 && progressed {
            progressed = false;
            for (workspace, endpoints) in &mut workspaces {
                let in_workspace = busy_workspaces.entry(*workspace).or_default();
                if free == 0 || *in_workspace >= self.caps.workspace {
                    continue;
                }
                // The next endpoint with room takes this turn and goes to the back.
                while let Some(mut entry) = endpoints.pop_front() {
                    let at_endpoint = busy_endpoints.entry(entry.endpoint).or_default();
                    if entry.count == 0 || *at_endpoint >= self.caps.endpoint {
                        continue;
                    }
                    *at_endpoint += 1;
                    *in_workspace += 1;
                    free -= 1;
                    entry.count -= 1;
                    picks.push(Due { count: 1, ..entry });
                    endpoints.push_back(entry);
                    progressed = true;
                    break;
                }
            }
        }
        picks
    }

    /// A slot for one delivery to `due.endpoint`, when every cap has room;
    /// it is given back when dropped.
    pub fn take(self: &Arc<Self>, due: Due) -> Option<Slot> {
        let mut counts = self.counts();
        let in_workspace = counts.workspaces.get(&due.workspace).copied().unwrap_or(0);
        let at_endpoint = counts.endpoints.get(&due.endpoint).copied().unwrap_or(0);
        if counts.total >= self.caps.total
            || in_workspace >= self.caps.workspace
            || at_endpoint >= self.caps.endpoint
        {
            return None;
        }
        counts.total += 1;
        *counts.workspaces.entry(due.workspace).or_default() += 1;
        *counts.endpoints.entry(due.endpoint).or_default() += 1;
        counts.turn += 1;
        let turn = counts.turn;
        counts.served.insert(due.workspace, turn);
        if counts.served.len() > REMEMBERED_TURNS {
            let Counts {
                served, workspaces, ..
            } = &mut *counts;
            served.retain(|w, _| workspaces.contains_key(w));
        }
        Some(Slot {
            slots: self.clone(),
            due,
        })
    }

    fn give_back(&self, due: Due) {
        let mut counts = self.counts();
        counts.total = counts.total.saturating_sub(1);
        release(&mut counts.workspaces, due.workspace);
        release(&mut counts.endpoints, due.endpoint);
    }
}

fn release(counts: &mut HashMap<Uuid, usize>, key: Uuid) {
    if let Some(count) = counts.get_mut(&key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

/// One delivery being sent; its slot is free again when this is dropped.
pub struct Slot {
    slots: Arc<Slots>,
    due: Due,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.give_back(self.due);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Caps {
        Caps {
            total: 8,
            workspace: 3,
            endpoint: 2,
        }
    }

    fn due(workspace: Uuid, endpoint: Uuid, count: usize) -> Due {
        Due {
            workspace,
            endpoint,
            count,
        }
    }

    #[test]
    fn a_flooded_workspace_gets_its_share_and_a_quiet_one_its_turn() {
        let slots = Slots::new(caps());
        let (flooded, quiet) = (Uuid::now_v7(), Uuid::now_v7());
        let hooks: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let quiet_hook = Uuid::now_v7();
        // The flood is older, so it comes first in the list.
        let mut listed: Vec<Due> = hooks.iter().map(|h| due(flooded, *h, 1_000)).collect();
        listed.push(due(quiet, quiet_hook, 1));

        let plan = slots.plan(&listed);
        let of = |w: Uuid| plan.iter().filter(|d| d.workspace == w).count();
        assert_eq!(of(flooded), 3, "a workspace gets at most its cap: {plan:?}");
        assert_eq!(of(quiet), 1, "and the quiet one is not left waiting");
        assert!(
            plan[..2].iter().any(|d| d.workspace == quiet),
            "it is served in the first round"
        );
        let mut endpoints: Vec<Uuid> = plan
            .iter()
            .filter(|d| d.workspace == flooded)
            .map(|d| d.endpoint)
            .collect();
        endpoints.dedup();
        assert_eq!(endpoints.len(), 3, "a workspace's endpoints take turns");
    }

    #[test]
    fn a_slow_endpoint_holds_only_its_own_slots() {
        let slots = Slots::new(caps());
        let (workspace, slow, fast) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let held: Vec<Slot> = (0..2)
            .map(|_| slots.take(due(workspace, slow, 1)).unwrap())
            .collect();
        assert!(
            slots.take(due(workspace, slow, 1)).is_none(),
            "the endpoint is at its cap"
        );
        let plan = slots.plan(&[due(workspace, slow, 50), due(workspace, fast, 1)]);
        assert_eq!(plan, vec![due(workspace, fast, 1)]);
        drop(held);
        assert_eq!(slots.free(), 8, "dropped slots are given back");
        assert_eq!(slots.plan(&[due(workspace, slow, 50)]).len(), 2);
    }

    #[test]
    fn the_workspace_served_longest_ago_goes_first() {
        let slots = Slots::new(Caps { total: 1, ..caps() });
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (hook_a, hook_b) = (Uuid::now_v7(), Uuid::now_v7());
        let listed = [due(a, hook_a, 9), due(b, hook_b, 9)];
        assert_eq!(slots.plan(&listed)[0].workspace, a);
        drop(slots.take(due(a, hook_a, 1)));
        assert_eq!(slots.plan(&listed), vec![due(b, hook_b, 1)], "b's turn now");
        drop(slots.take(due(b, hook_b, 1)));
        assert_eq!(slots.plan(&listed)[0].workspace, a, "and then a's again");
    }

    #[test]
    fn no_more_is_planned_than_is_due_or_free() {
        let slots = Slots::new(caps());
        let (workspace, hook) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(slots.plan(&[due(workspace, hook, 1)]).len(), 1);
        let many: Vec<Due> = (0..10)
            .map(|_| due(Uuid::now_v7(), Uuid::now_v7(), 5))
            .collect();
        assert_eq!(slots.plan(&many).len(), 8, "the instance's cap");
    }
}
