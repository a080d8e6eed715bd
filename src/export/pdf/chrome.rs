//! What every page carries around its content: the letterhead with an
//! accent rule under it at the top, the title and "Page N of M" at the foot.

use super::fonts::{FaceId, Faces};
use super::layout::{Op, Page};
use super::{Theme, FOOTER_BASELINE, FRAME, LETTERHEAD_BASELINE, LETTERHEAD_RULE_Y};
use crate::export::document::Branding;

const LETTERHEAD_SIZE: f32 = 13.0;
const FOOTER_SIZE: f32 = 8.0;

/// Adds the letterhead and footer to every page, now that the page count
/// is known.
pub fn add(pages: &mut [Page], brand: &Branding, title: &str, theme: &Theme, faces: &Faces) {
    let bold = FaceId::new(theme.family, true, false);
    let regular = FaceId::new(theme.family, false, false);
    let letterhead = one_line(&faces.drawable(bold, &brand.letterhead));
    // A long letterhead is set smaller rather than run past the margin.
    let natural = faces.get(bold).width(&letterhead, LETTERHEAD_SIZE);
    let size = if natural > FRAME.width() {
        LETTERHEAD_SIZE * FRAME.width() / natural
    } else {
        LETTERHEAD_SIZE
    };
    let count = pages.len();
    for (index, page) in pages.iter_mut().enumerate() {
        if !letterhead.is_empty() {
            page.ops.push(Op::Text {
                x: FRAME.left,
                baseline: LETTERHEAD_BASELINE,
                face: bold,
                size,
                color: theme.accent,
                text: letterhead.clone(),
            });
        }
        page.ops.push(Op::Fill {
            x: FRAME.left,
            y: LETTERHEAD_RULE_Y,
            width: FRAME.width(),
            height: 0.8,
            color: theme.accent,
        });
        let number = format!("Page {} of {}", index + 1, count);
        let number_width = faces.get(regular).width(&number, FOOTER_SIZE);
        let title_room = FRAME.width() - number_width - 24.0;
        let title = fit(
            faces,
            regular,
            &one_line(&faces.drawable(regular, title)),
            title_room,
        );
        let footer = [(FRAME.left, title), (FRAME.right - number_width, number)];
        for (x, text) in footer.into_iter().filter(|(_, text)| !text.is_empty()) {
            page.ops.push(Op::Text {
                x,
                baseline: FOOTER_BASELINE,
                face: regular,
                size: FOOTER_SIZE,
                color: theme.muted,
                text,
            });
        }
    }
}

/// The text on a single line, its whitespace runs as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` cut with an ellipsis to fit `width` in the footer size.
fn fit(faces: &Faces, face: FaceId, text: &str, width: f32) -> String {
    let face = faces.get(face);
    if face.width(text, FOOTER_SIZE) <= width {
        return text.to_owned();
    }
    let mut cut: Vec<char> = text.chars().collect();
    while !cut.is_empty() {
        cut.pop();
        let shortened = format!("{}…", cut.iter().collect::<String>().trim_end());
        if face.width(&shortened, FOOTER_SIZE) <= width {
            return shortened;
        }
    }
    String::new()
}
