//! `plans`, `changePlan` and `purchaseTopUp`.

use async_graphql::{Context, Object};

use super::{plans::PlanInfo, service, Plan};
use crate::{
    auth::{Action, Allowed},
    credit::graphql::CreditEntry,
    graphql::context::ContextExt,
    workspace::graphql::Workspace,
};

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// Public.
    // The plans change only with a release: a CDN may keep them for five minutes.
    #[graphql(cache_control(max_age = 300))]
    async fn plans(&self) -> Vec<PlanInfo> {
        Plan::ALL.iter().copied().map(Plan::info).collect()
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    #[graphql(guard = "Allowed(Action::ManageWorkspace)")]
    async fn change_plan(&self, ctx: &Context<'_>, plan: Plan) -> async_graphql::Result<Workspace> {
        Ok(Workspace(
            service::change_plan(ctx.app(), ctx.session()?, plan).await?,
        ))
    }

    /// Adds credits; a repeated idempotencyKey returns the first entry and adds nothing.
    #[graphql(guard = "Allowed(Action::ManageWorkspace)")]
    async fn purchase_top_up(
        &self,
        ctx: &Context<'_>,
        credits: i32,
        idempotency_key: String,
    ) -> async_graphql::Result<CreditEntry> {
        Ok(CreditEntry(
            service::purchase_top_up(ctx.app(), ctx.session()?, credits, &idempotency_key).await?,
        ))
    }
}
