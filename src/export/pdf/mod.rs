//! PDF rendering of a deliverable, branded with the workspace's export
//! profile: letterhead and accent colour on every page, the contact block at
//! the foot of the document, page numbers in the footer.
//!
//! - `fonts`: the DejaVu faces, the family a brand's font name maps to,
//!   measuring, and leaving out characters no face can draw.
//! - `inline`: styled text broken into measured lines.
//! - `layout`: pages of drawing operations, the cursor and page breaks.
//! - `blocks`, `table`: how each kind of block is placed on them.
//! - `chrome`: the letterhead and footer each page carries.
//! - `paint`: the operations written out as a PDF with krilla.

mod blocks;
mod chrome;
mod fonts;
mod inline;
mod layout;
mod paint;
mod table;
#[cfg(test)]
mod tests;

use super::document::{Branding, Document, Rgb};
use crate::error::AppResult;
use fonts::Family;

/// A4 in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;

/// The area the document's content flows in; the letterhead sits above
/// it and the footer below, both inside the page margins.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
}

impl Frame {
    fn width(&self) -> f32 {
        self.right - self.left
    }
}

const FRAME: Frame = Frame {
    left: 60.0,
    right: PAGE_WIDTH - 60.0,
    top: 88.0,
    bottom: PAGE_HEIGHT - 66.0,
};

/// Baseline of the letterhead and the rule under it.
const LETTERHEAD_BASELINE: f32 = 50.0;
const LETTERHEAD_RULE_Y: f32 = 60.0;
/// Baseline of the page number and title in the footer.
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 38.0;

/// The colours and family one render is set in.
#[derive(Debug, Clone, Copy)]
struct Theme {
    family: Family,
    accent: Rgb,
    text: Rgb,
    muted: Rgb,
    quote: Rgb,
    hairline: Rgb,
    code_background: Rgb,
    header_background: Rgb,
}

impl Theme {
    fn new(brand: &Branding) -> Theme {
        Theme {
            family: fonts::family_for(brand.font.as_deref()),
            accent: brand.accent,
            text: Rgb(0x1F, 0x29, 0x37),
            muted: Rgb(0x6B, 0x72, 0x80),
            quote: Rgb(0x37, 0x41, 0x51),
            hairline: Rgb(0xD1, 0xD5, 0xDB),
            code_background: Rgb(0xF3, 0xF4, 0xF6),
            header_background: tint(brand.accent, 0.14),
        }
    }
}

/// `color` mixed into white: `amount` 0 is white, 1 the colour itself.
fn tint(color: Rgb, amount: f32) -> Rgb {
    let mix = |c: u8| (255.0 - (255.0 - f32::from(c)) * amount).round() as u8;
    Rgb(mix(color.0), mix(color.1), mix(color.2))
}

/// Renders `doc` as an A4 PDF branded with `brand`.
pub fn render(doc: &Document, brand: &Branding) -> AppResult<Vec<u8>> {
    let faces = fonts::faces()?;
    let theme = Theme::new(brand);
    let mut pages = layout::lay_out(doc, brand, &theme, faces);
    chrome::add(&mut pages, brand, &doc.title, &theme, faces);
    paint::paint(&pages, &doc.title, faces)
}
