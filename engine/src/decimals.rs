//! Decimal `+ - *` without a per-row overflow check when the batch's values show that no row
//! can overflow.
//!
//! arrow-rs computes every `Decimal128` `+ - *` with a checked 128-bit operation per row
//! (a library call for `*`, and a fallible loop that does not vectorise): about a fifth of
//! TPC-H q1, whose `l_extendedprice * (1 - l_discount) * (1 + l_tax)` runs over every row.
//! The check can only fire if the largest magnitudes of the two operands overflow i128
//! together, so this expression bounds those magnitudes first (one pass over a column's
//! values; an operand computed the same way brings its bound along, unread) and then computes
//! with wrapping arithmetic, exact in that case; otherwise it evaluates the original
//! expression, which reports the overflow as before. The result is the same array,
//! type included (arrow's decimal result rules, checked against DataFusion's type at planning).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::compute::kernels::arity::binary;
use datafusion::arrow::datatypes::{ArrowNativeTypeOp, DataType, Decimal128Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// Puts `UncheckedWhenSafe` in place of decimal `+ - *` in projections, filters and the
/// arguments of aggregates that read their input rows.
#[derive(Debug, Default)]
pub(crate) struct DecimalArithmetic;

impl PhysicalOptimizerRule for DecimalArithmetic {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let node = crate::row_exprs::in_projections_and_filters(node, &rewrite)?;
            if node.transformed {
                return Ok(node);
            }
            crate::row_exprs::in_aggregate_arguments(node.data, &rewrite)
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "decimal_arithmetic"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `e` with each decimal `+ - *` (over rows of `input`) evaluated by `UncheckedWhenSafe`.
fn rewrite(e: Arc<dyn PhysicalExpr>, input: &Schema) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    e.transform_up(|node| {
        let Some(binary) = node.downcast_ref::<BinaryExpr>() else {
            return Ok(Transformed::no(node));
        };
        let types = (
            binary.left().data_type(input)?,
            binary.right().data_type(input)?,
            binary.data_type(input)?,
        );
        let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2), out) = types else {
            return Ok(Transformed::no(node));
        };
        let Some(op) = DecimalOp::new(*binary.op(), (p1, s1), (p2, s2)) else {
            return Ok(Transformed::no(node));
        };
        // Only where DataFusion's result type is arrow's (what the kernels return).
        if out != DataType::Decimal128(op.precision, op.scale) {
            return Ok(Transformed::no(node));
        }
        let fast = UncheckedWhenSafe {
            original: Arc::clone(&node),
            left: Arc::clone(binary.left()),
            right: Arc::clone(binary.right()),
            op,
        };
        Ok(Transformed::new(
            Arc::new(fast) as Arc<dyn PhysicalExpr>,
            true,
            TreeNodeRecursion::Continue,
        ))
    })
}

/// A decimal `+ - *` with arrow's result type and the factors that bring both operands to
/// its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DecimalOp {
    op: Operator,
    precision: u8,
    scale: i8,
    left_factor: i128,
    right_factor: i128,
}

