//! Feeds: what this instance follows of a workroom or a workspace, shared by
//! every local subscriber of it.
//!
//! A feed holds one bus subscription to its topic and runs one task that
//! turns the topic's messages into:
//! - a workroom's events (or a workspace's activity), gap-free and in order,
//!   through a [`Fanout`](super::sequence::Fanout);
//! - the workroom's watcher list, or the workspace's credits, re-read once
//!   per change for all local subscribers and handed out through a `watch`
//!   channel (a slow subscriber simply sees the latest value).
//!
//! A feed starts with its first subscriber and stops with its last.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Weak},
};

use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{bus::Signal, presence::Presence, Bus, Message};
use crate::{db::Db, error::AppResult};

mod workroom;
mod workspace;

pub use workroom::WorkroomFeed;
pub use workspace::{same_credits, WorkspaceFeed};

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

/// A topic's message, or `None` when its subscribers must re-read the
/// database: the bus reconnected or lagged, or a commit's outcome is unknown.
fn resync_or(signal: Signal) -> Option<Arc<Message>> {
    match signal {
        Signal::Message(carried) if **carried != Message::Resync => Some(carried.message().clone()),
        _ => None,
    }
}
