//! The statistical tests behind a comparison: the one-sided Mann-Whitney U test on per-window
//! values, a bootstrap interval for the change of a median, and a two-proportion z-test for
//! failure rates. Plain functions of samples, so they can be checked against known values.

const BOOTSTRAP_ROUNDS: usize = 2000;

/// One-sided Mann-Whitney U test: the p-value that `new` tends to be larger than `base`
/// (normal approximation with tie correction and continuity correction).
pub fn mann_whitney_greater(base: &[f64], new: &[f64]) -> Option<f64> {
    let (n1, n2) = (base.len() as f64, new.len() as f64);
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = base
        .iter()
        .map(|v| (*v, false))
        .chain(new.iter().map(|v| (*v, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks over ties.
    let mut ranks = vec![0.0; all.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        ranks[i..=j].iter_mut().for_each(|r| *r = rank);
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let rank_sum_new: f64 = all
        .iter()
        .zip(&ranks)
        .filter(|((_, is_new), _)| *is_new)
        .map(|(_, r)| r)
        .sum();
    let u_new = rank_sum_new - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let n = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 {
        return Some(if u_new > mean { 0.0 } else { 1.0 });
    }
    let z = (u_new - mean - 0.5) / variance.sqrt();
    Some(1.0 - standard_normal_cdf(z))
}

/// The standard normal CDF (Abramowitz-Stegun 7.1.26 for erf; error below 1.5e-7).
pub fn standard_normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// 95% bootstrap interval of the relative change of the median (new / base - 1), resampling
/// windows with replacement; deterministic (fixed seed) so a comparison can be repeated.
pub fn bootstrap_median_change(base: &[f64], new: &[f64]) -> Option<(f64, f64)> {
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let mut state: u64 = 0x853C_49E6_748F_EA9B;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut changes = Vec::with_capacity(BOOTSTRAP_ROUNDS);
    let (mut b, mut n) = (vec![0.0; base.len()], vec![0.0; new.len()]);
    for _ in 0..BOOTSTRAP_ROUNDS {
        b.iter_mut().for_each(|v| *v = base[next(base.len())]);
        n.iter_mut().for_each(|v| *v = new[next(new.len())]);
        let (mb, mn) = (median(&mut b), median(&mut n));
        if mb > 0.0 {
            changes.push(mn / mb - 1.0);
        }
    }
    if changes.is_empty() {
        return None;
    }
    changes.sort_by(f64::total_cmp);
    let at = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

/// One-sided two-proportion z-test: the p-value that the new failure rate is higher.
pub(super) fn proportion_greater(base_failed: u64, base_n: u64, new_failed: u64, new_n: u64) -> Option<f64> {
    if base_n == 0 || new_n == 0 {
        return None;
    }
    let (p1, p2) = (
        base_failed as f64 / base_n as f64,
        new_failed as f64 / new_n as f64,
    );
    let pooled = (base_failed + new_failed) as f64 / (base_n + new_n) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / base_n as f64 + 1.0 / new_n as f64)).sqrt();
    if se == 0.0 {
        return Some(if p2 > p1 { 0.0 } else { 1.0 });
    }
    Some(1.0 - standard_normal_cdf((p2 - p1) / se))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney_and_the_normal_cdf_give_known_values() {
        assert!((standard_normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((standard_normal_cdf(0.0) - 0.5).abs() < 1e-9);
        let low = [1.0, 2.0, 3.0, 4.0, 5.0];
        let high = [6.0, 7.0, 8.0, 9.0, 10.0];
        let p = mann_whitney_greater(&low, &high).unwrap();
        assert!(p < 0.01, "{p}"); // exact one-sided p is 1/252 = 0.004
        assert!(mann_whitney_greater(&high, &low).unwrap() > 0.99);
        assert!((mann_whitney_greater(&low, &low).unwrap() - 0.5).abs() < 0.15);
    }
}
