//! How each kind of block is set on the page: headings, paragraphs, list
//! items, quotes, code and rules (tables are in `table`).

use super::fonts::{keep_drawable, FaceId, Faces};
use super::inline::{finish_line, split_to_width, Line, Look, Piece, TextStyle};
use super::layout::{Layout, Op};
use super::{table, FRAME};
use crate::export::document::{Block, Marker, Span, Style};

/// Heading sizes in points, by level.
const HEADING_SIZES: [f32; 6] = [22.0, 16.5, 13.5, 12.0, 11.0, 10.5];
/// How far each list level is indented from the one above.
const LIST_INDENT: f32 = 18.0;
/// Where top-level list text starts, leaving room for the marker.
const LIST_TEXT_OFFSET: f32 = 24.0;
/// How far quoted text is indented, right of the accent bar.
const QUOTE_INDENT: f32 = 16.0;
/// Padding inside a code block's background.
const CODE_PADDING: f32 = 8.0;

/// Places `block` at the cursor. `next` is the block after it (a heading
/// keeps with its opening); `quote_gap` is the gap above a quote
/// that continues the one before (its bar bridges the gap).
pub fn place(layout: &mut Layout, block: &Block, next: Option<&Block>, quote_gap: Option<f32>) {
    match block {
        Block::Heading { level, spans } => heading(layout, *level, spans, next),
        Block::Paragraph(spans) => paragraph(layout, spans),
        Block::ListItem {
            depth,
            marker,
            spans,
        } => list_item(layout, *depth, *marker, spans),
        Block::Quote(spans) => quote(layout, spans, quote_gap.unwrap_or(0.0)),
        Block::Code(code) => code_block(layout, code),
        Block::Rule => rule(layout),
        Block::Table {
            align,
            header,
            rows,
        } => table::place(layout, align, header, rows),
    }
}

/// A heading in the accent colour, kept on the page of the text after it.
fn heading(layout: &mut Layout, level: u8, spans: &[Span], next: Option<&Block>) {
    let size = HEADING_SIZES[usize::from(level.clamp(1, 6)) - 1];
    let accent = layout.theme.accent;
    let style = layout.style(|s| {
        s.size = size;
        s.bold = true;
        s.color = accent;
        s.leading = 1.25;
    });
    let lines = layout.wrap(spans, &style, FRAME.width());
    let height: f32 = lines.iter().map(|l| l.height).sum();
    let with_next = height + 6.0 + opening_height(next);
    let keep = if with_next <= FRAME.bottom - FRAME.top {
        with_next
    } else {
        height
    };
    layout.ensure(keep);
    layout.flow(&lines, FRAME.left);
}

/// About how much of `block` must follow a heading on the same page: two
/// lines of text, a code block's first line, a table's header and first row.
fn opening_height(block: Option<&Block>) -> f32 {
    let body_line = 10.5 * 1.45;
    match block {
        None => 0.0,
        Some(Block::Table { .. }) => 64.0,
        Some(Block::Code(_)) => 9.0 * 1.4 + 2.0 * CODE_PADDING,
        Some(Block::Rule) => 12.0,
        Some(_) => 2.0 * body_line,
    }
}

fn paragraph(layout: &mut Layout, spans: &[Span]) {
    let style = layout.style(|_| {});
    let lines = layout.wrap(spans, &style, FRAME.width());
    // Two lines at least together, so no line is left alone at the foot.
    let opening: f32 = lines.iter().take(2).map(|l| l.height).sum();
    layout.ensure(opening);
    layout.flow(&lines, FRAME.left);
}

/// A list item indented by depth, its marker left of the first line.
fn list_item(layout: &mut Layout, depth: usize, marker: Marker, spans: &[Span]) {
    let indent = FRAME.left + LIST_INDENT * depth.min(8) as f32;
    let text_x = indent + LIST_TEXT_OFFSET;
    let style = layout.style(|_| {});
    let lines = layout.wrap(spans, &style, FRAME.right - text_x);
    layout.ensure(lines[0].height);
    let baseline = layout.y + lines[0].baseline;
    let regular = FaceId::new(style.family, false, false);
    let (text, color, centre) = match marker {
        Marker::Bullet => {
            let bullet = ["•", "◦", "▪"][depth % 3];
            (bullet.to_owned(), layout.theme.accent, true)
        }
        Marker::Number(n) => (format!("{n}."), style.color, false),
        Marker::Continued => (String::new(), style.color, false),
    };
    let face = text
        .chars()
        .next()
        .and_then(|c| layout.faces.resolve(regular, c))
        .unwrap_or(regular);
    let width = layout.faces.get(face).width(&text, style.size);
    let x = if centre {
        text_x - 12.0 - width / 2.0
    } else {
        f32::max(text_x - 5.0 - width, indent)
    };
    if !text.is_empty() {
        layout.ops().push(Op::Text {
            x,
            baseline,
            face,
            size: style.size,
            color,
            text,
        });
    }
    layout.flow(&lines, text_x);
}

