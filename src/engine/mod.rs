//! The run engine: turns workrooms' goals into finished deliverables.
//!
//! - `lease`: which instance runs a workroom (a lease in the database,
//!   claimed by conditional update, `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//!   and renewed while running; an expired lease is taken over).
//! - `runner`: one workroom's run loop, a step at a time.
//! - `plan`, `work`, `compose`: the steps (Planner, AGENT tasks, Composer).
//! - `stream`: consuming a model's stream with its cap and cancellation.
//! - `context`: what the model is told.
//!
//! Every step reserves credits first (a hold per attempt), checks at every
//! token batch that the workroom is still in the state it started in (so a
//! pause, cancel or replan from any instance stops it at the next token),
//! and commits its results, events, charge and transition together.

mod compose;
mod context;
mod lease;
mod plan;
mod runner;
mod stream;
mod work;

use std::{collections::HashSet, sync::Arc, time::Duration};

use tokio::{sync::Mutex, task::JoinHandle};
use uuid::Uuid;

use crate::{config::EngineSettings, llm::LanguageModel, state::SharedState};

/// The engine of one server instance.
pub struct Engine {
    pub state: SharedState,
    pub model: Arc<dyn LanguageModel>,
    /// This instance's name in leases.
    pub instance: String,
    pub settings: EngineSettings,
    pub lease_ttl: Duration,
    /// Workrooms this instance is running now.
    running: Mutex<HashSet<Uuid>>,
}

impl Engine {
    pub fn new(state: SharedState, model: Arc<dyn LanguageModel>) -> Arc<Engine> {
        let settings = state.config.engine.clone();
        let lease_ttl = Duration::from_secs(state.config.lease_ttl.max(1));
        Arc::new(Engine {
            instance: format!("atelya-{}", Uuid::now_v7().simple()),
            state,
            model,
            settings,
            lease_ttl,
            running: Mutex::new(HashSet::new()),
        })
    }

    /// Looks for work until the process stops: when woken, and every poll interval.
    pub fn spawn(self: Arc<Engine>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let poll = Duration::from_millis(self.settings.poll_ms.max(10));
            loop {
                let woken = self.state.work.notified();
                if let Err(err) = self.claim_and_run().await {
                    tracing::warn!(error = %err, "engine could not claim work; will retry");
                }
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        })
    }

    async fn claim_and_run(self: &Arc<Engine>) -> crate::error::AppResult<()> {
        let mut running = self.running.lock().await;
        let claimed = lease::claim(self, &running).await?;
        for id in claimed {
            running.insert(id);
            let engine = self.clone();
            tokio::spawn(async move {
                runner::run(&engine, id).await;
                engine.running.lock().await.remove(&id);
                // Another step may have become due while this run wound down.
                engine.state.work.notify_one();
            });
        }
        Ok(())
    }

    /// Credits for `tokens` model tokens: every started block of `tokens_per_credit` costs one.
    pub fn credits_for(&self, tokens: u32) -> i64 {
        let per = self.settings.tokens_per_credit.max(1);
        i64::from(tokens.div_ceil(per))
    }
}
