//! The one list of sealed columns (`reseal::SEALED_COLUMNS`) checked against
//! the database itself: a fixture stores one value of every sealed kind
//! under the old key, a scan of every column of every table finds each
//! value that opens with that key, the columns found are exactly the list,
//! every binary column is among them (but those known to hold other bytes),
//! and after the rotation every one of them opens with the new key alone.

use std::collections::{BTreeMap, BTreeSet};

use atelya::{
    auth::{reseal, sealed::Sealer},
    config::Secret,
};
use base64::Engine;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{helpers::*, webhooks::Receiver};

const OLD_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NEW_KEY: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

/// Binary columns that hold something other than sealed values.
const NOT_SEALED: &[(&str, &str)] = &[("export_files", "content")];

/// Each column's sealed values, opened: (table, column) to their texts.
type Found = BTreeMap<(String, String), Vec<Vec<u8>>>;

/// Every (table, column, declared type) of the database.
async fn columns(db: &DatabaseConnection) -> Vec<(String, String, String)> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty \
             FROM information_schema.columns WHERE table_schema = current_schema()",
        _ => "SELECT m.name AS t, p.name AS c, p.type AS ty FROM sqlite_master m \
              JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let get = |c: &str| r.try_get::<String>("", c).unwrap();
            (get("t"), get("c"), get("ty").to_ascii_lowercase())
        })
        .collect()
}

/// The ways a stored value may hold sealed bytes: as they are, or written as base64 or hex text.
fn candidates(row: &sea_orm::QueryResult, column: &str) -> Vec<Vec<u8>> {
    if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>>("", column) {
        return vec![bytes];
    }
    let Ok(Some(text)) = row.try_get::<Option<String>>("", column) else {
        return vec![];
    };
    let mut found = vec![text.as_bytes().to_vec()];
    found.extend(base64::engine::general_purpose::STANDARD.decode(&text).ok());
    found.extend(hex::decode(&text).ok());
    found
}

/// Every value anywhere that opens with `sealer`, under any id of its row.
async fn sealed_values(db: &DatabaseConnection, sealer: &Sealer) -> Found {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column, _) in columns(db).await {
        tables.entry(table).or_default().push(column);
    }
    let mut found = Found::new();
    for (table, names) in tables {
        let sql = format!("SELECT * FROM \"{table}\"");
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        for row in rows {
            let ids: Vec<Uuid> = names
                .iter()
                .filter_map(|c| row.try_get::<Option<Uuid>>("", c).ok().flatten())
                .collect();
            for column in &names {
                let opened = candidates(&row, column).into_iter().find_map(|bytes| {
                    ids.iter()
                        .find_map(|id| sealer.open(id.as_bytes(), &bytes).ok())
                });
                if let Some(text) = opened {
                    found
                        .entry((table.clone(), column.clone()))
                        .or_default()
                        .push(text);
                }
            }
        }
    }
    found
}

/// One value of every sealed kind, under the old key: an integration's two
/// tokens, an invitation's token waiting in the mail outbox (the SMTP
/// server does not answer), a webhook endpoint's secret and a replaced one.
async fn fixture(database_url: &str) {
    let mut before = test_config(database_url);
    before.secret_key = Some(Secret(OLD_KEY.into()));
    before.webhook_allow_private = true;
    before.smtp_url = Some(Secret("smtp://127.0.0.1:9".into()));
    let mut first = serve(before, None).await;
    let ann = first.signup("ann@example.com", "Acme").await;
    let connect =
        "mutation($input: IntegrationInput!) { connectIntegration(input: $input) { id } }";
    let slack = json!({ "input": { "provider": "slack", "accessToken": "xoxb-access", "refreshToken": "xoxe-refresh", "scopes": ["chat:write"] } });
    first.ok(Some(&ann.token), connect, slack).await;
    first.change_plan(&ann.token, "STARTER").await;
    first.invite(&ann.token, "bob@example.com", "MEMBER").await;
    let receiver = Receiver::start().await;
    let (_, endpoint) = first
        .endpoint(&ann.token, &receiver.url, &["credits.low"])
        .await;
    let rotate = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }";
    first
        .ok(Some(&ann.token), rotate, json!({ "id": endpoint }))
        .await;
    first.shut_down();
}

async fn every_sealed_column_is_sealed_again_after_a_key_rotation(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    fixture(&database.url).await;
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let old_key_alone = Sealer::versioned(Some(OLD_KEY), 1, None).unwrap();
    let before = sealed_values(&db, &old_key_alone).await;

    let listed: BTreeSet<(String, String)> = reseal::SEALED_COLUMNS
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    let sealed: BTreeSet<(String, String)> = before.keys().cloned().collect();
    assert_eq!(
        sealed, listed,
        "the columns holding sealed values are exactly the list"
    );
    for (table, column, declared) in columns(&db).await {
        let binary = declared == "blob" || declared == "bytea";
        let known = NOT_SEALED.contains(&(table.as_str(), column.as_str()));
        assert!(
            !binary || known || sealed.contains(&(table.clone(), column.clone())),
            "{table}.{column} holds bytes but the fixture sealed nothing in it: seal a value there too, or list it as not sealed"
        );
    }

    let mut after = test_config(&database.url);
    after.secret_key = Some(Secret(NEW_KEY.into()));
    after.secret_key_version = 2;
    after.secret_key_previous = Some(Secret(format!("1:{OLD_KEY}")));
    after.smtp_url = Some(Secret("smtp://127.0.0.1:9".into()));
    let second = serve(after, None).await;
    // Sealing again runs at start too; whatever is left is done here, and then nothing is.
    reseal::reseal_stale(&second.state).await.unwrap();
    assert_eq!(reseal::reseal_stale(&second.state).await.unwrap(), 0);

    assert!(
        sealed_values(&db, &old_key_alone).await.is_empty(),
        "nothing opens with the old key"
    );
    let new_key_alone = Sealer::versioned(Some(NEW_KEY), 2, None).unwrap();
    let mut resealed = sealed_values(&db, &new_key_alone).await;
    let mut before = before;
    for values in before.values_mut().chain(resealed.values_mut()) {
        values.sort();
    }
    assert_eq!(
        resealed, before,
        "every value opens with the new key alone, unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sealed_column_is_sealed_again_after_a_key_rotation_on_sqlite() {
    every_sealed_column_is_sealed_again_after_a_key_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sealed_column_is_sealed_again_after_a_key_rotation_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        every_sealed_column_is_sealed_again_after_a_key_rotation(backend).await;
    }
}
