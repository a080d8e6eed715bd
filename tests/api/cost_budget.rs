//! Cost budgets as an API consumer meets them: every signed-in response says
//! what the document cost and what is left (in `extensions.cost` and the
//! `RateLimit-*` headers), a spent budget is RATE_LIMITED (429) until the
//! window resets and charges nothing, budgets are per member, and every
//! instance draws on the same one through Redis.

use serde_json::{json, Value};

use crate::helpers::*;

const CHEAP: &str = "{ viewer { user { id } } }";
const PAGE: &str = "{ workspace { members(first: 10) { nodes { id } } } }";

/// Status, `RateLimit-*` headers and body of a POST.
async fn post(app: &TestApp, token: &str, query: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = app
        .client
        .post(&app.url)
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.unwrap())
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers[name].to_str().unwrap().to_owned()
}

db_test! {
    async fn each_document_is_charged_its_cost_until_the_hourly_budget_is_spent(app)
        with |config| config.limits.cost_budget_per_hour = 40;
    {
        let (owner, members) = app.team(&["MEMBER"]).await;
        let signup = app.gql(None, "{ __typename }", json!({})).await;
        assert!(signup.get("extensions").is_none(), "anonymous requests have no budget: {signup}");

        let (status, headers, cheap) = post(&app, &owner.token, CHEAP).await;
        assert_eq!(status, 200);
        let cost = &cheap["extensions"]["cost"];
        assert_eq!((&cost["requested"], &cost["limit"]), (&json!(1), &json!(40)), "every document costs at least 1: {cheap}");
        let before = cost["remaining"].as_u64().unwrap();
        assert_eq!(header(&headers, "ratelimit-limit"), "40");
        assert_eq!(header(&headers, "ratelimit-remaining"), before.to_string());
        assert_eq!(header(&headers, "ratelimit-policy"), "40;w=3600");
        let reset: i64 = header(&headers, "ratelimit-reset").parse().unwrap();
        assert!((0..=3600).contains(&reset), "{reset}");
        let reset_at = chrono::DateTime::parse_from_rfc3339(cost["resetAt"].as_str().unwrap()).unwrap();
        assert!(reset_at > chrono::Utc::now() && reset_at.timestamp() % 3600 == 0, "the window ends on the hour: {reset_at}");

        let (_, _, page) = post(&app, &owner.token, PAGE).await;
        let page_cost = page["extensions"]["cost"]["requested"].as_u64().unwrap();
        assert!(page_cost > 1, "a page costs its size: {page}");
        assert_eq!(page["extensions"]["cost"]["remaining"], json!(before - page_cost));

        let mut left = before - page_cost;
        while left >= page_cost {
            let (status, _, body) = post(&app, &owner.token, PAGE).await;
            assert_eq!(status, 200, "{body}");
            left -= page_cost;
            assert_eq!(body["extensions"]["cost"]["remaining"], json!(left));
        }
        let (status, headers, refused) = post(&app, &owner.token, PAGE).await;
        assert_eq!(status, 429, "{refused}");
        assert_eq!(code(&refused), "RATE_LIMITED");
        assert_eq!(refused["errors"][0]["extensions"]["resetAt"], cost["resetAt"]);
        assert!(refused.get("data").is_none_or(Value::is_null));
        assert_eq!(refused["extensions"]["cost"]["remaining"], json!(left), "a refusal charges nothing");
        assert_eq!(header(&headers, "retry-after"), header(&headers, "ratelimit-reset"));
        if left > 0 {
            let (status, _, _) = post(&app, &owner.token, CHEAP).await;
            assert_eq!(status, 200, "a cheaper document still fits");
        }

        let (status, _, other) = post(&app, &members[0].token, PAGE).await;
        assert_eq!(status, 200, "another member has a budget of their own: {other}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn every_instance_draws_on_the_same_budget_through_redis() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, |c| c.limits.cost_budget_per_hour = 5).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let ann = a.signup("ann@example.com", "Acme").await;
    for expected in [4, 3, 2] {
        let (_, _, body) = post(a, &ann.token, CHEAP).await;
        assert_eq!(
            body["extensions"]["cost"]["remaining"],
            json!(expected),
            "{body}"
        );
    }
    let (_, _, body) = post(b, &ann.token, CHEAP).await;
    assert_eq!(
        body["extensions"]["cost"]["remaining"],
        json!(1),
        "B sees what A spent: {body}"
    );
    post(b, &ann.token, CHEAP).await;
    let (status, _, refused) = post(a, &ann.token, CHEAP).await;
    assert_eq!((status, code(&refused)), (429, "RATE_LIMITED"), "{refused}");
}

db_test! {
    async fn a_document_refused_before_it_runs_charges_nothing(app)
        with |config| {
            config.limits.cost_budget_per_hour = 1_000;
            config.env = "production".into();
            config.secret_key = Some(atelya::config::Secret("ab".repeat(32)));
        };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let remaining = |body: &Value| body["extensions"]["cost"]["remaining"].as_u64();
        let (_, _, first) = post(&app, &ann.token, PAGE).await;
        let left = remaining(&first).expect("a signed-in response says what is left");
        for refused in [
            "{ workspace { members(first: 10) { nodes { nosuchfield } } } }",
            "{ __schema { types { name } } }",
            "{ workspace { members(first: 10) { nodes { id } } } ",
            "query($n: Int!) { workspace { members(first: $n) { nodes { id } } } }",
        ] {
            let (status, _, body) = post(&app, &ann.token, refused).await;
            assert!(body.get("data").is_none(), "{refused}: {body}");
            assert!(status == 200 || status == 400, "{refused}: {status}");
            if let Some(now) = remaining(&body) {
                assert_eq!(now, left, "{refused} was charged");
            }
        }
        let (_, _, again) = post(&app, &ann.token, CHEAP).await;
        let cheap = again["extensions"]["cost"]["requested"].as_u64().unwrap();
        assert_eq!(remaining(&again), Some(left - cheap), "{again}");
    }
}
