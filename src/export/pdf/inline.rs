//! Inline layout: styled spans broken into lines that fit a width, each
//! line a row of runs in one face and look, placed by measured widths.

use super::fonts::{modifies_previous, FaceId, Faces, Family};
use crate::export::document::{Rgb, Span, Style};

/// How a block's text is set where its spans do not say otherwise.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub family: Family,
    pub size: f32,
    pub color: Rgb,
    pub link_color: Rgb,
    pub bold: bool,
    pub italic: bool,
    /// Line height as a multiple of the size.
    pub leading: f32,
}

/// Everything about a run of text except the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub face: FaceId,
    pub size: f32,
    pub color: Rgb,
    pub underline: bool,
    pub strike: bool,
    /// Inline code, drawn on a tinted background.
    pub code: bool,
    pub link: Option<String>,
}

impl Look {
    pub fn of(style: &Style, base: &TextStyle) -> Look {
        let family = if style.code {
            Family::Mono
        } else {
            base.family
        };
        Look {
            face: FaceId::new(family, base.bold || style.bold, base.italic || style.italic),
            size: if style.code {
                base.size * 0.9
            } else {
                base.size
            },
            color: if style.link.is_some() {
                base.link_color
            } else {
                base.color
            },
            underline: style.link.is_some(),
            strike: style.strike,
            code: style.code,
            link: style.link.clone(),
        }
    }
}

/// Text in one look, with its measured width.
#[derive(Debug, Clone)]
pub struct Piece {
    pub text: String,
    pub look: Look,
    pub width: f32,
}

impl Piece {
    pub fn new(text: String, look: Look, faces: &Faces) -> Piece {
        let width = faces.get(look.face).width(&text, look.size);
        Piece { text, look, width }
    }
}

/// A run placed on a line: `x` from the line's start.
#[derive(Debug, Clone)]
pub struct Run {
    pub x: f32,
    pub width: f32,
    pub text: String,
    pub look: Look,
}

/// One laid-out line. `baseline` is measured from the line's top.
#[derive(Debug, Clone)]
pub struct Line {
    pub runs: Vec<Run>,
    pub width: f32,
    pub height: f32,
    pub baseline: f32,
}

enum Token {
    /// Text between spaces, possibly in several looks ("**bold**,").
    Word(Vec<Piece>),
    Space(Look),
    Break,
}

