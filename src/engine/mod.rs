//! The run engine: turns workrooms' goals into finished deliverables.
//!
//! - `lease`: which instance runs a workroom (a lease in the database,
//!   claimed by conditional update, `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//!   and renewed while running; an expired lease is taken over).
//! - `runner`: one workroom's run loop, a step at a time.
//! - `plan`, `work`, `compose`: the phases (Planner, AGENT tasks, Composer);
//!   `tool`: TOOL tasks' calls, at most once for side effects;
//!   `functions`: AGENT tasks' tool calls by function calling;
//!   `call_order`: a call sent after its recorded start, or alongside it
//!   when read-only.
//! - `attempt`: a task's attempt, started and settled (its charge and how
//!   it ended), shared by `work` and `compose`.
//! - `steps`: what the phases share (the fenced transaction, holds and
//!   charges, failing, the lease check); calls go runner → phases → steps.
//! - `stream`: consuming a model's stream with its cap and cancellation.
//! - `context`: what the model is told.
//!
//! Every step reserves credits first (a hold per attempt), checks at every
//! token batch that the workroom is still in the state it started in (so a
//! pause, cancel or replan from any instance stops it at the next token),
//! and commits its results, events, charge and transition together.

mod attempt;
mod call_order;
mod compose;
mod context;
mod functions;
mod lease;
mod plan;
mod runner;
mod steps;
mod stream;
mod tool;
mod work;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use tokio::{sync::Mutex, task::JoinHandle};
use uuid::Uuid;

use crate::{
    config::EngineSettings,
    llm::LanguageModel,
    realtime::{Message, Topic},
    state::SharedState,
};

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
    /// Their run tasks, to stop them at shutdown.
    runs: std::sync::Mutex<HashMap<Uuid, JoinHandle<()>>>,
}

impl Engine {
    pub fn new(state: SharedState, model: Arc<dyn LanguageModel>) -> Arc<Engine> {
        let settings = state.config.engine.clone();
        let lease_ttl = Duration::from_secs(state.config.lease_ttl.max(1));
        Arc::new(Engine {
            instance: state.realtime.instance.clone(),
            state,
            model,
            settings,
            lease_ttl,
            running: Mutex::new(HashSet::new()),
            runs: Default::default(),
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
                crate::state::Rounds::completed(&self.state.rounds.engine);
                if self.running.lock().await.is_empty() {
                    crate::state::Rounds::completed(&self.state.rounds.engine_idle);
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
            // Held while spawning, so the run cannot finish (and remove
            // itself) before it is recorded.
            let mut runs = self.runs.lock().expect("runs lock");
            let run = tokio::spawn(async move {
                runner::run(&engine, id).await;
                engine.runs.lock().expect("runs lock").remove(&id);
                engine.running.lock().await.remove(&id);
                // Another step may have become due while this run wound down.
                engine.state.work.notify_one();
            });
            runs.insert(id, run);
        }
        Ok(())
    }

    /// Stops this instance's runs where they are and gives their leases up,
    /// so another instance takes the workrooms over at once (as after a
    /// crash, without waiting for the leases to expire). The caller stopped
    /// the claiming loop first, and waited for it.
    pub async fn stop(&self) {
        let runs: Vec<JoinHandle<()>> = self
            .runs
            .lock()
            .expect("runs lock")
            .drain()
            .map(|(_, run)| run)
            .collect();
        for run in runs {
            run.abort();
            // Stopped at its next await: none of its steps can commit after this.
            let _ = run.await;
        }
        match lease::release_all(self).await {
            Ok(0) => {}
            Ok(released) => {
                tracing::info!(released, "run leases released");
                self.state
                    .realtime
                    .bus
                    .publish(Topic::Control, Message::Work);
            }
            Err(err) => {
                tracing::warn!(error = %err, "releasing run leases failed; they will expire")
            }
        }
    }

    /// Credits for `tokens` model tokens: every started block of `tokens_per_credit` costs one.
    pub fn credits_for(&self, tokens: u32) -> i64 {
        let per = self.settings.tokens_per_credit.max(1);
        i64::from(tokens.div_ceil(per))
    }
}
