//! The house typography every DOCX export shares, coloured by the export
//! profile: the page, the default font, sizes and greys, and the Heading 1–6
//! paragraph styles.
//!
//! Sizes are in half-points and distances in twentieths of a point, as
//! WordprocessingML counts them.

use docx_rs::{
    Docx, LineSpacing, LineSpacingType, PageMargin, ParagraphBorder, ParagraphBorderPosition,
    ParagraphBorders, RunFonts, Style, StyleType,
};

use super::text::xml_safe;
use crate::export::document::{Branding, Rgb};

/// The font Word falls back on when the profile names none.
pub(super) const DEFAULT_FONT: &str = "Calibri";
/// Installed with Word and aliased to a metric twin by LibreOffice, so code
/// keeps its columns everywhere.
pub(super) const CODE_FONT: &str = "Courier New";
/// Word's own hyperlink blue, so links read as links.
pub(super) const LINK_COLOR: &str = "0563C1";
/// Secondary text: the contact block and the footer.
pub(super) const MUTED_COLOR: &str = "6B7280";
/// Quoted text, a shade lighter than the body.
pub(super) const QUOTE_COLOR: &str = "4B5563";
/// Rules and table borders.
pub(super) const HAIRLINE_COLOR: &str = "D1D5DB";
/// The background of code, inline and in blocks.
pub(super) const CODE_FILL: &str = "F3F4F6";
/// Every other table body row, to guide the eye along wide rows.
pub(super) const STRIPE_FILL: &str = "F9FAFB";

pub(super) const BODY_SIZE: usize = 22;
/// The space under a body paragraph.
pub(super) const PARAGRAPH_AFTER: u32 = 160;
pub(super) const SMALL_SIZE: usize = 18;
pub(super) const TABLE_SIZE: usize = 20;
pub(super) const CODE_SIZE: usize = 19;

/// A4 with one-inch margins.
const PAGE_WIDTH: u32 = 11906;
const PAGE_HEIGHT: u32 = 16838;
const PAGE_MARGIN: i32 = 1440;
const HEADER_DISTANCE: i32 = 708;
/// The width between the margins, which tables span.
pub(super) const TEXT_WIDTH: usize = PAGE_WIDTH as usize - 2 * PAGE_MARGIN as usize;

/// The profile's choices, in the form the renderer writes them.
#[derive(Debug, Clone)]
pub(super) struct Look {
    /// The accent as `RRGGBB`.
    pub accent: String,
    /// A pale tint of the accent, behind table header rows.
    pub accent_tint: String,
    /// The document's default font.
    pub font: String,
}

impl Look {
    pub fn new(brand: &Branding) -> Look {
        let font = brand
            .font
            .as_deref()
            .map(|font| xml_safe(font.trim()))
            .filter(|font| !font.is_empty())
            .unwrap_or_else(|| DEFAULT_FONT.to_owned());
        Look {
            accent: brand.accent.hex(),
            accent_tint: tint(brand.accent, 15).hex(),
            font,
        }
    }
}

/// `color` mixed with white, keeping `percent` of the colour.
fn tint(color: Rgb, percent: u16) -> Rgb {
    let mix = |channel: u8| {
        let channel = u16::from(channel);
        let mixed = 255 - (255 - channel) * percent / 100;
        u8::try_from(mixed).unwrap_or(u8::MAX)
    };
    Rgb(mix(color.0), mix(color.1), mix(color.2))
}

/// The paragraph style id of a heading level (Word's built-in ids, which
/// its navigation pane and table of contents recognise).
pub(super) fn heading_style_id(level: u8) -> String {
    format!("Heading{}", level.clamp(1, 6))
}

/// `docx` on an A4 page in the profile's font at 11 pt, with the heading styles.
pub(super) fn set_up(docx: Docx, look: &Look) -> Docx {
    let fonts = RunFonts::new()
        .ascii(&look.font)
        .hi_ansi(&look.font)
        .east_asia(&look.font)
        .cs(&look.font);
    let mut docx = docx
        .page_size(PAGE_WIDTH, PAGE_HEIGHT)
        .page_margin(PageMargin {
            top: PAGE_MARGIN,
            left: PAGE_MARGIN,
            bottom: PAGE_MARGIN,
            right: PAGE_MARGIN,
            header: HEADER_DISTANCE,
            footer: HEADER_DISTANCE,
            gutter: 0,
        })
        .default_fonts(fonts)
        .default_size(BODY_SIZE)
        .default_line_spacing(spacing(0, PARAGRAPH_AFTER).line(276));
    for level in 1..=6 {
        docx = docx.add_style(heading_style(level, look));
    }
    docx
}

/// Auto line spacing with `before` and `after` space.
pub(super) fn spacing(before: u32, after: u32) -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Auto)
        .before(before)
        .after(after)
}

/// A heading style: bold in the accent colour, smaller at each level, kept
/// with the paragraph that follows, and at its outline level so Word lists
/// it in the navigation pane.
fn heading_style(level: u8, look: &Look) -> Style {
    let index = usize::from(level - 1);
    const SIZES: [usize; 6] = [40, 32, 28, 24, 22, 20];
    const BEFORE: [u32; 6] = [480, 360, 280, 240, 200, 200];
    const AFTER: [u32; 6] = [160, 120, 80, 80, 60, 60];
    let mut style = Style::new(heading_style_id(level), StyleType::Paragraph)
        .name(format!("heading {level}"))
        .size(SIZES[index])
        .bold()
        .color(&look.accent)
        .outline_lvl(index)
        .line_spacing(spacing(BEFORE[index], AFTER[index]).line(240));
    if level == 6 {
        style = style.italic();
    }
    style.paragraph_property = style.paragraph_property.keep_next(true).keep_lines(true);
    style
}

/// Borders with only `border` set (docx-rs fills in the other sides when a
/// single border is set on empty borders).
pub(super) fn only_border(border: ParagraphBorder) -> ParagraphBorders {
    ParagraphBorders::with_empty().set(border)
}

/// A solid paragraph border of `size` eighths of a point, `space` points from the text.
pub(super) fn line(
    position: ParagraphBorderPosition,
    color: &str,
    size: usize,
    space: usize,
) -> ParagraphBorder {
    ParagraphBorder::new(position)
        .color(color)
        .size(size)
        .space(space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tints_keep_the_share_of_the_colour() {
        assert_eq!(tint(Rgb(0x0E, 0x74, 0x90), 15), Rgb(0xDB, 0xEB, 0xEF));
        assert_eq!(tint(Rgb(0, 0, 0), 100), Rgb(0, 0, 0));
        assert_eq!(tint(Rgb(0, 0, 0), 0), Rgb(255, 255, 255));
    }

    #[test]
    fn heading_ids_stay_within_word_levels() {
        assert_eq!(heading_style_id(1), "Heading1");
        assert_eq!(heading_style_id(9), "Heading6");
        assert_eq!(heading_style_id(0), "Heading1");
    }
}
