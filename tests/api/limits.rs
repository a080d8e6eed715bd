//! The hostile-input limits of DESIGN.md, each at its limit and one past it.
//!
//! A document over a limit gets exactly one GRAPHQL_VALIDATION_FAILED error and
//! goes no further. Documents that need no data run on SQLite only; the ones
//! that read or write data run on both backends.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn sqlite_app() -> TestApp {
    spawn_app(Backend::Sqlite, Box::new(|_| {})).await
}

/// Asserts `body` holds exactly one error, a validation failure, and no data; returns its message.
fn the_one_validation_error(body: &Value) -> String {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"));
    assert_eq!(errors.len(), 1, "expected exactly one error: {body}");
    assert_eq!(code(body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["data"].is_null(), "an over-limit document ran: {body}");
    errors[0]["message"].as_str().unwrap().to_owned()
}

/// Asserts the request ran without errors.
fn assert_no_errors(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    assert!(body["data"].is_object(), "{body}");
}

/// `count` copies of `item`, separated by spaces.
fn repeat(item: &str, count: usize) -> String {
    vec![item; count].join(" ")
}

// ------------------------------------------------------------ body size

/// A JSON request body of exactly `len` bytes running `{ plans { plan } }`,
/// padded with whitespace inside the document.
fn body_of_len(len: usize) -> String {
    let bare = r#"{"query":"{ plans { plan } }"}"#;
    let padding = " ".repeat(len - bare.len());
    let body = format!(r#"{{"query":"{{ plans {{ plan }} }}{padding}"}}"#);
    assert_eq!(body.len(), len);
    body
}

async fn post_body(app: &TestApp, body: String) -> reqwest::Response {
    app.client
        .post(&app.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn a_body_of_exactly_the_size_limit_runs() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.max_body_bytes = 2048),
    )
    .await;

    let response = post_body(&app, body_of_len(2048)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_no_errors(&body);
}

#[tokio::test]
async fn a_body_one_byte_over_the_size_limit_is_refused_with_413_and_an_error_code() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.max_body_bytes = 2048),
    )
    .await;

    let response = post_body(&app, body_of_len(2049)).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.expect("a GraphQL error body");
    assert!(!code(&body).is_empty());
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2048")),
        "{body}"
    );
}

#[tokio::test]
async fn the_default_body_limit_is_one_mebibyte() {
    let app = sqlite_app().await;

    let at_limit = post_body(&app, body_of_len(1024 * 1024)).await;
    let over_limit = post_body(&app, body_of_len(1024 * 1024 + 1)).await;

    assert_eq!(at_limit.status(), StatusCode::OK);
    assert_eq!(over_limit.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Sends `body` in chunks without a Content-Length (as a streaming client
/// would) over a raw connection; returns the response's status line and body.
async fn post_chunked(app: &TestApp, body: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    let mut request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    for chunk in body.as_bytes().chunks(512) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    request.push_str("0\r\n\r\n");
    // The server may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status_line = response.lines().next().unwrap_or("").to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status_line, body)
}

#[tokio::test]
async fn a_chunked_body_without_length_is_held_to_the_size_limit_too() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.max_body_bytes = 2048),
    )
    .await;

    let (within, within_body) = post_chunked(&app, &body_of_len(2048)).await;
    let (over, _) = post_chunked(&app, &body_of_len(4096)).await;

    assert!(within.contains(" 200 "), "{within}: {within_body}");
    assert!(over.contains(" 413 "), "{over}");
}

// ------------------------------------------------------------ tokens

/// `{ plans { plan plan … } }` with exactly `tokens` lexical tokens.
fn document_of_tokens(tokens: usize) -> String {
    format!("{{ plans {{ {} }} }}", repeat("plan", tokens - 5))
}

/// The complexity limit lifted, so that only the token limit (at its default) applies.
fn only_the_token_limit(config: &mut atelya::config::Config) {
    config.limits.max_complexity = 1_000_000;
}

