//! Hourly caps on downloads and exports, per member and per client address.
//!
//! A download writes an activity entry (so an unbounded client could flood
//! the hash-chained log) and an export renders a PDF or DOCX (CPU-heavy).
//! The defaults (`ATELYA_DOWNLOADS_PER_HOUR`, `ATELYA_EXPORTS_PER_HOUR` and
//! their `_PER_ADDRESS` twins) are far above what an agency does; they bound
//! a script. The member cap counts the person whatever token or API key
//! they use; the address cap counts everyone behind one address (an IPv6
//! address by its /64). Both are looked at before either is counted, so a
//! refusal spends neither, and a refused request changes nothing.

use uuid::Uuid;

use crate::{
    auth::Session,
    error::AppResult,
    ratelimit::{self, Limit, Refused},
    state::AppState,
};

/// Counts one download by `session` from `client_ip`, or says how long to wait.
pub async fn download(state: &AppState, session: &Session, client_ip: &str) -> Result<(), Refused> {
    let limits = &state.config.limits;
    let caps = Caps {
        what: "downloads",
        per_member: limits.downloads_per_hour,
        per_address: limits.downloads_per_hour_per_address,
    };
    caps.take(state, session.user.id, client_ip).await
}

/// Counts one export by `session` from `client_ip`; RATE_LIMITED over a cap.
pub async fn export(state: &AppState, session: &Session, client_ip: &str) -> AppResult<()> {
    let limits = &state.config.limits;
    let caps = Caps {
        what: "exports",
        per_member: limits.exports_per_hour,
        per_address: limits.exports_per_hour_per_address,
    };
    caps.take(state, session.user.id, client_ip)
        .await
        .map_err(|refused| refused.error("exports"))
}

/// One kind of request's two hourly caps (0 is off).
struct Caps {
    /// The limiter keys' prefix and the metric's label.
    what: &'static str,
    per_member: u32,
    per_address: u32,
}

impl Caps {
    async fn take(&self, state: &AppState, user: Uuid, client_ip: &str) -> Result<(), Refused> {
        let keys = [
            (
                format!("{}:address:{}", self.what, ratelimit::address(client_ip)),
                self.per_address,
            ),
            (format!("{}:member:{user}", self.what), self.per_member),
        ];
        let active: Vec<(String, Limit)> = keys
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(key, count)| (key, Limit::per_hour(count).named(self.what)))
            .collect();
        for (key, limit) in &active {
            state.limiter.peek(key, *limit).await?;
        }
        for (key, limit) in &active {
            state.limiter.take(key, *limit).await?;
        }
        Ok(())
    }
}
