//! Invitation email goes out through the outbox, by SMTP when configured.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Mutex,
};

use crate::helpers::*;

/// A minimal SMTP server that accepts every message and keeps its DATA.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                store.lock().await.push(data.take().unwrap());
                                write.write_all(b"250 queued\r\n").await.unwrap();
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        SmtpSink { port, messages }
    }

    async fn wait_for(&self, needle: &str) -> String {
        let messages = &self.messages;
        eventually(Duration::from_secs(10), move || async move {
            let messages = messages.lock().await;
            match messages.iter().find(|m| m.contains(needle)) {
                Some(m) => Ok(m.clone()),
                None => Err(format!("no email containing {needle:?} arrived")),
            }
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_emailed_through_the_configured_smtp_server() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(move |c: &mut atelya::config::Config| {
            c.smtp_url = Some(atelya::config::Secret(url));
            c.mail_from = "Atelya <team@atelya.test>".into();
        }),
    )
    .await;
    let ann = app.signup("ann@example.com", "Acme Studio").await;
    app.change_plan(&ann.token, "STARTER").await;
    let token = app.invite(&ann.token, "bob@example.com", "MEMBER").await;

    let message = sink.wait_for("bob@example.com").await;
    assert!(message.contains("Acme Studio"), "{message}");
    assert!(
        message.contains(&token),
        "the accept token is in the email: {message}"
    );
    assert!(message.contains("team@atelya.test"), "{message}");

    // Once delivered, the database keeps neither the token nor the text.
    use sea_orm::EntityTrait;
    let db = app.state.db.conn();
    let row = eventually(std::time::Duration::from_secs(10), move || async move {
        let rows = entity::email_outbox::Entity::find().all(db).await.unwrap();
        match rows[0].sent_at {
            Some(_) => Ok(rows[0].clone()),
            None => Err(format!("not marked sent: {rows:?}")),
        }
    })
    .await;
    assert_eq!(row.sealed_secret, None);
    assert_eq!(row.body, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_invitation_sends_no_email() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(move |c: &mut atelya::config::Config| {
            c.smtp_url = Some(atelya::config::Secret(url))
        }),
    )
    .await;
    let ann = app.signup("ann@example.com", "Acme").await;
    // The trial's one seat is taken: the invitation is refused and its email never queued.
    let refused = app
        .gql(
            Some(&ann.token),
            "mutation { inviteMember(email: \"bob@example.com\") { acceptToken } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&refused), "SEAT_LIMIT_REACHED");
    app.change_plan(&ann.token, "STARTER").await;
    app.invite(&ann.token, "carol@example.com", "MEMBER").await;
    sink.wait_for("carol@example.com").await;
    assert!(!sink
        .messages
        .lock()
        .await
        .iter()
        .any(|m| m.contains("bob@example.com")));
}

db_test! {
    async fn delivering_mail_never_breaks_changes_running_at_the_same_time(app);
    {
        let owner = app.signup("owner@example.com", "Busy").await;
        app.change_plan(&owner.token, "AGENCY").await;
        let rename = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";
        let invite = "mutation($e: String!) { inviteMember(email: $e) { acceptToken } }";
        let started = std::time::Instant::now();
        let mut round = 0;
        // The dispatcher wakes every second and writes for each queued email;
        // keep changes (each of which queues one) running across several of its ticks.
        while started.elapsed() < Duration::from_millis(3500) {
            let app = &app;
            let token = owner.token.as_str();
            let bodies = futures_util::future::join_all((0..8).map(|i| async move {
                if i % 2 == 0 {
                    app.gql(Some(token), invite, json!({ "e": format!("p{round}-{i}@example.com") })).await
                } else {
                    app.gql(Some(token), rename, json!({ "n": format!("Busy {round}-{i}") })).await
                }
            }))
            .await;
            for body in bodies {
                assert!(body.get("errors").is_none(), "round {round}: {body}");
            }
            round += 1;
        }
    }
}
