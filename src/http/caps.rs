//! Caps on what one key holds open at once: live connections per user and
//! per client address, and (for `serve`) HTTP connections per address.
//!
//! - [`Counts`]: how many are open under each key. [`Counts::admit`] hands
//!   out a [`Held`] place, given back when it is dropped: however the
//!   connection ends (either side closed it, its token expired, the server
//!   shut down, its task panicked or was aborted) its place goes with it.
//! - [`LiveCaps`]: websockets (`ATELYA_WS_MAX_PER_USER`,
//!   `ATELYA_WS_MAX_PER_ADDRESS`) and event streams
//!   (`ATELYA_SSE_MAX_PER_USER`, `ATELYA_SSE_MAX_PER_ADDRESS`). A user is
//!   the session's principal: an API key counts on its own, not on its
//!   creator's share. The address is the one the signup limits use
//!   (`http::client_ip`, X-Forwarded-For only behind a trusted proxy).
//!
//! The counts are this instance's own: behind a load balancer a client may
//! hold up to the cap on each instance. That bounds what one client costs
//! an instance, which is what the caps are for, without a shared store on
//! the path of every connection.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::SocketSettings;

/// How many are open under each key.
pub struct Counts<K: Hash + Eq> {
    open: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq> Default for Counts<K> {
    fn default() -> Self {
        Counts {
            open: Mutex::new(HashMap::new()),
        }
    }
}

/// One place under a key, counted until dropped.
pub struct Held<K: Hash + Eq> {
    of: Arc<Counts<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    /// A place under `key`, unless `max` are open under it already.
    pub fn admit(self: &Arc<Self>, key: K, max: usize) -> Option<Held<K>> {
        let mut open = self.open.lock().expect("open counts");
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        drop(open);
        Some(Held {
            of: self.clone(),
            key,
        })
    }

    /// How many are open under `key`.
    pub fn open(&self, key: &K) -> usize {
        let open = self.open.lock().expect("open counts");
        open.get(key).copied().unwrap_or(0)
    }

    /// How many keys hold a place (a key whose last place went is forgotten).
    pub fn keys(&self) -> usize {
        self.open.lock().expect("open counts").len()
    }
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        // Never panics in a drop: a poisoned lock still holds good counts.
        let mut open = self.of.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A kind of live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Websocket,
    Stream,
}

/// The caps of one kind of live connection, and what is open under them.
struct Caps {
    per_user: usize,
    per_address: usize,
    by_user: Arc<Counts<Uuid>>,
    by_address: Arc<Counts<String>>,
}

impl Caps {
    fn new(per_user: usize, per_address: usize) -> Caps {
        Caps {
            per_user,
            per_address,
            by_user: Default::default(),
            by_address: Default::default(),
        }
    }
}

/// The live connections this instance holds, per user and per client address.
pub struct LiveCaps {
    websockets: Caps,
    streams: Caps,
}

/// A place under a cap, or none when the cap is off.
pub type Place<K> = Option<Held<K>>;

impl LiveCaps {
    pub fn new(settings: &SocketSettings) -> LiveCaps {
        LiveCaps {
            websockets: Caps::new(settings.ws_max_per_user, settings.ws_max_per_address),
            streams: Caps::new(settings.sse_max_per_user, settings.sse_max_per_address),
        }
    }

    fn of(&self, kind: Live) -> &Caps {
        match kind {
            Live::Websocket => &self.websockets,
            Live::Stream => &self.streams,
        }
    }

    /// A place for one more connection of `kind` from `address`.
    pub fn admit_address(&self, kind: Live, address: &str) -> Result<Place<String>, Refused> {
        let caps = self.of(kind);
        admit(&caps.by_address, address.to_owned(), caps.per_address).ok_or(Refused {
            kind,
            per: Per::Address,
            max: caps.per_address,
        })
    }

    /// A place for one more connection of `kind` of the user (or API key) `principal`.
    pub fn admit_user(&self, kind: Live, principal: Uuid) -> Result<Place<Uuid>, Refused> {
        let caps = self.of(kind);
        admit(&caps.by_user, principal, caps.per_user).ok_or(Refused {
            kind,
            per: Per::User,
            max: caps.per_user,
        })
    }

