//! Access tokens (JWT rules) and refresh tokens (rotation, reuse, logout).

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::helpers::*;

const VIEWER: &str = "{ viewer { user { email } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";

async fn refresh(app: &TestApp, token: &str) -> serde_json::Value {
    app.gql(None, REFRESH, json!({ "t": token })).await
}

fn pair(body: &serde_json::Value) -> (String, String) {
    let r = &body["data"]["refreshToken"];
    (
        r["accessToken"].as_str().unwrap().to_owned(),
        r["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// The claims of a token, to forge variants of it.
fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn sign(claims: &serde_json::Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

db_test! {
    async fn a_token_names_its_user_and_workspace_by_the_ids_the_api_returns(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let viewer = app.ok(Some(&ann.token), "{ viewer { user { id } workspace { id } } }", json!({})).await;
        let claims = claims_of(&ann.token);
        assert_eq!(claims["sub"], viewer["viewer"]["user"]["id"], "{claims}");
        assert_eq!(claims["wid"], viewer["viewer"]["workspace"]["id"], "{claims}");
        assert!(claims["sub"].as_str().unwrap().starts_with("usr_"));
        assert!(claims["wid"].as_str().unwrap().starts_with("wsp_"));
    }
}

db_test! {
    async fn a_refresh_token_rotates_and_its_successor_works(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let first = refresh(&app, &ann.refresh).await;
        let (access, next) = pair(&first);
        assert_ne!(next, ann.refresh);
        app.ok(Some(&access), VIEWER, json!({})).await;
        let second = refresh(&app, &next).await;
        assert!(second.get("errors").is_none(), "{second}");
    }
}

db_test! {
    async fn reusing_a_rotated_refresh_token_revokes_its_whole_family(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let (_, successor) = pair(&refresh(&app, &ann.refresh).await);
        assert_eq!(code(&refresh(&app, &ann.refresh).await), "UNAUTHENTICATED");
        assert_eq!(code(&refresh(&app, &successor).await), "UNAUTHENTICATED", "the successor is revoked too");
        // Another sign-in (another family) is unaffected.
        let login = app
            .ok(None, "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { refreshToken } }", json!({ "e": ann.email, "p": PASSWORD }))
            .await;
        let other = login["login"]["refreshToken"].as_str().unwrap();
        assert!(refresh(&app, other).await.get("errors").is_none());
    }
}

db_test! {
    async fn concurrent_uses_of_one_refresh_token_yield_one_successor(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let attempts = (0..5).map(|_| refresh(&app, &ann.refresh));
        let results = futures_util::future::join_all(attempts).await;
        let wins = results.iter().filter(|r| r.get("errors").is_none()).count();
        assert!(wins <= 1, "at most one rotation wins: {results:?}");
    }
}

db_test! {
    async fn logout_ends_the_sign_in_and_is_idempotent(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
        assert_eq!(app.ok(None, logout, json!({ "t": ann.refresh })).await["logout"], true);
        assert_eq!(app.ok(None, logout, json!({ "t": ann.refresh })).await["logout"], false);
        assert_eq!(app.ok(None, logout, json!({ "t": "unknown" })).await["logout"], false);
        assert_eq!(code(&refresh(&app, &ann.refresh).await), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_refresh_token_expires_after_its_lifetime(app)
        with |c: &mut atelya::config::Config| c.refresh_token_ttl = 3600;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.state.clock.advance(Duration::from_secs(3601));
        assert_eq!(code(&refresh(&app, &ann.refresh).await), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn an_access_token_works_until_expiry_plus_thirty_seconds_of_leeway(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.state.clock.advance(Duration::from_secs(900 + 25));
        app.ok(Some(&ann.token), VIEWER, json!({})).await;
        app.state.clock.advance(Duration::from_secs(6));
        assert_eq!(code(&app.gql(Some(&ann.token), VIEWER, json!({})).await), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn forged_and_malformed_tokens_are_unauthenticated(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let claims = claims_of(&ann.token);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = ann.token.split('.').nth(1).unwrap();
        let alg_none = format!("{}.{payload}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#));
        let mut no_aud = claims.clone();
        no_aud.as_object_mut().unwrap().remove("aud");
        let mut wrong_iss = claims.clone();
        wrong_iss["iss"] = json!("someone-else");
        let mut wrong_aud = claims.clone();
        wrong_aud["aud"] = json!("another-api");
        let mut stranger = claims.clone();
        stranger["sub"] = json!(format!("usr_{}", uuid::Uuid::now_v7().simple()));
        let mut bare_uuid = claims.clone();
        bare_uuid["sub"] = json!(ann.user_id.trim_start_matches("usr_"));
        let mut wrong_kind = claims.clone();
        wrong_kind["wid"] = json!(ann.workspace_id.replace("wsp_", "usr_"));
        let forged = [
            alg_none,
            sign(&claims, "a-different-secret-of-enough-length!"),
            sign(&no_aud, TEST_SECRET),
            sign(&wrong_iss, TEST_SECRET),
            sign(&wrong_aud, TEST_SECRET),
            sign(&stranger, TEST_SECRET),
            sign(&bare_uuid, TEST_SECRET),
            sign(&wrong_kind, TEST_SECRET),
            "not.a.jwt".to_owned(),
        ];
        for token in forged {
            assert_eq!(code(&app.gql(Some(&token), VIEWER, json!({})).await), "UNAUTHENTICATED", "{token}");
        }
        // The untouched claims re-signed with the real secret still work: the refusals above are about what changed.
        app.ok(Some(&sign(&claims, TEST_SECRET)), VIEWER, json!({})).await;
        let basic = app
            .client
            .post(&app.url)
            .header("authorization", "Basic YW5uOnB3")
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(code(&basic), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_public_field_works_with_a_bad_token_while_private_ones_refuse(app);
    {
        let body = app.gql(Some("garbage"), "{ plans { plan } }", json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(code(&app.gql(None, "{ workspace { name } }", json!({})).await), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_logout_racing_a_refresh_ends_the_sign_in_either_way(app);
    {
        let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
        for i in 0..12 {
            let ann = app.signup(&format!("racer{i}@example.com"), "Race").await;
            let (refreshed, _) = tokio::join!(
                refresh(&app, &ann.refresh),
                app.gql(None, logout, json!({ "t": ann.refresh }))
            );
            if refreshed.get("errors").is_some() {
                continue;
            }
            // The refresh won the race: what it issued belongs to the ended sign-in.
            let (access, next) = pair(&refreshed);
            assert_eq!(code(&refresh(&app, &next).await), "UNAUTHENTICATED", "round {i}");
            assert_eq!(code(&app.gql(Some(&access), VIEWER, json!({})).await), "UNAUTHENTICATED", "round {i}");
        }
    }
}
