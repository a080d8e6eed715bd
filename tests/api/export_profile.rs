//! The export profile: owners and admins change it (every field checked
//! first, nothing written on a refusal), everyone reads it, and each change
//! is in the activity log.

use serde_json::{json, Value};

use crate::helpers::*;

const UPDATE: &str = "mutation($input: ExportProfileInput!) { updateExportProfile(input: $input) \
    { letterhead accentColor contactBlock font updatedAt } }";
const READ: &str =
    "{ workspace { exportProfile { letterhead accentColor contactBlock font updatedAt } } }";

async fn profile(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), READ, json!({})).await["workspace"]["exportProfile"].clone()
}

async fn newest_action(app: &TestApp, token: &str) -> Value {
    let log = app
        .ok(
            Some(token),
            "{ workspace { activity(first: 1) { nodes { action metadata } } } }",
            json!({}),
        )
        .await;
    log["workspace"]["activity"]["nodes"][0].clone()
}

db_test! {
    async fn a_new_workspace_is_branded_with_its_name_and_the_default_accent(app);
    {
        let ann = app.signup("ann@example.com", "Acme Studio").await;
        let p = profile(&app, &ann.token).await;
        assert_eq!((&p["letterhead"], &p["accentColor"], &p["contactBlock"], &p["font"]), (&json!("Acme Studio"), &json!("#1F2937"), &json!(""), &Value::Null));
    }
}

db_test! {
    async fn the_owner_changes_the_profile_field_by_field_and_each_change_is_logged(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let input = json!({ "letterhead": "Acme Creative", "accentColor": "#0a7e8c", "contactBlock": "Acme Creative\n1 High Street, Leeds\nhello@acme.example", "font": "Inter" });

        let changed = app.ok(Some(&ann.token), UPDATE, json!({ "input": input })).await["updateExportProfile"].clone();

        assert_eq!(changed["letterhead"], "Acme Creative");
        assert_eq!(changed["accentColor"], "#0a7e8c");
        assert_eq!(changed["contactBlock"], "Acme Creative\n1 High Street, Leeds\nhello@acme.example");
        assert_eq!(changed["font"], "Inter");
        assert_eq!(profile(&app, &ann.token).await, changed);
        let entry = newest_action(&app, &ann.token).await;
        assert_eq!(entry["action"], "export_profile.updated");
        assert_eq!(entry["metadata"]["fields"], json!(["letterhead", "accentColor", "contactBlock", "font"]));

        // Left out: unchanged; font null: cleared.
        let partial = app.ok(Some(&ann.token), UPDATE, json!({ "input": { "accentColor": "#FF6600", "font": null } })).await["updateExportProfile"].clone();
        assert_eq!((&partial["letterhead"], &partial["accentColor"], &partial["font"]), (&json!("Acme Creative"), &json!("#FF6600"), &Value::Null));
        assert_eq!(newest_action(&app, &ann.token).await["metadata"]["fields"], json!(["accentColor", "font"]));
    }
}

db_test! {
    async fn bad_profile_input_is_refused_and_changes_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let before = profile(&app, &ann.token).await;
        let bad = [
            json!({ "accentColor": "red" }),
            json!({ "accentColor": "#12345" }),
            json!({ "accentColor": "#1234567" }),
            json!({ "accentColor": "#GGGGGG" }),
            json!({ "accentColor": "1F2937" }),
            json!({ "letterhead": "   " }),
            json!({ "letterhead": "l".repeat(201) }),
            json!({ "contactBlock": "c".repeat(2_001) }),
            json!({ "font": "" }),
            // One bad field refuses the good ones with it.
            json!({ "letterhead": "Fine", "accentColor": "#XYZXYZ" }),
        ];
        for input in bad {
            let body = app.gql(Some(&ann.token), UPDATE, json!({ "input": input })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{input}: {body}");
        }
        assert_eq!(profile(&app, &ann.token).await, before);
        assert_eq!(newest_action(&app, &ann.token).await["action"], "workspace.created");
    }
}

db_test! {
    async fn every_member_reads_the_profile_and_only_owners_and_admins_change_it(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "VIEWER"]).await;
        for (account, allowed) in [(&owner, true), (&team[0], true), (&team[1], false), (&team[2], false)] {
            let body = app.gql(Some(&account.token), UPDATE, json!({ "input": { "contactBlock": account.email } })).await;
            if allowed {
                assert_eq!(body["data"]["updateExportProfile"]["contactBlock"], account.email.as_str(), "{body}");
            } else {
                assert_eq!(code(&body), "FORBIDDEN", "{body}");
            }
        }
        // The admin's change was the last one made, and everyone reads it.
        for account in [&owner, &team[0], &team[1], &team[2]] {
            assert_eq!(profile(&app, &account.token).await["contactBlock"], team[0].email.as_str(), "{}", account.email);
        }
    }
}
