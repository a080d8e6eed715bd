//! Tests of presence kept in this process: counting watches, announcing changes.

use super::*;

#[tokio::test]
async fn a_user_watches_until_their_last_watch_ends() {
    let presence = Presence::in_memory(Bus::in_process());
    let (room, ann, bob) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let first = presence.watch(room, ann);
    let second = presence.watch(room, ann);
    let other = presence.watch(room, bob);
    let mut both = vec![ann, bob];
    both.sort();
    assert_eq!(presence.watchers(room).await, both);
    drop(first);
    assert_eq!(
        presence.watchers(room).await,
        both,
        "ann still has a tab open"
    );
    drop(second);
    assert_eq!(presence.watchers(room).await, vec![bob]);
    drop(other);
    assert!(presence.watchers(room).await.is_empty());
    assert!(presence.inner.local.lock().unwrap().is_empty());
}

#[tokio::test]
async fn joining_and_leaving_is_announced_on_the_workroom_topic() {
    let bus = Bus::in_process();
    let presence = Presence::in_memory(bus.clone());
    let room = Uuid::now_v7();
    let mut sub = bus.subscribe(Topic::Workroom(room)).await;
    let watch = presence.watch(room, Uuid::now_v7());
    drop(watch);
    for _ in 0..2 {
        let signal = tokio::time::timeout(Duration::from_secs(1), sub.recv())
            .await
            .unwrap();
        assert!(matches!(signal, super::super::Signal::Message(m) if **m == Message::Watchers));
    }
}
