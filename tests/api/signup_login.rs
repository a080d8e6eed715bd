//! Sign-up and login.

use serde_json::json;

use crate::helpers::*;

db_test! {
    async fn signing_up_creates_a_trial_workspace_owned_by_the_new_user(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let data = app
            .ok(
                Some(&ann.token),
                "{ viewer { user { email name } member { role } workspace { name plan maxUsers seatsUsed credits { balance reserved available monthlyAllowance } } memberships { workspaceName role current } } }",
                json!({}),
            )
            .await;
        let v = &data["viewer"];
        assert_eq!(v["user"]["email"], "ann@example.com");
        assert_eq!(v["member"]["role"], "OWNER");
        assert_eq!(v["workspace"]["plan"], "FREE_TRIAL");
        assert_eq!(v["workspace"]["maxUsers"], 1);
        assert_eq!(v["workspace"]["seatsUsed"], 1);
        assert_eq!(v["workspace"]["credits"], json!({ "balance": 500, "reserved": 0, "available": 500, "monthlyAllowance": 0 }));
        assert_eq!(v["memberships"], json!([{ "workspaceName": "Acme", "role": "OWNER", "current": true }]));
    }
}

const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken workspaceId role user { email } } }";

fn signup_vars(email: &str, password: &str, name: &str, workspace: &str) -> serde_json::Value {
    json!({ "input": { "email": email, "password": password, "name": name, "workspaceName": workspace } })
}

async fn login(app: &TestApp, email: &str, password: &str) -> serde_json::Value {
    app.gql(None, LOGIN, json!({ "e": email, "p": password }))
        .await
}

db_test! {
    async fn an_email_signs_up_once_whatever_its_case(app);
    {
        app.signup("ann@example.com", "Acme").await;
        let again = app.gql(None, SIGNUP, signup_vars("ANN@Example.com", PASSWORD, "Ann", "Other")).await;
        assert_eq!(code(&again), "CONFLICT");
    }
}

db_test! {
    async fn invalid_signup_input_is_refused_and_creates_nothing(app);
    {
        let cases = [
            signup_vars("not-an-email", PASSWORD, "Ann", "Acme"),
            signup_vars("ann@example.com", "short", "Ann", "Acme"),
            signup_vars("ann@example.com", PASSWORD, "   ", "Acme"),
            signup_vars("ann@example.com", PASSWORD, "Ann", &"w".repeat(201)),
            signup_vars("ann@example.com", PASSWORD, &"n".repeat(201), "Acme"),
        ];
        for vars in cases {
            let body = app.gql(None, SIGNUP, vars.clone()).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{vars}");
        }
        assert_eq!(code(&login(&app, "ann@example.com", PASSWORD).await), "UNAUTHENTICATED");
        let ok = app.gql(None, SIGNUP, signup_vars("ann@example.com", PASSWORD, "Ann", &"w".repeat(200))).await;
        assert!(ok.get("errors").is_none(), "{ok}");
    }
}

db_test! {
    async fn login_with_the_right_password_signs_in_to_the_first_workspace(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let body = login(&app, "Ann@Example.com", PASSWORD).await;
        let payload = &body["data"]["login"];
        assert_eq!(payload["workspaceId"], ann.workspace_id.as_str());
        assert_eq!(payload["role"], "OWNER");
        let token = payload["accessToken"].as_str().unwrap();
        let data = app.ok(Some(token), "{ viewer { user { email } } }", json!({})).await;
        assert_eq!(data["viewer"]["user"]["email"], "ann@example.com");
    }
}

db_test! {
    async fn a_wrong_password_and_an_unknown_email_are_refused_alike(app);
    {
        app.signup("ann@example.com", "Acme").await;
        let wrong = login(&app, "ann@example.com", "wrong password!").await;
        let unknown = login(&app, "nobody@example.com", PASSWORD).await;
        assert_eq!(code(&wrong), "UNAUTHENTICATED");
        assert_eq!(code(&unknown), "UNAUTHENTICATED");
        assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"]);
    }
}

