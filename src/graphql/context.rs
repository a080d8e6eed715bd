//! What a resolver reads from the request context.

use async_graphql::{dataloader::DataLoader, Context};

use super::loaders::{AgentLoader, DeliverablesLoader, PlanLoader, UserLoader};
use crate::{
    auth::{Authn, Session},
    error::AppResult,
    state::AppState,
};

/// The caller's address, for rate limits.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// Loaders live for one request: a shared loader would serve one workspace's
/// rows to another.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub agents: DataLoader<AgentLoader>,
    pub deliverables: DataLoader<DeliverablesLoader>,
    pub plans: DataLoader<PlanLoader>,
}

impl Loaders {
    pub fn new(state: &crate::state::SharedState) -> Loaders {
        let db = || state.db.clone();
        Loaders {
            users: DataLoader::new(UserLoader(db()), tokio::spawn),
            agents: DataLoader::new(AgentLoader(db()), tokio::spawn),
            deliverables: DataLoader::new(DeliverablesLoader(db()), tokio::spawn),
            plans: DataLoader::new(PlanLoader(db()), tokio::spawn),
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
