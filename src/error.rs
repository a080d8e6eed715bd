//! The one error type the API speaks, and its table of codes.
//!
//! Every failure a client can see is an [`AppError`]; each variant's doc says what the
//! client receives. Database and other internal errors are logged and become `INTERNAL`
//! without their detail.

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
    /// `INTERNAL`: something broke on our side; the detail is only in the server log.
    #[error("internal error")]
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

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal(err.to_string())
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
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string())
            .extend_with(|_, ext| ext.set("code", self.code()))
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

pub type AppResult<T> = Result<T, AppError>;