#[tokio::test]
async fn a_document_of_10_000_tokens_runs() {
    let app = spawn_app(Backend::Sqlite, Box::new(only_the_token_limit)).await;

    let body = app.gql(None, &document_of_tokens(10_000), json!({})).await;

    assert_no_errors(&body);
    assert_eq!(body["data"]["plans"].as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn a_document_of_10_001_tokens_gets_one_validation_error() {
    let app = spawn_app(Backend::Sqlite, Box::new(only_the_token_limit)).await;

    let body = app.gql(None, &document_of_tokens(10_001), json!({})).await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("tokens"), "{message}");
}

#[tokio::test]
async fn tokens_are_counted_before_the_document_is_parsed() {
    let app = sqlite_app().await;

    // Unbalanced braces: a parser would fail (or recurse deeply) on these.
    let body = app.gql(None, &"{".repeat(10_001), json!({})).await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("tokens"), "{message}");
}

#[tokio::test]
async fn a_lowered_token_limit_applies_at_its_value() {
    let app = spawn_app(Backend::Sqlite, Box::new(|c| c.limits.max_tokens = 50)).await;

    let at_limit = app.gql(None, &document_of_tokens(50), json!({})).await;
    let over_limit = app.gql(None, &document_of_tokens(51), json!({})).await;

    assert_no_errors(&at_limit);
    the_one_validation_error(&over_limit);
}

// ------------------------------------------------------------ depth

/// `__type(name: "Query") { fields { type { ofType { … { name } } } } }`,
/// nested exactly `depth` fields deep (introspection needs no sign-in).
fn nested_type_query(depth: usize) -> String {
    let of_types = depth - 4;
    format!(
        "{{ __type(name: \"Query\") {{ fields {{ type {{ {} name {} }} }} }} }}",
        "ofType {".repeat(of_types),
        "}".repeat(of_types)
    )
}

#[tokio::test]
async fn a_document_nested_12_fields_deep_runs() {
    let app = sqlite_app().await;

    let body = app.gql(None, &nested_type_query(12), json!({})).await;

    assert_no_errors(&body);
    assert!(body["data"]["__type"]["fields"].is_array(), "{body}");
}

#[tokio::test]
async fn a_document_nested_13_fields_deep_gets_one_validation_error() {
    let app = sqlite_app().await;

    let body = app.gql(None, &nested_type_query(13), json!({})).await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("13"), "{message}");
}

/// The same nesting, with everything below `__type` moved into a fragment.
fn nested_through_a_fragment(depth: usize) -> String {
    let of_types = depth - 4;
    format!(
        "{{ __type(name: \"Query\") {{ ...Deep }} }} fragment Deep on __Type {{ fields {{ type {{ {} name {} }} }} }}",
        "ofType {".repeat(of_types),
        "}".repeat(of_types)
    )
}

#[tokio::test]
async fn depth_is_counted_through_fragments() {
    let app = sqlite_app().await;

    let at_limit = app
        .gql(None, &nested_through_a_fragment(12), json!({}))
        .await;
    let over_limit = app
        .gql(None, &nested_through_a_fragment(13), json!({}))
        .await;

    assert_no_errors(&at_limit);
    the_one_validation_error(&over_limit);
}

// ------------------------------------------------------------ aliases

/// `count` aliased `plans` fields: `a1: plans { plan } a2: …`.
fn aliases(count: usize) -> String {
    (1..=count)
        .map(|i| format!("a{i}: plans {{ plan }}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn thirty_typenames_run() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ {} }}", repeat("__typename", 30)),
            json!({}),
        )
        .await;

    assert_no_errors(&body);
}

#[tokio::test]
async fn thirty_one_typenames_get_one_validation_error() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ {} }}", repeat("__typename", 31)),
            json!({}),
        )
        .await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("aliases"), "{message}");
}

#[tokio::test]
async fn twenty_nine_aliases_and_a_typename_run() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ {} __typename }}", aliases(29)),
            json!({}),
        )
        .await;

    assert_no_errors(&body);
    assert!(body["data"]["a29"].is_array(), "{body}");
}

