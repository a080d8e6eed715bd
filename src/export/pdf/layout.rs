//! Block layout: a document's blocks placed one after another on A4
//! pages as drawing operations, starting a new page wherever the next line
//! would pass the bottom margin.

use super::fonts::{FaceId, Faces};
use super::inline::{self, Line, TextStyle};
use super::{blocks, Theme, FRAME};
use crate::export::document::{Block, Branding, Document, Rgb, Span, Style};

/// One thing to draw, in page coordinates (points, y downwards).
#[derive(Debug, Clone)]
pub enum Op {
    /// Text on a baseline.
    Text {
        x: f32,
        baseline: f32,
        face: FaceId,
        size: f32,
        color: Rgb,
        text: String,
    },
    /// A filled rectangle: backgrounds, rules, borders, underlines.
    Fill {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        color: Rgb,
    },
    /// An area that opens `uri` when clicked.
    Link {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        uri: String,
    },
}

/// The drawing operations of one page.
#[derive(Debug, Default)]
pub struct Page {
    pub ops: Vec<Op>,
}

/// The part of a block that landed on one page: where its operations
/// start (so a background can go under them) and how far down it reaches.
pub struct Segment {
    pub page: usize,
    pub first_op: usize,
    pub top: f32,
    pub bottom: f32,
}

/// Pages laid out so far and the cursor on the last one.
pub struct Layout<'a> {
    pub faces: &'a Faces,
    pub theme: &'a Theme,
    pub pages: Vec<Page>,
    pub y: f32,
}

impl<'a> Layout<'a> {
    fn new(faces: &'a Faces, theme: &'a Theme) -> Layout<'a> {
        Layout {
            faces,
            theme,
            pages: vec![Page::default()],
            y: FRAME.top,
        }
    }

    pub fn ops(&mut self) -> &mut Vec<Op> {
        let last = self.pages.len() - 1;
        &mut self.pages[last].ops
    }

    pub fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = FRAME.top;
    }

    pub fn room(&self) -> f32 {
        FRAME.bottom - self.y
    }

    pub fn at_top(&self) -> bool {
        self.y <= FRAME.top + 0.01
    }

    /// Moves to a new page unless `height` fits below the cursor; on an
    /// empty page nothing is gained by moving, so it stays.
    pub fn ensure(&mut self, height: f32) {
        if height > self.room() + 0.01 && !self.at_top() {
            self.new_page();
        }
    }

    /// Space between blocks, dropped at the top of a page.
    fn gap(&mut self, gap: f32) {
        if !self.at_top() {
            self.y = f32::min(self.y + gap, FRAME.bottom);
        }
    }

    /// The body text style, changed by `adjust`.
    pub fn style(&self, adjust: impl FnOnce(&mut TextStyle)) -> TextStyle {
        let mut style = TextStyle {
            family: self.theme.family,
            size: 10.5,
            color: self.theme.text,
            link_color: self.theme.accent,
            bold: false,
            italic: false,
            leading: 1.45,
        };
        adjust(&mut style);
        style
    }

    pub fn wrap(&self, spans: &[Span], style: &TextStyle, width: f32) -> Vec<Line> {
        inline::wrap(spans, style, width, self.faces)
    }

    /// Draws `line` with its top at the cursor and moves below it.
    pub fn draw_line(&mut self, line: &Line, x: f32) {
        let (faces, theme, top) = (self.faces, self.theme, self.y);
        line_ops(self.ops(), line, x, top, faces, theme);
        self.y += line.height;
    }

    /// Places lines at `x`, each on the page it fits; returns the parts.
    pub fn flow(&mut self, lines: &[Line], x: f32) -> Vec<Segment> {
        let mut segments: Vec<Segment> = Vec::new();
        for line in lines {
            let fits = line.height <= self.room() + 0.01;
            if !fits && !self.at_top() {
                self.new_page();
            }
            let page = self.pages.len() - 1;
            match segments.last_mut() {
                Some(segment) if segment.page == page => {}
                _ => segments.push(Segment {
                    page,
                    first_op: self.pages[page].ops.len(),
                    top: self.y,
                    bottom: self.y,
                }),
            }
            self.draw_line(line, x);
            if let Some(segment) = segments.last_mut() {
                segment.bottom = self.y;
            }
        }
        segments
    }

    /// Puts `fill` under the operations of `page` from `first_op` on, so a
    /// background or bar is painted before the text it belongs to.
    pub fn underlay(&mut self, page: usize, first_op: usize, fill: Op) {
        self.pages[page].ops.insert(first_op, fill);
    }
}

