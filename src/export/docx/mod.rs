//! DOCX rendering of a deliverable, branded with the workspace's export
//! profile.
//!
//! The blocks become real Word structures, so the file stays editable: the
//! headings use the Heading 1–6 styles (Word's navigation pane lists them),
//! lists use Word numbering, links are hyperlinks, tables are tables. The
//! letterhead heads every page and the contact block closes the document.
//!
//! - `look`: the typography, page and heading styles, in the accent colour.
//! - `blocks`: blocks as paragraphs and tables; `table` and `lists` for those.
//! - `inline`: spans as runs and hyperlinks; `text` keeps text valid XML.
//! - `page`: the header with the letterhead and the footer.
//! - `package`: the archive and its document properties.

mod blocks;
mod inline;
mod lists;
mod look;
mod package;
mod page;
mod table;
mod text;

#[cfg(test)]
mod tests;

use docx_rs::{Docx, Paragraph};

use self::blocks::{Body, BodyPart};
use self::look::Look;
use crate::error::AppResult;
use crate::export::document::{Branding, Document};

/// `doc` as a DOCX file branded with `brand`: the letterhead in the page
/// header, the profile's font as the default font, headings in the accent
/// colour, and the contact block at the end under a rule.
pub fn render(doc: &Document, brand: &Branding) -> AppResult<Vec<u8>> {
    let look = Look::new(brand);
    let mut body = Body::new(&look);
    for block in &doc.blocks {
        body.block(block);
    }
    body.contact_block(&brand.contact_block);
    let (parts, lists) = body.finish();

    let mut docx = look::set_up(Docx::new(), &look);
    docx = lists.install(docx, &look.accent);
    if let Some(header) = page::letterhead(&brand.letterhead, &look) {
        docx = docx.header(header);
    }
    docx = docx.footer(page::footer(&doc.title));
    if parts.is_empty() {
        // A body needs a paragraph for Word to place the cursor in.
        docx = docx.add_paragraph(Paragraph::new());
    }
    for part in parts {
        docx = match part {
            BodyPart::Paragraph(paragraph) => docx.add_paragraph(*paragraph),
            BodyPart::Table(table) => docx.add_table(*table),
        };
    }
    package::pack(docx, &doc.title)
}
