//! Cached sessions keep to their terms: a demotion or removal applies to the
//! very next request on the instance that made it, even with the member's
//! session cached there, and within a second on another instance.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

const ME: &str = "{ viewer { member { role } } }";

async fn role_of(app: &TestApp, token: &str) -> serde_json::Value {
    app.gql(Some(token), ME, json!({})).await
}

db_test! {
    async fn a_demotion_or_removal_applies_to_the_next_request_despite_a_cached_session(app);
    {
        let (owner, members) = app.team(&["MEMBER"]).await;
        let member = &members[0];
        let id = app.member_id(member).await;
        // Cached now.
        assert_eq!(role_of(&app, &member.token).await["data"]["viewer"]["member"]["role"], "MEMBER");
        assert_eq!(role_of(&app, &member.token).await["data"]["viewer"]["member"]["role"], "MEMBER");

        app.ok(Some(&owner.token), "mutation($m: ID!) { changeMemberRole(memberId: $m, role: VIEWER) { role } }", json!({ "m": id })).await;
        assert_eq!(role_of(&app, &member.token).await["data"]["viewer"]["member"]["role"], "VIEWER");

        app.ok(Some(&owner.token), "mutation($m: ID!) { removeMember(memberId: $m) }", json!({ "m": id })).await;
        assert_eq!(code(&role_of(&app, &member.token).await), "UNAUTHENTICATED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_removal_on_one_instance_applies_on_another_within_a_second() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, |_| {}).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let (owner, members) = b.team(&["MEMBER"]).await;
    let member = &members[0];
    let id = b.member_id(member).await;
    assert_eq!(
        role_of(a, &member.token).await["data"]["viewer"]["member"]["role"],
        "MEMBER"
    );

    b.ok(
        Some(&owner.token),
        "mutation($m: ID!) { removeMember(memberId: $m) }",
        json!({ "m": id }),
    )
    .await;
    let token = member.token.as_str();
    eventually(Duration::from_secs(1), move || async move {
        let body = role_of(a, token).await;
        match body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
            true => Ok(()),
            false => Err(format!("still served: {body}")),
        }
    })
    .await;
}
