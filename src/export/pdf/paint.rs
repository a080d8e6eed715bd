//! Writing laid-out pages as a PDF with krilla: text drawn with the
//! embedded DejaVu faces (so it stays selectable and extractable),
//! rectangles filled, link areas added as URI link annotations.

use krilla::action::{Action, LinkAction};
use krilla::annotation::{LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use super::fonts::Faces;
use super::layout::{Op, Page};
use super::{PAGE_HEIGHT, PAGE_WIDTH};
use crate::error::{AppError, AppResult};
use crate::export::document::Rgb;

/// The PDF bytes of `pages`, with `title` and Atelya as creator in the
/// document information.
pub fn paint(pages: &[Page], title: &str, faces: &Faces) -> AppResult<Vec<u8>> {
    let mut document = krilla::Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .creator("Atelya".to_owned()),
    );
    for page in pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| AppError::Internal("PDF page size rejected".to_owned()))?;
        let mut pdf_page = document.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            draw(&mut surface, op, faces);
        }
        surface.finish();
        for op in &page.ops {
            if let Op::Link {
                x,
                y,
                width,
                height,
                uri,
            } = op
            {
                if let Some(area) = Rect::from_xywh(*x, *y, *width, *height) {
                    let action = Action::Link(LinkAction::new(uri.clone()));
                    let link = LinkAnnotation::new(area, Target::Action(action));
                    pdf_page.add_annotation(link.into());
                }
            }
        }
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|err| AppError::Internal(format!("could not write the PDF: {err}")))
}

fn solid(color: Rgb) -> Option<Fill> {
    Some(Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    })
}

fn draw(surface: &mut Surface, op: &Op, faces: &Faces) {
    match op {
        Op::Text {
            x,
            baseline,
            face,
            size,
            color,
            text,
            ..
        } => {
            if text.is_empty() {
                return;
            }
            surface.set_fill(solid(*color));
            surface.draw_text(
                Point::from_xy(*x, *baseline),
                faces.get(*face).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Fill {
            x,
            y,
            width,
            height,
            color,
        } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) else {
                return;
            };
            let mut path = PathBuilder::new();
            path.push_rect(rect);
            if let Some(path) = path.finish() {
                surface.set_fill(solid(*color));
                surface.draw_path(&path);
            }
        }
        Op::Link { .. } => {}
    }
}
