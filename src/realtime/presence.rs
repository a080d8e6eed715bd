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
    sync::LazyLock,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use redis::{aio::ConnectionManager, Script};
use tokio::{sync::mpsc, task::JoinHandle};
use uuid::Uuid;

use super::{Bus, Message, Topic};

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
        let (ops, ops_rx) = mpsc::unbounded_channel();
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
            if shared.ops.send(Op::Flush(ack)).is_ok() {
                let _ = tokio::time::timeout(within, done).await;
            }
        }
    }
}

impl Inner {
    fn changed(&self, op: Op) {
        match &self.shared {
            // The worker announces the change once Redis has it.
            Some(shared) => {
                let _ = shared.ops.send(op);
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

enum Op {
    Join(Uuid, Uuid),
    Leave(Uuid, Uuid),
    Flush(tokio::sync::oneshot::Sender<()>),
}

struct Shared {
    ops: mpsc::UnboundedSender<Op>,
    store: Store,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// Applies joins and leaves to Redis in the order they happened, and refreshes this instance's entries.
async fn worker(inner: Weak<Inner>, store: Store, bus: Bus, mut ops: mpsc::UnboundedReceiver<Op>) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            op = ops.recv() => match op {
                None => return,
                Some(Op::Join(workroom, user)) => {
                    if let Err(err) = store.join(&[(workroom, vec![user])]).await {
                        // The next heartbeat adds it.
                        tracing::warn!(error = %err, "recording a watcher in Redis failed");
                    }
                    bus.publish(Topic::Workroom(workroom), Message::Watchers);
                }
                Some(Op::Leave(workroom, user)) => {
                    if let Err(err) = store.leave(workroom, user).await {
                        // The entry expires on its own.
                        tracing::warn!(error = %err, "removing a watcher from Redis failed");
                    }
                    bus.publish(Topic::Workroom(workroom), Message::Watchers);
                }
                Some(Op::Flush(ack)) => {
                    let _ = ack.send(());
                }
            },
            _ = heartbeat.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                let entries = inner.entries();
                match store.join(&entries).await {
                    // Entries that were missing (Redis restarted, or they expired) are news.
                    Ok(added) => {
                        for ((workroom, _), added) in entries.iter().zip(added) {
                            if added > 0 {
                                bus.publish(Topic::Workroom(*workroom), Message::Watchers);
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "refreshing watchers in Redis failed"),
                }
            }
        }
    }
}

/// The sorted sets in Redis.
#[derive(Clone)]
struct Store {
    connection: ConnectionManager,
    prefix: String,
    instance: String,
}

/// Milliseconds on Redis's clock, so instances' clocks do not matter.
const NOW_MS: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) ";

// The scripts, built (and hashed) once: EVALSHA then sends only their digest.
static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
            "{NOW_MS} local ttl = tonumber(ARGV[1]) local i = 2 local added = {{}} \
             for k = 1, #KEYS do \
               local n = tonumber(ARGV[i]) i = i + 1 local new = 0 \
               for j = 1, n do new = new + redis.call('ZADD', KEYS[k], now + ttl, ARGV[i]) i = i + 1 end \
               redis.call('PEXPIRE', KEYS[k], 2 * ttl) added[k] = new \
             end return added"
    ))
});
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW_MS} return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')"
    ))
});
static PRUNE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW_MS} return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)"
    ))
});

impl Store {
    fn key(&self, workroom: Uuid) -> String {
        format!("{}:watchers:{}", self.prefix, workroom.simple())
    }

    fn member(&self, user: Uuid) -> String {
        format!("{}/{}", self.instance, user.simple())
    }

    /// Adds or refreshes this instance's entries of several workrooms in one
    /// round trip; returns how many entries of each were new.
    async fn join(&self, entries: &[(Uuid, Vec<Uuid>)]) -> redis::RedisResult<Vec<u64>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = JOIN.prepare_invoke();
        invocation.arg(TTL.as_millis() as u64);
        for (workroom, users) in entries {
            invocation.key(self.key(*workroom)).arg(users.len());
            for user in users {
                invocation.arg(self.member(*user));
            }
        }
        invocation.invoke_async(&mut self.connection.clone()).await
    }

    async fn leave(&self, workroom: Uuid, user: Uuid) -> redis::RedisResult<()> {
        redis::cmd("ZREM")
            .arg(self.key(workroom))
            .arg(self.member(user))
            .query_async::<()>(&mut self.connection.clone())
            .await
    }

    async fn list(&self, workroom: Uuid) -> redis::RedisResult<Vec<Uuid>> {
        let members: Vec<String> = LIST
            .key(self.key(workroom))
            .invoke_async(&mut self.connection.clone())
            .await?;
        let mut users: Vec<Uuid> = members
            .iter()
            .filter_map(|m| m.rsplit_once('/'))
            .filter_map(|(_, user)| Uuid::try_parse(user).ok())
            .collect();
        users.sort();
        users.dedup();
        Ok(users)
    }

    async fn prune(&self, workroom: Uuid) -> redis::RedisResult<u64> {
        PRUNE
            .key(self.key(workroom))
            .invoke_async(&mut self.connection.clone())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_user_watches_until_their_last_watch_ends() {
        let presence = Presence::in_memory(Bus::in_process());
        let (room, ann, bob) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let first = presence.watch(room, ann);
        let second = presence.watch(room, ann);
        let other = presence.watch(room, bob);
        let mut both = vec![ann, bob];
        both.sort();
        assert_eq!(presence.watchers(room).await, both);
        drop(first);
        assert_eq!(
            presence.watchers(room).await,
            both,
            "ann still has a tab open"
        );
        drop(second);
        assert_eq!(presence.watchers(room).await, vec![bob]);
        drop(other);
        assert!(presence.watchers(room).await.is_empty());
        assert!(presence.inner.local.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn joining_and_leaving_is_announced_on_the_workroom_topic() {
        let bus = Bus::in_process();
        let presence = Presence::in_memory(bus.clone());
        let room = Uuid::now_v7();
        let mut sub = bus.subscribe(Topic::Workroom(room)).await;
        let watch = presence.watch(room, Uuid::now_v7());
        drop(watch);
        for _ in 0..2 {
            let signal = tokio::time::timeout(Duration::from_secs(1), sub.recv())
                .await
                .unwrap();
            assert!(matches!(signal, super::super::Signal::Message(m) if *m == Message::Watchers));
        }
    }
}
