//! Splitting an artist credit written as one string (`A, B & C`, `A feat. B`) into names, the
//! same way for every provider that sends one (Shazam's subtitles, YouTube's video titles), so
//! the first name is the primary artist the catalog matches on.

/// Where one credited name ends and the next begins. Not ` x ` or `and`, which appear inside
/// names (`Lil Nas X`, `Simon and Garfunkel` is one act); a band named `X & Y` is split too.
const SEPARATORS: &[&str] = &[
    " & ",
    ", ",
    " feat. ",
    " Feat. ",
    " FEAT. ",
    " ft. ",
    " Ft. ",
    " FT. ",
    " featuring ",
];

/// The names in `credit`, in order, trimmed, empties dropped.
pub fn split(credit: &str) -> Vec<String> {
    let mut parts = vec![credit.to_string()];
    for sep in SEPARATORS {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_collaborations_and_features_but_not_names() {
        assert_eq!(split("Future & Juice WRLD"), ["Future", "Juice WRLD"]);
        assert_eq!(split("A, B & C ft. D"), ["A", "B", "C", "D"]);
        assert_eq!(
            split("Mark Ronson featuring Bruno Mars"),
            ["Mark Ronson", "Bruno Mars"]
        );
        assert_eq!(split("Lil Nas X"), ["Lil Nas X"]);
        assert_eq!(
            split("Chase Atlantic x Nobody"),
            ["Chase Atlantic x Nobody"]
        );
        assert!(split("  ").is_empty());
    }
}
