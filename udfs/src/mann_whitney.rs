//! `mann_whitney_u`: the rank-sum test, exact for small untied samples, tie-corrected normal
//! approximation otherwise (scipy's conventions).
//!
//! Not statrs' `mannwhitneyu`: its exact path returns the complement when the first sample is
//! the smaller one (shared/stats/NOTES.md §8), so the exact distribution is computed here.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Expr, Signature, Volatility,
};

use crate::dist::norm_sf;
use crate::docs::doc;
use crate::params::{
    arms, bool_of, coerce_two_sample, f64_array, logical_params, physical_params, shown, string_of,
    struct_type, struct_value, Alternative, Param,
};

const NAME: &str = "mann_whitney_u";
const PARAMS: &[Param] = &[Param::Text, Param::Flag, Param::Text];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Auto,
    Exact,
    Asymptotic,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub alternative: Alternative,
    pub continuity: bool,
    pub method: Method,
}

impl Options {
    fn parse(params: &[ScalarValue]) -> Result<Self> {
        let alternative = match params.first() {
            Some(v) if !v.is_null() => Alternative::parse(NAME, v)?,
            _ => Alternative::TwoSided,
        };
        let continuity = match params.get(1) {
            Some(v) if !v.is_null() => bool_of(NAME, "use_continuity", v)?,
            _ => true,
        };
        let method = match params.get(2).filter(|v| !v.is_null()) {
            None => Method::Auto,
            Some(v) => match string_of(v).as_deref() {
                Some("auto") => Method::Auto,
                Some("exact") => Method::Exact,
                Some("asymptotic") => Method::Asymptotic,
                _ => {
                    return plan_err!(
                        "{NAME}: unknown method {}; valid choices: 'auto', 'exact', 'asymptotic'",
                        shown(v)
                    )
                }
            },
        };
        Ok(Self {
            alternative,
            continuity,
            method,
        })
    }
}

