//! `avg(x)` computed from the `sum(x)` and row count its aggregate already keeps.
//!
//! DataFusion's `avg` keeps its own sum and count per group, beside any `sum(x)` and
//! `count(*)` of the same aggregate: TPC-H q1 adds up `l_quantity` and `l_extendedprice`
//! twice per row and counts the rows four times (`AvgGroupsAccumulator` was 7 % of its CPU).
//! This rule drops such an `avg` from the aggregate and divides the shared sum by the shared
//! count in a projection above it, with `avg`'s own arithmetic (`DecimalAverager` for
//! decimals, `sum / count` for floats), so the result is the same value of the same type.
//! It rewrites an aggregate only when that removes more accumulators than it adds.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Builder, Float64Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{exec_err, Column, Result};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Aggregate, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Projection, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion_functions_aggregate_common::utils::DecimalAverager;

/// `avg`'s sum of a `Decimal128(p, _)` input is itself a `Decimal128` (wrapping like `sum`'s)
/// up to this input precision; above it `avg` sums in 256 bits and could differ from `sum`
/// on overflow, so those are left alone.
const MAX_SHARED_DECIMAL_PRECISION: u8 = 25;

#[derive(Debug, Default)]
pub(crate) struct ShareAvgSums;

impl OptimizerRule for ShareAvgSums {
    fn name(&self) -> &str {
        "share_avg_sums"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(agg) = plan else {
            return Ok(Transformed::no(plan));
        };
        match rewrite(&agg)? {
            Some(shared) => Ok(Transformed::yes(shared)),
            None => Ok(Transformed::no(LogicalPlan::Aggregate(agg))),
        }
    }
}

/// An `avg` that can be taken from shared parts: where its sum and count come from.
struct SharedAvg {
    index: usize,
    sum: usize,
    count: usize,
}

fn rewrite(agg: &Aggregate) -> Result<Option<LogicalPlan>> {
    let input_schema = agg.input.schema();
    let mut aggr_expr: Vec<Expr> = agg.aggr_expr.clone();
    let mut avgs = vec![];
    for index in 0..agg.aggr_expr.len() {
        let Some(avg) = function(&agg.aggr_expr[index], "avg") else {
            continue;
        };
        let [arg] = avg.params.args.as_slice() else {
            continue;
        };
        if !plain(avg) || !shareable_type(&arg.get_type(input_schema)?) {
            continue;
        }
        let nullable = arg.nullable(input_schema)?;
        let sum = find_or_add(
            &mut aggr_expr,
            |e| {
                function(e, "sum").is_some_and(|s| {
                    plain(s) && same_rows(s, avg) && s.params.args == avg.params.args
                })
            },
            || sum_of(avg),
        );
        let count = find_or_add(
            &mut aggr_expr,
            |e| {
                function(e, "count").is_some_and(|c| {
                    plain(c)
                        && same_rows(c, avg)
                        && (c.params.args == avg.params.args
                            || (!nullable && counts_rows(c, input_schema)))
                })
            },
            || count_of(avg),
        );
        avgs.push(SharedAvg { index, sum, count });
    }
    let added = aggr_expr.len() - agg.aggr_expr.len();
    if avgs.is_empty() || added >= avgs.len() {
        return Ok(None);
    }
    // The new aggregate: the old one without the shared avgs, plus the sums and counts added.
    let dropped: Vec<usize> = avgs.iter().map(|a| a.index).collect();
    let kept: Vec<usize> = (0..aggr_expr.len())
        .filter(|i| !dropped.contains(i))
        .collect();
    let new_aggr: Vec<Expr> = kept.iter().map(|&i| aggr_expr[i].clone()).collect();
    // An added `sum(x)` whose name another output already takes leaves the plan as it was.
    let Ok(shared) = Aggregate::try_new(agg.input.clone(), agg.group_expr.clone(), new_aggr) else {
        return Ok(None);
    };
    let groups = agg.schema.fields().len() - agg.aggr_expr.len();
    let new_column = |aggr_index: usize| -> Column {
        let position = kept.iter().position(|&k| k == aggr_index).expect("kept");
        Column::from(shared.schema.qualified_field(groups + position))
    };
    let mut exprs = Vec::with_capacity(agg.schema.fields().len());
    for i in 0..agg.schema.fields().len() {
        let (qualifier, field) = agg.schema.qualified_field(i);
        let expr = if i < groups {
            Expr::Column(Column::from(shared.schema.qualified_field(i)))
        } else if let Some(avg) = avgs.iter().find(|a| a.index == i - groups) {
            let udf = ScalarUDF::from(AvgOfSum::new(field.data_type().clone()));
            udf.call(vec![
                Expr::Column(new_column(avg.sum)),
                Expr::Column(new_column(avg.count)),
            ])
        } else {
            Expr::Column(new_column(i - groups))
        };
        exprs.push(expr.alias_qualified(qualifier.cloned(), field.name()));
    }
    let projection = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(shared)))?;
    Ok(Some(LogicalPlan::Projection(projection)))
}

