//! `cuped_ttest`: a Welch test on CUPED-adjusted values, Y − θ·(X − mean X), with θ the
//! regression slope of the metric on its pre-period covariate over both arms pooled.

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

use crate::docs::doc;
use crate::moments::{merge_canonically, Moments};
use crate::params::{
    arms, coerce_two_sample, f64_array, logical_params, physical_params, struct_type, struct_value,
    Param,
};
use crate::ttest::{t_inference, ttest_fields, TestOptions};

const NAME: &str = "cuped_ttest";
const PARAMS: &[Param] = &[Param::Text, Param::Number];

/// Moments of the metric y and covariate x plus their co-moment C = Σ(x − x̄)(y − ȳ).
#[derive(Debug, Clone, Copy, Default)]
pub struct CoMoments {
    pub y: Moments,
    pub x: Moments,
    pub c: f64,
}

impl CoMoments {
    fn push(&mut self, y: f64, x: f64) {
        let dx = if self.x.n == 0 {
            0.0
        } else {
            (x - self.x.shift) - self.x.mean
        };
        self.y.push(y);
        let dy_after = (y - self.y.shift) - self.y.mean;
        self.x.push(x);
        // Welford's co-moment update: C += (x − x̄_old)(y − ȳ_new).
        self.c += dx * dy_after;
    }

    /// Undoes `push(y, x)`: the co-moment step used x̄ before and ȳ after that push.
    fn remove(&mut self, y: f64, x: f64) {
        if self.y.n <= 1 {
            *self = CoMoments::default();
            return;
        }
        let n = self.x.n as f64;
        let x_mean_before = (n * self.x.mean - (x - self.x.shift)) / (n - 1.0);
        let dx = (x - self.x.shift) - x_mean_before;
        let dy = (y - self.y.shift) - self.y.mean;
        self.c -= dx * dy;
        self.y.remove(y);
        self.x.remove(x);
    }

    fn merge(&mut self, other: &CoMoments) {
        if other.y.n == 0 {
            return;
        }
        if self.y.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.y.n as f64, other.y.n as f64);
        let dx = other.x.mean_diff(&self.x);
        let dy = other.y.mean_diff(&self.y);
        self.c += other.c + dx * dy * na * nb / (na + nb);
        self.y.merge(&other.y);
        self.x.merge(&other.x);
    }
}

static DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        doc(
        "CUPED variance reduction: Welch's t-test on value − θ·(covariate − mean covariate), θ = \
         cov(value, covariate)/var(covariate) over both arms pooled (GrowthBook's \
         compute_theta). Returns the welch_ttest fields (means are the adjusted means) plus \
         theta and variance_reduction = 1 − se²_cuped/se²_raw.",
        "cuped_ttest(value, covariate, is_treatment [, alternative [, confidence_level]])",
        "SELECT unnest(cuped_ttest(revenue, revenue_before, variant = 'B')) FROM users;",
        &[
            ("value", "Metric during the experiment."),
            ("covariate", "The same metric before the experiment (or another predictor)."),
            ("is_treatment", "BOOLEAN, or an integer: 0 = control, anything else = treatment."),
            ("alternative", "'two-sided' (default), 'less' or 'greater'."),
            ("confidence_level", "Level of the interval, default 0.95."),
        ],
    )
    });

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Cuped {
    signature: Signature,
}