/// The operations that draw one line with its top at `top`: inline-code
/// backgrounds first, then text, underlines, strikes and link areas.
pub fn line_ops(ops: &mut Vec<Op>, line: &Line, x: f32, top: f32, faces: &Faces, theme: &Theme) {
    let baseline = top + line.baseline;
    for run in line.runs.iter().filter(|r| r.look.code) {
        let size = run.look.size;
        ops.push(Op::Fill {
            x: x + run.x - 1.5,
            y: baseline - size * 0.92,
            width: run.width + 3.0,
            height: size * 1.22,
            color: theme.code_background,
        });
    }
    let mut link: Option<(f32, f32, String)> = None;
    for run in &line.runs {
        let (look, left) = (&run.look, x + run.x);
        let face = faces.get(look.face);
        ops.push(Op::Text {
            x: left,
            baseline,
            face: look.face,
            size: look.size,
            color: look.color,
            text: run.text.clone(),
        });
        let decorations = [
            (look.underline, face.underline(look.size), 1.0),
            (look.strike, face.strikeout(look.size), -1.0),
        ];
        for (wanted, (offset, thickness), direction) in decorations {
            if wanted {
                ops.push(Op::Fill {
                    x: left,
                    y: baseline + direction * offset,
                    width: run.width,
                    height: thickness,
                    color: look.color,
                });
            }
        }
        match (&mut link, &look.link) {
            (Some((_, end, uri)), Some(target)) if uri == target => *end = left + run.width,
            (_, target) => {
                push_link(ops, link.take(), top, line.height);
                link = target.clone().map(|uri| (left, left + run.width, uri));
            }
        }
    }
    push_link(ops, link, top, line.height);
}

fn push_link(ops: &mut Vec<Op>, link: Option<(f32, f32, String)>, top: f32, height: f32) {
    if let Some((start, end, uri)) = link {
        ops.push(Op::Link {
            x: start,
            y: top,
            width: end - start,
            height,
            uri,
        });
    }
}

/// Space above `block` after `previous`.
fn gap_between(previous: Option<&Block>, block: &Block) -> f32 {
    match (previous, block) {
        (None, _) => 0.0,
        (Some(Block::ListItem { .. }), Block::ListItem { .. }) => 4.0,
        (Some(Block::Quote(_)), Block::Quote(_)) => 6.0,
        (_, Block::Heading { level: 1, .. }) => 20.0,
        (_, Block::Heading { level: 2, .. }) => 16.0,
        (_, Block::Heading { .. }) => 12.0,
        (Some(Block::Heading { .. }), _) => 6.0,
        _ => 10.0,
    }
}

/// Lays out the document's blocks and the contact block after them.
pub fn lay_out(doc: &Document, brand: &Branding, theme: &Theme, faces: &Faces) -> Vec<Page> {
    let mut layout = Layout::new(faces, theme);
    let mut previous = None;
    for (index, block) in doc.blocks.iter().enumerate() {
        let gap = gap_between(previous, block);
        layout.gap(gap);
        let next = doc.blocks.get(index + 1);
        let continues_quote = matches!(previous, Some(Block::Quote(_)));
        blocks::place(&mut layout, block, next, continues_quote.then_some(gap));
        previous = Some(block);
    }
    place_contact(&mut layout, &brand.contact_block);
    layout.pages
}

/// The contact block at the foot of the last page, under a rule; on a
/// new page when the content leaves no room for it.
fn place_contact(layout: &mut Layout, contact: &str) {
    if contact.trim().is_empty() {
        return;
    }
    let span = Span {
        text: contact.trim().to_owned(),
        style: Style::default(),
    };
    let style = layout.style(|s| {
        s.size = 8.5;
        s.color = layout.theme.muted;
        s.leading = 1.5;
    });
    let lines = layout.wrap(&[span], &style, FRAME.width());
    let rule_space = 10.0;
    let height = rule_space + lines.iter().map(|l| l.height).sum::<f32>();
    if height + 14.0 > layout.room() && !layout.at_top() {
        layout.new_page();
    }
    layout.y = f32::max(FRAME.bottom - height, layout.y);
    let (x, y, color) = (FRAME.left, layout.y, layout.theme.hairline);
    layout.ops().push(Op::Fill {
        x,
        y,
        width: FRAME.width(),
        height: 0.75,
        color,
    });
    layout.y += rule_space;
    layout.flow(&lines, FRAME.left);
}
