//! Members of a workspace and their roles.
//!
//! Rules: nobody changes their own role; OWNER is never assigned by a role
//! change, only moved by `transferOwnership` (the old owner becomes ADMIN);
//! the owner cannot be removed and cannot leave before transferring.

pub mod graphql;
pub mod model;
pub mod service;

pub use model::{assignable, Role};
