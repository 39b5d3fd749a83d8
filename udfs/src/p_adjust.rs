//! `p_adjust(p_value, method) OVER (…)`: multiple-testing adjustment across a window's rows.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{
    PartitionEvaluatorArgs, WindowFunctionSimplification, WindowUDFFieldArgs,
};
use datafusion::logical_expr::{
    Documentation, Expr, PartitionEvaluator, Signature, Volatility, WindowUDFImpl,
};

use crate::docs::doc;
use crate::params::{logical_params, param_type, physical_params, shown, string_of, Param};

const NAME: &str = "p_adjust";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Holm,
    Bonferroni,
    FdrBh,
    Sidak,
    FdrBy,
}

impl Method {
    fn parse(value: &ScalarValue) -> Result<Self> {
        match string_of(value).as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("holm") => Ok(Method::Holm),
            Some("bonferroni") => Ok(Method::Bonferroni),
            Some("fdr_bh") | Some("bh") => Ok(Method::FdrBh),
            Some("sidak") => Ok(Method::Sidak),
            Some("fdr_by") | Some("by") => Ok(Method::FdrBy),
            _ => plan_err!("{NAME}: unknown method {}; valid choices: 'holm', 'bonferroni', 'fdr_bh', 'sidak', 'fdr_by'", shown(value)),
        }
    }
}

/// Adjusted p-values in input order; NULL and NaN inputs stay NULL and do not count.
pub fn adjust(p: &[Option<f64>], method: Method) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len())
        .filter(|&i| p[i].is_some_and(|v| !v.is_nan()))
        .collect();
    order.sort_by(|&a, &b| p[a].unwrap().total_cmp(&p[b].unwrap()));
    let m = order.len() as f64;
    let sorted: Vec<f64> = order.iter().map(|&i| p[i].unwrap()).collect();
    let mut adjusted = vec![0.0; sorted.len()];
    match method {
        Method::Bonferroni => {
            for (k, v) in sorted.iter().enumerate() {
                adjusted[k] = (m * v).min(1.0);
            }
        }
        Method::Sidak => {
            for (k, v) in sorted.iter().enumerate() {
                adjusted[k] = 1.0 - (1.0 - v).powf(m);
            }
        }
        Method::Holm => {
            let mut running: f64 = 0.0;
            for (k, v) in sorted.iter().enumerate() {
                running = running.max(((m - k as f64) * v).min(1.0));
                adjusted[k] = running;
            }
        }
        Method::FdrBh | Method::FdrBy => {
            let c = if method == Method::FdrBy {
                (1..=order.len()).map(|k| 1.0 / k as f64).sum()
            } else {
                1.0
            };
            let mut running: f64 = 1.0;
            for k in (0..sorted.len()).rev() {
                running = running.min((m * c * sorted[k] / (k + 1) as f64).min(1.0));
                adjusted[k] = running;
            }
        }
    }
    let mut out = vec![None; p.len()];
    for (k, &i) in order.iter().enumerate() {
        out[i] = Some(adjusted[k]);
    }
    out
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Adjusts p-values for multiple comparisons across the rows of the window: 'holm', \
         'bonferroni', 'fdr_bh' (Benjamini–Hochberg), 'sidak' or 'fdr_by' (as statsmodels \
         multipletests). NULL p-values stay NULL and are not counted.",
        "p_adjust(p_value, method) OVER ([PARTITION BY …])",
        "SELECT metric, p_value, p_adjust(p_value, 'holm') OVER (PARTITION BY experiment) AS p_holm FROM results;",
        &[
            ("p_value", "The unadjusted p-value of each row."),
            ("method", "'holm', 'bonferroni', 'fdr_bh', 'sidak' or 'fdr_by'."),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PAdjust {
    signature: Signature,
}

impl PAdjust {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl WindowUDFImpl for PAdjust {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [p, m] => Ok(vec![
                param_type(NAME, 0, p, Param::Number)?,
                param_type(NAME, 1, m, Param::Text)?,
            ]),
            _ => plan_err!(
                "{NAME} takes 2 arguments (p_value, method), got {}",
                arg_types.len()
            ),
        }
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let params = physical_params(NAME, args.input_exprs(), 1)?;
        Ok(Box::new(Evaluator {
            method: Method::parse(&params[0])?,
        }))
    }

    fn simplify(&self) -> Option<WindowFunctionSimplification> {
        Some(Box::new(|f, _| {
            Method::parse(&logical_params(NAME, &f.params.args, 1)?[0])?;
            Ok(Expr::from(f))
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct Evaluator {
    method: Method,
}

impl PartitionEvaluator for Evaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let p = values[0]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("DOUBLE after coercion");
        let input: Vec<Option<f64>> = p.iter().collect();
        Ok(Arc::new(Float64Array::from(adjust(&input, self.method))))
    }

    fn uses_window_frame(&self) -> bool {
        false
    }
}
