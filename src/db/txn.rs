//! Write transactions: [`Db::begin`] (through the SQLite write gate),
//! [`WriteTxn`] with its row locks and commit, rollback of an abandoned one,
//! and publishing what a committed one collected.

use std::ops::Deref;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PrimaryKeyTrait,
    QuerySelect, TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use super::Db;
use crate::{
    auth::session_cache::SessionCache,
    error::{AppError, AppResult},
    realtime::{Bus, Message, Topic},
};

impl Db {
    /// Opens a write transaction. Dropping it without [`WriteTxn::commit`] rolls back.
    pub async fn begin(&self) -> AppResult<WriteTxn> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let txn = self.conn.begin().await?;
        Ok(WriteTxn {
            txn: Some(txn),
            gate,
            bus: self.bus.clone(),
            published: Default::default(),
            on_commit: Default::default(),
            sessions: self.sessions.clone(),
        })
    }
}

/// A database transaction that holds the SQLite write gate while it lives.
///
/// A transaction dropped without commit (an error path) is rolled back before
/// the gate opens: the driver on its own only queues the rollback, and until it
/// runs the connection keeps its locks (SQLite's write lock, PostgreSQL's row
/// locks), which the next writer would wait on.
pub struct WriteTxn {
    /// Always `Some` until commit or drop.
    txn: Option<DatabaseTransaction>,
    gate: Option<OwnedMutexGuard<()>>,
    bus: Option<Bus>,
    /// Messages to publish once the transaction commits, in order.
    published: std::sync::Mutex<Vec<(Topic, Message)>>,
    /// What to count once the transaction has committed (metrics of what it did).
    on_commit: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    /// The instance's cached sessions, which a committed access change clears.
    sessions: std::sync::Arc<SessionCache>,
}

impl WriteTxn {
    /// Commits, then publishes what the transaction collected. Both run in a
    /// task of their own, so a caller that is dropped meanwhile (a client
    /// that went away) cannot leave a commit that happened unpublished. When
    /// the commit's outcome is unknown (it failed as it was sent), the
    /// subscribers of every topic it would have published on re-read the
    /// database instead (`Message::Resync`): a row that may not exist is
    /// never published.
    pub async fn commit(mut self) -> AppResult<()> {
        let txn = self.txn.take().expect("a live transaction");
        let gate = self.gate.take();
        let bus = self.bus.take();
        let published = std::mem::take(&mut *self.published.lock().expect("publish list"));
        let on_commit = std::mem::take(&mut *self.on_commit.lock().expect("commit hooks"));
        let sessions = self.sessions.clone();
        let committing = tokio::spawn(async move {
            let committed = txn.commit().await;
            // Before anyone hears of the commit: this instance serves no
            // session its change ended (whatever the commit's outcome).
            for (_, message) in &published {
                if let Message::AccessChanged {
                    workspace_id,
                    user_id,
                } = message
                {
                    sessions.forget(*workspace_id, *user_id);
                }
            }
            drop(gate);
            if let Some(bus) = bus {
                announce(&bus, published, committed.is_ok());
            }
            if committed.is_ok() {
                on_commit.into_iter().for_each(|count| count());
            }
            committed
        });
        match committing.await {
            Ok(committed) => Ok(committed?),
            Err(err) => Err(AppError::Internal(format!("committing failed: {err}"))),
        }
    }

    /// Runs `count` once this transaction has committed (never if it does
    /// not): metrics of what the transaction did, so a rollback counts nothing.
    pub fn count_on_commit(&self, count: impl FnOnce() + Send + 'static) {
        self.on_commit
            .lock()
            .expect("commit hooks")
            .push(Box::new(count));
    }

    /// Publishes `message` on `topic` once this transaction commits (and never
    /// if it does not). A notice already queued (credits changed, access
    /// changed…) is not queued twice; events and activity entries always are.
    pub fn publish(&self, topic: Topic, message: Message) {
        let mut published = self.published.lock().expect("publish list");
        let notice = !matches!(message, Message::Event(_) | Message::Activity(_));
        if notice && published.iter().any(|(t, m)| *t == topic && *m == message) {
            return;
        }
        published.push((topic, message));
    }

    fn txn(&self) -> &DatabaseTransaction {
        self.txn.as_ref().expect("a live transaction")
    }

    /// Reads a workspace row and locks it until commit, so changes that must see
    /// a settled workspace (seats, credits, the activity chain) run one at a time.
    pub async fn lock_workspace(&self, id: Uuid) -> AppResult<entity::workspace::Model> {
        self.lock_by_id::<entity::workspace::Entity>(id)
            .await?
            .ok_or(AppError::NotFound("workspace"))
    }

    /// Locks a workspace's row until commit without reading it, where its
    /// values are not needed: `FOR UPDATE` on PostgreSQL (the lock order
    /// against other writers); nothing on SQLite, whose write gate already
    /// serializes writers, so no statement is spent there.
    pub async fn hold_workspace(&self, id: Uuid) -> AppResult<()> {
        if self.txn().get_database_backend() == DatabaseBackend::Postgres {
            self.lock_workspace(id).await?;
        }
        Ok(())
    }

    /// Reads a row by id and locks it until commit (`FOR UPDATE` on PostgreSQL;
    /// on SQLite the write gate already serializes writers).
    pub async fn lock_by_id<E>(&self, id: Uuid) -> AppResult<Option<E::Model>>
    where
        E: EntityTrait,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        let query = E::find_by_id(id);
        let query = match self.txn().get_database_backend() {
            DatabaseBackend::Postgres => query.lock_exclusive(),
            _ => query,
        };
        Ok(query.one(self.txn()).await?)
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        self.txn()
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        let (Some(txn), gate) = (self.txn.take(), self.gate.take()) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(err) = txn.rollback().await {
                        tracing::warn!(error = %err, "rolling back an abandoned transaction failed");
                    }
                    drop(gate);
                });
            }
            // Outside a runtime (shutdown): the driver's own deferred rollback applies.
            Err(_) => drop((txn, gate)),
        }
    }
}

/// Publishes a committed transaction's messages, or after a commit whose
/// outcome is unknown, a resync on each of their topics.
fn announce(bus: &Bus, published: Vec<(Topic, Message)>, committed: bool) {
    if committed {
        for (topic, message) in published {
            bus.publish(topic, message);
        }
        return;
    }
    let mut topics: Vec<Topic> = Vec::new();
    for (topic, _) in published {
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    for topic in topics {
        bus.publish(topic, Message::Resync);
    }
}
