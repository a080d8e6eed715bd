//! The export profile that brands every export of a workspace: its
//! letterhead, accent colour, contact block and font.

pub mod graphql;
pub mod profile;

pub use graphql::ExportProfile;
