//! Credits spent by runs: holds and charges, pausing when the pool or a
//! workroom's budget runs out, the ledger's invariants under concurrency, and
//! "who is spending and why".

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    time::Duration,
};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

const CREDITS: &str = "{ workspace { credits { balance reserved available } } }";

const LEDGER_PAGE: &str = "query($after: String) { workspace { creditLedger(first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id kind amount balanceAfter description actor { id } workroom { id title } task { id kind creditsUsed } } } } }";

const USAGE: &str = "query($g: UsageGroupBy!, $from: DateTime, $to: DateTime) {
    workspace { creditUsage(groupBy: $g, from: $from, to: $to) { key label credits tasks } } }";

const TOP_UP: &str =
    "mutation($c: Int!, $k: String!) { purchaseTopUp(credits: $c, idempotencyKey: $k) { id amount balanceAfter } }";

const RESUME: &str = "mutation($id: ID!) { resumeWorkroom(id: $id) { id state } }";

async fn credits(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), CREDITS, json!({})).await["workspace"]["credits"].clone()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The whole ledger, oldest first, read page by page (the API pages newest first).
async fn ledger(app: &TestApp, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(Some(token), LEDGER_PAGE, json!({ "after": after }))
            .await;
        let page = &data["workspace"]["creditLedger"];
        all.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    all.reverse();
    all
}

/// Every balanceAfter is ≥ 0 and the running sum of the amounts; the sum is the balance.
fn assert_ledger(entries: &[Value], balance: i64) {
    let mut running = 0;
    for entry in entries {
        running += int(&entry["amount"]);
        assert!(int(&entry["balanceAfter"]) >= 0, "an overdraft: {entry}");
        assert_eq!(
            int(&entry["balanceAfter"]),
            running,
            "balanceAfter is the running sum: {entry}"
        );
    }
    assert_eq!(running, balance, "the balance is the sum of the ledger");
}

/// The CREDITS_CHARGED events of a history.
fn charged_events(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "CREDITS_CHARGED")
        .collect()
}

fn charged_sum(events: &[Value]) -> i64 {
    charged_events(events)
        .iter()
        .map(|e| int(&e["data"]["credits"]))
        .sum()
}

/// −(sum of the CHARGE and REFUND entries of a workroom).
fn spent_in_ledger(entries: &[Value], room: &str) -> i64 {
    -entries
        .iter()
        .filter(|e| e["kind"] == "CHARGE" || e["kind"] == "REFUND")
        .filter(|e| e["workroom"]["id"] == room)
        .map(|e| int(&e["amount"]))
        .sum::<i64>()
}

/// Polls until the workroom is in one of `states`, checking at every read that
/// the pool never overdraws and the workroom stays within its budget.
async fn wait_checking(app: &TestApp, token: &str, id: &str, states: &[&str]) -> Value {
    eventually(Duration::from_secs(30), move || async move {
        let room = app.room(token, id).await;
        let pool = credits(app, token).await;
        assert_pool_sane(&pool);
        if let Some(max) = room["constraints"]["maxCredits"].as_i64() {
            let used = int(&room["creditsSpent"]) + int(&room["creditsReserved"]);
            assert!(
                used <= max,
                "spent + reserved {used} is over maxCredits {max}: {room}"
            );
        }
        if states.iter().any(|s| room["state"] == *s) {
            return Ok(room);
        }
        Err(format!(
            "still {}, waiting for {states:?}: {room}",
            room["state"]
        ))
    })
    .await
}

fn assert_pool_sane(pool: &Value) {
    let (balance, reserved, available) = (
        int(&pool["balance"]),
        int(&pool["reserved"]),
        int(&pool["available"]),
    );
    assert!(balance >= 0, "negative balance: {pool}");
    assert!(reserved >= 0, "negative reserved: {pool}");
    assert!(available >= 0, "more reserved than the balance: {pool}");
    assert_eq!(available, balance - reserved, "{pool}");
}

/// The number of STATE_CHANGED(state) events of a history.
fn times_in(events: &[Value], state: &str) -> usize {
    events
        .iter()
        .filter(|e| e["kind"] == "STATE_CHANGED" && e["state"] == state)
        .count()
}

fn expensive(tokens_per_credit: u32) -> impl FnOnce(&mut atelya::config::Config) {
    move |c: &mut atelya::config::Config| c.engine.tokens_per_credit = tokens_per_credit
}

