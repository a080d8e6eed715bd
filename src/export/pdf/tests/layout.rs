//! Layout tests: text kept inside the frame, headings kept with what
//! follows, the contact block at the foot, emoji left out.

use super::{brand, pages_of, pdf_text, texts};
use crate::export::document::Document;
use crate::export::pdf::fonts::faces;
use crate::export::pdf::layout::Op;
use crate::export::pdf::{render, FRAME};

#[test]
fn long_lines_tables_and_code_stay_inside_the_frame() {
    let long_word = "x".repeat(400);
    let row = "| Deliverable with a fairly long description | Owner | 1,200.00 |\n";
    let table = format!("| Item | Who | Cost |\n|:--|:-:|--:|\n{}", row.repeat(90));
    let code = format!("```\n{}\n```\n", "let value = compute(); ".repeat(20));
    let markdown = format!("{long_word}\n\n{table}\n{code}\n- {long_word}\n");
    let pages = pages_of(&markdown, &brand());
    assert!(pages.len() >= 3, "the table runs over pages");
    for page in &pages {
        for (x, baseline, _, text, width) in texts(page) {
            assert!(
                x >= FRAME.left - 0.01 && x + width <= FRAME.right + 0.01,
                "{text:?}"
            );
            assert!((FRAME.top..=FRAME.bottom).contains(&baseline), "{text:?}");
        }
        let header_repeated = texts(page).any(|(.., text, _)| text == "Item");
        let has_rows = texts(page).any(|(.., text, _)| text == "Owner");
        assert!(
            !has_rows || header_repeated,
            "each table page has the header"
        );
    }
}

#[test]
fn emoji_are_left_out_not_drawn_as_boxes() {
    let markdown = "Launch 🚀 today 🎉 with 👨\u{200D}👩\u{200D}👧 all\n\n- Done ✅ and 🙌 shipped\n\n```\nship() // 🚀 now\n```";
    let faces = faces().unwrap();
    let pages = pages_of(markdown, &brand());
    let drawn: Vec<&str> = texts(&pages[0]).map(|(.., text, _)| text).collect();
    assert!(drawn.contains(&"Launch today with all"), "{drawn:?}");
    assert!(drawn.contains(&"ship() // now"), "{drawn:?}");
    for op in &pages[0].ops {
        if let Op::Text { face, text, .. } = op {
            let face = faces.get(*face);
            assert!(
                text.chars().all(|c| face.has(c)),
                "{text:?} has a glyph its face lacks"
            );
        }
    }
    let doc = Document::parse("x", markdown);
    let (_, texts) = pdf_text(&render(&doc, &brand()).unwrap());
    assert!(texts[0].contains("Launch today with all"), "{texts:?}");
    assert!(!texts[0].contains('🚀') && !texts[0].contains('\u{FFFD}'));
}

#[test]
fn a_heading_stays_on_the_page_of_what_follows_it() {
    let table = "| Item | Cost |\n|:--|--:|\n| Design | 10 |\n";
    // Paragraphs and list items advance by different steps, so the heading
    // lands at many distances from the foot of the page.
    for filler in (20..27).flat_map(|p| (0..7).map(move |i| (p, i))) {
        let paragraphs = "A short paragraph of filler text.\n\n".repeat(filler.0)
            + &"- list item\n".repeat(filler.1)
            + "\n";
        for next in ["Following paragraph.", table, "```\ncode line\n```"] {
            let pages = pages_of(&format!("{paragraphs}## Next up\n\n{next}\n"), &brand());
            let page_of = |wanted: &str| {
                pages
                    .iter()
                    .position(|page| texts(page).any(|(.., text, _)| text.starts_with(wanted)))
                    .unwrap_or_else(|| panic!("{wanted:?} not placed"))
            };
            let first_word = ["Following", "Item", "code"]
                .into_iter()
                .find(|word| next.contains(word))
                .unwrap();
            assert_eq!(
                page_of("Next up"),
                page_of(first_word),
                "after {filler:?} paragraphs and items"
            );
        }
    }
}

#[test]
fn the_contact_block_sits_at_the_foot_of_the_last_page() {
    for filler in [1, 40, 44, 46, 48] {
        let markdown = "Some text in a paragraph.\n\n".repeat(filler);
        let pages = pages_of(&markdown, &brand());
        let last = pages.last().unwrap();
        let (_, baseline, size, ..) = texts(last)
            .find(|(.., text, _)| *text == "hello@northwind.studio")
            .expect("the last contact line is on the last page");
        let foot = baseline + size * 0.25;
        assert!(
            foot <= FRAME.bottom && foot > FRAME.bottom - size * 1.5,
            "{foot}"
        );
        let rule = last.ops.iter().rev().find_map(|op| match op {
            Op::Fill { y, width, .. } if *width >= FRAME.width() - 0.1 => Some(*y),
            _ => None,
        });
        let rule = rule.expect("a rule above the contact block");
        for (_, baseline, ..) in texts(last).filter(|(.., text, _)| text.starts_with("Some text")) {
            assert!(baseline < rule, "content above the rule");
        }
    }
}
