//! Workrooms: a goal, deliverables, constraints, sources and agents; a task
//! plan run by the engine; and a gap-free history of events.
//!
//! - `model`: the state machine (the one transition table) and allowed actions.
//! - `events`: appending to and reading the history.
//! - `create`, `service`: the mutations (sources, constraints, messages, and
//!   the shared `begin`, `transition`, `save`); `lifecycle`: pause, resume,
//!   cancel, replan and revision requests; `sources`: the bound on a
//!   workroom's sources together.
//! - `graphql`: the `Workroom` type and its parts; `roots`: its queries and mutations.

pub mod create;
pub mod events;
pub mod graphql;
pub mod lifecycle;
pub mod list;
pub mod model;
pub mod roots;
pub mod service;
pub mod sources;
