//! Relay connections: `first` (default 20, 0 to 100), opaque `after` cursors,
//! and a constant number of SQL statements per page.

use std::collections::HashSet;

use base64::Engine;
use chrono::Utc;
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

const PAGE: &str = "query($first: Int, $after: String) { workspace { members(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }";

/// Adds `count` members (role MEMBER) to `account`'s workspace, writing the
/// rows directly: far faster than inviting and accepting each one.
async fn add_members(app: &TestApp, account: &Account, count: usize) {
    let workspace_id = atelya::ids::decode(
        atelya::ids::Kind::Workspace,
        &account.workspace_id,
        "workspace",
    )
    .unwrap();
    let now = Utc::now();
    let users: Vec<entity::user::Model> = (0..count)
        .map(|i| entity::user::Model {
            id: Uuid::now_v7(),
            email: format!("member{i}@example.com"),
            name: format!("Member {i}"),
            password_hash: "not a usable hash".into(),
            created_at: now,
        })
        .collect();
    let members: Vec<entity::member::Model> = users
        .iter()
        .map(|user| entity::member::Model {
            id: Uuid::now_v7(),
            workspace_id,
            user_id: user.id,
            role: atelya::member::Role::Member,
            joined_at: now,
        })
        .collect();
    let db = app.state.db.conn();
    entity::user::Entity::insert_many(users.into_iter().map(active))
        .exec_without_returning(db)
        .await
        .expect("users inserted");
    entity::member::Entity::insert_many(members.into_iter().map(active))
        .exec_without_returning(db)
        .await
        .expect("members inserted");
}

fn active<M: sea_orm::IntoActiveModel<A>, A: sea_orm::ActiveModelTrait>(model: M) -> A {
    model.into_active_model().reset_all()
}

/// One page of members: their ids, whether another page follows, and the end cursor.
async fn page(
    app: &TestApp,
    account: &Account,
    first: Option<i64>,
    after: Option<&str>,
) -> (Vec<String>, bool, Option<String>) {
    let data = app
        .ok(
            Some(&account.token),
            PAGE,
            json!({ "first": first, "after": after }),
        )
        .await;
    let members = &data["workspace"]["members"];
    let ids = members["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let info = &members["pageInfo"];
    (
        ids,
        info["hasNextPage"].as_bool().unwrap(),
        info["endCursor"].as_str().map(str::to_owned),
    )
}

async fn page_error(
    app: &TestApp,
    account: &Account,
    first: Option<i64>,
    after: Option<&str>,
) -> Value {
    app.gql(
        Some(&account.token),
        PAGE,
        json!({ "first": first, "after": after }),
    )
    .await
}

db_test! {
    async fn members_come_20_to_a_page_by_default(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 25).await;

        let (ids, has_next, _) = page(&app, &ann, None, None).await;

        assert_eq!(ids.len(), 20);
        assert!(has_next);
    }
}

db_test! {
    async fn first_100_returns_up_to_100_members(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 25).await;

        let (ids, has_next, _) = page(&app, &ann, Some(100), None).await;

        assert_eq!(ids.len(), 26);
        assert!(!has_next);
    }
}

db_test! {
    async fn first_0_returns_no_members(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let (ids, _, _) = page(&app, &ann, Some(0), None).await;

        assert!(ids.is_empty(), "{ids:?}");
    }
}

