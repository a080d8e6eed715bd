//! Variables coerced before anything runs, through the schema itself.

use async_graphql::{Request, Variables};
use serde_json::{json, Value};

async fn answer(query: &str, variables: Value) -> async_graphql::Response {
    let schema = crate::graphql::schema_builder(&crate::graphql::default_limits(), false).finish();
    schema
        .execute(
            Request::new(query)
                .variables(Variables::from_json(variables))
                .data(crate::auth::Authn::Anonymous),
        )
        .await
}

/// The request error the variables get, or `None` when they coerce.
async fn refusal(query: &str, variables: Value) -> Option<String> {
    let response = answer(query, variables).await;
    let coercion = response.errors.iter().find(|e| {
        crate::graphql::limits::code_of(e).as_deref() == Some("BAD_USER_INPUT") && e.path.is_empty()
    });
    coercion.map(|e| {
        assert_eq!(response.data, async_graphql::Value::Null, "nothing ran");
        e.message.clone()
    })
}

const WORKROOM: &str = "query($id: ID!) { workroom(id: $id) { id } }";
const USAGE: &str = "query($g: UsageGroupBy!) { workspace { creditUsage(groupBy: $g) { key } } }";

#[tokio::test]
async fn a_missing_required_variable_is_a_request_error() {
    let message = refusal(WORKROOM, json!({})).await.expect("refused");
    assert!(
        message.contains("\"$id\" of required type \"ID!\" was not provided"),
        "{message}"
    );
    assert!(refusal(WORKROOM, json!({ "id": null })).await.is_some());
}

#[tokio::test]
async fn values_of_the_wrong_type_are_request_errors() {
    assert!(refusal(WORKROOM, json!({ "id": true })).await.is_some());
    assert!(refusal(WORKROOM, json!({ "id": 1.5 })).await.is_some());
    assert!(refusal(USAGE, json!({ "g": "NOBODY" })).await.is_some());
    assert!(refusal(USAGE, json!({ "g": 1 })).await.is_some());
    let int = "query($n: Int) { workspace { workrooms(first: $n) { nodes { id } } } }";
    assert!(refusal(int, json!({ "n": 2_147_483_648_i64 }))
        .await
        .is_some());
    assert!(refusal(int, json!({ "n": "3" })).await.is_some());
}

#[tokio::test]
async fn values_that_coerce_are_let_through() {
    assert_eq!(refusal(WORKROOM, json!({ "id": "wrm_x" })).await, None);
    assert_eq!(
        refusal(WORKROOM, json!({ "id": 7 })).await,
        None,
        "an Int is an ID"
    );
    assert_eq!(refusal(USAGE, json!({ "g": "MEMBER" })).await, None);
    let int = "query($n: Int) { workspace { workrooms(first: $n) { nodes { id } } } }";
    assert_eq!(
        refusal(int, json!({ "n": 3.0 })).await,
        None,
        "JSON does not tell 3.0 from 3"
    );
    assert_eq!(
        refusal(int, json!({})).await,
        None,
        "a nullable variable may be left out"
    );
    assert_eq!(refusal(int, json!({ "unused": 1 })).await, None);
}

#[tokio::test]
async fn input_objects_are_coerced_field_by_field() {
    let profile = "mutation($p: ExportProfileInput!) { updateExportProfile(input: $p) { font } }";
    assert_eq!(
        refusal(profile, json!({ "p": { "font": "Inter" } })).await,
        None
    );
    let unknown = refusal(profile, json!({ "p": { "fnot": "Inter" } }))
        .await
        .expect("refused");
    assert!(unknown.contains("\"fnot\" is not defined"), "{unknown}");
    assert!(refusal(profile, json!({ "p": { "font": 3 } }))
        .await
        .is_some());
    assert!(refusal(profile, json!({ "p": "Inter" })).await.is_some());
}

#[tokio::test]
async fn a_single_value_coerces_to_a_list_of_one() {
    let create = "mutation($d: [String!]!) { createWorkroom(input: { title: \"t\", goal: \"g\", deliverables: $d }) { id } }";
    assert_eq!(refusal(create, json!({ "d": "Proposal" })).await, None);
    assert_eq!(
        refusal(create, json!({ "d": ["Proposal", "Deck"] })).await,
        None
    );
    assert!(refusal(create, json!({ "d": [null] })).await.is_some());
    assert!(refusal(create, json!({ "d": [1] })).await.is_some());
}
