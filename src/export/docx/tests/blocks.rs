//! Lists, tables, quotes, code, rules and the contact block in the rendered
//! document.

use super::{element_around, northwind, part, render_markdown};
use crate::export::document::Branding;

#[test]
fn lists_are_word_numbering_and_each_numbered_list_restarts() {
    let markdown = "- alpha\n  - nested\n- beta\n\n  more about beta\n\n\
                    Between.\n\n1. first\n2. second\n\nBreak.\n\n3. third\n";
    let parts = render_markdown(markdown, &northwind());
    let document = part(&parts, "word/document.xml");
    let num_pr = |text: &str| {
        let paragraph = element_around(document, "w:p", text);
        let start = paragraph.find("<w:numPr>")?;
        let end = paragraph.find("</w:numPr>")?;
        Some(paragraph[start..end].to_owned())
    };
    let alpha = num_pr("alpha").expect("alpha is numbered");
    assert!(
        alpha.contains(r#"<w:ilvl w:val="0" />"#) && alpha.contains(r#"<w:numId w:val="2" />"#)
    );
    assert!(num_pr("nested")
        .expect("numbered")
        .contains(r#"<w:ilvl w:val="1" />"#));
    assert_eq!(num_pr("more about beta"), None);
    let list_end = element_around(document, "w:p", "more about beta");
    assert!(list_end.contains("<w:ind "), "{list_end}");
    assert!(
        list_end.contains(r#"w:after="160""#),
        "space under a list: {list_end}"
    );
    assert!(element_around(document, "w:p", "alpha").contains(r#"w:after="80""#));
    let first = num_pr("first").expect("numbered");
    assert_eq!(
        num_pr("second").as_ref(),
        Some(&first),
        "one list, one instance"
    );
    let third = num_pr("third").expect("numbered");
    assert!(third.contains(r#"<w:numId w:val="4" />"#), "{third}");
    let numbering = part(&parts, "word/numbering.xml");
    assert!(numbering.contains(r#"<w:numFmt w:val="bullet" />"#));
    assert!(numbering.contains(r#"<w:numFmt w:val="decimal" />"#));
    let fourth_instance = &numbering[numbering.find(r#"<w:num w:numId="4">"#).expect("num 4")..];
    assert!(
        fourth_instance.starts_with(
            r#"<w:num w:numId="4"><w:abstractNumId w:val="3" /><w:lvlOverride w:ilvl="0"><w:startOverride w:val="3" />"#
        ),
        "{fourth_instance}"
    );
    assert!(part(&parts, "word/_rels/document.xml.rels").contains("numbering.xml"));
}

#[test]
fn tables_have_a_shaded_bold_header_borders_and_alignment() {
    let markdown = "| Phase | Cost |\n|:--|--:|\n| Discovery | 8,500 |\n| Identity | 18,000 |\n";
    let parts = render_markdown(markdown, &northwind());
    let document = part(&parts, "word/document.xml");
    let header = element_around(document, "w:tc", "Phase");
    assert!(header.contains(r#"w:fill="DBEBEF""#), "{header}");
    assert!(element_around(document, "w:r", "Phase").contains("<w:b />"));
    let cost = element_around(document, "w:p", "18,000");
    assert!(cost.contains(r#"<w:jc w:val="right" />"#), "{cost}");
    assert!(element_around(document, "w:p", "Discovery").contains(r#"<w:jc w:val="left" />"#));
    let table = element_around(document, "w:tbl", "Discovery");
    assert!(
        table.contains(r#"<w:insideH w:val="single" w:sz="4" w:space="0" w:color="D1D5DB" />"#),
        "{table}"
    );
}

#[test]
fn quotes_code_and_rules_are_set_apart() {
    let markdown =
        "> Good design is obvious.\n\n```\nfn main() {\n\tlet x = 1;\n}\n```\n\n---\n\nAfter.";
    let parts = render_markdown(markdown, &northwind());
    let document = part(&parts, "word/document.xml");
    let quote = element_around(document, "w:p", "Good design is obvious.");
    assert!(
        quote.contains(r#"<w:left w:val="single" w:space="10" w:sz="18" w:color="0E7490" />"#),
        "{quote}"
    );
    let code = element_around(document, "w:p", "fn main() {");
    assert!(code.contains(r#"w:fill="F3F4F6""#), "{code}");
    assert!(code.contains(r#"w:ascii="Courier New""#), "{code}");
    assert_eq!(
        code.matches("<w:br w:type=\"textWrapping\" />").count(),
        2,
        "a break between lines: {code}"
    );
    assert!(
        code.contains("<w:tab />") && code.contains(">let x = 1;</w:t>"),
        "{code}"
    );
    assert!(code.contains(">}</w:t>"), "{code}");
    let rules = document
        .split("<w:p ")
        .map(|paragraph| &paragraph[..paragraph.find("</w:p>").unwrap_or(paragraph.len())])
        .filter(|paragraph| !paragraph.contains("<w:t"))
        .filter(|paragraph| {
            paragraph
                .contains(r#"<w:bottom w:val="single" w:space="1" w:sz="6" w:color="D1D5DB" />"#)
        })
        .count();
    assert_eq!(rules, 1, "{document}");
}

#[test]
fn the_contact_block_closes_the_document_small_and_grey() {
    let parts = render_markdown("# Title\n\nLast paragraph.", &northwind());
    let document = part(&parts, "word/document.xml");
    let contact = element_around(document, "w:p", "+44 117 496 0000");
    assert!(
        contact.contains(">12 Harbour Lane, Bristol BS1 4RN</w:t>"),
        "{contact}"
    );
    assert!(
        contact.contains(">hello@northwind.example</w:t>"),
        "{contact}"
    );
    assert_eq!(
        contact.matches("<w:br w:type=\"textWrapping\" />").count(),
        2,
        "{contact}"
    );
    assert!(
        contact.contains(r#"<w:color w:val="6B7280" />"#),
        "{contact}"
    );
    assert!(contact.contains(r#"<w:sz w:val="18" />"#), "{contact}");
    assert!(
        contact.contains("<w:top w:val=\"single\""),
        "a rule above: {contact}"
    );
    let last = document.find("Last paragraph.").unwrap();
    assert!(document.find("Harbour Lane").unwrap() > last);
    assert!(!document[document.find("hello@northwind.example").unwrap()..].contains("<w:t"));

    let without = Branding {
        contact_block: " \n".into(),
        ..northwind()
    };
    let parts = render_markdown("Only text.", &without);
    assert!(!part(&parts, "word/document.xml").contains("6B7280"));
}
