//! The sorted sets in Redis that hold every instance's watchers (one per
//! workroom, scored by expiry on Redis's clock), and the scripts over them.

use std::sync::LazyLock;

use redis::{aio::ConnectionManager, Script};
use uuid::Uuid;

use super::TTL;

/// The sorted sets in Redis.
#[derive(Clone)]
pub(super) struct Store {
    pub(super) connection: ConnectionManager,
    pub(super) prefix: String,
    pub(super) instance: String,
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
    pub(super) async fn join(&self, entries: &[(Uuid, Vec<Uuid>)]) -> redis::RedisResult<Vec<u64>> {
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

    pub(super) async fn leave(&self, workroom: Uuid, user: Uuid) -> redis::RedisResult<()> {
        redis::cmd("ZREM")
            .arg(self.key(workroom))
            .arg(self.member(user))
            .query_async::<()>(&mut self.connection.clone())
            .await
    }

    pub(super) async fn list(&self, workroom: Uuid) -> redis::RedisResult<Vec<Uuid>> {
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

    pub(super) async fn prune(&self, workroom: Uuid) -> redis::RedisResult<u64> {
        PRUNE
            .key(self.key(workroom))
            .invoke_async(&mut self.connection.clone())
            .await
    }
}
