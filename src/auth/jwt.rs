//! Access tokens: HS256 JWTs with `sub`, `wid`, `iat`, `exp`, `iss`, `aud`.
//! `sub` and `wid` are the ids the API returns (`usr_…`, `wsp_…`), so an
//! integrator can match a token to `viewer`.
//!
//! The algorithm is pinned, so `alg: none` and every other algorithm are refused.
//! Expiry is checked against the server's [`Clock`] (not the system time) with at
//! most [`LEEWAY_SECS`] of leeway.
//!
//! A token's signature and claims are verified once: what a token's exact text
//! says cannot change, so it is kept (bounded, and dropped once expired) and
//! a client sending the same token again skips the HMAC and the decoding.
//! Its expiry is still checked on every request.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ids::{self, Kind},
};

pub const ISSUER: &str = "atelya";
pub const AUDIENCE: &str = "atelya-api";
/// Clock skew tolerated between servers, on requests only (open sockets get none).
pub const LEEWAY_SECS: i64 = 30;

/// What a verified token says.
#[derive(Debug, Clone, Copy)]
pub struct Claims {
    pub sub: Uuid,
    pub wid: Uuid,
    pub exp: i64,
    /// The sign-in (refresh-token family) the token was issued to: ending the
    /// sign-in (logout, a replayed refresh token) ends its access tokens too.
    pub sid: Option<Uuid>,
}

/// The claims as they travel.
#[derive(Serialize, Deserialize)]
struct WireClaims {
    sub: String,
    wid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<Uuid>,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: TimeDelta,
    /// Tokens already verified, by their text, with their claims and issue time.
    verified: Mutex<HashMap<Box<str>, (Claims, i64)>>,
}

/// Verified tokens kept at most.
const MAX_VERIFIED: usize = 10_000;

impl JwtKeys {
    pub fn new(secret: &str, ttl: std::time::Duration) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked below against the injectable clock.
        validation.validate_exp = false;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(15)),
            verified: Mutex::default(),
        }
    }

    /// Issues a token for a member of a workspace, in sign-in `sign_in`;
    /// returns it with its expiry.
    pub fn issue(
        &self,
        user: Uuid,
        workspace: Uuid,
        sign_in: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.ttl;
        let claims = WireClaims {
            sub: ids::encode(Kind::User, user),
            wid: ids::encode(Kind::Workspace, workspace),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sid: Some(sign_in),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((
            token,
            DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at),
        ))
    }

    /// Checks signature, algorithm, issuer, audience, and expiry with `leeway_secs`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>, leeway_secs: i64) -> AppResult<Claims> {
        let remembered = self
            .verified
            .lock()
            .expect("verified tokens")
            .get(token)
            .copied();
        let (claims, issued_at) = match remembered {
            Some(verified) => verified,
            None => {
                let verified = self.decode(token)?;
                self.remember(token, verified, now);
                verified
            }
        };
        if claims.exp + leeway_secs <= now.timestamp() {
            return Err(AppError::Unauthenticated("access token expired".into()));
        }
        if issued_at > now.timestamp() + LEEWAY_SECS {
            return Err(AppError::Unauthenticated(
                "access token issued in the future".into(),
            ));
        }
        Ok(claims)
    }

    /// The claims and issue time of a token whose signature and claims hold.
    fn decode(&self, token: &str) -> AppResult<(Claims, i64)> {
        let invalid =
            |why: String| AppError::Unauthenticated(format!("invalid access token: {why}"));
        let claims = decode::<WireClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| invalid(e.to_string()))?
            .claims;
        let id = |kind, id: &str| {
            ids::decode(kind, id, "id").map_err(|_| invalid(format!("{id:?} is not an id")))
        };
        let verified = Claims {
            sub: id(Kind::User, &claims.sub)?,
            wid: id(Kind::Workspace, &claims.wid)?,
            exp: claims.exp,
            sid: claims.sid,
        };
        Ok((verified, claims.iat))
    }

    /// Keeps a verified token until it expires; when the cache is full the
    /// expired ones go, and if that is not enough, all of them.
    fn remember(&self, token: &str, verified: (Claims, i64), now: DateTime<Utc>) {
        let mut tokens = self.verified.lock().expect("verified tokens");
        if tokens.len() >= MAX_VERIFIED {
            let now = now.timestamp();
            tokens.retain(|_, (claims, _)| claims.exp + LEEWAY_SECS > now);
            if tokens.len() >= MAX_VERIFIED {
                tokens.clear();
            }
        }
        tokens.insert(token.into(), verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            "a-test-secret-that-is-long-enough-123",
            std::time::Duration::from_secs(900),
        )
    }

    #[test]
    fn a_token_verifies_until_its_expiry_plus_leeway() {
        let keys = keys();
        let now = Utc::now();
        let (token, exp) = keys
            .issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), now)
            .unwrap();
        assert!(keys.verify(&token, now, LEEWAY_SECS).is_ok());
        assert!(keys
            .verify(&token, exp + TimeDelta::seconds(29), LEEWAY_SECS)
            .is_ok());
        assert!(keys
            .verify(&token, exp + TimeDelta::seconds(30), LEEWAY_SECS)
            .is_err());
        assert!(keys.verify(&token, exp, 0).is_err());
    }

    #[test]
    fn alg_none_and_other_secrets_are_refused() {
        let keys = keys();
        let now = Utc::now();
        let (token, _) = keys
            .issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), now)
            .unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none_header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys
            .verify(&format!("{none_header}.{payload}."), now, LEEWAY_SECS)
            .is_err());
        let other = JwtKeys::new(
            "another-secret-that-is-long-enough-99",
            std::time::Duration::from_secs(900),
        );
        let (forged, _) = other
            .issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), now)
            .unwrap();
        assert!(keys.verify(&forged, now, LEEWAY_SECS).is_err());
    }

    #[test]
    fn a_remembered_token_does_not_vouch_for_a_changed_one() {
        let keys = keys();
        let now = Utc::now();
        let (token, _) = keys
            .issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), now)
            .unwrap();
        assert!(keys.verify(&token, now, LEEWAY_SECS).is_ok());
        let (head, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{head}.{flipped}{}", &signature[1..]);
        assert!(keys.verify(&tampered, now, LEEWAY_SECS).is_err());
        assert!(keys.verify(&token, now, LEEWAY_SECS).is_ok());
    }

    #[test]
    fn remembered_tokens_are_bounded_and_expired_ones_go_first() {
        let keys = keys();
        let now = Utc::now();
        let issue = |at| {
            keys.issue(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), at)
                .unwrap()
                .0
        };
        let old = now - TimeDelta::hours(1);
        for _ in 0..MAX_VERIFIED - 1 {
            keys.verify(&issue(old), old, LEEWAY_SECS).unwrap();
        }
        let fresh = issue(now);
        keys.verify(&fresh, now, LEEWAY_SECS).unwrap();
        keys.verify(&issue(now), now, LEEWAY_SECS).unwrap();
        let kept = keys.verified.lock().unwrap();
        assert_eq!(
            kept.len(),
            2,
            "the expired tokens were dropped, the live ones kept"
        );
        assert!(kept.contains_key(fresh.as_str()));
    }
}
