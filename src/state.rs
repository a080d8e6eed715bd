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
    /// Wakes the run engine when a workroom gets work (created, resumed, approved…).
    pub work: std::sync::Arc<tokio::sync::Notify>,
    /// Tells running calls a workroom was paused, cancelled or replanned, so
    /// they check at their next token instead of their next batch.
    pub interrupted: std::sync::Arc<tokio::sync::Notify>,
    /// The bus, feeds, presence and open sockets.
    pub realtime: Realtime,
}

pub type SharedState = Arc<AppState>;