#[tokio::test]
async fn thirty_aliases_and_a_typename_get_one_validation_error() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ {} __typename }}", aliases(30)),
            json!({}),
        )
        .await;

    the_one_validation_error(&body);
}

#[tokio::test]
async fn thirty_one_aliases_get_one_validation_error_and_nothing_else() {
    let app = sqlite_app().await;

    // The extra alias also names an unknown field: the limit stops the document
    // before validation would report it.
    let body = app
        .gql(
            None,
            &format!("{{ {} a31: nosuchfield }}", aliases(30)),
            json!({}),
        )
        .await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("aliases"), "{message}");
}

// ------------------------------------------------------------ directives

#[tokio::test]
async fn five_directives_run() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ plans {{ {} }} }}", repeat("plan @include(if: true)", 5)),
            json!({}),
        )
        .await;

    assert_no_errors(&body);
}

#[tokio::test]
async fn six_directives_get_one_validation_error() {
    let app = sqlite_app().await;

    let body = app
        .gql(
            None,
            &format!("{{ plans {{ {} }} }}", repeat("plan @include(if: true)", 6)),
            json!({}),
        )
        .await;

    let message = the_one_validation_error(&body);
    assert!(message.contains("directives"), "{message}");
}

#[tokio::test]
async fn directives_on_fragments_and_spreads_count_too() {
    let app = sqlite_app().await;
    let document = "{ plans { plan @skip(if: false) ...P @include(if: true) ... on PlanInfo @include(if: true) { name } } } \
                    fragment P on PlanInfo { maxUsers @include(if: true) monthlyCredits @include(if: true) name @skip(if: false) }";

    let body = app.gql(None, document, json!({})).await;

    the_one_validation_error(&body);
}

db_test! {
    async fn a_mutation_over_a_limit_does_not_run(app);
    {
        let fields = repeat("accessToken @include(if: true)", 6);
        let mutation = format!(
            "mutation {{ signup(input: {{ email: \"ann@example.com\", password: \"{PASSWORD}\", name: \"Ann\", workspaceName: \"Acme\" }}) {{ {fields} }} }}"
        );

        let body = app.gql(None, &mutation, json!({})).await;

        the_one_validation_error(&body);
        app.signup("ann@example.com", "Acme").await;
    }
}

// ------------------------------------------------------------ complexity

/// A page of members with their users, through `nodes` and `edges`: per
/// member 1 (the member) + 1 (the `nodes` list) + 1 (the `edges` list) = 3,
/// times the page size; scalars and single objects (a node, its user) are free.
const MEMBERS_WITH_USERS: &str =
    "nodes { id role user { id name email } } edges { cursor node { id user { id } } }";

/// Cost 2,000 exactly, plus `extra` lists of cost 1 on the workspace: six
/// pages of 100 × 3, one page of 99 × 2 (the member, `nodes`) and two lists.
fn complexity_2000_plus(extra: usize) -> String {
    let pages: Vec<String> = (0..6)
        .map(|i| format!("p{i}: members(first: 100) {{ {MEMBERS_WITH_USERS} }}"))
        .collect();
    let extras: Vec<String> = (0..extra)
        .map(|i| format!("e{i}: agents {{ id }}"))
        .collect();
    format!(
        "{{ workspace {{ name exportProfile {{ letterhead }} {} d: members(first: 99) {{ nodes {{ id }} }} \
         x1: agents {{ id }} x2: agents {{ name }} {} }} }}",
        pages.join(" "),
        extras.join(" ")
    )
}

db_test! {
    async fn a_query_of_complexity_2000_runs(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = app.gql(Some(&ann.token), &complexity_2000_plus(0), json!({})).await;

        assert_no_errors(&body);
        assert_eq!(body["data"]["workspace"]["p0"]["nodes"][0]["user"]["email"], "ann@example.com");
    }
}

db_test! {
    async fn a_query_of_complexity_2001_gets_one_validation_error(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = app.gql(Some(&ann.token), &complexity_2000_plus(1), json!({})).await;

        let message = the_one_validation_error(&body);
        assert!(message.contains("complex") && message.contains("2001"), "{message}");
    }
}

