//! Reading back, through the API, every workroom of every soak workspace
//! (its events, deliverables and spend) and every workspace's ledger. Each
//! workroom is summarized as soon as it is read, so the full histories are
//! never all held at once.

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{
    checks::{self, Deliverable, Entry, Event, Ledger, Room, RoomSummary},
    client::Client,
    rooms::Workspace,
};

/// Workrooms read at once.
const CONCURRENCY: usize = 4;
/// Events per page (the API allows up to 1,000).
const EVENTS_PAGE: usize = 500;

/// Everything read back.
pub struct ReadBack {
    pub rooms: Vec<RoomSummary>,
    pub ledgers: Vec<Ledger>,
    /// What could not be read.
    pub errors: Vec<String>,
}

pub async fn read(client: &Client, workspaces: &[Workspace]) -> ReadBack {
    let mut back = ReadBack {
        rooms: Vec::new(),
        ledgers: Vec::new(),
        errors: Vec::new(),
    };
    let mut ids = Vec::new();
    for ws in workspaces {
        match room_ids(client, ws).await {
            Ok(found) => ids.extend(found.into_iter().map(|id| (ws.token.clone(), id))),
            Err(err) => back.errors.push(format!("listing workrooms: {err}")),
        }
        match ledger(client, ws).await {
            Ok(ledger) => back.ledgers.push(ledger),
            Err(err) => back.errors.push(format!("reading a ledger: {err}")),
        }
    }
    let mut reads = futures_util::stream::iter(ids)
        .map(|(token, id)| async move { (room(client, &token, &id).await, id) })
        .buffer_unordered(CONCURRENCY);
    while let Some((read, id)) = reads.next().await {
        match read {
            Ok(room) => back.rooms.push(checks::summarize(&room)),
            Err(err) => back.errors.push(format!("reading {id}: {err}")),
        }
    }
    back
}

/// The pages of a connection under `workspace`, `select` being its node selection.
async fn pages(
    client: &Client,
    token: &str,
    field: &str,
    select: &str,
) -> Result<(Value, Vec<Value>), String> {
    let query = format!(
        "query($after: String) {{ workspace {{ credits {{ balance reserved }}
          {field}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {select} }} }} }} }}"
    );
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = client
            .call(token, &query, json!({ "after": after }))
            .await?;
        let page = &data["workspace"][field];
        nodes.extend(page["nodes"].as_array().cloned().unwrap_or_default());
        if page["pageInfo"]["hasNextPage"] != true {
            return Ok((data["workspace"]["credits"].clone(), nodes));
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

async fn room_ids(client: &Client, ws: &Workspace) -> Result<Vec<String>, String> {
    let (_, nodes) = pages(client, &ws.token, "workrooms", "id").await?;
    Ok(nodes
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect())
}

async fn ledger(client: &Client, ws: &Workspace) -> Result<Ledger, String> {
    let select = "kind amount balanceAfter workroom { id } task { id }";
    let (credits, nodes) = pages(client, &ws.token, "creditLedger", select).await?;
    let mut entries: Vec<Entry> = nodes
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    // The API lists the newest first.
    entries.reverse();
    Ok(Ledger {
        balance: credits["balance"].as_i64().ok_or("no balance")?,
        reserved: credits["reserved"].as_i64().ok_or("no reserved")?,
        entries,
    })
}

const ROOM_QUERY: &str = "query($w: ID!, $after: Int, $first: Int) { workroom(id: $w) {
  creditsSpent deliverables { id content }
  events(afterSeq: $after, first: $first) { seq kind state taskId deliverableId text data } } }";

async fn room(client: &Client, token: &str, id: &str) -> Result<Room, String> {
    let mut room = Room {
        id: id.to_owned(),
        credits_spent: 0,
        deliverables: Vec::new(),
        events: Vec::new(),
    };
    loop {
        let after = room.events.last().map_or(0, |e| e.seq);
        let vars = json!({ "w": id, "after": after, "first": EVENTS_PAGE });
        let data = client.call(token, ROOM_QUERY, vars).await?;
        let read = &data["workroom"];
        let page: Vec<Event> =
            serde_json::from_value(read["events"].clone()).map_err(|e| e.to_string())?;
        let last_page = page.len() < EVENTS_PAGE;
        room.events.extend(page);
        if last_page {
            // Read with the last page: nothing runs any more, so they agree with the events.
            room.credits_spent = read["creditsSpent"].as_i64().ok_or("no creditsSpent")?;
            room.deliverables =
                serde_json::from_value::<Vec<Deliverable>>(read["deliverables"].clone())
                    .map_err(|e| e.to_string())?;
            return Ok(room);
        }
    }
}
