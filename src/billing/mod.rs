//! Plans and what they grant: seat caps and monthly credits; plan changes and top-ups.

pub mod graphql;
pub mod plans;
pub mod service;

pub use plans::Plan;
