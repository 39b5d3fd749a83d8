//! `welch_ttest` and `student_ttest`: two-sample t-tests over long-format data.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Expr, Signature, Volatility,
};

use crate::dist::{t_cdf, t_ppf, t_sf};
use crate::docs::doc;
use crate::moments::{merge_canonically, Moments};
use crate::params::{
    arms, coerce_two_sample, confidence, f64_array, logical_params, physical_params, struct_type,
    struct_value, Alternative, Param,
};

/// The fields both t-tests (and CUPED) return.
pub fn ttest_fields() -> Vec<(&'static str, DataType)> {
    vec![
        ("statistic", DataType::Float64),
        ("p_value", DataType::Float64),
        ("df", DataType::Float64),
        ("ci_low", DataType::Float64),
        ("ci_high", DataType::Float64),
        ("mean_control", DataType::Float64),
        ("mean_treatment", DataType::Float64),
        ("n_control", DataType::Int64),
        ("n_treatment", DataType::Int64),
    ]
}

/// Test options shared by the t-tests, CUPED and the z-tests.
#[derive(Debug, Clone, Copy)]
pub struct TestOptions {
    pub alternative: Alternative,
    pub confidence: f64,
}

impl TestOptions {
    pub fn parse(function: &str, params: &[ScalarValue]) -> Result<Self> {
        let alternative = match params.first() {
            Some(v) if !v.is_null() => Alternative::parse(function, v)?,
            _ => Alternative::TwoSided,
        };
        let confidence = match params.get(1) {
            Some(v) if !v.is_null() => confidence(function, v)?,
            _ => 0.95,
        };
        Ok(Self {
            alternative,
            confidence,
        })
    }
}

/// A t statistic's p-value and confidence interval for `diff` with standard error `se`.
pub fn t_inference(diff: f64, se: f64, df: f64, options: TestOptions) -> (f64, f64, f64, f64) {
    let statistic = diff / se;
    let c = options.confidence;
    let (p, low, high) = match options.alternative {
        Alternative::TwoSided => {
            let q = t_ppf(1.0 - (1.0 - c) / 2.0, df);
            (
                2.0 * t_sf(statistic.abs(), df),
                diff - q * se,
                diff + q * se,
            )
        }
        Alternative::Greater => (t_sf(statistic, df), diff - t_ppf(c, df) * se, f64::INFINITY),
        Alternative::Less => (
            t_cdf(statistic, df),
            f64::NEG_INFINITY,
            diff + t_ppf(c, df) * se,
        ),
    };
    // `f64::min` would turn a NaN p-value into 1.
    (statistic, if p > 1.0 { 1.0 } else { p }, low, high)
}