    /// How many connections of `kind` `address` holds open now.
    pub fn open_from(&self, kind: Live, address: &str) -> usize {
        self.of(kind).by_address.open(&address.to_owned())
    }

    /// How many connections of `kind` `principal` holds open now.
    pub fn open_of(&self, kind: Live, principal: Uuid) -> usize {
        self.of(kind).by_user.open(&principal)
    }
}

/// `Some(None)` when the cap is off (0): nothing to count.
fn admit<K: Hash + Eq + Clone>(counts: &Arc<Counts<K>>, key: K, max: usize) -> Option<Place<K>> {
    if max == 0 {
        return Some(None);
    }
    counts.admit(key, max).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Per {
    User,
    Address,
}

/// One connection more than a cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    kind: Live,
    per: Per,
    max: usize,
}

impl Refused {
    /// What the client is told.
    pub fn message(&self) -> String {
        let what = match self.kind {
            Live::Websocket => "websockets",
            Live::Stream => "event streams",
        };
        let of = match self.per {
            Per::User => "this user",
            Per::Address => "this client address",
        };
        format!("too many {what} open for {of} (at most {})", self.max)
    }

    /// The GraphQL error the client is told, with the code RATE_LIMITED.
    pub fn error(&self) -> Value {
        json!({ "message": self.message(), "extensions": { "code": "RATE_LIMITED" } })
    }

    /// The `limit` label of `atelya_rate_limited_total`.
    pub fn limit(&self) -> &'static str {
        match (self.kind, self.per) {
            (Live::Websocket, Per::User) => "websockets_per_user",
            (Live::Websocket, Per::Address) => "websockets_per_address",
            (Live::Stream, Per::User) => "streams_per_user",
            (Live::Stream, Per::Address) => "streams_per_address",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_user: usize, per_address: usize) -> SocketSettings {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            sockets: SocketSettings,
        }
        let mut sockets = Cli::parse_from(["atelya"]).sockets;
        (sockets.ws_max_per_user, sockets.ws_max_per_address) = (per_user, per_address);
        (sockets.sse_max_per_user, sockets.sse_max_per_address) = (per_user, per_address);
        sockets
    }

    #[test]
    fn a_key_holds_at_most_its_share_and_frees_it_when_done() {
        let counts = Arc::new(Counts::default());
        let first = counts.admit("a", 2).unwrap();
        let _second = counts.admit("a", 2).unwrap();
        assert!(counts.admit("a", 2).is_none());
        assert!(counts.admit("b", 2).is_some());
        assert_eq!(counts.keys(), 1, "b's count went with its place");
        drop(first);
        assert_eq!(counts.open(&"a"), 1);
        assert!(counts.admit("a", 2).is_some());
    }

    #[test]
    fn a_place_is_given_back_when_its_task_panics() {
        let counts = Arc::new(Counts::default());
        let held = counts.admit(1, 1).unwrap();
        let panicked = std::thread::spawn(move || {
            let _held = held;
            panic!("the connection's task failed");
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(counts.open(&1), 0);
    }

    #[test]
    fn websockets_and_streams_are_counted_apart_and_zero_is_no_cap() {
        let caps = LiveCaps::new(&settings(1, 1));
        let user = Uuid::now_v7();
        let _socket = caps.admit_user(Live::Websocket, user).unwrap();
        let refused = caps.admit_user(Live::Websocket, user).err().unwrap();
        assert_eq!(refused.limit(), "websockets_per_user");
        assert_eq!(refused.error()["extensions"]["code"], "RATE_LIMITED");
        assert!(caps.admit_user(Live::Stream, user).is_ok());
        let _from = caps.admit_address(Live::Stream, "192.0.2.1").unwrap();
        assert_eq!(
            caps.admit_address(Live::Stream, "192.0.2.1")
                .err()
                .unwrap()
                .message(),
            "too many event streams open for this client address (at most 1)"
        );

        let open = LiveCaps::new(&settings(0, 0));
        let places: Vec<_> = (0..10)
            .map(|_| open.admit_user(Live::Websocket, user).unwrap())
            .collect();
        assert!(places.iter().all(Option::is_none));
    }
}
