//! Tests of the PDF renderer: the written file read back with lopdf, and
//! the layout checked against the page margins.

use lopdf::{Document as Pdf, Object};

use super::fonts::{faces, Family};
use super::layout::{lay_out, Op, Page};
use super::{render, Theme, FRAME};
use crate::export::document::{Branding, Document, Rgb};

fn brand() -> Branding {
    Branding {
        letterhead: "Northwind Studio".into(),
        accent: Rgb(0x0E, 0x74, 0x90),
        contact_block: "12 Harbour Lane, Bristol\n+44 117 496 0000\nhello@northwind.studio".into(),
        font: None,
    }
}

const SAMPLE: &str = "# Brand refresh proposal\n\n\
Our team will **redesign** the identity and *refresh* the site, see \
[the brief](https://example.com/brief).\n\n\
## Scope\n\n- Discovery workshop\n  1. Stakeholder interviews\n- Visual identity\n\n\
| Phase | Weeks |\n|:--|--:|\n| Discovery | 2 |\n| Design | 4 |\n\n\
> Good design is good business.\n\n```\nfn main() {}\n```\n";

fn pdf_text(bytes: &[u8]) -> (Pdf, Vec<String>) {
    let pdf = Pdf::load_mem(bytes).expect("the output parses as PDF");
    let pages = pdf
        .get_pages()
        .keys()
        .map(|n| pdf.extract_text(&[*n]).expect("text extracts"))
        .collect();
    (pdf, pages)
}

fn pages_of(markdown: &str, brand: &Branding) -> Vec<Page> {
    let doc = Document::parse("Proposal", markdown);
    lay_out(&doc, brand, &Theme::new(brand), faces().unwrap())
}

/// Every text operation: (x, baseline, size, text, measured width).
fn texts(page: &Page) -> impl Iterator<Item = (f32, f32, f32, &str, f32)> {
    let faces = faces().unwrap();
    page.ops.iter().filter_map(move |op| match op {
        Op::Text {
            x,
            baseline,
            face,
            size,
            text,
            ..
        } => Some((
            *x,
            *baseline,
            *size,
            text.as_str(),
            faces.get(*face).width(text, *size),
        )),
        _ => None,
    })
}

#[test]
fn the_pdf_holds_letterhead_content_and_contact_block() {
    let doc = Document::parse("Brand refresh", SAMPLE);
    let (_, pages) = pdf_text(&render(&doc, &brand()).unwrap());
    let text = pages.join("\n");
    for expected in [
        "Northwind Studio",
        "Brand refresh proposal",
        "redesign",
        "the site, see",
        "Discovery workshop",
        "Stakeholder interviews",
        "Discovery",
        "Weeks",
        "Good design is good business.",
        "fn main() {}",
        "12 Harbour Lane, Bristol",
        "+44 117 496 0000",
        "hello@northwind.studio",
        "Page 1 of 1",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from {text:?}"
        );
    }
}

#[test]
fn a_long_document_breaks_into_pages_within_the_margins() {
    let paragraph = "The studio will deliver a considered, consistent identity across every \
                     touchpoint, tested with real customers before launch.";
    let markdown: String = (0..200).map(|i| format!("{i} {paragraph}\n\n")).collect();
    let pages = pages_of(&markdown, &brand());
    assert!(pages.len() >= 5, "{} pages", pages.len());
    for page in &pages {
        for (x, baseline, size, text, width) in texts(page) {
            assert!(x >= FRAME.left - 0.01, "{text:?} starts at {x}");
            assert!(
                x + width <= FRAME.right + 0.01,
                "{text:?} ends at {}",
                x + width
            );
            assert!(
                baseline - size * 0.8 >= FRAME.top - 0.01,
                "{text:?} above the frame"
            );
            assert!(
                baseline + size * 0.25 <= FRAME.bottom + 0.01,
                "{text:?} below the frame"
            );
        }
    }
    let first_words: Vec<&str> = pages
        .iter()
        .flat_map(texts)
        .filter_map(|(.., text, _)| text.split(' ').next())
        .collect();
    assert!(first_words.contains(&"199"), "the last paragraph is placed");

    let bytes = render(&Document::parse("Long", &markdown), &brand()).unwrap();
    let (_, texts) = pdf_text(&bytes);
    assert_eq!(texts.len(), pages.len());
    for (number, text) in texts.iter().enumerate() {
        assert!(
            text.contains("Northwind Studio"),
            "page {} lacks the letterhead",
            number + 1
        );
        assert!(text.contains(&format!("Page {} of {}", number + 1, texts.len())));
    }
    assert!(texts.last().unwrap().contains("hello@northwind.studio"));
}

