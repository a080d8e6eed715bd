//! The activity log: one entry per change, none for refused calls or sign-ins,
//! filters, and a hash chain that notices edits and deletions.

use entity::activity_event;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::permissions::{invite_with_id, team_of};

const ACTIVITY: &str =
    "query($f: ActivityFilter) { workspace { activity(filter: $f, first: 100) { \
    nodes { id action actor { id } targetType targetId summary metadata occurredAt } } } }";

/// The workspace's activity, newest first, optionally filtered.
async fn activity(app: &TestApp, token: &str, filter: Value) -> Vec<Value> {
    let data = app.ok(Some(token), ACTIVITY, json!({ "f": filter })).await;
    data["workspace"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let data = app
        .ok(
            Some(token),
            "{ verifyActivityLog { valid checked firstBrokenId } }",
            json!({}),
        )
        .await;
    data["verifyActivityLog"].clone()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// Asserts that exactly one entry was added since `before` and that it says who
/// did what to which target; returns it.
async fn one_new_entry(
    app: &TestApp,
    token: &str,
    before: &[Value],
    action: &str,
    actor: &Account,
    target: (&str, &str),
) -> Vec<Value> {
    let after = activity(app, token, Value::Null).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "{action}: exactly one entry; got {:?}",
        actions(&after)
    );
    assert_eq!(
        &after[1..],
        before,
        "{action}: older entries are unchanged and the new one is newest"
    );
    let entry = &after[0];
    assert_eq!(entry["action"], action);
    assert_eq!(
        entry["actor"]["id"],
        actor.user_id.as_str(),
        "{action}: actor"
    );
    assert_eq!(
        (
            entry["targetType"].as_str().unwrap(),
            entry["targetId"].as_str().unwrap()
        ),
        target,
        "{action}"
    );
    assert!(
        !entry["summary"].as_str().unwrap().is_empty(),
        "{action}: a summary"
    );
    after
}

/// The row id behind an ActivityEvent's global id (`act_` + uuid hex).
fn row_id(global: &Value) -> Uuid {
    let hex = global
        .as_str()
        .unwrap()
        .strip_prefix("act_")
        .expect("an ActivityEvent id");
    Uuid::parse_str(hex).unwrap()
}

db_test! {
    async fn signing_up_writes_one_workspace_created_entry(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let entries = activity(&app, &ann.token, Value::Null).await;

        assert_eq!(entries.len(), 1, "{entries:?}");
        let e = &entries[0];
        assert_eq!(e["action"], "workspace.created");
        assert_eq!(e["actor"]["id"], ann.user_id.as_str());
        assert_eq!(e["targetType"], "Workspace");
        assert_eq!(e["targetId"], ann.workspace_id.as_str());
        assert!(e["summary"].as_str().unwrap().contains("Acme"), "{e}");
        assert_eq!(e["metadata"]["plan"], "FREE_TRIAL");
    }
}

db_test! {
    async fn workspace_and_billing_changes_each_write_one_entry_newest_first(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let ws = ("Workspace", ann.workspace_id.as_str());
        let log = activity(&app, &ann.token, Value::Null).await;

        app.ok(Some(&ann.token), "mutation { renameWorkspace(name: \"Acme Studio\") { id } }", json!({})).await;
        let log = one_new_entry(&app, &ann.token, &log, "workspace.renamed", &ann, ws).await;
        assert_eq!(log[0]["metadata"], json!({ "from": "Acme", "to": "Acme Studio" }));

        app.change_plan(&ann.token, "PRO").await;
        let log = one_new_entry(&app, &ann.token, &log, "billing.plan_changed", &ann, ws).await;
        assert_eq!(log[0]["metadata"]["to"], "PRO");

        let data = app
            .ok(Some(&ann.token), "mutation { purchaseTopUp(credits: 300, idempotencyKey: \"a\") { id } }", json!({}))
            .await;
        let entry_id = data["purchaseTopUp"]["id"].as_str().unwrap();
        let log = one_new_entry(&app, &ann.token, &log, "billing.top_up", &ann, ("CreditEntry", entry_id)).await;

        let created = app.ok(Some(&ann.token), "mutation { createWorkspace(name: \"Side\") { accessToken workspaceId } }", json!({})).await;
        let side = created["createWorkspace"]["accessToken"].as_str().unwrap();
        let side_log = activity(&app, side, Value::Null).await;
        assert_eq!(actions(&side_log), ["workspace.created"]);
        assert_eq!(side_log[0]["targetId"], created["createWorkspace"]["workspaceId"]);
        assert_eq!(activity(&app, &ann.token, Value::Null).await, log, "the first workspace's log is untouched");

        let expected = ["billing.top_up", "billing.plan_changed", "workspace.renamed", "workspace.created"];
        assert_eq!(actions(&log), expected);
    }
}

db_test! {
    async fn membership_changes_each_write_one_entry_with_actor_and_target(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "AGENCY").await;
        let log = activity(&app, &owner.token, Value::Null).await;

        let (inv, _) = invite_with_id(&app, &owner.token, "gone@example.com", "MEMBER").await;
        let log = one_new_entry(&app, &owner.token, &log, "member.invited", &owner, ("Invitation", &inv)).await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { revokeInvitation(id: $id) { id } }", json!({ "id": inv })).await;
        let log = one_new_entry(&app, &owner.token, &log, "invitation.revoked", &owner, ("Invitation", &inv)).await;

        let mut joined = Vec::new();
        let mut log = log;
        for email in ["bea@example.com", "cal@example.com"] {
            let (inv, accept) = invite_with_id(&app, &owner.token, email, "MEMBER").await;
            log = one_new_entry(&app, &owner.token, &log, "member.invited", &owner, ("Invitation", &inv)).await;
            let account = app.accept_new(&accept, email).await;
            let member = app.member_id(&account).await;
            log = one_new_entry(&app, &owner.token, &log, "member.joined", &account, ("Member", &member)).await;
            joined.push((account, member));
        }
        let [(bea, bea_member), (_cal, cal_member)] = <[_; 2]>::try_from(joined).ok().unwrap();

        let change_role = "mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }";
        app.ok(Some(&owner.token), change_role, json!({ "id": bea_member })).await;
        let log = one_new_entry(&app, &owner.token, &log, "member.role_changed", &owner, ("Member", &bea_member)).await;
        assert_eq!((&log[0]["metadata"]["from"], &log[0]["metadata"]["to"]), (&json!("MEMBER"), &json!("ADMIN")));

        let transfer = "mutation($id: ID!) { transferOwnership(memberId: $id) { id } }";
        app.ok(Some(&owner.token), transfer, json!({ "id": bea_member })).await;
        let log = one_new_entry(&app, &owner.token, &log, "ownership.transferred", &owner, ("Member", &bea_member)).await;

        app.ok(Some(&bea.token), "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": cal_member })).await;
        let log = one_new_entry(&app, &bea.token, &log, "member.removed", &bea, ("Member", &cal_member)).await;

        let owner_member = app.member_id(&owner).await;
        app.ok(Some(&owner.token), "mutation { leaveWorkspace }", json!({})).await;
        one_new_entry(&app, &bea.token, &log, "member.left", &owner, ("Member", &owner_member)).await;
    }
}

