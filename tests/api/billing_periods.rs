//! Billing periods: monthly credits once per period whatever the plan
//! changes, renewal by the background job (with the clock moved forward, so
//! no test waits a month), catch-up after downtime, and one grant per period
//! with two instances renewing at once.

use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

const PERIOD: &str = "{ workspace { billingPeriod { start end granted } credits { balance } \
    creditLedger(first: 100) { nodes { kind amount balanceAfter actor { id } } } } }";

struct Billing {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    granted: i64,
    balance: i64,
    /// The ledger, newest first.
    ledger: Vec<Value>,
}

async fn billing(app: &TestApp, token: &str) -> Billing {
    let data = app.ok(Some(token), PERIOD, json!({})).await;
    let ws = &data["workspace"];
    let time = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    Billing {
        start: time(&ws["billingPeriod"]["start"]),
        end: time(&ws["billingPeriod"]["end"]),
        granted: ws["billingPeriod"]["granted"].as_i64().unwrap(),
        balance: ws["credits"]["balance"].as_i64().unwrap(),
        ledger: ws["creditLedger"]["nodes"].as_array().unwrap().clone(),
    }
}

/// Waits until the renewal job has moved the period to start at `start`.
async fn period_starting(app: &TestApp, token: &str, start: DateTime<Utc>) -> Billing {
    eventually(Duration::from_secs(15), move || async move {
        let now = billing(app, token).await;
        if now.start == start {
            return Ok(now);
        }
        Err(format!(
            "the period starting {start} has not begun (current one starts {})",
            now.start
        ))
    })
    .await
}

/// Moves `app`'s clock forward by `days` and signs ann in again (her
/// access token has expired by then).
async fn days_later(app: &TestApp, ann: &mut Account, days: u32) {
    app.state.clock.advance(days * DAY);
    let body = crate::invitations::login(app, &ann.email).await;
    ann.token = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
}

fn month_after(t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    t.checked_add_months(Months::new(n)).unwrap()
}

fn monthly_grants(ledger: &[Value]) -> Vec<i64> {
    ledger
        .iter()
        .filter(|e| e["kind"] == "MONTHLY_GRANT")
        .map(|e| e["amount"].as_i64().unwrap())
        .collect()
}

const DAY: Duration = Duration::from_secs(24 * 3600);

db_test! {
    async fn flipping_between_two_plans_grants_the_higher_allowance_once(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        for _ in 0..5 {
            app.change_plan(&ann.token, "STARTER").await;
            app.change_plan(&ann.token, "PRO").await;
        }
        let now = billing(&app, &ann.token).await;
        assert_eq!(now.balance, 500 + 15_000);
        assert_eq!(now.granted, 15_000);
        assert_eq!(monthly_grants(&now.ledger), [10_000, 5_000], "STARTER's 5,000, then PRO's 10,000 more");
    }
}

db_test! {
    async fn a_new_workspace_has_a_one_month_period_with_nothing_granted(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let now = billing(&app, &ann.token).await;
        assert_eq!(now.end, month_after(now.start, 1));
        assert_eq!(now.granted, 0, "the trial's 500 are a trial grant, not a monthly one");
        assert!((Utc::now() - now.start).num_seconds().abs() < 60, "{}", now.start);
    }
}

