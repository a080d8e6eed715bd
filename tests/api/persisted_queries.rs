//! Persisted queries as Apollo's clients use them: an unknown hash is
//! PersistedQueryNotFound, the hash with its document registers it, then the
//! hash alone runs it over POST, GET and websockets, and on another instance
//! through Redis. In trusted-documents mode only the manifest's documents run.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{helpers::*, ws_client::*};

const ME: &str = "query PersistedMe { viewer { user { email } } }";

pub fn hash(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

fn persisted(document: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(document) } })
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = app.client.post(&app.url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(app: &TestApp, token: &str, params: &[(&str, String)]) -> (u16, Value) {
    let response = app
        .client
        .get(&app.url)
        .query(params)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

db_test! {
    async fn a_hash_runs_its_document_once_registered_over_post_get_and_websockets(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let by_hash = json!({ "extensions": persisted(ME) });

        let (status, unknown) = post(&app, Some(&ann.token), by_hash.clone()).await;
        assert_eq!(status, 200, "{unknown}");
        assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
        assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
        assert!(unknown.get("data").is_none());

        let (_, registered) = post(&app, Some(&ann.token), json!({ "query": ME, "extensions": persisted(ME) })).await;
        assert_eq!(registered["data"]["viewer"]["user"]["email"], "ann@example.com");

        let (status, hit) = post(&app, Some(&ann.token), by_hash).await;
        assert_eq!((status, &hit["data"]["viewer"]["user"]["email"]), (200, &json!("ann@example.com")), "{hit}");
        let extensions = persisted(ME).to_string();
        let (status, over_get) = get(&app, &ann.token, &[("extensions", extensions.clone())]).await;
        assert_eq!((status, &over_get["data"]["viewer"]["user"]["email"]), (200, &json!("ann@example.com")), "{over_get}");

        let mut socket = initialised(&app, &ann.token).await;
        send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "extensions": persisted(ME) } })).await;
        let frame = recv(&mut socket).await;
        assert_eq!(frame["payload"]["data"]["viewer"]["user"]["email"], "ann@example.com", "{frame}");
        let unknown_doc = "query NeverSent { viewer { user { id } } }";
        send(&mut socket, json!({ "id": "2", "type": "subscribe", "payload": { "extensions": persisted(unknown_doc) } })).await;
        let mut refused = recv(&mut socket).await;
        while refused["id"] != "2" {
            refused = recv(&mut socket).await;
        }
        assert_eq!((&refused["type"], &refused["payload"][0]["extensions"]["code"]), (&json!("error"), &json!("PERSISTED_QUERY_NOT_FOUND")), "{refused}");

        // A hash that is not the document's, a bad version, and a mutation over GET.
        let (status, mismatch) = post(&app, Some(&ann.token), json!({ "query": "{ viewer { user { id } } }", "extensions": persisted(ME) })).await;
        assert_eq!((status, code(&mismatch)), (400, "BAD_USER_INPUT"), "{mismatch}");
        let (status, version) = post(&app, Some(&ann.token), json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash(ME) } } })).await;
        assert_eq!((status, code(&version)), (400, "BAD_USER_INPUT"), "{version}");
        let logout = "mutation PersistedLogout { logout(refreshToken: \"x\") }";
        post(&app, Some(&ann.token), json!({ "query": logout, "extensions": persisted(logout) })).await;
        let (status, _) = get(&app, &ann.token, &[("extensions", persisted(logout).to_string())]).await;
        assert_eq!(status, 405, "a persisted mutation still needs POST");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn a_document_registered_on_one_instance_runs_by_hash_on_another() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, |_| {}).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let ann = a.signup("ann@example.com", "Acme").await;
    let document = format!(
        "query Across{} {{ viewer {{ user {{ email }} }} }}",
        uuid::Uuid::now_v7().simple()
    );

    let (_, unknown) = post(
        b,
        Some(&ann.token),
        json!({ "extensions": persisted(&document) }),
    )
    .await;
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
    post(
        a,
        Some(&ann.token),
        json!({ "query": document, "extensions": persisted(&document) }),
    )
    .await;
    let (_, hit) = post(
        b,
        Some(&ann.token),
        json!({ "extensions": persisted(&document) }),
    )
    .await;
    assert_eq!(
        hit["data"]["viewer"]["user"]["email"], "ann@example.com",
        "{hit}"
    );
}

/// A manifest of one trusted document, written where the server reads it.
fn trusted_manifest(document: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "atelya-manifest-{}.json",
        uuid::Uuid::now_v7().simple()
    ));
    let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{ "id": hash(document), "name": "Ping", "type": "query", "body": document }] });
    std::fs::write(&path, manifest.to_string()).unwrap();
    path
}

const PING: &str = "query Ping { __typename }";

