//! The DejaVu faces a PDF is set in: which family a brand's font name maps
//! to, every face loaded once per process, text measured exactly as krilla
//! shapes it, and characters that no face can draw left out.

use std::sync::OnceLock;

use krilla::text::Font;
use rustybuzz::UnicodeBuffer;

use crate::error::{AppError, AppResult};

/// The DejaVu family a document is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Sans,
    Serif,
    Mono,
}

/// Serif typefaces a brand may name without the word "serif" in it.
const SERIF_NAMES: [&str; 10] = [
    "georgia",
    "times",
    "garamond",
    "cambria",
    "merriweather",
    "playfair",
    "baskerville",
    "palatino",
    "book antiqua",
    "minion",
];

/// Monospaced typefaces, matched by a part of their name.
const MONO_NAMES: [&str; 4] = ["mono", "courier", "consolas", "menlo"];

/// The bundled family closest to the font a brand names: only DejaVu is
/// embedded, so the name picks the look (serif, monospaced or sans).
pub fn family_for(name: Option<&str>) -> Family {
    let Some(name) = name else {
        return Family::Sans;
    };
    let name = name.to_lowercase();
    if MONO_NAMES.iter().any(|mono| name.contains(mono)) {
        Family::Mono
    } else if (name.contains("serif") && !name.contains("sans"))
        || SERIF_NAMES.iter().any(|serif| name.contains(serif))
    {
        Family::Serif
    } else {
        Family::Sans
    }
}

/// One face of a family: the family with its weight and slant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaceId {
    pub family: Family,
    pub bold: bool,
    pub italic: bool,
}

impl FaceId {
    pub const fn new(family: Family, bold: bool, italic: bool) -> FaceId {
        FaceId {
            family,
            bold,
            italic,
        }
    }
}

/// A loaded face: the font krilla embeds and the same bytes for shaping.
pub struct Face {
    pub font: Font,
    shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn load(name: &str, data: &'static [u8]) -> Result<Face, String> {
        let font = Font::new(data.into(), 0).ok_or_else(|| format!("cannot load font {name}"))?;
        let shaper = rustybuzz::Face::from_slice(data, 0)
            .ok_or_else(|| format!("cannot parse font {name} for shaping"))?;
        Ok(Face { font, shaper })
    }

    /// Whether the face has a glyph for `c` (so it is not drawn as a box).
    pub fn has(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some()
    }

    /// The advance of `text` at `size` points, shaped the way krilla's
    /// `draw_text` shapes it, so that measured and drawn widths agree.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        if text.is_empty() {
            return 0.0;
        }
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
        let units: f32 = shaped
            .glyph_positions()
            .iter()
            .map(|p| p.x_advance as f32)
            .sum();
        units / self.units_per_em() * size
    }

    fn units_per_em(&self) -> f32 {
        self.shaper.units_per_em() as f32
    }

    /// Where an underline goes below the baseline and how thick it is.
    pub fn underline(&self, size: f32) -> (f32, f32) {
        let scale = size / self.units_per_em();
        match self.shaper.underline_metrics() {
            Some(m) => (
                -f32::from(m.position) * scale,
                f32::from(m.thickness) * scale,
            ),
            None => (size * 0.12, size * 0.05),
        }
    }

    /// Where a strikethrough goes above the baseline and how thick it is.
    pub fn strikeout(&self, size: f32) -> (f32, f32) {
        let scale = size / self.units_per_em();
        match self.shaper.strikeout_metrics() {
            Some(m) => (
                f32::from(m.position) * scale,
                f32::from(m.thickness) * scale,
            ),
            None => (size * 0.3, size * 0.05),
        }
    }
}

/// The regular, bold, italic and bold-italic faces of one family.
struct FamilyFaces([Face; 4]);

impl FamilyFaces {
    fn get(&self, bold: bool, italic: bool) -> &Face {
        &self.0[usize::from(bold) + 2 * usize::from(italic)]
    }
}

