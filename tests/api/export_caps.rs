//! The hourly caps on downloads and exports, per member and per client
//! address: one past a cap a download is 429 with `Retry-After` and a
//! RATE_LIMITED body, an export a RATE_LIMITED error, and neither records
//! or stores anything. Addresses come from X-Forwarded-For behind a trusted
//! proxy, so one test can speak from several.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    exports::{actions, composed, export, EXPORT},
    helpers::*,
};

/// GET `url` with `token`, from `address`.
async fn get_from(app: &TestApp, url: &str, token: &str, address: &str) -> reqwest::Response {
    app.client
        .get(url)
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .send()
        .await
        .expect("download request sent")
}

/// `exportDeliverable` of `deliverable` as Markdown by `token`, from `address`.
async fn export_from(app: &TestApp, token: &str, deliverable: &str, address: &str) -> Value {
    app.client
        .post(&app.url)
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(&json!({ "query": EXPORT, "variables": { "d": deliverable, "f": "MARKDOWN" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A composed deliverable of the owner's and one Markdown export of it: (deliverable, download URL).
async fn exported(app: &TestApp, owner: &Account) -> (String, String) {
    let room = composed(app, &owner.token, &[]).await;
    let deliverable = room["deliverables"][0]["id"].as_str().unwrap().to_owned();
    let made = export(app, &owner.token, &deliverable, "MARKDOWN").await;
    (
        deliverable,
        made["downloadUrl"].as_str().unwrap().to_owned(),
    )
}

/// How many entries of the workspace's log are `action`.
async fn logged(app: &TestApp, owner: &Account, action: &str) -> usize {
    let log = actions(app, &owner.token, 100).await;
    log.iter().filter(|e| e["action"] == action).count()
}

/// How many exports of the deliverable are stored.
async fn stored(app: &TestApp, owner: &Account, deliverable: &str) -> usize {
    let data = app
        .ok(
            Some(&owner.token),
            "query($id: ID!) { node(id: $id) { ... on Deliverable { exports { id } } } }",
            json!({ "id": deliverable }),
        )
        .await;
    data["node"]["exports"]
        .as_array()
        .expect("the deliverable's exports")
        .len()
}

/// Asserts a 429 with a RATE_LIMITED body about downloads; returns `Retry-After`.
async fn too_many_downloads(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 429);
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("too many downloads"), "{message}");
    retry_after
}

db_test! {
    async fn a_member_over_the_hourly_download_cap_gets_429_with_retry_after_and_nothing_is_recorded(app)
        with |c: &mut atelya::config::Config| {
            c.limits.downloads_per_hour = 3;
            c.trust_proxy = true;
            c.access_token_ttl = 3_600; // outlives the wait for the cap
        };
    {
        let (owner, team) = app.team(&["VIEWER"]).await;
        let (_, url) = exported(&app, &owner).await;
        for i in 1..=3 {
            let response = get_from(&app, &url, &owner.token, &format!("203.0.113.{i}")).await;
            assert_eq!(response.status(), 200, "download {i}");
        }

        let retry_after = too_many_downloads(get_from(&app, &url, &owner.token, "203.0.113.4").await).await;

        assert!((1..=1200).contains(&retry_after), "three an hour frees one every 20 minutes: {retry_after}");
        assert_eq!(logged(&app, &owner, "export.downloaded").await, 3, "the refused download is not recorded");
        let viewer = get_from(&app, &url, &team[0].token, "203.0.113.4").await;
        assert_eq!(viewer.status(), 200, "the cap is the member's, not the address's");
        let head = app.client.head(&url).bearer_auth(&owner.token).send().await.unwrap();
        assert_eq!(head.status(), 200, "a HEAD downloads nothing and is not capped");
        app.state.clock.advance(Duration::from_secs(retry_after));
        let later = get_from(&app, &url, &owner.token, "203.0.113.4").await;
        assert_eq!(later.status(), 200, "after Retry-After the member may download again");
        assert_eq!(logged(&app, &owner, "export.downloaded").await, 5);
    }
}

db_test! {
    async fn an_address_over_the_hourly_download_cap_gets_429_whoever_downloads(app)
        with |c: &mut atelya::config::Config| { c.limits.downloads_per_hour_per_address = 3; c.trust_proxy = true; };
    {
        let (owner, team) = app.team(&["VIEWER"]).await;
        let viewer = &team[0];
        let (_, url) = exported(&app, &owner).await;
        for token in [&owner.token, &owner.token, &viewer.token] {
            assert_eq!(get_from(&app, &url, token, "203.0.113.5").await.status(), 200);
        }

        let retry_after = too_many_downloads(get_from(&app, &url, &viewer.token, "203.0.113.5").await).await;

        assert!((1..=1200).contains(&retry_after), "{retry_after}");
        assert_eq!(get_from(&app, &url, &viewer.token, "198.51.100.7").await.status(), 200, "another address has its own cap");
        // One IPv6 network (a /64) is one address.
        for host in ["a", "b", "c"] {
            assert_eq!(get_from(&app, &url, &viewer.token, &format!("2001:db8:0:1::{host}")).await.status(), 200);
        }
        too_many_downloads(get_from(&app, &url, &viewer.token, "2001:db8:0:1::d").await).await;
        assert_eq!(get_from(&app, &url, &viewer.token, "2001:db8:0:2::1").await.status(), 200);
        assert_eq!(logged(&app, &owner, "export.downloaded").await, 8, "refused downloads are not recorded");
    }
}

db_test! {
    async fn a_member_over_the_hourly_export_cap_is_rate_limited_and_nothing_is_stored(app)
        with |c: &mut atelya::config::Config| c.limits.exports_per_hour = 2;
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        let (deliverable, _) = exported(&app, &owner).await;
        export(&app, &owner.token, &deliverable, "MARKDOWN").await;
        let created = logged(&app, &owner, "export.created").await;

        let refused = app.gql(Some(&owner.token), EXPORT, json!({ "d": deliverable, "f": "PDF" })).await;

        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("too many exports"), "{message}");
        assert_eq!((created, logged(&app, &owner, "export.created").await), (2, 2), "no activity entry");
        assert_eq!(stored(&app, &owner, &deliverable).await, 2, "no export row");
        export(&app, &team[0].token, &deliverable, "PDF").await;
        assert_eq!(stored(&app, &owner, &deliverable).await, 3, "another member has a cap of their own");
    }
}

db_test! {
    async fn an_address_over_the_hourly_export_cap_is_rate_limited_whoever_exports(app)
        with |c: &mut atelya::config::Config| { c.limits.exports_per_hour_per_address = 2; c.trust_proxy = true; };
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        let member = &team[0];
        let room = composed(&app, &owner.token, &[]).await;
        let deliverable = room["deliverables"][0]["id"].as_str().unwrap();
        for token in [&owner.token, &member.token] {
            let made = export_from(&app, token, deliverable, "203.0.113.9").await;
            assert!(made.get("errors").is_none(), "{made}");
        }

        let refused = export_from(&app, &member.token, deliverable, "203.0.113.9").await;

        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        assert_eq!(logged(&app, &owner, "export.created").await, 2, "no activity entry");
        assert_eq!(stored(&app, &owner, deliverable).await, 2, "no export row");
        let elsewhere = export_from(&app, &member.token, deliverable, "198.51.100.20").await;
        assert!(elsewhere.get("errors").is_none(), "another address has its own cap: {elsewhere}");
        assert_eq!(stored(&app, &owner, deliverable).await, 3);
    }
}
