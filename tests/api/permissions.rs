//! Every operation under every role, as the role matrix of DESIGN.md says;
//! refused calls change nothing; ids of other workspaces are invisible; roles
//! are read fresh on every request.

use serde_json::{json, Value};

use crate::helpers::*;

/// A workspace on AGENCY with one member of each role, a MEMBER that
/// operations act on, and a pending invitation.
pub struct Team {
    pub owner: Account,
    pub admin: Account,
    pub member: Account,
    pub viewer: Account,
    pub target_member_id: String,
    pub pending_invitation_id: String,
}

impl Team {
    /// The acting account of each role, in the matrix's column order.
    fn by_role(&self) -> [(&'static str, &Account); 4] {
        [
            ("OWNER", &self.owner),
            ("ADMIN", &self.admin),
            ("MEMBER", &self.member),
            ("VIEWER", &self.viewer),
        ]
    }
}

/// Builds a [`Team`] whose emails start with `prefix`, so one app can hold several.
pub async fn team_of(app: &TestApp, prefix: &str) -> Team {
    let owner = app
        .signup(&format!("{prefix}-owner@example.com"), prefix)
        .await;
    app.change_plan(&owner.token, "AGENCY").await;
    let mut joined = Vec::new();
    for role in ["ADMIN", "MEMBER", "VIEWER", "MEMBER"] {
        let email = format!(
            "{prefix}-{}{}@example.com",
            role.to_lowercase(),
            joined.len()
        );
        let accept = app.invite(&owner.token, &email, role).await;
        joined.push(app.accept_new(&accept, &email).await);
    }
    let pending = format!("{prefix}-pending@example.com");
    let (pending_invitation_id, _) = invite_with_id(app, &owner.token, &pending, "MEMBER").await;
    let target = joined.pop().unwrap();
    let target_member_id = app.member_id(&target).await;
    let [admin, member, viewer]: [Account; 3] = joined.try_into().unwrap();
    Team {
        owner,
        admin,
        member,
        viewer,
        target_member_id,
        pending_invitation_id,
    }
}

/// Invites `email`; returns the invitation's id and its accept token.
pub async fn invite_with_id(
    app: &TestApp,
    token: &str,
    email: &str,
    role: &str,
) -> (String, String) {
    let data = app
        .ok(
            Some(token),
            "mutation($e: String!, $r: Role) { inviteMember(email: $e, role: $r) { invitation { id } acceptToken } }",
            json!({ "e": email, "r": role }),
        )
        .await;
    let payload = &data["inviteMember"];
    (
        payload["invitation"]["id"].as_str().unwrap().to_owned(),
        payload["acceptToken"].as_str().unwrap().to_owned(),
    )
}

/// What an operation could change, as the owner (or, after a transfer, the old owner) sees it.
const SNAPSHOT: &str = "{ workspace { name plan credits { balance } \
    members(first: 100) { nodes { id role } } invitations(first: 100) { nodes { id state } } \
    creditLedger(first: 100) { nodes { id } } activity(first: 100) { nodes { id } } } }";

async fn snapshot(app: &TestApp, team: &Team) -> Value {
    app.ok(Some(&team.owner.token), SNAPSHOT, json!({})).await["workspace"].clone()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    RenameWorkspace,
    ChangePlan,
    PurchaseTopUp,
    InviteMember,
    RevokeInvitation,
    ChangeMemberRole,
    RemoveMember,
    TransferOwnership,
    ListInvitations,
    VerifyActivityLog,
}

/// DESIGN.md's matrix: allowed for [OWNER, ADMIN, MEMBER, VIEWER].
const MATRIX: [(Op, [bool; 4]); 10] = [
    (Op::RenameWorkspace, [true, true, false, false]),
    (Op::ChangePlan, [true, true, false, false]),
    (Op::PurchaseTopUp, [true, true, false, false]),
    (Op::InviteMember, [true, true, false, false]),
    (Op::RevokeInvitation, [true, true, false, false]),
    (Op::ChangeMemberRole, [true, true, false, false]),
    (Op::RemoveMember, [true, true, false, false]),
    (Op::TransferOwnership, [true, false, false, false]),
    (Op::ListInvitations, [true, true, false, false]),
    (Op::VerifyActivityLog, [true, true, false, false]),
];

/// The document and variables of `op`, and the root field it answers in.
fn request(op: Op, team: &Team) -> (&'static str, Value, &'static str) {
    let target = &team.target_member_id;
    match op {
        Op::RenameWorkspace => (
            "mutation { renameWorkspace(name: \"Renamed\") { name } }",
            json!({}),
            "renameWorkspace",
        ),
        Op::ChangePlan => (
            "mutation { changePlan(plan: GROWTH) { plan } }",
            json!({}),
            "changePlan",
        ),
        Op::PurchaseTopUp => (
            "mutation { purchaseTopUp(credits: 100, idempotencyKey: \"perm\") { amount } }",
            json!({}),
            "purchaseTopUp",
        ),
        Op::InviteMember => (
            "mutation { inviteMember(email: \"newcomer@example.com\") { acceptToken } }",
            json!({}),
            "inviteMember",
        ),
        Op::RevokeInvitation => (
            "mutation($id: ID!) { revokeInvitation(id: $id) { state } }",
            json!({ "id": team.pending_invitation_id }),
            "revokeInvitation",
        ),
        Op::ChangeMemberRole => (
            "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { role } }",
            json!({ "id": target }),
            "changeMemberRole",
        ),
        Op::RemoveMember => (
            "mutation($id: ID!) { removeMember(memberId: $id) }",
            json!({ "id": target }),
            "removeMember",
        ),
        Op::TransferOwnership => (
            "mutation($id: ID!) { transferOwnership(memberId: $id) { id } }",
            json!({ "id": target }),
            "transferOwnership",
        ),
        Op::ListInvitations => (
            "{ workspace { invitations(state: PENDING) { nodes { id } } } }",
            json!({}),
            "workspace",
        ),
        Op::VerifyActivityLog => (
            "{ verifyActivityLog { valid checked } }",
            json!({}),
            "verifyActivityLog",
        ),
    }
}

fn role_of<'a>(snapshot: &'a Value, member_id: &str) -> Option<&'a str> {
    let members = snapshot["members"]["nodes"].as_array().unwrap();
    members
        .iter()
        .find(|m| m["id"] == member_id)
        .map(|m| m["role"].as_str().unwrap())
}