db_test! {
    async fn a_run_the_pool_cannot_cover_pauses_for_credits_and_completes_after_a_top_up(app)
        with expensive(2);
    {
        // At 2 tokens a credit the trial's 500 credits pay for the plan, not the whole run.
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;

        let paused = wait_checking(&app, &ann.token, &id, &["PAUSED", "COMPLETED", "FAILED"]).await;

        assert_eq!(paused["state"], "PAUSED", "{paused}");
        assert_eq!(paused["stateReason"], "INSUFFICIENT_CREDITS");
        assert_eq!(paused["creditsReserved"], 0, "the holds are released");
        let spent = int(&paused["creditsSpent"]);
        assert!(spent > 0, "the plan was paid for: {paused}");
        let pool = credits(&app, &ann.token).await;
        assert_eq!(pool, json!({ "balance": 500 - spent, "reserved": 0, "available": 500 - spent }));
        let events = app.history(&ann.token, &id).await;
        assert_eq!(charged_sum(&events), spent);
        let last = events.last().unwrap();
        assert_eq!((&last["kind"], &last["state"]), (&json!("STATE_CHANGED"), &json!("PAUSED")));
        assert_ledger(&ledger(&app, &ann.token).await, 500 - spent);
        app.assert_quiet(&ann.token, &id).await;

        // Resuming without credits: it tries, pauses again, and spends nothing.
        let resumed = app.ok(Some(&ann.token), RESUME, json!({ "id": id })).await;
        assert_ne!(resumed["resumeWorkroom"]["state"], "PAUSED");
        let again = wait_checking(&app, &ann.token, &id, &["PAUSED", "COMPLETED", "FAILED"]).await;
        assert_eq!(again["state"], "PAUSED", "{again}");
        assert_eq!(again["stateReason"], "INSUFFICIENT_CREDITS");
        assert_eq!(again["creditsSpent"], spent);
        assert_eq!(times_in(&app.history(&ann.token, &id).await, "PAUSED"), 2);
        assert_eq!(credits(&app, &ann.token).await["balance"], 500 - spent);

        // The owner tops up; now the run goes on to the end.
        app.ok(Some(&ann.token), TOP_UP, json!({ "c": 5000, "k": "refill" })).await;
        app.ok(Some(&ann.token), RESUME, json!({ "id": id })).await;
        let done = wait_checking(&app, &ann.token, &id, &["COMPLETED", "FAILED"]).await;

        assert_eq!(done["state"], "COMPLETED", "{done}");
        assert_eq!(done["stateReason"], Value::Null);
        assert_eq!(done["creditsReserved"], 0);
        let total = int(&done["creditsSpent"]);
        assert!(total > spent, "{done}");
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &done);
        assert_eq!(charged_sum(&events), total);
        let pool = credits(&app, &ann.token).await;
        assert_eq!(pool, json!({ "balance": 5500 - total, "reserved": 0, "available": 5500 - total }));
        let entries = ledger(&app, &ann.token).await;
        assert_ledger(&entries, 5500 - total);
        assert_eq!(spent_in_ledger(&entries, &id), total);
    }
}

