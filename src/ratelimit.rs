//! Sliding-window counters for sign-up and login abuse, kept in memory.
//!
//! Windows are per process: behind N instances a client gets up to N times
//! the budget, which still stops credential stuffing from one address.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    clock::Clock,
    error::{AppError, AppResult},
};

/// Beyond this many keys, empty windows are swept on the next hit.
const SWEEP_ABOVE: usize = 10_000;

pub struct RateLimiter {
    clock: Clock,
    windows: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl RateLimiter {
    pub fn new(clock: Clock) -> RateLimiter {
        RateLimiter {
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt under `key`; RATE_LIMITED when `limit` attempts were
    /// already made within `window` (the refused attempt is not counted).
    pub fn attempt(&self, key: &str, limit: u32, window: TimeDelta) -> AppResult<()> {
        let now = self.clock.now();
        let mut windows = self.windows.lock().expect("rate limiter poisoned");
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, hits| hits.back().is_some_and(|t| *t > now - TimeDelta::hours(1)));
        }
        let hits = windows.entry(key.to_owned()).or_default();
        prune(hits, now - window);
        if hits.len() >= limit as usize {
            return Err(too_many());
        }
        hits.push_back(now);
        Ok(())
    }

    /// RATE_LIMITED when `limit` events were recorded under `key` within `window`.
    pub fn ensure_below(&self, key: &str, limit: u32, window: TimeDelta) -> AppResult<()> {
        let now = self.clock.now();
        let mut windows = self.windows.lock().expect("rate limiter poisoned");
        match windows.get_mut(key) {
            Some(hits) => {
                prune(hits, now - window);
                if hits.len() >= limit as usize {
                    return Err(too_many());
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records one event under `key` (a failed login, say).
    pub fn record(&self, key: &str) {
        let now = self.clock.now();
        let mut windows = self.windows.lock().expect("rate limiter poisoned");
        windows.entry(key.to_owned()).or_default().push_back(now);
    }
}

fn prune(hits: &mut VecDeque<DateTime<Utc>>, older_than: DateTime<Utc>) {
    while hits.front().is_some_and(|t| *t <= older_than) {
        hits.pop_front();
    }
}

fn too_many() -> AppError {
    AppError::RateLimited("too many attempts; try again later".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_the_window_and_frees_after_it() {
        let clock = Clock::default();
        let limiter = RateLimiter::new(clock.clone());
        let minute = TimeDelta::minutes(1);
        for _ in 0..10 {
            limiter.attempt("ip", 10, minute).unwrap();
        }
        assert!(limiter.attempt("ip", 10, minute).is_err());
        assert!(limiter.attempt("other", 10, minute).is_ok());
        clock.advance(std::time::Duration::from_secs(61));
        assert!(limiter.attempt("ip", 10, minute).is_ok());
    }
}
