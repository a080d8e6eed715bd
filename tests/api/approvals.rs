//! Approvals: an APPROVAL task holds the run before composing until enough
//! distinct members with the required role (viewers never) have granted it.

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

const GRANT: &str = "mutation($t: ID!) { grantApproval(taskId: $t) { id kind state
    approval { requiredRole requiredApprovals grants { user { id } grantedAt } } } }";

const GRANTED_ACTIVITY: &str =
    "{ workspace { activity(filter: { action: \"approval.granted\" }, first: 50) {
    nodes { action actor { id } targetType targetId metadata } } } }";

/// A workroom input whose constraints ask for an approval.
fn approval_input(title: &str, role: &str, approvals: i64) -> Value {
    let mut input = input(title);
    input["constraints"] =
        json!({ "approval": { "requiredRole": role, "requiredApprovals": approvals } });
    input
}

/// The task of `kind` in the workroom's current plan.
fn task_of<'a>(room: &'a Value, kind: &str) -> &'a Value {
    room["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} task in {room}"))
}

fn task_id(room: &Value, kind: &str) -> String {
    task_of(room, kind)["id"].as_str().unwrap().to_owned()
}

/// The user ids of an approval task's grants, in order.
fn grant_users(task: &Value) -> Vec<String> {
    task["approval"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["user"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn grant(app: &TestApp, account: &Account, task: &str) -> Value {
    app.gql(Some(&account.token), GRANT, json!({ "t": task }))
        .await
}

db_test! {
    async fn an_approval_for_two_admins_holds_the_run_until_two_distinct_admins_grant_it(app);
    {
        let (owner, team) = app.team(&["ADMIN", "ADMIN", "MEMBER", "VIEWER"]).await;
        let (admin, other_admin, member, viewer) = (&team[0], &team[1], &team[2], &team[3]);
        let id = app.create_workroom(&owner.token, approval_input("Launch plan", "ADMIN", 2)).await;

        let events = app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        let room = app.assert_quiet(&owner.token, &id).await;

        assert_eq!(room["state"], "EXECUTING", "{room}");
        let approval = task_of(&room, "APPROVAL");
        let approval_id = approval["id"].as_str().unwrap().to_owned();
        assert_eq!(approval["state"], "AWAITING_APPROVAL");
        assert_eq!(approval["assignedRole"], "ADMIN");
        assert_eq!(approval["approval"]["requiredApprovals"], 2);
        assert_eq!(task_of(&room, "COMPOSE")["state"], "PENDING", "nothing composes before the approval");
        let requested = events.iter().find(|e| e["kind"] == "APPROVAL_REQUESTED").unwrap();
        assert_eq!(requested["taskId"], approval_id.as_str());
        assert_eq!(requested["data"], json!({ "requiredRole": "ADMIN", "requiredApprovals": 2 }));
        assert_eq!(room["lastSeq"], json!(events.len()), "APPROVAL_REQUESTED is the last event while waiting");

        // Below the required role: refused, nothing recorded.
        for (who, account) in [("member", member), ("viewer", viewer)] {
            let body = grant(&app, account, &approval_id).await;
            assert_eq!(code(&body), "FORBIDDEN", "{who}: {body}");
        }
        let unchanged = app.room(&owner.token, &id).await;
        assert_eq!(unchanged["lastSeq"], room["lastSeq"]);
        assert_eq!(grant_users(task_of(&unchanged, "APPROVAL")), Vec::<String>::new());

        // The first admin: recorded, and the task still waits for the second.
        let first = app.ok(Some(&admin.token), GRANT, json!({ "t": approval_id })).await["grantApproval"].clone();
        assert_eq!(first["state"], "AWAITING_APPROVAL", "{first}");
        assert_eq!(first["approval"]["requiredRole"], "ADMIN");
        assert_eq!(grant_users(&first), [admin.user_id.as_str()]);
        let waiting = app.assert_quiet(&owner.token, &id).await;
        assert_eq!(waiting["state"], "EXECUTING");
        assert_eq!(waiting["lastSeq"], json!(room["lastSeq"].as_i64().unwrap() + 1), "one APPROVAL_GRANTED");
        assert_eq!(task_of(&waiting, "APPROVAL")["state"], "AWAITING_APPROVAL");
        assert_eq!(task_of(&waiting, "COMPOSE")["state"], "PENDING");
        let history = app.history(&owner.token, &id).await;
        let last = history.last().unwrap();
        assert_eq!(last["kind"], "APPROVAL_GRANTED");
        assert_eq!(last["taskId"], approval_id.as_str());
        assert_eq!(last["actor"]["id"], admin.user_id.as_str());
        assert_eq!(last["data"], json!({ "granted": 1, "required": 2 }));

        // The same admin again: CONFLICT, still one grant.
        let again = grant(&app, admin, &approval_id).await;
        assert_eq!(code(&again), "CONFLICT", "{again}");
        let unchanged = app.room(&owner.token, &id).await;
        assert_eq!(unchanged["lastSeq"], waiting["lastSeq"]);
        assert_eq!(grant_users(task_of(&unchanged, "APPROVAL")), [admin.user_id.as_str()]);

        // The second admin completes it and the run goes on to the end.
        let second = app.ok(Some(&other_admin.token), GRANT, json!({ "t": approval_id })).await["grantApproval"].clone();
        assert_eq!(second["state"], "COMPLETED", "{second}");
        assert_eq!(grant_users(&second), [admin.user_id.as_str(), other_admin.user_id.as_str()]);
        let done = app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
        let history = app.history(&owner.token, &id).await;
        assert_history(&history, &done);
        assert_eq!(task_of(&done, "APPROVAL")["state"], "COMPLETED");
        assert_eq!(task_of(&done, "COMPOSE")["state"], "COMPLETED");
        assert!(done["deliverables"][0]["content"].as_str().is_some_and(|c| !c.is_empty()), "{done}");
        let granted: Vec<&Value> = history.iter().filter(|e| e["kind"] == "APPROVAL_GRANTED").collect();
        assert_eq!(granted.len(), 2);
        assert_eq!(granted[1]["actor"]["id"], other_admin.user_id.as_str());
        assert_eq!(granted[1]["data"], json!({ "granted": 2, "required": 2 }));
        // The approval completes with the second grant, and composing only starts after it.
        let at = |pred: &dyn Fn(&Value) -> bool| history.iter().position(pred).unwrap();
        let second_grant = at(&|e| e["kind"] == "APPROVAL_GRANTED" && e["data"]["granted"] == 2);
        assert_eq!(history[second_grant + 1]["kind"], "TASK_COMPLETED");
        assert_eq!(history[second_grant + 1]["taskId"], approval_id.as_str());
        let composing = at(&|e| e["kind"] == "STATE_CHANGED" && e["state"] == "COMPOSING");
        assert!(composing > second_grant, "composing after the approval");

        // One approval.granted activity entry per grant.
        let activity = app.ok(Some(&owner.token), GRANTED_ACTIVITY, json!({})).await;
        let mut entries = activity["workspace"]["activity"]["nodes"].as_array().unwrap().clone();
        entries.sort_by_key(|e| e["metadata"]["granted"].as_i64());
        assert_eq!(entries.len(), 2, "{activity}");
        for (entry, (who, n)) in entries.iter().zip([(admin, 1), (other_admin, 2)]) {
            assert_eq!(entry["actor"]["id"], who.user_id.as_str());
            assert_eq!(entry["targetType"], "Task");
            assert_eq!(entry["targetId"], approval_id.as_str());
            assert_eq!(entry["metadata"]["granted"], n);
            assert_eq!(entry["metadata"]["required"], 2);
            assert_eq!(entry["metadata"]["workroomId"], id.as_str());
        }
    }
}

db_test! {
    async fn viewers_never_approve_even_when_the_required_role_is_viewer(app);
    {
        let (owner, team) = app.team(&["MEMBER", "VIEWER"]).await;
        let (member, viewer) = (&team[0], &team[1]);
        let id = app.create_workroom(&owner.token, approval_input("Reel scripts", "VIEWER", 1)).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        let room = app.assert_quiet(&owner.token, &id).await;
        let approval_id = task_id(&room, "APPROVAL");
        assert_eq!(task_of(&room, "APPROVAL")["assignedRole"], "VIEWER");

        let body = grant(&app, viewer, &approval_id).await;

        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let unchanged = app.assert_quiet(&owner.token, &id).await;
        assert_eq!(unchanged["lastSeq"], room["lastSeq"]);
        assert_eq!(task_of(&unchanged, "APPROVAL")["state"], "AWAITING_APPROVAL");
        assert_eq!(grant_users(task_of(&unchanged, "APPROVAL")), Vec::<String>::new());
        let activity = app.ok(Some(&owner.token), GRANTED_ACTIVITY, json!({})).await;
        assert_eq!(activity["workspace"]["activity"]["nodes"], json!([]));

        // A member is above VIEWER, and one grant is enough.
        let granted = app.ok(Some(&member.token), GRANT, json!({ "t": approval_id })).await["grantApproval"].clone();
        assert_eq!(granted["state"], "COMPLETED", "{granted}");
        assert_eq!(grant_users(&granted), [member.user_id.as_str()]);
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
    }
}

db_test! {
    async fn only_an_approval_task_that_is_awaiting_approval_can_be_granted(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let admin = &team[0];
        // A budget of one credit covers the Planner's hold only, so the run
        // pauses before the drafting task and the approval is still PENDING.
        let mut input = approval_input("Weekly report", "ADMIN", 1);
        input["constraints"]["maxCredits"] = json!(1);
        let id = app.create_workroom(&owner.token, input).await;
        let paused = app.wait_for(&owner.token, &id, &["PAUSED"]).await;
        assert_eq!(paused["stateReason"], "MAX_CREDITS_REACHED", "{paused}");
        assert_eq!(task_of(&paused, "AGENT")["state"], "PENDING");
        assert_eq!(task_of(&paused, "APPROVAL")["state"], "PENDING");

        for kind in ["AGENT", "APPROVAL", "COMPOSE"] {
            let body = grant(&app, &owner, &task_id(&paused, kind)).await;
            assert_eq!(code(&body), "CONFLICT", "{kind}: {body}");
        }
        let unchanged = app.room(&owner.token, &id).await;
        assert_eq!(unchanged["lastSeq"], paused["lastSeq"]);
        assert_eq!(unchanged["state"], "PAUSED");
        for kind in ["AGENT", "APPROVAL", "COMPOSE"] {
            assert_eq!(task_of(&unchanged, kind)["state"], "PENDING", "{kind}");
        }
        assert_eq!(grant_users(task_of(&unchanged, "APPROVAL")), Vec::<String>::new());

        // With room in the budget the approval is asked for; the owner's grant
        // (OWNER is above ADMIN) completes it.
        app.ok(
            Some(&owner.token),
            "mutation($id: ID!) { updateConstraints(workroomId: $id, input: { maxCredits: 100000 }) { id } }",
            json!({ "id": id }),
        )
        .await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { resumeWorkroom(id: $id) { id } }", json!({ "id": id })).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        let approval_id = task_id(&paused, "APPROVAL");
        // The drafting task is done by now: still not an approval.
        let body = grant(&app, &owner, &task_id(&paused, "AGENT")).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        let granted = app.ok(Some(&owner.token), GRANT, json!({ "t": approval_id })).await["grantApproval"].clone();
        assert_eq!(granted["state"], "COMPLETED", "{granted}");
        let done = app.wait_for(&owner.token, &id, &["COMPLETED"]).await;

        // A completed approval takes no more grants.
        let body = grant(&app, admin, &approval_id).await;

        assert_eq!(code(&body), "CONFLICT", "{body}");
        let after = app.room(&owner.token, &id).await;
        assert_eq!(after["lastSeq"], done["lastSeq"]);
        assert_eq!(grant_users(task_of(&after, "APPROVAL")), [owner.user_id.as_str()]);
    }
}

db_test! {
    async fn an_approval_task_of_another_workspace_is_not_found(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        let id = app.create_workroom(&bob.token, approval_input("Bob's plan", "MEMBER", 1)).await;
        app.wait_for_event(&bob.token, &id, "APPROVAL_REQUESTED").await;
        let room = app.assert_quiet(&bob.token, &id).await;
        let approval_id = task_id(&room, "APPROVAL");

        let body = grant(&app, &ann, &approval_id).await;

        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let unchanged = app.room(&bob.token, &id).await;
        assert_eq!(unchanged["lastSeq"], room["lastSeq"]);
        assert_eq!(task_of(&unchanged, "APPROVAL")["state"], "AWAITING_APPROVAL");
        assert_eq!(grant_users(task_of(&unchanged, "APPROVAL")), Vec::<String>::new());
        let anns = app.ok(Some(&ann.token), GRANTED_ACTIVITY, json!({})).await;
        assert_eq!(anns["workspace"]["activity"]["nodes"], json!([]));
    }
}

const REJECT: &str = "mutation($t: ID!, $r: String!) { rejectApproval(taskId: $t, reason: $r) {
    id kind state rejectionReason allowedActions } }";

const TASK_ACTIONS: &str =
    "query($id: ID!) { workroom(id: $id) { tasks { id kind state allowedActions } } }";

db_test! {
    async fn a_rejected_approval_sends_the_workroom_back_to_its_planner_with_the_reason(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "VIEWER"]).await;
        let (admin, member, viewer) = (&team[0], &team[1], &team[2]);
        let id = app.create_workroom(&owner.token, approval_input("Launch plan", "ADMIN", 1)).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        let room = app.assert_quiet(&owner.token, &id).await;
        let approval_id = task_id(&room, "APPROVAL");
        let draft_id = task_id(&room, "AGENT");

        // What each role may do, as a frontend would show it.
        let actions = |body: Value| {
            body["workroom"]["tasks"].as_array().unwrap().iter()
                .find(|t| t["kind"] == "APPROVAL").unwrap()["allowedActions"].clone()
        };
        let of = |account: &'_ Account| {
            let token = account.token.clone();
            let app = &app;
            let id = id.clone();
            async move { app.ok(Some(&token), TASK_ACTIONS, json!({ "id": id })).await }
        };
        assert_eq!(actions(of(admin).await), json!(["GRANT_APPROVAL", "REJECT_APPROVAL"]));
        assert_eq!(actions(of(member).await), json!([]), "below the required role");
        assert_eq!(actions(of(viewer).await), json!([]));

        // Refused: below the role, a viewer, a bad reason, a task that is not waiting.
        for (account, reason, expected) in [
            (member, "No.", "FORBIDDEN"),
            (viewer, "No.", "FORBIDDEN"),
            (admin, "   ", "BAD_USER_INPUT"),
        ] {
            let body = app.gql(Some(&account.token), REJECT, json!({ "t": approval_id, "r": reason })).await;
            assert_eq!(code(&body), expected, "{body}");
        }
        let long = "x".repeat(2_001);
        let body = app.gql(Some(&admin.token), REJECT, json!({ "t": approval_id, "r": long })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let body = app.gql(Some(&admin.token), REJECT, json!({ "t": draft_id, "r": "No." })).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        assert_eq!(app.room(&owner.token, &id).await["lastSeq"], room["lastSeq"], "refusals change nothing");

        // A paused workroom is resumed before a rejection.
        app.ok(Some(&owner.token), "mutation($id: ID!) { pauseWorkroom(id: $id) { state } }", json!({ "id": id })).await;
        let body = app.gql(Some(&admin.token), REJECT, json!({ "t": approval_id, "r": "No." })).await;
        assert_eq!(code(&body), "CONFLICT", "{body}");
        assert_eq!(actions(of(admin).await), json!(["GRANT_APPROVAL"]));
        app.ok(Some(&owner.token), "mutation($id: ID!) { resumeWorkroom(id: $id) { state } }", json!({ "id": id })).await;

        let reason = "Use the spring prices, not the winter ones.";
        let body = app.gql(Some(&admin.token), REJECT, json!({ "t": approval_id, "r": reason })).await;
        let rejected = &body["data"]["rejectApproval"];
        assert_eq!(rejected["state"], "REJECTED", "{body}");
        assert_eq!(rejected["rejectionReason"], reason);

        let events = app.wait_for_event(&owner.token, &id, "PLAN_CREATED").await;
        let rejection = events.iter().position(|e| e["kind"] == "APPROVAL_REJECTED").unwrap();
        assert_eq!(events[rejection]["text"], reason);
        assert_eq!(events[rejection]["taskId"], approval_id.as_str());
        assert_eq!(events[rejection]["actor"]["id"], admin.user_id.as_str());
        assert_eq!(events[rejection + 1]["kind"], "STATE_CHANGED");
        assert_eq!(events[rejection + 1]["state"], "PLANNING");

        // The new plan addresses the reason; the drafting task it kept is still completed.
        let (client, token, room_id) = (&app, owner.token.as_str(), id.as_str());
        let events = eventually(std::time::Duration::from_secs(20), move || async move {
            let events = client.history(token, room_id).await;
            let plans = events.iter().filter(|e| e["kind"] == "PLAN_CREATED").count();
            let asked = events.iter().filter(|e| e["kind"] == "APPROVAL_REQUESTED").count();
            match (plans, asked) {
                (2, 2) => Ok(events),
                _ => Err(format!("{plans} plans and {asked} approvals asked, waiting for 2 of each")),
            }
        })
        .await;
        let replanned = events.iter().filter(|e| e["kind"] == "PLAN_CREATED").nth(1);
        let titles = replanned.unwrap()["data"]["tasks"].to_string();
        assert!(titles.contains("addressing a rejection: Use the spring prices, not the winter ones"), "{titles}");
        let kept = app.ok(Some(&owner.token), "query($id: ID!) { node(id: $id) { ... on Task { state } } }", json!({ "id": draft_id })).await;
        assert_eq!(kept["node"]["state"], "COMPLETED");
        let old = app.ok(Some(&owner.token), "query($id: ID!) { node(id: $id) { ... on Task { state rejectionReason } } }", json!({ "id": approval_id })).await;
        assert_eq!(old["node"], json!({ "state": "REJECTED", "rejectionReason": reason }));

        let logged = app.ok(Some(&owner.token), "{ workspace { activity(filter: { action: \"approval.rejected\" }, first: 10) { nodes { actor { id } targetId metadata } } } }", json!({})).await;
        let nodes = logged["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0]["metadata"]["reason"], reason);
        assert_eq!(nodes[0]["targetId"], approval_id.as_str());
    }
}
