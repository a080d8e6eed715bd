//! List items as Word numbering: one abstract definition for bullets and
//! one for decimal numbers, each with a level per depth, and the instances
//! the items point at.
//!
//! Bullets share one instance. Every numbered list gets an instance of its
//! own that starts at the list's first number, so each list counts from its
//! own start instead of continuing the one before.

use docx_rs::{
    AbstractNumbering, Docx, IndentLevel, LevelJc, LevelOverride, LevelText, NumberFormat,
    Numbering, NumberingId, Paragraph, SpecialIndentType, Start,
};

use super::look::spacing;
use crate::export::document::Marker;

/// docx-rs always writes abstract numbering 1 and its instance 1, so these start after it.
const BULLET_DEFINITION: usize = 2;
const NUMBER_DEFINITION: usize = 3;
const BULLET_INSTANCE: usize = 2;
const FIRST_NUMBERED_INSTANCE: usize = 3;
/// Word's deepest list level (levels count from 0).
const DEEPEST_LEVEL: usize = 8;
/// Beyond any list Markdown can start (nine digits) and within Word's range.
const HIGHEST_START: u64 = 999_999_999;
const BULLETS: [&str; 3] = ["•", "◦", "▪"];
/// Space between the bullet or number and the text.
const HANGING: i32 = 360;

/// The left indent of the text of items at `level`.
fn text_indent(level: usize) -> i32 {
    let level = i32::try_from(level).unwrap_or(0);
    HANGING * (level + 2)
}

/// The list open at one depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenList {
    Bullets,
    Numbers { instance: usize, next: u64 },
}

/// A numbered list's instance: the level it sits at and its first number.
#[derive(Debug, Clone, Copy)]
struct NumberedList {
    instance: usize,
    level: usize,
    start: u64,
}

/// The lists of one document, read item by item in order.
#[derive(Debug, Default)]
pub(super) struct Lists {
    /// The list open at each depth, outermost first.
    open: Vec<Option<OpenList>>,
    numbered: Vec<NumberedList>,
    bullets_used: bool,
}

impl Lists {
    /// A block that is not a list item ends every open list.
    pub fn interrupt(&mut self) {
        self.open.clear();
    }

    /// The paragraph, without text yet, of an item at `depth` with `marker`.
    pub fn item(&mut self, depth: usize, marker: Marker) -> Paragraph {
        let level = depth.min(DEEPEST_LEVEL);
        self.open.truncate(level + 1);
        self.open.resize(level + 1, None);
        let paragraph = Paragraph::new().line_spacing(spacing(0, 80));
        match marker {
            Marker::Continued => paragraph.indent(Some(text_indent(level)), None, None, None),
            Marker::Bullet => {
                self.open[level] = Some(OpenList::Bullets);
                self.bullets_used = true;
                paragraph.numbering(NumberingId::new(BULLET_INSTANCE), IndentLevel::new(level))
            }
            Marker::Number(number) => {
                let instance = match self.open[level] {
                    Some(OpenList::Numbers { instance, next }) if next == number => instance,
                    _ => self.start_numbered(level, number),
                };
                self.open[level] = Some(OpenList::Numbers {
                    instance,
                    next: number.saturating_add(1),
                });
                paragraph.numbering(NumberingId::new(instance), IndentLevel::new(level))
            }
        }
    }

    fn start_numbered(&mut self, level: usize, start: u64) -> usize {
        let instance = FIRST_NUMBERED_INSTANCE + self.numbered.len();
        self.numbered.push(NumberedList {
            instance,
            level,
            start: start.min(HIGHEST_START),
        });
        instance
    }

