//! An API key never obtains a person's tokens: every mutation that returns
//! an access or refresh token (found by introspection, so a new one cannot
//! slip by) refuses a key of any role, and so do signing out and accepting
//! an invitation; nothing changes when it does.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// What introspection says of every type and of the mutations.
const SCHEMA: &str = "{ __schema { mutationType { fields { name args { name type { ...Ref } } type { ...Ref } } } \
    types { kind name fields { name type { ...Ref } } inputFields { name type { ...Ref } } enumValues { name } } } } \
    fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// Fields that carry a person's tokens.
const TOKEN_FIELDS: [&str; 2] = ["accessToken", "refreshToken"];

struct Schema {
    mutations: Vec<Value>,
    types: BTreeMap<String, Value>,
}

impl Schema {
    async fn read(app: &TestApp) -> Schema {
        let data = app.ok(None, SCHEMA, json!({})).await;
        let schema = &data["__schema"];
        let types = schema["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
            .collect();
        Schema {
            mutations: schema["mutationType"]["fields"].as_array().unwrap().clone(),
            types,
        }
    }

    /// Whether the output type `name`, or any object reachable from its
    /// fields, has a token field.
    fn carries_tokens(&self, name: &str, seen: &mut BTreeSet<String>) -> bool {
        if !seen.insert(name.to_owned()) {
            return false;
        }
        let Some(fields) = self.types[name]["fields"].as_array() else {
            return false;
        };
        fields.iter().any(|field| {
            TOKEN_FIELDS.contains(&field["name"].as_str().unwrap())
                || self.carries_tokens(named(&field["type"]), seen)
        })
    }

    /// The mutations whose answer carries tokens.
    fn token_mutations(&self) -> Vec<&Value> {
        self.mutations
            .iter()
            .filter(|m| self.carries_tokens(named(&m["type"]), &mut BTreeSet::new()))
            .collect()
    }

    /// A value of the input type `ty` that parses (its content need not make sense).
    fn sample(&self, ty: &Value) -> Value {
        match ty["kind"].as_str().unwrap() {
            "NON_NULL" => self.sample(&ty["ofType"]),
            "LIST" => json!([self.sample(&ty["ofType"])]),
            "ENUM" => self.types[named(ty)]["enumValues"][0]["name"].clone(),
            "INPUT_OBJECT" => {
                let mut object = Map::new();
                for field in self.types[named(ty)]["inputFields"].as_array().unwrap() {
                    if field["type"]["kind"] == "NON_NULL" {
                        object.insert(
                            field["name"].as_str().unwrap().to_owned(),
                            self.sample(&field["type"]),
                        );
                    }
                }
                Value::Object(object)
            }
            _ => match named(ty) {
                "Int" => json!(1),
                "Float" => json!(1.5),
                "Boolean" => json!(true),
                "DateTime" => json!("2030-01-01T00:00:00Z"),
                _ => json!("probe"),
            },
        }
    }

    /// `mutation($a: T!, …) { field(a: $a, …) { __typename } }` with every
    /// required argument, and variables for them.
    fn call(&self, mutation: &Value) -> (String, Value) {
        let mut declared = Vec::new();
        let mut passed = Vec::new();
        let mut variables = Map::new();
        for arg in mutation["args"].as_array().unwrap() {
            if arg["type"]["kind"] != "NON_NULL" {
                continue;
            }
            let name = arg["name"].as_str().unwrap();
            declared.push(format!("${name}: {}", type_ref(&arg["type"])));
            passed.push(format!("{name}: ${name}"));
            variables.insert(name.to_owned(), self.sample(&arg["type"]));
        }
        let field = mutation["name"].as_str().unwrap();
        let document = match declared.is_empty() {
            true => format!("mutation {{ {field} {{ __typename }} }}"),
            false => format!(
                "mutation({}) {{ {field}({}) {{ __typename }} }}",
                declared.join(", "),
                passed.join(", ")
            ),
        };
        (document, Value::Object(variables))
    }
}

/// The named type under any list and non-null wrappers.
fn named(ty: &Value) -> &str {
    match ty["name"].as_str() {
        Some(name) => name,
        None => named(&ty["ofType"]),
    }
}

/// A type reference as GraphQL writes it (`[String!]!`).
fn type_ref(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_ref(&ty["ofType"])),
        "LIST" => format!("[{}]", type_ref(&ty["ofType"])),
        _ => named(ty).to_owned(),
    }
}

/// Rows whose number a minted sign-in or workspace would change.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let db = app.state.db.conn();
    (
        entity::refresh_token::Entity::find()
            .count(db)
            .await
            .unwrap(),
        entity::workspace::Entity::find().count(db).await.unwrap(),
        entity::member::Entity::find().count(db).await.unwrap(),
    )
}