impl DecimalOp {
    /// arrow-arith's `decimal_op` rules (Hive's): `None` for other operators, or where arrow
    /// would refuse the scale.
    fn new(op: Operator, (p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> Option<Self> {
        const MAX_PRECISION: u8 = 38;
        match op {
            Operator::Plus | Operator::Minus => {
                let scale = s1.max(s2);
                let digits = (p1 as i8 - s1).max(p2 as i8 - s2);
                let precision = (scale.saturating_add(digits) as u8)
                    .saturating_add(1)
                    .min(MAX_PRECISION);
                Some(Self {
                    op,
                    precision,
                    scale,
                    left_factor: 10i128.checked_pow((scale - s1) as u32)?,
                    right_factor: 10i128.checked_pow((scale - s2) as u32)?,
                })
            }
            Operator::Multiply => {
                let scale = s1.checked_add(s2).filter(|s| *s <= 38)?;
                Some(Self {
                    op,
                    precision: p1.saturating_add(p2 + 1).min(MAX_PRECISION),
                    scale,
                    left_factor: 1,
                    right_factor: 1,
                })
            }
            _ => None,
        }
    }

    /// For operands of at most these magnitudes, a bound on the result's magnitude when it
    /// fits in i128, so that wrapping arithmetic is exact; `None` when it may not fit.
    fn result_bound(&self, left: u128, right: u128) -> Option<u128> {
        let value = match self.op {
            Operator::Multiply => left.checked_mul(right),
            _ => left
                .checked_mul(self.left_factor as u128)
                .zip(right.checked_mul(self.right_factor as u128))
                .and_then(|(l, r)| l.checked_add(r)),
        };
        value.filter(|v| *v <= i128::MAX as u128)
    }
}

/// One side of the operation: a column of the batch or a constant.
enum Operand<'a> {
    Column(&'a PrimitiveArray<Decimal128Type>),
    Constant(i128),
}

impl Operand<'_> {
    /// At least the largest magnitude among its values, at most twice it.
    fn magnitude(&self) -> u128 {
        match self {
            // One branch-free pass, null slots included (their values are arbitrary, which
            // can only raise the bound): `v ^ (v >> 127)` is `|v|` for `v ≥ 0` and `|v| - 1`
            // below, and the OR of them all is at least each of them. arrow's min and max
            // kernels took two passes and compared per value (9 % of TPC-H q1).
            Operand::Column(a) => {
                let or = a
                    .values()
                    .iter()
                    .fold(0u128, |acc, &v| acc | (v ^ (v >> 127)) as u128);
                or.saturating_add(1)
            }
            Operand::Constant(v) => v.unsigned_abs(),
        }
    }
}

/// `left op right` as `original` computes it, with wrapping arithmetic when the operands'
/// magnitudes in the batch rule out an overflow.
#[derive(Debug)]
struct UncheckedWhenSafe {
    original: Arc<dyn PhysicalExpr>,
    left: Arc<dyn PhysicalExpr>,
    right: Arc<dyn PhysicalExpr>,
    op: DecimalOp,
}

/// `e` evaluated, with a bound on its values' magnitudes when it is an `UncheckedWhenSafe`
/// that computed without checks: `a * (1 - b)` need not read `1 - b` again to bound it.
fn evaluate_bounded(
    e: &Arc<dyn PhysicalExpr>,
    batch: &RecordBatch,
) -> Result<(ColumnarValue, Option<u128>)> {
    match e.downcast_ref::<UncheckedWhenSafe>() {
        Some(fast) => fast.evaluate_bounded(batch),
        None => Ok((e.evaluate(batch)?, None)),
    }
}

impl UncheckedWhenSafe {
    fn evaluate_bounded(&self, batch: &RecordBatch) -> Result<(ColumnarValue, Option<u128>)> {
        let (left, left_bound) = evaluate_bounded(&self.left, batch)?;
        let (right, right_bound) = evaluate_bounded(&self.right, batch)?;
        match self.compute((&left, left_bound), (&right, right_bound))? {
            Some((array, bound)) => Ok((ColumnarValue::Array(array), Some(bound))),
            None => Ok((self.original.evaluate(batch)?, None)),
        }
    }

