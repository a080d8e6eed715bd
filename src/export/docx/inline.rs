//! A block's spans as runs: bold, italic and struck-through text, inline
//! code in a monospace font, hard line breaks, and links as external
//! hyperlinks.

use docx_rs::{
    BreakType, Hyperlink, HyperlinkData, Paragraph, ParagraphChild, Run, RunFonts, Shading,
};

use super::look::{CODE_FILL, CODE_FONT, LINK_COLOR};
use super::text::{link_target, xml_safe};
use crate::export::document::{Span, Style};

/// What the runs of one kind of block share before their spans' own styles
/// apply: a heading's accent colour, a quote's grey italics, a table
/// header's bold.
#[derive(Debug, Clone, Default)]
pub(super) struct RunLook {
    pub color: Option<String>,
    pub size: Option<usize>,
    pub bold: bool,
    pub italic: bool,
}

/// Names the hyperlink relationships of one document.
///
/// docx-rs numbers hyperlinks from a process-wide counter that renders on
/// other threads advance too, non-atomically; a render naming its own
/// relationships cannot end up with two links sharing one target.
#[derive(Debug, Default)]
pub(super) struct LinkIds {
    issued: usize,
}

impl LinkIds {
    fn next(&mut self) -> String {
        self.issued += 1;
        format!("rIdLink{}", self.issued)
    }
}

/// `paragraph` with `spans` appended. Consecutive spans of one link (a link
/// with bold words in it) become one hyperlink.
pub(super) fn add_spans(
    mut paragraph: Paragraph,
    spans: &[Span],
    look: &RunLook,
    links: &mut LinkIds,
) -> Paragraph {
    let mut start = 0;
    while start < spans.len() {
        let link = &spans[start].style.link;
        let target = link.as_deref().and_then(link_target);
        let Some(target) = target else {
            paragraph = paragraph.add_run(styled_run(&spans[start], look));
            start += 1;
            continue;
        };
        let end = start
            + spans[start..]
                .iter()
                .take_while(|span| &span.style.link == link)
                .count();
        let children = spans[start..end]
            .iter()
            .map(|span| ParagraphChild::Run(Box::new(link_run(span, look))))
            .collect();
        paragraph = paragraph.add_hyperlink(Hyperlink {
            link: HyperlinkData::External {
                rid: links.next(),
                path: target,
            },
            history: None,
            children,
        });
        start = end;
    }
    paragraph
}

/// A span's run, its style on top of the block's look.
fn styled_run(span: &Span, look: &RunLook) -> Run {
    let Style {
        bold,
        italic,
        strike,
        code,
        link: _,
    } = span.style;
    let mut run = Run::new();
    if let Some(color) = &look.color {
        run = run.color(color);
    }
    if let Some(size) = look.size {
        run = run.size(size);
    }
    if look.bold || bold {
        run = run.bold();
    }
    if look.italic || italic {
        run = run.italic();
    }
    if strike {
        run = run.strike();
    }
    if code {
        run = run
            .fonts(code_fonts())
            .shading(Shading::new().fill(CODE_FILL));
    }
    add_text(run, &span.text)
}

/// A span inside a link: blue and underlined, whatever the block's colour.
fn link_run(span: &Span, look: &RunLook) -> Run {
    let look = RunLook {
        color: Some(LINK_COLOR.to_owned()),
        ..look.clone()
    };
    styled_run(span, &look).underline("single")
}

/// The monospace font for code, for every script Word picks a font for.
pub(super) fn code_fonts() -> RunFonts {
    RunFonts::new()
        .ascii(CODE_FONT)
        .hi_ansi(CODE_FONT)
        .cs(CODE_FONT)
}

/// `run` with `text` appended. A `\n` becomes a line break and a `\t` a tab
/// character: a text element keeps neither.
pub(super) fn add_text(mut run: Run, text: &str) -> Run {
    let text = xml_safe(text).replace("\r\n", "\n").replace('\r', "\n");
    for (number, line) in text.split('\n').enumerate() {
        if number > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        for (index, piece) in line.split('\t').enumerate() {
            if index > 0 {
                run = run.add_tab();
            }
            if !piece.is_empty() {
                run = run.add_text(piece);
            }
        }
    }
    run
}
