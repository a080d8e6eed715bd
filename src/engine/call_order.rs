//! When a tool call is sent, relative to the commit that records its start.
//!
//! A call with side effects is sent only once its start is committed: a
//! crash then leaves it RUNNING on record, and the next owner knows it may
//! have happened and asks a person before calling again (at most once). A
//! read-only call has no effect to guard: it is sent at once and its start
//! commits while it is in flight, so the call does not wait for the
//! bookkeeping. Either way, a start that fails to commit drops the call.

use std::future::Future;

use crate::error::AppResult;

/// Runs `send` once `record` has committed, or alongside it when
/// `read_only`; a failed `record` means `send` never starts, or is dropped.
pub async fn after_record<T>(
    read_only: bool,
    record: impl Future<Output = AppResult<()>>,
    send: impl Future<Output = T>,
) -> AppResult<T> {
    if !read_only {
        record.await?;
        return Ok(send.await);
    }
    let (sent, ()) = tokio::try_join!(async { Ok(send.await) }, record)?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::error::AppError;

    type Log = Arc<Mutex<Vec<&'static str>>>;

    /// A commit that takes a few turns of the executor, then succeeds or fails.
    async fn record(log: Log, commits: bool) -> AppResult<()> {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        if !commits {
            return Err(AppError::Internal("the commit failed".into()));
        }
        log.lock().unwrap().push("committed");
        Ok(())
    }

    /// A call noted when it is sent, answering after a few turns (or never).
    async fn send(log: Log, answers: bool) -> &'static str {
        log.lock().unwrap().push("sent");
        if !answers {
            std::future::pending::<()>().await;
        }
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        log.lock().unwrap().push("answered");
        "answer"
    }

    #[tokio::test]
    async fn a_call_with_side_effects_is_sent_only_after_its_start_commits() {
        let log = Log::default();
        let sent = after_record(false, record(log.clone(), true), send(log.clone(), true)).await;
        assert_eq!(sent.unwrap(), "answer");
        assert_eq!(*log.lock().unwrap(), ["committed", "sent", "answered"]);
    }

    #[tokio::test]
    async fn a_read_only_call_is_sent_while_its_start_commits() {
        let log = Log::default();
        let sent = after_record(true, record(log.clone(), true), send(log.clone(), true)).await;
        assert_eq!(sent.unwrap(), "answer");
        assert_eq!(log.lock().unwrap()[0], "sent", "{:?}", log.lock().unwrap());
        assert!(log.lock().unwrap().contains(&"committed"));
    }

    #[tokio::test]
    async fn a_start_that_fails_to_commit_drops_the_call() {
        let log = Log::default();
        let sent = after_record(false, record(log.clone(), false), send(log.clone(), true)).await;
        assert!(sent.is_err());
        assert!(log.lock().unwrap().is_empty(), "never sent");

        let log = Log::default();
        // A read-only call still waiting for its answer is dropped at once.
        let sent = after_record(true, record(log.clone(), false), send(log.clone(), false)).await;
        assert!(sent.is_err());
        assert_eq!(*log.lock().unwrap(), ["sent"]);
    }
}
