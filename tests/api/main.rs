//! The API tested from outside: each test starts the real server on a random
//! loopback port with a fresh database and talks GraphQL over HTTP to it.
//! Every database test runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

#[macro_use]
mod helpers;

mod activity;
mod agents;
mod api_keys;
mod approvals;
mod auth_faults;
mod auth_tokens;
mod billing;
mod billing_periods;
mod bounds;
mod connections;
mod cors;
mod cost_budget;
mod credits;
mod email;
mod engine;
mod export_caps;
mod export_profile;
mod exports;
mod faults;
mod function_calls;
mod http_protocol;
mod integrations;
mod invitations;
mod key_lifetime;
mod key_migration;
mod key_people;
mod key_tokens;
mod limits;
mod live;
mod live_caps;
mod live_renders;
mod live_values;
mod mcp_fixture;
mod members;
mod null_propagation;
mod observability;
mod openai_provider;
mod pages;
mod pagination;
mod password_checks;
mod permissions;
mod persisted_queries;
mod redis_outage;
mod redis_server;
mod role_matrix;
mod rooms;
mod scale_out;
mod schema;
mod sealed_columns;
mod secrets;
mod session_cache;
mod signup_login;
mod spec_requests;
mod sse;
mod sse_rechecks;
mod style_memory;
mod tools;
mod webhook_endpoints;
mod webhook_sending;
mod webhooks;
mod websocket;
mod workroom_lists;
mod workrooms;
mod workspaces;
mod ws_client;