db_test! {
    async fn refused_mutations_write_no_entry(app);
    {
        let team = team_of(&app, "refused").await;
        let (owner, admin, member) = (&team.owner, &team.admin, &team.member);
        let owner_member = app.member_id(owner).await;
        app.ok(Some(&owner.token), "mutation { purchaseTopUp(credits: 10, idempotencyKey: \"once\") { id } }", json!({})).await;
        let before = activity(&app, &owner.token, Value::Null).await;
        let target = json!({ "id": team.target_member_id });
        let existing = json!({ "e": team.member.email });
        let refusals: [(&Account, &str, Value, &str); 15] = [
            (member, "mutation { renameWorkspace(name: \"No\") { id } }", json!({}), "FORBIDDEN"),
            (member, "mutation { changePlan(plan: PRO) { plan } }", json!({}), "FORBIDDEN"),
            (member, "mutation { purchaseTopUp(credits: 5, idempotencyKey: \"m\") { id } }", json!({}), "FORBIDDEN"),
            (member, "mutation { inviteMember(email: \"x@example.com\") { acceptToken } }", json!({}), "FORBIDDEN"),
            (member, "mutation($id: ID!) { revokeInvitation(id: $id) { id } }", json!({ "id": team.pending_invitation_id }), "FORBIDDEN"),
            (member, "mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }", target.clone(), "FORBIDDEN"),
            (member, "mutation($id: ID!) { removeMember(memberId: $id) }", target.clone(), "FORBIDDEN"),
            (admin, "mutation($id: ID!) { transferOwnership(memberId: $id) { id } }", target.clone(), "FORBIDDEN"),
            (owner, "mutation { changePlan(plan: AGENCY) { plan } }", json!({}), "CONFLICT"),
            (owner, "mutation { changePlan(plan: STARTER) { plan } }", json!({}), "SEAT_LIMIT_REACHED"),
            (owner, "mutation { purchaseTopUp(credits: 0, idempotencyKey: \"zero\") { id } }", json!({}), "BAD_USER_INPUT"),
            (owner, "mutation($e: String!) { inviteMember(email: $e) { acceptToken } }", existing, "CONFLICT"),
            (owner, "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { id } }", json!({ "id": owner_member }), "FORBIDDEN"),
            (admin, "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": owner_member }), "FORBIDDEN"),
            (owner, "mutation { leaveWorkspace }", json!({}), "FORBIDDEN"),
        ];
        for (actor, query, variables, expected) in refusals {
            let body = app.gql(Some(&actor.token), query, variables).await;
            assert_eq!(code(&body), expected, "{query}: {body}");
        }
        // A repeated idempotency key succeeds but changes nothing.
        app.ok(Some(&owner.token), "mutation { purchaseTopUp(credits: 10, idempotencyKey: \"once\") { id } }", json!({})).await;

        assert_eq!(activity(&app, &owner.token, Value::Null).await, before);
        assert_eq!(verify(&app, &owner.token).await, json!({ "valid": true, "checked": before.len(), "firstBrokenId": null }));
    }
}

