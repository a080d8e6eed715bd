//! The Atelya tables as sea-orm entities: plain rows, no rules and no GraphQL.
//!
//! # Layout
//! - `user`, `workspace`, `member`, `invitation`, `refresh_token`: identity and tenancy.
//! - `credit_entry`: the append-only credit ledger (the running balance lives on `workspace`).
//! - `activity_event`: the hash-chained activity log (its head lives on `workspace`).
//! - `export_profile`: each workspace's branding.
//! - `email_outbox`: mail waiting to go out.
//!
//! Enumerations (roles, plans, kinds, states) are stored as their GraphQL names in
//! text columns and parsed by the server's domain types.

pub mod activity_event;
pub mod credit_entry;
pub mod email_outbox;
pub mod export_profile;
pub mod invitation;
pub mod member;
pub mod refresh_token;
pub mod user;
pub mod workspace;
