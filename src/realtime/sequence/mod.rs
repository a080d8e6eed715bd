//! Gap-free, exactly-once, in-order delivery of a sequenced log (a
//! workroom's events, a workspace's activity), whose rows carry a seq that
//! is gap-free per log.
//!
//! A [`Fanout`] is this instance's view of one log: the feed that owns it
//! hands it what the bus brings ([`Fanout::accept`]), fills any gap from the
//! database, and broadcasts each row once, in order, to its followers. It
//! keeps the most recent rows so a follower that joins near the head needs no
//! database read.
//!
//! A [`Follower`] is one subscriber: it joins the fanout first (so nothing
//! published afterwards can pass it by), replays from the database what came
//! after the seq it asked for, then follows live, dropping any seq it already
//! delivered and filling any gap from the database. A follower that lags
//! behind the broadcast catches up from the database: it is never cut off,
//! and a slow one costs no memory beyond the shared broadcast buffer.

use futures_util::future::BoxFuture;

use crate::error::AppResult;

mod fanout;
mod logs;
#[cfg(test)]
mod tests;

pub use fanout::{Fanout, Follower};
pub use logs::{ActivityLog, WorkroomLog};

/// Rows read from the database at a time.
pub const PAGE: u64 = 500;
/// Rows a fanout broadcasts before a slow follower lags.
const BROADCAST: usize = 1024;
/// Recent rows a fanout keeps for followers that join.
const RECENT: usize = 512;

pub trait Sequenced: Send + Sync + 'static {
    fn seq(&self) -> i64;
}

/// Where a log's rows are stored.
pub trait Log: Send + Sync + 'static {
    type Row: Sequenced;
    /// Rows with `after < seq <= until`, oldest first, at most [`PAGE`].
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>>;
}
