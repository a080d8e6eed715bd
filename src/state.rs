//! What every request and background task shares.

use std::sync::Arc;

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasherConfig, sealed::Sealer},
    clock::Clock,
    config::Config,
    db::Db,
    ratelimit::RateLimiter,
    realtime::Realtime,
};

pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Config,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasherConfig,
    /// Seals secrets kept at rest with `ATELYA_SECRET_KEY`.
    pub sealer: Sealer,
    pub limiter: RateLimiter,
    /// Each member's hourly budget of document cost.
    pub budget: crate::budget::CostBudget,
    /// Exports rendering on this instance, and how many may at once.
    pub renders: crate::export::Renders,
    /// Parsed documents kept by their text.
    pub documents: crate::graphql::documents::DocumentCache,
    /// Wakes the run engine when a workroom gets work (created, resumed, approved…).
    pub work: std::sync::Arc<tokio::sync::Notify>,
    /// Tells running calls a workroom was paused, cancelled or replanned, so
    /// they check at their next token instead of their next batch.
    pub interrupted: std::sync::Arc<tokio::sync::Notify>,
    /// The bus, feeds, presence and open sockets.
    pub realtime: Realtime,
    /// The websockets and event streams each user and client address holds
    /// open on this instance, within their caps.
    pub live: crate::http::caps::LiveCaps,
    /// How many passes each background job has completed.
    pub rounds: Rounds,
    /// The sessions this instance holds open with MCP servers.
    pub mcp: crate::tool::mcp::Sessions,
}

/// Completed passes of the background jobs: a signal that a job has looked
/// (and found nothing more to do), for operators and for tests that assert
/// that nothing happens.
#[derive(Default)]
pub struct Rounds {
    /// The engine looking for work to claim.
    pub engine: std::sync::atomic::AtomicU64,
    /// The engine looking for work, finding none, with no run going on this
    /// instance: nothing here is moving a workroom.
    pub engine_idle: std::sync::atomic::AtomicU64,
    /// The billing job looking for periods that ended.
    pub renewals: std::sync::atomic::AtomicU64,
    /// The webhook dispatcher looking for due deliveries and finding none,
    /// with none being sent: every delivery due by then has been made.
    pub webhooks_idle: std::sync::atomic::AtomicU64,
}

impl Rounds {
    pub fn completed(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

pub type SharedState = Arc<AppState>;
