//! Tables: a shaded bold header row, hairline cell borders, each column's
//! alignment, and column widths shared out by how much text each holds.

use docx_rs::{
    AlignmentType, Paragraph, Shading, Table, TableBorder, TableBorderPosition, TableBorders,
    TableCell, TableCellMargins, TableLayoutType, TableRow, WidthType,
};

use super::inline::{add_spans, LinkIds, RunLook};
use super::look::{spacing, Look, HAIRLINE_COLOR, STRIPE_FILL, TABLE_SIZE, TEXT_WIDTH};
use crate::export::document::{plain, Align, Span};

/// A column's share of the width never drops below this many characters'
/// worth, nor grows past that many, so short columns stay readable and long
/// ones wrap instead of crowding the rest out.
const NARROWEST_WEIGHT: usize = 6;
const WIDEST_WEIGHT: usize = 40;

/// The table, or `None` when it has no columns.
pub(super) fn table(
    align: &[Align],
    header: &[Vec<Span>],
    rows: &[Vec<Vec<Span>>],
    look: &Look,
    links: &mut LinkIds,
) -> Option<Table> {
    if align.is_empty() {
        return None;
    }
    let widths = column_widths(align.len(), header, rows);
    let header_look = RunLook {
        size: Some(TABLE_SIZE),
        bold: true,
        ..RunLook::default()
    };
    let body_look = RunLook {
        size: Some(TABLE_SIZE),
        ..RunLook::default()
    };
    let mut table_rows = Vec::with_capacity(rows.len() + 1);
    let header_cells = (0..align.len())
        .map(|column| {
            let spans = header.get(column).map(Vec::as_slice).unwrap_or_default();
            cell(spans, align[column], widths[column], &header_look, links)
                .shading(Shading::new().fill(&look.accent_tint))
        })
        .collect();
    table_rows.push(TableRow::new(header_cells).cant_split());
    for (index, row) in rows.iter().enumerate() {
        let cells = (0..align.len())
            .map(|column| {
                let spans = row.get(column).map(Vec::as_slice).unwrap_or_default();
                let cell = cell(spans, align[column], widths[column], &body_look, links);
                if index % 2 == 1 {
                    cell.shading(Shading::new().fill(STRIPE_FILL))
                } else {
                    cell
                }
            })
            .collect();
        table_rows.push(TableRow::new(cells).cant_split());
    }
    let total: usize = widths.iter().sum();
    Some(
        Table::new(table_rows)
            .set_grid(widths)
            .width(total, WidthType::Dxa)
            .layout(TableLayoutType::Fixed)
            .margins(TableCellMargins::new().margin(70, 110, 70, 110))
            .set_borders(hairlines()),
    )
}

fn cell(
    spans: &[Span],
    align: Align,
    width: usize,
    look: &RunLook,
    links: &mut LinkIds,
) -> TableCell {
    let alignment = match align {
        Align::Left => AlignmentType::Left,
        Align::Center => AlignmentType::Center,
        Align::Right => AlignmentType::Right,
    };
    let paragraph = Paragraph::new()
        .align(alignment)
        .line_spacing(spacing(0, 0).line(252));
    TableCell::new()
        .width(width, WidthType::Dxa)
        .add_paragraph(add_spans(paragraph, spans, look, links))
}

/// The columns' widths: the text width shared by each column's longest
/// text, within bounds.
fn column_widths(columns: usize, header: &[Vec<Span>], rows: &[Vec<Vec<Span>>]) -> Vec<usize> {
    let weights: Vec<usize> = (0..columns)
        .map(|column| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .filter_map(|row| row.get(column))
                .map(|spans| plain(spans).chars().count())
                .max()
                .unwrap_or(0)
                .clamp(NARROWEST_WEIGHT, WIDEST_WEIGHT)
        })
        .collect();
    let total: usize = weights.iter().sum();
    weights
        .iter()
        .map(|weight| TEXT_WIDTH * weight / total)
        .collect()
}

/// Hairlines around and between all cells.
fn hairlines() -> TableBorders {
    [
        TableBorderPosition::Top,
        TableBorderPosition::Left,
        TableBorderPosition::Bottom,
        TableBorderPosition::Right,
        TableBorderPosition::InsideH,
        TableBorderPosition::InsideV,
    ]
    .into_iter()
    .fold(TableBorders::with_empty(), |borders, position| {
        borders.set(TableBorder::new(position).color(HAIRLINE_COLOR).size(4))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::document::Style;

    fn spans(text: &str) -> Vec<Span> {
        vec![Span {
            text: text.to_owned(),
            style: Style::default(),
        }]
    }

    #[test]
    fn longer_columns_get_more_width_within_bounds() {
        let header = vec![spans("Item"), spans("Notes"), spans("Cost")];
        let rows = vec![vec![
            spans("Design"),
            spans("A long description of the work, well past the widest weight"),
            spans("10"),
        ]];
        let widths = column_widths(3, &header, &rows);
        assert_eq!(widths[0], widths[2], "both at the narrowest weight");
        assert_eq!(widths[1], TEXT_WIDTH * 40 / 52);
        assert!(widths.iter().sum::<usize>() <= TEXT_WIDTH);
    }
}
