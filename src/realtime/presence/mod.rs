//! Presence: who is watching a workroom now.
//!
//! A watcher is a user with an open `workroomEvents` subscription on the
//! workroom. Each instance counts its own watchers ([`Presence::watch`]
//! returns a guard; dropping it, as a closing socket does, ends the watch).
//! Without Redis that count is the whole truth. With Redis each instance
//! keeps an entry per (instance, user) in a sorted set per workroom, scored
//! by its expiry on Redis's own clock and refreshed every [`HEARTBEAT`]: the
//! entries of an instance that died expire within [`TTL`], and instances
//! whose clients follow the watcher list prune them and announce the change.
//! Every change is announced on the workroom's topic as `Message::Watchers`.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use uuid::Uuid;

use self::{
    shared::{worker, Op, Shared, OPS_QUEUE},
    store::Store,
};
use super::{Bus, Message, Topic};

mod shared;
mod store;
#[cfg(test)]
mod tests;

/// How often this instance refreshes its entries in Redis.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long an entry lives without a heartbeat.
pub const TTL: Duration = Duration::from_secs(6);

#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    /// Workroom → user → this instance's open watches.
    local: Mutex<HashMap<Uuid, HashMap<Uuid, usize>>>,
    bus: Bus,
    shared: Option<Shared>,
}

impl Presence {
    /// Presence kept in this process only (the embedded default).
    pub fn in_memory(bus: Bus) -> Presence {
        Presence {
            inner: Arc::new(Inner {
                local: Default::default(),
                bus,
                shared: None,
            }),
        }
    }

    /// Presence shared between instances through Redis.
    pub fn redis(
        bus: Bus,
        connection: ConnectionManager,
        prefix: &str,
        instance: &str,
    ) -> Presence {
        let (ops, ops_rx) = mpsc::channel(OPS_QUEUE);
        let inner = Arc::new(Inner {
            local: Default::default(),
            bus: bus.clone(),
            shared: Some(Shared {
                ops,
                store: Store {
                    connection,
                    prefix: prefix.to_owned(),
                    instance: instance.to_owned(),
                },
                worker: Mutex::new(None),
            }),
        });
        let shared = inner.shared.as_ref().expect("shared presence");
        let worker = tokio::spawn(worker(
            Arc::downgrade(&inner),
            shared.store.clone(),
            bus,
            ops_rx,
        ));
        *shared.worker.lock().expect("presence worker") = Some(worker);
        Presence { inner }
    }

    /// Whether presence is shared between instances (and so may hold entries that expire).
    pub fn is_shared(&self) -> bool {
        self.inner.shared.is_some()
    }

    /// `user` starts watching `workroom`; the watch lasts as long as the guard.
    pub fn watch(&self, workroom: Uuid, user: Uuid) -> Watching {
        let first = {
            let mut local = self.inner.local.lock().expect("presence lock");
            let count = local.entry(workroom).or_default().entry(user).or_default();
            *count += 1;
            *count == 1
        };
        if first {
            self.inner.changed(Op::Join(workroom, user));
        }
        Watching {
            inner: self.inner.clone(),
            workroom,
            user,
        }
    }

    /// The users watching `workroom` now, on every instance, in a stable order.
    pub async fn watchers(&self, workroom: Uuid) -> Vec<Uuid> {
        if let Some(shared) = &self.inner.shared {
            match shared.store.list(workroom).await {
                Ok(users) => return users,
                Err(err) => {
                    tracing::warn!(error = %err, "reading watchers from Redis failed; answering with this instance's")
                }
            }
        }
        self.inner.local_watchers(workroom)
    }

    /// Drops entries that expired (an instance died) and announces the change.
    pub async fn prune(&self, workroom: Uuid) {
        let Some(shared) = &self.inner.shared else {
            return;
        };
        match shared.store.prune(workroom).await {
            Ok(0) => {}
            Ok(_) => self
                .inner
                .bus
                .publish(Topic::Workroom(workroom), Message::Watchers),
            Err(err) => tracing::warn!(error = %err, "pruning watchers in Redis failed"),
        }
    }

    /// Waits until every join and leave so far reached Redis, or `within` passed (shutdown).
    pub async fn flush(&self, within: Duration) {
        if let Some(shared) = &self.inner.shared {
            let (ack, done) = tokio::sync::oneshot::channel();
            let _ = tokio::time::timeout(within, async {
                if shared.ops.send(Op::Flush(ack)).await.is_ok() {
                    let _ = done.await;
                }
            })
            .await;
        }
    }
}

impl Inner {
    fn changed(&self, op: Op) {
        match &self.shared {
            // The worker announces the change once Redis has it.
            Some(shared) => {
                // Said once per stretch of drops, not once per drop.
                static DROPPING: AtomicBool = AtomicBool::new(false);
                match shared.ops.try_send(op) {
                    Ok(()) => DROPPING.store(false, Ordering::Relaxed),
                    Err(_) if !DROPPING.swap(true, Ordering::Relaxed) => tracing::warn!(
                        "presence changes queue up for Redis: dropping them (the heartbeat or the entries' expiry repairs them)"
                    ),
                    Err(_) => {}
                }
            }
            None => {
                if let Op::Join(workroom, _) | Op::Leave(workroom, _) = op {
                    self.bus
                        .publish(Topic::Workroom(workroom), Message::Watchers);
                }
            }
        }
    }

    fn local_watchers(&self, workroom: Uuid) -> Vec<Uuid> {
        let local = self.local.lock().expect("presence lock");
        let mut users: Vec<Uuid> = local
            .get(&workroom)
            .map(|users| users.keys().copied().collect())
            .unwrap_or_default();
        users.sort();
        users
    }

    fn leave(&self, workroom: Uuid, user: Uuid) {
        let last = {
            let mut local = self.local.lock().expect("presence lock");
            let Some(users) = local.get_mut(&workroom) else {
                return;
            };
            let count = users.entry(user).or_default();
            *count = count.saturating_sub(1);
            let last = *count == 0;
            if last {
                users.remove(&user);
                if users.is_empty() {
                    local.remove(&workroom);
                }
            }
            last
        };
        if last {
            self.changed(Op::Leave(workroom, user));
        }
    }

    /// Every (workroom, user) watched on this instance.
    fn entries(&self) -> Vec<(Uuid, Vec<Uuid>)> {
        let local = self.local.lock().expect("presence lock");
        local
            .iter()
            .map(|(workroom, users)| (*workroom, users.keys().copied().collect()))
            .collect()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(worker) = self
            .shared
            .as_ref()
            .and_then(|s| s.worker.lock().ok()?.take())
        {
            worker.abort();
        }
    }
}

/// One user's watch of one workroom on this instance.
pub struct Watching {
    inner: Arc<Inner>,
    workroom: Uuid,
    user: Uuid,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.inner.leave(self.workroom, self.user);
    }
}
