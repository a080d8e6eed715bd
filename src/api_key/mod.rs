//! API keys: a workspace's machine credentials for integrators, used as
//! bearer tokens on HTTP, websockets and SSE.
//!
//! - A secret is `atk_` and 32 random bytes (256 bits) in URL-safe base64,
//!   shown once; only its SHA-256 is stored, with its first characters to
//!   recognise it.
//! - A key acts for one workspace as its creator, with the lower of the
//!   key's role (at most the creator's when made, never OWNER) and the
//!   creator's current role. It is bound to the creator's membership row:
//!   when the creator leaves or is removed it stops for good (joining again
//!   makes a new row).
//! - A key never obtains tokens, manages keys or administers people (the
//!   policy's rule for the `Key` credential).
//! - At most `ATELYA_MAX_API_KEYS` live keys per workspace; creations are
//!   limited per person and per client address.
//! - It is read fresh on every request (no cache): revoked or expired, the
//!   next request is refused, and its sockets close.
//! - What a key does is logged under its creator with `metadata.apiKey`,
//!   and its cost budget is its own.

pub mod authn;
pub mod graphql;
mod limits;
pub mod service;

/// How every secret begins, so a leaked one is recognisable (and scannable).
pub const SECRET_PREFIX: &str = "atk_";