db_test! {
    async fn login_refresh_and_logout_are_not_activity(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let before = activity(&app, &ann.token, Value::Null).await;

        let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { refreshToken } }";
        let data = app.ok(None, login, json!({ "e": ann.email, "p": PASSWORD })).await;
        let refresh = data["login"]["refreshToken"].as_str().unwrap();
        let data = app
            .ok(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }", json!({ "t": refresh }))
            .await;
        let rotated = data["refreshToken"]["refreshToken"].as_str().unwrap();
        let data = app.ok(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": rotated })).await;
        assert_eq!(data["logout"], true);

        assert_eq!(activity(&app, &ann.token, Value::Null).await, before);
    }
}

db_test! {
    async fn the_log_filters_by_actor_action_target_and_time(app);
    {
        let team = team_of(&app, "filters").await;
        let (owner, admin) = (&team.owner, &team.admin);
        app.ok(Some(&owner.token), "mutation { renameWorkspace(name: \"Renamed\") { id } }", json!({})).await;
        app.ok(Some(&admin.token), "mutation { purchaseTopUp(credits: 7, idempotencyKey: \"f\") { id } }", json!({})).await;
        invite_with_id(&app, &admin.token, "late@example.com", "VIEWER").await;
        let all = activity(&app, &owner.token, Value::Null).await;
        let time = |e: &Value| chrono::DateTime::parse_from_rfc3339(e["occurredAt"].as_str().unwrap()).unwrap();
        let pivot = all.iter().position(|e| e["action"] == "workspace.renamed").unwrap();
        let at = all[pivot]["occurredAt"].clone();

        type Pick = Box<dyn Fn(&Value) -> bool>;
        let (admin_id, ws_id, pivot_time) = (admin.user_id.clone(), owner.workspace_id.clone(), time(&all[pivot]));
        let cases: Vec<(Value, Pick)> = vec![
            (json!({ "actorId": admin.user_id }), Box::new(move |e| e["actor"]["id"] == admin_id.as_str())),
            (json!({ "action": "member.invited" }), Box::new(|e| e["action"] == "member.invited")),
            (json!({ "targetType": "Invitation" }), Box::new(|e| e["targetType"] == "Invitation")),
            (json!({ "targetId": owner.workspace_id }), Box::new(move |e| e["targetId"] == ws_id.as_str())),
            (json!({ "since": at }), Box::new(move |e| time(e) >= pivot_time)),
            (json!({ "until": at }), Box::new(move |e| time(e) < pivot_time)),
            (
                json!({ "actorId": admin.user_id, "action": "member.invited" }),
                Box::new(|e| e["action"] == "member.invited" && e["summary"].as_str().unwrap().contains("late@")),
            ),
        ];
        for (filter, pick) in cases {
            let expected: Vec<Value> = all.iter().filter(|e| pick(e)).cloned().collect();
            assert!(!expected.is_empty() && expected.len() < all.len(), "{filter} must select some, not all");
            assert_eq!(activity(&app, &owner.token, filter.clone()).await, expected, "{filter}");
        }
        assert_eq!(activity(&app, &owner.token, json!({ "since": at, "until": at })).await, Vec::<Value>::new());

        let body = app.gql(Some(&owner.token), ACTIVITY, json!({ "f": { "actorId": team.target_member_id } })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "a member id is not a user id: {body}");
    }
}

