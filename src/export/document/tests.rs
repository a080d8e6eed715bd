//! The reader's blocks for Markdown a deliverable holds.

use super::*;

fn texts(block: &Block) -> String {
    match block {
        Block::Heading { spans, .. }
        | Block::Paragraph(spans)
        | Block::ListItem { spans, .. }
        | Block::Quote(spans) => plain(spans),
        Block::Code(code) => code.clone(),
        Block::Rule => "---".into(),
        Block::Table { .. } => "table".into(),
    }
}

#[test]
fn headings_paragraphs_and_emphasis() {
    let doc = Document::parse(
        "Brief",
        "# Launch plan\n\nWe **will** ship *soon*, see [the site](https://example.com).\n",
    );
    assert_eq!(doc.blocks.len(), 2);
    assert!(
        matches!(&doc.blocks[0], Block::Heading { level: 1, spans } if plain(spans) == "Launch plan")
    );
    let Block::Paragraph(spans) = &doc.blocks[1] else {
        panic!("{:?}", doc.blocks[1]);
    };
    assert_eq!(plain(spans), "We will ship soon, see the site.");
    assert!(spans.iter().any(|s| s.text == "will" && s.style.bold));
    assert!(spans.iter().any(|s| s.text == "soon" && s.style.italic));
    assert!(spans
        .iter()
        .any(|s| s.text == "the site" && s.style.link.as_deref() == Some("https://example.com")));
}

#[test]
fn lists_flatten_with_depth_and_numbers() {
    let doc = Document::parse("x", "1. one\n2. two\n   - inner\n3. three\n\n- a\n- b\n");
    let items: Vec<(usize, Marker, String)> = doc
        .blocks
        .iter()
        .map(|b| match b {
            Block::ListItem {
                depth,
                marker,
                spans,
            } => (*depth, *marker, plain(spans)),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        items,
        vec![
            (0, Marker::Number(1), "one".into()),
            (0, Marker::Number(2), "two".into()),
            (1, Marker::Bullet, "inner".into()),
            (0, Marker::Number(3), "three".into()),
            (0, Marker::Bullet, "a".into()),
            (0, Marker::Bullet, "b".into()),
        ]
    );
}

#[test]
fn tables_quotes_code_and_rules() {
    let md = "| Item | Cost |\n|:--|--:|\n| Design | 10 |\n| Copy |\n\n> quoted\n\n```\nfn x() {}\n```\n\n---\n";
    let doc = Document::parse("x", md);
    let Block::Table {
        align,
        header,
        rows,
    } = &doc.blocks[0]
    else {
        panic!("{:?}", doc.blocks);
    };
    assert_eq!(align, &vec![Align::Left, Align::Right]);
    assert_eq!(plain(&header[1]), "Cost");
    assert_eq!(plain(&rows[0][0]), "Design");
    assert_eq!(rows[1].len(), 2, "short rows are padded");
    let rest: Vec<String> = doc.blocks[1..].iter().map(texts).collect();
    assert_eq!(rest, vec!["quoted", "fn x() {}", "---"]);
    assert!(matches!(doc.blocks[1], Block::Quote(_)));
}

#[test]
fn hard_breaks_stay_and_soft_breaks_become_spaces() {
    let doc = Document::parse("x", "one\ntwo  \nthree");
    assert_eq!(texts(&doc.blocks[0]), "one two\nthree");
}

#[test]
fn accent_colours_read_back() {
    assert_eq!(Rgb::from_hex("#1a2B3c"), Rgb(0x1A, 0x2B, 0x3C));
    assert_eq!(Rgb(0x1A, 0x2B, 0x3C).hex(), "1A2B3C");
    assert_eq!(Rgb::from_hex("nonsense"), Rgb(0x1F, 0x29, 0x37));
}
