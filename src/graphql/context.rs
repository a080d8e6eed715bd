//! What a resolver reads from the request context.

use std::sync::OnceLock;

use async_graphql::{dataloader::DataLoader, Context};

use entity::{approval_grant, export, source, task, tool_call, workroom, workroom_agent};

use super::loaders::{AgentLoader, DeliverablesLoader, PlanLoader, RowsBy, UserLoader};
use crate::{
    auth::{Authn, Session},
    db::Db,
    error::AppResult,
    state::AppState,
};

/// The caller's address, for rate limits.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// The id of the HTTP request (or websocket) an operation came in on: on
/// every log line of it, and in the extensions of its INTERNAL errors, so an
/// operator can find what a client reports.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Where a persisted query's document is kept once it may run.
#[async_graphql::async_trait::async_trait]
pub trait PersistedStore: Send + Sync {
    async fn register(&self, hash: &str, document: &str);
}

/// A document sent with its persisted-query hash: registered under the hash
/// only once the document was admitted (it parsed, stayed within every
/// limit and validated), so nothing that cannot run is ever kept.
#[derive(Clone)]
pub struct Registration {
    pub hash: String,
    pub store: std::sync::Arc<dyn PersistedStore>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl Registration {
    pub async fn register(&self, document: &str) {
        self.store.register(&self.hash, document).await;
    }
}

/// Where this server is reached from the outside, without a trailing slash
/// (`https://api.example.com`), for the absolute URLs it hands out.
#[derive(Clone, Debug)]
pub struct PublicBase(pub String);

impl PublicBase {
    /// `ATELYA_PUBLIC_URL`, or the address the server listens on.
    pub fn configured(config: &crate::config::Config) -> PublicBase {
        match &config.public_url {
            Some(url) => PublicBase(url.trim_end_matches('/').to_owned()),
            None => PublicBase(format!("http://{}", config.bind)),
        }
    }

    /// The configured address, or the one the request was sent to: its Host
    /// (behind a trusted proxy, X-Forwarded-Host and X-Forwarded-Proto).
    pub fn of_request(
        config: &crate::config::Config,
        headers: &axum::http::HeaderMap,
    ) -> PublicBase {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if config.public_url.is_some() {
            return PublicBase::configured(config);
        }
        let forwarded = |name| header(name).filter(|_| config.trust_proxy);
        let host = forwarded("x-forwarded-host").or_else(|| header("host"));
        let scheme = match forwarded("x-forwarded-proto") {
            Some("https") => "https",
            _ => "http",
        };
        match host.filter(|h| valid_host(h)) {
            Some(host) => PublicBase(format!("{scheme}://{host}")),
            None => PublicBase::configured(config),
        }
    }
}

/// A host and optional port: letters, digits, dots, dashes, and brackets and
/// colons for IPv6, nothing that could turn a URL into another.
fn valid_host(host: &str) -> bool {
    host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Loaders live for one request: a shared loader would serve one workspace's
/// rows to another. Each is built the first time a resolver asks for it, so
/// a request pays only for the loaders it uses.
pub struct Loaders {
    db: Db,
    users: OnceLock<DataLoader<UserLoader>>,
    agents: OnceLock<DataLoader<AgentLoader>>,
    deliverables: OnceLock<DataLoader<DeliverablesLoader>>,
    plans: OnceLock<DataLoader<PlanLoader>>,
    workrooms: OnceLock<DataLoader<RowsBy<workroom::Entity>>>,
    tasks: OnceLock<DataLoader<RowsBy<task::Entity>>>,
    sources: OnceLock<DataLoader<RowsBy<source::Entity>>>,
    workroom_agents: OnceLock<DataLoader<RowsBy<workroom_agent::Entity>>>,
    approval_grants: OnceLock<DataLoader<RowsBy<approval_grant::Entity>>>,
    exports: OnceLock<DataLoader<RowsBy<export::Entity>>>,
    tool_calls: OnceLock<DataLoader<RowsBy<tool_call::Entity>>>,
}

/// The loader in `cell`, made by `make` from the request's database handle on first use.
fn loader<'a, L>(
    cell: &'a OnceLock<DataLoader<L>>,
    db: &Db,
    make: impl FnOnce(Db) -> L,
) -> &'a DataLoader<L>
where
    L: async_graphql::dataloader::Loader<uuid::Uuid>,
{
    cell.get_or_init(|| DataLoader::new(make(db.clone()), tokio::spawn))
}

impl Loaders {
    pub fn new(state: &crate::state::SharedState) -> Loaders {
        Loaders {
            db: state.db.clone(),
            users: OnceLock::new(),
            agents: OnceLock::new(),
            deliverables: OnceLock::new(),
            plans: OnceLock::new(),
            workrooms: OnceLock::new(),
            tasks: OnceLock::new(),
            sources: OnceLock::new(),
            workroom_agents: OnceLock::new(),
            approval_grants: OnceLock::new(),
            exports: OnceLock::new(),
            tool_calls: OnceLock::new(),
        }
    }

