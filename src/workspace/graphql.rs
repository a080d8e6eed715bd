//! The `Workspace` type, `Query.workspace`, and `renameWorkspace`.

use async_graphql::{connection::Connection, Context, Object, ID};
use chrono::{DateTime, Utc};
use entity::workspace;

use crate::graphql::int;
use crate::{
    activity::graphql::{ActivityEvent, ActivityFilter},
    agent::graphql::Agent,
    api_key::graphql::ApiKey,
    auth::{policy, Action, Allowed, Session},
    billing::{
        period::{self, BillingPeriod},
        plans::PlanTable,
    },
    credit::graphql::{CreditEntry, Credits},
    credit::usage::{UsageBucket, UsageGroupBy},
    error::{AppError, AppResult},
    export::graphql::ExportProfile,
    graphql::{
        context::ContextExt,
        enums,
        pagination::{self, PageArgs},
    },
    ids::{self, Kind},
    integration::graphql::Integration,
    invitation::graphql::Invitation,
    member::graphql::Member,
    webhook::graphql::WebhookEndpoint,
    workroom::{graphql::Workroom, list::WorkroomFilter},
};

pub struct Workspace(pub workspace::Model);

impl Workspace {
    /// The caller's workspace, read fresh.
    pub async fn current(ctx: &Context<'_>) -> async_graphql::Result<Workspace> {
        let session = ctx.session()?;
        Ok(Workspace(
            super::service::get(ctx.app().db.conn(), session.workspace_id).await?,
        ))
    }

    /// The session, provided it is scoped to this workspace (always true for
    /// objects built from the session; checked so no path can widen it).
    fn session<'a>(&self, ctx: &'a Context<'_>) -> AppResult<&'a Session> {
        let session = ctx.session()?;
        if session.workspace_id != self.0.id {
            return Err(AppError::NotFound("workspace"));
        }
        Ok(session)
    }
}

#[Object]
impl Workspace {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Workspace, self.0.id))
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn plan(&self) -> enums::Plan {
        self.0.plan.into()
    }

    /// Seat cap of the plan; null means unlimited.
    async fn max_users(&self) -> Option<i32> {
        self.0.plan.max_users().map(|n| n as i32)
    }

    /// Members plus pending, unexpired invitations.
    async fn seats_used(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        self.session(ctx)?;
        let app = ctx.app();
        Ok(int(super::service::seats_used(
            app.db.conn(),
            self.0.id,
            app.clock.now(),
        )
        .await?)?)
    }

    async fn credits(&self, ctx: &Context<'_>) -> async_graphql::Result<Credits> {
        self.session(ctx)?;
        Ok(Credits::of(&self.0)?)
    }

    /// The current billing period and the monthly credits granted in it.
    async fn billing_period(&self, ctx: &Context<'_>) -> async_graphql::Result<BillingPeriod> {
        self.session(ctx)?;
        Ok(period::current(&self.0)?)
    }
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Member>> {
        self.session(ctx)?;
        let page = PageArgs::parse(first, after)?;
        let rows = crate::member::service::list(ctx.app().db.conn(), self.0.id, &page).await?;
        Ok(pagination::connection(rows, &page, |m| m.id, Member))
    }

    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::ManageMembers)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        state: Option<enums::InvitationState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Invitation>> {
        policy::require(self.session(ctx)?, Action::ManageMembers)?;
        let page = PageArgs::parse(first, after)?;
        let app = ctx.app();
        let rows = crate::invitation::service::list(
            app.db.conn(),
            self.0.id,
            state.map(Into::into),
            &page,
            app.clock.now(),
        )
        .await?;
        Ok(pagination::connection(rows, &page, |i| i.id, Invitation))
    }

    async fn export_profile(&self, ctx: &Context<'_>) -> async_graphql::Result<ExportProfile> {
        self.session(ctx)?;
        Ok(ExportProfile::load(ctx.app().db.conn(), self.0.id).await?)
    }

    /// Every role: the tools agents may call here, built-in first, then by name.
    async fn tools(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::tool::graphql::Tool>> {
        self.session(ctx)?;
        let app = ctx.app();
        let tools =
            crate::tool::registry::tools_of(app.db.conn(), self.0.id, app.config.tools.web).await?;
        Ok(tools.into_iter().map(crate::tool::graphql::Tool).collect())
    }
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn integrations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Integration>> {
        self.session(ctx)?;
        let rows = crate::integration::service::list(ctx.app().db.conn(), self.0.id).await?;
        Ok(rows.into_iter().map(Integration).collect())
    }
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        self.session(ctx)?;
        let rows = crate::api_key::service::list(ctx.app().db.conn(), self.0.id).await?;
        Ok(rows.into_iter().map(ApiKey).collect())
    }
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<WebhookEndpoint>> {
        self.session(ctx)?;
        let rows = crate::webhook::endpoint::list(ctx.app().db.conn(), self.0.id).await?;
        Ok(rows.into_iter().map(WebhookEndpoint).collect())
    }
    async fn credit_ledger(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, CreditEntry>> {
        self.session(ctx)?;
        let page = PageArgs::parse(first, after)?;
        let rows = crate::credit::ledger::list(ctx.app().db.conn(), self.0.id, &page).await?;
        Ok(pagination::connection(rows, &page, |e| e.seq, CreditEntry))
    }
    async fn activity(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActivityFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ActivityEvent>> {
        self.session(ctx)?;
        let page = PageArgs::parse(first, after)?;
        let filter = filter
            .map(ActivityFilter::into_query)
            .transpose()?
            .unwrap_or_default();
        let rows =
            crate::activity::service::list(ctx.app().db.conn(), self.0.id, &filter, &page).await?;
        Ok(pagination::connection(
            rows,
            &page,
            |e| e.seq,
            ActivityEvent,
        ))
    }
    async fn workrooms(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkroomFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Workroom>> {
        self.session(ctx)?;
        let page = PageArgs::parse(first, after)?;
        let rows = crate::workroom::list::list(
            ctx.app().db.conn(),
            self.0.id,
            filter.unwrap_or_default(),
            &page,
        )
        .await?;
        Ok(pagination::connection(rows, &page, |w| w.id, Workroom))
    }

    async fn agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        self.session(ctx)?;
        Ok(crate::agent::service::list(ctx.app().db.conn(), self.0.id)
            .await?
            .into_iter()
            .map(Agent)
            .collect())
    }

    /// Net credits spent, grouped; `from` inclusive, `to` exclusive.
    async fn credit_usage(
        &self,
        ctx: &Context<'_>,
        group_by: UsageGroupBy,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Vec<UsageBucket>> {
        self.session(ctx)?;
        Ok(crate::credit::usage::usage(ctx.app().db.conn(), self.0.id, group_by, from, to).await?)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    /// The workspace of the caller's token.
    async fn workspace(&self, ctx: &Context<'_>) -> async_graphql::Result<Workspace> {
        Workspace::current(ctx).await
    }
}

#[derive(Default)]
pub struct WorkspaceMutation;

#[Object]
impl WorkspaceMutation {
    #[graphql(guard = "Allowed(Action::ManageWorkspace)")]
    async fn rename_workspace(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<Workspace> {
        let ws = super::service::rename(ctx.app(), ctx.session()?, &name).await?;
        Ok(Workspace(ws))
    }
}
