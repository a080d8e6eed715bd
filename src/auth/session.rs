//! The caller of one request, resolved once from its bearer token.
//!
//! The member and their role are read from the database, or from the
//! instance's [`SessionCache`](super::session_cache::SessionCache) when read
//! there less than a second ago. A demotion, a removal or an ended sign-in
//! (logout, a replayed refresh token) drops the cached session when it
//! commits, and on other instances when the bus brings it, so it takes
//! effect at once where it was made and within a second everywhere; every
//! change checks the role again under its row lock anyway.

use chrono::{DateTime, Utc};
use entity::{member, refresh_token, user};
use sea_orm::{sea_query::Query, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::policy::Credential;
use crate::{
    error::{AppError, AppResult},
    member::Role,
    state::AppState,
};

/// A signed-in member of the token's workspace.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: user::Model,
    pub member: member::Model,
    pub role: Role,
    pub workspace_id: Uuid,
    pub token_expires_at: DateTime<Utc>,
    /// The sign-in (refresh-token family) the token belongs to.
    pub sign_in: Option<Uuid>,
    /// Set when the caller is an API key: the member is the key's creator,
    /// and `role` is the lower of the key's and the creator's.
    pub api_key: Option<KeyAccess>,
}

/// The API key a request came with.
#[derive(Debug, Clone)]
pub struct KeyAccess {
    pub id: Uuid,
    pub name: String,
    /// The role the key was given (the session's role never exceeds it).
    pub role: Role,
    /// The server's clock, by which a change judges the key's expiry again
    /// under its lock (a key may expire while its request runs).
    pub clock: crate::clock::Clock,
}

impl Session {
    /// What kind of credential the request came with.
    pub fn credential(&self) -> Credential {
        if self.api_key.is_some() {
            Credential::Key
        } else {
            Credential::Person
        }
    }

    /// Whose budget a request draws on: the key's, or the member's.
    pub fn principal(&self) -> Uuid {
        self.api_key.as_ref().map_or(self.user.id, |key| key.id)
    }

    /// The key acting, for the activity log.
    pub fn api_key_id(&self) -> Option<Uuid> {
        self.api_key.as_ref().map(|key| key.id)
    }
}

/// What the request's Authorization header amounts to.
#[derive(Debug, Clone)]
pub enum Authn {
    Anonymous,
    /// A token was sent but is not valid; fields that need a session say why.
    Rejected(String),
    /// The token could not be checked (the database failed): the server's
    /// fault, so fields that need a session answer INTERNAL, never
    /// UNAUTHENTICATED, which would tell a client to drop a good token.
    /// Holds the cause, for the log.
    Failed(String),
    Signed(Box<Session>),
}

impl Authn {
    pub fn session(&self) -> AppResult<&Session> {
        match self {
            Authn::Signed(session) => Ok(session),
            Authn::Rejected(reason) => Err(AppError::Unauthenticated(reason.clone())),
            Authn::Failed(cause) => Err(AppError::Internal(cause.clone())),
            Authn::Anonymous => Err(AppError::unauthenticated()),
        }
    }

    /// The error to show a client whose token could not be checked, in the
    /// shape of every INTERNAL error (for transports that answer before any
    /// GraphQL runs); `None` unless [`Authn::Failed`].
    pub fn fault(&self, request_id: &str) -> Option<serde_json::Value> {
        match self {
            Authn::Failed(cause) => {
                Some(AppError::Internal(cause.clone()).client_error(request_id))
            }
            _ => None,
        }
    }

    /// Resolves an `Authorization` header value (or the websocket's init payload).
    pub async fn from_header(state: &AppState, header: Option<&str>, leeway_secs: i64) -> Authn {
        let Some(header) = header else {
            return Authn::Anonymous;
        };
        match check(state, header, leeway_secs).await {
            Ok(session) => Authn::Signed(Box::new(session)),
            Err(AppError::Unauthenticated(reason)) => Authn::Rejected(reason),
            Err(AppError::Internal(cause)) => Authn::Failed(cause),
            Err(other) => Authn::Failed(other.to_string()),
        }
    }
}

/// The session of an `Authorization` header value: UNAUTHENTICATED when the
/// token or the membership is not valid, another error when it could not be read.
pub async fn check(state: &AppState, header: &str, leeway_secs: i64) -> AppResult<Session> {
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Err(AppError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        ));
    };
    let token = token.trim();
    if token.starts_with(crate::api_key::SECRET_PREFIX) {
        return crate::api_key::authn::authenticate(state, token).await;
    }
    resolve(state, token, leeway_secs).await
}

async fn resolve(state: &AppState, token: &str, leeway_secs: i64) -> AppResult<Session> {
    // The token's signature and expiry are checked on every request, cached or not.
    let claims = state.jwt.verify(token, state.clock.now(), leeway_secs)?;
    let token_expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_default();
    let cache = state.db.sessions();
    let key = (claims.sub, claims.wid, claims.sid);
    if let Some(mut session) = cache.get(&key) {
        session.token_expires_at = token_expires_at;
        return Ok(session);
    }
    let (read_at, generation) = (std::time::Instant::now(), cache.generation());
    let session = read(state, &claims).await?;
    let session = Session {
        token_expires_at,
        ..session
    };
    cache.put(key, session.clone(), read_at, generation);
    Ok(session)
}

/// The member a token names, read from the database.
#[tracing::instrument(level = "debug", skip_all, fields(workspace = %claims.wid, user = %claims.sub))]
async fn read(state: &AppState, claims: &crate::auth::jwt::Claims) -> AppResult<Session> {
    let mut query = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(claims.wid))
        .filter(member::Column::UserId.eq(claims.sub));
    if let Some(sign_in) = claims.sid {
        // In the same statement: the sign-in has a refresh token that was not revoked.
        query = query.filter(
            member::Column::UserId.in_subquery(
                Query::select()
                    .column(refresh_token::Column::UserId)
                    .from(refresh_token::Entity)
                    .and_where(refresh_token::Column::FamilyId.eq(sign_in))
                    .and_where(refresh_token::Column::WorkspaceId.eq(claims.wid))
                    .and_where(refresh_token::Column::RevokedAt.is_null())
                    .to_owned(),
            ),
        );
    }
    let found = query
        .find_also_related(user::Entity)
        .one(state.db.conn())
        .await?;
    let Some((member, Some(user))) = found else {
        return Err(AppError::Unauthenticated(
            "this sign-in ended, or you are no longer a member of this workspace".into(),
        ));
    };
    Ok(Session {
        role: member.role,
        workspace_id: member.workspace_id,
        token_expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
        sign_in: claims.sid,
        api_key: None,
        user,
        member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_in_a_log_line_shows_no_password_hash() {
        let now = Utc::now();
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        let user = user::Model {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            password_hash: hash.into(),
            created_at: now,
        };
        let member = member::Model {
            id: Uuid::now_v7(),
            workspace_id: Uuid::now_v7(),
            user_id: user.id,
            role: crate::member::Role::Owner,
            joined_at: now,
        };
        let session = Session {
            role: Role::Owner,
            workspace_id: member.workspace_id,
            token_expires_at: now,
            sign_in: None,
            api_key: None,
            user,
            member,
        };
        let printed = format!(
            "{session:?} {:#?}",
            Authn::Signed(Box::new(session.clone()))
        );
        assert!(printed.contains("ada@example.com"), "{printed}");
        assert!(!printed.contains("argon2id"), "{printed}");
    }
}