    pub fn users(&self) -> &DataLoader<UserLoader> {
        loader(&self.users, &self.db, UserLoader)
    }

    pub fn agents(&self) -> &DataLoader<AgentLoader> {
        loader(&self.agents, &self.db, AgentLoader)
    }

    pub fn deliverables(&self) -> &DataLoader<DeliverablesLoader> {
        loader(&self.deliverables, &self.db, DeliverablesLoader)
    }

    pub fn plans(&self) -> &DataLoader<PlanLoader> {
        loader(&self.plans, &self.db, PlanLoader)
    }

    /// Workrooms by id (a ledger entry's).
    pub fn workrooms(&self) -> &DataLoader<RowsBy<workroom::Entity>> {
        loader(&self.workrooms, &self.db, |db| {
            RowsBy::<workroom::Entity>::new(
                db,
                workroom::Column::Id,
                |r| r.id,
                workroom::Column::Id,
            )
        })
    }

    /// Tasks by id (a ledger entry's).
    pub fn tasks(&self) -> &DataLoader<RowsBy<task::Entity>> {
        loader(&self.tasks, &self.db, |db| {
            RowsBy::<task::Entity>::new(db, task::Column::Id, |t| t.id, task::Column::Id)
        })
    }

    /// A workroom's sources, oldest first, by workroom id.
    pub fn sources(&self) -> &DataLoader<RowsBy<source::Entity>> {
        loader(&self.sources, &self.db, |db| {
            RowsBy::<source::Entity>::new(
                db,
                source::Column::WorkroomId,
                |s| s.workroom_id,
                source::Column::Id,
            )
        })
    }

    /// A workroom's agent links, in order, by workroom id.
    pub fn workroom_agents(&self) -> &DataLoader<RowsBy<workroom_agent::Entity>> {
        loader(&self.workroom_agents, &self.db, |db| {
            RowsBy::<workroom_agent::Entity>::new(
                db,
                workroom_agent::Column::WorkroomId,
                |l| l.workroom_id,
                workroom_agent::Column::Position,
            )
        })
    }

    /// An approval task's grants, oldest first, by task id.
    pub fn approval_grants(&self) -> &DataLoader<RowsBy<approval_grant::Entity>> {
        loader(&self.approval_grants, &self.db, |db| {
            RowsBy::<approval_grant::Entity>::new(
                db,
                approval_grant::Column::TaskId,
                |g| g.task_id,
                approval_grant::Column::GrantedAt,
            )
        })
    }

    /// A task's tool calls, oldest first, by task id.
    pub fn tool_calls(&self) -> &DataLoader<RowsBy<tool_call::Entity>> {
        loader(&self.tool_calls, &self.db, |db| {
            RowsBy::<tool_call::Entity>::new(
                db,
                tool_call::Column::TaskId,
                |c| c.task_id,
                tool_call::Column::CreatedAt,
            )
        })
    }

    /// A deliverable's exports, oldest first, by deliverable id.
    pub fn exports(&self) -> &DataLoader<RowsBy<export::Entity>> {
        loader(&self.exports, &self.db, |db| {
            RowsBy::<export::Entity>::new(
                db,
                export::Column::DeliverableId,
                |e| e.deliverable_id,
                export::Column::CreatedAt,
            )
        })
    }
}

pub trait ContextExt {
    fn app(&self) -> &AppState;
    fn authn(&self) -> &Authn;
    fn session(&self) -> AppResult<&Session>;
    fn loaders(&self) -> &Loaders;
    fn client_ip(&self) -> &str;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &AppState {
        self.data_unchecked::<crate::state::SharedState>()
    }

    fn authn(&self) -> &Authn {
        self.data_unchecked::<Authn>()
    }

    fn session(&self) -> AppResult<&Session> {
        self.authn().session()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<std::sync::Arc<Loaders>>()
    }

    fn client_ip(&self) -> &str {
        self.data_opt::<ClientIp>()
            .map_or("unknown", |ip| ip.0.as_str())
    }
}
