//! Subscriptions to a value (who watches a workroom, the workspace's
//! credits) send it as it is now first, then each change: a client that
//! comes late is not left with nothing until something changes.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*, ws_client::*};

const WATCHERS: &str = "subscription($w: ID!) { workroomWatchers(workroomId: $w) { id email } }";

/// Polls `Workroom.watchers` until it lists `count` users.
async fn until_watched_by(app: &TestApp, token: &str, id: &str, count: usize) {
    let query = "query($w: ID!) { workroom(id: $w) { watchers { id } } }";
    eventually(Duration::from_secs(10), move || async move {
        let data = app.ok(Some(token), query, json!({ "w": id })).await;
        match data["workroom"]["watchers"].as_array().unwrap().len() == count {
            true => Ok(()),
            false => Err(format!("still {data}")),
        }
    })
    .await
}

fn sorted(mut users: Vec<Value>) -> Vec<Value> {
    users.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    users
}

db_test! {
    async fn a_late_watcher_list_subscriber_first_receives_who_watches_now(app);
    {
        let (owner, members) = app.team(&["VIEWER", "MEMBER"]).await;
        let (viewer, member) = (&members[0], &members[1]);
        let id = app.create_workroom(&owner.token, input("Watched already")).await;
        let mut watching = Client::connect(&app, &owner.token).await;
        watching.subscribe("w", WATCH, json!({ "w": id })).await;
        watching.next_of("w").await;
        until_watched_by(&app, &member.token, &id, 1).await;

        let mut follower = Client::connect(&app, &member.token).await;
        follower.subscribe("p", WATCHERS, json!({ "w": id })).await;
        let first = follower.next_of("p").await["workroomWatchers"].clone();
        assert_eq!(first, json!([{ "id": owner.user_id, "email": owner.email }]), "the owner watches already");

        let mut second = Client::connect(&app, &viewer.token).await;
        second.subscribe("w", WATCH, json!({ "w": id })).await;
        let next = follower.next_of("p").await["workroomWatchers"].clone();
        let both = sorted(vec![
            json!({ "id": owner.user_id, "email": owner.email }),
            json!({ "id": viewer.user_id, "email": viewer.email }),
        ]);
        assert_eq!(sorted(next.as_array().unwrap().clone()), both, "then each change");
        // A list that did not change is not sent again.
        assert!(follower.quiet("p", Duration::from_millis(300)).await);
    }
}

db_test! {
    async fn a_watcher_list_of_an_unwatched_workroom_is_first_sent_empty(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Nobody here")).await;
        let mut follower = Client::connect(&app, &ann.token).await;
        follower.subscribe("p", WATCHERS, json!({ "w": id })).await;
        assert_eq!(follower.next_of("p").await["workroomWatchers"], json!([]));
        assert!(follower.quiet("p", Duration::from_millis(300)).await, "following the list is not watching");
    }
}

db_test! {
    async fn a_credits_subscriber_first_receives_the_balance_now(app);
    {
        let (owner, members) = app.team(&["VIEWER"]).await;
        let viewer = &members[0];
        let query = "{ workspace { credits { balance reserved available monthlyAllowance } } }";
        let now = app.ok(Some(&owner.token), query, json!({})).await["workspace"]["credits"].clone();

        let mut client = Client::connect(&app, &viewer.token).await;
        client.subscribe("c", "subscription { credits { balance reserved available monthlyAllowance } }", json!({})).await;
        assert_eq!(client.next_of("c").await["credits"], now, "the balance as it is");
        assert!(client.quiet("c", Duration::from_millis(300)).await, "then only changes");

        app.ok(Some(&owner.token), "mutation { purchaseTopUp(credits: 250, idempotencyKey: \"late-1\") { id } }", json!({})).await;
        let balance = now["balance"].as_i64().unwrap();
        assert_eq!(client.next_of("c").await["credits"]["balance"], json!(balance + 250));
    }
}
