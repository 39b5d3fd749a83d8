//! Two-proportion z-tests: `proportions_ztest` over counts (scalar) and `conversion_ztest`
//! over per-user rows (aggregate). Pooled z for the test, Wald interval for the difference.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, Documentation, Expr, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::dist::{norm_cdf, norm_ppf, norm_sf};
use crate::docs::doc;
use crate::params::{
    arm_type, arms, at, f64_columns, logical_params, param_type, physical_params, scalar_arg,
    struct_array, struct_type, struct_value, Alternative, Param,
};
use crate::ttest::TestOptions;

fn fields() -> Vec<(&'static str, DataType)> {
    vec![
        ("statistic", DataType::Float64),
        ("p_value", DataType::Float64),
        ("ci_low", DataType::Float64),
        ("ci_high", DataType::Float64),
        ("rate_control", DataType::Float64),
        ("rate_treatment", DataType::Float64),
        ("lift", DataType::Float64),
    ]
}

/// statistic, p, ci_low, ci_high, rate_control, rate_treatment, lift.
pub fn proportions(s_t: f64, n_t: f64, s_c: f64, n_c: f64, options: TestOptions) -> [f64; 7] {
    let (pt, pc) = (s_t / n_t, s_c / n_c);
    let diff = pt - pc;
    let pooled = (s_t + s_c) / (n_t + n_c);
    let z = diff / (pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c)).sqrt();
    let wald = (pt * (1.0 - pt) / n_t + pc * (1.0 - pc) / n_c).sqrt();
    let c = options.confidence;
    let (p, low, high) = match options.alternative {
        Alternative::TwoSided => {
            let q = norm_ppf(1.0 - (1.0 - c) / 2.0);
            (2.0 * norm_sf(z.abs()), diff - q * wald, diff + q * wald)
        }
        Alternative::Greater => (norm_sf(z), diff - norm_ppf(c) * wald, f64::INFINITY),
        Alternative::Less => (norm_cdf(z), f64::NEG_INFINITY, diff + norm_ppf(c) * wald),
    };
    let p = if p > 1.0 { 1.0 } else { p };
    [z, p, low, high, pc, pt, pt / pc - 1.0]
}

