//! A log as this instance follows it ([`Fanout`]), and one subscriber's
//! gap-free position in it ([`Follower`]).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast;

use super::{Log, Sequenced, BROADCAST, RECENT};
use crate::error::AppResult;

struct Head<R> {
    /// The newest seq broadcast.
    seq: i64,
    tx: broadcast::Sender<Arc<R>>,
    recent: VecDeque<Arc<R>>,
}

/// One log as this instance follows it.
pub struct Fanout<L: Log> {
    log: L,
    head: Mutex<Head<L::Row>>,
}

impl<L: Log> Fanout<L> {
    /// A fanout whose history up to `seq` is in the database.
    pub fn new(log: L, seq: i64) -> Fanout<L> {
        let (tx, _) = broadcast::channel(BROADCAST);
        Fanout {
            log,
            head: Mutex::new(Head {
                seq,
                tx,
                recent: VecDeque::with_capacity(RECENT),
            }),
        }
    }

    pub fn head(&self) -> i64 {
        self.head.lock().expect("fanout lock").seq
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

    /// Broadcasts what the database holds after the head, up to `until`
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
        let mut head = self.head.lock().expect("fanout lock");
        if row.seq() <= head.seq {
            return;
        }
        head.seq = row.seq();
        if head.recent.len() == RECENT {
            head.recent.pop_front();
        }
        head.recent.push_back(row.clone());
        let _ = head.tx.send(row);
    }

    /// A follower that delivers every row after `after`.
    pub fn follow(self: &Arc<Self>, after: i64) -> Follower<L> {
        let head = self.head.lock().expect("fanout lock");
        let rx = head.tx.subscribe();
        let replayed_from_memory = head
            .recent
            .front()
            .is_some_and(|first| first.seq() <= after + 1);
        let pending = if replayed_from_memory {
            head.recent
                .iter()
                .filter(|row| row.seq() > after)
                .cloned()
                .collect()
        } else {
            VecDeque::new()
        };
        let replay_to = if replayed_from_memory {
            after
        } else {
            head.seq
        };
        Follower {
            fanout: self.clone(),
            rx,
            delivered: after,
            replay_to,
            pending,
        }
    }
}

/// One subscriber's gap-free position in a log.
pub struct Follower<L: Log> {
    fanout: Arc<Fanout<L>>,
    rx: broadcast::Receiver<Arc<L::Row>>,
    /// The newest seq delivered.
    delivered: i64,
    /// Rows up to this seq are read from the database before going on.
    replay_to: i64,
    /// Rows received, not yet delivered.
    pending: VecDeque<Arc<L::Row>>,
}

impl<L: Log> Follower<L> {
    pub fn delivered(&self) -> i64 {
        self.delivered
    }

    /// The next rows, in order and gap-free: a database page while
    /// replaying, or what arrived live. `None` when the log ended.
    pub async fn next_batch(&mut self) -> AppResult<Option<Vec<Arc<L::Row>>>> {
        loop {
            if self.delivered < self.replay_to {
                let rows = self.fanout.log.read(self.delivered, self.replay_to).await?;
                if rows.is_empty() {
                    // Committed rows are never missing; should one be, go on without it.
                    tracing::warn!(
                        from = self.delivered + 1,
                        to = self.replay_to,
                        "rows missing from a log"
                    );
                    self.delivered = self.replay_to;
                    continue;
                }
                let batch = self.deliver(rows.into_iter().map(Arc::new));
                if !batch.is_empty() {
                    return Ok(Some(batch));
                }
                continue;
            }
            if let Some(first) = self.pending.front() {
                if first.seq() > self.delivered + 1 {
                    self.replay_to = first.seq() - 1;
                    continue;
                }
                let pending = std::mem::take(&mut self.pending);
                let batch = self.deliver(pending.into_iter());
                if !batch.is_empty() {
                    return Ok(Some(batch));
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(row) => self.pending.push_back(row),
                // The next row received is past a gap, which is then filled from the database.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
            while let Ok(row) = self.rx.try_recv() {
                self.pending.push_back(row);
            }
        }
    }

    /// Takes the contiguous run of `rows` that follows what was delivered;
    /// rows past a gap go back to `pending`.
    fn deliver(&mut self, rows: impl Iterator<Item = Arc<L::Row>>) -> Vec<Arc<L::Row>> {
        let mut batch = Vec::new();
        let mut rows = rows.peekable();
        while let Some(row) = rows.next() {
            if row.seq() <= self.delivered {
                continue;
            }
            if row.seq() > self.delivered + 1 {
                let rest: Vec<_> = std::iter::once(row).chain(rows).collect();
                for row in rest.into_iter().rev() {
                    self.pending.push_front(row);
                }
                break;
            }
            self.delivered = row.seq();
            batch.push(row);
        }
        batch
    }
}
