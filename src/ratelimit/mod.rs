//! Rate limits: sign-up, login and every other password check, downloads
//! and exports, each a [`Limit`] under a key of the caller's (an address,
//! an email, a member).
//!
//! - `gcra`: the algorithm (a key holds one timestamp), in this process and
//!   as a Lua script for Redis.
//! - `shared`: Redis as the store the instances share, and the fallback to
//!   this process while Redis fails.
//!
//! Without Redis the timestamps live in this process. With Redis they live
//! there, keyed under the deployment's prefix, and one Lua script reads and
//! moves them using Redis's own clock, so every instance shares one allowance
//! and instance clocks do not matter (tests move it by the injectable clock's
//! offset). Should Redis not answer in time, or refuse writes (full), each
//! instance keeps the limits itself until Redis takes writes again: a limit
//! never lapses, at worst each instance grants its own allowance meanwhile.

mod gcra;
pub mod shared;

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use chrono::TimeDelta;
use redis::aio::ConnectionManager;

use self::{
    gcra::{Mode, SCRIPT_IN_REDIS},
    shared::Shared,
};
use crate::{
    auth::secret,
    clock::Clock,
    error::{AppError, AppResult},
};

/// Beyond this many keys, spent ones are swept on the next hit (and then
/// only once the map has doubled, so a sweep's cost is spread over the
/// keys added since the last).
const SWEEP_ABOVE: usize = 10_000;

/// Most keys kept in this process, live or not (each a hash of 64
/// characters and a timestamp, so about 20 MB in all): many client
/// addresses within one window cannot grow the map past it.
const MOST_KEYS: usize = 200_000;

/// `count` attempts per `per`, in bursts of up to `count`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub count: u32,
    pub per: TimeDelta,
    /// The `limit` label of `atelya_rate_limited_total` when it refuses.
    pub name: &'static str,
}

impl Limit {
    pub fn new(count: u32, per: TimeDelta) -> Limit {
        Limit {
            count,
            per,
            name: "auth",
        }
    }

    /// `count` an hour.
    pub fn per_hour(count: u32) -> Limit {
        Limit::new(count, TimeDelta::hours(1))
    }

    /// The same limit, counted under `name` when it refuses.
    pub fn named(self, name: &'static str) -> Limit {
        Limit { name, ..self }
    }
}

/// A refused attempt: the allowance is spent for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Whole seconds until one more attempt would be allowed (at least 1).
    pub retry_after_secs: i64,
}

impl Refused {
    /// RATE_LIMITED, saying there were too many `what`.
    pub fn error(self, what: &str) -> AppError {
        AppError::RateLimited(format!(
            "too many {what}; try again in {} s",
            self.retry_after_secs
        ))
    }
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> AppError {
        refused.error("attempts")
    }
}

pub struct RateLimiter {
    clock: Clock,
    /// Arrival times kept here: every one without Redis, and while it fails.
    local: Mutex<Cells>,
    shared: Option<Shared>,
}

impl RateLimiter {
    /// Limits kept in this process.
    pub fn in_memory(clock: Clock) -> RateLimiter {
        RateLimiter {
            clock,
            local: Mutex::new(Cells::default()),
            shared: None,
        }
    }

    /// Limits shared by every instance through Redis, under `prefix`.
    pub fn redis(clock: Clock, connection: ConnectionManager, prefix: &str) -> RateLimiter {
        let namespace = format!("{prefix}:ratelimit");
        RateLimiter {
            shared: Some(Shared::new(connection, namespace, "rate_limits")),
            ..RateLimiter::in_memory(clock)
        }
    }

    /// Counts one attempt under `key`; RATE_LIMITED when the allowance is spent.
    pub async fn attempt(&self, key: &str, limit: Limit) -> AppResult<()> {
        Ok(self.take(key, limit).await?)
    }

    /// RATE_LIMITED when one more event under `key` would exceed `limit`;
    /// counts nothing.
    pub async fn ensure_below(&self, key: &str, limit: Limit) -> AppResult<()> {
        Ok(self.peek(key, limit).await?)
    }

    /// Records one event under `key` (a failed password, say).
    pub async fn record(&self, key: &str, limit: Limit) {
        // A refusal here only means the key is already at its limit.
        let _ = self.take(key, limit).await;
    }

    /// Like [`RateLimiter::attempt`], with the wait of a refusal.
    pub async fn take(&self, key: &str, limit: Limit) -> Result<(), Refused> {
        self.check(key, limit, Mode::Take).await
    }