db_test! {
    async fn a_workroom_pauses_at_its_max_credits_and_completes_once_the_cap_is_raised(app)
        with expensive(10);
    {
        // At 10 tokens a credit a whole run costs about 70 credits and holds
        // up to about 170 for composing: a cap of 150 stops it on the way.
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut capped = input("Q3 proposal");
        capped["constraints"] = json!({ "maxCredits": 150 });
        let id = app.create_workroom(&ann.token, capped).await;

        let paused = wait_checking(&app, &ann.token, &id, &["PAUSED", "COMPLETED", "FAILED"]).await;

        assert_eq!(paused["state"], "PAUSED", "{paused}");
        assert_eq!(paused["stateReason"], "MAX_CREDITS_REACHED");
        assert_eq!(paused["creditsReserved"], 0);
        let spent = int(&paused["creditsSpent"]);
        assert!(spent > 0 && spent <= 150, "{paused}");
        let pool = credits(&app, &ann.token).await;
        assert_eq!(pool["balance"], 500 - spent, "the pool itself had plenty");
        assert_eq!(pool["reserved"], 0);
        let events = app.history(&ann.token, &id).await;
        assert_eq!(charged_sum(&events), spent);
        assert!(
            charged_events(&events).iter().all(|e| int(&e["data"]["held"]) <= 150),
            "no hold went over the cap"
        );
        app.assert_quiet(&ann.token, &id).await;

        // Resuming under the same cap pauses again for the same reason.
        app.ok(Some(&ann.token), RESUME, json!({ "id": id })).await;
        let again = wait_checking(&app, &ann.token, &id, &["PAUSED", "COMPLETED", "FAILED"]).await;
        assert_eq!(again["state"], "PAUSED", "{again}");
        assert_eq!(again["stateReason"], "MAX_CREDITS_REACHED");
        assert_eq!(again["creditsSpent"], spent);

        // Raising the cap changes only the cap; resuming then completes.
        let raised = app
            .ok(
                Some(&ann.token),
                "mutation($id: ID!) { updateConstraints(workroomId: $id, input: { maxCredits: 1000 }) { state stateReason constraints { maxCredits } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            raised["updateConstraints"],
            json!({ "state": "PAUSED", "stateReason": "MAX_CREDITS_REACHED", "constraints": { "maxCredits": 1000 } })
        );
        app.ok(Some(&ann.token), RESUME, json!({ "id": id })).await;
        let done = wait_checking(&app, &ann.token, &id, &["COMPLETED", "FAILED"]).await;

        assert_eq!(done["state"], "COMPLETED", "{done}");
        assert_eq!(done["creditsReserved"], 0);
        let total = int(&done["creditsSpent"]);
        assert!(total > spent && total <= 1000, "{done}");
        let events = app.history(&ann.token, &id).await;
        assert_history(&events, &done);
        assert_eq!(charged_sum(&events), total);
        assert_eq!(times_in(&events, "PAUSED"), 2);
        assert_eq!(credits(&app, &ann.token).await["balance"], 500 - total);
    }
}

