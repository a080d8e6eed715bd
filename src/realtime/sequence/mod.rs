//! Gap-free, exactly-once, in-order delivery of a sequenced log (a
//! workroom's events, a workspace's activity), whose rows carry a seq that
//! is gap-free per log.
//!
//! A [`Fanout`] is this instance's view of one log: the feed that owns it
//! hands it what the bus brings ([`Fanout::accept`]), fills any gap from the
//! database, and keeps the newest rows (at most [`KEPT`] of them and
//! [`KEPT_BYTES`] together) for its followers, waking them on each row.
//!
//! A [`Follower`] is one subscriber, and only a seq: it replays from the
//! database what came after the seq it asked for, then takes the kept rows
//! that follow what it delivered. A follower that fell behind what is kept
//! (it was slow, or joined far back) reads the database up to the oldest
//! kept row: it is never cut off, and a slow one costs no memory at all.

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
/// The newest rows a fanout keeps for its followers, by count and by bytes:
/// enough for a run's burst of deltas, while a follower further behind reads
/// the database.
const KEPT: usize = 1024;
const KEPT_BYTES: usize = 4 << 20;

pub trait Sequenced: Send + Sync + 'static {
    fn seq(&self) -> i64;
    /// About the bytes the row holds, to bound what is kept of a log.
    fn size(&self) -> usize;
}

/// Where a log's rows are stored.
pub trait Log: Send + Sync + 'static {
    type Row: Sequenced;
    /// Rows with `after < seq <= until`, oldest first, at most [`PAGE`].
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>>;
}
