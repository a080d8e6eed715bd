//! Sign-up and login.

use serde_json::json;

use crate::helpers::*;

db_test! {
    async fn signing_up_creates_a_trial_workspace_owned_by_the_new_user(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let data = app
            .ok(
                Some(&ann.token),
                "{ viewer { user { email name } member { role } workspace { name plan maxUsers seatsUsed credits { balance reserved available monthlyAllowance } } memberships { workspaceName role current } } }",
                json!({}),
            )
            .await;
        let v = &data["viewer"];
        assert_eq!(v["user"]["email"], "ann@example.com");
        assert_eq!(v["member"]["role"], "OWNER");
        assert_eq!(v["workspace"]["plan"], "FREE_TRIAL");
        assert_eq!(v["workspace"]["maxUsers"], 1);
        assert_eq!(v["workspace"]["seatsUsed"], 1);
        assert_eq!(v["workspace"]["credits"], json!({ "balance": 500, "reserved": 0, "available": 500, "monthlyAllowance": 0 }));
        assert_eq!(v["memberships"], json!([{ "workspaceName": "Acme", "role": "OWNER", "current": true }]));
    }
}