db_test! {
    async fn leaving_the_trial_starts_the_first_paid_period_then_it_renews(app);
    {
        let mut ann = app.signup("ann@example.com", "Acme").await;
        days_later(&app, &mut ann, 10).await;
        app.change_plan(&ann.token, "PRO").await;
        let first = billing(&app, &ann.token).await;
        assert!((app.state.clock.now() - first.start).num_seconds().abs() < 60, "the period starts at the upgrade, not at sign-up");
        assert_eq!(first.end, month_after(first.start, 1));
        assert_eq!((first.granted, first.balance), (15_000, 15_500));

        days_later(&app, &mut ann, 32).await;
        let second = period_starting(&app, &ann.token, first.end).await;

        assert_eq!(second.end, month_after(first.start, 2));
        assert_eq!((second.granted, second.balance), (15_000, 30_500));
        let grant = &second.ledger[0];
        assert_eq!((&grant["kind"], &grant["amount"]), (&json!("MONTHLY_GRANT"), &json!(15_000)));
        assert_eq!(grant["actor"], Value::Null, "renewal is the system's");
        let log = app.ok(Some(&ann.token), "{ workspace { activity(first: 1) { nodes { action actor { id } metadata } } } }", json!({})).await;
        let renewed = &log["workspace"]["activity"]["nodes"][0];
        assert_eq!((&renewed["action"], &renewed["actor"]), (&json!("billing.period_renewed"), &Value::Null));
        assert_eq!(renewed["metadata"]["creditsGranted"], 15_000);

        // Within the new period: down, back up, then beyond.
        app.change_plan(&ann.token, "STARTER").await;
        app.change_plan(&ann.token, "PRO").await;
        assert_eq!(billing(&app, &ann.token).await.balance, 30_500, "back to the period's highest allowance: nothing");
        app.change_plan(&ann.token, "GROWTH").await;
        let grown = billing(&app, &ann.token).await;
        assert_eq!((grown.granted, grown.balance), (50_000, 65_500));
        assert_eq!(grown.ledger[0]["amount"], 35_000);
    }
}

db_test! {
    async fn renewal_grants_the_plan_in_force_at_the_renewal(app);
    {
        let mut ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "PRO").await;
        app.change_plan(&ann.token, "SOLO").await;
        let first = billing(&app, &ann.token).await;
        assert_eq!((first.granted, first.balance), (15_000, 15_500), "a downgrade grants nothing");

        days_later(&app, &mut ann, 32).await;
        let second = period_starting(&app, &ann.token, first.end).await;

        assert_eq!((second.granted, second.balance), (2_000, 17_500));
        app.change_plan(&ann.token, "STARTER").await;
        assert_eq!(billing(&app, &ann.token).await.balance, 17_500 + 3_000, "an upgrade tops this period up from SOLO's 2,000");
    }
}

db_test! {
    async fn after_downtime_every_missed_period_is_granted_once(app);
    {
        let mut ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "SOLO").await;
        let first = billing(&app, &ann.token).await;

        // Between three months (at most 92 days) and four (at least 120).
        days_later(&app, &mut ann, 100).await;
        let fourth = period_starting(&app, &ann.token, month_after(first.start, 3)).await;

        assert_eq!(monthly_grants(&fourth.ledger), [2_000; 4]);
        assert_eq!(fourth.balance, 500 + 4 * 2_000);
        assert_eq!(fourth.end, month_after(first.start, 4));
        app.after_passes(|r| &r.renewals, 2).await;
        assert_eq!(billing(&app, &ann.token).await.ledger.len(), fourth.ledger.len(), "and nothing more on later passes");
    }
}

db_test! {
    async fn a_trial_period_renews_without_granting_anything(app);
    {
        let mut ann = app.signup("ann@example.com", "Acme").await;
        let first = billing(&app, &ann.token).await;

        days_later(&app, &mut ann, 32).await;
        let second = period_starting(&app, &ann.token, first.end).await;

        assert_eq!((second.granted, second.balance, second.ledger.len()), (0, 500, 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn two_instances_renewing_together_grant_each_period_once() {
    let Some(Backend::Postgres(admin)) = Backend::postgres() else {
        return;
    };
    let database = TestDatabase::create(Backend::Postgres(admin)).await;
    let a = Instance::start(&database.url, |_| {}).await;
    let b = Instance::start(&database.url, |_| {}).await;
    let mut ann = a.app.signup("ann@example.com", "Acme").await;
    a.app.change_plan(&ann.token, "STARTER").await;
    let first = billing(&a.app, &ann.token).await;

    b.app.state.clock.advance(100 * DAY);
    days_later(&a.app, &mut ann, 100).await;
    period_starting(&b.app, &ann.token, month_after(first.start, 3)).await;
    // Both instances have looked again since: neither grants anything more.
    a.app.after_passes(|r| &r.renewals, 2).await;
    b.app.after_passes(|r| &r.renewals, 2).await;

    let last = billing(&a.app, &ann.token).await;
    assert_eq!(monthly_grants(&last.ledger), [5_000; 4]);
    assert_eq!(last.balance, 500 + 4 * 5_000);
}
