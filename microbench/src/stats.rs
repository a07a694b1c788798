//! Summary statistics of timing samples.

/// Median of the samples (0 for none).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Spread as the half-width of the interquartile range relative to the
/// median (0.03 = ±3%); with fewer than 4 samples, half the full range.
pub fn relative_spread(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let m = median(&v);
    if m <= 0.0 {
        return 0.0;
    }
    let n = v.len();
    let (lo, hi) = if n >= 4 {
        (v[n / 4], v[(3 * n) / 4])
    } else {
        (v[0], v[n - 1])
    };
    (hi - lo) / 2.0 / m
}

/// Relative Frobenius error `‖x − r‖ / ‖r‖` (NaN if any value is NaN).
pub fn rel_frobenius(x: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(x.len(), reference.len());
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in x.iter().zip(reference) {
        num += (a - b) * (a - b);
        den += b * b;
    }
    if den == 0.0 {
        return if num == 0.0 { 0.0 } else { f64::INFINITY };
    }
    (num / den).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let s = relative_spread(&[1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(s, 0.0);
        assert!(relative_spread(&[0.9, 1.0, 1.0, 1.1, 2.0]) > 0.0);
    }

    #[test]
    fn frobenius() {
        assert_eq!(rel_frobenius(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        let e = rel_frobenius(&[1.0, 2.1], &[1.0, 2.0]);
        assert!((e - 0.1 / 5f64.sqrt()).abs() < 1e-12);
        assert!(rel_frobenius(&[f64::NAN], &[1.0]).is_nan());
    }
}
