//! The export formats: what each file is called and served as, and the
//! rendering of each (Markdown here; DOCX and PDF in their own modules).

use super::document::{Branding, Document};
use crate::error::AppResult;
pub use entity::enums::ExportFormat;

/// The file of a deliverable's `content` (Markdown) titled `title`.
/// DOCX and PDF take a while for long content: call this off the async runtime.
pub fn render(
    format: ExportFormat,
    title: &str,
    content: &str,
    brand: &Branding,
) -> AppResult<Vec<u8>> {
    match format {
        ExportFormat::Markdown => Ok(markdown(content, brand).into_bytes()),
        ExportFormat::Docx => super::docx::render(&Document::parse(title, content), brand),
        ExportFormat::Pdf => super::pdf::render(&Document::parse(title, content), brand),
    }
}

/// The letterhead as the first line, the content verbatim, then a rule and
/// the contact block.
pub fn markdown(content: &str, brand: &Branding) -> String {
    let mut out = format!("{}\n\n{content}\n\n---\n", brand.letterhead);
    if !brand.contact_block.is_empty() {
        out.push('\n');
        out.push_str(&brand.contact_block);
        out.push('\n');
    }
    out
}

/// Longest file name stem, so names stay readable and within what file systems take.
const STEM_MAX: usize = 80;

/// `<workroom>-<deliverable>-v<version>.<ext>`, in lower-case ASCII letters,
/// digits and dashes, so it needs no quoting anywhere it goes.
pub fn filename(workroom_title: &str, label: &str, version: i32, format: ExportFormat) -> String {
    let mut stem = slug(&format!("{workroom_title} {label}"));
    if stem.len() > STEM_MAX {
        stem.truncate(STEM_MAX);
        stem = stem.trim_end_matches('-').to_owned();
    }
    if stem.is_empty() {
        stem = "deliverable".into();
    }
    format!("{stem}-v{version}.{}", format.extension())
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::document::Rgb;

    fn brand(contact: &str) -> Branding {
        Branding {
            letterhead: "Northwind Studio".into(),
            accent: Rgb(0, 0, 0),
            contact_block: contact.into(),
            font: None,
        }
    }

    #[test]
    fn markdown_is_letterhead_content_rule_contact() {
        let content = "# Plan\n\n- one\n- two";
        assert_eq!(
            markdown(content, &brand("1 Quay St\nhello@northwind.example")),
            "Northwind Studio\n\n# Plan\n\n- one\n- two\n\n---\n\n1 Quay St\nhello@northwind.example\n"
        );
        assert_eq!(
            markdown(content, &brand("")),
            "Northwind Studio\n\n# Plan\n\n- one\n- two\n\n---\n"
        );
    }

    #[test]
    fn filenames_are_plain_and_bounded() {
        assert_eq!(
            filename("Spring launch: Café!", "Main brief", 2, ExportFormat::Pdf),
            "spring-launch-caf-main-brief-v2.pdf"
        );
        assert_eq!(
            filename("———", "", 1, ExportFormat::Markdown),
            "deliverable-v1.md"
        );
        let long = filename(&"word ".repeat(100), "x", 1, ExportFormat::Docx);
        assert!(long.len() <= STEM_MAX + 8, "{long}");
        assert!(long.ends_with("-v1.docx") && !long.contains("--"), "{long}");
    }
}
