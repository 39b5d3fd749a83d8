//! Distribution functions accurate to what the reference vectors need.
//!
//! statrs 0.19.1 is used where it is precise; our own code covers where it is not (see
//! shared/stats/NOTES.md §8): its normal cdf carries ~5e-11 relative error (libm's erfc is
//! used instead), and its Student-t quantile and cdf degrade past ~1e4 degrees of freedom
//! (a Cornish–Fisher expansion is used there, as StatsFuns.jl does).

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

/// Degrees of freedom from which the Cornish–Fisher expansion replaces statrs.
const CORNISH_FISHER_DF: f64 = 1e4;

pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

pub fn norm_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// Φ⁻¹(p); statrs is within 3e-16 here.
pub fn norm_ppf(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return f64::NAN;
    }
    Normal::standard().inverse_cdf(p)
}

/// The Cornish–Fisher expansion of the t quantile in terms of the normal quantile z
/// (Abramowitz & Stegun 26.7.5).
fn cornish_fisher(z: f64, df: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 * z + z) / 4.0;
    let g2 = (5.0 * z2 * z2 * z + 16.0 * z2 * z + 3.0 * z) / 96.0;
    let g3 = (3.0 * z2.powi(3) * z + 19.0 * z2 * z2 * z + 17.0 * z2 * z - 15.0 * z) / 384.0;
    let g4 = (79.0 * z2.powi(4) * z + 776.0 * z2.powi(3) * z + 1482.0 * z2 * z2 * z
        - 1920.0 * z2 * z
        - 945.0 * z)
        / 92160.0;
    z + g1 / df + g2 / (df * df) + g3 / df.powi(3) + g4 / df.powi(4)
}

/// The z whose Cornish–Fisher t equals `t` (Newton; the map is monotone for large df).
fn cornish_fisher_inverse(t: f64, df: f64) -> f64 {
    let mut z = t;
    for _ in 0..50 {
        let f = cornish_fisher(z, df) - t;
        let h = 1e-6 * (1.0 + z.abs());
        let slope = (cornish_fisher(z + h, df) - cornish_fisher(z - h, df)) / (2.0 * h);
        let step = f / slope;
        z -= step;
        if step.abs() <= 1e-15 * (1.0 + z.abs()) {
            break;
        }
    }
    z
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    t_sf(-t, df)
}

/// P(T > t).
pub fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t == f64::INFINITY {
        return 0.0;
    }
    if t == f64::NEG_INFINITY {
        return 1.0;
    }
    if df.is_infinite() {
        return norm_sf(t);
    }
    if df >= CORNISH_FISHER_DF {
        return norm_sf(cornish_fisher_inverse(t, df));
    }
    StudentsT::new(0.0, 1.0, df)
        .map(|d| d.sf(t))
        .unwrap_or(f64::NAN)
}

/// The t quantile: Cornish–Fisher for large df, statrs polished by Newton steps otherwise.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if df.is_infinite() {
        return norm_ppf(p);
    }
    if df >= CORNISH_FISHER_DF {
        return cornish_fisher(norm_ppf(p), df);
    }
    let Ok(d) = StudentsT::new(0.0, 1.0, df) else {
        return f64::NAN;
    };
    let mut x = d.inverse_cdf(p);
    // Newton on the tail that does not cancel.
    for _ in 0..3 {
        let density = d.pdf(x);
        if density.is_nan() || density <= 0.0 || !x.is_finite() {
            break;
        }
        let step = if p > 0.5 {
            -(d.sf(x) - (1.0 - p)) / density
        } else {
            (d.cdf(x) - p) / density
        };
        x -= step;
    }
    x
}

/// P(χ²_df > x).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    ChiSquared::new(df).map(|d| d.sf(x)).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn large_df_quantiles_are_accurate() {
        // scipy.stats.t.ppf(0.975, 1e7) = 1.959964221767205; statrs 0.19.1 gives 1.8266.
        assert!(close(t_ppf(0.975, 1e7), 1.959_964_221_767_205, 1e-12));
        assert!(close(t_ppf(0.975, 10.0), 2.228_138_851_986_274, 1e-13));
        assert!(close(norm_sf(1.96), 0.024_997_895_148_220_435, 1e-14));
        // Continuity across the switch to Cornish–Fisher.
        let below = t_sf(2.5, CORNISH_FISHER_DF * 0.999_999);
        let above = t_sf(2.5, CORNISH_FISHER_DF);
        assert!(close(below, above, 1e-8), "{below} vs {above}");
    }
}