/// Every DejaVu face a document can use.
pub struct Faces {
    sans: FamilyFaces,
    serif: FamilyFaces,
    mono: FamilyFaces,
}

static FACES: OnceLock<Result<Faces, String>> = OnceLock::new();

/// The faces, loaded on first use: their bytes are static, so one parse
/// serves every render.
pub fn faces() -> AppResult<&'static Faces> {
    FACES
        .get_or_init(Faces::load)
        .as_ref()
        .map_err(|cause| AppError::Internal(format!("PDF fonts unavailable: {cause}")))
}

impl Faces {
    fn load() -> Result<Faces, String> {
        use dejavu::{sans, sans_mono, serif};
        let family = |name: &str, data: [&'static [u8]; 4]| -> Result<FamilyFaces, String> {
            let [regular, bold, italic, bold_italic] = data;
            Ok(FamilyFaces([
                Face::load(name, regular)?,
                Face::load(name, bold)?,
                Face::load(name, italic)?,
                Face::load(name, bold_italic)?,
            ]))
        };
        Ok(Faces {
            sans: family(
                "DejaVu Sans",
                [
                    sans::regular(),
                    sans::bold(),
                    sans::oblique(),
                    sans::bold_oblique(),
                ],
            )?,
            serif: family(
                "DejaVu Serif",
                [
                    serif::regular(),
                    serif::bold(),
                    serif::italic(),
                    serif::bold_italic(),
                ],
            )?,
            mono: family(
                "DejaVu Sans Mono",
                [
                    sans_mono::regular(),
                    sans_mono::bold(),
                    sans_mono::oblique(),
                    sans_mono::bold_oblique(),
                ],
            )?,
        })
    }

    pub fn get(&self, id: FaceId) -> &Face {
        let family = match id.family {
            Family::Sans => &self.sans,
            Family::Serif => &self.serif,
            Family::Mono => &self.mono,
        };
        family.get(id.bold, id.italic)
    }

    /// The face to draw `c` with: the wanted one if it has the glyph, else
    /// another style of the same family, else DejaVu Sans (the widest
    /// coverage); `None` when no face has it and it must be left out.
    pub fn resolve(&self, wanted: FaceId, c: char) -> Option<FaceId> {
        if self.get(wanted).has(c) {
            return Some(wanted);
        }
        let styles = [(false, false), (true, false), (false, true), (true, true)];
        [wanted.family, Family::Sans]
            .into_iter()
            .flat_map(|family| {
                styles
                    .into_iter()
                    .map(move |(bold, italic)| FaceId::new(family, bold, italic))
            })
            .find(|id| self.get(*id).has(c))
    }

    /// `text` without the characters `face` cannot draw, for strings set in
    /// one face (letterhead, footer).
    pub fn drawable(&self, face: FaceId, text: &str) -> String {
        keep_drawable(text, |c| self.get(face).has(c))
    }
}

/// Characters that only change the one before them (joiners, variation
/// selectors, skin tones, emoji tags): left out with a dropped character,
/// so the remains of an emoji sequence do not stand as an empty word.
pub fn modifies_previous(c: char) -> bool {
    matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
}

/// Leaves out the characters `drawable` rejects, and a space that would
/// double one left before a dropped character ("Launch 🚀 now" reads
/// "Launch now"). Line breaks are kept.
pub fn keep_drawable(text: &str, drawable: impl Fn(char) -> bool) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut after_drop = false;
    for c in text.chars() {
        if c != '\n' && (!drawable(c) || (after_drop && modifies_previous(c))) {
            after_drop = true;
            continue;
        }
        let doubled = c == ' ' && (kept.is_empty() || kept.ends_with([' ', '\n']));
        if !(after_drop && doubled) {
            kept.push(c);
        }
        after_drop = false;
    }
    if after_drop {
        kept.truncate(kept.trim_end_matches(' ').len());
    }
    kept
}