    /// `docx` with the definitions and instances the items point at.
    pub fn install(self, mut docx: Docx, accent: &str) -> Docx {
        if self.bullets_used || !self.numbered.is_empty() {
            docx = docx
                .add_abstract_numbering(bullet_definition(accent))
                .add_abstract_numbering(number_definition())
                .add_numbering(Numbering::new(BULLET_INSTANCE, BULLET_DEFINITION));
        }
        for list in self.numbered {
            let start = usize::try_from(list.start).unwrap_or(1);
            docx = docx.add_numbering(
                Numbering::new(list.instance, NUMBER_DEFINITION)
                    .add_override(LevelOverride::new(list.level).start(start)),
            );
        }
        docx
    }
}

/// Bullets in the accent colour, a different glyph at each depth.
fn bullet_definition(accent: &str) -> AbstractNumbering {
    definition(BULLET_DEFINITION, "bullet", Some(accent), |level| {
        BULLETS[level % BULLETS.len()].to_owned()
    })
}

/// `1.` at every depth: the numbers Markdown wrote, nested lists counting on their own.
fn number_definition() -> AbstractNumbering {
    definition(NUMBER_DEFINITION, "decimal", None, |level| {
        format!("%{}.", level + 1)
    })
}

/// A list definition with every level Word allows, each indented by its depth.
fn definition(
    id: usize,
    format: &str,
    color: Option<&str>,
    marker: impl Fn(usize) -> String,
) -> AbstractNumbering {
    (0..=DEEPEST_LEVEL).fold(AbstractNumbering::new(id), |definition, level| {
        let mut level_definition = docx_rs::Level::new(
            level,
            Start::new(1),
            NumberFormat::new(format),
            LevelText::new(marker(level)),
            LevelJc::new("left"),
        )
        .indent(
            Some(text_indent(level)),
            Some(SpecialIndentType::Hanging(HANGING)),
            None,
            None,
        );
        if let Some(color) = color {
            level_definition = level_definition.color(color);
        }
        definition.add_level(level_definition)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(paragraph: &Paragraph) -> Option<(usize, usize)> {
        let numbering = paragraph.property.numbering_property.as_ref()?;
        Some((numbering.id.as_ref()?.id, numbering.level.as_ref()?.val))
    }

    #[test]
    fn each_numbered_list_gets_its_own_instance() {
        let mut lists = Lists::default();
        let first = lists.item(0, Marker::Number(1));
        let second = lists.item(0, Marker::Number(2));
        lists.interrupt();
        let restarted = lists.item(0, Marker::Number(1));
        let continued_elsewhere = lists.item(0, Marker::Number(7));
        assert_eq!(instance(&first), Some((3, 0)));
        assert_eq!(instance(&second), Some((3, 0)));
        assert_eq!(instance(&restarted), Some((4, 0)));
        assert_eq!(instance(&continued_elsewhere), Some((5, 0)));
        let starts: Vec<u64> = lists.numbered.iter().map(|list| list.start).collect();
        assert_eq!(starts, vec![1, 1, 7]);
    }

    #[test]
    fn nested_lists_restart_under_each_parent_item() {
        let mut lists = Lists::default();
        lists.item(0, Marker::Number(1));
        let inner = lists.item(1, Marker::Number(1));
        lists.item(0, Marker::Number(2));
        let next_inner = lists.item(1, Marker::Number(1));
        let outer = lists.item(0, Marker::Number(3));
        assert_eq!(instance(&inner), Some((4, 1)));
        assert_eq!(instance(&next_inner), Some((5, 1)));
        assert_eq!(instance(&outer), Some((3, 0)));
    }

    #[test]
    fn bullets_share_one_instance_and_continued_items_have_none() {
        let mut lists = Lists::default();
        let bullet = lists.item(0, Marker::Bullet);
        let deep = lists.item(12, Marker::Bullet);
        let continued = lists.item(0, Marker::Continued);
        assert_eq!(instance(&bullet), Some((2, 0)));
        assert_eq!(instance(&deep), Some((2, DEEPEST_LEVEL)));
        assert_eq!(instance(&continued), None);
        assert!(continued.property.indent.is_some());
    }
}
