//! What a resolver reads from the request context.

use async_graphql::{dataloader::DataLoader, Context};

use entity::{approval_grant, export, source, task, workroom, workroom_agent};

use super::loaders::{AgentLoader, DeliverablesLoader, PlanLoader, RowsBy, UserLoader};
use crate::{
    auth::{Authn, Session},
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
/// rows to another.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub agents: DataLoader<AgentLoader>,
    pub deliverables: DataLoader<DeliverablesLoader>,
    pub plans: DataLoader<PlanLoader>,
    /// Workrooms by id (a ledger entry's).
    pub workrooms: DataLoader<RowsBy<workroom::Entity>>,
    /// Tasks by id (a ledger entry's).
    pub tasks: DataLoader<RowsBy<task::Entity>>,
    /// A workroom's sources, oldest first, by workroom id.
    pub sources: DataLoader<RowsBy<source::Entity>>,
    /// A workroom's agent links, in order, by workroom id.
    pub workroom_agents: DataLoader<RowsBy<workroom_agent::Entity>>,
    /// An approval task's grants, oldest first, by task id.
    pub approval_grants: DataLoader<RowsBy<approval_grant::Entity>>,
    /// A deliverable's exports, oldest first, by deliverable id.
    pub exports: DataLoader<RowsBy<export::Entity>>,
}

impl Loaders {
    pub fn new(state: &crate::state::SharedState) -> Loaders {
        let db = || state.db.clone();
        Loaders {
            users: DataLoader::new(UserLoader(db()), tokio::spawn),
            agents: DataLoader::new(AgentLoader(db()), tokio::spawn),
            deliverables: DataLoader::new(DeliverablesLoader(db()), tokio::spawn),
            plans: DataLoader::new(PlanLoader(db()), tokio::spawn),
            workrooms: DataLoader::new(
                RowsBy::<workroom::Entity>::new(
                    db(),
                    workroom::Column::Id,
                    |r| r.id,
                    workroom::Column::Id,
                ),
                tokio::spawn,
            ),
            tasks: DataLoader::new(
                RowsBy::<task::Entity>::new(db(), task::Column::Id, |t| t.id, task::Column::Id),
                tokio::spawn,
            ),
            sources: DataLoader::new(
                RowsBy::<source::Entity>::new(
                    db(),
                    source::Column::WorkroomId,
                    |s| s.workroom_id,
                    source::Column::Id,
                ),
                tokio::spawn,
            ),
            workroom_agents: DataLoader::new(
                RowsBy::<workroom_agent::Entity>::new(
                    db(),
                    workroom_agent::Column::WorkroomId,
                    |l| l.workroom_id,
                    workroom_agent::Column::Position,
                ),
                tokio::spawn,
            ),
            approval_grants: DataLoader::new(
                RowsBy::<approval_grant::Entity>::new(
                    db(),
                    approval_grant::Column::TaskId,
                    |g| g.task_id,
                    approval_grant::Column::GrantedAt,
                ),
                tokio::spawn,
            ),
            exports: DataLoader::new(
                RowsBy::<export::Entity>::new(
                    db(),
                    export::Column::DeliverableId,
                    |e| e.deliverable_id,
                    export::Column::CreatedAt,
                ),
                tokio::spawn,
            ),
        }
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