/// A workspace with a few entries; returns the owner and its log, newest first.
async fn workspace_with_history(app: &TestApp, email: &str) -> (Account, Vec<Value>) {
    let owner = app.signup(email, "Chained").await;
    app.change_plan(&owner.token, "PRO").await;
    for name in ["One", "Two", "Three"] {
        app.ok(
            Some(&owner.token),
            "mutation($n: String!) { renameWorkspace(name: $n) { id } }",
            json!({ "n": name }),
        )
        .await;
    }
    let log = activity(app, &owner.token, Value::Null).await;
    assert_eq!(log.len(), 5);
    (owner, log)
}

async fn edit_summary(app: &TestApp, id: &Value, summary: &str) {
    activity_event::Entity::update_many()
        .col_expr(activity_event::Column::Summary, Expr::value(summary))
        .filter(activity_event::Column::Id.eq(row_id(id)))
        .exec(app.state.db.conn())
        .await
        .unwrap();
}

async fn delete_entry(app: &TestApp, id: &Value) {
    let deleted = activity_event::Entity::delete_by_id(row_id(id))
        .exec(app.state.db.conn())
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected, 1);
}

db_test! {
    async fn an_intact_log_verifies_and_counts_every_entry(app);
    {
        let (owner, log) = workspace_with_history(&app, "ann@example.com").await;
        assert_eq!(verify(&app, &owner.token).await, json!({ "valid": true, "checked": log.len(), "firstBrokenId": null }));
    }
}

db_test! {
    async fn editing_an_entry_is_reported_at_that_entry(app);
    {
        let (owner, log) = workspace_with_history(&app, "ann@example.com").await;
        let edited = &log[2]["id"];

        edit_summary(&app, edited, "nothing happened here").await;

        let result = verify(&app, &owner.token).await;
        assert_eq!(result["valid"], false, "{result}");
        assert_eq!(&result["firstBrokenId"], edited, "{result}");
        let node = app
            .ok(Some(&owner.token), "query($id: ID!) { node(id: $id) { ... on ActivityEvent { summary } } }", json!({ "id": edited }))
            .await;
        assert_eq!(node["node"]["summary"], "nothing happened here", "firstBrokenId is the id node() knows");
    }
}

db_test! {
    async fn rewriting_an_entry_with_a_fresh_hash_breaks_the_link_of_the_next(app);
    {
        let (owner, log) = workspace_with_history(&app, "ann@example.com").await;
        let db = app.state.db.conn();
        let mut row = activity_event::Entity::find_by_id(row_id(&log[3]["id"])).one(db).await.unwrap().unwrap();

        row.summary = "a plausible lie".into();
        row.hash = atelya::activity::chain::of_row(&row);
        activity_event::Entity::update_many()
            .col_expr(activity_event::Column::Summary, Expr::value(row.summary.clone()))
            .col_expr(activity_event::Column::Hash, Expr::value(row.hash.clone()))
            .filter(activity_event::Column::Id.eq(row.id))
            .exec(db)
            .await
            .unwrap();

        let result = verify(&app, &owner.token).await;
        assert_eq!((&result["valid"], &result["firstBrokenId"]), (&json!(false), &log[2]["id"]), "{result}");
    }
}