db_test! {
    async fn concurrent_runs_and_top_ups_never_overdraw_and_the_ledger_adds_up(app)
        with |c: &mut atelya::config::Config| {
            c.engine.tokens_per_credit = 1;
            c.engine.compose_max_tokens = 400;
        };
    {
        // PRO: 5 seats and 15,500 credits. At 1 token a credit, with six
        // deliverables each, eight runs cost more than that (about 2,400
        // each) and hold far more at once.
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let mut people = vec![owner.clone()];
        for (i, role) in ["ADMIN", "MEMBER", "MEMBER"].iter().enumerate() {
            let email = format!("{}{i}@example.com", role.to_lowercase());
            let token = app.invite(&owner.token, &email, role).await;
            people.push(app.accept_new(&token, &email).await);
        }
        let start = credits(&app, &owner.token).await;
        assert_eq!(start["balance"], 15_500);

        // Eight workrooms, two per person, started together with four top-ups.
        let creates = (0..8).map(|i| {
            let who = &people[i % people.len()];
            let mut room = input(&format!("Campaign {i}"));
            room["deliverables"] = json!(["Proposal", "Summary", "Email", "Agenda", "Brief", "Plan"]);
            let app = &app;
            async move { (who.clone(), app.create_workroom(&who.token, room).await) }
        });
        let top_ups = (0..4).map(|i| {
            let who = &people[i % 2];
            let app = &app;
            async move { app.ok(Some(&who.token), TOP_UP, json!({ "c": 500, "k": format!("early-{i}") })).await }
        });
        let (rooms, _) = tokio::join!(join_all(creates), join_all(top_ups));

        // Let every run finish or pause; then top up and resume the paused
        // ones, together, until all are complete.
        let mut rounds = 0;
        let mut paused_for_credits = 0;
        loop {
            let mut paused = Vec::new();
            for (who, id) in &rooms {
                let room = wait_checking(&app, &who.token, id, &["COMPLETED", "PAUSED", "FAILED"]).await;
                assert_ne!(room["state"], "FAILED", "{room}");
                if room["state"] == "PAUSED" {
                    assert_eq!(room["stateReason"], "INSUFFICIENT_CREDITS", "{room}");
                    assert_eq!(room["creditsReserved"], 0, "{room}");
                    paused.push((who.clone(), id.clone()));
                }
            }
            if paused.is_empty() {
                break;
            }
            paused_for_credits += paused.len();
            rounds += 1;
            assert!(rounds <= 20, "still {} paused after 20 rounds of top-ups", paused.len());
            let key = format!("round-{rounds}");
            let top_up = app.ok(Some(&owner.token), TOP_UP, json!({ "c": 6000, "k": key }));
            let resumes = paused.iter().map(|(who, id)| app.ok(Some(&who.token), RESUME, json!({ "id": id })));
            tokio::join!(top_up, join_all(resumes));
        }
        assert!(paused_for_credits > 0, "the pool was meant to run short at least once");

        // The ledger, oldest first: never below zero, a running sum, adding up to the balance.
        let pool = credits(&app, &owner.token).await;
        let balance = int(&pool["balance"]);
        assert_eq!(pool["reserved"], 0, "{pool}");
        assert_eq!(pool["available"], balance);
        let entries = ledger(&app, &owner.token).await;
        assert_ledger(&entries, balance);
        let top_ups: i64 = entries.iter().filter(|e| e["kind"] == "TOP_UP").map(|e| int(&e["amount"])).sum();
        assert_eq!(top_ups, 4 * 500 + 6000 * rounds as i64);

        // Every workroom: its spend, its ledger entries and its events agree.
        let mut attempts = HashSet::new();
        let mut events_charged = 0;
        let mut total_spent = 0;
        for (who, id) in &rooms {
            let room = app.room(&who.token, id).await;
            assert_eq!(room["state"], "COMPLETED");
            assert_eq!(room["creditsReserved"], 0);
            let spent = int(&room["creditsSpent"]);
            let events = app.history(&who.token, id).await;
            assert_history(&events, &room);
            assert_eq!(spent, spent_in_ledger(&entries, id), "ledger of {id}");
            assert_eq!(spent, charged_sum(&events), "events of {id}");
            // Pauses came only when a hold could not be had, before an attempt
            // started: so exactly one charged attempt for planning and for each task,
            // and every deliverable written once.
            let mut charged_tasks: Vec<&Value> = charged_events(&events).iter().map(|e| &e["taskId"]).collect();
            charged_tasks.sort_by_key(|t| t.to_string());
            let mut plan: Vec<&Value> = vec![&Value::Null];
            plan.extend(room["tasks"].as_array().unwrap().iter().map(|t| &t["id"]));
            plan.sort_by_key(|t| t.to_string());
            assert_eq!(charged_tasks, plan, "one charge for planning and one per task in {id}: {:?}", outline(&events));
            for deliverable in room["deliverables"].as_array().unwrap() {
                assert_eq!(deliverable["version"], 1, "written once: {deliverable}");
            }
            for event in charged_events(&events) {
                let attempt = event["data"]["attempt"].as_str().unwrap().to_owned();
                assert!(attempts.insert(attempt), "an attempt charged twice: {event}");
                assert!(int(&event["data"]["credits"]) <= int(&event["data"]["held"]), "{event}");
                events_charged += 1;
            }
            total_spent += spent;
        }
        let charges: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "CHARGE").collect();
        assert_eq!(charges.len(), events_charged, "one CHARGE entry per CREDITS_CHARGED event");
        assert_eq!(balance, 15_500 + top_ups - total_spent);
    }
}

