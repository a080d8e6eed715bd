//! Exports: a deliverable rendered as a file branded with the workspace's
//! export profile, stored, listed and downloaded.
//!
//! - `profile`: the export profile (letterhead, accent colour, contact block, font).
//! - `document`: the deliverable's Markdown read into blocks, and the branding.
//! - `format`: the formats, their file names and types, and the Markdown file.
//! - `docx`, `pdf`: the renderers of those blocks.
//! - `service`: exporting (stored in the database) and downloading, each logged.
//! - `caps`: hourly caps on exports and downloads, per member and per address.
//! - `renders`: how many exports an instance renders at once.
//! - `graphql`: `ExportProfile`, `updateExportProfile`, `Export`, `exportDeliverable`.
//!
//! Downloads are served by `crate::http::download`.

pub mod caps;
pub mod document;
pub mod docx;
pub mod format;
pub mod graphql;
pub mod pdf;
pub mod profile;
pub mod renders;
pub mod service;

pub use renders::Renders;