db_test! {
    async fn signups_are_limited_to_ten_a_minute_per_client_address(app)
        with |c: &mut atelya::config::Config| c.limits.auth_rate_per_minute = 10;
    {
        for i in 0..10 {
            let body = app.gql(None, SIGNUP, signup_vars(&format!("u{i}@example.com"), PASSWORD, "U", "W")).await;
            assert!(body.get("errors").is_none(), "signup {i}: {body}");
        }
        let eleventh = app.gql(None, SIGNUP, signup_vars("u10@example.com", PASSWORD, "U", "W")).await;
        assert_eq!(code(&eleventh), "RATE_LIMITED");
        assert_eq!(code(&login(&app, "u10@example.com", PASSWORD).await), "UNAUTHENTICATED", "the refused signup created nothing");
        app.state.clock.advance(std::time::Duration::from_secs(61));
        let later = app.gql(None, SIGNUP, signup_vars("u10@example.com", PASSWORD, "U", "W")).await;
        assert!(later.get("errors").is_none(), "{later}");
    }
}

db_test! {
    async fn logins_are_limited_to_ten_a_minute_per_client_address(app)
        with |c: &mut atelya::config::Config| c.limits.auth_rate_per_minute = 10;
    {
        app.signup("ann@example.com", "Acme").await;
        for i in 0..10 {
            let body = login(&app, "ann@example.com", PASSWORD).await;
            assert!(body.get("errors").is_none(), "login {i}: {body}");
        }
        assert_eq!(code(&login(&app, "ann@example.com", PASSWORD).await), "RATE_LIMITED");
    }
}

db_test! {
    async fn after_five_failed_logins_even_the_right_password_is_rate_limited(app)
        with |c: &mut atelya::config::Config| c.limits.failed_logins_per_15_min = 5;
    {
        app.signup("ann@example.com", "Acme").await;
        app.signup("bob@example.com", "Bobs").await;
        for _ in 0..5 {
            assert_eq!(code(&login(&app, "ann@example.com", "wrong password!").await), "UNAUTHENTICATED");
        }
        assert_eq!(code(&login(&app, "ann@example.com", PASSWORD).await), "RATE_LIMITED");
        let bob = login(&app, "bob@example.com", PASSWORD).await;
        assert!(bob.get("errors").is_none(), "another email is not locked: {bob}");
        app.state.clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
        let later = login(&app, "ann@example.com", PASSWORD).await;
        assert!(later.get("errors").is_none(), "{later}");
    }
}

async fn signup_from(app: &TestApp, forwarded_for: &str, email: &str) -> serde_json::Value {
    app.client
        .post(&app.url)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": SIGNUP, "variables": signup_vars(email, PASSWORD, "U", "W") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

db_test! {
    async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client(app)
        with |c: &mut atelya::config::Config| { c.limits.auth_rate_per_minute = 1; c.trust_proxy = true; };
    {
        assert!(signup_from(&app, "203.0.113.1", "a@example.com").await.get("errors").is_none());
        assert_eq!(code(&signup_from(&app, "203.0.113.1", "b@example.com").await), "RATE_LIMITED");
        let other = signup_from(&app, "198.51.100.7, 203.0.113.2", "c@example.com").await;
        assert!(other.get("errors").is_none(), "the proxy's last entry is the client: {other}");
    }
}

db_test! {
    async fn without_a_trusted_proxy_forwarded_headers_are_ignored(app)
        with |c: &mut atelya::config::Config| c.limits.auth_rate_per_minute = 1;
    {
        assert!(signup_from(&app, "203.0.113.1", "a@example.com").await.get("errors").is_none());
        assert_eq!(code(&signup_from(&app, "203.0.113.9", "b@example.com").await), "RATE_LIMITED");
    }
}
