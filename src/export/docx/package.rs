//! The finished document as DOCX bytes, with its document properties.
//!
//! docx-rs offers no way to set the core properties' title or author, so the
//! built parts get core and application properties written here.

use std::io::Cursor;

use chrono::{DateTime, SecondsFormat, Utc};
use docx_rs::Docx;

use super::text::{escape_markup, xml_safe};
use crate::error::{AppError, AppResult};

/// The author and application the properties name.
const CREATOR: &str = "Atelya";

/// `docx` packed into a DOCX archive whose core properties carry `title`.
pub(super) fn pack(docx: Docx, title: &str) -> AppResult<Vec<u8>> {
    let mut parts = docx.build();
    parts.doc_props.core = core_properties(title, Utc::now()).into_bytes();
    parts.doc_props.app = app_properties().into_bytes();
    let mut archive = Cursor::new(Vec::new());
    parts
        .pack(&mut archive)
        .map_err(|err| AppError::Internal(format!("writing the DOCX archive: {err}")))?;
    Ok(archive.into_inner())
}

fn core_properties(title: &str, now: DateTime<Utc>) -> String {
    let title = escape_markup(&xml_safe(title.trim()));
    let now = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            r#"<cp:coreProperties"#,
            r#" xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties""#,
            r#" xmlns:dc="http://purl.org/dc/elements/1.1/""#,
            r#" xmlns:dcterms="http://purl.org/dc/terms/""#,
            r#" xmlns:dcmitype="http://purl.org/dc/dcmitype/""#,
            r#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<dc:title>{title}</dc:title>",
            "<dc:creator>{creator}</dc:creator>",
            "<cp:lastModifiedBy>{creator}</cp:lastModifiedBy>",
            "<cp:revision>1</cp:revision>",
            r#"<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>"#,
            r#"<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>"#,
            "</cp:coreProperties>"
        ),
        title = title,
        creator = CREATOR,
        now = now,
    )
}

fn app_properties() -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            r#"<Properties"#,
            r#" xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties""#,
            r#" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">"#,
            "<Application>{}</Application>",
            "</Properties>"
        ),
        CREATOR
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_properties_escape_the_title() {
        let at = DateTime::parse_from_rfc3339("2025-03-04T05:06:07Z")
            .map(|at| at.with_timezone(&Utc))
            .unwrap();
        let xml = core_properties(" Q3 <Plan> & \"Goals\"\u{1} ", at);
        assert!(xml.contains("<dc:title>Q3 &lt;Plan&gt; &amp; &quot;Goals&quot;</dc:title>"));
        assert!(xml.contains("<dc:creator>Atelya</dc:creator>"));
        assert!(xml.contains(">2025-03-04T05:06:07Z</dcterms:created>"));
    }
}
