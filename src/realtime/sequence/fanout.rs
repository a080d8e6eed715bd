//! A log as this instance follows it ([`Fanout`]): its newest rows in one
//! ring bounded by count and by bytes; and one subscriber's gap-free
//! position in it ([`Follower`]): a seq and nothing buffered, so a follower
//! that stops reading holds no memory at all.

use std::{
    collections::VecDeque,
    sync::{Arc, RwLock},
};

use tokio::sync::watch;

use super::{Log, Sequenced, KEPT, KEPT_BYTES};
use crate::error::AppResult;

struct Head<R> {
    /// The newest seq pushed.
    seq: i64,
    /// The newest rows, oldest first, in seq order (with a gap only where
    /// reading the database to fill one failed).
    kept: VecDeque<Arc<R>>,
    /// The sizes of `kept` together.
    bytes: usize,
}

impl<R: Sequenced> Head<R> {
    /// Adds `row`, then drops the oldest rows past [`KEPT`] or
    /// [`KEPT_BYTES`]; the newest row always stays.
    fn keep(&mut self, row: Arc<R>) {
        self.seq = row.seq();
        self.bytes += row.size();
        self.kept.push_back(row);
        while self.kept.len() > 1 && (self.kept.len() > KEPT || self.bytes > KEPT_BYTES) {
            if let Some(oldest) = self.kept.pop_front() {
                self.bytes -= oldest.size();
            }
        }
    }

    /// What a follower that delivered up to `delivered` takes next.
    fn after(&self, delivered: i64) -> Next<R> {
        if self.seq <= delivered {
            return Next::Wait;
        }
        let start = self.kept.partition_point(|row| row.seq() <= delivered);
        let rows: Vec<_> = self
            .kept
            .range(start..)
            .zip(delivered + 1..)
            .take_while(|(row, expected)| row.seq() == *expected)
            .map(|(row, _)| row.clone())
            .collect();
        if !rows.is_empty() {
            return Next::Rows(rows);
        }
        let next_kept = self.kept.get(start).map_or(self.seq + 1, |row| row.seq());
        Next::Read(next_kept - 1)
    }
}

enum Next<R> {
    /// The contiguous rows after the follower's seq.
    Rows(Vec<Arc<R>>),
    /// Nothing kept follows the follower's seq: read the database up to this one.
    Read(i64),
    /// The follower is at the head.
    Wait,
}

/// One log as this instance follows it.
pub struct Fanout<L: Log> {
    log: L,
    head: RwLock<Head<L::Row>>,
    /// The head's seq, announced to followers after each push.
    pushed: watch::Sender<i64>,
}

impl<L: Log> Fanout<L> {
    /// A fanout whose history up to `seq` is in the database.
    pub fn new(log: L, seq: i64) -> Fanout<L> {
        Fanout {
            log,
            head: RwLock::new(Head {
                seq,
                kept: VecDeque::new(),
                bytes: 0,
            }),
            pushed: watch::Sender::new(seq),
        }
    }

    pub fn head(&self) -> i64 {
        self.head.read().expect("fanout lock").seq
    }

    /// The rows kept and their bytes together.
    #[cfg(test)]
    pub(super) fn kept(&self) -> (usize, usize) {
        let head = self.head.read().expect("fanout lock");
        (head.kept.len(), head.bytes)
    }

    /// Takes a row the bus brought: an old one is dropped, one past a gap
    /// is preceded by the missing rows from the database.
    pub async fn accept(&self, row: L::Row) {
        let head = self.head();
        if row.seq() <= head {
            return;
        }
        if row.seq() > head + 1 {
            metrics::counter!(crate::telemetry::BUS_GAPS_FILLED).increment(1);
            self.catch_up(row.seq() - 1).await;
        }
        self.push(Arc::new(row));
    }

    /// Pushes what the database holds after the head, up to `until`
    /// (after a resync, `i64::MAX`: everything).
    #[tracing::instrument(level = "debug", skip_all, fields(until = until))]
    pub async fn catch_up(&self, until: i64) {
        loop {
            let head = self.head();
            match self.log.read(head, until).await {
                Ok(rows) if rows.is_empty() => return,
                Ok(rows) => {
                    for row in rows {
                        self.push(Arc::new(row));
                    }
                }
                Err(err) => {
                    // Followers fill the gap themselves when they see it.
                    tracing::warn!(error = %err, "reading a log to fill a gap failed");
                    return;
                }
            }
        }
    }

    fn push(&self, row: Arc<L::Row>) {
        let seq = row.seq();
        {
            let mut head = self.head.write().expect("fanout lock");
            if seq <= head.seq {
                return;
            }
            head.keep(row);
        }
        self.pushed.send_replace(seq);
    }

    /// A follower that delivers every row after `after`.
    pub fn follow(self: &Arc<Self>, after: i64) -> Follower<L> {
        Follower {
            fanout: self.clone(),
            pushed: self.pushed.subscribe(),
            delivered: after,
            replay_to: after,
        }
    }
}

/// One subscriber's gap-free position in a log.
pub struct Follower<L: Log> {
    fanout: Arc<Fanout<L>>,
    pushed: watch::Receiver<i64>,
    /// The newest seq delivered.
    delivered: i64,
    /// Rows up to this seq are read from the database before going on.
    replay_to: i64,
}

impl<L: Log> Follower<L> {
    pub fn delivered(&self) -> i64 {
        self.delivered
    }

    /// The next rows, in order and gap-free: a database page while
    /// replaying, or the kept rows that follow. `None` when the log ended.
    pub async fn next_batch(&mut self) -> AppResult<Option<Vec<Arc<L::Row>>>> {
        loop {
            if self.delivered < self.replay_to {
                let rows = self.fanout.log.read(self.delivered, self.replay_to).await?;
                let Some(last) = rows.last().map(Sequenced::seq) else {
                    // Committed rows are never missing; should one be, go on without it.
                    tracing::warn!(
                        from = self.delivered + 1,
                        to = self.replay_to,
                        "rows missing from a log"
                    );
                    self.delivered = self.replay_to;
                    continue;
                };
                self.delivered = last;
                return Ok(Some(rows.into_iter().map(Arc::new).collect()));
            }
            // Seen before looking, so a push after the look wakes the wait below.
            self.pushed.borrow_and_update();
            let next = self
                .fanout
                .head
                .read()
                .expect("fanout lock")
                .after(self.delivered);
            match next {
                Next::Rows(rows) => {
                    self.delivered = rows.last().map_or(self.delivered, |row| row.seq());
                    return Ok(Some(rows));
                }
                Next::Read(until) => self.replay_to = until,
                Next::Wait => {
                    if self.pushed.changed().await.is_err() {
                        return Ok(None);
                    }
                }
            }
        }
    }
}
