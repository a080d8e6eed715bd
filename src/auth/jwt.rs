//! Access tokens: HS256 JWTs with `sub`, `wid`, `iat`, `exp`, `iss`, `aud`.
//! `sub` and `wid` are the ids the API returns (`usr_…`, `wsp_…`), so an
//! integrator can match a token to `viewer`.
//!
//! The algorithm is pinned, so `alg: none` and every other algorithm are refused.
//! Expiry is checked against the server's [`Clock`] (not the system time) with at
//! most [`LEEWAY_SECS`] of leeway.

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
#[derive(Debug)]
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
}

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
        let invalid =
            |why: String| AppError::Unauthenticated(format!("invalid access token: {why}"));
        let claims = decode::<WireClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| invalid(e.to_string()))?
            .claims;
        if claims.exp + leeway_secs <= now.timestamp() {
            return Err(AppError::Unauthenticated("access token expired".into()));
        }
        if claims.iat > now.timestamp() + LEEWAY_SECS {
            return Err(AppError::Unauthenticated(
                "access token issued in the future".into(),
            ));
        }
        let id = |kind, id: &str| {
            ids::decode(kind, id, "id").map_err(|_| invalid(format!("{id:?} is not an id")))
        };
        Ok(Claims {
            sub: id(Kind::User, &claims.sub)?,
            wid: id(Kind::Workspace, &claims.wid)?,
            exp: claims.exp,
            sid: claims.sid,
        })
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
}
