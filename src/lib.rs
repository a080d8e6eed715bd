//! Atelya: the GraphQL backend of an AI workspace for small agencies.
//!
//! # Layout
//! - `config`, `startup`, `state`: settings, building and running the server
//!   (and its background jobs: the engine, mail, billing renewals);
//!   `logging`: the log's format and filter; `telemetry`: Prometheus metrics.
//! - `http`: the HTTP surface (GraphQL over HTTP and websockets, export
//!   downloads, health, CORS, request ids).
//! - `graphql`: the schema, request context, limits, document cost, loaders,
//!   pagination, null propagation, `node`.
//! - `auth`: tokens, passwords, sessions, sealed secrets, and `auth::policy`,
//!   the one table of who may do what.
//! - Domains, each with its rules in services and thin resolvers in `graphql`:
//!   `identity` (accounts and sign-in), `workspace`, `member`, `invitation`,
//!   `billing` (plans, billing periods, top-ups), `credit` (the ledger, holds,
//!   usage), `activity` (the hash-chained log), `agent` (system and custom
//!   agents), `workroom` (workrooms, their state machine and events), `task`
//!   (plans, tasks, approvals), `export` (branding, and deliverables rendered as Markdown, DOCX and PDF), `integration`
//!   (outside services, their tokens sealed), `tool` (the tools agents call:
//!   built-in ones and MCP servers'), `api_key` (machine credentials),
//!   `webhook` (signed outgoing webhooks), `outbox` (email).
//! - `engine`: runs workrooms (leases, the Planner, AGENT tasks, the
//!   Composer); `llm`: the language-model trait, the built-in model and an
//!   OpenAI-compatible provider.
//! - `realtime`: live subscriptions: the event bus (in-process or Redis),
//!   gap-free feeds, presence, and the control of open sockets.
//! - `outbound`: where requests to user-given URLs may go (the IANA
//!   special-purpose address registries), and the clients that make them.
//! - `db`, `error`, `clock`, `ids`, `input`, `page` (paging arguments and
//!   cursors), `ratelimit`, `budget` (cost budgets per member): shared plumbing.
//!
//! Every change runs in one database transaction together with its activity
//! entry; rows that serialize writers (the workspace) are locked inside it.

pub mod activity;
pub mod agent;
pub mod api_key;
pub mod auth;
pub mod billing;
pub mod budget;
pub mod clock;
pub mod config;
pub mod credit;
pub mod db;
pub mod engine;
pub mod error;
pub mod export;
pub mod graphql;
pub mod http;
pub mod identity;
pub mod ids;
pub mod input;
pub mod integration;
pub mod invitation;
pub mod llm;
pub mod logging;
pub mod member;
pub mod outbound;
pub mod outbox;
pub mod page;
pub mod ratelimit;
pub mod realtime;
pub mod startup;
pub mod state;
pub mod task;
pub mod telemetry;
pub mod tool;
pub mod webhook;
pub mod workroom;
pub mod workspace;