    /// The result and a bound on its magnitudes, when no row can overflow.
    fn compute(
        &self,
        (left, left_bound): (&ColumnarValue, Option<u128>),
        (right, right_bound): (&ColumnarValue, Option<u128>),
    ) -> Result<Option<(ArrayRef, u128)>> {
        let (Some(l), Some(r)) = (operand(left), operand(right)) else {
            return Ok(None);
        };
        let magnitudes = (
            left_bound.unwrap_or_else(|| l.magnitude()),
            right_bound.unwrap_or_else(|| r.magnitude()),
        );
        let Some(bound) = self.op.result_bound(magnitudes.0, magnitudes.1) else {
            return Ok(None);
        };
        // Within 64 bits (TPC-H's prices and rates are), one machine multiply per row instead
        // of a 128-bit one, and adds that vectorise.
        let (op, lf, rf) = (self.op.op, self.op.left_factor, self.op.right_factor);
        let narrow = [bound, magnitudes.0, magnitudes.1, lf as u128, rf as u128]
            .iter()
            .all(|m| *m <= i64::MAX as u128);
        let out = if narrow {
            apply((op, lf, rf), l, r, |v| v as i64, i128::from)
        } else {
            apply((op, lf, rf), l, r, |v| v, |v| v)
        }?;
        let Some(out) = out else {
            return Ok(None);
        };
        let out = out.with_precision_and_scale(self.op.precision, self.op.scale)?;
        Ok(Some((Arc::new(out), bound)))
    }
}

/// `l op r` computed in `T` (arrow's wrapping operations) after `from` narrows each value,
/// widened back by `to`: exact when the result's bound fits `T`.
fn apply<T: ArrowNativeTypeOp>(
    (op, lf, rf): (Operator, i128, i128),
    l: Operand,
    r: Operand,
    from: impl Fn(i128) -> T + Copy,
    to: impl Fn(T) -> i128 + Copy,
) -> Result<Option<PrimitiveArray<Decimal128Type>>> {
    let (lf, rf) = (from(lf), from(rf));
    let scaled = !lf.is_eq(T::ONE) || !rf.is_eq(T::ONE);
    match op {
        Operator::Multiply => wrapping(l, r, |a, b| to(from(a).mul_wrapping(from(b)))),
        Operator::Plus if !scaled => wrapping(l, r, |a, b| to(from(a).add_wrapping(from(b)))),
        Operator::Minus if !scaled => wrapping(l, r, |a, b| to(from(a).sub_wrapping(from(b)))),
        Operator::Plus => wrapping(l, r, |a, b| {
            to(from(a)
                .mul_wrapping(lf)
                .add_wrapping(from(b).mul_wrapping(rf)))
        }),
        _ => wrapping(l, r, |a, b| {
            to(from(a)
                .mul_wrapping(lf)
                .sub_wrapping(from(b).mul_wrapping(rf)))
        }),
    }
}

fn operand(v: &ColumnarValue) -> Option<Operand<'_>> {
    match v {
        ColumnarValue::Array(a) => Some(Operand::Column(a.as_primitive::<Decimal128Type>())),
        ColumnarValue::Scalar(ScalarValue::Decimal128(Some(v), _, _)) => {
            Some(Operand::Constant(*v))
        }
        // A NULL constant: the original's null result.
        ColumnarValue::Scalar(_) => None,
    }
}

