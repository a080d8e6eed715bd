//! Accounts and sign-in: signup, login, refresh-token rotation, logout, and
//! the tokens that scope a user to one workspace.

pub mod graphql;
pub mod service;
pub mod tokens;
