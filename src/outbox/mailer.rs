//! Where outgoing mail goes: an SMTP server, or the log.

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

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        match self {
            Mailer::Log => {
                tracing::info!(%to, %subject, %body, "email (no SMTP server configured, so it is logged)");
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
                    .subject(subject)
                    // 8-bit keeps tokens intact (quoted-printable would wrap them).
                    .body(
                        Body::new_with_encoding(body.to_owned(), ContentTransferEncoding::EightBit)
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
