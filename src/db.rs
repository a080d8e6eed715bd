//! The database handle: connecting, migrating, and write transactions.
//!
//! Every change runs in one [`WriteTxn`]. On PostgreSQL, rows that serialize
//! writers (a workspace) are locked with `SELECT … FOR UPDATE`. SQLite has one
//! writer at a time anyway, but a deferred transaction that reads before it
//! writes fails with SQLITE_BUSY when another writer committed in between, and
//! no busy timeout helps; so on SQLite this process lets one write transaction
//! in at a time (the write gate), which makes every transaction's reads current.
//!
//! A transaction also collects what it will publish on the bus
//! ([`WriteTxn::publish`]); the messages go out only once it has committed,
//! so a subscriber can always read back what a message names.

use std::{
    ops::Deref,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    sqlx::sqlite::SqliteJournalMode, ConnectOptions, ConnectionTrait, DatabaseBackend,
    DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, PrimaryKeyTrait, QuerySelect,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    realtime::{Bus, Message, Topic},
};

#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// Present on SQLite only: one write transaction at a time in this process.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Statements run so far; lets tests prove a page's query count is constant.
    statements: Arc<AtomicU64>,
    /// Where committed transactions publish their messages (none for `atelya migrate`).
    bus: Option<Bus>,
}

impl Db {
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str) -> Result<Db, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10))
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        if url.starts_with("sqlite") {
            options.max_connections(8);
        } else {
            options.max_connections(20);
        }
        let mut conn = sea_orm::Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let write_gate = match conn.get_database_backend() {
            DatabaseBackend::Sqlite => Some(Arc::new(Mutex::new(()))),
            _ => None,
        };
        Ok(Db {
            conn,
            write_gate,
            statements,
            bus: None,
        })
    }

    /// This handle, publishing what its transactions collect on `bus` after they commit.
    pub fn publishing_to(mut self, bus: Bus) -> Db {
        self.bus = Some(bus);
        self
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// The connection, for reads. Every write goes through [`Db::begin`]: on
    /// SQLite a write outside the write gate can land between a transaction's
    /// read and its first write and make that transaction fail.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// How many statements this handle has run (for tests of N+1 queries).
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

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
        let committing = tokio::spawn(async move {
            let committed = txn.commit().await;
            drop(gate);
            if let Some(bus) = bus {
                announce(&bus, published, committed.is_ok());
            }
            committed
        });
        match committing.await {
            Ok(committed) => Ok(committed?),
            Err(err) => Err(AppError::Internal(format!("committing failed: {err}"))),
        }
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

/// True when a database error is a unique-constraint violation.
/// A LIKE pattern matching any text that contains `text` literally: its
/// `%`, `_` and `\\` match only themselves.
pub fn containing(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod like_tests {
    use sea_orm::{
        sea_query::{Alias, Expr, ExprTrait, Query, SqliteQueryBuilder},
        ConnectionTrait, Database, Statement,
    };

    use super::containing;

    /// Which of `texts` the pattern for `needle` matches, asked of SQLite.
    async fn matches(needle: &str, texts: &[&str]) -> Vec<String> {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let mut found = Vec::new();
        for text in texts {
            let query = Query::select()
                .expr_as(Expr::val(*text).like(containing(needle)), Alias::new("hit"))
                .to_string(SqliteQueryBuilder);
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), query))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<bool>("", "hit").unwrap() {
                found.push(text.to_string());
            }
        }
        found
    }

    #[tokio::test]
    async fn wildcards_in_the_searched_text_match_only_themselves() {
        let texts = ["a_b", "axb", "50%", "500", r"c:\d", "c:d"];
        assert_eq!(matches("a_b", &texts).await, ["a_b"]);
        assert_eq!(matches("0%", &texts).await, ["50%"]);
        assert_eq!(matches(r"\", &texts).await, [r"c:\d"]);
        assert_eq!(matches("%", &texts).await, ["50%"]);
    }
}