/// statistic, p, df, ci_low, ci_high for the two arms' moments.
pub fn ttest(
    treatment: &Moments,
    control: &Moments,
    welch: bool,
    options: TestOptions,
) -> [f64; 5] {
    let (nt, nc) = (treatment.n as f64, control.n as f64);
    let enough = if welch {
        nt >= 2.0 && nc >= 2.0
    } else {
        nt >= 1.0 && nc >= 1.0 && nt + nc > 2.0
    };
    if !enough {
        return [f64::NAN; 5];
    }
    let diff = treatment.mean_diff(control);
    let (se, df) = if welch {
        let a = treatment.variance() / nt;
        let b = control.variance() / nc;
        let df = (a + b).powi(2) / (a * a / (nt - 1.0) + b * b / (nc - 1.0));
        ((a + b).sqrt(), df)
    } else {
        let df = nt + nc - 2.0;
        let pooled = (treatment.m2 + control.m2) / df;
        ((pooled * (1.0 / nt + 1.0 / nc)).sqrt(), df)
    };
    let (statistic, p, low, high) = t_inference(diff, se, df, options);
    [statistic, p, df, low, high]
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TTest {
    name: &'static str,
    welch: bool,
    signature: Signature,
}

impl TTest {
    pub fn welch() -> Self {
        Self {
            name: "welch_ttest",
            welch: true,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    pub fn student() -> Self {
        Self {
            name: "student_ttest",
            welch: false,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

const PARAMS: &[Param] = &[Param::Text, Param::Number];

static WELCH_DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        doc(
        "Welch's two-sample t-test (unequal variances) of treatment against control. Returns \
         {statistic, p_value, df, ci_low, ci_high, mean_control, mean_treatment, n_control, \
         n_treatment}; the statistic and the confidence interval are for mean_treatment − \
         mean_control, as scipy.stats.ttest_ind(treatment, control, equal_var=False).",
        "welch_ttest(value, is_treatment [, alternative [, confidence_level]])",
        "SELECT country, unnest(welch_ttest(revenue, variant = 'B')) FROM orders GROUP BY country;",
        &[
            ("value", "Numeric metric; NULL rows are skipped."),
            ("is_treatment", "BOOLEAN, or an integer: 0 = control, anything else = treatment."),
            ("alternative", "'two-sided' (default), 'less' or 'greater' (treatment larger)."),
            ("confidence_level", "Level of the interval, default 0.95."),
        ],
    )
    });

static STUDENT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Student's two-sample t-test (pooled variance) of treatment against control. Same \
         result fields as welch_ttest; df = n_control + n_treatment − 2 and the interval uses \
         the pooled standard error, as scipy.stats.ttest_ind(treatment, control).",
        "student_ttest(value, is_treatment [, alternative [, confidence_level]])",
        "SELECT unnest(student_ttest(score, group_id)) FROM quiz_results;",
        &[
            ("value", "Numeric metric; NULL rows are skipped."),
            (
                "is_treatment",
                "BOOLEAN, or an integer: 0 = control, anything else = treatment.",
            ),
            ("alternative", "'two-sided' (default), 'less' or 'greater'."),
            ("confidence_level", "Level of the interval, default 0.95."),
        ],
    )
});

impl AggregateUDFImpl for TTest {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_two_sample(self.name, arg_types, 1, PARAMS)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&ttest_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(two_arm_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let options = TestOptions::parse(self.name, &physical_params(self.name, args.exprs, 2)?)?;
        Ok(Box::new(TTestAccumulator {
            arms: TwoArms::default(),
            welch: self.welch,
            options,
            return_type: args.return_field.data_type().clone(),
        }))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        let name = self.name;
        Some(Box::new(move |f, _| {
            TestOptions::parse(name, &logical_params(name, &f.params.args, 2)?)?;
            Ok(Expr::AggregateFunction(f))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(if self.welch { &WELCH_DOC } else { &STUDENT_DOC })
    }
}

/// Moments of the treatment and control arms; the state of every moment-based two-sample test.
#[derive(Debug, Default, Clone)]
pub struct TwoArms {
    pub treatment: Moments,
    pub control: Moments,
    /// Partial states from other partitions, kept until evaluation: they arrive in whatever
    /// order threads finish, and Chan merges are exact only up to rounding, so combining
    /// them in a canonical order makes every run give the same bits.
    partials: Vec<[Moments; 2]>,
}

pub fn two_arm_state_fields(name: &str) -> Vec<FieldRef> {
    ["treatment", "control"]
        .iter()
        .flat_map(|arm| {
            [
                Field::new(format!("{name}[{arm}_n]"), DataType::UInt64, true),
                Field::new(format!("{name}[{arm}_shift]"), DataType::Float64, true),
                Field::new(format!("{name}[{arm}_mean]"), DataType::Float64, true),
                Field::new(format!("{name}[{arm}_m2]"), DataType::Float64, true),
            ]
        })
        .map(Arc::new)
        .collect()
}

impl TwoArms {
    /// Applies `f` to each (value, arm) pair with neither NULL nor NaN.
    fn for_each(values: &[ArrayRef], mut f: impl FnMut(f64, bool)) -> Result<()> {
        let v = f64_array(&values[0]);
        let arm = arms(&values[1])?;
        for i in 0..v.len() {
            if v.is_null(i) || arm.is_null(i) {
                continue;
            }
            let x = v.value(i);
            if x.is_nan() {
                continue;
            }
            f(x, arm.value(i));
        }
        Ok(())
    }

    pub fn update(&mut self, values: &[ArrayRef]) -> Result<()> {
        Self::for_each(values, |x, t| {
            if t {
                self.treatment.push(x)
            } else {
                self.control.push(x)
            }
        })
    }

    pub fn retract(&mut self, values: &[ArrayRef]) -> Result<()> {
        Self::for_each(values, |x, t| {
            if t {
                self.treatment.remove(x)
            } else {
                self.control.remove(x)
            }
        })
    }

    pub fn state(&self) -> Vec<ScalarValue> {
        let (t, c) = self.settled();
        [t, c]
            .iter()
            .flat_map(|m| {
                [
                    ScalarValue::UInt64(Some(m.n)),
                    ScalarValue::Float64(Some(m.shift)),
                    ScalarValue::Float64(Some(m.mean)),
                    ScalarValue::Float64(Some(m.m2)),
                ]
            })
            .collect()
    }

    pub fn merge(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = |i: usize| {
            states[i]
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("count state")
        };
        let f = |i: usize| {
            states[i]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("float state")
        };
        for row in 0..states[0].len() {
            let arm = |base: usize| {
                if n(base).is_null(row) {
                    return Moments::default();
                }
                Moments {
                    n: n(base).value(row),
                    shift: f(base + 1).value(row),
                    mean: f(base + 2).value(row),
                    m2: f(base + 3).value(row),
                }
            };
            self.partials.push([arm(0), arm(4)]);
        }
        Ok(())
    }

    /// Treatment and control with every partial state merged in a canonical order.
    pub fn settled(&self) -> (Moments, Moments) {
        let key = |m: &Moments| (m.n, m.shift.to_bits(), m.mean.to_bits(), m.m2.to_bits());
        let [t, c] = merge_canonically(
            [self.treatment, self.control],
            &self.partials,
            key,
            Moments::merge,
        );
        (t, c)
    }
}

#[derive(Debug)]
struct TTestAccumulator {
    arms: TwoArms,
    welch: bool,
    options: TestOptions,
    return_type: DataType,
}

impl Accumulator for TTestAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.arms.update(values)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.arms.retract(values)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (treatment, control) = self.arms.settled();
        let [statistic, p, df, low, high] = ttest(&treatment, &control, self.welch, self.options);
        let f = |v: f64| ScalarValue::Float64(Some(v));
        struct_value(
            &self.return_type,
            vec![
                f(statistic),
                f(p),
                f(df),
                f(low),
                f(high),
                f(control.value_mean()),
                f(treatment.value_mean()),
                ScalarValue::Int64(Some(control.n as i64)),
                ScalarValue::Int64(Some(treatment.n as i64)),
            ],
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(self.arms.state())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.arms.merge(states)
    }
}
