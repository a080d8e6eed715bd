//! Who is calling and what they may do.
//!
//! - `jwt`: access tokens (HS256 pinned, every claim required).
//! - `password`: argon2id hashing, off the async runtime.
//! - `credentials`: the one password check, with its limits and constant cost.
//! - `secret`: opaque random tokens (refresh, invitation) and their stored hashes.
//! - `sealed`: secrets kept at rest that must be read back, encrypted with the server's key;
//!   `reseal`: sealing them again with the current key after a rotation.
//! - `session`: the signed-in member of a request, read from the database or,
//!   within a second and until their access changes, from `session_cache`.
//! - `policy`: the one table of who may do what; guards and services both ask it.
//! - `guard`: the async-graphql guards that front the policy on fields and mutations.

pub mod credentials;
pub mod guard;
pub mod jwt;
pub mod password;
pub mod policy;
pub mod reseal;
pub mod sealed;
pub mod secret;
pub mod session;
pub mod session_cache;

pub use guard::{Allowed, Open};
pub use policy::Action;
pub use session::{Authn, Session};
