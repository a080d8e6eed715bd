//! Tests of a fanout and its followers over a log kept in memory.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use super::*;

/// A row of a seq, of 1 KiB.
struct Row(i64);

impl Sequenced for Row {
    fn seq(&self) -> i64 {
        self.0
    }

    fn size(&self) -> usize {
        1024
    }
}

/// A row of a seq and a size.
struct Weighed(i64, usize);

impl Sequenced for Weighed {
    fn seq(&self) -> i64 {
        self.0
    }

    fn size(&self) -> usize {
        self.1
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
        let batch = tokio::time::timeout(std::time::Duration::from_secs(1), follower.next_batch())
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
    log.commit_to(3 * KEPT as i64);
    for seq in 1..=3 * KEPT as i64 {
        fanout.accept(Row(seq)).await;
    }
    let seqs = take(&mut follower, 3 * KEPT as i64).await;
    assert_eq!(seqs, (1..=3 * KEPT as i64).collect::<Vec<_>>());
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

#[tokio::test]
async fn what_a_fanout_keeps_is_bounded_by_count_and_by_bytes() {
    let log = Memory::default();
    let fanout = Arc::new(Fanout::new(log.clone(), 0));
    log.commit_to(3 * KEPT as i64);
    for seq in 1..=3 * KEPT as i64 {
        fanout.accept(Row(seq)).await;
    }
    assert_eq!(
        fanout.kept(),
        (KEPT, KEPT * 1024),
        "small rows: bounded by count"
    );

    // Large rows: bounded by bytes, and the newest always stays.
    struct Large;
    impl Log for Large {
        type Row = Weighed;
        fn read(&self, _: i64, _: i64) -> BoxFuture<'static, AppResult<Vec<Weighed>>> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }
    let fanout = Arc::new(Fanout::new(Large, 0));
    for seq in 1..=100 {
        fanout.accept(Weighed(seq, 1 << 20)).await;
    }
    let (rows, bytes) = fanout.kept();
    assert!(
        bytes <= KEPT_BYTES && rows == KEPT_BYTES >> 20,
        "{rows} rows, {bytes} bytes"
    );
    fanout.accept(Weighed(101, 2 * KEPT_BYTES)).await;
    assert_eq!(fanout.kept(), (1, 2 * KEPT_BYTES), "the newest row stays");
}

#[tokio::test]
async fn a_follower_that_stopped_reading_holds_nothing_and_resumes_from_the_log() {
    let log = Memory::default();
    let fanout = Arc::new(Fanout::new(log.clone(), 0));
    let mut stalled = fanout.follow(0);
    log.commit_to(5 * KEPT as i64);
    for seq in 1..=5 * KEPT as i64 {
        fanout.accept(Row(seq)).await;
    }
    // Nothing waits for the stalled follower: the fanout keeps only its bound.
    assert_eq!(fanout.kept().0, KEPT);
    let reads = log.reads.load(Ordering::Relaxed);
    let seqs = take(&mut stalled, 5 * KEPT as i64).await;
    assert_eq!(seqs, (1..=5 * KEPT as i64).collect::<Vec<_>>());
    assert!(
        log.reads.load(Ordering::Relaxed) > reads,
        "what is no longer kept is read from the log"
    );
}

#[tokio::test]
async fn a_follower_waiting_at_the_head_wakes_for_the_next_row() {
    let log = Memory::default();
    let fanout = Arc::new(Fanout::new(log.clone(), 0));
    let mut follower = fanout.follow(0);
    let waiting = tokio::spawn(async move { take(&mut follower, 1).await });
    tokio::task::yield_now().await;
    log.commit_to(1);
    fanout.accept(Row(1)).await;
    assert_eq!(waiting.await.unwrap(), vec![1]);
}
