//! Live delivery: the event bus, feeds, presence, and the sockets' control.
//!
//! - `message`: the bus's topics and messages.
//! - `bus`: publish after commit, subscribe anywhere: in-process, or Redis
//!   pub/sub between instances (one pub/sub connection per process).
//! - `sequence`: gap-free, exactly-once, in-order delivery of a sequenced log.
//! - `feed`: what this instance follows of a workroom or workspace, shared by
//!   its local subscribers.
//! - `presence`: who watches a workroom now, across instances.
//! - `render`: a workroom's events rendered once per subscription shape.
//! - `sockets`: open sockets, told about token expiry, access changes and shutdown.
//! - `watch`: the subscriptions' sources, authorized; `graphql`: the Subscription root.
//!
//! The flow of one workroom event: a change appends it in its transaction
//! (`WriteTxn::publish`), the commit publishes it on the workroom's topic,
//! every instance with watchers of that workroom receives it in its feed,
//! which fills any gap from the database and hands it once to each local
//! watcher, who renders it (once per shape) and queues it on its socket.

pub mod bus;
pub mod feed;
pub mod graphql;
pub mod message;
pub mod presence;
pub mod render;
pub mod sequence;
pub mod sockets;
pub mod watch;

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::{sync::Notify, task::JoinHandle};
use uuid::Uuid;

pub use bus::{Bus, Signal};
pub use message::{Message, Topic};

use self::{
    bus::{redis::RedisTransport, Hub},
    feed::{FeedContext, Feeds},
    presence::Presence,
    sockets::{flag, Sockets},
};
use crate::{clock::Clock, db::Db};

/// This instance's live machinery.
pub struct Realtime {
    /// This instance's name (in run leases and presence entries).
    pub instance: String,
    pub bus: Bus,
    pub presence: Presence,
    pub feeds: Feeds,
    pub sockets: Arc<Sockets>,
    /// A command connection to Redis when it is configured, for whatever
    /// else the instances share there.
    pub redis: Option<ConnectionManager>,
}

pub type StartError = Box<dyn std::error::Error + Send + Sync>;

impl Realtime {
    /// In-process without `redis_url`; through Redis (which must answer) with it.
    pub async fn start(
        redis_url: Option<&str>,
        prefix: &str,
        db: &Db,
        clock: Clock,
    ) -> Result<Realtime, StartError> {
        let instance = format!("atelya-{}", Uuid::now_v7().simple());
        let (bus, presence, redis) = match redis_url {
            None => {
                let bus = Bus::in_process();
                (bus.clone(), Presence::in_memory(bus), None)
            }
            Some(url) => {
                let hub = Hub::new();
                let transport = RedisTransport::connect(url, prefix, hub.clone()).await?;
                let bus = Bus::with(hub, Arc::new(transport));
                let connection = bus::redis::client(url)?.get_connection_manager().await?;
                let presence = Presence::redis(bus.clone(), connection.clone(), prefix, &instance);
                (bus, presence, Some(connection))
            }
        };
        let feeds = Feeds::new(FeedContext {
            db: db.clone(),
            bus: bus.clone(),
            presence: presence.clone(),
        });
        Ok(Realtime {
            instance,
            bus,
            presence,
            feeds,
            sockets: Sockets::new(clock),
            redis,
        })
    }

    /// Starts the background work: token expiry, and the control topic
    /// (`work` is woken when another instance has work to claim).
    /// `sessions` are the instance's cached sessions, dropped as access changes.
    pub async fn spawn(
        &self,
        work: Arc<Notify>,
        sessions: Arc<crate::auth::session_cache::SessionCache>,
    ) -> Vec<JoinHandle<()>> {
        let control = self.bus.subscribe(Topic::Control).await;
        vec![
            tokio::spawn(self.sockets.clone().watch_expiry()),
            tokio::spawn(follow_control(
                control,
                self.bus.clone(),
                self.sockets.clone(),
                work,
                sessions,
            )),
        ]
    }
}

async fn follow_control(
    mut control: bus::Subscription,
    bus: Bus,
    sockets: Arc<Sockets>,
    work: Arc<Notify>,
    sessions: Arc<crate::auth::session_cache::SessionCache>,
) {
    loop {
        match control.recv().await {
            Signal::Message(message) => match &**message {
                Message::AccessChanged {
                    workspace_id,
                    user_id,
                } => {
                    sessions.forget(*workspace_id, *user_id);
                    sockets.signal_member(*workspace_id, *user_id, flag::RECHECK)
                }
                Message::Resync => {
                    sessions.clear();
                    bus.hub().resync_all();
                    sockets.signal_all(flag::RECHECK_SOON);
                }
                Message::Work => work.notify_one(),
                _ => {}
            },
            // Access changes may have been missed.
            Signal::Resync => {
                sessions.clear();
                sockets.signal_all(flag::RECHECK_SOON)
            }
        }
    }
}
