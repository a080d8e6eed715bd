//! Exports through the API, read back as a client would: a composed
//! deliverable exported as Markdown, DOCX and PDF with the export profile
//! applied, downloaded with the bearer token (401 without one, 404 from
//! another workspace), each export and download in the activity log; viewers
//! download but do not export; nothing is stored when an export is refused.

use std::io::Read;

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

pub(crate) const EXPORT: &str =
    "mutation($d: ID!, $f: ExportFormat!) { exportDeliverable(deliverableId: $d, format: $f) \
    { id format filename byteSize downloadUrl createdBy { id } createdAt } }";
const PROFILE: &str =
    "mutation($input: ExportProfileInput!) { updateExportProfile(input: $input) { accentColor } }";
const LETTERHEAD: &str = "Northwind Studio";
const CONTACT: &str =
    "Northwind Studio Ltd\n1 Quay Street, Bristol BS1 4DJ\nhello@northwind.example";

/// Brands the workspace and runs a workroom to completion (with `agents`);
/// returns the finished room.
pub(crate) async fn composed(app: &TestApp, token: &str, agents: &[&str]) -> Value {
    let profile = json!({ "letterhead": LETTERHEAD, "accentColor": "#0E7490", "contactBlock": CONTACT, "font": "Georgia" });
    app.ok(Some(token), PROFILE, json!({ "input": profile }))
        .await;
    let mut room = input("Spring launch");
    room["agentIds"] = json!(agents);
    let id = app.create_workroom(token, room).await;
    app.wait_for(token, &id, &["COMPLETED"]).await
}

/// A custom agent for a client, taught a casual, emoji-friendly voice.
async fn taught_agent(app: &TestApp, token: &str) -> String {
    let agent = json!({ "name": "Trail Voice", "instructions": "Write for Northwind's customers.", "clientName": "Northwind" });
    let created = app
        .ok(
            Some(token),
            "mutation($input: AgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": agent }),
        )
        .await;
    let id = created["createAgent"]["id"].as_str().unwrap().to_owned();
    let sample = "Hey, you're gonna love this! 🎉 Your crew will totally dig the new color scheme! \
        We'll optimize your favorite trails, so you can relax. 🚀 You're gonna love this, trust us!";
    app.ok(
        Some(token),
        "mutation($a: ID!, $t: String!) { addStyleSample(agentId: $a, text: $t) { id } }",
        json!({ "a": id, "t": sample }),
    )
    .await;
    id
}

pub(crate) async fn export(app: &TestApp, token: &str, deliverable: &str, format: &str) -> Value {
    app.ok(
        Some(token),
        EXPORT,
        json!({ "d": deliverable, "f": format }),
    )
    .await["exportDeliverable"]
        .clone()
}

pub(crate) async fn get(app: &TestApp, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("download request sent")
}

/// The download's body, after checking its status and headers against the export.
async fn download(app: &TestApp, token: &str, export: &Value, content_type: &str) -> Vec<u8> {
    let response = get(app, export["downloadUrl"].as_str().unwrap(), Some(token)).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], content_type);
    assert_eq!(
        headers["content-disposition"],
        format!(
            "attachment; filename=\"{}\"",
            export["filename"].as_str().unwrap()
        )
        .as_str()
    );
    let body = response.bytes().await.unwrap().to_vec();
    assert_eq!(json!(body.len()), export["byteSize"]);
    body
}

fn zip_part(docx: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a DOCX is a zip");
    let mut part = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("the DOCX has {name}"));
    let mut text = String::new();
    part.read_to_string(&mut text).unwrap();
    text
}

/// Every part of the DOCX whose name starts with `prefix`, concatenated.
fn zip_parts(docx: &[u8], prefix: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    names.iter().map(|n| zip_part_of(&mut archive, n)).collect()
}

