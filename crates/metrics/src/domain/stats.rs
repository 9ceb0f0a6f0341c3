//! Order statistics shared by DORA and the series: one percentile definition everywhere.

/// The `q`-quantile (0.0..=1.0) of `values` by linear interpolation between closest ranks (numpy's default, so the
/// median of an even count is the mean of the two middle values). `None` for no values. Reorders `values`.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    Some(sorted_percentile(values, q))
}

/// [`percentile`] over values already sorted ascending (not empty).
pub fn sorted_percentile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    // Exact for the values we use (q in hundredths, counts far below 2^52).
    #[allow(clippy::cast_precision_loss)]
    let rank = q.clamp(0.0, 1.0) * last as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let below = rank.floor() as usize;
    let above = (below + 1).min(last);
    let weight = rank - rank.floor();
    sorted[below] + (sorted[above] - sorted[below]) * weight
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    percentile(values, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let cases: [(&[f64], f64, Option<f64>); 7] = [
            (&[], 0.5, None),
            (&[7.0], 0.5, Some(7.0)),
            (&[3.0, 1.0, 2.0], 0.5, Some(2.0)),
            (&[4.0, 1.0, 3.0, 2.0], 0.5, Some(2.5)),
            (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9, Some(9.1)),
            (&[10.0, 20.0], 0.0, Some(10.0)),
            (&[10.0, 20.0], 1.0, Some(20.0)),
        ];
        for (values, q, expected) in cases {
            let got = percentile(&mut values.to_vec(), q);
            match (got, expected) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{values:?} q={q}: {g} != {e}"),
                (g, e) => assert_eq!(g, e, "{values:?} q={q}"),
            }
        }
    }
}
