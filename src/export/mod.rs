//! Exports: a deliverable rendered as a file branded with the workspace's
//! export profile, stored, listed and downloaded.
//!
//! - `profile`: the export profile (letterhead, accent colour, contact block, font).
//! - `document`: the deliverable's Markdown read into blocks, and the branding.
//! - `format`: the formats, their file names and types, and the Markdown file.
//! - `docx`, `pdf`: the renderers of those blocks.
//! - `service`: exporting (stored in the database) and downloading, each logged.
//! - `graphql`: `ExportProfile`, `updateExportProfile`, `Export`, `exportDeliverable`.
//!
//! Downloads are served by `crate::http::download`.

pub mod document;
pub mod docx;
pub mod format;
pub mod graphql;
pub mod pdf;
pub mod profile;
pub mod service;

pub use graphql::{Export, ExportProfile};