/// U of the treatment arm and the p-value. Sorts its inputs.
pub fn mann_whitney(treatment: &mut [f64], control: &mut [f64], options: Options) -> (f64, f64) {
    let (nt, nc) = (treatment.len(), control.len());
    if nt == 0 || nc == 0 {
        return (f64::NAN, f64::NAN);
    }
    treatment.sort_unstable_by(f64::total_cmp);
    control.sort_unstable_by(f64::total_cmp);
    // One merge walk gives the treatment rank sum (mid-ranks for ties) and Σ(t³ − t).
    let (mut i, mut j) = (0usize, 0usize);
    let (mut position, mut rank_sum, mut tie_term) = (0f64, 0f64, 0f64);
    while i < nt || j < nc {
        let v = match (treatment.get(i), control.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => unreachable!(),
        };
        let start_i = i;
        while i < nt && treatment[i] == v {
            i += 1;
        }
        let start_j = j;
        while j < nc && control[j] == v {
            j += 1;
        }
        let in_t = (i - start_i) as f64;
        let k = in_t + (j - start_j) as f64;
        rank_sum += in_t * (position + (k + 1.0) / 2.0);
        tie_term += k * k * k - k;
        position += k;
    }
    let (ntf, ncf) = (nt as f64, nc as f64);
    let u1 = rank_sum - ntf * (ntf + 1.0) / 2.0;
    let u2 = ntf * ncf - u1;
    let exact = match options.method {
        Method::Exact => true,
        Method::Asymptotic => false,
        Method::Auto => (nt <= 8 || nc <= 8) && tie_term == 0.0,
    };
    let p = if exact {
        let dist = UDistribution::new(nt, nc);
        match options.alternative {
            Alternative::Greater => dist.sf(u1),
            Alternative::Less => dist.sf(u2),
            Alternative::TwoSided => (2.0 * dist.sf(u1.max(u2))).min(1.0),
        }
    } else {
        let n = ntf + ncf;
        let mu = ntf * ncf / 2.0;
        let sigma = (ntf * ncf / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let (u, factor) = match options.alternative {
            Alternative::Greater => (u1, 1.0),
            Alternative::Less => (u2, 1.0),
            Alternative::TwoSided => (u1.max(u2), 2.0),
        };
        if sigma > 0.0 {
            let z = (u - mu - if options.continuity { 0.5 } else { 0.0 }) / sigma;
            (factor * norm_sf(z)).min(1.0)
        } else {
            1.0
        }
    };
    (u1, p)
}

/// The null distribution of U for samples of sizes m and n, as counts over u = 0..=m·n.
struct UDistribution {
    counts: Vec<f64>,
    total: f64,
}

impl UDistribution {
    /// f(u; m, n) = f(u − n; m − 1, n) + f(u; m, n − 1): the largest observation is either
    /// from the m-sample (beating all n others) or not. Additions only, so no cancellation.
    fn new(m: usize, n: usize) -> Self {
        let (m, n) = (m.min(n), m.max(n));
        let width = m * n + 1;
        // f[k][u] for the current n' (number of "other" observations so far).
        let mut f = vec![vec![0f64; width]; m + 1];
        for row in f.iter_mut() {
            row[0] = 1.0; // with no others, U is 0
        }
        for n_prime in 1..=n {
            for k in 1..=m {
                let (lower, upper) = f.split_at_mut(k);
                let prev = &lower[k - 1];
                let row = &mut upper[0];
                for u in (n_prime..=k * n_prime).rev() {
                    row[u] += prev[u - n_prime];
                }
            }
        }
        let counts = std::mem::take(&mut f[m]);
        let total = counts.iter().sum();
        Self { counts, total }
    }

    /// P(U ≥ u), including the mass at u.
    fn sf(&self, u: f64) -> f64 {
        let from = (u - 1e-9).ceil().max(0.0) as usize;
        if from >= self.counts.len() {
            return 0.0;
        }
        let mass: f64 = self.counts[from..].iter().sum();
        mass / self.total
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MannWhitney {
    signature: Signature,
}

impl MannWhitney {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Mann–Whitney U (Wilcoxon rank-sum) test of treatment against control. Returns \
         {statistic, p_value, n_control, n_treatment}; statistic is the U of the treatment arm, \
         as scipy.stats.mannwhitneyu(treatment, control). Ties get mid-ranks and the \
         tie-corrected variance; 'auto' is exact when an arm has at most 8 rows and there are \
         no ties.",
        "mann_whitney_u(value, is_treatment [, alternative [, use_continuity [, method]]])",
        "SELECT unnest(mann_whitney_u(session_minutes, variant = 'B', 'greater')) FROM sessions;",
        &[
            ("value", "Numeric metric; NULL rows are skipped."),
            (
                "is_treatment",
                "BOOLEAN, or an integer: 0 = control, anything else = treatment.",
            ),
            (
                "alternative",
                "'two-sided' (default), 'less' or 'greater' (treatment stochastically larger).",
            ),
            (
                "use_continuity",
                "Apply the 0.5 continuity correction (default true; asymptotic only).",
            ),
            ("method", "'auto' (default), 'exact' or 'asymptotic'."),
        ],
    )
});

impl AggregateUDFImpl for MannWhitney {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_two_sample(NAME, arg_types, 1, PARAMS)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&[
            ("statistic", DataType::Float64),
            ("p_value", DataType::Float64),
            ("n_control", DataType::Int64),
            ("n_treatment", DataType::Int64),
        ]))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |arm: &str| {
            Arc::new(Field::new(
                format!("{}[{arm}]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
                true,
            ))
        };
        Ok(vec![list("treatment"), list("control")])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let options = Options::parse(&physical_params(NAME, args.exprs, 2)?)?;
        Ok(Box::new(MannWhitneyAccumulator {
            treatment: Vec::new(),
            control: Vec::new(),
            options,
            return_type: args.return_field.data_type().clone(),
        }))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|f, _| {
            Options::parse(&logical_params(NAME, &f.params.args, 2)?)?;
            Ok(Expr::AggregateFunction(f))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

/// Keeps every value: ranks need the whole pooled sample.
#[derive(Debug)]
struct MannWhitneyAccumulator {
    treatment: Vec<f64>,
    control: Vec<f64>,
    options: Options,
    return_type: DataType,
}

fn list_of(values: &[f64]) -> ScalarValue {
    SingleRowListArrayBuilder::new(Arc::new(Float64Array::from(values.to_vec())))
        .build_list_scalar()
}

impl Accumulator for MannWhitneyAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let v = f64_array(&values[0]);
        let arm = arms(&values[1])?;
        for i in 0..v.len() {
            if v.is_null(i) || arm.is_null(i) || v.value(i).is_nan() {
                continue;
            }
            if arm.value(i) {
                self.treatment.push(v.value(i));
            } else {
                self.control.push(v.value(i));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // Evaluate may be called again (window frames); sort copies, keep the state.
        let (mut t, mut c) = (self.treatment.clone(), self.control.clone());
        let (u, p) = mann_whitney(&mut t, &mut c, self.options);
        struct_value(
            &self.return_type,
            vec![
                ScalarValue::Float64(Some(u)),
                ScalarValue::Float64(Some(p)),
                ScalarValue::Int64(Some(c.len() as i64)),
                ScalarValue::Int64(Some(t.len() as i64)),
            ],
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + 8 * (self.treatment.capacity() + self.control.capacity())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![list_of(&self.treatment), list_of(&self.control)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (arm, state) in [
            (&mut self.treatment, &states[0]),
            (&mut self.control, &states[1]),
        ] {
            let lists = state.as_list::<i32>();
            for row in 0..lists.len() {
                if lists.is_null(row) {
                    continue;
                }
                let values = lists.value(row);
                arm.extend(values.as_primitive::<Float64Type>().values().iter());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_distribution_matches_scipy() {
        let options = Options {
            alternative: Alternative::TwoSided,
            continuity: true,
            method: Method::Auto,
        };
        // 10 vs 5 without ties: scipy's exact two-sided p.
        let mut x: Vec<f64> = (1..=10).map(|v| v as f64 * 1.5).collect();
        let mut y = vec![2.0, 4.1, 9.2, 11.3, 13.7];
        let (_, p) = mann_whitney(&mut x, &mut y, options);
        assert!(p > 0.0 && p <= 1.0);
        // x = [1..5], y = [6..10]: U = 0, exact p = 2/252 (statrs returns 1.0 here).
        let mut x: Vec<f64> = (1..=5).map(f64::from).collect();
        let mut y: Vec<f64> = (6..=10).map(f64::from).collect();
        let (u, p) = mann_whitney(&mut x, &mut y, options);
        assert_eq!(u, 0.0);
        assert!((p - 2.0 / 252.0).abs() < 1e-15, "{p}");
    }
}
