//! The blocks of a deliverable as Word paragraphs and tables, in order, and
//! the contact block that closes the document.

use docx_rs::{Paragraph, ParagraphBorderPosition, Run, Shading, Table};

use super::inline::{add_spans, add_text, code_fonts, LinkIds, RunLook};
use super::lists::Lists;
use super::look::{
    heading_style_id, line, only_border, spacing, Look, CODE_FILL, CODE_SIZE, HAIRLINE_COLOR,
    MUTED_COLOR, PARAGRAPH_AFTER, QUOTE_COLOR, SMALL_SIZE,
};
use super::table::table;
use crate::export::document::Block;

/// A top-level element of the document's body.
pub(super) enum BodyPart {
    Paragraph(Box<Paragraph>),
    Table(Box<Table>),
}

/// The body being written, block after block.
pub(super) struct Body<'a> {
    look: &'a Look,
    lists: Lists,
    links: LinkIds,
    parts: Vec<BodyPart>,
    /// Whether the last block was a list item.
    in_list: bool,
}

impl<'a> Body<'a> {
    pub fn new(look: &'a Look) -> Body<'a> {
        Body {
            look,
            lists: Lists::default(),
            links: LinkIds::default(),
            parts: Vec::new(),
            in_list: false,
        }
    }

    /// The body's parts, and the lists its items point at.
    pub fn finish(self) -> (Vec<BodyPart>, Lists) {
        (self.parts, self.lists)
    }

    fn push(&mut self, paragraph: Paragraph) {
        self.parts.push(BodyPart::Paragraph(Box::new(paragraph)));
    }

    /// Ends the open lists. Items sit close together; the last one gets the
    /// space a paragraph has under it, so what follows does not crowd it.
    fn end_lists(&mut self) {
        if self.in_list {
            if let Some(BodyPart::Paragraph(last)) = self.parts.last_mut() {
                last.property.line_spacing = Some(spacing(0, PARAGRAPH_AFTER));
            }
        }
        self.in_list = false;
        self.lists.interrupt();
    }

    pub fn block(&mut self, block: &Block) {
        if !matches!(block, Block::ListItem { .. }) {
            self.end_lists();
        }
        match block {
            Block::Heading { level, spans } => {
                let look = RunLook {
                    color: Some(self.look.accent.clone()),
                    bold: true,
                    ..RunLook::default()
                };
                let paragraph = Paragraph::new().style(&heading_style_id(*level));
                let paragraph = add_spans(paragraph, spans, &look, &mut self.links);
                self.push(paragraph);
            }
            Block::Paragraph(spans) => {
                let paragraph = add_spans(
                    Paragraph::new(),
                    spans,
                    &RunLook::default(),
                    &mut self.links,
                );
                self.push(paragraph);
            }
            Block::ListItem {
                depth,
                marker,
                spans,
            } => {
                self.in_list = true;
                let paragraph = self.lists.item(*depth, *marker);
                let paragraph = add_spans(paragraph, spans, &RunLook::default(), &mut self.links);
                self.push(paragraph);
            }
            Block::Quote(spans) => {
                let paragraph = add_spans(quote(self.look), spans, &quote_look(), &mut self.links);
                self.push(paragraph);
            }
            Block::Code(code) => self.push(code_block(code)),
            Block::Rule => self.push(rule()),
            Block::Table {
                align,
                header,
                rows,
            } => {
                if let Some(table) = table(align, header, rows, self.look, &mut self.links) {
                    self.parts.push(BodyPart::Table(Box::new(table)));
                    self.push(after_table());
                }
            }
        }
    }

    /// The contact block at the foot of the document, under a rule: small,
    /// grey, a line break per line. Nothing when the profile has none.
    pub fn contact_block(&mut self, contact: &str) {
        self.end_lists();
        let lines: Vec<&str> = contact.lines().map(str::trim_end).collect();
        let Some(first_line) = lines.iter().position(|line| !line.is_empty()) else {
            return;
        };
        let last_line = lines
            .iter()
            .rposition(|line| !line.is_empty())
            .unwrap_or(first_line);
        let text = lines[first_line..=last_line].join("\n");
        let run = add_text(Run::new().size(SMALL_SIZE).color(MUTED_COLOR), &text);
        // Kept with what it closes, so it never sits alone on a last page.
        if let Some(BodyPart::Paragraph(closing)) = self.parts.last_mut() {
            closing.property = std::mem::take(&mut closing.property).keep_next(true);
        }
        let mut paragraph = Paragraph::new()
            .line_spacing(spacing(480, 0).line(264))
            .keep_lines(true)
            .add_run(run);
        paragraph.property = paragraph.property.set_borders(only_border(line(
            ParagraphBorderPosition::Top,
            HAIRLINE_COLOR,
            6,
            10,
        )));
        self.push(paragraph);
    }
}

/// Quoted text: grey italics, indented behind a bar in the accent colour.
fn quote(look: &Look) -> Paragraph {
    let mut paragraph = Paragraph::new()
        .indent(Some(440), None, Some(440), None)
        .line_spacing(spacing(200, 200));
    paragraph.property = paragraph.property.set_borders(only_border(line(
        ParagraphBorderPosition::Left,
        &look.accent,
        18,
        10,
    )));
    paragraph
}

fn quote_look() -> RunLook {
    RunLook {
        color: Some(QUOTE_COLOR.to_owned()),
        italic: true,
        ..RunLook::default()
    }
}

/// A code block: one shaded paragraph in the monospace font, a line break
/// per line, so the block stays one piece and copies out as it was.
fn code_block(code: &str) -> Paragraph {
    let run = add_text(Run::new().fonts(code_fonts()).size(CODE_SIZE), code);
    let mut paragraph = Paragraph::new()
        .indent(Some(120), None, Some(120), None)
        .line_spacing(spacing(80, 240).line(240))
        .add_run(run);
    // Borders in the fill colour widen the shading into a margin around the code.
    let padding = |position| line(position, CODE_FILL, 4, 6);
    let borders = only_border(padding(ParagraphBorderPosition::Top))
        .set(padding(ParagraphBorderPosition::Bottom))
        .set(padding(ParagraphBorderPosition::Left))
        .set(padding(ParagraphBorderPosition::Right));
    paragraph.property = paragraph
        .property
        .set_borders(borders)
        .shading(Shading::new().fill(CODE_FILL));
    paragraph
}

/// A horizontal rule: an empty paragraph with a bottom border.
fn rule() -> Paragraph {
    let mut paragraph = Paragraph::new()
        .line_spacing(spacing(120, 240).line(120))
        .size(SMALL_SIZE);
    paragraph.property = paragraph.property.set_borders(only_border(line(
        ParagraphBorderPosition::Bottom,
        HAIRLINE_COLOR,
        6,
        1,
    )));
    paragraph
}

/// The space under a table: the next paragraph has none above it, and Word
/// wants a paragraph between two tables anyway.
fn after_table() -> Paragraph {
    Paragraph::new()
        .line_spacing(spacing(0, 0).line(240))
        .size(SMALL_SIZE)
}