db_test! {
    async fn first_101_is_bad_user_input(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = page_error(&app, &ann, Some(101), None).await;

        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
}

db_test! {
    async fn first_minus_one_is_bad_user_input(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = page_error(&app, &ann, Some(-1), None).await;

        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

db_test! {
    async fn forged_cursors_are_bad_user_input(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let forged = [
            "garbage".to_owned(),
            base64("something else"),
            base64("v1:not-a-uuid"),
            base64(&format!("v2:{}", Uuid::now_v7())),
            String::new(),
        ];

        for cursor in forged {
            let body = page_error(&app, &ann, None, Some(&cursor)).await;

            assert_eq!(code(&body), "BAD_USER_INPUT", "cursor {cursor:?}: {body}");
        }
    }
}

db_test! {
    async fn a_cursor_of_another_list_is_bad_user_input(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let data = app
            .ok(Some(&ann.token), "{ workspace { creditLedger(first: 1) { pageInfo { endCursor } } } }", json!({}))
            .await;
        let ledger_cursor = data["workspace"]["creditLedger"]["pageInfo"]["endCursor"].as_str().expect("a ledger cursor").to_owned();

        let body = page_error(&app, &ann, None, Some(&ledger_cursor)).await;

        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
}

/// Pages through all members `first` at a time; returns every id seen and the
/// `hasNextPage` of each page.
async fn walk(app: &TestApp, account: &Account, first: i64) -> (Vec<String>, Vec<bool>) {
    let (mut seen, mut has_next_pages, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let (ids, has_next, end) = page(app, account, Some(first), after.as_deref()).await;
        seen.extend(ids);
        has_next_pages.push(has_next);
        if !has_next || has_next_pages.len() > 50 {
            return (seen, has_next_pages);
        }
        after = Some(end.expect("a page that has a next one has an end cursor"));
    }
}

db_test! {
    async fn paging_with_after_visits_each_member_exactly_once(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 25).await;
        let (all, _, _) = page(&app, &ann, Some(100), None).await;

        let (seen, has_next_pages) = walk(&app, &ann, 7).await;

        assert_eq!(has_next_pages, [true, true, true, false]);
        assert_eq!(seen.len(), 26, "{seen:?}");
        let distinct: HashSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), 26, "a member was visited twice: {seen:?}");
        assert_eq!(distinct, all.iter().collect::<HashSet<_>>());
    }
}

db_test! {
    async fn a_last_page_that_is_exactly_full_has_no_next_page(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 25).await;

        let (seen, has_next_pages) = walk(&app, &ann, 13).await;

        assert_eq!(has_next_pages, [true, false]);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 26);
    }
}

db_test! {
    async fn after_the_last_cursor_comes_an_empty_page(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 4).await;
        let (_, _, end) = page(&app, &ann, Some(5), None).await;

        let (ids, has_next, _) = page(&app, &ann, Some(5), end.as_deref()).await;

        assert!(ids.is_empty(), "{ids:?}");
        assert!(!has_next);
    }
}

// ------------------------------------------------------------ no N+1

/// The fewest SQL statements, over several tries, that a page of `first`
/// members with their users costs. (The dispatchers in the background add
/// a statement now and then, more often on a busy machine where a page
/// takes longer; the minimum leaves them out.)
async fn statements_for_a_page(app: &TestApp, account: &Account, first: usize) -> u64 {
    let query = "query($first: Int) { workspace { members(first: $first) { nodes { id role user { id name email } } } } }";
    let mut fewest = u64::MAX;
    for _ in 0..12 {
        let before = app.state.db.statement_count();
        let data = app
            .ok(Some(&account.token), query, json!({ "first": first }))
            .await;
        let after = app.state.db.statement_count();
        let nodes = data["workspace"]["members"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), first);
        assert!(
            nodes.iter().all(|n| n["user"]["email"].is_string()),
            "{data}"
        );
        fewest = fewest.min(after - before);
    }
    fewest
}

db_test! {
    async fn a_page_of_50_members_with_their_users_costs_as_many_statements_as_a_page_of_5(app)
        with |c: &mut atelya::config::Config| c.engine.poll_ms = 60_000;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        add_members(&app, &ann, 55).await;

        let small = statements_for_a_page(&app, &ann, 5).await;
        let large = statements_for_a_page(&app, &ann, 50).await;

        assert_eq!(small, large, "statements for 5 members: {small}, for 50: {large}");
    }
}
