//! The generic cell rate algorithm, in this process and as a Redis script.
//!
//! A key holds one timestamp, its theoretical arrival time; `count` per
//! `per` means one attempt every `per / count` with bursts of up to
//! `count`. Refused attempts are not counted.

use std::sync::LazyLock;

use super::Limit;

/// Whether an attempt spends from the allowance or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Take,
    Peek,
}

/// Milliseconds between attempts at the steady rate, and the burst tolerance.
pub fn cell(limit: Limit) -> (i64, i64) {
    let per = limit.per.num_milliseconds().max(1);
    ((per / i64::from(limit.count.max(1))).max(1), per)
}

/// The GCRA step: from a key's arrival time (if any) at `now`, the
/// milliseconds to wait (0 when allowed) and the arrival time to store.
pub fn step(tat: Option<i64>, now: i64, limit: Limit, mode: Mode) -> (i64, Option<i64>) {
    let (interval, tolerance) = cell(limit);
    let next = tat.unwrap_or(now).max(now) + interval;
    if next - now > tolerance {
        return (next - tolerance - now, None);
    }
    (0, (mode == Mode::Take).then_some(next))
}

/// [`SCRIPT`], built (and hashed) once: EVALSHA then sends only its digest.
pub static SCRIPT_IN_REDIS: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SCRIPT));

/// [`step`] in Redis, on Redis's clock: KEYS[1] the key; ARGV the interval
/// and tolerance in milliseconds, 1 to take, and the injectable clock's
/// offset in milliseconds (0 outside tests). Returns the wait in ms.
const SCRIPT: &str = r"
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
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn a_burst_of_count_is_allowed_then_one_per_interval() {
        let limit = Limit::new(4, TimeDelta::seconds(4));
        let mut tat = None;
        for _ in 0..4 {
            let (wait, next) = step(tat, 0, limit, Mode::Take);
            assert_eq!(wait, 0);
            tat = next;
        }
        assert_eq!(step(tat, 0, limit, Mode::Take), (1_000, None));
        assert_eq!(step(tat, 999, limit, Mode::Take).0, 1);
        assert_eq!(step(tat, 1_000, limit, Mode::Take), (0, Some(5_000)));
        assert_eq!(step(tat, 1_000, limit, Mode::Peek), (0, None));
    }
}
