//! Where outgoing mail goes: an SMTP server, or the log.

use entity::email_outbox::SECRET_PLACEHOLDER;
use lettre::{
    message::{header::ContentTransferEncoding, Body, Mailbox},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

pub enum Mailer {
    /// No transport configured: messages are written to the log.
    Log,
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

impl Mailer {
    /// An SMTP mailer for `smtp_url`, or the log when there is none.
    pub fn from_config(smtp_url: Option<&str>, from: &str) -> Result<Mailer, String> {
        let Some(url) = smtp_url else {
            return Ok(Mailer::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("ATELYA_SMTP_URL is not a valid SMTP URL: {e}"))?
            .build();
        let transport = Box::new(transport);
        let from = from
            .parse()
            .map_err(|e| format!("ATELYA_MAIL_FROM is not a valid mailbox: {e}"))?;
        Ok(Mailer::Smtp { transport, from })
    }

    /// Sends `body` with `secret` written where its placeholder is; the log
    /// mailer writes the text with the secret left out.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        secret: Option<&str>,
    ) -> Result<(), String> {
        match self {
            Mailer::Log => {
                let body = body.replace(SECRET_PLACEHOLDER, "[secret left out of the log]");
                tracing::info!(%to, %subject, %body, "email (no SMTP server configured, so it is logged)");
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let body = body.replace(SECRET_PLACEHOLDER, secret.unwrap_or_default());
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
                    .subject(subject)
                    // 8-bit keeps tokens intact (quoted-printable would wrap them).
                    .body(
                        Body::new_with_encoding(body, ContentTransferEncoding::EightBit)
                            .map_err(|_| "unencodable body")?,
                    )
                    .map_err(|e| e.to_string())?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test]
    async fn the_log_mailer_writes_the_text_without_its_secret() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = written.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || SharedWriter(sink.clone()))
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let body = format!("Your invitation token:\n\n    {SECRET_PLACEHOLDER}\n");
        Mailer::Log
            .send(
                "bob@example.com",
                "Join Acme",
                &body,
                Some("tok-3f9a-secret"),
            )
            .await
            .unwrap();
        let log = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(log.contains("bob@example.com"), "{log}");
        assert!(log.contains("Your invitation token"), "{log}");
        assert!(!log.contains("tok-3f9a-secret"), "{log}");
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