fn len(snapshot: &Value, list: &str) -> usize {
    snapshot[list]["nodes"].as_array().unwrap().len()
}

/// Asserts the effect an allowed `op` must have had.
fn assert_effect(op: Op, team: &Team, data: &Value, before: &Value, after: &Value) {
    let balance = |s: &Value| s["credits"]["balance"].as_i64().unwrap();
    match op {
        Op::RenameWorkspace => assert_eq!(after["name"], "Renamed"),
        Op::ChangePlan => {
            assert_eq!(after["plan"], "GROWTH");
            // Down from AGENCY within the period: nothing more is granted.
            assert_eq!(balance(after), balance(before));
        }
        Op::PurchaseTopUp => assert_eq!(balance(after), balance(before) + 100),
        Op::InviteMember => assert_eq!(len(after, "invitations"), len(before, "invitations") + 1),
        Op::RevokeInvitation => {
            let invitations = after["invitations"]["nodes"].as_array().unwrap();
            let revoked = invitations
                .iter()
                .find(|i| i["id"] == team.pending_invitation_id.as_str());
            assert_eq!(revoked.unwrap()["state"], "REVOKED");
        }
        Op::ChangeMemberRole => assert_eq!(role_of(after, &team.target_member_id), Some("VIEWER")),
        Op::RemoveMember => assert_eq!(role_of(after, &team.target_member_id), None),
        Op::TransferOwnership => assert_eq!(role_of(after, &team.target_member_id), Some("OWNER")),
        Op::ListInvitations => {
            let ids = &data["workspace"]["invitations"]["nodes"];
            assert_eq!(ids, &json!([{ "id": team.pending_invitation_id }]));
        }
        Op::VerifyActivityLog => {
            let checked = len(before, "activity") as i64;
            assert_eq!(
                data["verifyActivityLog"],
                json!({ "valid": true, "checked": checked })
            );
        }
    }
    let reads_only = matches!(op, Op::ListInvitations | Op::VerifyActivityLog);
    assert_eq!(
        before == after,
        reads_only,
        "{op:?}: a change happened exactly when the operation writes"
    );
}

/// Runs `op` as each role, each on a fresh team, and checks the matrix row.
async fn assert_matrix_row(app: &TestApp, op: Op) {
    let (_, allowed) = MATRIX.iter().find(|(o, _)| *o == op).unwrap();
    for (i, expected) in allowed.iter().enumerate() {
        let team = team_of(app, &format!("{op:?}-{i}").to_lowercase()).await;
        let (role, actor) = team.by_role()[i];
        let (query, variables, field) = request(op, &team);
        let before = snapshot(app, &team).await;
        let body = app.gql(Some(&actor.token), query, variables).await;
        let after = snapshot(app, &team).await;
        if *expected {
            assert!(
                body.get("errors").is_none(),
                "{op:?} as {role} must be allowed: {body}"
            );
            assert_effect(op, &team, &body["data"], &before, &after);
        } else {
            assert_eq!(code(&body), "FORBIDDEN", "{op:?} as {role}: {body}");
            assert!(
                body["data"].is_null() || body["data"][field].is_null(),
                "{op:?} as {role}: {body}"
            );
            assert_eq!(
                before, after,
                "{op:?} refused to {role} must change nothing"
            );
        }
    }
}

