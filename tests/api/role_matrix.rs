//! The role matrix of DESIGN.md as one table: every mutation and every root
//! query field, with what each of OWNER, ADMIN, MEMBER and VIEWER gets when
//! calling it, and what an API key of each role (ADMIN, MEMBER, VIEWER, made
//! by the OWNER) gets. Each call runs on a fresh fixture; an allowed call
//! succeeds, a refused one answers its code and changes nothing.
//! Introspection proves the table names every root field of the schema and
//! no other.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::{
    helpers::*,
    permissions::{team_of, Team},
    rooms::input,
};

/// The columns: the people of each role, then the keys of each role the
/// owner made.
const COLUMNS: [&str; 7] = [
    "OWNER",
    "ADMIN",
    "MEMBER",
    "VIEWER",
    "ADMIN-KEY",
    "MEMBER-KEY",
    "VIEWER-KEY",
];

/// What a role gets when it calls an operation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// The call succeeds.
    Allowed,
    /// FORBIDDEN, and nothing changes.
    Forbidden,
    /// Refused with this code for a reason other than the role; nothing changes.
    #[allow(dead_code)]
    Refused(&'static str),
}

use Outcome::{Allowed, Forbidden};

/// Outcomes in [`COLUMNS`] order. Keys never get what touches a person's
/// account, credentials or people (`Credential::Key` in the policy).
type Outcomes = [Outcome; 7];

const EVERYONE: Outcomes = [Allowed; 7];
const EVERY_PERSON: Outcomes = [
    Allowed, Allowed, Allowed, Allowed, Forbidden, Forbidden, Forbidden,
];
const MEMBERS_AND_ABOVE: Outcomes = [
    Allowed, Allowed, Allowed, Forbidden, Allowed, Allowed, Forbidden,
];
const OWNERS_AND_ADMINS: Outcomes = [
    Allowed, Allowed, Forbidden, Forbidden, Allowed, Forbidden, Forbidden,
];
const OWNERS_AND_ADMINS_IN_PERSON: Outcomes = [
    Allowed, Allowed, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden,
];
const THE_OWNER_ALONE: Outcomes = [
    Allowed, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden,
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Root {
    Query,
    Mutation,
}

/// Which test runs a row (so the rows run in a few tests side by side).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Group {
    Account,
    Administration,
    Workrooms,
    Approvals,
    Agents,
    Queries,
    Tools,
}

/// What a row needs besides the team.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    Team,
    /// An invitation of another workspace addressed to the acting account.
    ForeignInvitation,
    /// A workroom just created, left running.
    Workroom,
    /// A workroom whose APPROVAL task (required role MEMBER) awaits approval.
    AwaitingApproval,
    /// Such a workroom, paused by the owner.
    Paused,
    /// A workroom whose run has completed.
    Completed,
    /// A custom agent made by the owner.
    Agent,
    /// An integration the owner connected.
    Integration,
    /// An API key the owner created.
    ApiKey,
    /// A webhook endpoint the owner created.
    WebhookEndpoint,
    /// A delivery to such an endpoint.
    WebhookDelivery,
    /// A test MCP server running (not connected).
    McpServer,
    /// Such a server, connected by the owner as `crm`.
    McpIntegration,
}

/// One operation: its root field, its document, and the outcome per role.
struct Row {
    root: Root,
    field: &'static str,
    group: Group,
    needs: Needs,
    document: &'static str,
    variables: fn(&Fixture, &Account) -> Value,
    expect: Outcomes,
}

/// The fixture one call acts on.
struct Fixture {
    prefix: String,
    team: Team,
    room: Option<String>,
    /// The completed workroom's deliverable.
    deliverable: Option<String>,
    task: Option<String>,
    agent: Option<String>,
    accept: Option<String>,
    integration: Option<String>,
    api_key: Option<String>,
    webhook_endpoint: Option<String>,
    webhook_delivery: Option<String>,
    /// For a key's column: the owner's account, with the key as its token.
    key: Option<Account>,
    mcp: Option<crate::mcp_fixture::McpServer>,
}