/// A quoted paragraph, indented, with an accent bar along its left.
fn quote(layout: &mut Layout, spans: &[Span], gap_above: f32) {
    let quote_color = layout.theme.quote;
    let style = layout.style(|s| {
        s.italic = true;
        s.color = quote_color;
    });
    let x = FRAME.left + QUOTE_INDENT;
    let lines = layout.wrap(spans, &style, FRAME.right - x);
    layout.ensure(lines[0].height);
    let segments = layout.flow(&lines, x);
    for (index, segment) in segments.iter().enumerate() {
        let bridge = index == 0 && segment.top > FRAME.top + 0.01;
        let top = segment.top - if bridge { gap_above } else { 0.0 };
        let bar = Op::Fill {
            x: FRAME.left + 2.0,
            y: top,
            width: 3.0,
            height: segment.bottom - top,
            color: layout.theme.accent,
        };
        layout.underlay(segment.page, segment.first_op, bar);
    }
}

/// Code in DejaVu Sans Mono on a grey background, long lines broken, the
/// block split across pages with a background on each part.
fn code_block(layout: &mut Layout, code: &str) {
    let style = layout.style(|s| {
        s.family = super::fonts::Family::Mono;
        s.size = 9.0;
        s.leading = 1.4;
    });
    let inner_x = FRAME.left + CODE_PADDING + 2.0;
    let inner_width = FRAME.width() - 2.0 * (CODE_PADDING + 2.0);
    let lines = verbatim(code, &style, inner_width, layout.faces);
    let mut rest = &lines[..];
    while let Some(first) = rest.first() {
        layout.ensure(first.height + 2.0 * CODE_PADDING);
        let (page, first_op, top) = (layout.pages.len() - 1, layout.ops().len(), layout.y);
        layout.y += CODE_PADDING;
        let mut placed = 0;
        for line in rest {
            let fits = layout.y + line.height + CODE_PADDING <= FRAME.bottom + 0.01;
            if placed > 0 && !fits {
                break;
            }
            layout.draw_line(line, inner_x);
            placed += 1;
        }
        layout.y += CODE_PADDING;
        let background = Op::Fill {
            x: FRAME.left,
            y: top,
            width: FRAME.width(),
            height: layout.y - top,
            color: layout.theme.code_background,
        };
        layout.underlay(page, first_op, background);
        rest = &rest[placed..];
        if !rest.is_empty() {
            layout.new_page();
        }
    }
}

/// A thin grey rule across the text width.
fn rule(layout: &mut Layout) {
    layout.ensure(12.0);
    let (y, color) = (layout.y + 5.0, layout.theme.hairline);
    layout.ops().push(Op::Fill {
        x: FRAME.left,
        y,
        width: FRAME.width(),
        height: 0.75,
        color,
    });
    layout.y += 12.0;
}

/// Lays out code as written: spaces kept, tabs as four spaces, each source
/// line broken between characters where it is wider than `max_width`.
fn verbatim(code: &str, base: &TextStyle, max_width: f32, faces: &Faces) -> Vec<Line> {
    let wanted = FaceId::new(base.family, base.bold, base.italic);
    let look = Look::of(&Style::default(), base);
    let code = keep_drawable(&code.replace('\t', "    "), |c| {
        faces.resolve(wanted, c).is_some()
    });
    let mut lines = Vec::new();
    for source_line in code.split('\n') {
        // Runs of characters drawn with one face.
        let mut runs: Vec<(String, FaceId)> = Vec::new();
        for c in source_line.chars().filter(|c| !c.is_control()) {
            let face = faces.resolve(wanted, c).unwrap_or(wanted);
            match runs.last_mut() {
                Some((text, last)) if *last == face => text.push(c),
                _ => runs.push((c.to_string(), face)),
            }
        }
        let pieces = runs
            .into_iter()
            .map(|(text, face)| {
                Piece::new(
                    text,
                    Look {
                        face,
                        ..look.clone()
                    },
                    faces,
                )
            })
            .collect();
        for chunk in split_to_width(pieces, max_width, faces) {
            lines.push(finish_line(chunk, base, faces));
        }
    }
    lines
}
