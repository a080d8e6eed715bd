//! The GraphQL schema: roots merged from each domain, the request-scoped
//! context (session, loaders, client address), limits, the spec's rules
//! async-graphql leaves out, and pagination.
//!
//! - `limits`: the document-limits extension and the request error codes;
//!   `shape`: its checks on a parsed document (counts, depth, U+0000);
//!   `documents`: parsed documents kept by their text; `order`: response
//!   fields in the order they were selected.
//! - `observe`: each operation's name on its span, its metrics and its errors' codes.
//! - `enums`: the GraphQL faces of the stored enumerations; `pagination`:
//!   Relay connections built from a page of rows (`crate::page`).

pub mod admission;
pub mod context;
pub mod cost;
pub mod documents;
pub mod enums;
pub mod expansion;
pub mod lexer;
pub mod limits;
pub mod loaders;
pub mod node;
pub mod nulls;
pub mod observe;
pub mod order;
pub mod pagination;
pub mod response_size;
pub mod rules;
pub mod shape;
pub mod subscription_root;
pub mod suggest;
pub mod validate;
pub mod variables;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::{
    activity::graphql::ActivityQuery,
    agent::graphql::AgentMutation,
    api_key::graphql::ApiKeyMutation,
    billing::graphql::{BillingMutation, BillingQuery},
    config::Limits,
    export::graphql::ExportMutation,
    identity::graphql::{IdentityMutation, IdentityQuery},
    integration::graphql::IntegrationMutation,
    invitation::graphql::InvitationMutation,
    member::graphql::MemberMutation,
    realtime::graphql::RealtimeSubscription,
    task::graphql::TaskMutation,
    tool::graphql::ToolMutation,
    webhook::graphql::WebhookMutation,
    workroom::roots::{WorkroomMutation, WorkroomQuery},
    workspace::graphql::{WorkspaceMutation, WorkspaceQuery},
};

#[derive(MergedObject, Default)]
pub struct Query(
    IdentityQuery,
    WorkspaceQuery,
    node::NodeQuery,
    BillingQuery,
    ActivityQuery,
    WorkroomQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    WorkspaceMutation,
    MemberMutation,
    InvitationMutation,
    BillingMutation,
    WorkroomMutation,
    TaskMutation,
    AgentMutation,
    ExportMutation,
    IntegrationMutation,
    ToolMutation,
    ApiKeyMutation,
    WebhookMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(RealtimeSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

pub use crate::error::int;

/// The schema with its limits; the caller adds the shared state and finishes it.
pub fn schema_builder(
    limits: &Limits,
    production: bool,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // First, so it sees every other extension's final word (the error codes).
    .extension(observe::Observe)
    .extension(limits::DocumentLimits {
        limits: limits.clone(),
        introspection: !production,
        validator: Default::default(),
    })
    // The spec's rules are applied on admission (see `admission`); the
    // schema's own pass only works out the cache control.
    .validation_mode(async_graphql::ValidationMode::Fast);
    if production {
        builder.disable_introspection().disable_suggestions()
    } else {
        builder
    }
}

/// The SDL of the public schema, as `atelya schema` prints it.
pub fn sdl() -> String {
    schema_builder(&default_limits(), false).finish().sdl()
}

pub(crate) fn default_limits() -> Limits {
    use clap::Parser;
    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        limits: Limits,
    }
    Only::parse_from(["atelya"]).limits
}
