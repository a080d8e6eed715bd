//! Checks made once per run, before any load: every scenario answers 200
//! without errors, and the hand-written page holds the bytes Atelya writes.

use super::Scenario;

/// Every scenario answers 200 without errors; each page's hand-written
/// answer holds the bytes of Atelya's `data`, and nothing else.
pub async fn verify(scenarios: &[Scenario]) {
    for scenario in scenarios {
        let (status, body) = scenario.request.once().await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "({}) answered {status}: {text}", scenario.key);
        assert!(
            !text.contains("\"errors\""),
            "({}) failed: {text}",
            scenario.key
        );
        if scenario.key == "a" {
            assert_eq!(text, "Hello, World!");
        } else if !text.starts_with("{\"data\":{") || text.contains("\"data\":{\"workroom\":null") {
            panic!("({}) answered no data: {text}", scenario.key);
        }
    }
    for d in scenarios.iter().filter(|s| s.key.starts_with('d')) {
        let twin = format!("e{}", &d.key[1..]);
        let e = scenarios.iter().find(|s| s.key == twin).expect("a twin");
        let (_, atelya) = d.request.once().await;
        let (_, plain) = e.request.once().await;
        match same_page(&atelya, &plain) {
            Ok(0) => eprintln!("({}) and ({twin}): {} identical bytes", d.key, plain.len()),
            Ok(extra) => eprintln!(
                "({}) and ({twin}): the {} bytes of data are identical; Atelya adds {extra} bytes of extensions: {}",
                d.key,
                plain.len(),
                String::from_utf8_lossy(&atelya[plain.len() - 1..])
            ),
            Err(at) => panic!(
                "({}) and ({twin}) differ at byte {at}:\natelya: {}\nplain:  {}",
                d.key,
                String::from_utf8_lossy(&atelya[at.saturating_sub(80)..(at + 80).min(atelya.len())]),
                String::from_utf8_lossy(&plain[at.saturating_sub(80)..(at + 80).min(plain.len())]),
            ),
        }
    }
}

/// `plain` is `{"data":…}`; Atelya's body is the same bytes, or the same
/// bytes with `,"extensions":{…}` before the final brace (the cost a
/// document drew from its budget). The extra bytes, or where they differ.
fn same_page(atelya: &[u8], plain: &[u8]) -> Result<usize, usize> {
    let open = &plain[..plain.len().saturating_sub(1)];
    let rest = atelya.get(open.len()..).unwrap_or_default();
    if atelya.starts_with(open) && (rest == b"}" || rest.starts_with(b",\"extensions\":{")) {
        return Ok(atelya.len() - plain.len());
    }
    Err(atelya.iter().zip(plain).take_while(|(a, b)| a == b).count())
}

#[cfg(test)]
mod tests {
    use super::same_page;

    #[test]
    fn a_page_is_the_same_with_or_without_the_cost_extension() {
        let plain = br#"{"data":{"workroom":{"id":"wrm_1"}}}"#;
        assert_eq!(same_page(plain, plain), Ok(0));
        let with_cost = br#"{"data":{"workroom":{"id":"wrm_1"}},"extensions":{"cost":{}}}"#;
        assert_eq!(
            same_page(with_cost, plain),
            Ok(with_cost.len() - plain.len())
        );
        let other = br#"{"data":{"workroom":{"id":"wrm_2"}}}"#;
        assert_eq!(same_page(other, plain), Err(31));
    }
}