db_test! {
    async fn deleting_a_middle_entry_is_reported_at_the_entry_after_it(app);
    {
        let (owner, log) = workspace_with_history(&app, "ann@example.com").await;

        delete_entry(&app, &log[2]["id"]).await;

        let result = verify(&app, &owner.token).await;
        assert_eq!(result["valid"], false, "{result}");
        assert_eq!(result["firstBrokenId"], log[1]["id"], "newest first, so log[1] came right after log[2]");
    }
}

db_test! {
    async fn deleting_the_newest_entry_makes_the_log_invalid(app);
    {
        let (owner, log) = workspace_with_history(&app, "ann@example.com").await;

        delete_entry(&app, &log[0]["id"]).await;

        let result = verify(&app, &owner.token).await;
        assert_eq!(result["valid"], false, "{result}");
    }
}

db_test! {
    async fn tampering_with_one_workspace_leaves_another_valid(app);
    {
        let (ann, ann_log) = workspace_with_history(&app, "ann@example.com").await;
        let (bob, bob_log) = workspace_with_history(&app, "bob@example.com").await;

        edit_summary(&app, &ann_log[4]["id"], "forged").await;

        assert_eq!(verify(&app, &ann.token).await["firstBrokenId"], ann_log[4]["id"]);
        assert_eq!(verify(&app, &bob.token).await, json!({ "valid": true, "checked": bob_log.len(), "firstBrokenId": null }));
    }
}

db_test! {
    async fn only_owners_and_admins_may_verify_the_log(app);
    {
        let team = team_of(&app, "verify").await;
        let checked = activity(&app, &team.owner.token, Value::Null).await.len();
        for account in [&team.owner, &team.admin] {
            assert_eq!(verify(&app, &account.token).await, json!({ "valid": true, "checked": checked, "firstBrokenId": null }));
        }
        for account in [&team.member, &team.viewer] {
            let body = app.gql(Some(&account.token), "{ verifyActivityLog { valid } }", json!({})).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
    }
}

db_test! {
    async fn a_log_longer_than_one_read_batch_verifies_and_locates_tampering(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        for i in 0..520 {
            app.ok(Some(&ann.token), "mutation($n: String!) { renameWorkspace(name: $n) { id } }", json!({ "n": format!("Name {i}") })).await;
        }
        assert_eq!(verify(&app, &ann.token).await, json!({ "valid": true, "checked": 521, "firstBrokenId": null }));
        let newest = activity(&app, &ann.token, Value::Null).await;
        let late = &newest[5]["id"];

        edit_summary(&app, late, "forged").await;

        let result = verify(&app, &ann.token).await;
        assert_eq!((&result["valid"], &result["firstBrokenId"]), (&json!(false), late), "{result}");
    }
}

db_test! {
    async fn verifying_while_changes_are_written_never_reports_a_false_break(app);
    {
        // An entry appended while a check runs is not tampering: every check of
        // a log nobody edited must say it is valid.
        let ann = app.signup("ann@example.com", "Acme").await;
        let rename = "mutation($n: String!) { renameWorkspace(name: $n) { id } }";
        let verify_query = "{ verifyActivityLog { valid checked firstBrokenId } }";

        let writes = (0..40).map(|i| app.gql(Some(&ann.token), rename, json!({ "n": format!("Name {i}") })));
        let checks = (0..120).map(|_| app.gql(Some(&ann.token), verify_query, json!({})));
        let (written, checked) = futures_util::future::join(
            futures_util::future::join_all(writes),
            futures_util::future::join_all(checks),
        )
        .await;

        assert!(written.iter().all(|b| b.get("errors").is_none()), "{written:?}");
        assert_eq!(verify(&app, &ann.token).await, json!({ "valid": true, "checked": 41, "firstBrokenId": null }));
        let broken: Vec<&Value> = checked.iter().filter(|b| b["data"]["verifyActivityLog"]["valid"] != true).collect();
        let examples = &broken[..broken.len().min(3)];
        assert!(broken.is_empty(), "{} of 120 checks of an untouched log said it was broken, e.g. {examples:?}", broken.len());
    }
}
