//! Nothing that grants access is printed: not by `--help`, not in the log.

use std::process::Command;

/// Each secret-bearing setting, with a value whose password must not show.
const SECRET_SETTINGS: [(&str, &str); 7] = [
    (
        "DATABASE_URL",
        "postgres://atelya:db-pass-7f3a@db.internal/atelya",
    ),
    ("REDIS_URL", "redis://:redis-pass-7f3a@cache.internal:6379"),
    ("JWT_SECRET", "jwt-pass-7f3a-jwt-pass-7f3a-jwt-pass-7f3a"),
    (
        "ATELYA_SECRET_KEY",
        "7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a",
    ),
    (
        "ATELYA_SMTP_URL",
        "smtp://mailer:smtp-pass-7f3a@mail.internal:587",
    ),
    ("LLM_API_KEY", "sk-llm-pass-7f3a"),
    (
        "ATELYA_SECRET_KEY_PREVIOUS",
        "1:7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a7f3a",
    ),
];

fn help_of(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelya"));
    command.args(args);
    for (name, value) in SECRET_SETTINGS {
        command.env(name, value);
    }
    let output = command.output().expect("atelya runs");
    assert!(output.status.success(), "{args:?} failed: {output:?}");
    String::from_utf8(output.stdout).expect("help is text")
}

#[test]
fn help_names_every_secret_setting_but_shows_none_of_their_values() {
    for args in [&["serve", "--help"][..], &["migrate", "--help"][..]] {
        let help = help_of(args);
        assert!(help.contains("DATABASE_URL"), "{help}");
        for (name, value) in SECRET_SETTINGS {
            assert!(!help.contains(value), "{args:?} prints {name}:\n{help}");
        }
        assert!(!help.contains("7f3a"), "{args:?} prints a secret:\n{help}");
    }
}
