//! Plans, plan changes and their grants, top-ups and their idempotency, and
//! the ledger they all land in.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::permissions::invite_with_id;

const LEDGER: &str =
    "query($first: Int, $after: String) { workspace { credits { balance available } \
    creditLedger(first: $first, after: $after) { pageInfo { hasNextPage endCursor } \
    nodes { id kind amount balanceAfter description actor { id } } } } }";

/// The whole ledger (newest first) and the balance.
async fn ledger(app: &TestApp, token: &str) -> (Vec<Value>, i64) {
    let data = app.ok(Some(token), LEDGER, json!({ "first": 100 })).await;
    let ws = &data["workspace"];
    (
        ws["creditLedger"]["nodes"].as_array().unwrap().clone(),
        ws["credits"]["balance"].as_i64().unwrap(),
    )
}

/// Asserts the ledger's invariants: the balance is the sum of the amounts and,
/// read oldest first, every balanceAfter is the running sum.
fn assert_consistent(entries: &[Value], balance: i64) {
    let mut running = 0;
    for entry in entries.iter().rev() {
        running += entry["amount"].as_i64().unwrap();
        assert_eq!(entry["balanceAfter"].as_i64().unwrap(), running, "{entry}");
    }
    assert_eq!(running, balance, "the balance is the sum of the ledger");
}

const CHANGE_PLAN: &str =
    "mutation($p: Plan!) { changePlan(plan: $p) { plan maxUsers credits { balance monthlyAllowance } } }";
const TOP_UP: &str = "mutation($c: Int!, $k: String!) { purchaseTopUp(credits: $c, idempotencyKey: $k) { id kind amount balanceAfter actor { id } } }";

async fn top_up(app: &TestApp, token: &str, credits: i64, key: &str) -> Value {
    app.gql(Some(token), TOP_UP, json!({ "c": credits, "k": key }))
        .await
}

db_test! {
    async fn the_six_plans_are_public_with_their_caps_and_monthly_credits(app);
    {
        let data = app.ok(None, "{ plans { plan name maxUsers monthlyCredits } }", json!({})).await;

        assert_eq!(
            data["plans"],
            json!([
                { "plan": "FREE_TRIAL", "name": "Free Trial", "maxUsers": 1, "monthlyCredits": 0 },
                { "plan": "SOLO", "name": "Solo", "maxUsers": 1, "monthlyCredits": 2000 },
                { "plan": "STARTER", "name": "Starter", "maxUsers": 2, "monthlyCredits": 5000 },
                { "plan": "PRO", "name": "Pro", "maxUsers": 5, "monthlyCredits": 15000 },
                { "plan": "GROWTH", "name": "Growth", "maxUsers": 15, "monthlyCredits": 50000 },
                { "plan": "AGENCY", "name": "Agency", "maxUsers": null, "monthlyCredits": 150000 },
            ])
        );
    }
}

db_test! {
    async fn plan_changes_grant_only_the_rise_of_the_periods_highest_allowance(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let (entries, balance) = ledger(&app, &ann.token).await;
        assert_eq!(entries.len(), 1);
        assert_eq!((&entries[0]["kind"], &entries[0]["amount"], balance), (&json!("TRIAL_GRANT"), &json!(500), 500));

        // (plan, seat cap, allowance, credits this change grants)
        let steps = [
            ("SOLO", 1, 2_000, 2_000),
            ("STARTER", 2, 5_000, 3_000),
            ("AGENCY", -1, 150_000, 145_000),
            ("PRO", 5, 15_000, 0),
            ("GROWTH", 15, 50_000, 0),
        ];
        let mut expected = 500;
        let mut grants = 1;
        for (plan, cap, allowance, granted) in steps {
            let data = app.ok(Some(&ann.token), CHANGE_PLAN, json!({ "p": plan })).await;
            expected += granted;
            let ws = &data["changePlan"];
            assert_eq!(ws["plan"], plan);
            assert_eq!(ws["maxUsers"], if cap < 0 { Value::Null } else { json!(cap) }, "{plan}");
            assert_eq!(ws["credits"], json!({ "balance": expected, "monthlyAllowance": allowance }), "{plan}");

            let (entries, balance) = ledger(&app, &ann.token).await;
            if granted > 0 {
                grants += 1;
                let grant = &entries[0];
                assert_eq!((&grant["kind"], &grant["amount"]), (&json!("MONTHLY_GRANT"), &json!(granted)), "{plan}");
                assert_eq!(grant["balanceAfter"], expected, "{plan}");
                assert_eq!(grant["actor"]["id"], ann.user_id.as_str());
            }
            assert_eq!(entries.len(), grants, "{plan}: a change that earns nothing writes no entry");
            assert_consistent(&entries, balance);
        }
        assert_eq!(ledger(&app, &ann.token).await.1, 500 + 150_000);
    }
}

