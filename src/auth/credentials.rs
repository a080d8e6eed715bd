//! The one place a password is checked against an account: login, accepting
//! an invitation as an existing account, and any later check all go through
//! [`check_password`], so they share one per-address limit and one per-email
//! lockout, and cost the same whether or not the account exists.

use chrono::TimeDelta;
use entity::user;

use crate::{
    error::{AppError, AppResult},
    input::Email,
    ratelimit::Limit,
    state::AppState,
};

/// Checks `password` for the account of `email` (`account`, when there is
/// one). Refused with RATE_LIMITED when the caller's address has made too
/// many password attempts or the email has failed too often lately (even
/// the right password is refused then, so the lockout teaches a guesser
/// nothing). A wrong password, or no account, is `Ok(false)` and counts as
/// a failure of that email; both cost one full hash.
pub async fn check_password(
    state: &AppState,
    client_ip: &str,
    email: &Email,
    account: Option<&user::Model>,
    password: &str,
) -> AppResult<bool> {
    let limits = &state.config.limits;
    let per_address = Limit::new(limits.auth_rate_per_minute, TimeDelta::minutes(1));
    let per_email = Limit::new(limits.failed_logins_per_15_min, TimeDelta::minutes(15));
    state
        .limiter
        .attempt(&format!("password:{client_ip}"), per_address)
        .await?;
    let failures_key = format!("password-failed:{}", email.as_str());
    state.limiter.ensure_below(&failures_key, per_email).await?;
    let verified = match account {
        Some(user) => {
            state
                .passwords
                .verify(password.to_owned(), user.password_hash.clone())
                .await?
        }
        None => state.passwords.verify_nothing(password.to_owned()).await?,
    };
    if !verified {
        state.limiter.record(&failures_key, per_email).await;
    }
    Ok(verified)
}

/// The refusal of a wrong email or password, the same for both.
pub fn wrong_credentials() -> AppError {
    AppError::Unauthenticated("wrong email or password".into())
}
