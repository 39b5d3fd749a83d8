//! Sample-ratio mismatch: `srm_test(observed, weights)` over counts and `srm(arm)` over
//! assignment rows (equal weights). Pearson χ², df = arms − 1.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, ListArray, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl,
    Signature, Volatility,
};

use crate::dist::chi2_sf;
use crate::docs::doc;
use crate::params::{struct_array, struct_type, struct_value};

fn fields() -> Vec<(&'static str, DataType)> {
    vec![
        ("statistic", DataType::Float64),
        ("p_value", DataType::Float64),
    ]
}

/// χ² and p for observed counts against weights; arms with weight 0 carry no degree of freedom.
pub fn chi_square(observed: &[f64], weights: &[f64]) -> (f64, f64) {
    if observed.len() != weights.len() || observed.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let total: f64 = observed.iter().sum();
    let weight_sum: f64 = weights.iter().sum();
    let mut statistic = 0.0;
    let mut arms = 0usize;
    for (o, w) in observed.iter().zip(weights) {
        if *w <= 0.0 {
            if *o > 0.0 {
                statistic = f64::INFINITY;
            }
            continue;
        }
        arms += 1;
        let e = w / weight_sum * total;
        statistic += (o - e) * (o - e) / e;
    }
    if arms < 2 {
        return (f64::NAN, f64::NAN);
    }
    (statistic, chi2_sf(statistic, (arms - 1) as f64))
}

fn list_f64() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

static SRM_TEST_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Sample-ratio mismatch check: Pearson χ² of observed arm sizes against the planned \
         weights (scipy.stats.chisquare). Returns {statistic, p_value}; p < 0.001 usually means \
         the assignment is broken. Weights need not sum to 1.",
        "srm_test(observed_counts ARRAY, expected_weights ARRAY)",
        "SELECT unnest(srm_test([5100, 4900], [0.5, 0.5]));",
        &[
            ("observed_counts", "Users seen per arm."),
            (
                "expected_weights",
                "Planned share per arm, in the same order.",
            ),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SrmTest {
    signature: Signature,
}

impl SrmTest {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SrmTest {
    fn name(&self) -> &str {
        "srm_test"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 {
            return plan_err!("srm_test takes 2 arguments (observed_counts ARRAY, expected_weights ARRAY), got {}", arg_types.len());
        }
        arg_types
            .iter()
            .map(|t| match t {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                    if f.data_type().is_numeric() || f.data_type() == &DataType::Null =>
                {
                    Ok(list_f64())
                }
                DataType::Null => Ok(list_f64()),
                t => plan_err!(
                    "srm_test: arguments must be numeric arrays such as [5100, 4900], got {t}"
                ),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.clone().into_array(rows))
            .collect::<Result<_>>()?;
        let lists: Vec<&ListArray> = arrays.iter().map(|a| a.as_list::<i32>()).collect();
        let (mut stats, mut ps, mut nulls) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..rows {
            if lists[0].is_null(i) || lists[1].is_null(i) {
                stats.push(f64::NAN);
                ps.push(f64::NAN);
                nulls.push(true);
                continue;
            }
            let values = |l: &ListArray| -> Vec<f64> {
                l.value(i)
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| v.unwrap_or(0.0))
                    .collect()
            };
            let (s, p) = chi_square(&values(lists[0]), &values(lists[1]));
            stats.push(s);
            ps.push(p);
            nulls.push(false);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(stats)),
            Arc::new(Float64Array::from(ps)),
        ];
        Ok(ColumnarValue::Array(struct_array(
            args.return_field.data_type(),
            columns,
            Some(nulls),
        )?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SRM_TEST_DOC)
    }
}

static SRM_DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        doc(
        "Sample-ratio mismatch over assignment rows: counts the rows per distinct arm value and \
         tests them against equal shares. Returns {statistic, p_value}.",
        "srm(arm)",
        "SELECT experiment, unnest(srm(variant)) FROM assignments GROUP BY experiment;",
        &[("arm", "The arm each row was assigned to (any type); NULL rows are skipped.")],
    )
    });

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Srm {
    signature: Signature,
}

impl Srm {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for Srm {
    fn name(&self) -> &str {
        "srm"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(struct_type(&fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[arms]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[counts]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::UInt64, true))),
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SrmAccumulator {
            counts: BTreeMap::new(),
            return_type: args.return_field.data_type().clone(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SRM_DOC)
    }
}

#[derive(Debug)]
struct SrmAccumulator {
    counts: BTreeMap<String, u64>,
    return_type: DataType,
}

impl Accumulator for SrmAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let keys = datafusion::arrow::compute::cast(&values[0], &DataType::Utf8)?;
        for k in keys.as_string::<i32>().iter().flatten() {
            *self.counts.entry(k.to_string()).or_default() += 1;
        }
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let keys = datafusion::arrow::compute::cast(&values[0], &DataType::Utf8)?;
        for k in keys.as_string::<i32>().iter().flatten() {
            if let Some(c) = self.counts.get_mut(k) {
                *c -= 1;
                if *c == 0 {
                    self.counts.remove(k);
                }
            }
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let observed: Vec<f64> = self.counts.values().map(|c| *c as f64).collect();
        let (s, p) = chi_square(&observed, &vec![1.0; observed.len()]);
        struct_value(
            &self.return_type,
            vec![ScalarValue::Float64(Some(s)), ScalarValue::Float64(Some(p))],
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.keys().map(|k| k.len() + 32).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let keys = StringArray::from_iter_values(self.counts.keys());
        let counts = UInt64Array::from_iter_values(self.counts.values().copied());
        Ok(vec![
            SingleRowListArrayBuilder::new(Arc::new(keys)).build_list_scalar(),
            SingleRowListArrayBuilder::new(Arc::new(counts)).build_list_scalar(),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (keys, counts) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            let k = keys.value(row);
            let c = counts.value(row);
            for (key, count) in k.as_string::<i32>().iter().zip(
                c.as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
                    .iter(),
            ) {
                if let (Some(key), Some(count)) = (key, count) {
                    *self.counts.entry(key.to_string()).or_default() += count;
                }
            }
        }
        Ok(())
    }
}
