//! The sources of the live subscriptions, each authorized like the query it
//! mirrors: any member reads, and another workspace's workroom is NOT_FOUND.

use std::sync::Arc;

use entity::{activity_event, workroom_event, workspace};
use futures_util::{stream, Stream, StreamExt};
use uuid::Uuid;

use super::{
    feed::{same_credits, WorkroomFeed},
    presence::Watching,
    sequence::{Follower, WorkroomLog},
    Realtime,
};
use crate::{
    auth::{policy, Action, Session},
    db::Db,
    error::AppResult,
};

/// A watcher of a workroom: its gap-free position in the events, and its presence.
pub struct EventWatch {
    pub feed: Arc<WorkroomFeed>,
    pub follower: Follower<WorkroomLog>,
    _watching: Watching,
}

/// Starts watching a workroom's events after `after_seq`; the caller is a watcher until it is dropped.
pub async fn workroom_events(
    realtime: &Realtime,
    db: &Db,
    session: &Session,
    workroom: Uuid,
    after_seq: i64,
) -> AppResult<EventWatch> {
    let feed = workroom_feed(realtime, db, session, workroom).await?;
    let follower = feed.events.follow(after_seq.max(0));
    let watching = realtime.presence.watch(feed.id, session.user.id);
    Ok(EventWatch {
        feed,
        follower,
        _watching: watching,
    })
}

impl EventWatch {
    /// The events one by one; an error ends the stream after it.
    pub fn into_stream(self) -> impl Stream<Item = AppResult<Arc<workroom_event::Model>>> {
        batches(self, |watch| &mut watch.follower)
    }
}

/// The workroom's watcher list as it is now, then each time it changes
/// (the subscriber is not a watcher): a client that comes while others
/// already watch sees them at once.
pub async fn workroom_watchers(
    realtime: &Realtime,
    db: &Db,
    session: &Session,
    workroom: Uuid,
) -> AppResult<impl Stream<Item = Arc<Vec<Uuid>>>> {
    let feed = workroom_feed(realtime, db, session, workroom).await?;
    // Followed before the list is read: a change after the read is not missed.
    let changes = feed.watchers.subscribe();
    feed.refresh_watchers();
    let now = Arc::new(realtime.presence.watchers(feed.id).await);
    let state = (feed, changes, now.clone());
    let changes = stream::unfold(state, |(feed, mut changes, mut last)| async move {
        loop {
            changes.changed().await.ok()?;
            let current = changes.borrow_and_update().clone();
            if current != last {
                last = current.clone();
                return Some((current, (feed, changes, last)));
            }
        }
    });
    Ok(stream::once(async move { now }).chain(changes))
}

/// The workspace's new activity entries, gap-free and in order.
pub async fn activity(
    realtime: &Realtime,
    session: &Session,
) -> AppResult<impl Stream<Item = AppResult<Arc<activity_event::Model>>>> {
    policy::require(session, Action::Read)?;
    let feed = realtime.feeds.workspace(session.workspace_id).await?;
    let follower = feed.activity.follow(feed.activity.head());
    Ok(batches((feed, follower), |(_, follower)| follower))
}

/// The workspace as it is now, then each time its credits change.
pub async fn credits(
    realtime: &Realtime,
    db: &Db,
    session: &Session,
) -> AppResult<impl Stream<Item = workspace::Model>> {
    policy::require(session, Action::Read)?;
    let feed = realtime.feeds.workspace(session.workspace_id).await?;
    // Followed before the workspace is read: a change after the read is not missed.
    let changes = feed.credits.subscribe();
    feed.refresh_credits();
    let now = crate::workspace::service::get(db.conn(), session.workspace_id).await?;
    let state = (feed, changes, now.clone());
    let changes = stream::unfold(state, |(feed, mut changes, mut last)| async move {
        loop {
            changes.changed().await.ok()?;
            let Some(current) = changes.borrow_and_update().clone() else {
                continue;
            };
            if !same_credits(&current, &last) {
                last = current.clone();
                return Some((current, (feed, changes, last)));
            }
        }
    });
    Ok(stream::once(async move { now }).chain(changes))
}

/// A workroom of the caller's workspace, and this instance's feed of it.
async fn workroom_feed(
    realtime: &Realtime,
    db: &Db,
    session: &Session,
    workroom: Uuid,
) -> AppResult<Arc<WorkroomFeed>> {
    policy::require(session, Action::Read)?;
    let room = crate::workroom::service::find(db.conn(), session.workspace_id, workroom).await?;
    realtime.feeds.workroom(room.id).await
}

/// A follower's batches as single rows; an error is the last item.
fn batches<S, L>(
    state: S,
    follower: fn(&mut S) -> &mut Follower<L>,
) -> impl Stream<Item = AppResult<Arc<L::Row>>>
where
    S: Send + 'static,
    L: super::sequence::Log,
{
    stream::unfold(Some(state), move |state| async move {
        let mut state = state?;
        match follower(&mut state).next_batch().await {
            Ok(Some(rows)) => Some((stream::iter(rows.into_iter().map(Ok)).boxed(), Some(state))),
            Ok(None) => None,
            Err(err) => Some((stream::once(async { Err(err) }).boxed(), None)),
        }
    })
    .flatten()
}
