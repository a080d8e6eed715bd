//! Redis as the store the instances share for rate limits and cost budgets,
//! and when to stop relying on it.
//!
//! A limit must hold while Redis is away: a limit that let everything
//! through whenever Redis failed would make password guessing unlimited
//! for as long as the cache is down (or full). So every call here is
//! bounded by [`ANSWER_WITHIN`], and any failure (no connection, no answer
//! in time, an error such as OOM from a full Redis refusing writes) gives
//! `None`: the caller then decides with its in-process store, as it does
//! without Redis at all.
//!
//! Once a call has failed, Redis is left alone; at most once per
//! [`PROBE_EVERY`] one caller first tries a small write under the store's
//! namespace, and when that succeeds the store is shared again, without a
//! restart. Only a write brings it back: a full Redis still answers reads.
//! Each switch is logged once and counted (`atelya_redis_fallbacks_total`,
//! and `atelya_redis_fallback` is 1 while in-process).

use std::{future::Future, sync::Mutex, time::Duration};

use redis::{aio::ConnectionManager, FromRedisValue, RedisError, RedisResult, ScriptInvocation};
use tokio::time::Instant;

/// The longest a request waits for Redis before deciding in-process. A
/// healthy Redis answers these scripts in well under a millisecond; this
/// only bounds a hung or overloaded one.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(250);

/// How often, while in-process, one caller tries Redis again.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How long the probe's key lives; it only proves that Redis takes writes.
const PROBE_TTL_MS: u64 = 10_000;

/// A namespace in Redis, with this process standing in while Redis fails.
pub struct Shared {
    connection: ConnectionManager,
    /// `{prefix}:{store's part}`: every key of the store is under it.
    namespace: String,
    /// What is kept here, for logs and metrics (`rate_limits`, `cost_budgets`).
    store: &'static str,
    health: Mutex<Health>,
}

impl Shared {
    pub fn new(connection: ConnectionManager, namespace: String, store: &'static str) -> Shared {
        Shared {
            connection,
            namespace,
            store,
            health: Mutex::new(Health::default()),
        }
    }

    /// The Redis key of `name` in this store.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    /// The script's answer, or `None` when Redis is not to be relied on now
    /// (the caller decides in-process then).
    pub async fn invoke<T: FromRedisValue>(&self, script: &ScriptInvocation<'_>) -> Option<T> {
        let route = self
            .health
            .lock()
            .expect("redis health")
            .route(Instant::now());
        match route {
            Route::Local => return None,
            Route::Probe => match bounded(self.probe()).await {
                Ok(()) => self.recovered(),
                Err(err) => {
                    tracing::debug!(store = self.store, error = %err, "Redis still unavailable");
                    return None;
                }
            },
            Route::Redis => {}
        }
        match bounded(script.invoke_async(&mut self.connection.clone())).await {
            Ok(answer) => Some(answer),
            Err(err) => {
                self.fell_back(&err);
                None
            }
        }
    }

    /// A write that a full Redis refuses (OOM) and an absent one cannot take.
    async fn probe(&self) -> RedisResult<()> {
        redis::cmd("SET")
            .arg(self.key("alive"))
            .arg(1)
            .arg("PX")
            .arg(PROBE_TTL_MS)
            .query_async(&mut self.connection.clone())
            .await
    }

    fn fell_back(&self, err: &RedisError) {
        if self
            .health
            .lock()
            .expect("redis health")
            .fail(Instant::now())
        {
            tracing::warn!(
                store = self.store,
                namespace = %self.namespace,
                error = %err,
                "Redis did not answer or refused a write; {} are kept in this process until it takes writes again",
                self.store
            );
            crate::telemetry::redis_fallback(self.store, true);
        }
    }

    fn recovered(&self) {
        if self.health.lock().expect("redis health").recover() {
            tracing::info!(
                store = self.store,
                namespace = %self.namespace,
                "Redis takes writes again; {} are shared through it again",
                self.store
            );
            crate::telemetry::redis_fallback(self.store, false);
        }
    }
}

/// `call`, or an I/O error once it has taken longer than [`ANSWER_WITHIN`].
async fn bounded<T>(call: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(ANSWER_WITHIN, call)
        .await
        .unwrap_or_else(|_| {
            Err(RedisError::from((
                redis::ErrorKind::Io,
                "Redis did not answer in time",
            )))
        })
}

/// Where a call goes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Redis,
    /// Try a write first; the call goes on to Redis only if it succeeds.
    Probe,
    Local,
}

/// Whether Redis is relied on, and when it is next tried if not.
#[derive(Default)]
struct Health {
    /// `Some` while in-process: when the next probe is due.
    next_probe: Option<Instant>,
}

impl Health {
    /// Where a call at `now` goes; the one call that is given the probe
    /// pushes the next one back, so callers do not pile onto a dead Redis.
    fn route(&mut self, now: Instant) -> Route {
        match self.next_probe {
            None => Route::Redis,
            Some(due) if now >= due => {
                self.next_probe = Some(now + PROBE_EVERY);
                Route::Probe
            }
            Some(_) => Route::Local,
        }
    }

    /// Stops relying on Redis; true when that is a change.
    fn fail(&mut self, now: Instant) -> bool {
        let was_up = self.next_probe.is_none();
        if was_up {
            self.next_probe = Some(now + PROBE_EVERY);
        }
        was_up
    }

    /// Relies on Redis again; true when that is a change.
    fn recover(&mut self) -> bool {
        self.next_probe.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_failure_calls_stay_local_and_one_probe_a_second_tries_redis() {
        let start = Instant::now();
        let mut health = Health::default();
        assert_eq!(health.route(start), Route::Redis);
        assert!(health.fail(start), "the first failure is a change");
        assert!(!health.fail(start), "a second one, at once, is not");
        assert_eq!(health.route(start), Route::Local);
        let due = start + PROBE_EVERY;
        assert_eq!(health.route(due - Duration::from_millis(1)), Route::Local);
        assert_eq!(health.route(due), Route::Probe);
        assert_eq!(health.route(due), Route::Local, "one probe at a time");
        assert_eq!(health.route(due + PROBE_EVERY), Route::Probe);
        assert!(health.recover(), "a probe that succeeds is a change");
        assert!(!health.recover());
        assert_eq!(health.route(due + PROBE_EVERY), Route::Redis);
    }
}
