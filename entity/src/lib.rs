//! The Atelya tables as sea-orm entities: plain rows, no rules and no GraphQL.
//!
//! # Layout
//! - `user`, `workspace`, `member`, `invitation`, `refresh_token`: identity and tenancy.
//! - `credit_entry`: the append-only credit ledger (the running balance lives on `workspace`).
//! - `activity_event`: the hash-chained activity log (its head lives on `workspace`).
//! - `agent`: the system Planner and Composer and custom agents, with the
//!   `style_sample`s they learn from and their `style_memory_version`s.
//! - `workroom` with its `workroom_agent`s, `source`s, `deliverable`s, `task`s,
//!   `approval_grant`s and `workroom_event`s (its gap-free history).
//! - `credit_hold`: credits reserved for one task or planning attempt.
//! - `export_profile`: each workspace's branding; `export`: a deliverable rendered
//!   as a branded file, its bytes in `export_file`.
//! - `integration`: connections to outside services (OAuth providers and MCP
//!   servers), their tokens sealed; `integration_tool`: the tools an MCP server offers.
//! - `tool_policy`: a workspace's choice for one tool; `tool_call`: every call a task made.
//! - `email_outbox`: mail waiting to go out.
//! - `api_key`: machine credentials, their secrets stored only hashed.
//! - `webhook_endpoint`: integrators' endpoints, their signing secrets sealed
//!   (earlier secrets still in their overlap in `webhook_secret`);
//!   `webhook_delivery`: the outbox of signed events and their delivery log.
//!
//! Enumerations (roles, plans, kinds, states) are typed columns: `enums` holds
//! them, stored as their GraphQL names in text columns, and `action` the
//! activity actions, stored as their dotted names. JSON columns are
//! `json_text::JsonText<T>`: typed values kept as the text they were written
//! as (the activity log's metadata and webhook payloads stay plain text, since
//! they are hashed and signed byte for byte).

pub mod action;
pub mod activity_event;
pub mod agent;
pub mod api_key;
pub mod approval_grant;
pub mod credit_entry;
pub mod credit_hold;
pub mod deliverable;
pub mod email_outbox;
pub mod enums;
pub mod export;
pub mod export_file;
pub mod export_profile;
pub mod integration;
pub mod integration_tool;
pub mod invitation;
pub mod json_text;
pub mod member;
pub mod refresh_token;
pub mod source;
pub mod style_memory_version;
pub mod style_sample;
pub mod task;
pub mod tool_call;
pub mod tool_policy;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_secret;
pub mod workroom;
pub mod workroom_agent;
pub mod workroom_event;
pub mod workspace;
