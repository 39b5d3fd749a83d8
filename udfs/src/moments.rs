//! Mergeable, shifted first and second moments (Welford updates, Chan merges).
//!
//! Values are accumulated relative to a shift (the first value an arm sees) so that data
//! near 1e9 with a tiny spread keeps its digits; raw power sums cancel catastrophically.

/// `n`, mean and M2 = Σ(v − mean)² of `v − shift`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub shift: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn push(&mut self, v: f64) {
        if self.n == 0 {
            *self = Moments {
                n: 0,
                shift: v,
                mean: 0.0,
                m2: 0.0,
            };
        }
        let x = v - self.shift;
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Undoes `push(v)` (for sliding windows).
    pub fn remove(&mut self, v: f64) {
        if self.n <= 1 {
            *self = Moments::default();
            return;
        }
        let x = v - self.shift;
        let n = self.n as f64;
        let mean_without = (n * self.mean - x) / (n - 1.0);
        self.m2 -= (x - mean_without) * (x - self.mean);
        self.mean = mean_without;
        self.n -= 1;
        if self.m2 < 0.0 {
            self.m2 = 0.0;
        }
    }

    /// Chan et al.'s pairwise merge, re-basing `other` onto this shift.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let other_mean = other.mean + (other.shift - self.shift);
        let n = na + nb;
        let delta = other_mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.n += other.n;
    }

    /// The mean in the data's own units; NaN when empty.
    pub fn value_mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.shift + self.mean
        }
    }

    /// Sample variance (ddof = 1).
    pub fn variance(&self) -> f64 {
        self.m2 / (self.n as f64 - 1.0)
    }

    /// `self.mean − other.mean` without the shifts cancelling each other's digits.
    pub fn mean_diff(&self, other: &Moments) -> f64 {
        if self.n == 0 || other.n == 0 {
            return f64::NAN;
        }
        (self.shift - other.shift) + (self.mean - other.mean)
    }
}

/// Merges partial `[treatment, control]` states into `own` in a canonical order (sorted by
/// `key`): partial states arrive in whatever order threads finish, and floating-point merges
/// are exact only up to rounding, so a fixed order makes every run give the same bits.
pub fn merge_canonically<T: Copy, K: Ord>(
    own: [T; 2],
    partials: &[[T; 2]],
    key: impl Fn(&T) -> K,
    merge: impl Fn(&mut T, &T),
) -> [T; 2] {
    let mut order: Vec<&[T; 2]> = partials.iter().collect();
    order.sort_by_key(|[t, c]| (key(t), key(c)));
    let [mut t, mut c] = own;
    for [pt, pc] in order {
        merge(&mut t, pt);
        merge(&mut c, pc);
    }
    [t, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_remove_agree_with_a_single_pass() {
        let values = [1e9 + 0.1, 1e9 + 0.2, 1e9 + 0.4, 1e9 + 0.3, 1e9 + 0.25];
        let mut all = Moments::default();
        values.iter().for_each(|v| all.push(*v));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        values[..2].iter().for_each(|v| a.push(*v));
        values[2..].iter().for_each(|v| b.push(*v));
        a.merge(&b);
        assert_eq!(a.n, 5);
        assert!((a.variance() - all.variance()).abs() < 1e-12);
        assert!((a.value_mean() - all.value_mean()).abs() < 1e-6);
        let mut c = all;
        c.push(1e9 + 5.0);
        c.remove(1e9 + 5.0);
        assert!((c.variance() - all.variance()).abs() < 1e-12);
    }
}
