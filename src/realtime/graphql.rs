//! The Subscription root: a workroom's events and watchers, the workspace's
//! activity and credits. Resolvers stay thin: `watch` authorizes and builds
//! each source; these turn its items into GraphQL objects.

use std::sync::Arc;

use async_graphql::{Context, Subscription, ID};
use futures_util::{stream::BoxStream, Stream, StreamExt};

use super::{
    render::{RenderEvents, Rendering, Takeover},
    watch,
};
use crate::{
    activity::graphql::ActivityEvent,
    auth::{Action, Allowed},
    credit::graphql::Credits,
    graphql::context::ContextExt,
    identity::graphql::User,
    ids::{self, Kind},
    state::SharedState,
    workroom::graphql::WorkroomEvent,
};

type Items<T> = BoxStream<'static, async_graphql::Result<T>>;

#[derive(Default)]
pub struct RealtimeSubscription;

#[Subscription]
impl RealtimeSubscription {
    /// Replays the history after afterSeq (all of it when null), then streams live, gap-free, in seq order.
    #[graphql(guard = "Rendering.or(Allowed(Action::Read))")]
    async fn workroom_events(
        &self,
        ctx: &Context<'_>,
        workroom_id: ID,
        after_seq: Option<i32>,
    ) -> async_graphql::Result<Items<WorkroomEvent>> {
        if let Some(RenderEvents(rows)) = ctx.data_opt::<RenderEvents>() {
            let events: Vec<_> = rows
                .iter()
                .map(|row| Ok(WorkroomEvent((**row).clone())))
                .collect();
            return Ok(futures_util::stream::iter(events).boxed());
        }
        let app = ctx.data_unchecked::<SharedState>();
        let id = ids::decode(Kind::Workroom, &workroom_id, "workroom")?;
        let after = i64::from(after_seq.unwrap_or(0));
        let watch =
            watch::workroom_events(&app.realtime, &app.db, ctx.session()?, id, after).await?;
        if let Some(takeover) = ctx.data_opt::<Arc<Takeover>>() {
            // The transport renders this stream itself, once per shape.
            takeover.give(watch);
            return Ok(futures_util::stream::pending().boxed());
        }
        Ok(watch
            .into_stream()
            .map(|row| Ok(WorkroomEvent((*row?).clone())))
            .boxed())
    }

    /// The full list of watchers: first as it is now, then each time it changes.
    #[graphql(guard = "Allowed(Action::Read)")]
    async fn workroom_watchers(
        &self,
        ctx: &Context<'_>,
        workroom_id: ID,
    ) -> async_graphql::Result<Items<Vec<User>>> {
        let app = ctx.data_unchecked::<SharedState>().clone();
        let id = ids::decode(Kind::Workroom, &workroom_id, "workroom")?;
        let lists = watch::workroom_watchers(&app.realtime, &app.db, ctx.session()?, id).await?;
        Ok(lists
            .then(move |users| {
                let db = app.db.clone();
                async move { Ok(crate::identity::graphql::users_in_order(&db, &users).await?) }
            })
            .boxed())
    }

    /// The workspace's activity log, live.
    #[graphql(guard = "Allowed(Action::Read)")]
    async fn activity(&self, ctx: &Context<'_>) -> async_graphql::Result<Items<ActivityEvent>> {
        let app = ctx.data_unchecked::<SharedState>();
        let entries = watch::activity(&app.realtime, ctx.session()?).await?;
        Ok(objects(entries, |row| ActivityEvent((*row).clone())))
    }

    /// The workspace's credits: first as they are now, then each time they change.
    #[graphql(guard = "Allowed(Action::Read)")]
    async fn credits(&self, ctx: &Context<'_>) -> async_graphql::Result<Items<Credits>> {
        let app = ctx.data_unchecked::<SharedState>();
        let changes = watch::credits(&app.realtime, &app.db, ctx.session()?).await?;
        Ok(changes.map(|ws| Ok(Credits::of(&ws)?)).boxed())
    }
}

fn objects<R, T>(
    rows: impl Stream<Item = crate::error::AppResult<R>> + Send + 'static,
    object: fn(R) -> T,
) -> Items<T>
where
    R: Send + 'static,
    T: Send + 'static,
{
    rows.map(move |row| Ok(object(row?))).boxed()
}

/// `Workroom.watchers`: who watches now, on every instance.
pub async fn watchers_of(
    ctx: &Context<'_>,
    workroom: uuid::Uuid,
) -> async_graphql::Result<Vec<User>> {
    let app = ctx.app();
    let users = app.realtime.presence.watchers(workroom).await;
    Ok(crate::identity::graphql::users_in_order(&app.db, &users).await?)
}
