//! Power analysis: minimum detectable effect, sample size and power for means and
//! proportions. Two-sided, normal approximation, far tail ignored; proportions use the
//! pooled-null (Fleiss) variance as statsmodels does.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::Float64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::dist::{norm_cdf, norm_ppf};
use crate::docs::doc;
use crate::params::{at, coerce_all_numeric, f64_columns};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    MdeMean,
    MdeProportion,
    SampleSizeMean,
    SampleSizeProportion,
    PowerMean,
    PowerProportion,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::MdeMean,
        Kind::MdeProportion,
        Kind::SampleSizeMean,
        Kind::SampleSizeProportion,
        Kind::PowerMean,
        Kind::PowerProportion,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::MdeMean => "mde_mean",
            Kind::MdeProportion => "mde_proportion",
            Kind::SampleSizeMean => "sample_size_mean",
            Kind::SampleSizeProportion => "sample_size_proportion",
            Kind::PowerMean => "power_mean",
            Kind::PowerProportion => "power_proportion",
        }
    }

    /// (required arguments, all arguments)
    fn arity(self) -> (usize, usize) {
        match self {
            Kind::PowerMean | Kind::PowerProportion => (3, 4),
            _ => (2, 4),
        }
    }
}

fn z_alpha(alpha: f64) -> f64 {
    norm_ppf(1.0 - alpha / 2.0)
}

pub fn mde_mean(sd: f64, n: f64, alpha: f64, power: f64) -> f64 {
    (z_alpha(alpha) + norm_ppf(power)) * sd * (2.0 / n).sqrt()
}

pub fn sample_size_mean(sd: f64, mde: f64, alpha: f64, power: f64) -> f64 {
    (2.0 * (z_alpha(alpha) + norm_ppf(power)).powi(2) * sd * sd / (mde * mde)).ceil()
}

pub fn power_mean(sd: f64, mde: f64, n: f64, alpha: f64) -> f64 {
    norm_cdf(mde.abs() / (sd * (2.0 / n).sqrt()) - z_alpha(alpha))
}

/// Unrounded Fleiss sample size per arm for baseline `p` and absolute effect `d`.
fn n_proportion(p: f64, d: f64, alpha: f64, power: f64) -> f64 {
    let p1 = p + d;
    let pbar = (p + p1) / 2.0;
    let a = z_alpha(alpha) * (2.0 * pbar * (1.0 - pbar)).sqrt();
    let b = norm_ppf(power) * (p1 * (1.0 - p1) + p * (1.0 - p)).sqrt();
    (a + b).powi(2) / (d * d)
}

pub fn sample_size_proportion(p: f64, d: f64, alpha: f64, power: f64) -> f64 {
    n_proportion(p, d, alpha, power).ceil()
}