    /// Like [`RateLimiter::ensure_below`], with the wait of a refusal.
    pub async fn peek(&self, key: &str, limit: Limit) -> Result<(), Refused> {
        self.check(key, limit, Mode::Peek).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(mode = ?mode, limit = limit.name))]
    async fn check(&self, key: &str, limit: Limit, mode: Mode) -> Result<(), Refused> {
        let shared = match &self.shared {
            Some(shared) => self.in_redis(shared, key, limit, mode).await,
            None => None,
        };
        let wait_ms = match shared {
            Some(wait) => wait,
            None => self.here(key, limit, mode),
        };
        if wait_ms > 0 {
            crate::telemetry::rate_limited(limit.name);
            return Err(Refused {
                retry_after_secs: (wait_ms + 999) / 1000,
            });
        }
        Ok(())
    }

    /// The wait Redis gives, or `None` when it cannot be relied on now.
    async fn in_redis(&self, shared: &Shared, key: &str, limit: Limit, mode: Mode) -> Option<i64> {
        let (interval, tolerance) = gcra::cell(limit);
        shared
            .invoke(
                SCRIPT_IN_REDIS
                    .key(shared.key(&secret::hash(key)))
                    .arg(interval)
                    .arg(tolerance)
                    .arg(u8::from(mode == Mode::Take))
                    .arg(self.clock.offset().num_milliseconds()),
            )
            .await
    }

    /// The wait by this process's own arrival times.
    fn here(&self, key: &str, limit: Limit, mode: Mode) -> i64 {
        let now = self.clock.now().timestamp_millis();
        let key = secret::hash(key);
        let mut cells = self.local.lock().expect("rate limiter poisoned");
        cells.make_room(now);
        let (wait, tat) = gcra::step(cells.tats.get(&key).copied(), now, limit, mode);
        if let Some(tat) = tat {
            cells.tats.insert(key, tat);
        }
        wait
    }
}

/// The arrival times kept in this process, by key.
#[derive(Default)]
struct Cells {
    tats: HashMap<String, i64>,
    /// The size at which spent keys are swept next.
    sweep_at: usize,
}

impl Cells {
    /// Sweeps spent keys once the map has grown enough, and keeps it
    /// within [`MOST_KEYS`].
    fn make_room(&mut self, now: i64) {
        if self.tats.len() > self.sweep_at.max(SWEEP_ABOVE) {
            self.tats.retain(|_, tat| *tat > now);
            self.sweep_at = self.tats.len() * 2;
        }
        if self.tats.len() >= MOST_KEYS {
            self.drop_lapsing();
        }
    }

    /// Drops the tenth of the keys closest to lapsing: those that hold
    /// back the least (a fresh address's one attempt) go before a lockout
    /// that has minutes to run, so a flood of new keys cannot free a
    /// guessed email.
    fn drop_lapsing(&mut self) {
        let mut lapsing: Vec<i64> = self.tats.values().copied().collect();
        let cut = lapsing.len() / 10;
        let (_, &mut threshold, _) = lapsing.select_nth_unstable(cut);
        self.tats.retain(|_, tat| *tat > threshold);
    }
}

/// The part of a client address that one client controls, for per-address
/// keys: an IPv4 address whole, an IPv6 address by its /64 (one subscriber's
/// network, whose 2^64 addresses would otherwise each get an allowance).
pub fn address(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        _ => client_ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_holds_within_the_window_and_frees_after_it() {
        let clock = Clock::default();
        let limiter = RateLimiter::in_memory(clock.clone());
        let ten_a_minute = Limit::new(10, TimeDelta::minutes(1));
        for _ in 0..10 {
            limiter.attempt("ip", ten_a_minute).await.unwrap();
        }
        assert!(limiter.attempt("ip", ten_a_minute).await.is_err());
        assert!(limiter.attempt("other", ten_a_minute).await.is_ok());
        clock.advance(std::time::Duration::from_secs(6));
        limiter.attempt("ip", ten_a_minute).await.unwrap();
        assert!(limiter.attempt("ip", ten_a_minute).await.is_err());
        clock.advance(std::time::Duration::from_secs(61));
        for _ in 0..10 {
            limiter.attempt("ip", ten_a_minute).await.unwrap();
        }
    }

    #[tokio::test]
    async fn looking_spends_nothing_and_recording_past_the_limit_extends_nothing() {
        let clock = Clock::default();
        let limiter = RateLimiter::in_memory(clock.clone());
        let five = Limit::new(5, TimeDelta::minutes(15));
        for _ in 0..20 {
            limiter.ensure_below("ann", five).await.unwrap();
        }
        for _ in 0..8 {
            limiter.record("ann", five).await;
        }
        let refused = limiter.ensure_below("ann", five).await.unwrap_err();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert!(refused.to_string().contains("180 s"), "{refused}");
        assert_eq!(
            limiter.peek("ann", five).await,
            Err(Refused {
                retry_after_secs: 180
            })
        );
        clock.advance(std::time::Duration::from_secs(180));
        limiter.ensure_below("ann", five).await.unwrap();
    }

    #[tokio::test]
    async fn many_keys_never_grow_the_map_past_its_bound_and_a_lockout_outlives_them() {
        let clock = Clock::default();
        let limiter = RateLimiter::in_memory(clock.clone());
        let five = Limit::new(5, TimeDelta::minutes(15));
        for _ in 0..6 {
            limiter.record("ann@example.com", five).await;
        }
        let one_a_minute = Limit::new(10, TimeDelta::minutes(1));
        for i in 0..MOST_KEYS + MOST_KEYS / 2 {
            limiter
                .attempt(&format!("10.{i}"), one_a_minute)
                .await
                .unwrap();
        }
        assert!(limiter.local.lock().unwrap().tats.len() <= MOST_KEYS);
        assert!(
            limiter.ensure_below("ann@example.com", five).await.is_err(),
            "the lockout was dropped for the flood's keys"
        );
    }

    #[test]
    fn an_ipv6_address_counts_by_its_network_and_an_ipv4_one_whole() {
        assert_eq!(address("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(address("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(address("203.0.113.7"), "203.0.113.7");
        assert_eq!(address("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(address("unknown"), "unknown");
    }
}
