//! A realistic deliverable rendered to a file, to open in Word or
//! LibreOffice and look at: `cargo test --lib export::docx -- --ignored`
//! writes it to `docxcheck/sample.docx` under the temporary directory.

use super::{northwind, unpack};
use crate::export::document::Document;
use crate::export::docx::render;

const PROPOSAL: &str = r##"# Brand Refresh Proposal

Prepared for **Contoso Coffee Co.** — a plan to refresh the brand *across print and digital*, based on the [discovery workshop notes](https://northwind.example/notes?id=42&view=full).

## Objectives

1. Modernise the visual identity while keeping its heritage feel
2. Build a reusable design system
   - Typography scale
   - Colour tokens with accessible contrast
   - Component library in Figma
3. Launch the new website by **Q3**

## Scope & deliverables

- Brand strategy workshop (two half-days)
- Logo refinement and usage guidelines
  1. Primary lockup
  2. Secondary marks
- Website design for ~~12~~ 15 templates

> Good design is obvious. Great design is transparent. That is the standard we hold this engagement to.

### Timeline and budget

| Phase | Duration | Cost (GBP) |
|:--|:--:|--:|
| Discovery | 2 weeks | 8,500 |
| Identity | 4 weeks | 18,000 |
| Website | 8 weeks | 42,000 |
| **Total** | **14 weeks** | **68,500** |

### Technical notes

Colour tokens ship as JSON, named like `--brand-primary`:

```json
{
  "brand-primary": "#0E7490",
  "brand-accent": "#F59E0B"
}
```

---

## Next steps

1. Reply to confirm the scope
2. Book the kick-off workshop

Once the workshop is booked:

3. Share brand assets and access
4. Review first concepts in week 3

Thank you — we are excited to get started. 🚀
"##;

#[test]
#[ignore = "writes a file to look at"]
fn writes_a_sample_proposal() {
    let doc = Document::parse("Brand Refresh Proposal", PROPOSAL);
    let bytes = render(&doc, &northwind()).expect("renders");
    assert!(unpack(&bytes).contains_key("word/document.xml"));
    let dir = std::env::temp_dir().join("docxcheck");
    std::fs::create_dir_all(&dir).expect("a directory");
    std::fs::write(dir.join("sample.docx"), bytes).expect("written");
}