db_test! {
    async fn renaming_the_workspace_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::RenameWorkspace).await; }
}

db_test! {
    async fn changing_the_plan_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::ChangePlan).await; }
}

db_test! {
    async fn buying_a_top_up_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::PurchaseTopUp).await; }
}

db_test! {
    async fn inviting_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::InviteMember).await; }
}

db_test! {
    async fn revoking_an_invitation_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::RevokeInvitation).await; }
}

db_test! {
    async fn changing_a_role_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::ChangeMemberRole).await; }
}

db_test! {
    async fn removing_a_member_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::RemoveMember).await; }
}

db_test! {
    async fn transferring_ownership_is_for_the_owner_alone(app);
    { assert_matrix_row(&app, Op::TransferOwnership).await; }
}

db_test! {
    async fn listing_invitations_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::ListInvitations).await; }
}

db_test! {
    async fn verifying_the_activity_log_is_for_owners_and_admins(app);
    { assert_matrix_row(&app, Op::VerifyActivityLog).await; }
}

/// Reads that every role may do.
const READS: &str =
    "{ plans { plan } viewer { user { email } member { role } workspace { name } } \
    workspace { name plan seatsUsed members(first: 100) { nodes { id } } \
    credits { balance available } creditLedger(first: 100) { nodes { kind } } \
    activity(first: 100) { nodes { action } } exportProfile { letterhead accentColor } } }";

db_test! {
    async fn every_role_reads_the_workspace_its_members_credits_ledger_activity_and_branding(app);
    {
        let team = team_of(&app, "reads").await;
        let mut seen = Vec::new();
        for (role, actor) in team.by_role() {
            let data = app.ok(Some(&actor.token), READS, json!({})).await;
            assert_eq!(data["viewer"]["member"]["role"], role);
            assert_eq!(data["viewer"]["user"]["email"], actor.email.as_str());
            assert_eq!(data["plans"].as_array().unwrap().len(), 6, "{role}");
            let ws = &data["workspace"];
            assert_eq!(ws["members"]["nodes"].as_array().unwrap().len(), 5, "{role}");
            assert_eq!(ws["seatsUsed"], 6, "{role}: five members and one pending invitation");
            assert_eq!(ws["credits"]["balance"], 150_500, "{role}");
            assert_eq!(ws["creditLedger"]["nodes"][1]["kind"], "TRIAL_GRANT", "{role}");
            assert_eq!(ws["exportProfile"]["letterhead"], "reads", "{role}");
            seen.push(ws.clone());
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "every role sees the same workspace");
    }
}

const NODE_INVITATION: &str =
    "query($id: ID!) { node(id: $id) { id ... on Invitation { email state } } }";

db_test! {
    async fn an_invitation_fetched_through_node_is_still_for_owners_and_admins_only(app);
    {
        let team = team_of(&app, "node").await;
        let id = json!({ "id": team.pending_invitation_id });
        for (role, actor) in team.by_role() {
            let body = app.gql(Some(&actor.token), NODE_INVITATION, id.clone()).await;
            if matches!(role, "OWNER" | "ADMIN") {
                assert_eq!(body["data"]["node"]["email"], "node-pending@example.com", "{role}: {body}");
            } else {
                assert_eq!(code(&body), "FORBIDDEN", "{role}: {body}");
                assert!(body["data"]["node"].is_null(), "{role}: {body}");
            }
        }
        // Nor through the workspace reached as a node.
        let ws = app.ok(Some(&team.member.token), "{ workspace { id } }", json!({})).await;
        let body = app
            .gql(
                Some(&team.member.token),
                "query($id: ID!) { node(id: $id) { ... on Workspace { invitations { nodes { email } } } } }",
                json!({ "id": ws["workspace"]["id"] }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }
}

db_test! {
    async fn without_a_token_everything_but_plans_is_unauthenticated(app);
    {
        let team = team_of(&app, "anon").await;
        let (member, invitation) = (&team.target_member_id, &team.pending_invitation_id);
        let calls: [(&str, Value); 16] = [
            ("{ viewer { user { id } } }", json!({})),
            ("{ workspace { name } }", json!({})),
            ("query($id: ID!) { node(id: $id) { id } }", json!({ "id": member })),
            ("{ verifyActivityLog { valid } }", json!({})),
            ("mutation { renameWorkspace(name: \"X\") { name } }", json!({})),
            ("mutation { changePlan(plan: GROWTH) { plan } }", json!({})),
            ("mutation { purchaseTopUp(credits: 5, idempotencyKey: \"k\") { id } }", json!({})),
            ("mutation { inviteMember(email: \"x@example.com\") { acceptToken } }", json!({})),
            ("mutation($id: ID!) { revokeInvitation(id: $id) { id } }", json!({ "id": invitation })),
            ("mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }", json!({ "id": member })),
            ("mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": member })),
            ("mutation($id: ID!) { transferOwnership(memberId: $id) { id } }", json!({ "id": member })),
            ("mutation { leaveWorkspace }", json!({})),
            ("mutation { createWorkspace(name: \"X\") { accessToken } }", json!({})),
            ("mutation($id: ID!) { switchWorkspace(workspaceId: $id) { accessToken } }", json!({ "id": team.owner.workspace_id })),
            ("{ plans { plan } viewer { user { id } } }", json!({})),
        ];
        let before = snapshot(&app, &team).await;
        for token in [None, Some("not-a-jwt")] {
            for (query, variables) in &calls {
                let body = app.gql(token, query, variables.clone()).await;
                assert_eq!(code(&body), "UNAUTHENTICATED", "{query} with {token:?}: {body}");
            }
            let plans = app.ok(token, "{ plans { plan maxUsers monthlyCredits } }", json!({})).await;
            assert_eq!(plans["plans"].as_array().unwrap().len(), 6);
        }
        assert_eq!(snapshot(&app, &team).await, before, "anonymous calls changed nothing");
    }
}