impl Fixture {
    fn room(&self) -> &str {
        self.room.as_deref().expect("a workroom in the fixture")
    }
    fn deliverable(&self) -> &str {
        self.deliverable
            .as_deref()
            .expect("a composed deliverable in the fixture")
    }
    fn task(&self) -> &str {
        self.task
            .as_deref()
            .expect("an approval task in the fixture")
    }
    fn agent(&self) -> &str {
        self.agent.as_deref().expect("an agent in the fixture")
    }
    fn webhook_endpoint(&self) -> &str {
        self.webhook_endpoint
            .as_deref()
            .expect("a webhook endpoint in the fixture")
    }
    fn webhook_delivery(&self) -> &str {
        self.webhook_delivery
            .as_deref()
            .expect("a webhook delivery in the fixture")
    }
    fn api_key(&self) -> &str {
        self.api_key.as_deref().expect("an API key in the fixture")
    }
    fn integration(&self) -> &str {
        self.integration
            .as_deref()
            .expect("an integration in the fixture")
    }
    fn mcp_url(&self) -> &str {
        &self.mcp.as_ref().expect("an MCP server in the fixture").url
    }
    fn accept(&self) -> &str {
        self.accept
            .as_deref()
            .expect("an invitation in the fixture")
    }
    fn actor(&self, role: &str) -> &Account {
        if role.ends_with("-KEY") {
            return self.key.as_ref().expect("a key in the fixture");
        }
        match role {
            "OWNER" => &self.team.owner,
            "ADMIN" => &self.team.admin,
            "MEMBER" => &self.team.member,
            "VIEWER" => &self.team.viewer,
            other => panic!("no role {other}"),
        }
    }
}

fn none(_: &Fixture, _: &Account) -> Value {
    json!({})
}

fn agent_input(name: &str) -> Value {
    json!({ "name": name, "instructions": format!("You write as {name}."), "clientName": "Northwind" })
}

