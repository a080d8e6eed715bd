//! Tables: columns sized from their content to share the text width, cell
//! text wrapped and aligned, a tinted header row repeated on every page the
//! table runs onto, and rows split by line when one is taller than a page.

use super::inline::{self, Line, TextStyle};
use super::layout::{line_ops, Layout, Op};
use super::FRAME;
use crate::export::document::{Align, Span};

/// Padding between a cell's border and its text.
const PAD_X: f32 = 6.0;
const PAD_Y: f32 = 4.0;
/// Width of the cell borders.
const BORDER: f32 = 0.6;

/// One row laid out: the lines of each cell.
type Row = Vec<Vec<Line>>;

/// How the table's rows are drawn.
struct Grid<'t> {
    widths: Vec<f32>,
    align: &'t [Align],
    /// The header row, drawn again at the top of each new page.
    header: Option<Row>,
}

pub fn place(layout: &mut Layout, align: &[Align], header: &[Vec<Span>], rows: &[Vec<Vec<Span>>]) {
    if align.is_empty() {
        return;
    }
    let body = layout.style(|s| {
        s.size = 9.5;
        s.leading = 1.35;
    });
    let head = TextStyle { bold: true, ..body };
    let has_header = header.iter().any(|cell| !cell.is_empty());
    let widths = column_widths(
        layout,
        align.len(),
        has_header.then_some(header),
        rows,
        &body,
        &head,
    );
    let lay_row = |cells: &[Vec<Span>], style: &TextStyle| -> Row {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| layout.wrap(cell, style, f32::max(width - 2.0 * PAD_X, 1.0)))
            .collect()
    };
    let header_row = has_header.then(|| lay_row(header, &head));
    let body_rows: Vec<Row> = rows.iter().map(|row| lay_row(row, &body)).collect();
    let grid = Grid {
        widths,
        align,
        header: header_row,
    };
    let header_height = grid.header.as_ref().map_or(0.0, row_height);
    let first_height = body_rows.first().map_or(0.0, row_height);
    layout.ensure(header_height + first_height);
    if let Some(row) = &grid.header {
        draw_row(layout, &grid, row, true);
    }
    for row in body_rows {
        place_row(layout, &grid, row);
    }
}

/// Column widths filling the text width: each column gets what its text
/// wants unbroken when everything fits, else at least its longest word and
/// a share of the rest; if even the words do not fit, widths shrink in
/// proportion and long words break.
fn column_widths(
    layout: &Layout,
    columns: usize,
    header: Option<&[Vec<Span>]>,
    rows: &[Vec<Vec<Span>>],
    body: &TextStyle,
    head: &TextStyle,
) -> Vec<f32> {
    let mut least = vec![2.0 * PAD_X + 12.0; columns];
    let mut most = least.clone();
    let styled = header
        .into_iter()
        .map(|cells| (cells, head))
        .chain(rows.iter().map(|cells| (cells.as_slice(), body)));
    for (cells, style) in styled {
        for (column, cell) in cells.iter().enumerate().take(columns) {
            let (word, unbroken) = inline::extent(cell, style, layout.faces);
            least[column] = f32::max(least[column], word + 2.0 * PAD_X + 1.0);
            most[column] = f32::max(most[column], unbroken + 2.0 * PAD_X + 1.0);
        }
    }
    share_width(&least, &most, FRAME.width())
}

