//! Edit distance (optimal string alignment: insertions, deletions, substitutions and swaps of two neighbours each
//! count one), the typo tolerance built on it, and the suggestions offered for an unknown name.

use super::text::skeleton;

/// The optimal-string-alignment distance between `a` and `b`, in characters; `None` once it exceeds `limit`.
pub fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit {
            return None;
        }
    }
    Some(rows[a.len() * width + b.len()]).filter(|&d| d <= limit)
}

/// How many edits a typo of `word` may have: none under 4 characters, one up to 6, two from 7 (so `prdo` is `prod`
/// and `stagign` is `staging`, but `to` is never `dev`).
pub fn typo_budget(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

fn same_letters(a: &str, b: &str) -> bool {
    let mut a: Vec<char> = a.chars().collect();
    let mut b: Vec<char> = b.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// The closest of `candidates` to `typed` within the typo budget of the candidate, when exactly one is closest
/// (at equal distance, one of the same length as `typed` wins: `stauts` is `status`, not `stats`). Between two words
/// of four letters only a swap of neighbours counts (`prdo` is `prod`, but `skip` is not `ship`).
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<((usize, usize), &str)> = None;
    let mut tied = false;
    let typed_len = typed.chars().count();
    if typed_len < 4 {
        return None;
    }
    for candidate in candidates {
        let candidate_len = candidate.chars().count();
        let budget = typo_budget(candidate).min(typo_budget(typed).max(1));
        if budget == 0 || candidate_len.abs_diff(typed_len) > budget {
            continue;
        }
        if candidate_len <= 4 && typed_len <= 4 && !same_letters(typed, candidate) {
            continue;
        }
        let Some(d) = distance_within(typed, candidate, budget) else {
            continue;
        };
        let d = (d, candidate_len.abs_diff(typed_len));
        match best {
            Some((bd, b)) if d == bd && b != candidate => tied = true,
            Some((bd, _)) if d >= bd => {}
            _ => {
                best = Some((d, candidate));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, c)| c)
}

/// Up to three names to offer for an unknown `typed` one: those within two edits of its look-alike skeleton, or that
/// start with it (or it with them), closest first. Only ever shown to the asker, never used in their place.
pub fn suggestions<'a>(typed: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let typed = skeleton(typed);
    let mut scored: Vec<(usize, &str)> = names
        .into_iter()
        .filter_map(|name| {
            let by_edit = distance_within(&typed, name, 2);
            let by_prefix = typed.chars().count() >= 2 && (name.starts_with(&typed) || typed.starts_with(name));
            by_edit.or(by_prefix.then_some(3)).map(|d| (d, name))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, n)| n.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_a_swap_of_neighbours_as_one_edit() {
        assert_eq!(distance_within("deploy", "deploy", 2), Some(0));
        assert_eq!(distance_within("depoly", "deploy", 2), Some(1));
        assert_eq!(distance_within("prodcutoin", "production", 2), Some(2));
        assert_eq!(distance_within("dploi", "deploy", 2), Some(2));
        assert_eq!(distance_within("api", "billing", 2), None);
        assert_eq!(distance_within("", "ab", 2), Some(2));
    }

    #[test]
    fn typos_are_tolerated_by_length_and_never_when_two_words_tie() {
        let envs = ["dev", "staging", "production", "prod"];
        assert_eq!(closest("stagign", envs), Some("staging"));
        assert_eq!(closest("prdo", envs), Some("prod"));
        assert_eq!(closest("prodution", envs), Some("production"));
        assert_eq!(closest("dev", envs), None, "three letters: exact only");
        assert_eq!(closest("deva", envs), None, "the candidate dev has no typo budget");
        assert_eq!(closest("cast", ["case", "cost"]), None, "a tie is no match");
    }

    #[test]
    fn suggestions_come_from_edits_prefixes_and_look_alikes() {
        let projects = ["api", "web", "billing", "api-gateway"];
        assert_eq!(suggestions("apii", projects), ["api"]);
        assert_eq!(suggestions("аpi", projects), ["api", "api-gateway"]);
        assert_eq!(suggestions("bill", projects), ["billing"]);
        assert!(suggestions("zzzzzz", projects).is_empty());
    }
}
