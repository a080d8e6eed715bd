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

    /// How many feeds are live (for metrics).
    pub fn live(&self) -> usize {
        self.workrooms.live() + self.workspaces.live()
    }
}

/// Live feeds by key. Each key has a slot of its own, so starting one feed
/// (a Redis SUBSCRIBE, a database read) holds up only the subscribers of
/// that same feed, which must wait for it anyway.
struct Registry<F> {
    slots: std::sync::Mutex<HashMap<Uuid, Slot<F>>>,
}

type Slot<F> = Arc<tokio::sync::Mutex<Weak<F>>>;

impl<F> Default for Registry<F> {
    fn default() -> Self {
        Registry {
            slots: Default::default(),
        }
    }
}

impl<F> Registry<F> {
    async fn get_or_start<Fut>(&self, id: Uuid, start: impl FnOnce() -> Fut) -> AppResult<Arc<F>>
    where
        Fut: Future<Output = AppResult<Arc<F>>>,
    {
        let slot = {
            let mut slots = self.slots.lock().expect("feeds lock");
            if !slots.contains_key(&id) {
                // Forget the slots of feeds that stopped (a slot in use is locked or shared).
                slots.retain(|_, slot| {
                    Arc::strong_count(slot) > 1
                        || slot.try_lock().map_or(true, |feed| feed.strong_count() > 0)
                });
            }
            slots.entry(id).or_default().clone()
        };
        let mut feed = slot.lock().await;
        if let Some(feed) = feed.upgrade() {
            return Ok(feed);
        }
        let started = start().await?;
        *feed = Arc::downgrade(&started);
        Ok(started)
    }

    fn live(&self) -> usize {
        let slots = self.slots.lock().expect("feeds lock");
        slots
            .values()
            .filter(|slot| slot.try_lock().map_or(true, |feed| feed.strong_count() > 0))
            .count()
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
                signal = self.subscription.recv() => match resync_or(signal) {
                    Some(message) => match &*message {
                        Message::Activity(row) => {
                            self.activity.accept(row.clone()).await;
                            false
                        }
                        Message::Credits => true,
                        _ => false,
                    },
                    None => {
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

/// A topic's message, or `None` when its subscribers must re-read the
/// database: the bus reconnected or lagged, or a commit's outcome is unknown.
fn resync_or(signal: Signal) -> Option<Arc<Message>> {
    match signal {
        Signal::Message(message) if *message != Message::Resync => Some(message),
        _ => None,
    }
}

/// Whether two readings of a workspace show the same `Credits`.
pub fn same_credits(a: &workspace::Model, b: &workspace::Model) -> bool {
    (a.credit_balance, a.credit_reserved, &a.plan) == (b.credit_balance, b.credit_reserved, &b.plan)
}
