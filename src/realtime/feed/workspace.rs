//! A workspace's feed: its activity, and its credits re-read once per change
//! while anyone here follows them.

use std::sync::Arc;

use entity::workspace;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use super::{resync_or, FeedContext, Task};
use crate::{
    db::Db,
    error::AppResult,
    realtime::{
        bus::Subscription,
        sequence::{ActivityLog, Fanout},
        Message, Topic,
    },
};

/// One workspace as this instance follows it.
pub struct WorkspaceFeed {
    pub id: Uuid,
    pub activity: Arc<Fanout<ActivityLog>>,
    /// The workspace row, re-read when its credits change while anyone here follows them.
    pub credits: watch::Sender<Option<workspace::Model>>,
    refresh: Arc<Notify>,
    _task: Task,
}

impl WorkspaceFeed {
    pub(super) async fn start(context: FeedContext, id: Uuid) -> AppResult<Arc<WorkspaceFeed>> {
        let subscription = context.bus.subscribe(Topic::Workspace(id)).await;
        let ws = crate::workspace::service::get(context.db.conn(), id).await?;
        let activity = Arc::new(Fanout::new(
            ActivityLog(context.db.clone(), id),
            ws.activity_seq,
        ));
        let (credits, _) = watch::channel(Some(ws));
        let refresh = Arc::new(Notify::new());
        let task = WorkspaceTask {
            id,
            db: context.db.clone(),
            subscription,
            activity: activity.clone(),
            credits: credits.clone(),
            refresh: refresh.clone(),
        };
        Ok(Arc::new(WorkspaceFeed {
            id,
            activity,
            credits,
            refresh,
            _task: Task(tokio::spawn(task.run())),
        }))
    }

    /// Re-reads the credits now.
    pub fn refresh_credits(&self) {
        self.refresh.notify_one();
    }
}

struct WorkspaceTask {
    id: Uuid,
    db: Db,
    subscription: Subscription,
    activity: Arc<Fanout<ActivityLog>>,
    credits: watch::Sender<Option<workspace::Model>>,
    refresh: Arc<Notify>,
}

impl WorkspaceTask {
    async fn run(mut self) {
        loop {
            let reread = tokio::select! {
                signal = self.subscription.recv() => match resync_or(signal) {
                    Some(message) => match &*message {
                        Message::Activity(row) => {
                            self.activity.accept(row.clone()).await;
                            false
                        }
                        Message::Credits => true,
                        _ => false,
                    },
                    None => {
                        self.activity.catch_up(i64::MAX).await;
                        true
                    }
                },
                _ = self.refresh.notified() => true,
            };
            if reread && self.credits.receiver_count() > 0 {
                self.reread_credits().await;
            }
        }
    }

    async fn reread_credits(&self) {
        match crate::workspace::service::get(self.db.conn(), self.id).await {
            Ok(ws) => {
                self.credits.send_if_modified(|current| {
                    let changed = current.as_ref().is_none_or(|c| !same_credits(c, &ws));
                    *current = Some(ws);
                    changed
                });
            }
            Err(err) => tracing::warn!(error = %err, "reading credits failed"),
        }
    }
}

/// Whether two readings of a workspace show the same `Credits`.
pub fn same_credits(a: &workspace::Model, b: &workspace::Model) -> bool {
    (a.credit_balance, a.credit_reserved, &a.plan) == (b.credit_balance, b.credit_reserved, &b.plan)
}