/// Splits `total` between columns wanting between `least` and `most`:
/// all of `most` scaled up when it fits; else columns narrower than an even
/// share keep their unbroken width and the others divide the rest, each
/// with at least its longest word; when even the words do not fit, widths
/// shrink in proportion and long words break.
pub(super) fn share_width(least: &[f32], most: &[f32], total: f32) -> Vec<f32> {
    let sum_most: f32 = most.iter().sum();
    if sum_most <= total {
        return most.iter().map(|w| w * total / sum_most).collect();
    }
    let mut kept = vec![false; most.len()];
    // The width of the columns whose `keep` flag is `flag`.
    let width_where = |values: &[f32], kept: &[bool], flag: bool| -> f32 {
        values
            .iter()
            .zip(kept)
            .filter(|(_, k)| **k == flag)
            .map(|(w, _)| w)
            .sum()
    };
    loop {
        let open = kept.iter().filter(|k| !**k).count() as f32;
        let taken = width_where(most, &kept, true);
        let even_share = (total - taken) / open;
        let mut changed = false;
        for (keep, want) in kept.iter_mut().zip(most) {
            if !*keep && *want <= even_share {
                *keep = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let rest = total - width_where(most, &kept, true);
    let (open_least, open_most) = (
        width_where(least, &kept, false),
        width_where(most, &kept, false),
    );
    if open_least > rest {
        let sum_least: f32 = least.iter().sum();
        return least.iter().map(|w| w * total / sum_least).collect();
    }
    let share = (rest - open_least) / (open_most - open_least).max(0.001);
    (0..most.len())
        .map(|i| match kept[i] {
            true => most[i],
            false => least[i] + (most[i] - least[i]) * share,
        })
        .collect()
}

fn cell_height(lines: &[Line]) -> f32 {
    lines.iter().map(|l| l.height).sum()
}

fn row_height(row: &Row) -> f32 {
    row.iter().map(|cell| cell_height(cell)).fold(0.0, f32::max) + 2.0 * PAD_Y
}

/// Places a body row where it fits: on this page, else on the next one
/// under a repeated header, else (taller than a page) split by lines.
fn place_row(layout: &mut Layout, grid: &Grid, row: Row) {
    let mut pending = row;
    let header_height = grid.header.as_ref().map_or(0.0, row_height);
    loop {
        let height = row_height(&pending);
        if height <= layout.room() + 0.01 {
            draw_row(layout, grid, &pending, false);
            return;
        }
        let fits_fresh_page = height + header_height <= FRAME.bottom - FRAME.top;
        if fits_fresh_page && !layout.at_top() {
            continue_on_new_page(layout, grid);
            continue;
        }
        let room = layout.room() - 2.0 * PAD_Y;
        let (now, later): (Row, Row) = pending
            .into_iter()
            .map(|cell| split_cell(cell, room, layout.at_top()))
            .unzip();
        if now.iter().any(|cell| !cell.is_empty()) {
            draw_row(layout, grid, &now, false);
        }
        if later.iter().all(|cell| cell.is_empty()) {
            return;
        }
        continue_on_new_page(layout, grid);
        pending = later;
    }
}

/// The lines of a cell that fit in `room`, and the rest; at the top of
/// a page at least one line goes, so the table always moves on.
fn split_cell(cell: Vec<Line>, room: f32, at_top: bool) -> (Vec<Line>, Vec<Line>) {
    let mut used = 0.0;
    let mut now = Vec::new();
    let mut lines = cell.into_iter().peekable();
    while let Some(line) = lines.peek() {
        if used + line.height > room && !(at_top && now.is_empty()) {
            break;
        }
        used += line.height;
        now.extend(lines.next());
    }
    (now, lines.collect())
}

fn continue_on_new_page(layout: &mut Layout, grid: &Grid) {
    layout.new_page();
    if let Some(header) = &grid.header {
        draw_row(layout, grid, header, true);
    }
}

/// Draws a row at the cursor: background (header), cell text, borders.
fn draw_row(layout: &mut Layout, grid: &Grid, row: &Row, header: bool) {
    let (top, height) = (layout.y, row_height(row));
    let (faces, theme) = (layout.faces, layout.theme);
    let ops = layout.ops();
    if header {
        ops.push(Op::Fill {
            x: FRAME.left,
            y: top,
            width: FRAME.width(),
            height,
            color: theme.header_background,
        });
    }
    let mut x = FRAME.left;
    for ((cell, width), align) in row.iter().zip(&grid.widths).zip(grid.align) {
        let inner = width - 2.0 * PAD_X;
        let mut line_top = top + PAD_Y;
        for line in cell {
            let offset = match align {
                Align::Left => 0.0,
                Align::Center => (inner - line.width) / 2.0,
                Align::Right => inner - line.width,
            };
            line_ops(
                ops,
                line,
                x + PAD_X + offset.max(0.0),
                line_top,
                faces,
                theme,
            );
            line_top += line.height;
        }
        x += width;
    }
    let border = |x: f32, y: f32, width: f32, height: f32| Op::Fill {
        x,
        y,
        width,
        height,
        color: theme.hairline,
    };
    let half = BORDER / 2.0;
    ops.push(border(
        FRAME.left - half,
        top - half,
        FRAME.width() + BORDER,
        BORDER,
    ));
    ops.push(border(
        FRAME.left - half,
        top + height - half,
        FRAME.width() + BORDER,
        BORDER,
    ));
    let mut edge = FRAME.left;
    for width in std::iter::once(&0.0).chain(&grid.widths) {
        edge += width;
        ops.push(border(edge - half, top, BORDER, height));
    }
    layout.y += height;
}