/// The exact inverse of the unrounded sample size: the d in (0, 1 − p) needing `n` per arm,
/// by bisection (the sample size falls as d grows).
pub fn mde_proportion(p: f64, n: f64, alpha: f64, power: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0 - p);
    if n_proportion(p, hi, alpha, power) > n {
        return f64::NAN; // not even the largest possible effect is detectable
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if n_proportion(p, mid, alpha, power) > n {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

pub fn power_proportion(p: f64, d: f64, n: f64, alpha: f64) -> f64 {
    let p1 = p + d;
    let pbar = (p + p1) / 2.0;
    norm_cdf(
        (d.abs() * n.sqrt() - z_alpha(alpha) * (2.0 * pbar * (1.0 - pbar)).sqrt())
            / (p1 * (1.0 - p1) + p * (1.0 - p)).sqrt(),
    )
}

fn valid_probability(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

impl Kind {
    /// One row; None (NULL) for inputs outside the functions' domains.
    fn compute(self, a: f64, b: f64, c: Option<f64>, d: Option<f64>) -> Option<f64> {
        let (alpha, power) = match self {
            Kind::PowerMean | Kind::PowerProportion => (d.unwrap_or(0.05), 0.8),
            _ => (c.unwrap_or(0.05), d.unwrap_or(0.8)),
        };
        if !valid_probability(alpha) || !valid_probability(power) {
            return None;
        }
        let v = match self {
            Kind::MdeMean if a > 0.0 && b > 0.0 => mde_mean(a, b, alpha, power),
            Kind::SampleSizeMean if a > 0.0 && b != 0.0 => sample_size_mean(a, b, alpha, power),
            Kind::PowerMean => match c {
                Some(n) if a > 0.0 && n > 0.0 => power_mean(a, b, n, alpha),
                _ => return None,
            },
            Kind::MdeProportion if valid_probability(a) && b > 0.0 => {
                mde_proportion(a, b, alpha, power)
            }
            Kind::SampleSizeProportion
                if valid_probability(a) && b != 0.0 && valid_probability(a + b) =>
            {
                sample_size_proportion(a, b, alpha, power)
            }
            Kind::PowerProportion => match c {
                Some(n) if valid_probability(a) && valid_probability(a + b) && n > 0.0 => {
                    power_proportion(a, b, n, alpha)
                }
                _ => return None,
            },
            _ => return None,
        };
        v.is_finite().then_some(v)
    }
}

static DOCS: LazyLock<Vec<Documentation>> = LazyLock::new(|| {
    let alpha = ("alpha", "Significance level, two-sided; default 0.05.");
    let power = ("power", "Target power; default 0.8.");
    vec![
        doc(
            "Minimum detectable absolute difference in means with n users per arm: (z₁₋α/₂ + z_power)·sd·√(2/n).",
            "mde_mean(stddev, n_per_arm [, alpha [, power]])",
            "SELECT mde_mean(stddev(amount), 10000) FROM payments.transactions;",
            &[("stddev", "Standard deviation of the metric."), ("n_per_arm", "Users per arm."), alpha, power],
        ),
        doc(
            "Minimum detectable absolute lift of a conversion rate with n users per arm: the exact inverse of sample_size_proportion (pooled-null variance).",
            "mde_proportion(baseline_rate, n_per_arm [, alpha [, power]])",
            "SELECT mde_proportion(0.10, 10000);",
            &[("baseline_rate", "Control conversion rate in (0, 1)."), ("n_per_arm", "Users per arm."), alpha, power],
        ),
        doc(
            "Users per arm to detect an absolute difference in means: ⌈2(z₁₋α/₂ + z_power)²·sd²/mde²⌉.",
            "sample_size_mean(stddev, mde [, alpha [, power]])",
            "SELECT sample_size_mean(120.0, 5.0);",
            &[("stddev", "Standard deviation of the metric."), ("mde", "Absolute difference to detect."), alpha, power],
        ),
        doc(
            "Users per arm to detect an absolute change of a conversion rate (Fleiss, pooled null, no continuity correction; statsmodels samplesize_proportions_2indep_onetail), rounded up.",
            "sample_size_proportion(baseline_rate, mde_absolute [, alpha [, power]])",
            "SELECT sample_size_proportion(0.20, 0.05);",
            &[("baseline_rate", "Control conversion rate in (0, 1)."), ("mde_absolute", "Absolute change to detect, e.g. 0.01 for one point."), alpha, power],
        ),
        doc(
            "Power of a two-sided test for a difference in means with n users per arm: Φ(mde/(sd·√(2/n)) − z₁₋α/₂).",
            "power_mean(stddev, mde, n_per_arm [, alpha])",
            "SELECT power_mean(120.0, 5.0, 10000);",
            &[("stddev", "Standard deviation of the metric."), ("mde", "Absolute difference."), ("n_per_arm", "Users per arm."), alpha],
        ),
        doc(
            "Power of a two-sided two-proportion test with n users per arm (pooled-null variance).",
            "power_proportion(baseline_rate, mde_absolute, n_per_arm [, alpha])",
            "SELECT power_proportion(0.20, 0.05, 1000);",
            &[("baseline_rate", "Control conversion rate."), ("mde_absolute", "Absolute change."), ("n_per_arm", "Users per arm."), alpha],
        ),
    ]
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PowerFunction {
    kind: Kind,
    signature: Signature,
}

impl PowerFunction {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PowerFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (min, max) = self.kind.arity();
        coerce_all_numeric(self.name(), arg_types, min, max)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let cols = f64_columns(&args.args, args.number_rows)?;
        let out: Float64Array = (0..args.number_rows)
            .map(|i| {
                let a = at(&cols[0], i)?;
                let b = at(&cols[1], i)?;
                let c = cols.get(2).map(|c| at(c, i));
                let d = cols.get(3).map(|c| at(c, i));
                // An explicit NULL optional argument makes the result NULL.
                if matches!(c, Some(None)) || matches!(d, Some(None)) {
                    return None;
                }
                self.kind.compute(a, b, c.flatten(), d.flatten())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(
            &DOCS[Kind::ALL
                .iter()
                .position(|k| *k == self.kind)
                .expect("every kind is documented")],
        )
    }
}
