//! Agents: the system Planner and Composer every workspace has, and custom
//! agents that take part in workrooms (an AGENT task each) and learn a voice
//! from writing samples (`style`).

pub mod graphql;
pub mod service;
pub mod style;

pub use entity::enums::AgentKind;