db_test! {
    async fn credit_usage_says_who_spent_what_on_which_agent_workroom_and_day(app)
        with expensive(10);
    {
        let (owner, team) = app.team(&["MEMBER", "MEMBER"]).await;
        let (member, idle) = (&team[0], &team[1]);
        let day_before = app.state.clock.now().format("%Y-%m-%d").to_string();

        let alpha = app.create_workroom(&owner.token, input("Alpha proposal")).await;
        let alpha_room = app.wait_for(&owner.token, &alpha, &["COMPLETED"]).await;
        let between = app.state.clock.now();
        let mut beta_input = input("Beta report");
        beta_input["deliverables"] = json!(["Report", "Email"]);
        let beta = app.create_workroom(&member.token, beta_input).await;
        let beta_room = app.wait_for(&member.token, &beta, &["COMPLETED"]).await;
        let day_after = app.state.clock.now().format("%Y-%m-%d").to_string();

        let alpha_events = app.history(&owner.token, &alpha).await;
        let beta_events = app.history(&owner.token, &beta).await;
        let (alpha_spent, beta_spent) = (int(&alpha_room["creditsSpent"]), int(&beta_room["creditsSpent"]));
        let (alpha_charges, beta_charges) =
            (charged_events(&alpha_events).len() as i64, charged_events(&beta_events).len() as i64);
        let total = alpha_spent + beta_spent;
        assert!(alpha_spent > 0 && beta_spent > 0);

        let usage = |group: &'static str, from: Value, to: Value| {
            let app = &app;
            let token = owner.token.clone();
            async move {
                let data = app.ok(Some(&token), USAGE, json!({ "g": group, "from": from, "to": to })).await;
                let buckets = data["workspace"]["creditUsage"].as_array().unwrap().clone();
                let sum: i64 = buckets.iter().map(|b| int(&b["credits"])).sum();
                let by_key: BTreeMap<String, Value> = buckets
                    .into_iter()
                    .map(|b| (b["key"].as_str().unwrap().to_owned(), b))
                    .collect();
                (by_key, sum)
            }
        };
        let bucket = |key: &str, label: &str, credits: i64, tasks: i64| {
            (key.to_owned(), json!({ "key": key, "label": label, "credits": credits, "tasks": tasks }))
        };

        // MEMBER: the members who started runs, by Member id; not the idle one.
        let (by_member, sum) = usage("MEMBER", Value::Null, Value::Null).await;
        assert_eq!(sum, total);
        let owner_member = app.member_id(&owner).await;
        let member_member = app.member_id(member).await;
        assert_eq!(
            by_member,
            BTreeMap::from([
                bucket(&owner_member, "owner", alpha_spent, alpha_charges),
                bucket(&member_member, "member0", beta_spent, beta_charges),
            ])
        );
        assert!(!by_member.contains_key(&app.member_id(idle).await));

        // AGENT: the Planner's calls (no task) and the Composer's (drafting and composing).
        let agents = app.ok(Some(&owner.token), "{ workspace { agents { id kind name } } }", json!({})).await;
        let agent_id = |kind: &str| {
            agents["workspace"]["agents"].as_array().unwrap().iter()
                .find(|a| a["kind"] == kind).unwrap()["id"].as_str().unwrap().to_owned()
        };
        let all_events: Vec<Value> = alpha_events.iter().chain(&beta_events).cloned().collect();
        let (planning, other): (Vec<&Value>, Vec<&Value>) =
            charged_events(&all_events).into_iter().partition(|e| e["taskId"].is_null());
        let credits_of = |events: &[&Value]| events.iter().map(|e| int(&e["data"]["credits"])).sum::<i64>();
        assert_eq!(planning.len(), 2, "one planning charge per run");
        let (by_agent, sum) = usage("AGENT", Value::Null, Value::Null).await;
        assert_eq!(sum, total);
        assert_eq!(
            by_agent,
            BTreeMap::from([
                bucket(&agent_id("PLANNER"), "Planner", credits_of(&planning), planning.len() as i64),
                bucket(&agent_id("COMPOSER"), "Composer", credits_of(&other), other.len() as i64),
            ])
        );

        // WORKROOM: by workroom id, titled.
        let (by_room, sum) = usage("WORKROOM", Value::Null, Value::Null).await;
        assert_eq!(sum, total);
        assert_eq!(
            by_room,
            BTreeMap::from([
                bucket(&alpha, "Alpha proposal", alpha_spent, alpha_charges),
                bucket(&beta, "Beta report", beta_spent, beta_charges),
            ])
        );

        // DAY: today's UTC date (both runs were today, unless midnight passed in between).
        let (by_day, sum) = usage("DAY", Value::Null, Value::Null).await;
        assert_eq!(sum, total);
        if day_before == day_after {
            assert_eq!(by_day, BTreeMap::from([bucket(&day_before, &day_before, total, alpha_charges + beta_charges)]));
        } else {
            assert!(by_day.keys().all(|d| *d == day_before || *d == day_after), "{by_day:?}");
        }

        // from (inclusive) and to (exclusive) narrow every grouping.
        let between = json!(between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        let (after_between, _) = usage("WORKROOM", between.clone(), Value::Null).await;
        assert_eq!(after_between, BTreeMap::from([bucket(&beta, "Beta report", beta_spent, beta_charges)]));
        let (before_between, _) = usage("WORKROOM", Value::Null, between.clone()).await;
        assert_eq!(before_between, BTreeMap::from([bucket(&alpha, "Alpha proposal", alpha_spent, alpha_charges)]));
        let (members_after, _) = usage("MEMBER", between.clone(), Value::Null).await;
        assert_eq!(members_after.keys().collect::<Vec<_>>(), [&member_member]);
        for group in ["MEMBER", "AGENT", "WORKROOM", "DAY"] {
            let (past, _) = usage(group, Value::Null, json!("2000-01-01T00:00:00Z")).await;
            assert!(past.is_empty(), "{group} before any spend: {past:?}");
            let (future, _) = usage(group, json!("2999-01-01T00:00:00Z"), Value::Null).await;
            assert!(future.is_empty(), "{group} after all spend: {future:?}");
        }
    }
}

