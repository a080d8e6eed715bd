//! Keys made before they were bound to a membership are bound, when the
//! database is migrated, to the membership their creator had when making
//! them: a creator who left, or left and joined again since, leaves the key
//! unbound, so it stays dead.

use atelya::{db::Db, input::Email};
use chrono::{TimeDelta, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    sea_query::{Alias, Query},
    ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
};
use uuid::Uuid;

use crate::helpers::{Backend, TestDatabase};

/// How many migrations come before keys were bound to memberships.
fn before_binding() -> u32 {
    Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261201_000013_api_key_member")
        .expect("the migration exists") as u32
}

/// Inserts an API key row as the schema before the binding had it.
async fn old_key(db: &Db, workspace: Uuid, creator: Uuid, made: chrono::DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    let columns = [
        "id",
        "workspace_id",
        "name",
        "prefix",
        "secret_hash",
        "role",
        "created_by",
        "created_at",
    ];
    let insert = Query::insert()
        .into_table(Alias::new("api_keys"))
        .columns(columns.map(Alias::new))
        .values_panic([
            id.into(),
            workspace.into(),
            "old".into(),
            "atk_old".into(),
            id.simple().to_string().into(),
            "VIEWER".into(),
            creator.into(),
            made.into(),
        ])
        .to_owned();
    let conn = db.conn();
    conn.execute(&insert).await.unwrap();
    id
}

/// The membership a key is bound to.
async fn bound(db: &Db, key: Uuid) -> Option<Uuid> {
    let row = entity::api_key::Entity::find_by_id(key)
        .one(db.conn())
        .await
        .unwrap();
    row.expect("the key").member_id
}

async fn binds_old_keys(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let db = Db::connect(&database.url).await.unwrap();
    Migrator::up(db.conn(), Some(before_binding()))
        .await
        .unwrap();
    let t0 = Utc::now() - TimeDelta::hours(2);
    let txn = db.begin().await.unwrap();
    let owner = atelya::identity::service::create_user(
        &txn,
        Email::parse("ann@example.com").unwrap(),
        "Ann".into(),
        "x".into(),
        t0,
    )
    .await
    .unwrap();
    let rejoined = atelya::identity::service::create_user(
        &txn,
        Email::parse("bob@example.com").unwrap(),
        "Bob".into(),
        "x".into(),
        t0,
    )
    .await
    .unwrap();
    let (workspace, member) = atelya::workspace::service::create(&txn, &owner, "Acme", t0)
        .await
        .unwrap();
    // Bob joined an hour after making his key: he left and came back since.
    let later = entity::member::Model {
        id: Uuid::now_v7(),
        workspace_id: workspace.id,
        user_id: rejoined.id,
        role: atelya::member::Role::Admin,
        joined_at: t0 + TimeDelta::hours(1),
    };
    entity::member::Entity::insert(later.into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let kept = old_key(&db, workspace.id, owner.id, t0 + TimeDelta::minutes(5)).await;
    let orphaned = old_key(&db, workspace.id, rejoined.id, t0 + TimeDelta::minutes(5)).await;

    Migrator::up(db.conn(), None).await.unwrap();
    assert_eq!(bound(&db, kept).await, Some(member.id));
    assert_eq!(bound(&db, orphaned).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_before_the_binding_are_bound_to_the_membership_they_were_made_under_on_sqlite() {
    binds_old_keys(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn keys_made_before_the_binding_are_bound_to_the_membership_they_were_made_under_on_postgres()
{
    let Some(backend) = Backend::postgres() else {
        return;
    };
    binds_old_keys(backend).await;
}