/// A server whose cost limit is `limit`.
async fn limited_to(limit: usize) -> TestApp {
    spawn_app(
        Backend::Sqlite,
        Box::new(move |c: &mut atelya::config::Config| c.limits.max_complexity = limit),
    )
    .await
}

/// `count` aliased pages of members (cost 2 each per member) of `first`.
fn member_pages(count: usize, first: &str) -> String {
    let pages: Vec<String> = (1..=count)
        .map(|i| format!("p{i}: members{first} {{ nodes {{ id }} }}"))
        .collect();
    pages.join(" ")
}

#[tokio::test]
async fn a_list_without_first_weighs_its_default_page_of_20() {
    let app = limited_to(200).await;

    // 5 × 20 × 2 = 200; 6 × 20 × 2 = 240.
    let under = app
        .gql(
            None,
            &format!("{{ workspace {{ {} }} }}", member_pages(5, "")),
            json!({}),
        )
        .await;
    let over = app
        .gql(
            None,
            &format!("{{ workspace {{ {} }} }}", member_pages(6, "")),
            json!({}),
        )
        .await;

    assert_eq!(code(&under), "UNAUTHENTICATED", "{under}");
    assert!(the_one_validation_error(&over).contains("240"), "{over}");
}

#[tokio::test]
async fn a_page_size_given_in_a_variable_is_weighed_too() {
    let app = limited_to(200).await;
    let query = format!(
        "query($n: Int = 50) {{ workspace {{ {} }} }}",
        member_pages(4, "(first: $n)")
    );

    // 4 × 100 × 2 = 800; 4 × 20 × 2 = 160; by default 4 × 50 × 2 = 400.
    let over = app.gql(None, &query, json!({ "n": 100 })).await;
    let under = app.gql(None, &query, json!({ "n": 20 })).await;
    let default = app.gql(None, &query, json!({})).await;

    assert!(the_one_validation_error(&over).contains("800"), "{over}");
    assert_eq!(code(&under), "UNAUTHENTICATED", "{under}");
    assert!(
        the_one_validation_error(&default).contains("400"),
        "{default}"
    );
}

/// The same selection written inline, in a named fragment, in nested
/// fragments and in an inline fragment, with a field repeated: execution
/// merges them all into one, and so does the cost.
fn written_four_ways(page: &str) -> [String; 4] {
    let fields = "id action targetType targetId summary metadata occurredAt hash actor { id name email createdAt }";
    [
        format!("{{ workspace {{ {page} {{ nodes {{ {fields} }} }} }} }}"),
        format!("{{ workspace {{ {page} {{ nodes {{ ...E }} }} }} }} fragment E on ActivityEvent {{ {fields} }}"),
        format!(
            "{{ workspace {{ ...W }} }} fragment W on Workspace {{ {page} {{ ...C }} }} \
             fragment C on ActivityEventConnection {{ nodes {{ ...E actor {{ id }} }} }} fragment E on ActivityEvent {{ {fields} }}"
        ),
        format!("{{ workspace {{ {page} {{ nodes {{ ... on ActivityEvent {{ {fields} }} id ... {{ actor {{ name }} }} }} }} }} }}"),
    ]
}

db_test! {
    async fn fragments_cost_what_the_same_fields_written_inline_cost(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        for query in written_four_ways("activity(first: 100)") {
            let body = app.gql(Some(&ann.token), &query, json!({})).await;
            assert_no_errors(&body);
            assert_eq!(body["data"]["workspace"]["activity"]["nodes"][0]["action"], "workspace.created", "{query}");
        }
    }
}

#[tokio::test]
async fn the_cost_does_not_depend_on_how_the_document_is_written() {
    // 100 × (the event 1 + the `nodes` list 1) = 200; the actor comes with its event.
    let exact = limited_to(200).await;
    let below = limited_to(199).await;
    for query in written_four_ways("activity(first: 100)") {
        let runs = exact.gql(None, &query, json!({})).await;
        let refused = below.gql(None, &query, json!({})).await;
        assert_eq!(code(&runs), "UNAUTHENTICATED", "costs at most 200: {runs}");
        assert!(
            the_one_validation_error(&refused).contains("200"),
            "{query}: {refused}"
        );
    }
}

