//! Tests of a fanout and its followers over a log kept in memory.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

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