/// `f` over every row; `None` for two constants (left to the original).
fn wrapping(
    left: Operand,
    right: Operand,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Option<PrimitiveArray<Decimal128Type>>> {
    Ok(Some(match (left, right) {
        (Operand::Column(a), Operand::Column(b)) => binary(a, b, f)?,
        (Operand::Column(a), Operand::Constant(c)) => a.unary(|x| f(x, c)),
        (Operand::Constant(c), Operand::Column(b)) => b.unary(|y| f(c, y)),
        (Operand::Constant(_), Operand::Constant(_)) => return Ok(None),
    }))
}

impl PhysicalExpr for UncheckedWhenSafe {
    fn data_type(&self, input_schema: &Schema) -> Result<DataType> {
        self.original.data_type(input_schema)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.original.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        self.evaluate_bounded(batch).map(|(value, _)| value)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.left, &self.right]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let original = Arc::clone(&self.original).with_new_children(children.clone())?;
        let [left, right]: [Arc<dyn PhysicalExpr>; 2] = children
            .try_into()
            .map_err(|_| datafusion::error::DataFusionError::Internal("two operands".into()))?;
        Ok(Arc::new(Self {
            original,
            left,
            right,
            op: self.op,
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.original.fmt_sql(f)
    }
}

/// Shown as the operation it computes.
impl fmt::Display for UncheckedWhenSafe {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.original)
    }
}

impl PartialEq for UncheckedWhenSafe {
    fn eq(&self, other: &Self) -> bool {
        self.original.as_ref() == other.original.as_ref()
    }
}

impl Eq for UncheckedWhenSafe {}

impl Hash for UncheckedWhenSafe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.original.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Decimal128Array};
    use datafusion::arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::{col, lit};

    fn batch(
        a: Vec<Option<i128>>,
        (p1, s1): (u8, i8),
        b: Vec<Option<i128>>,
        (p2, s2): (u8, i8),
    ) -> RecordBatch {
        let a = Decimal128Array::from(a)
            .with_precision_and_scale(p1, s1)
            .unwrap();
        let b = Decimal128Array::from(b)
            .with_precision_and_scale(p2, s2)
            .unwrap();
        let schema = Schema::new(vec![
            Field::new("a", a.data_type().clone(), true),
            Field::new("b", b.data_type().clone(), true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(a), Arc::new(b)]).unwrap()
    }

    /// The original and the rewritten expression on `batch`: both results or both errors.
    fn both(
        batch: &RecordBatch,
        expr: impl Fn(&Schema) -> Arc<dyn PhysicalExpr>,
    ) -> (Result<ArrayRef>, Result<ArrayRef>) {
        let schema = batch.schema();
        let original = expr(&schema);
        let rewritten = rewrite(Arc::clone(&original), &schema).unwrap();
        assert!(rewritten.transformed, "{original} is rewritten");
        let run = |e: &Arc<dyn PhysicalExpr>| {
            e.evaluate(batch)
                .and_then(|v| v.into_array(batch.num_rows()))
        };
        (run(&original), run(&rewritten.data))
    }

    fn binary_of(
        op: Operator,
        l: Arc<dyn PhysicalExpr>,
        r: Arc<dyn PhysicalExpr>,
    ) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(l, op, r))
    }

    #[test]
    fn results_and_types_are_the_checked_kernels() {
        let b = batch(
            vec![Some(1234), None, Some(-99_999), Some(0)],
            (15, 2),
            vec![Some(7), Some(3), Some(-5), None],
            (5, 4),
        );
        for op in [Operator::Plus, Operator::Minus, Operator::Multiply] {
            let columns = |s: &Schema| binary_of(op, col("a", s).unwrap(), col("b", s).unwrap());
            let (want, got) = both(&b, columns);
            assert_eq!(want.unwrap().as_ref(), got.unwrap().as_ref(), "{op}");
            // `1 - b`, as TPC-H writes `1 - l_discount`.
            let one = ScalarValue::Decimal128(Some(1), 20, 0);
            let constant = |s: &Schema| binary_of(op, lit(one.clone()), col("b", s).unwrap());
            let (want, got) = both(&b, constant);
            assert_eq!(want.unwrap().as_ref(), got.unwrap().as_ref(), "1 {op} b");
        }
    }

    /// Around the 64-bit line: results that need more than 64 bits (a product, a sum of
    /// a rescaled operand) are computed in 128, those just within it in 64; all exact.
    #[test]
    fn results_beyond_64_bits_are_exact() {
        let near = i128::from(i64::MAX) / 2;
        for (a, b, (p2, s2)) in [
            (
                vec![Some(near), Some(-near)],
                vec![Some(3), Some(2)],
                (38, 0),
            ),
            (
                vec![Some(near), Some(1)],
                vec![Some(1), Some(near)],
                (38, 0),
            ),
            (
                vec![Some(999_999_999), Some(-5)],
                vec![Some(1), Some(7)],
                (20, 10),
            ),
            (
                vec![Some(92_233_720), Some(-3)],
                vec![Some(1), Some(-1)],
                (20, 11),
            ),
        ] {
            let b = batch(a, (38, 0), b, (p2, s2));
            for op in [Operator::Plus, Operator::Minus, Operator::Multiply] {
                let columns =
                    |s: &Schema| binary_of(op, col("a", s).unwrap(), col("b", s).unwrap());
                let (want, got) = both(&b, columns);
                match (want, got) {
                    (Ok(want), Ok(got)) => assert_eq!(want.as_ref(), got.as_ref(), "{op}"),
                    (want, got) => assert!(want.is_err() && got.is_err(), "{op}: {got:?}"),
                }
            }
        }
    }

    #[test]
    fn an_overflow_is_still_an_error() {
        let big = 10i128.pow(37);
        let b = batch(
            vec![Some(1), Some(big)],
            (38, 0),
            vec![Some(2), Some(100)],
            (38, 0),
        );
        let product = |s: &Schema| {
            binary_of(
                Operator::Multiply,
                col("a", s).unwrap(),
                col("b", s).unwrap(),
            )
        };
        let (want, got) = both(&b, product);
        assert!(want.is_err() && got.is_err(), "{want:?} {got:?}");
        // Small values in wide types take the fast path and stay exact.
        let b = batch(
            vec![Some(3), Some(-4)],
            (38, 0),
            vec![Some(2), Some(100)],
            (38, 0),
        );
        let (want, got) = both(&b, product);
        assert_eq!(want.unwrap().as_ref(), got.unwrap().as_ref());
    }

    #[test]
    fn nested_operations_pass_bounds_up_and_still_catch_an_overflow() {
        let big = 10i128.pow(13);
        let b = batch(
            vec![Some(big), Some(-3), None],
            (38, 0),
            vec![Some(-big), Some(5), Some(7)],
            (38, 0),
        );
        // `(a * b) * b`: the inner product (1e26) fits; the outer one (1e39) does not, and
        // the bound the inner operation hands up must say so.
        let nested = |s: &Schema| {
            let a = col("a", s).unwrap();
            let b = col("b", s).unwrap();
            binary_of(
                Operator::Multiply,
                binary_of(Operator::Multiply, a, Arc::clone(&b)),
                b,
            )
        };
        let (want, got) = both(&b, nested);
        assert!(want.is_err() && got.is_err(), "{want:?} {got:?}");
        // `a * (1 - b) + b` over small values: exact, nulls where arrow puts them.
        let b = batch(
            vec![Some(i128::from(i64::MIN)), Some(-3), None, Some(0)],
            (38, 0),
            vec![Some(2), Some(-5), Some(7), None],
            (20, 2),
        );
        let chain = |s: &Schema| {
            let a = col("a", s).unwrap();
            let b = col("b", s).unwrap();
            let one = lit(ScalarValue::Decimal128(Some(1), 20, 0));
            let inner = binary_of(Operator::Minus, one, Arc::clone(&b));
            binary_of(Operator::Plus, binary_of(Operator::Multiply, a, inner), b)
        };
        let (want, got) = both(&b, chain);
        assert_eq!(want.unwrap().as_ref(), got.unwrap().as_ref());
    }

    #[test]
    fn a_column_magnitude_bounds_every_value() {
        for values in [
            vec![0i128],
            vec![1, -1],
            vec![i128::MIN, 5],
            vec![i128::MAX, -7],
            vec![-1_000, 999],
        ] {
            let largest = values.iter().map(|v| v.unsigned_abs()).max().unwrap();
            let array = PrimitiveArray::<Decimal128Type>::from(values.clone());
            let bound = Operand::Column(&array).magnitude();
            let most = largest.saturating_mul(2).saturating_add(1);
            assert!(bound >= largest && bound <= most, "{values:?}: {bound}");
        }
    }

    #[tokio::test]
    async fn sql_over_a_table_answers_as_before() {
        let (_dir, db) = crate::test_util::database();
        let session = db.session();
        session
            .execute_one(
                "CREATE TABLE items AS SELECT CAST(value AS DECIMAL(15,2)) AS price, \
                 CAST(value % 10 AS DECIMAL(15,2)) AS discount FROM range(100000)",
            )
            .await
            .unwrap();
        let sql = "SELECT CAST(sum(price * (1 - discount)) AS VARCHAR) FROM items \
                   WHERE price - discount > 1";
        let text = crate::test_util::query_text(&session, sql).await;
        let want: i128 = (0..100_000i128)
            .filter(|v| v - v % 10 > 1)
            .map(|v| v * (1 - v % 10))
            .sum();
        let want = format!("| {want}.0000 ");
        assert!(text.contains(&want), "{text} vs {want}");
    }
}
