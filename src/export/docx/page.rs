//! What every page carries: the letterhead in the header and, in the
//! footer, the deliverable's title and the page number.

use docx_rs::{
    FieldCharType, Footer, Header, InstrPAGE, InstrText, Paragraph, ParagraphBorderPosition, Run,
    Tab, TabValueType,
};

use super::inline::add_text;
use super::look::{line, only_border, spacing, Look, MUTED_COLOR, SMALL_SIZE, TEXT_WIDTH};

/// The letterhead, bold in the accent colour over an accent hairline, or
/// `None` when the profile has none.
pub(super) fn letterhead(letterhead: &str, look: &Look) -> Option<Header> {
    let letterhead = letterhead.trim();
    if letterhead.is_empty() {
        return None;
    }
    let run = add_text(Run::new().bold().size(24).color(&look.accent), letterhead);
    let mut paragraph = Paragraph::new()
        .line_spacing(spacing(0, 0).line(240))
        .add_run(run);
    paragraph.property = paragraph.property.set_borders(only_border(line(
        ParagraphBorderPosition::Bottom,
        &look.accent,
        6,
        4,
    )));
    Some(Header::new().add_paragraph(paragraph))
}

/// The title on the left and the page number on the right, small and grey.
pub(super) fn footer(title: &str) -> Footer {
    let muted = || Run::new().size(SMALL_SIZE).color(MUTED_COLOR);
    // A run per field part, each formatted, as Word writes fields: LibreOffice
    // formats the number from the runs around it, not the run it sits in.
    let page_number = [
        muted().add_field_char(FieldCharType::Begin, false),
        muted().add_instr_text(InstrText::PAGE(InstrPAGE::new())),
        muted().add_field_char(FieldCharType::Separate, false),
        muted().add_text("1"),
        muted().add_field_char(FieldCharType::End, false),
    ];
    let paragraph = Paragraph::new()
        .size(SMALL_SIZE)
        .color(MUTED_COLOR)
        .line_spacing(spacing(0, 0).line(240))
        .add_tab(Tab::new().val(TabValueType::Right).pos(TEXT_WIDTH))
        .add_run(add_text(muted(), title.trim()))
        .add_run(muted().add_tab());
    let paragraph = page_number
        .into_iter()
        .fold(paragraph, |paragraph, run| paragraph.add_run(run));
    Footer::new().add_paragraph(paragraph)
}
