//! The credit pool of a workspace: an append-only ledger and its running balance.
//!
//! The balance and the ledger change together in [`ledger::append`], under the
//! workspace row lock, so no two writers can both spend the same credit and
//! every entry's `balanceAfter` is the true running sum. The database also
//! refuses a negative balance (a CHECK constraint), as a last line of defence.

pub mod graphql;
pub mod holds;
pub mod ledger;
pub mod low;
pub mod usage;

pub use ledger::{EntryKind, NewEntry};
