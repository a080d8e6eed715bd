//! The registry's signals to an open socket (shutdown, token expiry) and
//! checking its member's access again when it may have changed.

use std::time::Duration;

use tokio::time::Instant;

use super::{Connection, Step};
use crate::{auth::session, error::AppError, http::ws::protocol::close, realtime::sockets::flag};

impl Connection {
    pub(super) async fn on_signals(&mut self, flags: u8) -> Step {
        if flags & flag::SHUTDOWN != 0 {
            return Err((1001, "Server shutting down".into()));
        }
        if flags & flag::EXPIRED != 0 {
            return Err((close::FORBIDDEN, "Token expired".into()));
        }
        if flags & flag::RECHECK != 0 {
            return self.recheck().await;
        }
        if flags & flag::RECHECK_SOON != 0 && self.recheck_at.is_none() {
            // Spread over a second, so a resync does not read every socket's access at once.
            let delay = Duration::from_millis(rand::random::<u64>() % 1000);
            self.recheck_at = Some(Instant::now() + delay);
        }
        Ok(())
    }

    /// Reads the member's access again. Every operation a socket runs needs
    /// only membership (subscriptions are readable by every role), so the
    /// socket closes when the membership or the sign-in is gone.
    pub(super) async fn recheck(&mut self) -> Step {
        let Some(header) = self.authorization.as_deref() else {
            return Ok(());
        };
        match session::check(&self.http.app, header, 0).await {
            Ok(_) => Ok(()),
            Err(AppError::Unauthenticated(_)) => Err((close::FORBIDDEN, "Forbidden".into())),
            Err(err) => {
                tracing::warn!(error = %err, "checking a socket's access failed; trying again");
                self.recheck_at = Some(Instant::now() + Duration::from_secs(1));
                Ok(())
            }
        }
    }
}