/// `expr` (under any alias) as a call of the aggregate function `name`.
fn function<'a>(expr: &'a Expr, name: &str) -> Option<&'a AggregateFunction> {
    match expr {
        Expr::Alias(alias) => function(&alias.expr, name),
        Expr::AggregateFunction(f) if f.func.name() == name => Some(f),
        _ => None,
    }
}

/// Not DISTINCT, not ordered: every row of its group counts once.
fn plain(f: &AggregateFunction) -> bool {
    !f.params.distinct && f.params.order_by.is_empty() && f.params.null_treatment.is_none()
}

/// Both read the same rows of a group (the same FILTER, or none).
fn same_rows(a: &AggregateFunction, b: &AggregateFunction) -> bool {
    a.params.filter == b.params.filter
}

/// `count` of something that is never NULL: the number of rows.
fn counts_rows(count: &AggregateFunction, schema: &datafusion::common::DFSchema) -> bool {
    matches!(count.params.args.as_slice(), [arg] if matches!(arg.nullable(schema), Ok(false)))
}

/// Where `avg`'s sum is the same value as `sum`'s: decimals whose `avg` sums in 128 bits,
/// and floats (both add `f64`s in row order).
fn shareable_type(t: &DataType) -> bool {
    match t {
        DataType::Decimal128(p, _) => *p <= MAX_SHARED_DECIMAL_PRECISION,
        DataType::Float64 => true,
        _ => false,
    }
}

fn find_or_add(
    aggr_expr: &mut Vec<Expr>,
    found: impl Fn(&Expr) -> bool,
    new: impl FnOnce() -> Expr,
) -> usize {
    match aggr_expr.iter().position(found) {
        Some(i) => i,
        None => {
            aggr_expr.push(new());
            aggr_expr.len() - 1
        }
    }
}

fn with_function(
    avg: &AggregateFunction,
    func: Arc<datafusion::logical_expr::AggregateUDF>,
) -> Expr {
    Expr::AggregateFunction(AggregateFunction::new_udf(
        func,
        avg.params.args.clone(),
        false,
        avg.params.filter.clone(),
        vec![],
        None,
    ))
}

fn sum_of(avg: &AggregateFunction) -> Expr {
    with_function(avg, datafusion::functions_aggregate::sum::sum_udaf())
}

fn count_of(avg: &AggregateFunction) -> Expr {
    with_function(avg, datafusion::functions_aggregate::count::count_udaf())
}

/// `avg` from a group's sum and count: NULL for no rows, else `avg`'s own division.
#[derive(Debug, PartialEq, Eq, Hash)]
struct AvgOfSum {
    /// `avg`'s result type, which the sum's type alone does not give.
    output: DataType,
    signature: Signature,
}

