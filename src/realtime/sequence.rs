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

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use entity::{activity_event, workroom_event};
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{db::Db, error::AppResult};

/// Rows read from the database at a time.
pub const PAGE: u64 = 500;
/// Rows a fanout broadcasts before a slow follower lags.
const BROADCAST: usize = 1024;
/// Recent rows a fanout keeps for followers that join.
const RECENT: usize = 512;

pub trait Sequenced: Send + Sync + 'static {
    fn seq(&self) -> i64;
}

impl Sequenced for workroom_event::Model {
    fn seq(&self) -> i64 {
        self.seq
    }
}

impl Sequenced for activity_event::Model {
    fn seq(&self) -> i64 {
        self.seq
    }
}

/// Where a log's rows are stored.
pub trait Log: Send + Sync + 'static {
    type Row: Sequenced;
    /// Rows with `after < seq <= until`, oldest first, at most [`PAGE`].
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>>;
}

/// A workroom's events.
pub struct WorkroomLog(pub Db, pub Uuid);

impl Log for WorkroomLog {
    type Row = workroom_event::Model;
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>> {
        let (db, id) = (self.0.clone(), self.1);
        Box::pin(async move {
            Ok(workroom_event::Entity::find()
                .filter(workroom_event::Column::WorkroomId.eq(id))
                .filter(workroom_event::Column::Seq.gt(after))
                .filter(workroom_event::Column::Seq.lte(until))
                .order_by_asc(workroom_event::Column::Seq)
                .limit(PAGE)
                .all(db.conn())
                .await?)
        })
    }
}

/// A workspace's activity log.
pub struct ActivityLog(pub Db, pub Uuid);

impl Log for ActivityLog {
    type Row = activity_event::Model;
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>> {
        let (db, id) = (self.0.clone(), self.1);
        Box::pin(async move {
            Ok(activity_event::Entity::find()
                .filter(activity_event::Column::WorkspaceId.eq(id))
                .filter(activity_event::Column::Seq.gt(after))
                .filter(activity_event::Column::Seq.lte(until))
                .order_by_asc(activity_event::Column::Seq)
                .limit(PAGE)
                .all(db.conn())
                .await?)
        })
    }
}

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
            self.catch_up(row.seq() - 1).await;
        }
        self.push(Arc::new(row));
    }

    /// Broadcasts what the database holds after the head, up to `until`
    /// (after a resync, `i64::MAX`: everything).
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Row(i64);

    impl Sequenced for Row {
        fn seq(&self) -> i64 {
            self.0
        }
    }

    /// A log of committed seqs, counting its reads.
    #[derive(Clone, Default)]
    struct Memory {
        committed: Arc<Mutex<i64>>,
        reads: Arc<AtomicUsize>,
    }

    impl Memory {
        fn commit_to(&self, seq: i64) {
            *self.committed.lock().unwrap() = seq;
        }
    }

    impl Log for Memory {
        type Row = Row;
        fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Row>>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let last = until.min(*self.committed.lock().unwrap());
            let rows = (after + 1..=last).take(PAGE as usize).map(Row).collect();
            Box::pin(async move { Ok(rows) })
        }
    }

    async fn take(follower: &mut Follower<Memory>, up_to: i64) -> Vec<i64> {
        let mut seqs = Vec::new();
        while seqs.last().copied().unwrap_or(follower.delivered()) < up_to {
            let batch =
                tokio::time::timeout(std::time::Duration::from_secs(1), follower.next_batch())
                    .await
                    .expect("rows in time")
                    .unwrap()
                    .unwrap();
            seqs.extend(batch.iter().map(|row| row.seq()));
        }
        seqs
    }

    #[tokio::test]
    async fn a_follower_replays_then_follows_live_once_each_in_order() {
        let log = Memory::default();
        log.commit_to(10);
        let fanout = Arc::new(Fanout::new(log.clone(), 10));
        let mut follower = fanout.follow(3);
        assert_eq!(take(&mut follower, 10).await, (4..=10).collect::<Vec<_>>());
        log.commit_to(13);
        fanout.accept(Row(11)).await;
        fanout.accept(Row(11)).await;
        // 12 was committed but its message was lost: the fanout reads it.
        fanout.accept(Row(13)).await;
        assert_eq!(take(&mut follower, 13).await, vec![11, 12, 13]);
    }

    #[tokio::test]
    async fn a_follower_that_lags_catches_up_from_the_log() {
        let log = Memory::default();
        let fanout = Arc::new(Fanout::new(log.clone(), 0));
        let mut follower = fanout.follow(0);
        log.commit_to(3 * BROADCAST as i64);
        for seq in 1..=3 * BROADCAST as i64 {
            fanout.accept(Row(seq)).await;
        }
        let seqs = take(&mut follower, 3 * BROADCAST as i64).await;
        assert_eq!(seqs, (1..=3 * BROADCAST as i64).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_follower_near_the_head_replays_from_memory() {
        let log = Memory::default();
        let fanout = Arc::new(Fanout::new(log.clone(), 0));
        log.commit_to(20);
        for seq in 1..=20 {
            fanout.accept(Row(seq)).await;
        }
        let reads = log.reads.load(Ordering::Relaxed);
        let mut follower = fanout.follow(15);
        assert_eq!(take(&mut follower, 20).await, vec![16, 17, 18, 19, 20]);
        assert_eq!(
            log.reads.load(Ordering::Relaxed),
            reads,
            "no read for a join near the head"
        );
    }

    #[tokio::test]
    async fn a_follower_past_the_head_gets_only_what_comes_after_it() {
        let log = Memory::default();
        log.commit_to(5);
        let fanout = Arc::new(Fanout::new(log.clone(), 5));
        let mut follower = fanout.follow(7);
        log.commit_to(8);
        for seq in 6..=8 {
            fanout.accept(Row(seq)).await;
        }
        assert_eq!(take(&mut follower, 8).await, vec![8]);
    }
}
