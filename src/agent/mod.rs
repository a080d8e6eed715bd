//! Agents: the system Planner and Composer every workspace has, and custom
//! agents that take part in workrooms (an AGENT task each) and learn a voice
//! from writing samples (`style`).

pub mod graphql;
pub mod service;
pub mod style;

use crate::text_enum::text_enum;
use async_graphql::Enum;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    Planner,
    Composer,
    Custom,
}

text_enum!(AgentKind {
    Planner => "PLANNER",
    Composer => "COMPOSER",
    Custom => "CUSTOM",
});