db_test! {
    async fn ids_of_another_workspace_are_not_found_and_their_nodes_are_null(app);
    {
        let ann = app.signup("ann@example.com", "Ann's").await;
        let other = team_of(&app, "other").await;
        let theirs = app.ok(Some(&other.owner.token), SNAPSHOT, json!({})).await["workspace"].clone();
        let their_owner_member = app.member_id(&other.owner).await;
        let mutations = [
            ("mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { id } }", &other.target_member_id),
            ("mutation($id: ID!) { removeMember(memberId: $id) }", &other.target_member_id),
            ("mutation($id: ID!) { revokeInvitation(id: $id) { id } }", &other.pending_invitation_id),
            ("mutation($id: ID!) { transferOwnership(memberId: $id) { id } }", &other.target_member_id),
            ("mutation($id: ID!) { transferOwnership(memberId: $id) { id } }", &their_owner_member),
        ];
        for (query, id) in mutations {
            let body = app.gql(Some(&ann.token), query, json!({ "id": id })).await;
            assert_eq!(code(&body), "NOT_FOUND", "{query}: {body}");
        }
        let nodes = [
            other.target_member_id.clone(),
            other.pending_invitation_id.clone(),
            other.owner.workspace_id.clone(),
            other.owner.user_id.clone(),
            theirs["creditLedger"]["nodes"][0]["id"].as_str().unwrap().to_owned(),
            theirs["activity"]["nodes"][0]["id"].as_str().unwrap().to_owned(),
        ];
        for id in nodes {
            let data = app.ok(Some(&ann.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
            assert!(data["node"].is_null(), "{id} leaked: {data}");
        }
        assert_eq!(snapshot(&app, &other).await, theirs, "the other workspace is untouched");
    }
}

db_test! {
    async fn a_demoted_admin_loses_rights_at_once_with_the_same_token(app);
    {
        let team = team_of(&app, "fresh").await;
        let admin_member = app.member_id(&team.admin).await;
        let rename = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";
        app.ok(Some(&team.admin.token), rename, json!({ "n": "By the admin" })).await;

        app.ok(
            Some(&team.owner.token),
            "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { role } }",
            json!({ "id": admin_member }),
        )
        .await;

        let body = app.gql(Some(&team.admin.token), rename, json!({ "n": "Too late" })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let data = app.ok(Some(&team.admin.token), "{ viewer { member { role } } workspace { name } }", json!({})).await;
        assert_eq!(data["viewer"]["member"]["role"], "VIEWER");
        assert_eq!(data["workspace"]["name"], "By the admin");
    }
}

db_test! {
    async fn a_promoted_viewer_gains_rights_at_once_with_the_same_token(app);
    {
        let team = team_of(&app, "promoted").await;
        let viewer_member = app.member_id(&team.viewer).await;
        let rename = "mutation { renameWorkspace(name: \"By the viewer\") { name } }";
        assert_eq!(code(&app.gql(Some(&team.viewer.token), rename, json!({})).await), "FORBIDDEN");

        app.ok(
            Some(&team.owner.token),
            "mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { role } }",
            json!({ "id": viewer_member }),
        )
        .await;

        let data = app.ok(Some(&team.viewer.token), rename, json!({})).await;
        assert_eq!(data["renameWorkspace"]["name"], "By the viewer");
    }
}