db_test! {
    async fn trusted_documents_mode_runs_only_the_manifests_documents(app)
        with |config| {
            config.persisted_only = true;
            config.persisted_documents = Some(trusted_manifest(PING));
        };
    {
        let (_, in_full) = post(&app, None, json!({ "query": PING })).await;
        assert_eq!(in_full["data"]["__typename"], "Query", "{in_full}");
        let (_, by_hash) = post(&app, None, json!({ "extensions": persisted(PING) })).await;
        assert_eq!(by_hash["data"]["__typename"], "Query", "{by_hash}");

        let other = "{ __typename }";
        let (status, refused) = post(&app, None, json!({ "query": other })).await;
        assert_eq!((status, code(&refused)), (400, "QUERY_NOT_IN_SAFELIST"), "{refused}");
        let (status, not_registered) = post(&app, None, json!({ "query": other, "extensions": persisted(other) })).await;
        assert_eq!((status, code(&not_registered)), (400, "QUERY_NOT_IN_SAFELIST"));
        let (_, still_unknown) = post(&app, None, json!({ "extensions": persisted(other) })).await;
        assert_eq!(code(&still_unknown), "PERSISTED_QUERY_NOT_FOUND", "sending it did not register it");
    }
}

db_test! {
    async fn only_a_document_that_may_run_is_registered(app) with |c| { c.limits.max_batch = 0; c.persisted_max_bytes = 2048; };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let known = |document: &str| json!({ "extensions": persisted(document) });
        let not_found = |body: &Value| code(body) == "PERSISTED_QUERY_NOT_FOUND";

        // Invalid, over a limit, or a syntax error: refused, and the hash stays unknown.
        for document in [
            "{ viewer { nosuchfield } }",
            "{ __typename @a @b @c @d @e @f }",
            "{ viewer ",
            "query { ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { __typename }  fragment F2 on Query { plans { plan } }",
        ] {
            let (_, refused) = post(&app, None, json!({ "query": document, "extensions": persisted(document) })).await;
            assert!(refused.get("data").is_none(), "{refused}");
            let (_, by_hash) = post(&app, None, known(document)).await;
            assert!(not_found(&by_hash), "{document} was registered: {by_hash}");
        }

        // A refused batch registers none of its items.
        let plans = "{ plans { plan } }";
        let batch = json!([{ "query": plans, "extensions": persisted(plans) }]);
        let (status, _) = post(&app, None, batch).await;
        assert_eq!(status, 400);
        assert!(not_found(&post(&app, None, known(plans)).await.1));

        // A valid document longer than the bound runs but is not kept.
        let long = format!("{{ plans {{ plan }}{} }}", " ".repeat(4096));
        let (_, ran) = post(&app, None, json!({ "query": long, "extensions": persisted(&long) })).await;
        assert!(ran["data"]["plans"].is_array(), "{ran}");
        assert!(not_found(&post(&app, None, known(&long)).await.1));

        // A valid one within the bound is.
        let (_, ran) = post(&app, Some(&ann.token), json!({ "query": plans, "extensions": persisted(plans) })).await;
        assert!(ran["data"]["plans"].is_array(), "{ran}");
        let (_, hit) = post(&app, None, known(plans)).await;
        assert!(hit["data"]["plans"].is_array(), "{hit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_tests), ignore = "TEST_REDIS_URL is not set")]
async fn the_documents_kept_in_redis_stay_within_their_bytes() {
    let Some(redis_url) = test_redis() else {
        return;
    };
    let database = TestDatabase::create(Backend::Sqlite).await;
    let mut config = test_config(&database.url);
    use_test_redis(&mut config);
    config.persisted_redis_bytes = 4096;
    let prefix = config.redis_prefix.clone();
    let app = serve(config, None).await;
    // Forty documents of about 300 bytes each: far more than 4 KiB.
    for i in 0..40 {
        let document = format!("query Doc{i} {{ plans {{ plan }} }} {}", "#".repeat(260));
        let (_, ran) = post(
            &app,
            None,
            json!({ "query": document, "extensions": persisted(&document) }),
        )
        .await;
        assert!(ran["data"]["plans"].is_array(), "{ran}");
    }
    let client = redis::Client::open(redis_url).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:apq:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let mut bytes = 0;
    for key in keys
        .iter()
        .filter(|k| !k.ends_with(":index") && !k.ends_with(":bytes"))
    {
        let len: usize = redis::cmd("STRLEN")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
        bytes += len;
    }
    assert!(bytes <= 4096, "{bytes} bytes kept in Redis");
    assert!(bytes >= 3000, "the newest are kept: {bytes} bytes");
    let newest = format!("query Doc39 {{ plans {{ plan }} }} {}", "#".repeat(260));
    let (_, hit) = post(&app, None, json!({ "extensions": persisted(&newest) })).await;
    assert!(hit["data"]["plans"].is_array(), "{hit}");
}
