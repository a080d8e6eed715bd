//! A workspace: the team, its plan, its credit pool, its one owner.
//!
//! Invariants: exactly one OWNER member at all times; every query is scoped to
//! the token's workspace, so another workspace's ids are NOT_FOUND.

pub mod graphql;
pub mod service;
