//! The `Workroom` type, its parts, and the workroom queries and mutations.
//!
//! `room` holds the `Workroom` type, `parts` its sources, deliverables and
//! events; this module the history's page sizes.

mod parts;
mod room;

pub use parts::{Deliverable, Source, WorkroomEvent};
pub use room::{ApprovalPolicy, Constraints, Workroom};

/// Events a page holds by default, and at most.
/// The history's page size when `first` is not given, and its largest.
pub const EVENTS_DEFAULT: i32 = 100;
pub const EVENTS_MAX: i32 = 1_000;
