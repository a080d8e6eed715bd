//! The open sockets of this instance, so that what happens elsewhere reaches them:
//! - a token's expiry: one ticker for the whole instance checks the
//!   injectable clock every [`TICK`] and signals sockets whose token expired;
//! - an access change (a member removed or re-roled, a sign-in ended), from
//!   any instance through the control topic: the member's sockets check
//!   their access again;
//! - a resynchronisation (the bus may have lost such messages): every socket
//!   checks again, spread over a second;
//! - shutdown: every socket closes with 1001.
//!
//! No socket polls the database: it reads only when told something changed.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::Clock;

/// How often the instance looks for expired tokens.
pub const TICK: Duration = Duration::from_millis(250);

/// What a socket is told; several may be pending at once.
pub mod flag {
    /// The token expired.
    pub const EXPIRED: u8 = 1;
    /// The member's access changed: check it now.
    pub const RECHECK: u8 = 2;
    /// Messages may have been lost: check access within a second.
    pub const RECHECK_SOON: u8 = 4;
    /// The server is shutting down.
    pub const SHUTDOWN: u8 = 8;
}

/// One socket's mailbox.
#[derive(Default)]
pub struct Signals {
    flags: AtomicU8,
    notify: Notify,
}

impl Signals {
    fn raise(&self, flag: u8) {
        self.flags.fetch_or(flag, Ordering::AcqRel);
        self.notify.notify_one();
    }

    /// Waits for signals and takes them all.
    pub async fn wait(&self) -> u8 {
        loop {
            let flags = self.flags.swap(0, Ordering::AcqRel);
            if flags != 0 {
                return flags;
            }
            self.notify.notified().await;
        }
    }
}

struct Entry {
    member: (Uuid, Uuid),
    expires_at: DateTime<Utc>,
    signals: Arc<Signals>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    sockets: HashMap<u64, Entry>,
    /// (workspace, user) → sockets.
    by_member: HashMap<(Uuid, Uuid), HashSet<u64>>,
    expiries: BTreeSet<(DateTime<Utc>, u64)>,
}

pub struct Sockets {
    registry: Mutex<Registry>,
    clock: Clock,
    /// Set at shutdown: a socket that signs in afterwards is told at once.
    closing: std::sync::atomic::AtomicBool,
    /// Tells `closed` that a socket went away.
    left: Notify,
}

impl Sockets {
    pub fn new(clock: Clock) -> Arc<Sockets> {
        Arc::new(Sockets {
            registry: Default::default(),
            clock,
            closing: Default::default(),
            left: Notify::new(),
        })
    }

    /// Registers a signed-in socket of `user` in `workspace` whose token expires at `expires_at`.
    pub fn register(
        self: &Arc<Self>,
        workspace: Uuid,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Registration {
        let signals = Arc::new(Signals::default());
        let mut registry = self.registry.lock().expect("sockets lock");
        registry.next += 1;
        let id = registry.next;
        registry.sockets.insert(
            id,
            Entry {
                member: (workspace, user),
                expires_at,
                signals: signals.clone(),
            },
        );
        registry
            .by_member
            .entry((workspace, user))
            .or_default()
            .insert(id);
        registry.expiries.insert((expires_at, id));
        if self.closing.load(Ordering::Acquire) {
            signals.raise(flag::SHUTDOWN);
        }
        Registration {
            id,
            sockets: self.clone(),
            signals,
        }
    }

    fn unregister(&self, id: u64) {
        let mut registry = self.registry.lock().expect("sockets lock");
        if let Some(entry) = registry.sockets.remove(&id) {
            registry.expiries.remove(&(entry.expires_at, id));
            if let Some(ids) = registry.by_member.get_mut(&entry.member) {
                ids.remove(&id);
                if ids.is_empty() {
                    registry.by_member.remove(&entry.member);
                }
            }
        }
        drop(registry);
        self.left.notify_waiters();
    }

    /// Signals `user`'s sockets in `workspace`.
    pub fn signal_member(&self, workspace: Uuid, user: Uuid, flag: u8) {
        let registry = self.registry.lock().expect("sockets lock");
        for id in registry
            .by_member
            .get(&(workspace, user))
            .into_iter()
            .flatten()
        {
            if let Some(entry) = registry.sockets.get(id) {
                entry.signals.raise(flag);
            }
        }
    }

    /// Closes every socket, and every one that signs in from now on (shutdown).
    pub fn shut_down(&self) {
        self.closing.store(true, Ordering::Release);
        self.signal_all(flag::SHUTDOWN);
    }

    /// Signals every socket.
    pub fn signal_all(&self, flag: u8) {
        let registry = self.registry.lock().expect("sockets lock");
        for entry in registry.sockets.values() {
            entry.signals.raise(flag);
        }
    }

    /// Signals the sockets whose token expired by now.
    pub fn expire(&self) {
        let now = self.clock.now();
        let mut registry = self.registry.lock().expect("sockets lock");
        while let Some(&(at, id)) = registry.expiries.first() {
            if at > now {
                break;
            }
            registry.expiries.pop_first();
            if let Some(entry) = registry.sockets.get(&id) {
                entry.signals.raise(flag::EXPIRED);
            }
        }
    }

    /// Signals expired tokens every [`TICK`], until the process stops.
    pub async fn watch_expiry(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.expire();
        }
    }

    pub fn count(&self) -> usize {
        self.registry.lock().expect("sockets lock").sockets.len()
    }

    /// Waits until every socket closed, or `within` passed.
    pub async fn closed(&self, within: Duration) {
        let _ = tokio::time::timeout(within, async {
            loop {
                let left = self.left.notified();
                if self.count() == 0 {
                    return;
                }
                left.await;
            }
        })
        .await;
    }
}

/// A socket's place in the registry; dropping it unregisters the socket.
pub struct Registration {
    id: u64,
    sockets: Arc<Sockets>,
    pub signals: Arc<Signals>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sockets.unregister(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn flags(signals: &Signals) -> u8 {
        tokio::time::timeout(Duration::from_millis(100), signals.wait())
            .await
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_member_is_signalled_on_every_socket_and_nobody_else() {
        let sockets = Sockets::new(Clock::default());
        let (ws, ann, bob) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let later = Utc::now() + chrono::TimeDelta::hours(1);
        let (a1, a2, b) = (
            sockets.register(ws, ann, later),
            sockets.register(ws, ann, later),
            sockets.register(ws, bob, later),
        );
        sockets.signal_member(ws, ann, flag::RECHECK);
        assert_eq!(flags(&a1.signals).await, flag::RECHECK);
        assert_eq!(flags(&a2.signals).await, flag::RECHECK);
        assert_eq!(flags(&b.signals).await, 0);
        drop((a1, a2, b));
        assert_eq!(sockets.count(), 0);
    }

    #[tokio::test]
    async fn a_socket_is_told_once_its_token_expired() {
        let clock = Clock::default();
        let sockets = Sockets::new(clock.clone());
        let soon = clock.now() + chrono::TimeDelta::seconds(60);
        let socket = sockets.register(Uuid::now_v7(), Uuid::now_v7(), soon);
        sockets.expire();
        assert_eq!(flags(&socket.signals).await, 0);
        clock.advance(Duration::from_secs(60));
        sockets.expire();
        assert_eq!(flags(&socket.signals).await, flag::EXPIRED);
    }
}
