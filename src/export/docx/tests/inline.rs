//! Runs and hyperlinks in the rendered document, and text that has to be
//! escaped or dropped on the way into XML.

use super::xml_check::assert_well_formed;
use super::{element_around, northwind, part, render_markdown, unpack};
use crate::export::document::{Block, Branding, Document, Marker, Span, Style};
use crate::export::docx::render;

#[test]
fn runs_carry_bold_italic_strike_and_code() {
    let parts = render_markdown(
        "Plain **strong** *soft* ~~gone~~ `npm run build` end.",
        &northwind(),
    );
    let document = part(&parts, "word/document.xml");
    assert!(element_around(document, "w:r", "strong").contains("<w:b />"));
    assert!(element_around(document, "w:r", "soft").contains("<w:i />"));
    assert!(element_around(document, "w:r", "gone").contains("<w:strike />"));
    let code = element_around(document, "w:r", "npm run build");
    assert!(code.contains(r#"w:ascii="Courier New""#), "{code}");
    let plain = element_around(document, "w:r", "Plain ");
    assert!(
        !plain.contains("<w:b />") && !plain.contains("Courier"),
        "{plain}"
    );
}

#[test]
fn links_are_external_hyperlinks() {
    let parts = render_markdown(
        "See [the **brief**](https://example.com/brief?a=1&b=2) and [top](#top).",
        &northwind(),
    );
    let document = part(&parts, "word/document.xml");
    let link = element_around(document, "w:hyperlink", "the ");
    assert!(
        link.contains(">brief</w:t>"),
        "one hyperlink for the whole link: {link}"
    );
    assert!(link.contains(r#"<w:u w:val="single" />"#), "{link}");
    assert!(link.contains(r#"<w:color w:val="0563C1" />"#), "{link}");
    let rid = link
        .split("r:id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a relationship id");
    let rels = part(&parts, "word/_rels/document.xml.rels");
    let relationship = format!(
        r#"Id="{rid}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/brief?a=1&amp;b=2" TargetMode="External""#
    );
    assert!(rels.contains(&relationship), "{rels}");
    assert_eq!(
        document.matches("<w:hyperlink").count(),
        1,
        "fragments stay text"
    );
    assert!(document.contains(">top</w:t>"));
}
#[test]
fn unicode_and_markup_characters_come_out_as_valid_xml() {
    let text = "AT&T <b>bold?</b> \"quoted\" 'single' — naïve 日本語 🚀👩‍💻\u{1}\u{FFFF}";
    let doc = Document {
        title: "R&D <Q3> \"plan\"".into(),
        blocks: vec![
            Block::Paragraph(vec![Span {
                text: text.into(),
                style: Style::default(),
            }]),
            Block::ListItem {
                depth: 0,
                marker: Marker::Continued,
                spans: vec![Span {
                    text: "line one\nline two".into(),
                    style: Style::default(),
                }],
            },
        ],
    };
    let brand = Branding {
        letterhead: "Smith & <Jones>".into(),
        font: Some("Fira \"Sans\" & Co".into()),
        ..northwind()
    };
    let parts = unpack(&render(&doc, &brand).expect("renders"));
    for (name, xml) in &parts {
        assert_well_formed(name, xml);
    }
    let document = part(&parts, "word/document.xml");
    assert!(document.contains(
        "AT&amp;T &lt;b&gt;bold?&lt;/b&gt; &quot;quoted&quot; &apos;single&apos; — naïve 日本語 🚀👩‍💻</w:t>"
    ));
    assert!(!document.contains('\u{1}'));
    assert!(document.contains(">line one</w:t><w:br w:type=\"textWrapping\" />"));
    assert!(part(&parts, "word/header1.xml").contains("Smith &amp; &lt;Jones&gt;"));
    assert!(part(&parts, "docProps/core.xml").contains("R&amp;D &lt;Q3&gt; &quot;plan&quot;"));
    assert!(part(&parts, "word/styles.xml").contains(r#"w:ascii="Fira &quot;Sans&quot; &amp; Co""#));
}
