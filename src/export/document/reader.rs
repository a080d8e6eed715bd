//! The reader that turns pulldown-cmark's events into blocks: it keeps the
//! open inline styles, lists, quotes, code block and table, and ends a block
//! whenever its context says one ends.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Tag, TagEnd};

use super::{Align, Block, Marker, Span, Style};

/// One list being read: the next number, or `None` for bullets.
struct List {
    next: Option<u64>,
}

#[derive(Default)]
struct TableReader {
    align: Vec<Align>,
    header: Vec<Vec<Span>>,
    rows: Vec<Vec<Vec<Span>>>,
    row: Vec<Vec<Span>>,
    in_head: bool,
}

#[derive(Default)]
pub(super) struct Reader {
    pub(super) blocks: Vec<Block>,
    spans: Vec<Span>,
    bold: u32,
    italic: u32,
    strike: u32,
    link: Option<String>,
    lists: Vec<List>,
    /// The marker of the item whose first text is still to come.
    marker: Option<Marker>,
    quotes: u32,
    code: Option<String>,
    table: Option<TableReader>,
}

impl Reader {
    fn style(&self) -> Style {
        Style {
            bold: self.bold > 0,
            italic: self.italic > 0,
            strike: self.strike > 0,
            code: false,
            link: self.link.clone(),
        }
    }

    fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push_str(text),
            _ => self.spans.push(Span {
                text: text.to_owned(),
                style,
            }),
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(code) = self.code.as_mut() {
            code.push_str(text);
        } else {
            self.push(text, self.style());
        }
    }

    /// Ends the text read so far as the block its context makes it.
    pub(super) fn flush(&mut self) {
        let spans = trim(std::mem::take(&mut self.spans));
        if spans.is_empty() {
            return;
        }
        let block = if let Some(list) = self.lists.len().checked_sub(1) {
            Block::ListItem {
                depth: list,
                marker: self.marker.take().unwrap_or(Marker::Continued),
                spans,
            }
        } else if self.quotes > 0 {
            Block::Quote(spans)
        } else {
            Block::Paragraph(spans)
        };
        self.blocks.push(block);
    }

    pub(super) fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(text) => {
                let style = Style {
                    code: true,
                    ..self.style()
                };
                self.push(&text, style);
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.text("\n"),
            Event::Rule => {
                self.flush();
                self.blocks.push(Block::Rule);
            }
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(label) => self.text(&format!("[{label}]")),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::Heading { .. } | Tag::HtmlBlock => self.flush(),
            Tag::BlockQuote(_) => {
                self.flush();
                self.quotes += 1;
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.code = Some(String::new());
            }
            Tag::List(first) => {
                self.flush();
                self.lists.push(List { next: first });
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(List { next: Some(n) }) => {
                        let marker = Marker::Number(*n);
                        *n += 1;
                        marker
                    }
                    _ => Marker::Bullet,
                };
                self.marker = Some(marker);
            }
            Tag::Table(align) => {
                self.flush();
                self.table = Some(TableReader {
                    align: align
                        .into_iter()
                        .map(|a| match a {
                            Alignment::Center => Align::Center,
                            Alignment::Right => Align::Right,
                            Alignment::Left | Alignment::None => Align::Left,
                        })
                        .collect(),
                    ..Default::default()
                });
            }
            Tag::TableHead => {
                if let Some(table) = self.table.as_mut() {
                    table.in_head = true;
                }
            }
            Tag::TableRow | Tag::TableCell => {}
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => self.link = Some(dest_url.into_string()),
            Tag::Image { .. } => self.italic += 1,
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock | TagEnd::Item => self.flush(),
            TagEnd::Heading(level) => {
                let spans = trim(std::mem::take(&mut self.spans));
                if !spans.is_empty() {
                    self.blocks.push(Block::Heading {
                        level: heading_level(level),
                        spans,
                    });
                }
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                if let Some(mut code) = self.code.take() {
                    if code.ends_with('\n') {
                        code.pop();
                    }
                    self.blocks.push(Block::Code(code));
                }
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::TableCell => {
                let cell = trim(std::mem::take(&mut self.spans));
                if let Some(table) = self.table.as_mut() {
                    table.row.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(table) = self.table.as_mut() {
                    table.header = std::mem::take(&mut table.row);
                    table.in_head = false;
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = self.table.as_mut() {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(mut table) = self.table.take() {
                    let columns = table.align.len();
                    table.header.resize(columns, Vec::new());
                    for row in &mut table.rows {
                        row.resize(columns, Vec::new());
                    }
                    self.blocks.push(Block::Table {
                        align: table.align,
                        header: table.header,
                        rows: table.rows,
                    });
                }
            }
            TagEnd::Emphasis | TagEnd::Image => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => self.link = None,
            _ => {}
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Drops leading and trailing whitespace of a block's text and empty spans.
fn trim(mut spans: Vec<Span>) -> Vec<Span> {
    if let Some(first) = spans.first_mut() {
        first.text = first.text.trim_start().to_owned();
    }
    if let Some(last) = spans.last_mut() {
        last.text = last.text.trim_end().to_owned();
    }
    spans.retain(|s| !s.text.is_empty());
    spans
}
