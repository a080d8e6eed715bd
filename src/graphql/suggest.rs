//! "Did you mean …?": the names closest to a mistyped one, as graphql-js
//! chooses them (within a third of the name's length in edits, or one).

/// The candidates within reach of `input`, closest first, at most five.
pub fn closest(input: &str, candidates: &[String]) -> Vec<String> {
    let threshold = (input.len() / 3).max(1);
    let lower = input.to_lowercase();
    let mut found: Vec<(usize, &String)> = candidates
        .iter()
        .filter_map(|candidate| {
            let distance = if candidate.to_lowercase() == lower {
                1
            } else {
                edits(&lower, &candidate.to_lowercase())
            };
            (distance <= threshold).then_some((distance, candidate))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .take(5)
        .map(|(_, name)| name.clone())
        .collect()
}

/// `"a"`, `"a" or "b"`, `"a", "b", or "c"`.
pub fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        [first, second] => format!("{first} or {second}"),
        [rest @ .., last] => format!("{}, or {last}", rest.join(", ")),
        [] => String::new(),
    }
}

/// The Levenshtein distance, with a transposition of neighbours as one edit.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_closest_first() {
        let fields = ["monthlyCredits", "maxUsers", "plan"].map(String::from);
        assert_eq!(closest("monthlyCredit", &fields), ["monthlyCredits"]);
        assert_eq!(closest("pan", &fields), ["plan"]);
        assert!(closest("zzz", &fields).is_empty());
        assert_eq!(quoted(&["a".into(), "b".into()]), "\"a\" or \"b\"");
    }
}
