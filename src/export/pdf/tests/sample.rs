//! A realistic deliverable rendered to a file, to open and look at:
//! `cargo test --lib export::pdf -- --ignored` writes it to
//! `pdfcheck/sample.pdf` under the temporary directory.

use super::{brand, pdf_text};
use crate::export::document::{Branding, Document};
use crate::export::pdf::render;

const PROPOSAL: &str = r##"# Website redesign proposal

Prepared for **Contoso Coffee** by the Northwind team. This document sets out *how* we will take the brand from its current look to a modern, accessible site that sells more coffee — with a clear plan, a fixed budget and weekly check-ins. Read the full [research summary](https://northwind.studio/research) for the evidence behind each recommendation. 🚀

## Goals

We agreed three goals in the kick-off workshop:

1. Grow online subscriptions by **25%** within six months of launch.
2. Cut the time to checkout in half, from about four minutes to two.
   - Remove the forced account step.
   - Offer *Apple Pay* and *Google Pay* on every product page.
3. Meet WCAG 2.2 AA across every template.

## Approach

Our process runs in four phases. Each phase ends with a review, and nothing moves on without your sign-off. We keep the work visible in a shared board, and you can reach the team in the project channel at any time.

- **Discovery** — interviews, analytics and a content audit.
  - Eight customer interviews across three markets.
  - A review of the last twelve months of analytics.
- **Design** — wireframes, then a visual system built on the refreshed palette.
- **Build** — a component library first, then the templates.
- **Launch** — a staged roll-out with monitoring and a rollback plan.

> The best brands are consistent in the small things. We will make every detail — from the button states to the order emails — feel like Contoso.

### Timeline and budget

| Phase | Duration | Lead | Fee (EUR) |
|:--|:-:|:--|--:|
| Discovery | 2 weeks | Priya Raman | 8,400 |
| Design | 4 weeks | Tom Okafor | 19,200 |
| Build | 6 weeks | Lena Fischer, with two front-end engineers and a QA specialist | 31,500 |
| Launch | 1 week | Tom Okafor | 4,200 |
| **Total** | **13 weeks** | | **63,300** |

Fees are fixed and ~~subject to change~~ include two rounds of revisions per phase. Travel is billed at cost.

### Technical notes

Design tokens ship as JSON so that the site, the apps and the emails share one source of truth. The `brand-primary` token drives buttons and links:

```json
{
  "brand-primary": "#0E7490",
  "brand-accent": "#F59E0B",
  "font-body": "Inter, system-ui, -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, sans-serif"
}
```

---

## Next steps

Once you approve this proposal we will send the contract and book the discovery workshop. A deposit of 30% is due on signature; the rest is invoiced at the end of each phase. 🎉

We look forward to working with you. Questions? Write to [hello@northwind.studio](mailto:hello@northwind.studio) and we will answer within one working day.

## Appendix: interview guide

The interviews follow a light script so that answers can be compared across markets while leaving room for the conversation to go where the customer takes it.

1. How did you first hear about Contoso Coffee?
2. Walk us through the last time you ordered online. What was easy? What got in the way?
3. What would make you subscribe rather than buy one bag at a time?
4. Which other coffee brands do you follow, and why?

Each interview lasts about forty-five minutes and is recorded with the participant's consent. Recordings are deleted once the synthesis is complete, and quotes in our report are anonymised. We share the synthesis as a short deck with a one-page summary for the leadership team, and walk through it together in a ninety-minute session.
"##;

fn write(name: &str, markdown: &str, brand: &Branding) {
    let doc = Document::parse("Website redesign proposal", markdown);
    let bytes = render(&doc, brand).unwrap();
    let (_, pages) = pdf_text(&bytes);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let dir = std::env::temp_dir().join("pdfcheck");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
#[ignore = "writes sample PDFs to look at"]
fn write_sample_pdfs() {
    write("sample.pdf", PROPOSAL, &brand());
    // In a serif brand font, with a table long enough to run over pages.
    let rows: String = (1..=45)
        .map(|week| {
            format!(
                "| Week {week} | Review of the work in progress with the client team | {}.00 |\n",
                week * 150
            )
        })
        .collect();
    let schedule = format!(
        "{PROPOSAL}\n## Weekly schedule\n\n| Week | Activity | Hours |\n|:--|:--|--:|\n{rows}"
    );
    let serif = Branding {
        font: Some("Merriweather".into()),
        ..brand()
    };
    write("sample-serif.pdf", &schedule, &serif);
    // Awkward input: emoji, long words and links, deep lists, many columns.
    let edges = format!("{EDGE_CASES}\n{PROPOSAL}");
    let awkward = Branding {
        letterhead: "Northwind Studio ✨ — Brand, Digital & Product Design Consultancy for Ambitious Teams 🚀".into(),
        font: Some("JetBrains Mono".into()),
        ..brand()
    };
    write("sample-edges.pdf", &edges, &awkward);
}

const EDGE_CASES: &str = "# Edge cases 🎉\n\n\
Emoji 🚀 in the middle, ✨ sparkles, 👍🏽 toned and 👨‍👩‍👧 joined. A long link: \
[https://example.com/a/very/long/path/that/does/not/fit/on/one/line/at/all/whatsoever/really](https://example.com/long) \
and Supercalifragilisticexpialidocious-antidisestablishmentarianism-pneumonoultramicroscopicsilicovolcanoconiosis.\
  \nA hard break above, ~~struck text~~, `inline code`, ***bold italic***.\n\n\
### Level three\n\n#### Level four\n\n##### Level five\n\n###### Level six\n\n\
8. eight\n9. nine\n10. ten\n    - deeper\n        - deepest\n            - four levels\n\n\
| A | B | C | D | E | F | G |\n|---|---|---|---|---|---|---|\n\
| one | two | three | four | five | six | seven with a long cell that has to wrap |\n";
