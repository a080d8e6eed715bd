//! Feeds: what this instance follows of a workroom or a workspace, shared by
//! every local subscriber of it.
//!
//! A feed holds one bus subscription to its topic and runs one task that
//! turns the topic's messages into:
//! - a workroom's events (or a workspace's activity), gap-free and in order,
//!   through a [`Fanout`];
//! - the workroom's watcher list, or the workspace's credits, re-read once
//!   per change for all local subscribers and handed out through a `watch`
//!   channel (a slow subscriber simply sees the latest value).
//!
//! A feed starts with its first subscriber and stops with its last.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Weak},
    time::Duration,
};

use entity::{workroom, workspace};
use sea_orm::EntityTrait;
use tokio::{
    sync::{watch, Notify},
    task::JoinHandle,
    time::{sleep_until, Instant},
};
use uuid::Uuid;

use super::{
    bus::{Signal, Subscription},
    presence::{self, Presence},
    render::Shapes,
    sequence::{ActivityLog, Fanout, WorkroomLog},
    Bus, Message, Topic,
};
use crate::{db::Db, error::AppResult};

/// How long a feed gathers changes before re-reading the watcher list once.
const SETTLE: Duration = Duration::from_millis(50);

/// What feeds need from the instance.
#[derive(Clone)]
pub struct FeedContext {
    pub db: Db,
    pub bus: Bus,
    pub presence: Presence,
}

/// The live feeds of this instance.
pub struct Feeds {
    context: FeedContext,
    workrooms: Registry<WorkroomFeed>,
    workspaces: Registry<WorkspaceFeed>,
}

impl Feeds {
    pub fn new(context: FeedContext) -> Feeds {
        Feeds {
            context,
            workrooms: Registry::default(),
            workspaces: Registry::default(),
        }
    }

    pub async fn workroom(&self, id: Uuid) -> AppResult<Arc<WorkroomFeed>> {
        self.workrooms
            .get_or_start(id, || WorkroomFeed::start(self.context.clone(), id))
            .await
    }

    pub async fn workspace(&self, id: Uuid) -> AppResult<Arc<WorkspaceFeed>> {
        self.workspaces
            .get_or_start(id, || WorkspaceFeed::start(self.context.clone(), id))
            .await
    }

    /// How many feeds are live (for tests and metrics).
    pub async fn live(&self) -> usize {
        self.workrooms.live().await + self.workspaces.live().await
    }
}

struct Registry<F> {
    feeds: tokio::sync::Mutex<HashMap<Uuid, Weak<F>>>,
}

impl<F> Default for Registry<F> {
    fn default() -> Self {
        Registry {
            feeds: Default::default(),
        }
    }
}

impl<F> Registry<F> {
    async fn get_or_start<Fut>(&self, id: Uuid, start: impl FnOnce() -> Fut) -> AppResult<Arc<F>>
    where
        Fut: Future<Output = AppResult<Arc<F>>>,
    {
        // Held while starting, so two subscribers cannot start two feeds of one topic.
        let mut feeds = self.feeds.lock().await;
        if let Some(feed) = feeds.get(&id).and_then(Weak::upgrade) {
            return Ok(feed);
        }
        let feed = start().await?;
        feeds.retain(|_, feed| feed.strong_count() > 0);
        feeds.insert(id, Arc::downgrade(&feed));
        Ok(feed)
    }

    async fn live(&self) -> usize {
        let feeds = self.feeds.lock().await;
        feeds.values().filter(|f| f.strong_count() > 0).count()
    }
}

/// Stops a feed's task with the feed.
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

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
    async fn start(context: FeedContext, id: Uuid) -> AppResult<Arc<WorkroomFeed>> {
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
                signal = self.subscription.recv() => match signal {
                    Signal::Message(message) => match &*message {
                        Message::Event(row) => self.events.accept(row.clone()).await,
                        Message::Watchers => {
                            reread_at.get_or_insert_with(|| Instant::now() + SETTLE);
                        }
                        _ => {}
                    },
                    Signal::Resync => {
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

/// One workspace as this instance follows it.
pub struct WorkspaceFeed {
    pub id: Uuid,
    pub activity: Arc<Fanout<ActivityLog>>,
    /// The workspace row, re-read when its credits change while anyone here follows them.
    pub credits: watch::Sender<Option<workspace::Model>>,
    refresh: Arc<Notify>,
    _task: Task,
}

impl WorkspaceFeed {
    async fn start(context: FeedContext, id: Uuid) -> AppResult<Arc<WorkspaceFeed>> {
        let subscription = context.bus.subscribe(Topic::Workspace(id)).await;
        let ws = crate::workspace::service::get(context.db.conn(), id).await?;
        let activity = Arc::new(Fanout::new(
            ActivityLog(context.db.clone(), id),
            ws.activity_seq,
        ));
        let (credits, _) = watch::channel(Some(ws));
        let refresh = Arc::new(Notify::new());
        let task = WorkspaceTask {
            id,
            db: context.db.clone(),
            subscription,
            activity: activity.clone(),
            credits: credits.clone(),
            refresh: refresh.clone(),
        };
        Ok(Arc::new(WorkspaceFeed {
            id,
            activity,
            credits,
            refresh,
            _task: Task(tokio::spawn(task.run())),
        }))
    }

    /// Re-reads the credits now.
    pub fn refresh_credits(&self) {
        self.refresh.notify_one();
    }
}

struct WorkspaceTask {
    id: Uuid,
    db: Db,
    subscription: Subscription,
    activity: Arc<Fanout<ActivityLog>>,
    credits: watch::Sender<Option<workspace::Model>>,
    refresh: Arc<Notify>,
}

impl WorkspaceTask {
    async fn run(mut self) {
        loop {
            let reread = tokio::select! {
                signal = self.subscription.recv() => match signal {
                    Signal::Message(message) => match &*message {
                        Message::Activity(row) => {
                            self.activity.accept(row.clone()).await;
                            false
                        }
                        Message::Credits => true,
                        _ => false,
                    },
                    Signal::Resync => {
                        self.activity.catch_up(i64::MAX).await;
                        true
                    }
                },
                _ = self.refresh.notified() => true,
            };
            if reread && self.credits.receiver_count() > 0 {
                self.reread_credits().await;
            }
        }
    }

    async fn reread_credits(&self) {
        match crate::workspace::service::get(self.db.conn(), self.id).await {
            Ok(ws) => {
                self.credits.send_if_modified(|current| {
                    let changed = current.as_ref().is_none_or(|c| !same_credits(c, &ws));
                    *current = Some(ws);
                    changed
                });
            }
            Err(err) => tracing::warn!(error = %err, "reading credits failed"),
        }
    }
}

/// Whether two readings of a workspace show the same `Credits`.
pub fn same_credits(a: &workspace::Model, b: &workspace::Model) -> bool {
    (a.credit_balance, a.credit_reserved, &a.plan) == (b.credit_balance, b.credit_reserved, &b.plan)
}
