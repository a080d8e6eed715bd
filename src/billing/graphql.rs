//! `plans`, `changePlan` and `purchaseTopUp`.

use async_graphql::{Context, Object, SimpleObject};
use sea_orm::Iterable;

use super::{
    plans::{self, PlanTable},
    service,
};
use crate::{
    auth::{Action, Allowed},
    credit::graphql::CreditEntry,
    graphql::{context::ContextExt, enums::Plan},
    workspace::graphql::Workspace,
};

#[derive(SimpleObject)]
pub struct PlanInfo {
    pub plan: Plan,
    pub name: String,
    /// Seat cap; null means unlimited.
    pub max_users: Option<i32>,
    pub monthly_credits: i32,
}

impl From<plans::Plan> for PlanInfo {
    fn from(plan: plans::Plan) -> PlanInfo {
        PlanInfo {
            plan: plan.into(),
            name: plan.name().to_owned(),
            max_users: plan.max_users().map(|n| n as i32),
            monthly_credits: plan.monthly_credits() as i32,
        }
    }
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// Public.
    // The plans change only with a release: a CDN may keep them for five minutes.
    #[graphql(cache_control(max_age = 300))]
    async fn plans(&self) -> Vec<PlanInfo> {
        plans::Plan::iter().map(PlanInfo::from).collect()
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    #[graphql(guard = "Allowed(Action::ManageWorkspace)")]
    async fn change_plan(&self, ctx: &Context<'_>, plan: Plan) -> async_graphql::Result<Workspace> {
        Ok(Workspace(
            service::change_plan(ctx.app(), ctx.session()?, plan.into()).await?,
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
