//! Outgoing email. Mail is written to the `email_outbox` table inside the
//! transaction that causes it (so it goes out only if the change commits),
//! then a background task delivers it. With no mail transport configured,
//! delivery writes the message to the server log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::email_outbox;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{db::WriteTxn, error::AppResult, state::SharedState};

/// Queues a message inside the caller's transaction.
pub async fn enqueue(
    txn: &WriteTxn,
    to: &str,
    subject: String,
    body: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let row = email_outbox::Model {
        id: Uuid::now_v7(),
        to_email: to.to_owned(),
        subject,
        body,
        created_at: now,
        sent_at: None,
    };
    email_outbox::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    Ok(())
}

/// Delivers queued mail every second until the process stops.
pub fn spawn_dispatcher(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(err) = dispatch_pending(&state).await {
                tracing::warn!(error = %err, "email outbox dispatch failed; will retry");
            }
        }
    })
}

async fn dispatch_pending(state: &SharedState) -> AppResult<()> {
    let pending = email_outbox::Entity::find()
        .filter(email_outbox::Column::SentAt.is_null())
        .order_by_asc(email_outbox::Column::CreatedAt)
        .limit(50)
        .all(state.db.conn())
        .await?;
    for mail in pending {
        // Claim it first so two instances never send the same message.
        let claimed = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::SentAt, Expr::value(state.clock.now()))
            .filter(email_outbox::Column::Id.eq(mail.id))
            .filter(email_outbox::Column::SentAt.is_null())
            .exec(state.db.conn())
            .await?;
        if claimed.rows_affected == 1 {
            tracing::info!(to = %mail.to_email, subject = %mail.subject, body = %mail.body, "email (no mail transport configured; logged)");
        }
    }
    Ok(())
}