static PROPORTIONS_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Two-proportion z-test from counts. Returns {statistic, p_value, ci_low, ci_high, \
         rate_control, rate_treatment, lift}: pooled z for rate_treatment − rate_control \
         (statsmodels proportions_ztest), a Wald interval for the difference and lift = \
         rate_treatment / rate_control − 1.",
        "proportions_ztest(successes_control, trials_control, successes_treatment, trials_treatment [, alternative [, confidence_level]])",
        "SELECT unnest(proportions_ztest(1100, 10000, 1200, 10000));",
        &[
            ("successes_control", "Conversions in the control arm."),
            ("trials_control", "Users in the control arm."),
            ("successes_treatment", "Conversions in the treatment arm."),
            ("trials_treatment", "Users in the treatment arm."),
            ("alternative", "'two-sided' (default), 'less' or 'greater' (treatment rate larger)."),
            ("confidence_level", "Level of the interval, default 0.95."),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProportionsZTest {
    signature: Signature,
}

impl ProportionsZTest {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

const PROPORTIONS: &str = "proportions_ztest";

impl ScalarUDFImpl for ProportionsZTest {
    fn name(&self) -> &str {
        PROPORTIONS
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(4..=6).contains(&arg_types.len()) {
            return plan_err!(
                "{PROPORTIONS} takes 4 to 6 arguments, got {}",
                arg_types.len()
            );
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match i {
                0..=3 => param_type(PROPORTIONS, i, t, Param::Number),
                4 => param_type(PROPORTIONS, i, t, Param::Text),
                _ => param_type(PROPORTIONS, i, t, Param::Number),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&fields()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let params: Vec<ScalarValue> = args
            .scalar_arguments
            .iter()
            .skip(4)
            .map(|v| v.cloned().unwrap_or(ScalarValue::Null))
            .collect();
        TestOptions::parse(PROPORTIONS, &params)?;
        Ok(Arc::new(Field::new(
            PROPORTIONS,
            struct_type(&fields()),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let params: Vec<ScalarValue> = (4..args.args.len())
            .map(|i| scalar_arg(&args.args, i).unwrap_or(ScalarValue::Null))
            .collect();
        let options = TestOptions::parse(PROPORTIONS, &params)?;
        let cols = f64_columns(&args.args[..4], args.number_rows)?;
        let mut out: Vec<Vec<f64>> = (0..7)
            .map(|_| Vec::with_capacity(args.number_rows))
            .collect();
        let mut nulls = Vec::with_capacity(args.number_rows);
        for i in 0..args.number_rows {
            let values = match (
                at(&cols[0], i),
                at(&cols[1], i),
                at(&cols[2], i),
                at(&cols[3], i),
            ) {
                (Some(s_c), Some(n_c), Some(s_t), Some(n_t)) => {
                    nulls.push(false);
                    proportions(s_t, n_t, s_c, n_c, options)
                }
                _ => {
                    nulls.push(true);
                    [f64::NAN; 7]
                }
            };
            for (column, v) in out.iter_mut().zip(values) {
                column.push(v);
            }
        }
        let columns = out
            .into_iter()
            .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
            .collect();
        let array = struct_array(args.return_field.data_type(), columns, Some(nulls))?;
        Ok(ColumnarValue::Array(array))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&PROPORTIONS_DOC)
    }
}

const CONVERSION: &str = "conversion_ztest";

static CONVERSION_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Two-proportion z-test over one row per user: converted is true (or non-zero) for a \
         conversion. Same result and conventions as proportions_ztest.",
        "conversion_ztest(converted, is_treatment [, alternative [, confidence_level]])",
        "SELECT unnest(conversion_ztest(purchased, variant = 'B')) FROM exposures;",
        &[
            (
                "converted",
                "BOOLEAN, or a number (non-zero = converted); NULL rows are skipped.",
            ),
            (
                "is_treatment",
                "BOOLEAN, or an integer: 0 = control, anything else = treatment.",
            ),
            ("alternative", "'two-sided' (default), 'less' or 'greater'."),
            ("confidence_level", "Level of the interval, default 0.95."),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ConversionZTest {
    signature: Signature,
}

impl ConversionZTest {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ConversionZTest {
    fn name(&self) -> &str {
        CONVERSION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=4).contains(&arg_types.len()) {
            return plan_err!(
                "{CONVERSION} takes 2 to 4 arguments, got {}",
                arg_types.len()
            );
        }
        let converted = match &arg_types[0] {
            DataType::Boolean | DataType::Null => DataType::Boolean,
            t if t.is_numeric() => DataType::Float64,
            t => return plan_err!("{CONVERSION}: converted must be BOOLEAN or numeric, got {t}"),
        };
        let mut out = vec![converted, arm_type(CONVERSION, &arg_types[1])?];
        if let Some(t) = arg_types.get(2) {
            out.push(param_type(CONVERSION, 2, t, Param::Text)?);
        }
        if let Some(t) = arg_types.get(3) {
            out.push(param_type(CONVERSION, 3, t, Param::Number)?);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok([
            "successes_treatment",
            "trials_treatment",
            "successes_control",
            "trials_control",
        ]
        .iter()
        .map(|n| {
            Arc::new(Field::new(
                format!("{}[{n}]", args.name),
                DataType::UInt64,
                true,
            ))
        })
        .collect())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let options = TestOptions::parse(CONVERSION, &physical_params(CONVERSION, args.exprs, 2)?)?;
        Ok(Box::new(ConversionAccumulator {
            counts: [0; 4],
            options,
            return_type: args.return_field.data_type().clone(),
        }))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|f, _| {
            TestOptions::parse(CONVERSION, &logical_params(CONVERSION, &f.params.args, 2)?)?;
            Ok(Expr::AggregateFunction(f))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&CONVERSION_DOC)
    }
}

#[derive(Debug)]
struct ConversionAccumulator {
    /// successes and trials of treatment, then of control.
    counts: [u64; 4],
    options: TestOptions,
    return_type: DataType,
}

impl ConversionAccumulator {
    fn apply(&mut self, values: &[ArrayRef], sign: i64) -> Result<()> {
        let arm = arms(&values[1])?;
        let converted: Vec<Option<bool>> = match values[0].data_type() {
            DataType::Boolean => values[0].as_boolean().iter().collect(),
            _ => values[0]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("DOUBLE after coercion")
                .iter()
                .map(|v| v.map(|v| v != 0.0))
                .collect(),
        };
        for (i, c) in converted.into_iter().enumerate() {
            let (Some(c), false) = (c, arm.is_null(i)) else {
                continue;
            };
            let base = if arm.value(i) { 0 } else { 2 };
            let add = |x: &mut u64, d: u64| {
                *x = if sign > 0 {
                    *x + d
                } else {
                    x.saturating_sub(d)
                }
            };
            add(&mut self.counts[base], c as u64);
            add(&mut self.counts[base + 1], 1);
        }
        Ok(())
    }
}

impl Accumulator for ConversionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, 1)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, -1)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let c = self.counts.map(|v| v as f64);
        let values = proportions(c[0], c[1], c[2], c[3], self.options);
        struct_value(
            &self.return_type,
            values
                .iter()
                .map(|v| ScalarValue::Float64(Some(*v)))
                .collect(),
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(self
            .counts
            .iter()
            .map(|c| ScalarValue::UInt64(Some(*c)))
            .collect())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (k, state) in states.iter().enumerate() {
            let a = state
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("count state");
            self.counts[k] += a.iter().flatten().sum::<u64>();
        }
        Ok(())
    }
}