#[test]
fn links_become_uri_link_annotations() {
    let doc = Document::parse("x", "Read [the brief](https://example.com/brief) first.");
    let (pdf, _) = pdf_text(&render(&doc, &brand()).unwrap());
    let page = *pdf.get_pages().values().next().unwrap();
    let annotations = pdf.get_page_annotations(page).unwrap();
    let uris: Vec<Vec<u8>> = annotations
        .iter()
        .filter(|a| a.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Link"))
        .filter_map(|a| {
            let action = match a.get(b"A").ok()? {
                Object::Reference(id) => pdf.get_dictionary(*id).ok()?,
                Object::Dictionary(dict) => dict,
                _ => return None,
            };
            action.get(b"URI").ok()?.as_str().ok().map(<[u8]>::to_vec)
        })
        .collect();
    assert_eq!(uris, vec![b"https://example.com/brief".to_vec()]);
}

#[test]
fn the_accent_colour_is_a_fill_colour() {
    let doc = Document::parse("x", "# Heading\n\nBody.");
    let (pdf, _) = pdf_text(&render(&doc, &brand()).unwrap());
    let page = *pdf.get_pages().values().next().unwrap();
    let content = pdf.get_and_decode_page_content(page).unwrap();
    let accent = [0x0E_u8, 0x74, 0x90].map(|c| f32::from(c) / 255.0);
    let fills: Vec<Vec<f32>> = content
        .operations
        .iter()
        .filter(|op| op.operator == "rg")
        .map(|op| {
            op.operands
                .iter()
                .filter_map(|o| o.as_float().ok())
                .collect()
        })
        .collect();
    let is_accent =
        |f: &Vec<f32>| f.len() == 3 && f.iter().zip(accent).all(|(a, b)| (a - b).abs() < 0.002);
    assert!(fills.iter().any(is_accent), "no accent fill in {fills:?}");
}

#[test]
fn title_and_creator_are_in_the_document_information() {
    let doc = Document::parse("Brand refresh", "Hello.");
    let (pdf, _) = pdf_text(&render(&doc, &brand()).unwrap());
    let info = match pdf.trailer.get(b"Info").unwrap() {
        Object::Reference(id) => pdf.get_dictionary(*id).unwrap(),
        other => panic!("{other:?}"),
    };
    let field = |key: &[u8]| lopdf::decode_text_string(info.get(key).unwrap()).unwrap();
    assert_eq!(field(b"Title"), "Brand refresh");
    assert_eq!(field(b"Creator"), "Atelya");
}

/// The names of the fonts a PDF embeds.
fn font_names(bytes: &[u8]) -> Vec<String> {
    let pdf = Pdf::load_mem(bytes).unwrap();
    pdf.objects
        .values()
        .filter_map(|object| object.as_dict().ok())
        .filter_map(|dict| dict.get(b"BaseFont").ok()?.as_name().ok())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

#[test]
fn the_brand_font_picks_the_embedded_family() {
    let doc = Document::parse("x", "Body text with `code`.");
    let serif = Branding {
        font: Some("Georgia".into()),
        ..brand()
    };
    assert_eq!(Theme::new(&serif).family, Family::Serif);
    let serif_fonts = font_names(&render(&doc, &serif).unwrap());
    assert!(
        serif_fonts.iter().any(|f| f.contains("DejaVuSerif")),
        "{serif_fonts:?}"
    );
    assert!(
        serif_fonts.iter().any(|f| f.contains("DejaVuSansMono")),
        "{serif_fonts:?}"
    );
    let sans_fonts = font_names(&render(&doc, &brand()).unwrap());
    assert!(
        sans_fonts.iter().all(|f| !f.contains("Serif")),
        "{sans_fonts:?}"
    );
    assert!(
        sans_fonts.iter().any(|f| f.contains("DejaVuSans")),
        "{sans_fonts:?}"
    );
}

mod layout;
mod sample;
mod units;