/// Splits spans into words, spaces and hard breaks; characters that no
/// face has are left out here, so nothing is drawn as a box.
fn tokenize(spans: &[Span], base: &TextStyle, faces: &Faces) -> Vec<Token> {
    let mut tokens = Vec::new();
    // Characters of one span in one face, with the span's index.
    let mut word: Vec<(String, Look, usize)> = Vec::new();
    let flush = |word: &mut Vec<(String, Look, usize)>, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            let pieces = word
                .drain(..)
                .map(|(text, look, _)| Piece::new(text, look, faces))
                .collect();
            tokens.push(Token::Word(pieces));
        }
    };
    // Whether the last character was left out, with what modifies it.
    let mut after_drop = false;
    for (index, span) in spans.iter().enumerate() {
        let look = Look::of(&span.style, base);
        for c in span.text.chars() {
            let face = faces.resolve(look.face, c);
            if c == '\n' {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Break);
            } else if c.is_whitespace() && c != '\u{a0}' {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Space(look.clone()));
            } else if let (Some(face), false) = (face, after_drop && modifies_previous(c)) {
                match word.last_mut() {
                    Some((text, last, span)) if *span == index && last.face == face => text.push(c),
                    _ => word.push((
                        c.to_string(),
                        Look {
                            face,
                            ..look.clone()
                        },
                        index,
                    )),
                }
            } else {
                after_drop = true;
                continue;
            }
            after_drop = false;
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// Lays `spans` out in lines no wider than `max_width` (a word longer than
/// the width is broken between characters).
pub fn wrap(spans: &[Span], base: &TextStyle, max_width: f32, faces: &Faces) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut x = 0.0;
    let mut pending_space: Option<Look> = None;
    for token in tokenize(spans, base, faces) {
        match token {
            Token::Break => {
                lines.push(finish_line(std::mem::take(&mut current), base, faces));
                x = 0.0;
                pending_space = None;
            }
            Token::Space(look) => {
                if !current.is_empty() && pending_space.is_none() {
                    pending_space = Some(look);
                }
            }
            Token::Word(pieces) => {
                let width: f32 = pieces.iter().map(|p| p.width).sum();
                if !current.is_empty() {
                    let space = pending_space
                        .take()
                        .map(|look| Piece::new(" ".into(), look, faces));
                    let space_width = space.as_ref().map_or(0.0, |s| s.width);
                    if x + space_width + width <= max_width + 0.01 {
                        x += space_width + width;
                        current.extend(space);
                        current.extend(pieces);
                        continue;
                    }
                    lines.push(finish_line(std::mem::take(&mut current), base, faces));
                }
                if width <= max_width {
                    x = width;
                    current = pieces;
                } else {
                    let mut chunks = split_to_width(pieces, max_width, faces);
                    let last = chunks.pop().unwrap_or_default();
                    for chunk in chunks {
                        lines.push(finish_line(chunk, base, faces));
                    }
                    x = last.iter().map(|p| p.width).sum();
                    current = last;
                }
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(finish_line(current, base, faces));
    }
    lines
}

/// Breaks pieces between characters into chunks no wider than `max_width`
/// (each holds at least one character, whatever its width).
pub fn split_to_width(pieces: Vec<Piece>, max_width: f32, faces: &Faces) -> Vec<Vec<Piece>> {
    let mut chunks = Vec::new();
    let mut chunk: Vec<Piece> = Vec::new();
    let mut chunk_width = 0.0;
    for piece in pieces {
        let face = faces.get(piece.look.face);
        let mut part = String::new();
        for c in piece.text.chars() {
            part.push(c);
            let part_width = face.width(&part, piece.look.size);
            if chunk_width + part_width > max_width
                && (part.chars().count() > 1 || !chunk.is_empty())
            {
                part.pop();
                if !part.is_empty() {
                    chunk.push(Piece::new(
                        std::mem::take(&mut part),
                        piece.look.clone(),
                        faces,
                    ));
                }
                chunks.push(std::mem::take(&mut chunk));
                chunk_width = 0.0;
                part.push(c);
            }
        }
        if !part.is_empty() {
            let done = Piece::new(part, piece.look.clone(), faces);
            chunk_width += done.width;
            chunk.push(done);
        }
    }
    chunks.push(chunk);
    chunks
}

/// Joins neighbouring pieces of one look into runs, measured whole so the
/// positions match what krilla draws, and sizes the line.
pub fn finish_line(pieces: Vec<Piece>, base: &TextStyle, faces: &Faces) -> Line {
    let mut merged: Vec<(String, Look)> = Vec::new();
    for piece in pieces {
        match merged.last_mut() {
            Some((text, look)) if *look == piece.look => text.push_str(&piece.text),
            _ => merged.push((piece.text, piece.look)),
        }
    }
    let mut x = 0.0;
    let mut size = base.size;
    let runs = merged
        .into_iter()
        .map(|(text, look)| {
            let width = faces.get(look.face).width(&text, look.size);
            size = f32::max(size, look.size);
            let run = Run {
                x,
                width,
                text,
                look,
            };
            x += width;
            run
        })
        .collect();
    let height = size * base.leading;
    Line {
        runs,
        width: x,
        height,
        baseline: (height - size) / 2.0 + size * 0.8,
    }
}

/// The widest word and the width of the text unbroken: the least and the
/// most a table column holding it wants.
pub fn extent(spans: &[Span], base: &TextStyle, faces: &Faces) -> (f32, f32) {
    let widest_word = tokenize(spans, base, faces)
        .iter()
        .map(|token| match token {
            Token::Word(pieces) => pieces.iter().map(|p| p.width).sum(),
            _ => 0.0,
        })
        .fold(0.0, f32::max);
    let unbroken = wrap(spans, base, f32::INFINITY, faces)
        .iter()
        .map(|line| line.width)
        .fold(0.0, f32::max);
    (widest_word, unbroken)
}
