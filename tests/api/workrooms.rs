//! A workroom from goal to finished deliverable.

use serde_json::json;

use crate::{helpers::*, rooms::*};

db_test! {
    async fn a_workroom_runs_from_its_goal_to_a_finished_deliverable(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &room);
        assert_eq!(
            outline(&events),
            [
                "STATE_CHANGED(PLANNING)", "CREDITS_CHARGED", "PLAN_CREATED", "STATE_CHANGED(EXECUTING)",
                "TASK_STARTED", "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPOSING)",
                "TASK_STARTED", "COMPOSER_RESET", "COMPOSER_DELTA", "DELIVERABLE_UPDATED",
                "CREDITS_CHARGED", "TASK_COMPLETED", "STATE_CHANGED(COMPLETED)",
            ]
        );
        let deliverable = &room["deliverables"][0];
        assert_eq!(deliverable["version"], 1);
        assert!(deliverable["content"].as_str().unwrap().starts_with("# Proposal"));
        assert_eq!(room["creditsReserved"], 0);
        let charged: i64 = events.iter().filter(|e| e["kind"] == "CREDITS_CHARGED").map(|e| e["data"]["credits"].as_i64().unwrap()).sum();
        assert_eq!(room["creditsSpent"], json!(charged));
        let credits = app.ok(Some(&ann.token), "{ workspace { credits { balance reserved } } }", json!({})).await;
        assert_eq!(credits["workspace"]["credits"]["balance"], json!(500 - charged));
        assert_eq!(credits["workspace"]["credits"]["reserved"], 0);
    }
}