impl Cuped {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn fields() -> Vec<(&'static str, DataType)> {
    let mut f = ttest_fields();
    f.push(("theta", DataType::Float64));
    f.push(("variance_reduction", DataType::Float64));
    f
}

impl AggregateUDFImpl for Cuped {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_two_sample(NAME, arg_types, 2, PARAMS)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let mut out = Vec::new();
        for arm in ["treatment", "control"] {
            out.push(Field::new(
                format!("{}[{arm}_n]", args.name),
                DataType::UInt64,
                true,
            ));
            for part in [
                "y_shift", "y_mean", "y_m2", "x_shift", "x_mean", "x_m2", "c",
            ] {
                out.push(Field::new(
                    format!("{}[{arm}_{part}]", args.name),
                    DataType::Float64,
                    true,
                ));
            }
        }
        Ok(out.into_iter().map(Arc::new).collect())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let options = TestOptions::parse(NAME, &physical_params(NAME, args.exprs, 3)?)?;
        Ok(Box::new(CupedAccumulator {
            treatment: CoMoments::default(),
            control: CoMoments::default(),
            partials: Vec::new(),
            options,
            return_type: args.return_field.data_type().clone(),
        }))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|f, _| {
            TestOptions::parse(NAME, &logical_params(NAME, &f.params.args, 3)?)?;
            Ok(Expr::AggregateFunction(f))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct CupedAccumulator {
    treatment: CoMoments,
    control: CoMoments,
    /// Merged partial states, combined in a canonical order at evaluation (see `TwoArms`).
    partials: Vec<[CoMoments; 2]>,
    options: TestOptions,
    return_type: DataType,
}

/// The CUPED result fields in `fields()` order.
fn evaluate(t: &CoMoments, c: &CoMoments, options: TestOptions) -> Vec<f64> {
    let (nt, nc) = (t.y.n as f64, c.y.n as f64);
    let mut pooled = *t;
    pooled.merge(c);
    let theta = if pooled.x.m2 > 0.0 {
        pooled.c / pooled.x.m2
    } else {
        0.0
    };
    let adjusted_var = |a: &CoMoments| {
        (a.y.m2 + theta * theta * a.x.m2 - 2.0 * theta * a.c) / (a.y.n as f64 - 1.0)
    };
    let x_all = pooled.x.value_mean();
    let adjusted_mean = |a: &CoMoments| a.y.value_mean() - theta * (a.x.value_mean() - x_all);
    let mean_t = adjusted_mean(t);
    let mean_c = adjusted_mean(c);
    if nt < 2.0 || nc < 2.0 {
        let mut out = vec![f64::NAN; 5];
        out.extend([mean_c, mean_t, nc, nt, theta, f64::NAN]);
        return out;
    }
    let diff = t.y.mean_diff(&c.y) - theta * t.x.mean_diff(&c.x);
    let (a, b) = (adjusted_var(t) / nt, adjusted_var(c) / nc);
    let se = (a + b).sqrt();
    let df = (a + b).powi(2) / (a * a / (nt - 1.0) + b * b / (nc - 1.0));
    let raw = t.y.variance() / nt + c.y.variance() / nc;
    let (statistic, p, low, high) = t_inference(diff, se, df, options);
    vec![
        statistic,
        p,
        df,
        low,
        high,
        mean_c,
        mean_t,
        nc,
        nt,
        theta,
        1.0 - (a + b) / raw,
    ]
}

impl CupedAccumulator {
    fn settled(&self) -> (CoMoments, CoMoments) {
        let key = |m: &CoMoments| {
            (
                m.y.n,
                m.y.shift.to_bits(),
                m.y.mean.to_bits(),
                m.y.m2.to_bits(),
                m.x.mean.to_bits(),
                m.c.to_bits(),
            )
        };
        let [t, c] = merge_canonically(
            [self.treatment, self.control],
            &self.partials,
            key,
            CoMoments::merge,
        );
        (t, c)
    }

    fn apply(&mut self, values: &[ArrayRef], add: bool) -> Result<()> {
        let (y, x) = (f64_array(&values[0]), f64_array(&values[1]));
        let arm = arms(&values[2])?;
        for i in 0..y.len() {
            let skip = y.is_null(i) || x.is_null(i) || arm.is_null(i);
            if skip || y.value(i).is_nan() || x.value(i).is_nan() {
                continue;
            }
            let target = if arm.value(i) {
                &mut self.treatment
            } else {
                &mut self.control
            };
            if add {
                target.push(y.value(i), x.value(i));
            } else {
                target.remove(y.value(i), x.value(i));
            }
        }
        Ok(())
    }
}

impl Accumulator for CupedAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, true)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, false)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (t, c) = self.settled();
        let values = evaluate(&t, &c, self.options);
        let scalars = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 7 || i == 8 {
                    ScalarValue::Int64(Some(*v as i64))
                } else {
                    ScalarValue::Float64(Some(*v))
                }
            })
            .collect();
        struct_value(&self.return_type, scalars)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut out = Vec::new();
        let (t, c) = self.settled();
        for a in [&t, &c] {
            out.push(ScalarValue::UInt64(Some(a.y.n)));
            for v in [
                a.y.shift, a.y.mean, a.y.m2, a.x.shift, a.x.mean, a.x.m2, a.c,
            ] {
                out.push(ScalarValue::Float64(Some(v)));
            }
        }
        Ok(out)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let f = |i: usize| {
            states[i]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("float state")
        };
        for row in 0..states[0].len() {
            let mut pair = [CoMoments::default(); 2];
            let (first, second) = pair.split_at_mut(1);
            for (arm, base) in [(&mut first[0], 0), (&mut second[0], 8)] {
                let n = states[base]
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .expect("count state");
                if n.is_null(row) {
                    continue;
                }
                let n = n.value(row);
                let v = |k: usize| f(base + k).value(row);
                arm.merge(&CoMoments {
                    y: Moments {
                        n,
                        shift: v(1),
                        mean: v(2),
                        m2: v(3),
                    },
                    x: Moments {
                        n,
                        shift: v(4),
                        mean: v(5),
                        m2: v(6),
                    },
                    c: v(7),
                });
            }
            self.partials.push(pair);
        }
        Ok(())
    }
}
