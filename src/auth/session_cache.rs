//! Signed-in members as recently read, so that a burst of requests with one
//! token does not read the member row for each of them.
//!
//! The terms (DESIGN.md): every change still re-checks the caller's role
//! under its row lock; a demotion, removal or ended sign-in applies at once
//! on the instance that made it (the entry is dropped when its transaction
//! commits) and within a second on the others (dropped when the bus brings
//! the change, and in any case no entry is used after [`FRESH_FOR`]); and no
//! cached session outlives its token, whose signature and expiry are checked
//! on every request before the cache is asked.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::Session;

/// How long an entry is used by default: the backstop should a bus message
/// be lost (`ATELYA_SESSION_CACHE_MS`; at most a second, as DESIGN.md allows).
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the stale ones are swept, then all.
const MAX_ENTRIES: usize = 50_000;

/// A sign-in of a user in a workspace.
pub type Key = (Uuid, Uuid, Option<Uuid>);

pub struct SessionCache {
    entries: Mutex<HashMap<Key, (Session, Instant)>>,
    /// Moves on every forget: a read that began before one is not kept.
    generation: AtomicU64,
    /// How long an entry is used; zero turns the cache off.
    fresh_for: Duration,
}

impl Default for SessionCache {
    fn default() -> SessionCache {
        SessionCache::new(FRESH_FOR)
    }
}

impl SessionCache {
    /// Entries used for `fresh_for` (capped at [`FRESH_FOR`]); zero keeps none.
    pub fn new(fresh_for: Duration) -> SessionCache {
        SessionCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            fresh_for: fresh_for.min(FRESH_FOR),
        }
    }

    /// The session read for `key` less than `fresh_for` ago.
    pub fn get(&self, key: &Key) -> Option<Session> {
        let entries = self.entries.lock().expect("session cache");
        let (session, read_at) = entries.get(key)?;
        (read_at.elapsed() < self.fresh_for).then(|| session.clone())
    }

    /// Where the cache stands; take it before reading a session to [`put`](Self::put).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `session`, whose read began at `read_at` when the cache stood at
    /// `generation`, unless access changed since: a change that committed
    /// during the read must not be hidden by what the read found.
    pub fn put(&self, key: Key, session: Session, read_at: Instant, generation: u64) {
        if self.fresh_for.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("session cache");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            let fresh_for = self.fresh_for;
            entries.retain(|_, (_, at)| at.elapsed() < fresh_for);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (session, read_at));
    }

    /// Drops every sign-in of `user` in `workspace`: their access changed.
    pub fn forget(&self, workspace: Uuid, user: Uuid) {
        let mut entries = self.entries.lock().expect("session cache");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|(u, w, _), _| !(*u == user && *w == workspace));
    }

    /// Drops everything (access changes may have been missed).
    pub fn clear(&self) {
        let mut entries = self.entries.lock().expect("session cache");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let now = chrono::Utc::now();
        let user = entity::user::Model {
            id: Uuid::now_v7(),
            email: "ann@example.com".into(),
            name: "Ann".into(),
            password_hash: String::new(),
            created_at: now,
        };
        let member = entity::member::Model {
            id: Uuid::now_v7(),
            workspace_id: Uuid::now_v7(),
            user_id: user.id,
            role: crate::member::Role::Member,
            joined_at: now,
        };
        Session {
            role: crate::member::Role::Member,
            workspace_id: member.workspace_id,
            token_expires_at: now,
            api_key: None,
            sign_in: None,
            user,
            member,
        }
    }

    #[test]
    fn an_entry_serves_until_forgotten_or_stale() {
        let cache = SessionCache::default();
        let s = session();
        let key = (s.user.id, s.workspace_id, None);
        cache.put(key, s.clone(), Instant::now(), cache.generation());
        assert!(cache.get(&key).is_some());
        cache.forget(s.workspace_id, s.user.id);
        assert!(cache.get(&key).is_none());
        cache.put(
            key,
            s.clone(),
            Instant::now() - FRESH_FOR,
            cache.generation(),
        );
        assert!(
            cache.get(&key).is_none(),
            "no entry is used after FRESH_FOR"
        );
    }

    #[test]
    fn a_read_that_overlapped_a_change_is_not_kept() {
        let cache = SessionCache::default();
        let s = session();
        let key = (s.user.id, s.workspace_id, None);
        let before = cache.generation();
        cache.forget(s.workspace_id, s.user.id);
        cache.put(key, s, Instant::now(), before);
        assert!(cache.get(&key).is_none());
    }
}
