//! `Credits` and `CreditEntry`.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{credit_entry, workspace};

use crate::{
    billing::plans::PlanTable,
    graphql::{context::ContextExt, enums},
    identity::graphql::{load_user, User},
    ids::{self, Kind},
    task::graphql::Task,
    workroom::graphql::Workroom,
};
use crate::{error::AppResult, graphql::int};

#[derive(SimpleObject)]
pub struct Credits {
    /// Sum of the ledger.
    balance: i32,
    /// Held for tasks that are running now.
    reserved: i32,
    /// balance - reserved: what a new task may reserve.
    available: i32,
    monthly_allowance: i32,
}

impl Credits {
    pub fn of(ws: &workspace::Model) -> AppResult<Credits> {
        Ok(Credits {
            balance: int(ws.credit_balance)?,
            reserved: int(ws.credit_reserved)?,
            available: int(ws.credit_balance - ws.credit_reserved)?,
            monthly_allowance: int(ws.plan.monthly_credits())?,
        })
    }
}

pub struct CreditEntry(pub credit_entry::Model);

#[Object]
impl CreditEntry {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::CreditEntry, self.0.id))
    }
    async fn kind(&self) -> enums::EntryKind {
        self.0.kind.into()
    }
    /// Signed: grants and top-ups are positive, charges negative.
    async fn amount(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.amount)?)
    }
    async fn balance_after(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.balance_after)?)
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn workroom(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Workroom>> {
        let Some(id) = self.0.workroom_id else {
            return Ok(None);
        };
        let rows = ctx.loaders().workrooms().load_one(id).await?;
        let room = rows.and_then(|rows| rows.into_iter().next());
        Ok(room
            .filter(|r| r.workspace_id == self.0.workspace_id)
            .map(Workroom))
    }
    async fn task(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Task>> {
        let Some(id) = self.0.task_id else {
            return Ok(None);
        };
        let rows = ctx.loaders().tasks().load_one(id).await?;
        let task = rows.and_then(|rows| rows.into_iter().next());
        Ok(task
            .filter(|t| t.workspace_id == self.0.workspace_id)
            .map(Task))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