/// Every mutation and every root query field. DESIGN.md's "Roles (field
/// guards)": reading is for everyone; working on workrooms and editing
/// agents for members and above; members, invitations, billing, the
/// workspace's name and the activity log's verification for owners and
/// admins; the transfer for the owner alone. Signing up, signing in,
/// refreshing, signing out, accepting an invitation and creating, switching
/// and leaving workspaces concern the caller's own account. A key does what
/// its role does, except that it never touches an account, a credential or
/// a person: no tokens, no keys, no invitations, roles, removals or transfer.
const MATRIX: &[Row] = &[
    // Account: open to every person, never to a key.
    Row {
        root: Root::Mutation,
        field: "signup",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }",
        variables: |f, _| {
            json!({ "input": { "email": format!("{}-newcomer@example.com", f.prefix),
                "password": PASSWORD, "name": "Newcomer", "workspaceName": "Newcomer's" } })
        },
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "login",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        variables: |_, actor| json!({ "e": actor.email, "p": PASSWORD }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "refreshToken",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
        variables: |_, actor| json!({ "r": actor.refresh }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "logout",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($r: String!) { logout(refreshToken: $r) }",
        variables: |_, actor| json!({ "r": actor.refresh }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "acceptInvitation",
        group: Group::Account,
        needs: Needs::ForeignInvitation,
        document: "mutation($t: String!) { acceptInvitation(token: $t) { accessToken } }",
        variables: |f, _| json!({ "t": f.accept() }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "createWorkspace",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($n: String!) { createWorkspace(name: $n) { accessToken } }",
        variables: |f, _| json!({ "n": format!("{} side project", f.prefix) }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "switchWorkspace",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation($id: ID!) { switchWorkspace(workspaceId: $id) { accessToken } }",
        variables: |f, _| json!({ "id": f.team.owner.workspace_id }),
        expect: EVERY_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "leaveWorkspace",
        group: Group::Account,
        needs: Needs::Team,
        document: "mutation { leaveWorkspace }",
        variables: none,
        // The owner cannot leave before transferring ownership.
        expect: [
            Forbidden, Allowed, Allowed, Allowed, Forbidden, Forbidden, Forbidden,
        ],
    },
    // Workspace administration: owners and admins; the transfer for the owner.
    Row {
        root: Root::Mutation,
        field: "renameWorkspace",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation { renameWorkspace(name: \"Renamed\") { name } }",
        variables: none,
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "changeMemberRole",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { role } }",
        variables: |f, _| json!({ "id": f.team.target_member_id }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "removeMember",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($id: ID!) { removeMember(memberId: $id) }",
        variables: |f, _| json!({ "id": f.team.target_member_id }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "transferOwnership",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($id: ID!) { transferOwnership(memberId: $id) { id } }",
        variables: |f, _| json!({ "id": f.team.target_member_id }),
        expect: THE_OWNER_ALONE,
    },
    Row {
        root: Root::Mutation,
        field: "inviteMember",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($e: String!) { inviteMember(email: $e) { acceptToken } }",
        variables: |f, _| json!({ "e": format!("{}-invitee@example.com", f.prefix) }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "revokeInvitation",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($id: ID!) { revokeInvitation(id: $id) { state } }",
        variables: |f, _| json!({ "id": f.team.pending_invitation_id }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "changePlan",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation { changePlan(plan: GROWTH) { plan } }",
        variables: none,
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "purchaseTopUp",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation { purchaseTopUp(credits: 100, idempotencyKey: \"matrix\") { amount } }",
        variables: none,
        expect: OWNERS_AND_ADMINS,
    },
    // Workrooms: members and above.
    Row {
        root: Root::Mutation,
        field: "createWorkroom",
        group: Group::Workrooms,
        needs: Needs::Team,
        document: "mutation($input: CreateWorkroomInput!) { createWorkroom(input: $input) { id } }",
        variables: |_, _| json!({ "input": input("Matrix") }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "addSource",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { addSource(workroomId: $id, input: { kind: NOTES, content: \"Keep it short.\" }) { id } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "updateConstraints",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { updateConstraints(workroomId: $id, input: { maxCredits: 90000 }) { id } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "pauseWorkroom",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { pauseWorkroom(id: $id) { state } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "resumeWorkroom",
        group: Group::Workrooms,
        needs: Needs::Paused,
        document: "mutation($id: ID!) { resumeWorkroom(id: $id) { state } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "cancelWorkroom",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { cancelWorkroom(id: $id) { state } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "replanWorkroom",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { replanWorkroom(id: $id) { state } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "requestRevision",
        group: Group::Workrooms,
        needs: Needs::Completed,
        document: "mutation($id: ID!) { requestRevision(id: $id, notes: \"Shorter, please.\") { state } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "postMessage",
        group: Group::Workrooms,
        needs: Needs::AwaitingApproval,
        document: "mutation($id: ID!) { postMessage(workroomId: $id, body: \"Looks good so far.\") { seq } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "exportDeliverable",
        group: Group::Workrooms,
        needs: Needs::Completed,
        document: "mutation($d: ID!) { exportDeliverable(deliverableId: $d, format: MARKDOWN) { id } }",
        variables: |f, _| json!({ "d": f.deliverable() }),
        expect: MEMBERS_AND_ABOVE,
    },
    // Approvals: a role at least the task's requiredRole (MEMBER here); viewers never.
    Row {
        root: Root::Mutation,
        field: "grantApproval",
        group: Group::Approvals,
        needs: Needs::AwaitingApproval,
        document: "mutation($t: ID!) { grantApproval(taskId: $t) { state } }",
        variables: |f, _| json!({ "t": f.task() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "rejectApproval",
        group: Group::Approvals,
        needs: Needs::AwaitingApproval,
        document: "mutation($t: ID!) { rejectApproval(taskId: $t, reason: \"Not yet.\") { state } }",
        variables: |f, _| json!({ "t": f.task() }),
        expect: MEMBERS_AND_ABOVE,
    },
    // Tools and MCP servers: owners and admins set them up.
    Row {
        root: Root::Mutation,
        field: "setToolPolicy",
        group: Group::Tools,
        needs: Needs::Team,
        document: "mutation { setToolPolicy(input: { name: \"workroom.read_source\", enabled: false }) { name } }",
        variables: none,
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "connectMcpServer",
        group: Group::Tools,
        needs: Needs::McpServer,
        document: "mutation($url: String!) { connectMcpServer(input: { name: \"crm\", url: $url }) { id } }",
        variables: |f, _| json!({ "url": f.mcp_url() }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "refreshIntegrationTools",
        group: Group::Tools,
        needs: Needs::McpIntegration,
        document: "mutation($id: ID!) { refreshIntegrationTools(id: $id) { id } }",
        variables: |f, _| json!({ "id": f.integration() }),
        expect: OWNERS_AND_ADMINS,
    },
    // Custom agents: members and above.
    Row {
        root: Root::Mutation,
        field: "createAgent",
        group: Group::Agents,
        needs: Needs::Team,
        document: "mutation($input: AgentInput!) { createAgent(input: $input) { id } }",
        variables: |_, _| json!({ "input": agent_input("Copywriter") }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "updateAgent",
        group: Group::Agents,
        needs: Needs::Agent,
        document: "mutation($id: ID!, $input: AgentInput!) { updateAgent(id: $id, input: $input) { id } }",
        variables: |f, _| json!({ "id": f.agent(), "input": agent_input("Senior copywriter") }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "addStyleSample",
        group: Group::Agents,
        needs: Needs::Agent,
        document: "mutation($id: ID!) { addStyleSample(agentId: $id, text: \"We write plainly. We keep it short.\") { id } }",
        variables: |f, _| json!({ "id": f.agent() }),
        expect: MEMBERS_AND_ABOVE,
    },
    Row {
        root: Root::Mutation,
        field: "deleteAgent",
        group: Group::Agents,
        needs: Needs::Agent,
        document: "mutation($id: ID!) { deleteAgent(id: $id) }",
        variables: |f, _| json!({ "id": f.agent() }),
        expect: MEMBERS_AND_ABOVE,
    },
    // Branding and integrations: owners and admins.
    Row {
        root: Root::Mutation,
        field: "updateExportProfile",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($input: ExportProfileInput!) { updateExportProfile(input: $input) { accentColor } }",
        variables: |_, _| json!({ "input": { "letterhead": "Rebranded", "accentColor": "#0A7E8C" } }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "connectIntegration",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($input: IntegrationInput!) { connectIntegration(input: $input) { id } }",
        variables: |_, _| json!({ "input": { "provider": "slack", "accessToken": "xoxb-matrix", "scopes": ["chat:write"] } }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "disconnectIntegration",
        group: Group::Administration,
        needs: Needs::Integration,
        document: "mutation($id: ID!) { disconnectIntegration(id: $id) }",
        variables: |f, _| json!({ "id": f.integration() }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "createApiKey",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }",
        variables: |_, _| json!({ "input": { "name": "matrix", "role": "VIEWER" } }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "revokeApiKey",
        group: Group::Administration,
        needs: Needs::ApiKey,
        document: "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
        variables: |f, _| json!({ "id": f.api_key() }),
        expect: OWNERS_AND_ADMINS_IN_PERSON,
    },
    Row {
        root: Root::Mutation,
        field: "createWebhookEndpoint",
        group: Group::Administration,
        needs: Needs::Team,
        document: "mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
        variables: |_, _| json!({ "input": { "url": "https://93.184.216.34/hook", "events": ["credits.low"] } }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "updateWebhookEndpoint",
        group: Group::Administration,
        needs: Needs::WebhookEndpoint,
        document: "mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }",
        variables: |f, _| json!({ "id": f.webhook_endpoint(), "input": { "url": "https://93.184.216.34/other", "events": ["credits.low"] } }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "rotateWebhookSecret",
        group: Group::Administration,
        needs: Needs::WebhookEndpoint,
        document: "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        variables: |f, _| json!({ "id": f.webhook_endpoint() }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "deleteWebhookEndpoint",
        group: Group::Administration,
        needs: Needs::WebhookEndpoint,
        document: "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
        variables: |f, _| json!({ "id": f.webhook_endpoint() }),
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Mutation,
        field: "redeliverWebhook",
        group: Group::Administration,
        needs: Needs::WebhookDelivery,
        document: "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }",
        variables: |f, _| json!({ "id": f.webhook_delivery() }),
        expect: OWNERS_AND_ADMINS,
    },
    // Root queries: reading is for everyone; verifying the log for owners and admins.
    Row {
        root: Root::Query,
        field: "viewer",
        group: Group::Queries,
        needs: Needs::Team,
        document: "{ viewer { user { id } member { role } } }",
        variables: none,
        expect: EVERYONE,
    },
    Row {
        root: Root::Query,
        field: "workspace",
        group: Group::Queries,
        needs: Needs::Team,
        document: "{ workspace { id name } }",
        variables: none,
        expect: EVERYONE,
    },
    Row {
        root: Root::Query,
        field: "node",
        group: Group::Queries,
        needs: Needs::Team,
        document: "query($id: ID!) { node(id: $id) { id ... on Member { role } } }",
        variables: |f, _| json!({ "id": f.team.target_member_id }),
        expect: EVERYONE,
    },
    Row {
        root: Root::Query,
        field: "plans",
        group: Group::Queries,
        needs: Needs::Team,
        document: "{ plans { plan } }",
        variables: none,
        expect: EVERYONE,
    },
    Row {
        root: Root::Query,
        field: "verifyActivityLog",
        group: Group::Queries,
        needs: Needs::Team,
        document: "{ verifyActivityLog { valid checked } }",
        variables: none,
        expect: OWNERS_AND_ADMINS,
    },
    Row {
        root: Root::Query,
        field: "workroom",
        group: Group::Queries,
        needs: Needs::Workroom,
        document: "query($id: ID!) { workroom(id: $id) { id title } }",
        variables: |f, _| json!({ "id": f.room() }),
        expect: EVERYONE,
    },
];

const ROOTS: &str =
    "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }";

db_test! {
    async fn the_matrix_has_one_row_per_root_query_field_and_mutation_and_names_no_other_field(app);
    {
        let data = app.ok(None, ROOTS, json!({})).await;
        let names = |root: &str| -> BTreeSet<String> {
            data["__schema"][root]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned())
                .collect()
        };
        for (root, kind) in [("queryType", Root::Query), ("mutationType", Root::Mutation)] {
            let schema = names(root);
            let rows: Vec<String> = MATRIX
                .iter()
                .filter(|r| r.root == kind)
                .map(|r| r.field.to_owned())
                .collect();
            let table: BTreeSet<String> = rows.iter().cloned().collect();
            assert_eq!(table.len(), rows.len(), "{kind:?}: a field has two rows: {rows:?}");
            let missing: Vec<&String> = schema.difference(&table).collect();
            assert!(missing.is_empty(), "{kind:?} fields without a row in the matrix: {missing:?}");
            let unknown: Vec<&String> = table.difference(&schema).collect();
            assert!(unknown.is_empty(), "rows naming no {kind:?} field: {unknown:?}");
        }
        for row in MATRIX {
            let opens = if row.root == Root::Query { "query" } else { "mutation" };
            let anonymous_query = row.root == Root::Query && row.document.starts_with('{');
            assert!(
                anonymous_query || row.document.starts_with(opens),
                "{}: the document is not a {opens}",
                row.field
            );
        }
    }
}

/// What an operation could change: the workspace as its owner sees it, and
/// the fixture's workroom.
const WORKSPACE_SNAPSHOT: &str = "{ workspace { name plan credits { balance available } \
    members(first: 100) { nodes { id role } } invitations(first: 100) { nodes { id state } } \
    creditLedger(first: 100) { nodes { id } } activity(first: 100) { nodes { id } } \
    workrooms(first: 100) { nodes { id state lastSeq } } \
    agents { id name description instructions clientName styleMemory { version } } \
    exportProfile { letterhead accentColor contactBlock font updatedAt } \
    integrations { id provider scopes status checkedAt tools { name } } apiKeys { id revokedAt } \
    tools { name enabled requiresApproval } } }";

const ROOM_SNAPSHOT: &str = "query($id: ID!) { workroom(id: $id) { state stateReason lastSeq \
    creditsSpent creditsReserved revisionRound \
    constraints { deadline maxCredits pasteFlags approval { requiredRole requiredApprovals } } \
    sources { id } tasks { id state approval { grants { user { id } } } } \
    deliverables { id version exports { id } } } }";

async fn snapshot(app: &TestApp, fixture: &Fixture) -> Value {
    let owner = Some(fixture.team.owner.token.as_str());
    let workspace = app.ok(owner, WORKSPACE_SNAPSHOT, json!({})).await;
    let room = match &fixture.room {
        Some(id) => app.ok(owner, ROOM_SNAPSHOT, json!({ "id": id })).await,
        None => Value::Null,
    };
    json!({ "workspace": workspace["workspace"], "room": room })
}

/// A snapshot taken twice in a row with the same result: nothing is moving.
async fn settled_snapshot(app: &TestApp, fixture: &Fixture) -> Value {
    let started = Instant::now();
    let mut last = snapshot(app, fixture).await;
    loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = snapshot(app, fixture).await;
        if now == last {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}: the fixture does not settle: {now}",
            fixture.prefix
        );
        last = now;
    }
}

const TASKS: &str = "query($id: ID!) { workroom(id: $id) { state creditsReserved \
    tasks { id kind state } deliverables { id } } }";

/// Polls the workroom until `done` holds; panics after 20 seconds.
async fn wait_until(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let done = &done;
    eventually(Duration::from_secs(20), move || async move {
        let room = app.ok(Some(token), TASKS, json!({ "id": id })).await["workroom"].clone();
        match done(&room) {
            true => Ok(room),
            false => Err(format!("the workroom did not get there: {room}")),
        }
    })
    .await
}

/// The APPROVAL task, once it awaits approval with nothing else running.
fn awaiting_approval(room: &Value) -> Option<String> {
    let tasks = room["tasks"].as_array()?;
    let approval = tasks.iter().find(|t| t["kind"] == "APPROVAL")?;
    let idle = tasks.iter().all(|t| t["state"] != "RUNNING");
    (approval["state"] == "AWAITING_APPROVAL" && idle && room["creditsReserved"] == 0)
        .then(|| approval["id"].as_str().unwrap().to_owned())
}

/// Builds what `row` needs for `role`, on a team of its own.
async fn fixture(app: &TestApp, row: &Row, role: &str) -> Fixture {
    let prefix = format!("{}-{}", row.field, role).to_lowercase();
    let team = team_of(app, &prefix).await;
    let mut fixture = Fixture {
        prefix,
        team,
        room: None,
        deliverable: None,
        task: None,
        agent: None,
        accept: None,
        integration: None,
        api_key: None,
        webhook_endpoint: None,
        webhook_delivery: None,
        key: None,
        mcp: None,
    };
    let owner = fixture.team.owner.token.clone();
    if let Some(key_role) = role.strip_suffix("-KEY") {
        fixture.key = Some(owner_key(app, &fixture.team.owner, key_role).await);
    }
    match row.needs {
        Needs::Team => {}
        Needs::ForeignInvitation => {
            let host = app
                .signup(&format!("{}-host@example.com", fixture.prefix), "Host")
                .await;
            app.change_plan(&host.token, "AGENCY").await;
            let email = fixture.actor(role).email.clone();
            fixture.accept = Some(app.invite(&host.token, &email, "MEMBER").await);
        }
        Needs::Workroom => {
            fixture.room = Some(app.create_workroom(&owner, input("Read me")).await);
        }
        Needs::AwaitingApproval | Needs::Paused => {
            let mut with_approval = input("Needs a sign-off");
            with_approval["constraints"] =
                json!({ "approval": { "requiredRole": "MEMBER", "requiredApprovals": 1 } });
            let id = app.create_workroom(&owner, with_approval).await;
            let room = wait_until(app, &owner, &id, |r| awaiting_approval(r).is_some()).await;
            fixture.task = awaiting_approval(&room);
            if row.needs == Needs::Paused {
                let paused = app
                    .ok(
                        Some(&owner),
                        "mutation($id: ID!) { pauseWorkroom(id: $id) { state } }",
                        json!({ "id": id }),
                    )
                    .await;
                assert_eq!(paused["pauseWorkroom"]["state"], "PAUSED");
            }
            fixture.room = Some(id);
        }
        Needs::Completed => {
            let id = app.create_workroom(&owner, input("Done already")).await;
            let room = wait_until(app, &owner, &id, |r| {
                r["state"] == "COMPLETED" && r["creditsReserved"] == 0
            })
            .await;
            fixture.deliverable = room["deliverables"][0]["id"].as_str().map(str::to_owned);
            fixture.room = Some(id);
        }
        Needs::Agent => {
            let data = app
                .ok(
                    Some(&owner),
                    "mutation($input: AgentInput!) { createAgent(input: $input) { id } }",
                    json!({ "input": agent_input("Strategist") }),
                )
                .await;
            fixture.agent = Some(data["createAgent"]["id"].as_str().unwrap().to_owned());
        }
        Needs::WebhookEndpoint | Needs::WebhookDelivery => {
            let data = app
                .ok(
                    Some(&owner),
                    "mutation { createWebhookEndpoint(input: { url: \"https://93.184.216.34/hook\", events: [\"workspace.renamed\"] }) { endpoint { id } } }",
                    json!({}),
                )
                .await;
            let endpoint = data["createWebhookEndpoint"]["endpoint"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            if matches!(row.needs, Needs::WebhookDelivery) {
                app.ok(
                    Some(&owner),
                    "mutation { renameWorkspace(name: \"Hooked\") { name } }",
                    json!({}),
                )
                .await;
                let data = app
                    .ok(
                        Some(&owner),
                        "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries { nodes { id } } } } }",
                        json!({ "id": endpoint }),
                    )
                    .await;
                fixture.webhook_delivery = data["node"]["deliveries"]["nodes"][0]["id"]
                    .as_str()
                    .map(str::to_owned);
            }
            fixture.webhook_endpoint = Some(endpoint);
        }
        Needs::ApiKey => {
            let data = app
                .ok(
                    Some(&owner),
                    "mutation { createApiKey(input: { name: \"matrix\", role: VIEWER }) { apiKey { id } } }",
                    json!({}),
                )
                .await;
            fixture.api_key = data["createApiKey"]["apiKey"]["id"]
                .as_str()
                .map(str::to_owned);
        }
        Needs::McpServer | Needs::McpIntegration => {
            let server = crate::mcp_fixture::start(crate::mcp_fixture::Access::Open).await;
            if row.needs == Needs::McpIntegration {
                let data = app
                    .ok(
                        Some(&owner),
                        "mutation($url: String!) { connectMcpServer(input: { name: \"crm\", url: $url }) { id } }",
                        json!({ "url": server.url }),
                    )
                    .await;
                fixture.integration = data["connectMcpServer"]["id"].as_str().map(str::to_owned);
            }
            fixture.mcp = Some(server);
        }
        Needs::Integration => {
            let data = app
                .ok(
                    Some(&owner),
                    "mutation { connectIntegration(input: { provider: \"hubspot\", accessToken: \"pat-matrix\" }) { id } }",
                    json!({}),
                )
                .await;
            fixture.integration = Some(
                data["connectIntegration"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    fixture
}

/// The owner's account acting through a new key of `role`.
async fn owner_key(app: &TestApp, owner: &Account, role: &str) -> Account {
    let data = app
        .ok(
            Some(&owner.token),
            "mutation($r: Role!) { createApiKey(input: { name: \"matrix\", role: $r }) { secret } }",
            json!({ "r": role }),
        )
        .await;
    Account {
        token: data["createApiKey"]["secret"].as_str().unwrap().to_owned(),
        ..owner.clone()
    }
}

/// Runs `row` as `role` on a fresh fixture and checks the expected outcome.
async fn check(app: &TestApp, row: &Row, role: &str, expected: Outcome) {
    let fixture = fixture(app, row, role).await;
    let actor = fixture.actor(role);
    let variables = (row.variables)(&fixture, actor);
    let field = row.field;
    let before = match expected {
        Allowed => Value::Null,
        _ => settled_snapshot(app, &fixture).await,
    };
    let body = app.gql(Some(&actor.token), row.document, variables).await;
    let refused_with = match expected {
        Allowed => {
            assert!(
                body.get("errors").is_none(),
                "{field} as {role} must be allowed: {body}"
            );
            assert!(
                !body["data"][field].is_null(),
                "{field} as {role} answers nothing: {body}"
            );
            return;
        }
        Forbidden => "FORBIDDEN",
        Outcome::Refused(code) => code,
    };
    assert_eq!(code(&body), refused_with, "{field} as {role}: {body}");
    assert!(
        body["data"].is_null() || body["data"][field].is_null(),
        "{field} as {role} was refused yet answered: {body}"
    );
    let after = snapshot(app, &fixture).await;
    assert_eq!(
        before, after,
        "{field} refused to {role} must change nothing"
    );
}

/// How many calls of a group run at once: enough to keep the server busy
/// while fixtures wait on the engine, few enough that none waits too long.
const AT_ONCE: usize = 10;

/// Checks every cell of `group`'s rows, [`AT_ONCE`] side by side.
async fn assert_group(app: &TestApp, group: Group) {
    let rows: Vec<&Row> = MATRIX.iter().filter(|r| r.group == group).collect();
    assert!(!rows.is_empty(), "{group:?} has rows");
    let cells = rows.into_iter().flat_map(|row| {
        COLUMNS
            .iter()
            .zip(row.expect)
            .map(move |(column, expected)| check(app, row, column, expected))
    });
    futures_util::stream::iter(cells)
        .buffer_unordered(AT_ONCE)
        .collect::<Vec<()>>()
        .await;
}

db_test! {
    async fn account_mutations_are_open_to_every_person_but_never_to_a_key_and_the_owner_cannot_leave(app);
    { assert_group(&app, Group::Account).await; }
}

db_test! {
    async fn administering_the_workspace_is_for_owners_and_admins_people_only_in_person_and_transferring_it_for_the_owner(app);
    { assert_group(&app, Group::Administration).await; }
}

db_test! {
    async fn workroom_mutations_are_for_members_and_above_and_refused_to_viewers_change_nothing(app);
    { assert_group(&app, Group::Workrooms).await; }
}

db_test! {
    async fn a_member_level_approval_is_granted_by_members_and_above_and_never_by_viewers(app);
    { assert_group(&app, Group::Approvals).await; }
}

db_test! {
    async fn custom_agents_are_edited_by_members_and_above_and_not_by_viewers(app);
    { assert_group(&app, Group::Agents).await; }
}

db_test! {
    async fn tools_and_mcp_servers_are_set_up_by_owners_and_admins_and_refusals_change_nothing(app) with |c| c.webhook_allow_private = true;
    { assert_group(&app, Group::Tools).await; }
}

db_test! {
    async fn every_role_reads_the_root_queries_and_only_owners_and_admins_verify_the_log(app);
    { assert_group(&app, Group::Queries).await; }
}
