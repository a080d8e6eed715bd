//! The rendered DOCX read back from its archive: the parts Word needs, the
//! letterhead, heading styles and default font here; blocks and runs in the
//! submodules.

mod blocks;
mod inline;
mod sample;
mod xml_check;

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::render;
use crate::export::document::{Branding, Document, Rgb};
use xml_check::assert_well_formed;

pub(super) fn northwind() -> Branding {
    Branding {
        letterhead: "Northwind Studio".into(),
        accent: Rgb::from_hex("#0E7490"),
        contact_block:
            "12 Harbour Lane, Bristol BS1 4RN\n+44 117 496 0000\nhello@northwind.example".into(),
        font: Some("Georgia".into()),
    }
}

/// Every part of the archive, by name.
pub(super) fn unpack(bytes: &[u8]) -> HashMap<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip archive");
    let mut parts = HashMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("an entry");
        if file.is_dir() {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).expect("UTF-8 XML");
        parts.insert(file.name().to_owned(), text);
    }
    parts
}

pub(super) fn render_markdown(markdown: &str, brand: &Branding) -> HashMap<String, String> {
    let bytes = render(&Document::parse("Brand refresh", markdown), brand).expect("renders");
    let parts = unpack(&bytes);
    for (name, xml) in &parts {
        assert_well_formed(name, xml);
    }
    parts
}

pub(super) fn part<'a>(parts: &'a HashMap<String, String>, name: &str) -> &'a str {
    parts.get(name).unwrap_or_else(|| panic!("no {name}"))
}

/// The markup of the element `<{tag}>` (such as `w:p` or `w:r`) around the text `text`.
pub(super) fn element_around<'a>(xml: &'a str, tag: &str, text: &str) -> &'a str {
    let at = xml
        .find(&format!(">{text}</w:t>"))
        .unwrap_or_else(|| panic!("no text {text:?}"));
    let start = [format!("<{tag}>"), format!("<{tag} ")]
        .iter()
        .filter_map(|open| xml[..at].rfind(open.as_str()))
        .max()
        .unwrap_or_else(|| panic!("{text:?} is not in a <{tag}>"));
    let end = at + xml[at..].find(&format!("</{tag}>")).expect("closed");
    &xml[start..end]
}
#[test]
fn the_package_has_its_parts_and_the_letterhead_heads_every_page() {
    let parts = render_markdown("Hello.", &northwind());
    for name in [
        "[Content_Types].xml",
        "word/document.xml",
        "word/styles.xml",
        "word/header1.xml",
        "word/footer1.xml",
        "word/_rels/document.xml.rels",
    ] {
        assert!(parts.contains_key(name), "no {name}");
    }
    let header = part(&parts, "word/header1.xml");
    let letterhead = element_around(header, "w:r", "Northwind Studio");
    assert!(letterhead.contains("<w:b />"), "{letterhead}");
    assert!(
        letterhead.contains(r#"<w:color w:val="0E7490" />"#),
        "{letterhead}"
    );
    assert!(part(&parts, "word/document.xml").contains("<w:headerReference w:type=\"default\""));
    assert!(part(&parts, "[Content_Types].xml").contains("/word/header1.xml"));
    let core = part(&parts, "docProps/core.xml");
    assert!(
        core.contains("<dc:title>Brand refresh</dc:title>"),
        "{core}"
    );
    assert!(core.contains("<dc:creator>Atelya</dc:creator>"), "{core}");
}

#[test]
fn headings_use_word_heading_styles_in_the_accent_colour() {
    let parts = render_markdown("# Launch plan\n\nBody text.\n\n## Budget\n", &northwind());
    let document = part(&parts, "word/document.xml");
    let h1 = element_around(document, "w:p", "Launch plan");
    assert!(h1.contains(r#"<w:pStyle w:val="Heading1" />"#), "{h1}");
    assert!(h1.contains(r#"<w:color w:val="0E7490" />"#), "{h1}");
    let h2 = element_around(document, "w:p", "Budget");
    assert!(h2.contains(r#"<w:pStyle w:val="Heading2" />"#), "{h2}");
    let body = element_around(document, "w:p", "Body text.");
    assert!(!body.contains("w:pStyle"), "{body}");
    let styles = part(&parts, "word/styles.xml");
    let heading2 = &styles[styles.find(r#"w:styleId="Heading2""#).expect("Heading2")..];
    let heading2 = &heading2[..heading2.find("</w:style>").unwrap()];
    assert!(
        heading2.contains(r#"<w:name w:val="heading 2" />"#),
        "{heading2}"
    );
    assert!(
        heading2.contains(r#"<w:outlineLvl w:val="1" />"#),
        "{heading2}"
    );
    assert!(
        heading2.contains(r#"<w:color w:val="0E7490" />"#),
        "{heading2}"
    );
    assert!(heading2.contains(r#"<w:sz w:val="32" />"#), "{heading2}");
}
#[test]
fn the_profile_font_is_the_default_font() {
    let parts = render_markdown("Text.", &northwind());
    let styles = part(&parts, "word/styles.xml");
    let defaults = &styles[..styles.find("</w:docDefaults>").expect("defaults")];
    for script in ["w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"] {
        assert!(
            defaults.contains(&format!(r#"{script}="Georgia""#)),
            "{defaults}"
        );
    }
    let parts = render_markdown(
        "Text.",
        &Branding {
            font: None,
            ..northwind()
        },
    );
    assert!(part(&parts, "word/styles.xml").contains(r#"w:ascii="Calibri""#));
}