db_test! {
    async fn a_charge_entry_names_its_workroom_and_task_and_the_planning_charge_has_no_task(app)
        with expensive(10);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
        let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;

        let entries = ledger(&app, &ann.token).await;

        let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["TRIAL_GRANT", "CHARGE", "CHARGE", "CHARGE"], "{entries:?}");
        assert_eq!(entries[0]["workroom"], Value::Null);
        assert_eq!(entries[0]["task"], Value::Null);
        let charges = &entries[1..];
        for charge in charges {
            assert_eq!(charge["workroom"], json!({ "id": id, "title": "Q3 proposal" }), "{charge}");
            assert_eq!(charge["actor"]["id"], ann.user_id.as_str(), "attributed to who started the run");
            assert!(int(&charge["amount"]) < 0);
        }
        // Planning comes first and has no task; then drafting and composing, each a task of the plan.
        assert_eq!(charges[0]["task"], Value::Null, "{}", charges[0]);
        assert!(charges[0]["description"].as_str().unwrap().contains("Planning"), "{}", charges[0]);
        let plan_ids: BTreeSet<&str> =
            room["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        let mut task_kinds = Vec::new();
        for charge in &charges[1..] {
            let task = &charge["task"];
            assert!(plan_ids.contains(task["id"].as_str().unwrap()), "{charge}");
            assert_eq!(int(&task["creditsUsed"]), -int(&charge["amount"]), "the task's creditsUsed is its charge");
            task_kinds.push(task["kind"].as_str().unwrap());
        }
        assert_eq!(task_kinds, ["AGENT", "COMPOSE"]);
        let events = app.history(&ann.token, &id).await;
        let task_ids: Vec<&Value> = charged_events(&events).iter().map(|e| &e["taskId"]).collect();
        let entry_tasks: Vec<&Value> = charges.iter().map(|c| if c["task"].is_null() { &c["task"] } else { &c["task"]["id"] }).collect();
        assert_eq!(task_ids, entry_tasks, "the entries and the CREDITS_CHARGED events name the same tasks");
        assert_eq!(spent_in_ledger(&entries, &id), int(&room["creditsSpent"]));

        // Another workspace sees none of it.
        let bob = app.signup("bob@example.com", "Bobco").await;
        let theirs = ledger(&app, &bob.token).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0]["kind"], "TRIAL_GRANT");
    }
}

db_test! {
    async fn credits_beyond_a_graphql_int_are_refused_and_never_reported_truncated(app);
    {
        use sea_orm::{sea_query::Expr, EntityTrait};
        let ann = app.signup("ann@example.com", "Acme").await;
        let set_balance = |balance: i64| {
            entity::workspace::Entity::update_many()
                .col_expr(entity::workspace::Column::CreditBalance, Expr::value(balance))
                .exec(app.state.db.conn())
        };
        set_balance(2_147_000_000).await.unwrap();
        let refused = app.gql(Some(&ann.token), TOP_UP, json!({ "c": 1_000_000, "k": "big" })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
        let data = app.ok(Some(&ann.token), CREDITS, json!({})).await;
        assert_eq!(data["workspace"]["credits"]["balance"], 2_147_000_000, "nothing was added");

        set_balance(3_000_000_000).await.unwrap();
        let body = app.gql(Some(&ann.token), CREDITS, json!({})).await;
        assert_eq!(code(&body), "INTERNAL", "an error, not a truncated balance: {body}");
        assert!(!body.to_string().contains("-1294967296"), "{body}");
    }
}