db_test! {
    async fn changing_to_the_current_plan_or_back_to_the_trial_is_refused_and_grants_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let body = app.gql(Some(&ann.token), CHANGE_PLAN, json!({ "p": "FREE_TRIAL" })).await;
        assert_eq!(code(&body), "CONFLICT", "the trial is the current plan: {body}");
        app.change_plan(&ann.token, "PRO").await;
        let before = ledger(&app, &ann.token).await;

        let same = app.gql(Some(&ann.token), CHANGE_PLAN, json!({ "p": "PRO" })).await;
        let trial = app.gql(Some(&ann.token), CHANGE_PLAN, json!({ "p": "FREE_TRIAL" })).await;

        assert_eq!(code(&same), "CONFLICT", "{same}");
        assert_eq!(code(&trial), "BAD_USER_INPUT", "{trial}");
        assert_eq!(ledger(&app, &ann.token).await, before);
        let plan = app.ok(Some(&ann.token), "{ workspace { plan } }", json!({})).await;
        assert_eq!(plan["workspace"]["plan"], "PRO");
    }
}

db_test! {
    async fn a_plan_below_the_member_count_is_refused(app);
    {
        let (owner, _) = app.team(&["MEMBER", "VIEWER"]).await;
        let before = ledger(&app, &owner.token).await;

        for plan in ["SOLO", "STARTER"] {
            let body = app.gql(Some(&owner.token), CHANGE_PLAN, json!({ "p": plan })).await;
            assert_eq!(code(&body), "SEAT_LIMIT_REACHED", "{plan} caps below three members: {body}");
        }

        assert_eq!(ledger(&app, &owner.token).await, before, "refusals grant nothing");
        let data = app.ok(Some(&owner.token), CHANGE_PLAN, json!({ "p": "PRO" })).await;
        assert_eq!(data["changePlan"]["plan"], "PRO", "a plan with room is fine");
    }
}

db_test! {
    async fn pending_invitations_do_not_block_a_downgrade_but_fail_at_accept(app);
    {
        let (owner, _) = app.team(&["MEMBER"]).await;
        let mut accepts = Vec::new();
        for email in ["p1@example.com", "p2@example.com", "p3@example.com"] {
            accepts.push(invite_with_id(&app, &owner.token, email, "MEMBER").await.1);
        }

        let data = app.ok(Some(&owner.token), "mutation { changePlan(plan: STARTER) { plan seatsUsed } }", json!({})).await;
        assert_eq!(data["changePlan"], json!({ "plan": "STARTER", "seatsUsed": 5 }));

        let accept = "mutation($t: String!) { acceptInvitation(token: $t, name: \"P\", password: \"correct horse battery\") { accessToken } }";
        let body = app.gql(None, accept, json!({ "t": accepts[0] })).await;
        assert_eq!(code(&body), "SEAT_LIMIT_REACHED", "{body}");
        let login = "mutation { login(email: \"p1@example.com\", password: \"correct horse battery\") { accessToken } }";
        assert_eq!(code(&app.gql(None, login, json!({})).await), "UNAUTHENTICATED", "the refused accept created no account");
        let after = app.ok(Some(&owner.token), "{ workspace { seatsUsed members { nodes { id } } } }", json!({})).await;
        assert_eq!(after["workspace"]["members"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(after["workspace"]["seatsUsed"], 5, "the invitation is still pending");
        let body = top_up(&app, &owner.token, 5, "after-refusal").await;
        assert!(body.get("errors").is_none(), "the next write goes through at once: {body}");
    }
}

db_test! {
    async fn a_top_up_adds_its_credits_as_one_ledger_entry(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = top_up(&app, &ann.token, 250, "first").await;

        let entry = &body["data"]["purchaseTopUp"];
        assert_eq!(entry["kind"], "TOP_UP", "{body}");
        assert_eq!((&entry["amount"], &entry["balanceAfter"]), (&json!(250), &json!(750)));
        assert_eq!(entry["actor"]["id"], ann.user_id.as_str());
        let (entries, balance) = ledger(&app, &ann.token).await;
        assert_eq!(balance, 750);
        assert_eq!(entries[0]["id"], entry["id"]);
        assert_consistent(&entries, balance);
    }
}

db_test! {
    async fn a_repeated_idempotency_key_returns_the_first_entry_and_adds_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let first = top_up(&app, &ann.token, 250, "order-1").await["data"]["purchaseTopUp"].clone();
        let after_first = ledger(&app, &ann.token).await;

        let again = top_up(&app, &ann.token, 250, "order-1").await;
        let other_amount = top_up(&app, &ann.token, 999, "order-1").await;

        assert_eq!(again["data"]["purchaseTopUp"], first, "{again}");
        assert_eq!(other_amount["data"]["purchaseTopUp"], first, "{other_amount}");
        assert_eq!(ledger(&app, &ann.token).await, after_first);
        let fresh = top_up(&app, &ann.token, 1, "order-2").await;
        assert_eq!(fresh["data"]["purchaseTopUp"]["balanceAfter"], 751, "another key is another purchase: {fresh}");
    }
}

db_test! {
    async fn the_same_key_in_another_workspace_is_another_purchase(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        let key = "é".repeat(200);
        let anns = top_up(&app, &ann.token, 100, &key).await;
        let anns_ledger = ledger(&app, &ann.token).await;

        let bobs = top_up(&app, &bob.token, 30, &key).await;

        let (ann_entry, bob_entry) = (&anns["data"]["purchaseTopUp"], &bobs["data"]["purchaseTopUp"]);
        assert!(ann_entry["id"].is_string() && bob_entry["id"].is_string(), "{anns} {bobs}");
        assert_ne!(ann_entry["id"], bob_entry["id"]);
        assert_eq!((&bob_entry["amount"], &bob_entry["balanceAfter"]), (&json!(30), &json!(530)));
        assert_eq!(ledger(&app, &ann.token).await, anns_ledger, "Ann's pool is untouched");
    }
}

db_test! {
    async fn concurrent_purchases_with_one_key_add_credits_once(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let bodies = join_all((0..10).map(|_| top_up(&app, &ann.token, 400, "race"))).await;

        let ids: Vec<&Value> = bodies.iter().map(|b| &b["data"]["purchaseTopUp"]["id"]).collect();
        assert!(bodies.iter().all(|b| b.get("errors").is_none()), "{bodies:?}");
        assert!(ids.iter().all(|id| *id == ids[0] && id.is_string()), "one entry for all: {ids:?}");
        let (entries, balance) = ledger(&app, &ann.token).await;
        let top_ups: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "TOP_UP").collect();
        assert_eq!(top_ups.len(), 1, "{entries:?}");
        assert_eq!(&top_ups[0]["id"], ids[0]);
        assert_eq!(balance, 900);
        assert_consistent(&entries, balance);
    }
}