db_test! {
    async fn no_mutation_that_returns_tokens_answers_a_key_of_any_role(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let schema = Schema::read(&app).await;
        let mutations = schema.token_mutations();
        let names: BTreeSet<&str> = mutations.iter().map(|m| m["name"].as_str().unwrap()).collect();
        for known in ["signup", "login", "refreshToken", "createWorkspace", "switchWorkspace", "acceptInvitation"] {
            assert!(names.contains(known), "{known} returns tokens: {names:?}");
        }
        for role in ["ADMIN", "MEMBER", "VIEWER"] {
            let (secret, _) = app.create_key(&owner.token, json!({ "name": role, "role": role })).await;
            let before = counts(&app).await;
            for mutation in &mutations {
                let (document, variables) = schema.call(mutation);
                let body = app.gql(Some(&secret), &document, variables).await;
                assert_eq!(code(&body), "FORBIDDEN", "{role} key, {document}: {body}");
                assert_eq!(body["data"], Value::Null, "{role} key, {document}: {body}");
            }
            assert_eq!(counts(&app).await, before, "{role} key: no sign-in, workspace or member was made");
        }
    }
}

db_test! {
    async fn a_key_cannot_switch_workspace_create_one_or_refresh_and_its_creator_signs_in_as_before(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let other = app
            .ok(Some(&owner.token), "mutation { createWorkspace(name: \"Side\") { workspaceId } }", json!({}))
            .await["createWorkspace"]["workspaceId"].clone();
        let (secret, _) = app.create_key(&owner.token, json!({ "name": "viewer", "role": "VIEWER" })).await;

        let switch = "mutation($id: ID!) { switchWorkspace(workspaceId: $id) { accessToken refreshToken role } }";
        for id in [&other, &json!(owner.workspace_id)] {
            let body = app.gql(Some(&secret), switch, json!({ "id": id })).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
            assert!(!body.to_string().contains("refreshToken\":\""), "{body}");
        }
        let body = app.gql(Some(&secret), "mutation { createWorkspace(name: \"Mine\") { accessToken } }", json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let refresh = "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }";
        let body = app.gql(Some(&secret), refresh, json!({ "r": owner.refresh })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let body = app.gql(Some(&secret), "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": owner.refresh })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let body = app.gql(Some(&secret), "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", json!({ "e": owner.email, "p": PASSWORD })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");

        // The refresh token was neither rotated nor ended: its owner goes on with it.
        let renewed = app.ok(None, refresh, json!({ "r": owner.refresh })).await;
        assert!(renewed["refreshToken"]["accessToken"].is_string());
        // A person sending a stale or revoked bearer still signs in.
        let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
        let body = app.gql(Some("atk_revoked-or-made-up"), login, json!({ "e": owner.email, "p": PASSWORD })).await;
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }
}

db_test! {
    async fn a_key_never_accepts_an_invitation_for_its_creator(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        app.change_plan(&bob.token, "AGENCY").await;
        let accept = app.invite(&bob.token, &ann.email, "ADMIN").await;
        let (secret, _) = app.create_key(&ann.token, json!({ "name": "admin", "role": "ADMIN" })).await;

        let document = "mutation($t: String!) { acceptInvitation(token: $t) { accessToken workspaceId } }";
        let body = app.gql(Some(&secret), document, json!({ "t": accept })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        let pending = app.ok(Some(&bob.token), "{ workspace { invitations(state: PENDING) { nodes { email } } } }", json!({})).await;
        assert_eq!(pending["workspace"]["invitations"]["nodes"], json!([{ "email": ann.email }]));

        // Ann herself still accepts it with her own sign-in.
        let joined = app.ok(Some(&ann.token), document, json!({ "t": accept })).await;
        assert_eq!(joined["acceptInvitation"]["workspaceId"], bob.workspace_id.as_str());
    }
}

db_test! {
    async fn a_keys_viewer_lists_only_its_own_workspace(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.ok(Some(&ann.token), "mutation { createWorkspace(name: \"Side\") { workspaceId } }", json!({})).await;
        let (secret, _) = app.create_key(&ann.token, json!({ "name": "admin", "role": "ADMIN" })).await;
        let memberships = "{ viewer { memberships { workspaceId workspaceName role current } } }";

        let hers = app.ok(Some(&ann.token), memberships, json!({})).await;
        assert_eq!(hers["viewer"]["memberships"].as_array().unwrap().len(), 2, "{hers}");
        let keys = app.ok(Some(&secret), memberships, json!({})).await;
        assert_eq!(
            keys["viewer"]["memberships"],
            json!([{ "workspaceId": ann.workspace_id, "workspaceName": "Acme", "role": "OWNER", "current": true }])
        );
    }
}
