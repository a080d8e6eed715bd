//! What ends a signed-in stream early: the registry's signals (shutdown,
//! token expiry) and checks of the caller's access when it may have changed,
//! as an open websocket has them.
//!
//! The stream's loop waits on [`signalled`] and [`until`] the check is due,
//! which only wait and lose nothing when an event wins the race; the check itself
//! ([`Watch::on_signals`], [`Watch::recheck`]) runs to its end in the loop's
//! body, where no event can cut it short. A check that fails (the database
//! did not answer) is tried again after [`RETRY`], until it gets an answer.

use std::{sync::Arc, time::Duration};

use tokio::time::{sleep_until, Instant};

use crate::{
    auth::session,
    error::AppError,
    realtime::sockets::{flag, Registration, Signals},
    state::SharedState,
};

/// How soon a check that failed is tried again.
pub const RETRY: Duration = Duration::from_secs(1);

/// Why a signed-in stream ends early.
pub enum Ended {
    Shutdown,
    /// The token expired, or the member's access or the key is gone.
    AccessLost(String),
}

/// A signed-in stream's place in the registry, and its pending check.
pub struct Watch {
    app: SharedState,
    /// The bearer header value the stream came with, checked again.
    authorization: String,
    registration: Registration,
    /// When to check access again: after a resynchronisation, spread over a
    /// second, or [`RETRY`] after a check that failed.
    recheck_at: Option<Instant>,
}

impl Watch {
    pub fn new(app: SharedState, authorization: String, registration: Registration) -> Watch {
        Watch {
            app,
            authorization,
            registration,
            recheck_at: None,
        }
    }

    /// The stream's signals, to wait on (owned, so the wait borrows nothing).
    pub fn signals(&self) -> Arc<Signals> {
        self.registration.signals.clone()
    }

    /// When the pending check is due, if one is.
    pub fn due(&self) -> Option<Instant> {
        self.recheck_at
    }

    /// What the registry's `flags` mean for the stream.
    pub async fn on_signals(&mut self, flags: u8) -> Option<Ended> {
        if flags & flag::SHUTDOWN != 0 {
            return Some(Ended::Shutdown);
        }
        if flags & flag::EXPIRED != 0 {
            return Some(Ended::AccessLost("token expired".into()));
        }
        if flags & flag::RECHECK != 0 {
            return self.recheck().await;
        }
        if flags & flag::RECHECK_SOON != 0 && self.recheck_at.is_none() {
            // Spread over a second, so a resync does not read every stream's access at once.
            let delay = Duration::from_millis(rand::random::<u64>() % 1000);
            self.recheck_at = Some(Instant::now() + delay);
        }
        None
    }

    /// Reads the caller's access again. A stream runs one operation, which
    /// needs only membership, so it ends when the membership, the sign-in or
    /// the key is gone.
    pub async fn recheck(&mut self) -> Option<Ended> {
        self.recheck_at = None;
        match session::check(&self.app, &self.authorization, 0).await {
            Ok(_) => None,
            Err(AppError::Unauthenticated(reason)) => Some(Ended::AccessLost(reason)),
            Err(err) => {
                // Neither ended for good by a fault of the server's, nor left unchecked.
                tracing::warn!(error = %err, "checking a stream's access failed; trying again");
                self.recheck_at = Some(Instant::now() + RETRY);
                None
            }
        }
    }
}

/// Waits for a watch's signals; for ever without a watch (an anonymous stream).
pub async fn signalled(signals: Option<Arc<Signals>>) -> u8 {
    match signals {
        Some(signals) => signals.wait().await,
        None => std::future::pending().await,
    }
}

/// Waits until `at`; for ever without it.
pub async fn until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