db_test! {
    async fn concurrent_purchases_with_different_keys_each_add_their_credits(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let keys: Vec<String> = (1..=10).map(|i| format!("order-{i}")).collect();
        let bodies = join_all(keys.iter().map(|k| top_up(&app, &ann.token, 100, k))).await;

        assert!(bodies.iter().all(|b| b.get("errors").is_none()), "{bodies:?}");
        let mut after: Vec<i64> = bodies.iter().map(|b| b["data"]["purchaseTopUp"]["balanceAfter"].as_i64().unwrap()).collect();
        after.sort();
        assert_eq!(after, (1..=10).map(|i| 500 + i * 100).collect::<Vec<_>>(), "each saw the one before it");
        let (entries, balance) = ledger(&app, &ann.token).await;
        assert_eq!((entries.len(), balance), (11, 1_500));
        assert_consistent(&entries, balance);
    }
}

db_test! {
    async fn top_ups_outside_one_to_a_million_credits_are_refused(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        for (credits, key) in [(0, "zero"), (-5, "negative"), (1_000_001, "huge")] {
            let body = top_up(&app, &ann.token, credits, key).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{credits}: {body}");
        }
        let blank = top_up(&app, &ann.token, 10, "   ").await;
        assert_eq!(code(&blank), "BAD_USER_INPUT", "a blank key: {blank}");
        let long = top_up(&app, &ann.token, 10, &"k".repeat(201)).await;
        assert_eq!(code(&long), "BAD_USER_INPUT", "a key over 200 characters: {long}");
        assert_eq!(ledger(&app, &ann.token).await.1, 500, "refusals add nothing");

        for (credits, key) in [(1, "min"), (1_000_000, "max")] {
            let body = top_up(&app, &ann.token, credits, key).await;
            assert_eq!(body["data"]["purchaseTopUp"]["amount"], credits, "the bounds are allowed: {body}");
        }
        assert_eq!(ledger(&app, &ann.token).await.1, 1_000_501);
    }
}

db_test! {
    async fn the_ledger_pages_newest_first_and_adds_up(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "SOLO").await;
        for i in 1..=5 {
            app.ok(Some(&ann.token), TOP_UP, json!({ "c": i * 10, "k": format!("k{i}") })).await;
        }
        let (all, balance) = ledger(&app, &ann.token).await;
        assert_eq!(all.len(), 7);
        assert_eq!(all[0]["amount"], 50, "the newest first");
        assert_eq!(all[6]["kind"], "TRIAL_GRANT", "the oldest last");
        assert_consistent(&all, balance);
        assert_eq!(balance, 500 + 2_000 + 150);

        let (mut paged, mut after, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let data = app.ok(Some(&ann.token), LEDGER, json!({ "first": 3, "after": after })).await;
            let page = &data["workspace"]["creditLedger"];
            paged.extend(page["nodes"].as_array().unwrap().iter().cloned());
            pages += 1;
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(pages, 3);
        assert_eq!(paged, all);
    }
}
