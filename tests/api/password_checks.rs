//! Every password check (login, accepting an invitation as an existing
//! account) shares one per-address limit and one per-email lockout, and an
//! unknown email costs what a known one does.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{helpers::*, invitations::accept};

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";

async fn login(app: &TestApp, email: &str, password: &str) -> serde_json::Value {
    app.gql(None, LOGIN, json!({ "e": email, "p": password }))
        .await
}

/// Carol has an account; a team invites her. Returns the accept token.
async fn carol_invited_to_a_team(app: &TestApp) -> String {
    app.signup("carol@example.com", "Carol").await;
    let owner = app.signup("owner@example.com", "Team").await;
    app.change_plan(&owner.token, "STARTER").await;
    app.invite(&owner.token, "carol@example.com", "MEMBER")
        .await
}

db_test! {
    async fn guessing_a_password_through_an_invitation_locks_the_email_out_of_login_too(app)
        with |c: &mut atelya::config::Config| c.limits.failed_logins_per_15_min = 3;
    {
        app.signup("victim@example.com", "Victim Co").await;
        let mallory = app.signup("mallory@example.com", "Mallory").await;
        app.change_plan(&mallory.token, "STARTER").await;
        let invitation = app.invite(&mallory.token, "victim@example.com", "MEMBER").await;
        for guess in ["guess-number-1", "guess-number-2", "guess-number-3"] {
            let refused = accept(&app, None, &invitation, None, Some(guess)).await;
            assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
        }
        let locked = accept(&app, None, &invitation, None, Some(PASSWORD)).await;
        assert_eq!(code(&locked), "RATE_LIMITED", "even the right password: {locked}");
        assert_eq!(code(&login(&app, "victim@example.com", PASSWORD).await), "RATE_LIMITED");
    }
}

db_test! {
    async fn failed_logins_lock_the_email_out_of_accepting_an_invitation(app)
        with |c: &mut atelya::config::Config| c.limits.failed_logins_per_15_min = 2;
    {
        let invitation = carol_invited_to_a_team(&app).await;
        for _ in 0..2 {
            assert_eq!(code(&login(&app, "carol@example.com", "not her password").await), "UNAUTHENTICATED");
        }
        let locked = accept(&app, None, &invitation, None, Some(PASSWORD)).await;
        assert_eq!(code(&locked), "RATE_LIMITED", "{locked}");
        app.state.clock.advance(Duration::from_secs(15 * 60 + 1));
        let accepted = accept(&app, None, &invitation, None, Some(PASSWORD)).await;
        assert!(accepted.get("errors").is_none(), "the lockout ends: {accepted}");
    }
}

db_test! {
    async fn logins_and_invitation_passwords_share_one_allowance_per_address(app)
        with |c: &mut atelya::config::Config| c.limits.auth_rate_per_minute = 3;
    {
        let invitation = carol_invited_to_a_team(&app).await;
        for _ in 0..2 {
            let body = login(&app, "carol@example.com", PASSWORD).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
        let third = accept(&app, None, &invitation, None, Some("a wrong guess")).await;
        assert_eq!(code(&third), "UNAUTHENTICATED", "{third}");
        assert_eq!(code(&login(&app, "carol@example.com", PASSWORD).await), "RATE_LIMITED");
    }
}

db_test! {
    async fn a_login_with_an_unknown_email_takes_as_long_as_one_with_a_wrong_password(app)
        with |c: &mut atelya::config::Config| c.argon2_memory_kib = 19_456;
    {
        app.signup("ann@example.com", "Acme").await;
        async fn timed(app: &TestApp, email: &str) -> Duration {
            let started = Instant::now();
            let body = login(app, email, "not the password").await;
            assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
            started.elapsed()
        }
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            known.push(timed(&app, "ann@example.com").await);
            unknown.push(timed(&app, "nobody@example.com").await);
        }
        known.sort();
        unknown.sort();
        let (known, unknown) = (known[2], unknown[2]);
        // A full argon2id hash takes tens of milliseconds; skipping it, under one.
        assert!(
            unknown * 2 > known && known * 2 > unknown,
            "median login: known email {known:?}, unknown email {unknown:?}"
        );
    }
}
