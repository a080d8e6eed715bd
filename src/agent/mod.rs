//! Agents: the system Planner and Composer every workspace has, and custom
//! agents that take part in workrooms (an AGENT task each).

pub mod graphql;
pub mod service;

use async_graphql::Enum;

use crate::error::{AppError, AppResult};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    Planner,
    Composer,
    Custom,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Planner => "PLANNER",
            AgentKind::Composer => "COMPOSER",
            AgentKind::Custom => "CUSTOM",
        }
    }

    pub fn parse(s: &str) -> AppResult<AgentKind> {
        [AgentKind::Planner, AgentKind::Composer, AgentKind::Custom]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| AppError::Internal(format!("unknown agent kind: {s}")))
    }
}
