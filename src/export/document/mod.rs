//! A deliverable's Markdown read once into blocks that the DOCX and PDF
//! renderers lay out, and the branding they apply.
//!
//! Lists are flattened into items that carry their depth and marker, block
//! quotes into quoted paragraphs, and images into their alt text: the
//! renderers then only place blocks one after another.

use pulldown_cmark::{Options, Parser};

mod reader;
#[cfg(test)]
mod tests;

use reader::Reader;

/// What every export of a workspace is branded with (its export profile).
#[derive(Debug, Clone)]
pub struct Branding {
    pub letterhead: String,
    pub accent: Rgb,
    /// Lines of address, phone and web, separated by `\n`.
    pub contact_block: String,
    /// The font the profile names, if any.
    pub font: Option<String>,
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Reads `#RRGGBB` (the profile keeps it checked); anything else is a dark grey.
    pub fn from_hex(value: &str) -> Rgb {
        let hex = value.strip_prefix('#').unwrap_or(value);
        let byte = |i: usize| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        };
        match (byte(0), byte(2), byte(4)) {
            (Some(r), Some(g), Some(b)) if hex.len() == 6 => Rgb(r, g, b),
            _ => Rgb(0x1F, 0x29, 0x37),
        }
    }

    /// `RRGGBB`, upper case, as DOCX wants it.
    pub fn hex(self) -> String {
        format!("{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

/// How a run of text looks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    /// Inline code.
    pub code: bool,
    /// The target of the link this text is part of.
    pub link: Option<String>,
}

/// A run of text in one style. A `\n` inside is a hard line break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

/// The marker in front of a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Bullet,
    Number(u64),
    /// A later paragraph of the same item: indented, no marker.
    Continued,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Level 1 to 6.
    Heading {
        level: u8,
        spans: Vec<Span>,
    },
    Paragraph(Vec<Span>),
    /// `depth` 0 is a top-level list.
    ListItem {
        depth: usize,
        marker: Marker,
        spans: Vec<Span>,
    },
    Quote(Vec<Span>),
    /// The code, without its closing newline.
    Code(String),
    Rule,
    /// Every row has as many cells as `align` has columns.
    Table {
        align: Vec<Align>,
        header: Vec<Vec<Span>>,
        rows: Vec<Vec<Vec<Span>>>,
    },
}

/// A deliverable ready to render.
#[derive(Debug, Clone)]
pub struct Document {
    /// The deliverable's label (the PDF's title, the DOCX's core title).
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn parse(title: &str, markdown: &str) -> Document {
        let mut reader = Reader::default();
        let options =
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
        for event in Parser::new_ext(markdown, options) {
            reader.event(event);
        }
        reader.flush();
        Document {
            title: title.to_owned(),
            blocks: reader.blocks,
        }
    }
}

/// The plain text of spans.
pub fn plain(spans: &[Span]) -> String {
    spans.iter().map(|s| s.text.as_str()).collect()
}
