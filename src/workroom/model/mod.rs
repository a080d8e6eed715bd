//! The workroom state machine: one table of every legal transition.
//!
//! Mutations and the engine move a workroom only through [`next_state`];
//! anything the table does not list is CONFLICT and changes nothing.
//! `Workroom.allowedActions` is computed from the same table and the policy,
//! so a frontend never re-implements these rules.
//!
//! `transitions` holds the table, [`next_state`] and [`allowed_actions`];
//! this module the states, source kinds and input limits.

mod transitions;

pub use entity::enums::{SourceKind, WorkroomState};

pub use transitions::{accepts_input, allowed_actions, next_state, Trigger, WorkroomAction};

/// Limits on workroom input (DESIGN.md's string limits, and sane counts).
pub mod limits {
    pub const GOAL: usize = 20_000;
    pub const SOURCE: usize = 200_000;
    pub const MESSAGE: usize = 10_000;
    pub const STYLE_OVERRIDE: usize = 20_000;
    pub const DELIVERABLES: usize = 20;
    pub const SOURCES_AT_CREATION: usize = 50;
    pub const AGENTS: usize = 10;
    pub const PASTE_FLAGS: usize = 20;
    pub const APPROVALS: i32 = 20;
}