fn zip_part_of(archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> String {
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("the PDF parses");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document
        .extract_text(&pages)
        .expect("the PDF's text extracts")
}

/// The actions of the workspace's newest activity entries, newest first.
pub(crate) async fn actions(app: &TestApp, token: &str, first: usize) -> Vec<Value> {
    let data = app
        .ok(Some(token), "query($n: Int) { workspace { activity(first: $n) { nodes { action targetId metadata } } } }", json!({ "n": first }))
        .await;
    data["workspace"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

db_test! {
    async fn a_composed_deliverable_exports_branded_in_every_format_and_downloads_as_stored(app);
    {
        let ann = app.signup("ann@example.com", "Northwind").await;
        app.change_plan(&ann.token, "PRO").await;
        let agent = taught_agent(&app, &ann.token).await;
        let room = composed(&app, &ann.token, &[&agent]).await;
        assert!(room["allowedActions"].as_array().unwrap().contains(&json!("EXPORT")), "{room}");
        let deliverable = room["deliverables"][0]["id"].as_str().unwrap();
        let content = room["deliverables"][0]["content"].as_str().unwrap();
        assert!(content.contains("🎉") && content.contains("Trail Voice's voice"), "written in the agent's voice: {content}");
        let heading = content.lines().find_map(|l| l.strip_prefix("## ")).expect("the deliverable has a section heading");
        let heading = heading.trim_end_matches(['🚀', ' ']);
        // The first words of a plain list item: short enough not to wrap in the PDF.
        let words: Vec<&str> = content
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .find(|l| !l.contains(['*', '_', '`', '“']))
            .expect("a plain list item")
            .split(' ')
            .take(4)
            .collect();
        let text = words.join(" ");

        let md = export(&app, &ann.token, deliverable, "MARKDOWN").await;
        let docx = export(&app, &ann.token, deliverable, "DOCX").await;
        let pdf = export(&app, &ann.token, deliverable, "PDF").await;

        let base = app.url.trim_end_matches("/graphql");
        for (e, format, ext) in [(&md, "MARKDOWN", ".md"), (&docx, "DOCX", ".docx"), (&pdf, "PDF", ".pdf")] {
            assert_eq!(e["format"], format);
            assert!(e["filename"].as_str().unwrap().starts_with("spring-launch-proposal-v1"), "{e}");
            assert!(e["filename"].as_str().unwrap().ends_with(ext), "{e}");
            assert_eq!(e["createdBy"]["id"], ann.user_id.as_str());
            assert_eq!(e["downloadUrl"], format!("{base}/exports/{}", e["id"].as_str().unwrap()).as_str());
        }

        let markdown = download(&app, &ann.token, &md, "text/markdown; charset=utf-8").await;
        assert_eq!(String::from_utf8(markdown).unwrap(), format!("{LETTERHEAD}\n\n{content}\n\n---\n\n{CONTACT}\n"));

        let file = download(&app, &ann.token, &docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document").await;
        let body = zip_part(&file, "word/document.xml");
        let headers = zip_parts(&file, "word/header");
        assert!(headers.contains(LETTERHEAD) || body.contains(LETTERHEAD), "the letterhead is in the DOCX");
        assert!(body.contains(heading), "the heading {heading:?} is in the DOCX");
        assert!(body.contains(&text), "the text {text:?} is in the DOCX");
        assert!(body.contains("0E7490"), "the accent colour is in the DOCX");
        assert!(body.contains("Georgia") || zip_parts(&file, "word/").contains("Georgia"), "the profile's font is in the DOCX");
        for line in CONTACT.lines() {
            assert!(body.contains(line), "the contact line {line:?} is in the DOCX");
        }

        let file = download(&app, &ann.token, &pdf, "application/pdf").await;
        assert!(file.starts_with(b"%PDF-"));
        let extracted = pdf_text(&file);
        for expected in [LETTERHEAD, heading, &text, "hello@northwind.example"] {
            assert!(extracted.contains(expected), "{expected:?} is in the PDF's text: {extracted}");
        }
        assert!(!extracted.contains('🎉'), "the PDF leaves out what its fonts cannot draw");

        let listed = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { deliverables { exports { id format } } } }", json!({ "id": room["id"] })).await;
        let exports = &listed["workroom"]["deliverables"][0]["exports"];
        assert_eq!(exports.as_array().unwrap().iter().map(|e| e["format"].clone()).collect::<Vec<_>>(), [json!("MARKDOWN"), json!("DOCX"), json!("PDF")]);
        let node = app.ok(Some(&ann.token), "query($id: ID!) { node(id: $id) { ... on Export { filename byteSize } } }", json!({ "id": pdf["id"] })).await;
        assert_eq!(node["node"]["byteSize"], pdf["byteSize"]);

        let log = actions(&app, &ann.token, 6).await;
        let names: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(names, ["export.downloaded"; 3].into_iter().chain(["export.created"; 3]).collect::<Vec<_>>());
        assert_eq!(log[0]["targetId"], pdf["id"]);
        assert_eq!(log[0]["metadata"]["format"], "PDF");
        assert_eq!(log[3]["metadata"]["deliverableId"], deliverable);
        let in_room = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { activity(first: 10) { nodes { action } } } }", json!({ "id": room["id"] })).await;
        assert!(in_room["workroom"]["activity"]["nodes"].as_array().unwrap().iter().any(|e| e["action"] == "export.created"), "the workroom's activity lists its exports");
    }
}

db_test! {
    async fn downloads_need_the_token_and_stay_within_their_workspace(app);
    {
        let (owner, team) = app.team(&["VIEWER", "MEMBER"]).await;
        let (viewer, member) = (&team[0], &team[1]);
        let room = composed(&app, &owner.token, &[]).await;
        let deliverable = room["deliverables"][0]["id"].as_str().unwrap();
        let made = export(&app, &member.token, deliverable, "PDF").await;
        let url = made["downloadUrl"].as_str().unwrap();

        let anonymous = get(&app, url, None).await;
        assert_eq!(anonymous.status(), 401);
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED");
        assert_eq!(get(&app, url, Some("not-a-token")).await.status(), 401);

        let stranger = app.signup("eve@example.com", "Elsewhere").await;
        let foreign = get(&app, url, Some(&stranger.token)).await;
        assert_eq!(foreign.status(), 404);
        assert_eq!(code(&foreign.json::<Value>().await.unwrap()), "NOT_FOUND");
        let base = app.url.trim_end_matches("/graphql");
        for bad in ["exp_nothing", "wrm_0192", &format!("exp_{}", "0".repeat(32))] {
            assert_eq!(get(&app, &format!("{base}/exports/{bad}"), Some(&owner.token)).await.status(), 404, "{bad}");
        }
        let node = app.ok(Some(&stranger.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": made["id"] })).await;
        assert_eq!(node["node"], Value::Null);

        // A viewer downloads; the download is theirs in the log.
        let file = download(&app, &viewer.token, &made, "application/pdf").await;
        assert!(file.starts_with(b"%PDF-"));
        let newest = &actions(&app, &owner.token, 1).await[0];
        assert_eq!(newest["action"], "export.downloaded");
        // A HEAD describes the file without recording a download.
        let head = app.client.head(url).bearer_auth(&viewer.token).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], made["byteSize"].to_string().as_str());
        assert_eq!(actions(&app, &owner.token, 1).await[0], *newest);

        // A viewer may not export; the refusal stores nothing.
        let refused = app.gql(Some(&viewer.token), EXPORT, json!({ "d": deliverable, "f": "DOCX" })).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let viewer_room = app.room(&viewer.token, room["id"].as_str().unwrap()).await;
        assert!(!viewer_room["allowedActions"].as_array().unwrap().contains(&json!("EXPORT")));
        let listed = app.ok(Some(&owner.token), "query($id: ID!) { workroom(id: $id) { deliverables { exports { id } } } }", json!({ "id": room["id"] })).await;
        assert_eq!(listed["workroom"]["deliverables"][0]["exports"], json!([{ "id": made["id"] }]));
    }
}

db_test! {
    async fn only_composed_deliverables_of_the_workspace_export_and_refusals_change_nothing(app)
        with |config| config.engine.builtin_token_delay_ms = 300;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Slow one")).await;
        let room = app.room(&ann.token, &id).await;
        let deliverable = room["deliverables"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(room["deliverables"][0]["content"], Value::Null);
        assert!(!room["allowedActions"].as_array().unwrap().contains(&json!("EXPORT")), "{room}");
        let before = actions(&app, &ann.token, 100).await;

        let early = app.gql(Some(&ann.token), EXPORT, json!({ "d": deliverable, "f": "PDF" })).await;
        assert_eq!(code(&early), "CONFLICT", "{early}");
        let stranger = app.signup("eve@example.com", "Elsewhere").await;
        let foreign = app.gql(Some(&stranger.token), EXPORT, json!({ "d": deliverable, "f": "PDF" })).await;
        assert_eq!(code(&foreign), "NOT_FOUND", "{foreign}");
        let wrong_kind = app.gql(Some(&ann.token), EXPORT, json!({ "d": id, "f": "PDF" })).await;
        assert_eq!(code(&wrong_kind), "NOT_FOUND", "{wrong_kind}");
        let bad_format = app.gql(Some(&ann.token), EXPORT, json!({ "d": deliverable, "f": "RTF" })).await;
        assert!(bad_format["errors"].is_array(), "{bad_format}");
        let anonymous = app.gql(None, EXPORT, json!({ "d": deliverable, "f": "PDF" })).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED");

        assert_eq!(actions(&app, &ann.token, 100).await, before, "no refusal is logged");
        let listed = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { deliverables { exports { id } } } }", json!({ "id": id })).await;
        assert_eq!(listed["workroom"]["deliverables"][0]["exports"], json!([]));
    }
}

db_test! {
    async fn a_file_over_the_size_limit_is_refused_and_not_stored(app)
        with |config| config.export_max_bytes = 2_000;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let room = composed(&app, &ann.token, &[]).await;
        let deliverable = room["deliverables"][0]["id"].as_str().unwrap();
        let before = actions(&app, &ann.token, 100).await;

        let refused = app.gql(Some(&ann.token), EXPORT, json!({ "d": deliverable, "f": "PDF" })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("2000 bytes"), "{refused}");

        assert_eq!(actions(&app, &ann.token, 100).await, before);
        let listed = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { deliverables { exports { id } } } }", json!({ "id": room["id"] })).await;
        assert_eq!(listed["workroom"]["deliverables"][0]["exports"], json!([]));
    }
}
