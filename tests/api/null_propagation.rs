//! A field that fails is null, and a non-null one passes its null to the
//! nearest nullable parent (GraphQL spec 6.4.4): no key is ever missing.

use serde_json::json;

use crate::rooms::input;

db_test! {
    async fn a_failed_field_nulls_its_nearest_nullable_parent_and_no_key_goes_missing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Nulls")).await;
        let vars = json!({ "w": id });

        // events is [WorkroomEvent!]!: its failure nulls the workroom (nullable).
        let body = app.gql(Some(&ann.token), "query($w: ID!) { workroom(id: $w) { id events(first: 1001) { seq } } viewer { user { email } } }", vars.clone()).await;
        assert_eq!(body["data"]["workroom"], json!(null), "{body}");
        assert_eq!(body["data"]["viewer"]["user"]["email"], "ann@example.com", "siblings stay: {body}");
        assert_eq!(body["errors"][0]["path"], json!(["workroom", "events"]));
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

        // The same through an alias and a fragment.
        let body = app.gql(Some(&ann.token), "query($w: ID!) { room: workroom(id: $w) { ...F } } fragment F on Workroom { title all: events(first: -1) { seq } }", vars.clone()).await;
        assert_eq!(body["data"], json!({ "room": null }), "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["room", "all"]));

        // Through a node interface's inline fragment.
        let body = app.gql(Some(&ann.token), "query($w: ID!) { node(id: $w) { id ... on Workroom { events(first: 5000) { seq } } } }", vars.clone()).await;
        assert_eq!(body["data"], json!({ "node": null }), "{body}");

        // Non-null all the way up (Credits! in Workspace!): data is null.
        use sea_orm::{sea_query::Expr, EntityTrait};
        entity::workspace::Entity::update_many()
            .col_expr(entity::workspace::Column::CreditBalance, Expr::value(3_000_000_000i64))
            .exec(app.state.db.conn())
            .await
            .unwrap();
        let body = app.gql(Some(&ann.token), "{ workspace { name credits { balance } } }", json!({})).await;
        assert_eq!(body["data"], json!(null), "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["workspace", "credits"]));
    }
}
