//! Plans and what they grant: seat caps and monthly credits per billing
//! period; plan changes, period renewals and top-ups.

pub mod graphql;
pub mod period;
pub mod plans;
pub mod service;

pub use plans::Plan;