const SCHEMA_TYPES: &str =
    "{ __schema { types { name kind fields { name args { name type { kind } } \
    type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

/// A field's named type and kind, through its non-null and list wrappers.
fn named_kind(ty: &Value) -> (&str, &str) {
    let mut ty = ty;
    while ty["name"].is_null() {
        ty = &ty["ofType"];
    }
    (ty["kind"].as_str().unwrap(), ty["name"].as_str().unwrap())
}

/// Fields that can be selected without arguments (optional ones allowed).
fn plain_fields(ty: &Value) -> impl Iterator<Item = &Value> {
    ty["fields"].as_array().into_iter().flatten().filter(|f| {
        f["args"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"]["kind"] != "NON_NULL")
    })
}

fn takes_first(field: &Value) -> bool {
    field["args"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "first")
}

/// Every scalar field of `type_name`, and every object field (no pages) with its scalars.
fn scalars_and_one_level(types: &[Value], type_name: &str) -> String {
    let find = |name: &str| types.iter().find(|t| t["name"] == name).unwrap();
    let scalars = |ty: &Value| -> Vec<String> {
        plain_fields(ty)
            .filter(|f| matches!(named_kind(&f["type"]).0, "SCALAR" | "ENUM"))
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let ty = find(type_name);
    let mut selection = scalars(ty);
    for field in plain_fields(ty).filter(|f| !takes_first(f)) {
        let (kind, name) = named_kind(&field["type"]);
        if kind == "OBJECT" {
            let inner = scalars(find(name));
            let inner = if inner.is_empty() {
                "__typename".to_owned()
            } else {
                inner.join(" ")
            };
            selection.push(format!("{} {{ {inner} }}", field["name"].as_str().unwrap()));
        }
    }
    selection.join(" ")
}

#[tokio::test]
async fn one_full_page_of_any_list_with_a_level_of_nested_objects_is_within_the_limit() {
    let app = sqlite_app().await;
    let data = app.ok(None, SCHEMA_TYPES, json!({})).await;
    let types = data["__schema"]["types"].as_array().unwrap().clone();
    let paged: Vec<(String, String)> = types
        .iter()
        .filter(|t| !t["name"].as_str().unwrap().starts_with("__"))
        .flat_map(|t| {
            plain_fields(t).filter(|f| takes_first(f)).map(move |f| {
                (
                    t["name"].as_str().unwrap().to_owned(),
                    f["name"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    // How each type with pages is reached.
    let roots = [
        ("Workspace", "workspace"),
        ("Workroom", "workroom(id: \"x\")"),
        (
            "WebhookEndpoint",
            "node(id: \"x\") { ... on WebhookEndpoint",
        ),
    ];
    assert!(paged.len() >= 7, "{paged:?}");

    for (parent, field) in &paged {
        let root = roots
            .iter()
            .find(|(t, _)| t == parent)
            .unwrap_or_else(|| panic!("no way to reach {parent}.{field} in this test"))
            .1;
        let meta = types.iter().find(|t| t["name"] == parent.as_str()).unwrap()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == field.as_str())
            .unwrap();
        let (_, list_type) = named_kind(&meta["type"]);
        let page = if list_type.ends_with("Connection") {
            let node = list_type.trim_end_matches("Connection");
            let nodes = scalars_and_one_level(&types, node);
            format!("{field}(first: 100) {{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor }} nodes {{ {nodes} }} }}")
        } else {
            format!(
                "{field}(first: 100) {{ {} }}",
                scalars_and_one_level(&types, list_type)
            )
        };
        // A root that opens a fragment closes it too.
        let closing = "}".repeat(root.matches('{').count());
        let query = format!("{{ {root} {{ {page} }} {closing} }}");

        let body = app.gql(None, &query, json!({})).await;

        assert_ne!(
            code(&body),
            "GRAPHQL_VALIDATION_FAILED",
            "{parent}.{field}: {query}\n{body}"
        );
        assert_eq!(code(&body), "UNAUTHENTICATED", "{parent}.{field}: {body}");
    }
}

#[tokio::test]
async fn pages_nested_in_pages_are_refused() {
    let app = sqlite_app().await;

    for query in [
        "{ workspace { workrooms(first: 100) { nodes { activity(first: 100) { nodes { id } } } } } }",
        "{ workspace { workrooms(first: 100) { nodes { events(first: 100) { seq } } } } }",
        "{ workspace { workrooms { nodes { ...R } } } } fragment R on Workroom { events { seq kind } }",
    ] {
        let body = app.gql(None, query, json!({})).await;
        assert!(the_one_validation_error(&body).contains("complex"), "{query}: {body}");
    }
}

// ------------------------------------------------------------ string lengths

const RENAME: &str = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";

db_test! {
    async fn a_workspace_name_of_200_characters_is_accepted(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let name = "n".repeat(200);

        let data = app.ok(Some(&ann.token), RENAME, json!({ "n": name })).await;

        assert_eq!(data["renameWorkspace"]["name"], name);
    }
}

db_test! {
    async fn a_name_of_200_multibyte_characters_is_accepted(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let name = "é".repeat(200);

        let data = app.ok(Some(&ann.token), RENAME, json!({ "n": name })).await;

        assert_eq!(data["renameWorkspace"]["name"], name);
    }
}

db_test! {
    async fn a_workspace_name_of_201_characters_is_bad_user_input_and_changes_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = app.gql(Some(&ann.token), RENAME, json!({ "n": "n".repeat(201) })).await;

        assert_eq!(code(&body), "BAD_USER_INPUT");
        let data = app.ok(Some(&ann.token), "{ workspace { name } }", json!({})).await;
        assert_eq!(data["workspace"]["name"], "Acme");
    }
}

const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }";

fn signup_input(name: &str, workspace_name: &str) -> Value {
    json!({ "input": { "email": "ann@example.com", "password": PASSWORD, "name": name, "workspaceName": workspace_name } })
}

db_test! {
    async fn a_signup_with_a_name_of_201_characters_is_refused(app);
    {
        let body = app.gql(None, SIGNUP, signup_input(&"n".repeat(201), "Acme")).await;

        assert_eq!(code(&body), "BAD_USER_INPUT");
        app.signup("ann@example.com", "Acme").await;
    }
}

db_test! {
    async fn a_signup_with_a_workspace_name_of_201_characters_is_refused(app);
    {
        let body = app.gql(None, SIGNUP, signup_input("Ann", &"w".repeat(201))).await;

        assert_eq!(code(&body), "BAD_USER_INPUT");
        app.signup("ann@example.com", "Acme").await;
    }
}

db_test! {
    async fn a_signup_with_names_of_200_characters_is_accepted(app);
    {
        let body = app.gql(None, SIGNUP, signup_input(&"n".repeat(200), &"w".repeat(200))).await;

        assert!(body["data"]["signup"]["accessToken"].is_string(), "{body}");
    }
}

db_test! {
    async fn an_int_argument_out_of_range_is_a_request_error_and_changes_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let balance = "{ workspace { credits { balance } } }";
        let before = app.ok(Some(&ann.token), balance, json!({})).await;
        let literal = app
            .gql(Some(&ann.token), r#"mutation { purchaseTopUp(credits: 99999999999, idempotencyKey: "k1") { id } }"#, json!({}))
            .await;
        let variable = app
            .gql(
                Some(&ann.token),
                "mutation($c: Int!) { purchaseTopUp(credits: $c, idempotencyKey: \"k2\") { id } }",
                json!({ "c": 99_999_999_999i64 }),
            )
            .await;
        // A literal out of range is invalid (5.6.1); a variable fails its coercion.
        for (body, expected) in [(literal, "GRAPHQL_VALIDATION_FAILED"), (variable, "BAD_USER_INPUT")] {
            let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{body}"));
            assert!(body.get("data").is_none(), "a request error: {body}");
            assert!(
                errors.iter().all(|e| e["extensions"]["code"] == expected),
                "{body}"
            );
        }
        assert_eq!(app.ok(Some(&ann.token), balance, json!({})).await, before);
    }
}

#[tokio::test]
async fn a_fragment_cycle_is_a_validation_error_that_names_the_fragment() {
    let app = sqlite_app().await;
    for query in [
        "{ ...A } fragment A on Query { ...A }",
        "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ viewer { ...V } } fragment V on Viewer { user { id } ...W } fragment W on Viewer { ...V }",
    ] {
        let body = app.gql(None, query, json!({})).await;
        let message = the_one_validation_error(&body);
        assert!(message.contains("within itself"), "{query}: {message}");
    }
}

/// The named type inside a type reference's list and non-null wrappers.
fn named(mut ty: &Value) -> &Value {
    while ty["ofType"].is_object() {
        ty = &ty["ofType"];
    }
    ty
}

/// Whether an input type is text, or an input object holding text.
fn takes_text(ty: &Value, inputs: &std::collections::HashMap<String, Vec<Value>>) -> bool {
    let ty = named(ty);
    let name = ty["name"].as_str().unwrap_or_default();
    match ty["kind"].as_str() {
        Some("SCALAR") => matches!(name, "String" | "ID"),
        Some("INPUT_OBJECT") => inputs[name]
            .iter()
            .any(|f| named(&f["type"])["name"] != name && takes_text(&f["type"], inputs)),
        _ => false,
    }
}

db_test! {
    async fn a_nul_character_in_any_mutations_text_is_bad_user_input_and_changes_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let list = "{ workspace { agents { id name instructions } } }";
        let agents_before = app.ok(Some(&ann.token), list, json!({})).await;
        let schema = app
            .ok(
                None,
                "{ __schema { mutationType { fields { name args { name type { ...T } } } }
                   types { name kind inputFields { name type { ...T } } } } }
                 fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }",
                json!({}),
            )
            .await;
        let inputs: std::collections::HashMap<String, Vec<Value>> = schema["__schema"]["types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == "INPUT_OBJECT")
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t["inputFields"].as_array().unwrap().clone()))
            .collect();
        let mut tried = 0;
        for field in schema["__schema"]["mutationType"]["fields"].as_array().unwrap() {
            for arg in field["args"].as_array().unwrap() {
                if !takes_text(&arg["type"], &inputs) {
                    continue;
                }
                let (name, arg) = (field["name"].as_str().unwrap(), arg["name"].as_str().unwrap());
                // As a literal: a string argument directly, or inside an object.
                let literal = format!(r#"mutation {{ {name}({arg}: "a\u0000b") {{ __typename }} }}"#);
                let body = app.gql(Some(&ann.token), &literal, json!({})).await;
                assert_eq!(code(&body), "BAD_USER_INPUT", "{name}({arg}) literal: {body}");
                // As a variable, nested in whatever shape.
                let variable = format!("mutation($v: String) {{ {name}({arg}: $v) {{ __typename }} }}");
                let body = app.gql(Some(&ann.token), &variable, json!({ "v": "a\u{0}b" })).await;
                assert_eq!(code(&body), "BAD_USER_INPUT", "{name}({arg}) variable: {body}");
                tried += 1;
            }
        }
        assert!(tried >= 15, "only {tried} text arguments found");

        // A well-formed request, on either database, with a NUL inside an input object.
        let create = "mutation($input: AgentInput!) { createAgent(input: $input) { id } }";
        let input = json!({ "name": "Copy", "instructions": "Write\u{0} well.", "clientName": "Northwind" });
        let body = app.gql(Some(&ann.token), create, json!({ "input": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let agents = app.ok(Some(&ann.token), list, json!({})).await;
        assert_eq!(agents, agents_before, "nothing was created");
    }
}
