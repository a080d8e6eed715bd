//! Rate limits for sign-up, login and every other password check.
//!
//! Each limit is a GCRA (generic cell rate algorithm): a key holds one
//! timestamp, its theoretical arrival time, and `count` per `per` means one
//! attempt every `per / count` with bursts of up to `count`. Refused attempts
//! are not counted.
//!
//! Without Redis the timestamps live in this process. With Redis they live
//! there, keyed under the deployment's prefix, and one Lua script reads and
//! moves them using Redis's own clock, so every instance shares one allowance
//! and instance clocks do not matter (tests move it by the injectable clock's
//! offset). If Redis cannot be reached the attempt is let through (and
//! logged): a cache outage must not lock every user out.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
};

use chrono::TimeDelta;
use redis::aio::ConnectionManager;

use crate::{
    auth::secret,
    clock::Clock,
    error::{AppError, AppResult},
};

/// Beyond this many keys, spent ones are swept on the next hit.
const SWEEP_ABOVE: usize = 10_000;

/// `count` attempts per `per`, in bursts of up to `count`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub count: u32,
    pub per: TimeDelta,
}

impl Limit {
    pub fn new(count: u32, per: TimeDelta) -> Limit {
        Limit { count, per }
    }

    /// Milliseconds between attempts at the steady rate, and the burst tolerance.
    fn cell(self) -> (i64, i64) {
        let per = self.per.num_milliseconds().max(1);
        ((per / i64::from(self.count.max(1))).max(1), per)
    }
}

/// Whether an attempt spends from the allowance or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Take,
    Peek,
}

pub struct RateLimiter {
    clock: Clock,
    store: Store,
}

enum Store {
    Memory(Mutex<HashMap<String, i64>>),
    Redis {
        connection: ConnectionManager,
        prefix: String,
    },
}

impl RateLimiter {
    /// Limits kept in this process.
    pub fn in_memory(clock: Clock) -> RateLimiter {
        RateLimiter {
            clock,
            store: Store::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// Limits shared by every instance through Redis, under `prefix`.
    pub fn redis(clock: Clock, connection: ConnectionManager, prefix: &str) -> RateLimiter {
        RateLimiter {
            clock,
            store: Store::Redis {
                connection,
                prefix: prefix.to_owned(),
            },
        }
    }

    /// Counts one attempt under `key`; RATE_LIMITED when the allowance is spent.
    pub async fn attempt(&self, key: &str, limit: Limit) -> AppResult<()> {
        self.check(key, limit, Mode::Take).await
    }

    /// RATE_LIMITED when one more event under `key` would exceed `limit`;
    /// counts nothing.
    pub async fn ensure_below(&self, key: &str, limit: Limit) -> AppResult<()> {
        self.check(key, limit, Mode::Peek).await
    }

    /// Records one event under `key` (a failed password, say).
    pub async fn record(&self, key: &str, limit: Limit) {
        // A refusal here only means the key is already at its limit.
        let _ = self.check(key, limit, Mode::Take).await;
    }

    #[tracing::instrument(level = "debug", skip_all, fields(mode = ?mode))]
    async fn check(&self, key: &str, limit: Limit, mode: Mode) -> AppResult<()> {
        let wait_ms = match &self.store {
            Store::Memory(cells) => {
                let now = self.clock.now().timestamp_millis();
                let mut cells = cells.lock().expect("rate limiter poisoned");
                if cells.len() > SWEEP_ABOVE {
                    cells.retain(|_, tat| *tat > now);
                }
                let (wait, tat) = gcra(cells.get(key).copied(), now, limit, mode);
                if let Some(tat) = tat {
                    cells.insert(key.to_owned(), tat);
                }
                wait
            }
            Store::Redis { connection, prefix } => {
                let (interval, tolerance) = limit.cell();
                let result: redis::RedisResult<i64> = GCRA
                    .key(format!("{prefix}:ratelimit:{}", secret::hash(key)))
                    .arg(interval)
                    .arg(tolerance)
                    .arg(u8::from(mode == Mode::Take))
                    .arg(self.clock.offset().num_milliseconds())
                    .invoke_async(&mut connection.clone())
                    .await;
                match result {
                    Ok(wait) => wait,
                    Err(err) => {
                        tracing::warn!(error = %err, "rate limit unavailable (Redis); letting the attempt through");
                        0
                    }
                }
            }
        };
        if wait_ms > 0 {
            crate::telemetry::rate_limited("auth");
            let seconds = (wait_ms + 999) / 1000;
            return Err(AppError::RateLimited(format!(
                "too many attempts; try again in {seconds} s"
            )));
        }
        Ok(())
    }
}

/// The GCRA step: from a key's arrival time (if any) at `now`, the
/// milliseconds to wait (0 when allowed) and the arrival time to store.
fn gcra(tat: Option<i64>, now: i64, limit: Limit, mode: Mode) -> (i64, Option<i64>) {
    let (interval, tolerance) = limit.cell();
    let next = tat.unwrap_or(now).max(now) + interval;
    if next - now > tolerance {
        return (next - tolerance - now, None);
    }
    (0, (mode == Mode::Take).then_some(next))
}

/// [`GCRA_SCRIPT`], built (and hashed) once: EVALSHA then sends only its digest.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA_SCRIPT));

/// [`gcra`] in Redis, on Redis's clock: KEYS[1] the key; ARGV the interval
/// and tolerance in milliseconds, 1 to take, and the injectable clock's
/// offset in milliseconds (0 outside tests). Returns the wait in ms.
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[4])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next = tat + interval
if next - now > tolerance then
  return next - tolerance - now
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', next - now)
end
return 0
";

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
        clock.advance(std::time::Duration::from_secs(180));
        limiter.ensure_below("ann", five).await.unwrap();
    }

    #[test]
    fn a_burst_of_count_is_allowed_then_one_per_interval() {
        let limit = Limit::new(4, TimeDelta::seconds(4));
        let mut tat = None;
        for _ in 0..4 {
            let (wait, next) = gcra(tat, 0, limit, Mode::Take);
            assert_eq!(wait, 0);
            tat = next;
        }
        assert_eq!(gcra(tat, 0, limit, Mode::Take), (1_000, None));
        assert_eq!(gcra(tat, 999, limit, Mode::Take).0, 1);
        assert_eq!(gcra(tat, 1_000, limit, Mode::Take), (0, Some(5_000)));
        assert_eq!(gcra(tat, 1_000, limit, Mode::Peek), (0, None));
    }
}
