//! The one error type the API speaks, and its table of codes.
//!
//! Every failure a client can see is an [`AppError`]; each variant's doc says what the
//! client receives. Database and other internal errors become `INTERNAL`: their
//! cause chain is in the error's `Display` (so every log line naming the error
//! has it) and is logged once, with the request's span and id, when the error
//! reaches a client, who sees only "internal error" and the request id.

use async_graphql::ErrorExtensions;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `UNAUTHENTICATED`: no token, a bad or expired token, or a member no longer in the workspace.
    #[error("{0}")]
    Unauthenticated(String),
    /// `FORBIDDEN`: signed in, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// `NOT_FOUND`: no such thing in this workspace (other workspaces' ids included).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// `BAD_USER_INPUT`: the input is invalid; the message says which part and why.
    #[error("{0}")]
    BadUserInput(String),
    /// `CONFLICT`: not allowed in the current state.
    #[error("{0}")]
    Conflict(String),
    /// `SEAT_LIMIT_REACHED`: the plan has no seat left.
    #[error("{0}")]
    SeatLimitReached(String),
    /// `INSUFFICIENT_CREDITS`: not enough credits available.
    #[error("{0}")]
    InsufficientCredits(String),
    /// `RATE_LIMITED`: too many attempts; try again later.
    #[error("{0}")]
    RateLimited(String),
    /// `INTERNAL`: something broke on our side; the detail (the whole cause
    /// chain) is only in the server log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::SeatLimitReached(_) => "SEAT_LIMIT_REACHED",
            AppError::InsufficientCredits(_) => "INSUFFICIENT_CREDITS",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// An internal fault caused by `err`, keeping its whole cause chain.
    pub fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        AppError::Internal(cause_chain(err))
    }

    /// The message a client sees: never an internal fault's detail.
    pub fn client_message(&self) -> String {
        match self {
            AppError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
            other => other.to_string(),
        }
    }

    /// The error as a GraphQL error object, for transports that answer
    /// outside a GraphQL execution: `message`, `extensions.code`, and for
    /// an internal fault (logged here) `extensions.requestId`.
    pub fn client_error(&self, request_id: &str) -> serde_json::Value {
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let AppError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
            extensions["requestId"] = request_id.into();
        }
        serde_json::json!({ "message": self.client_message(), "extensions": extensions })
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadUserInput(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn unauthenticated() -> Self {
        AppError::Unauthenticated("sign in to do this".into())
    }
}

/// What a client is told of any internal fault.
pub const INTERNAL_MESSAGE: &str = "internal error";

/// `err` and each of its sources, outermost first, joined with ": ".
pub fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Many errors repeat their source's text in their own; say it once.
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::internal(&err)
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl ErrorExtensions for AppError {
    /// The error as a client receives it. An internal fault is logged here,
    /// inside the request's span (which carries its id): the one place every
    /// fault passes on its way to a client. The request id is added to the
    /// error's extensions by the document limits extension.
    fn extend(&self) -> async_graphql::Error {
        if let AppError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        async_graphql::Error::new(self.client_message())
            .extend_with(|_, ext| ext.set("code", self.code()))
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// A stored number as a 32-bit Int (GraphQL's): one that does not fit is an
/// error of the field, never a silently truncated figure.
pub fn int<T>(value: T) -> AppResult<i32>
where
    T: TryInto<i32> + Copy + std::fmt::Display,
{
    value
        .try_into()
        .map_err(|_| AppError::Internal(format!("{value} does not fit a GraphQL Int")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    #[derive(Debug, thiserror::Error)]
    #[error("query failed")]
    struct QueryFailed(#[source] Reset);

    #[test]
    fn an_internal_fault_keeps_its_cause_chain_for_the_log_and_not_for_the_client() {
        let err = AppError::internal(&QueryFailed(Reset));

        assert_eq!(
            err.to_string(),
            "internal error: query failed: connection reset"
        );
        assert_eq!(err.client_message(), "internal error");
        let client = err.extend();
        assert_eq!(client.message, "internal error");
        assert_eq!(
            client.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("INTERNAL"))
        );
    }
}