impl AvgOfSum {
    fn new(output: DataType) -> Self {
        Self {
            output,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AvgOfSum {
    fn name(&self) -> &str {
        "avg_of_sum"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [sums, counts] = arrays.as_slice() else {
            return exec_err!("avg_of_sum takes a sum and a count");
        };
        Ok(ColumnarValue::Array(average(sums, counts, &self.output)?))
    }
}

fn average(sums: &ArrayRef, counts: &ArrayRef, output: &DataType) -> Result<ArrayRef> {
    let counts = counts.as_primitive::<Int64Type>();
    let row = |i: usize| sums.is_valid(i) && counts.is_valid(i) && counts.value(i) > 0;
    match (sums.data_type(), output) {
        (DataType::Decimal128(_, sum_scale), DataType::Decimal128(precision, scale)) => {
            let averager =
                DecimalAverager::<Decimal128Type>::try_new(*sum_scale, *precision, *scale)?;
            let sums = sums.as_primitive::<Decimal128Type>();
            let mut out = Decimal128Builder::with_capacity(sums.len());
            for i in 0..sums.len() {
                if row(i) {
                    out.append_value(averager.avg(sums.value(i), counts.value(i) as i128)?);
                } else {
                    out.append_null();
                }
            }
            Ok(Arc::new(
                out.finish().with_precision_and_scale(*precision, *scale)?,
            ))
        }
        (DataType::Float64, DataType::Float64) => {
            let sums = sums.as_primitive::<Float64Type>();
            let out: Float64Array = (0..sums.len())
                .map(|i| row(i).then(|| sums.value(i) / counts.value(i) as f64))
                .collect();
            Ok(Arc::new(out))
        }
        (sum, out) => exec_err!("avg_of_sum cannot average a {sum} sum as {out}"),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, ArrayRef, AsArray};
    use datafusion::arrow::datatypes::{DataType, Float64Type};

    use crate::test_util::{query_batch, query_text, session_after};

    /// The columns `sql` returns.
    async fn columns(session: &crate::Session, sql: &str) -> Vec<ArrayRef> {
        query_batch(session, sql).await.columns().to_vec()
    }

    fn cases_first() -> &'static str {
        "SELECT g, sum(x), sum(y), count(*), sum(f), avg(x), avg(y), avg(f) \
         FROM t GROUP BY g ORDER BY g"
    }

    /// Every shared `avg` equals `avg`'s own result, type and NULLs included: decimals whose
    /// division truncates, a column with NULLs (its count is `count(x)`, not `count(*)`), a
    /// group where it is all NULL, floats, FILTER, and no rows at all.
    #[tokio::test]
    async fn a_shared_avg_is_the_avg_of_its_own() {
        let (_dir, _db, session) = session_after(&[
            "CREATE TABLE t (g INT NOT NULL, x DECIMAL(15,2), y DECIMAL(15,2) NOT NULL, \
             f DOUBLE NOT NULL)",
            "INSERT INTO t SELECT CAST(value % 7 AS INT), \
             CASE WHEN value % 7 = 6 OR value % 11 = 0 THEN NULL \
                  ELSE CAST(((value * 7919) % 100003 - 50000) / 3.0 AS DECIMAL(15,2)) END, \
             CAST(((value * 104729) % 1000003) / 7.0 AS DECIMAL(15,2)), \
             CAST(value AS DOUBLE) / 3 FROM range(20000)",
        ])
        .await;
        let cases = [
            (
                cases_first(),
                vec![(5, "avg(x)"), (6, "avg(y)"), (7, "avg(f)")],
            ),
            (
                "SELECT g, sum(y) FILTER (WHERE f > 1000), count(*) FILTER (WHERE f > 1000), \
                 avg(y) FILTER (WHERE f > 1000), avg(f) FILTER (WHERE f > 1000) \
                 FROM t GROUP BY g ORDER BY g",
                vec![
                    (3, "avg(y) FILTER (WHERE f > 1000)"),
                    (4, "avg(f) FILTER (WHERE f > 1000)"),
                ],
            ),
            (
                "SELECT 0, sum(y), count(*), avg(y), avg(f) FROM t WHERE g > 100",
                vec![(3, "avg(y)"), (4, "avg(f)")],
            ),
        ];
        for (shared, avgs) in cases {
            let plan = query_text(&session, &format!("EXPLAIN {shared}")).await;
            assert!(plan.contains("avg_of_sum"), "{plan}");
            let got = columns(&session, shared).await;
            let (grouped, filter) = if shared.contains("GROUP BY") {
                ("g, ", " GROUP BY g ORDER BY g")
            } else {
                ("0, ", " WHERE g > 100")
            };
            for (column, avg) in avgs {
                // Alone, an avg shares nothing and keeps its own sum and count.
                let own = format!("SELECT {grouped}{avg} FROM t{filter}");
                let plan = query_text(&session, &format!("EXPLAIN {own}")).await;
                assert!(!plan.contains("avg_of_sum"), "{plan}");
                let want = columns(&session, &own).await;
                let (got, want) = (got[column].as_ref(), want[1].as_ref());
                if got.data_type() == &DataType::Float64 {
                    // Floats add up in whatever order the rows arrive, which differs
                    // between two runs of a query on several threads.
                    let (got, want) = (
                        got.as_primitive::<Float64Type>(),
                        want.as_primitive::<Float64Type>(),
                    );
                    assert_eq!(got.nulls(), want.nulls(), "{avg} in {shared}");
                    for (g, w) in got.values().iter().zip(want.values()) {
                        assert!((g - w).abs() <= 1e-12 * w.abs(), "{avg}: {g} {w}");
                    }
                } else {
                    assert_eq!(got, want, "{avg} in {shared}");
                }
            }
        }
        // Group 6 has only NULL x: its avg is NULL, and not every avg is.
        let got = columns(&session, cases_first()).await;
        assert!(
            got[5].is_null(6) && got[5].null_count() == 1,
            "{:?}",
            got[5]
        );
    }

    /// DISTINCT reads other rows than `sum`; an avg with nothing to share stays as it was.
    #[tokio::test]
    async fn avgs_that_share_nothing_are_left_alone() {
        let (_dir, _db, session) =
            session_after(&["CREATE TABLE t (g INT NOT NULL, y DECIMAL(15,2) NOT NULL)"]).await;
        for sql in [
            "SELECT sum(y), count(*), avg(DISTINCT y) FROM t",
            "SELECT g, avg(y) FROM t GROUP BY g",
            "SELECT sum(y), avg(CAST(y AS DECIMAL(30,2))) FROM t",
        ] {
            let plan = query_text(&session, &format!("EXPLAIN {sql}")).await;
            assert!(!plan.contains("avg_of_sum"), "{sql}: {plan}");
        }
    }
}
