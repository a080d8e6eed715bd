//! Outgoing email. Mail is written to the `email_outbox` table inside the
//! transaction that causes it (so it goes out only if the change commits);
//! a background dispatcher then delivers it by SMTP when `ATELYA_SMTP_URL` is
//! set, or writes it to the log otherwise.
//!
//! A message's secret (an invitation token) is not in its body: it is sealed
//! with the server's key beside it, written into the text only as the
//! message goes out, and dropped once it is delivered or given up on. The
//! log mailer prints the text without it.
//!
//! A dispatcher claims a message by pushing its `next_attempt_at` forward with
//! a conditional update, so two instances never send the same message; a
//! failed attempt is retried with growing delays, up to [`MAX_ATTEMPTS`].

mod mailer;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use entity::email_outbox;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, UpdateMany,
};
use uuid::Uuid;

pub use mailer::Mailer;

use crate::{
    auth::sealed::Sealer,
    db::WriteTxn,
    error::{AppError, AppResult},
    state::SharedState,
};

/// After this many failed attempts a message is left undelivered (and logged).
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claim lasts: a dispatcher that dies mid-send frees the message after it.
const CLAIM: TimeDelta = TimeDelta::seconds(60);

/// A message to queue. Its body holds [`SECRET_PLACEHOLDER`] where `secret` goes.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: String,
    pub body: String,
    pub secret: Option<&'a str>,
}

/// Queues a message inside the caller's transaction.
pub async fn enqueue(
    txn: &WriteTxn,
    sealer: &Sealer,
    mail: Mail<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let id = Uuid::now_v7();
    let sealed_secret = match mail.secret {
        Some(secret) => Some(sealer.seal(id.as_bytes(), secret.as_bytes())?),
        None => None,
    };
    let row = email_outbox::Model {
        id,
        to_email: mail.to.to_owned(),
        subject: mail.subject,
        body: mail.body,
        created_at: now,
        sent_at: None,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        sealed_secret,
    };
    email_outbox::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    Ok(())
}

/// Delivers due mail every second until the process stops.
pub fn spawn_dispatcher(state: SharedState, mailer: Mailer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(err) = dispatch_due(&state, &mailer).await {
                tracing::warn!(error = %err, "email outbox dispatch failed; will retry");
            }
        }
    })
}

#[tracing::instrument(level = "debug", skip_all)]
async fn dispatch_due(state: &SharedState, mailer: &Mailer) -> AppResult<()> {
    let now = state.clock.now();
    let due = email_outbox::Entity::find()
        .filter(email_outbox::Column::SentAt.is_null())
        .filter(email_outbox::Column::NextAttemptAt.lte(now))
        .filter(email_outbox::Column::Attempts.lt(MAX_ATTEMPTS))
        .order_by_asc(email_outbox::Column::NextAttemptAt)
        .limit(50)
        .all(state.db.conn())
        .await?;
    for mail in due {
        if claim(state, &mail, now).await? {
            deliver(state, mailer, mail).await?;
        }
    }
    Ok(())
}

async fn claim(
    state: &SharedState,
    mail: &email_outbox::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let claimed = email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::NextAttemptAt,
            Expr::value(now + CLAIM),
        )
        .filter(email_outbox::Column::Id.eq(mail.id))
        .filter(email_outbox::Column::SentAt.is_null())
        .filter(email_outbox::Column::NextAttemptAt.eq(mail.next_attempt_at));
    let txn = state.db.begin().await?;
    let claimed = claimed.exec(&*txn).await?;
    txn.commit().await?;
    Ok(claimed.rows_affected == 1)
}

#[tracing::instrument(level = "debug", skip_all, fields(mail = %mail.id, attempt = mail.attempts + 1))]
async fn deliver(state: &SharedState, mailer: &Mailer, mail: email_outbox::Model) -> AppResult<()> {
    let attempts = mail.attempts + 1;
    let update = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Attempts, Expr::value(attempts))
        .filter(email_outbox::Column::Id.eq(mail.id));
    let secret = match &mail.sealed_secret {
        Some(sealed) => {
            let opened = state.sealer.open(mail.id.as_bytes(), sealed)?;
            Some(String::from_utf8(opened).map_err(|e| AppError::Internal(e.to_string()))?)
        }
        None => None,
    };
    let forget_secret = |update: UpdateMany<email_outbox::Entity>| {
        update.col_expr(
            email_outbox::Column::SealedSecret,
            Expr::value(None::<Vec<u8>>),
        )
    };
    let update = match mailer
        .send(&mail.to_email, &mail.subject, &mail.body, secret.as_deref())
        .await
    {
        Ok(()) => forget_secret(update)
            .col_expr(email_outbox::Column::SentAt, Expr::value(state.clock.now()))
            .col_expr(email_outbox::Column::Body, Expr::value("")),
        Err(err) if attempts >= MAX_ATTEMPTS => {
            tracing::error!(to = %mail.to_email, attempts, error = %err, "email given up on");
            forget_secret(update).col_expr(email_outbox::Column::LastError, Expr::value(err))
        }
        Err(err) => {
            let retry_in = TimeDelta::seconds(5 * 2i64.pow(attempts as u32));
            tracing::warn!(to = %mail.to_email, attempts, error = %err, "email delivery failed");
            update
                .col_expr(email_outbox::Column::LastError, Expr::value(err))
                .col_expr(
                    email_outbox::Column::NextAttemptAt,
                    Expr::value(state.clock.now() + retry_in),
                )
        }
    };
    let txn = state.db.begin().await?;
    update.exec(&*txn).await?;
    txn.commit().await
}
