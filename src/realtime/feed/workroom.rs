//! A workroom's feed: its events, and its watcher list re-read once per
//! change (and its expired watchers pruned) while anyone here follows it.

use std::{sync::Arc, time::Duration};

use entity::workroom;
use sea_orm::EntityTrait;
use tokio::{
    sync::{watch, Notify},
    time::{sleep_until, Instant},
};
use uuid::Uuid;

use super::{resync_or, FeedContext, Task};
use crate::{
    error::AppResult,
    realtime::{
        bus::Subscription,
        presence::{self, Presence},
        render::Shapes,
        sequence::{Fanout, WorkroomLog},
        Message, Topic,
    },
};

/// How long a feed gathers changes before re-reading the watcher list once.
const SETTLE: Duration = Duration::from_millis(50);

/// One workroom as this instance follows it.
pub struct WorkroomFeed {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub events: Arc<Fanout<WorkroomLog>>,
    /// The watcher list, re-read when it changes while anyone here follows it.
    pub watchers: watch::Sender<Arc<Vec<Uuid>>>,
    /// Asks the feed to re-read the watcher list.
    refresh: Arc<Notify>,
    /// Events rendered once per subscription shape (see `render`).
    pub shapes: Shapes,
    _task: Task,
}

impl WorkroomFeed {
    pub(super) async fn start(context: FeedContext, id: Uuid) -> AppResult<Arc<WorkroomFeed>> {
        // Subscribed before the head is read: nothing committed after it can be missed.
        let subscription = context.bus.subscribe(Topic::Workroom(id)).await;
        let room = workroom::Entity::find_by_id(id)
            .one(context.db.conn())
            .await?
            .ok_or(crate::error::AppError::NotFound("workroom"))?;
        let events = Arc::new(Fanout::new(
            WorkroomLog(context.db.clone(), id),
            room.last_seq,
        ));
        let (watchers, _) = watch::channel(Arc::new(Vec::new()));
        let refresh = Arc::new(Notify::new());
        let task = WorkroomTask {
            id,
            subscription,
            events: events.clone(),
            watchers: watchers.clone(),
            refresh: refresh.clone(),
            presence: context.presence.clone(),
        };
        Ok(Arc::new(WorkroomFeed {
            id,
            workspace_id: room.workspace_id,
            events,
            watchers,
            refresh,
            shapes: Shapes::default(),
            _task: Task(tokio::spawn(task.run())),
        }))
    }

    /// Re-reads the watcher list soon (a new follower of it needs a current value).
    pub fn refresh_watchers(&self) {
        self.refresh.notify_one();
    }
}

struct WorkroomTask {
    id: Uuid,
    subscription: Subscription,
    events: Arc<Fanout<WorkroomLog>>,
    watchers: watch::Sender<Arc<Vec<Uuid>>>,
    refresh: Arc<Notify>,
    presence: Presence,
}

impl WorkroomTask {
    async fn run(mut self) {
        let mut reread_at: Option<Instant> = None;
        let mut prune = tokio::time::interval(presence::HEARTBEAT);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let followed = |w: &watch::Sender<Arc<Vec<Uuid>>>| w.receiver_count() > 0;
        loop {
            tokio::select! {
                signal = self.subscription.recv() => match resync_or(signal) {
                    Some(message) => match &*message {
                        Message::Event(row) => self.events.accept(row.clone()).await,
                        Message::Watchers => {
                            reread_at.get_or_insert_with(|| Instant::now() + SETTLE);
                        }
                        _ => {}
                    },
                    None => {
                        self.events.catch_up(i64::MAX).await;
                        reread_at.get_or_insert_with(Instant::now);
                    }
                },
                _ = self.refresh.notified() => {
                    reread_at.get_or_insert_with(Instant::now);
                }
                _ = sleep_until(reread_at.unwrap_or_else(Instant::now)), if reread_at.is_some() => {
                    reread_at = None;
                    if followed(&self.watchers) {
                        let users = Arc::new(self.presence.watchers(self.id).await);
                        self.watchers.send_if_modified(|current| {
                            let changed = *current != users;
                            *current = users;
                            changed
                        });
                    }
                }
                _ = prune.tick(), if self.presence.is_shared() && followed(&self.watchers) => {
                    self.presence.prune(self.id).await;
                }
            }
        }
    }
}
