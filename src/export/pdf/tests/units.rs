//! Unit tests of the pieces: the family a font name picks, glyph checks,
//! measuring, and how a table's width is shared between its columns.

use crate::export::pdf::fonts::{faces, family_for, keep_drawable, FaceId, Family};
use crate::export::pdf::table::share_width;

#[test]
fn brand_font_names_map_to_a_family() {
    assert_eq!(family_for(None), Family::Sans);
    for serif in [
        "Georgia",
        "Times New Roman",
        "Noto Serif",
        "EB Garamond",
        "Book Antiqua",
    ] {
        assert_eq!(family_for(Some(serif)), Family::Serif, "{serif}");
    }
    for mono in ["JetBrains Mono", "Courier New", "Consolas", "Menlo"] {
        assert_eq!(family_for(Some(mono)), Family::Mono, "{mono}");
    }
    for sans in ["Inter", "PT Sans Serif", "Helvetica", ""] {
        assert_eq!(family_for(Some(sans)), Family::Sans, "{sans}");
    }
}

#[test]
fn characters_no_face_has_are_dropped_with_their_doubled_space() {
    let faces = faces().unwrap();
    let sans = FaceId::new(Family::Sans, false, false);
    assert!(!faces.get(sans).has('🚀'));
    assert_eq!(faces.resolve(sans, '🎉'), None);
    assert_eq!(faces.drawable(sans, "Launch 🚀 today 🎉"), "Launch today");
    assert_eq!(faces.drawable(sans, "🚀 Go\nnow"), "Go\nnow");
    assert_eq!(
        faces.drawable(sans, "a 👨\u{200D}👩\u{200D}👧 b 👍🏽 c"),
        "a b c"
    );
    assert_eq!(
        keep_drawable("a  b", |_| true),
        "a  b",
        "spaces kept without a drop"
    );
}

#[test]
fn measured_widths_grow_with_text_and_size() {
    let face = faces()
        .unwrap()
        .get(FaceId::new(Family::Sans, false, false));
    let word = face.width("Studio", 10.0);
    assert!(word > 20.0 && word < 40.0, "{word}");
    assert!((face.width("Studio", 20.0) - 2.0 * word).abs() < 0.01);
    assert!(face.width("Studio studio", 10.0) > 2.0 * word);
}

fn close(actual: Vec<f32>, expected: &[f32]) {
    let near = actual
        .iter()
        .zip(expected)
        .all(|(a, e)| (a - e).abs() < 0.01);
    assert!(near, "{actual:?} != {expected:?}");
}

#[test]
fn narrow_columns_keep_their_width_and_wide_ones_share_the_rest() {
    close(
        share_width(&[30.0, 40.0, 30.0], &[60.0, 400.0, 70.0], 300.0),
        &[60.0, 170.0, 70.0],
    );
}

#[test]
fn columns_that_fit_are_widened_to_the_text_width() {
    close(
        share_width(&[20.0, 20.0], &[50.0, 100.0], 300.0),
        &[100.0, 200.0],
    );
}

#[test]
fn words_wider_than_the_table_shrink_in_proportion() {
    close(
        share_width(&[200.0, 200.0], &[300.0, 300.0], 200.0),
        &[100.0, 100.0],
    );
}
