//! Time, injectable so expiry rules can be tested exactly.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Where the server reads the time. Times are truncated to microseconds, the
/// precision both databases store, so a value reads back exactly as it was written.
#[derive(Clone, Default, Debug)]
pub struct Clock {
    /// Offset added to the system time; tests move it forward to expire things.
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }

    /// How far this clock was moved from the system time (0 outside tests);
    /// clocks kept elsewhere (Redis's) are moved by the same amount.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (for tests of expiry).
    pub fn advance(&self, by: std::time::Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}
