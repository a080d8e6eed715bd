//! Values parsed once at the edge, so invalid ones cannot exist inside.

use crate::error::{AppError, AppResult};

/// Names and titles: 1 to 200 characters after trimming.
pub const NAME_MAX: usize = 200;

/// A lower-cased, syntactically plausible email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> AppResult<Email> {
        let email = raw.trim().to_lowercase();
        let invalid = || AppError::bad_input(format!("{raw:?} is not a valid email address"));
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A trimmed, non-empty text of at most `max` characters; `what` names it in errors.
pub fn text(raw: &str, what: &str, max: usize) -> AppResult<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AppError::bad_input(format!("{what} must not be empty")));
    }
    limit(trimmed, what, max)?;
    Ok(trimmed.to_owned())
}

/// BAD_USER_INPUT when `value` is longer than `max` characters.
pub fn limit(value: &str, what: &str, max: usize) -> AppResult<()> {
    if value.chars().count() > max {
        return Err(AppError::bad_input(format!(
            "{what} must be at most {max} characters"
        )));
    }
    Ok(())
}

/// A name or title (1 to 200 characters).
pub fn name(raw: &str, what: &str) -> AppResult<String> {
    text(raw, what, NAME_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_limited_to_200_characters() {
        assert!(name(&"é".repeat(200), "name").is_ok());
        assert!(name(&"é".repeat(201), "name").is_err());
        assert!(name("   ", "name").is_err());
    }
}
