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
//!
//! This module connects and migrates; `txn` holds [`Db::begin`] and
//! [`WriteTxn`], `sql` helpers for queries and their errors.

pub mod scoped;
mod sql;
mod txn;

pub use scoped::{found, scoped};

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    sqlx::sqlite::SqliteJournalMode, ConnectOptions, DatabaseBackend, DatabaseConnection, DbErr,
};
use tokio::sync::Mutex;

use crate::{auth::session_cache::SessionCache, realtime::Bus};

pub use sql::{containing, is_unique_violation, total_bytes};
pub use txn::WriteTxn;

/// The connection pool at one moment.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    pub idle: u32,
    pub in_use: u32,
}

#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// Present on SQLite only: one write transaction at a time in this process.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Statements run so far; lets tests prove a page's query count is constant.
    statements: Arc<AtomicU64>,
    /// Where committed transactions publish their messages (none for `atelya migrate`).
    bus: Option<Bus>,
    /// Sessions recently read; a committed access change drops its member's.
    sessions: Arc<SessionCache>,
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
            // An embedded file cannot hang up: a ping before each checkout
            // would be one more round trip to the connection's thread.
            options.max_connections(8).test_before_acquire(false);
        } else {
            // Only a connection idle long enough for a proxy or a firewall
            // to have dropped it is pinged before it is handed out.
            options
                .max_connections(20)
                .test_before_acquire_if_idle_for(Duration::from_secs(30));
        }
        let mut conn = sea_orm::Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(crate::telemetry::DB_STATEMENTS).increment(1);
            // Each statement and its time, to profile a step with
            // `RUST_LOG=atelya::sql=trace`: the SQL text only, never its values.
            tracing::trace!(
                target: "atelya::sql",
                micros = u64::try_from(info.elapsed.as_micros()).unwrap_or(u64::MAX),
                sql = %info.statement.sql,
            );
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
            sessions: Default::default(),
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

    /// This handle, keeping sessions for `fresh_for` (zero: not at all).
    pub fn caching_sessions_for(mut self, fresh_for: Duration) -> Db {
        self.sessions = Arc::new(SessionCache::new(fresh_for));
        self
    }

    /// The sessions this instance read recently.
    pub fn sessions(&self) -> &Arc<SessionCache> {
        &self.sessions
    }

    /// How many pooled connections are idle and how many are in use.
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle) = match self.conn.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = idle as u32;
        PoolStatus {
            idle,
            in_use: size.saturating_sub(idle),
        }
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
}
