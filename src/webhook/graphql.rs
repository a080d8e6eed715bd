//! `WebhookEndpoint`, `WebhookDelivery` and their mutations. No field
//! exposes a signing secret; the secret is in `WebhookEndpointPayload` once.

use async_graphql::{connection::Connection, Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};

use super::{endpoint, secrets, service};
use crate::{
    auth::{Action, Allowed},
    graphql::{
        context::ContextExt,
        enums,
        pagination::{self, PageArgs},
    },
    ids::{self, Kind},
};

/// An integrator's endpoint that receives signed events (Standard Webhooks).
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::WebhookEndpoint, self.0.id))
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Event types delivered: workroom.completed, workroom.failed, approval.requested, credits.low, or any activity action.
    async fn events(&self) -> &[String] {
        &self.0.events
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Why it was disabled, when it was.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookDelivery>> {
        let page = PageArgs::parse(first, after)?;
        let rows = service::deliveries(ctx.app().db.conn(), self.0.id, &page).await?;
        Ok(pagination::connection(
            rows,
            &page,
            |d| d.id,
            WebhookDelivery,
        ))
    }
}

pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::WebhookDelivery, self.0.id))
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The webhook-id header: the same on every attempt of this delivery.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    async fn payload(&self) -> async_graphql::Result<async_graphql::Json<serde_json::Value>> {
        let payload = serde_json::from_str(&self.0.payload).map_err(|e| {
            crate::error::AppError::Internal(format!("a webhook payload is not JSON: {e}"))
        })?;
        Ok(async_graphql::Json(payload))
    }
    async fn state(&self) -> enums::DeliveryState {
        self.0.state.into()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct WebhookEndpointInput {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

impl From<WebhookEndpointInput> for endpoint::EndpointInput {
    fn from(input: WebhookEndpointInput) -> Self {
        endpoint::EndpointInput {
            url: input.url,
            events: input.events,
            description: input.description,
            enabled: input.enabled,
        }
    }
}

#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The signing secret (whsec_...): shown once.
    secret: String,
    endpoint: WebhookEndpoint,
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let (secret, row) =
            endpoint::create(ctx.app(), ctx.session()?, ctx.client_ip(), input.into()).await?;
        Ok(WebhookEndpointPayload {
            secret,
            endpoint: WebhookEndpoint(row),
        })
    }

    /// Owner and admin only. Enabling a disabled endpoint clears why it was disabled.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let id = ids::decode(Kind::WebhookEndpoint, &id, "webhook endpoint")?;
        let row = endpoint::update(ctx.app(), ctx.session()?, id, input.into()).await?;
        Ok(WebhookEndpoint(row))
    }

    /// Owner and admin only. Deletes the endpoint and its delivery log.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let id = ids::decode(Kind::WebhookEndpoint, &id, "webhook endpoint")?;
        endpoint::delete(ctx.app(), ctx.session()?, id).await?;
        Ok(true)
    }

    /// Owner and admin only. The previous secret also signs for 24 hours.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<WebhookEndpointPayload> {
        let id = ids::decode(Kind::WebhookEndpoint, &id, "webhook endpoint")?;
        let (secret, row) = secrets::rotate(ctx.app(), ctx.session()?, id).await?;
        Ok(WebhookEndpointPayload {
            secret,
            endpoint: WebhookEndpoint(row),
        })
    }

    /// Owner and admin only. Sends the delivery again, with the same message id.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: ID,
    ) -> async_graphql::Result<WebhookDelivery> {
        let id = ids::decode(Kind::WebhookDelivery, &delivery_id, "webhook delivery")?;
        Ok(WebhookDelivery(
            service::redeliver(ctx.app(), ctx.session()?, id).await?,
        ))
    }
}
