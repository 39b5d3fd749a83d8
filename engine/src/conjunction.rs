//! A filter's `AND` chain evaluated on ever fewer rows.
//!
//! DataFusion's `a AND b` evaluates `b` on only the rows `a` kept when those are at most a
//! fifth of the batch, but each `AND` of a chain does it again from the whole batch: it copies
//! every column of the batch for the kept rows and then scatters `b`'s answers back to the
//! batch's length one slice at a time (a `BooleanArray::slice` and a builder call per run of
//! kept rows; with scattered rows, per row). In TPC-H q6 that scatter alone was 13 % of the
//! query's CPU. Here the chain keeps narrowing one batch of kept rows, with their positions,
//! and writes the one answer bitmap at the end.
//!
//! Only a `FilterExec`'s predicate is replaced by this (`filter_order.rs`): a row whose test
//! is NULL is dropped like a false one, so the answer is a bitmap without NULLs. Each test
//! runs on the rows every test before it kept, never on more rows than DataFusion's chain
//! evaluates it on.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::buffer::{BooleanBuffer, MutableBuffer};
use datafusion::arrow::compute::kernels::boolean::and;
use datafusion::arrow::compute::{filter_record_batch, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::util::bit_util;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::{conjunction, PhysicalExpr};

/// Below this fraction of kept rows the next tests run on a copy of just those rows.
const NARROW_BELOW: f64 = 0.2;
/// The same for tests that cost as much as a string comparison or more per row.
const NARROW_BELOW_COSTLY: f64 = 0.5;
/// DataFusion's `AND` evaluates its right side on only the left's rows once those are at most
/// this fraction of the batch; a test that can fail gets at least that protection here.
const DATAFUSION_PRESELECTION: f64 = 0.2;

/// Tests ANDed in this order.
#[derive(Debug)]
pub(crate) struct Conjunction {
    conjuncts: Vec<Arc<dyn PhysicalExpr>>,
    steps: Vec<Step>,
    /// The `AND` chain, for display and for comparing plans.
    chain: Arc<dyn PhysicalExpr>,
}

/// What the rows of a test decide about the tests after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// The tests after this one cost like a string comparison or more.
    pub costly_after: bool,
    /// The next test can raise an error (a division, a cast).
    pub next_may_fail: bool,
}

impl Conjunction {
    pub(crate) fn new(conjuncts: Vec<Arc<dyn PhysicalExpr>>, steps: Vec<Step>) -> Self {
        let chain = conjunction(conjuncts.iter().cloned());
        Self {
            conjuncts,
            steps,
            chain,
        }
    }
}

/// A test's answer with NULL read as false.
fn answer(value: ColumnarValue, rows: usize) -> Result<BooleanArray> {
    let array = value.into_array(rows)?;
    let Some(bools) = array.as_boolean_opt() else {
        return exec_err!(
            "a filter condition must be boolean, got {}",
            array.data_type()
        );
    };
    Ok(if bools.null_count() > 0 {
        prep_null_mask_filter(bools)
    } else {
        bools.clone()
    })
}

impl PhysicalExpr for Conjunction {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(false)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        // The rows still in question, and where they are in `batch` once narrowed.
        let mut current = batch.clone();
        let mut positions: Option<Vec<u32>> = None;
        // The AND of the answers since the last narrowing, over `current`'s rows.
        let mut kept: Option<BooleanArray> = None;
        for (i, test) in self.conjuncts.iter().enumerate() {
            let value = answer(test.evaluate(&current)?, current.num_rows())?;
            let now = match kept.take() {
                Some(before) => and(&before, &value)?,
                None => value,
            };
            let count = now.true_count();
            if count == 0 {
                return Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(
                    BooleanBuffer::new_unset(rows),
                    None,
                ))));
            }
            let in_question = current.num_rows();
            let step = self.steps[i];
            let threshold = if step.costly_after {
                NARROW_BELOW_COSTLY
            } else {
                NARROW_BELOW
            };
            let worth = count as f64 <= threshold * in_question as f64;
            let guard = step.next_may_fail && count as f64 <= DATAFUSION_PRESELECTION * rows as f64;
            let last = i + 1 == self.conjuncts.len();
            if last || count == in_question || !(worth || guard) {
                kept = (count < in_question).then_some(now);
                continue;
            }
            current = filter_record_batch(&current, &now)?;
            positions = Some(match positions {
                None => now.values().set_indices_u32().collect(),
                Some(before) => now.values().set_indices().map(|j| before[j]).collect(),
            });
        }
        let mask = match (positions, kept) {
            (None, Some(kept)) => kept,
            (None, None) => BooleanArray::new(BooleanBuffer::new_set(rows), None),
            (Some(positions), kept) => {
                let mut bits = MutableBuffer::from_len_zeroed(rows.div_ceil(8));
                let slice = bits.as_slice_mut();
                match kept {
                    Some(kept) => {
                        for j in kept.values().set_indices() {
                            bit_util::set_bit(slice, positions[j] as usize);
                        }
                    }
                    None => {
                        for p in positions {
                            bit_util::set_bit(slice, p as usize);
                        }
                    }
                }
                BooleanArray::new(BooleanBuffer::new(bits.into(), 0, rows), None)
            }
        };
        Ok(ColumnarValue::Array(Arc::new(mask)))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.conjuncts.iter().collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(Self::new(children, self.steps.clone())))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chain.fmt_sql(f)
    }
}

/// Shown as the `AND` chain it evaluates.
impl fmt::Display for Conjunction {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.chain)
    }
}

impl PartialEq for Conjunction {
    fn eq(&self, other: &Self) -> bool {
        self.chain.as_ref() == other.chain.as_ref()
    }
}

impl Eq for Conjunction {}

impl Hash for Conjunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.chain.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::Field;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};

    /// The chain's answer equals DataFusion's `AND` chain read as a filter (NULL as false),
    /// for every narrowing pattern: selective first tests, unselective ones, NULLs, none kept.
    #[test]
    fn same_rows_as_the_and_chain() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, false),
        ]);
        let a: Int64Array = (0..1000)
            .map(|i| (i % 13 != 0).then_some(i % 100))
            .collect();
        let b: Int64Array = (0..1000).map(|i| (i * 7) % 31).collect();
        let batch =
            RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(a), Arc::new(b)]).unwrap();
        let test = |c: &str, op: Operator, v: i64| {
            binary(col(c, &schema).unwrap(), op, lit(v), &schema).unwrap()
        };
        let chains = [
            vec![test("a", Operator::Lt, 10), test("b", Operator::Gt, 5)],
            vec![
                test("b", Operator::Gt, 2),
                test("a", Operator::Lt, 90),
                test("b", Operator::Lt, 20),
            ],
            vec![
                test("a", Operator::Lt, 3),
                test("b", Operator::Lt, 9),
                test("a", Operator::Gt, 0),
            ],
            vec![test("a", Operator::Lt, 3), test("b", Operator::Gt, 100)],
            vec![test("a", Operator::GtEq, 0), test("b", Operator::GtEq, 0)],
        ];
        for tests in chains {
            for costly in [false, true] {
                let expected = answer(
                    conjunction(tests.iter().cloned()).evaluate(&batch).unwrap(),
                    batch.num_rows(),
                )
                .unwrap();
                let step = Step {
                    costly_after: costly,
                    next_may_fail: false,
                };
                let ours = Conjunction::new(tests.clone(), vec![step; tests.len()]);
                let got = answer(ours.evaluate(&batch).unwrap(), batch.num_rows()).unwrap();
                assert_eq!(got, expected, "{}", ours);
            }
        }
    }
}
