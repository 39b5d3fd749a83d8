//! Carries PostgreSQL type marks ([`crate::PG_TYPE_KEY`], e.g. json) through CASE and scalar
//! subqueries to the result columns, where DataFusion drops field metadata: SQLAlchemy's
//! `CASE WHEN … THEN (SELECT json_build_object(…)) ELSE NULL END` is json in PostgreSQL.

use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder};

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use crate::pg_catalog::PG_TYPE_KEY;

/// `plan` with a projection on top that marks the result columns whose value comes from a
/// marked expression; unchanged when there are none.
pub(crate) fn carry(plan: LogicalPlan) -> Result<LogicalPlan> {
    if !matches!(
        plan,
        LogicalPlan::Projection(_) | LogicalPlan::Sort(_) | LogicalPlan::Limit(_)
    ) {
        return Ok(plan);
    }
    let marks: Vec<Option<String>> = (0..plan.schema().fields().len())
        .map(|i| {
            let field = plan.schema().field(i);
            if field.metadata().contains_key(PG_TYPE_KEY) {
                None
            } else {
                column_mark(&plan, i)
            }
        })
        .collect();
    if marks.iter().all(Option::is_none) {
        return Ok(plan);
    }
    let exprs: Vec<Expr> = plan
        .schema()
        .iter()
        .zip(marks)
        .map(|((qualifier, field), mark)| {
            let column = Expr::Column(datafusion::common::Column::new(
                qualifier.cloned(),
                field.name(),
            ));
            match mark {
                None => column,
                Some(mark) => {
                    let metadata =
                        std::collections::BTreeMap::from([(PG_TYPE_KEY.to_string(), mark)]);
                    column.alias_qualified_with_metadata(
                        qualifier.cloned(),
                        field.name(),
                        Some(metadata.into()),
                    )
                }
            }
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

/// `stream` described with the marks `planned` (the logical plan's schema) gives its
/// columns: physical optimizations (a projection pushed through a join) rebuild function
/// expressions and can drop field metadata on the way.
pub(crate) fn restore(
    stream: SendableRecordBatchStream,
    planned: &DFSchema,
) -> SendableRecordBatchStream {
    let actual = stream.schema();
    let lost = |i: usize| {
        let mark = planned.field(i).metadata().get(PG_TYPE_KEY);
        mark.is_some() && actual.field(i).metadata().get(PG_TYPE_KEY) != mark
    };
    if planned.fields().len() != actual.fields().len() || !(0..actual.fields().len()).any(lost) {
        return stream;
    }
    let fields: Vec<_> = actual
        .fields()
        .iter()
        .zip(planned.fields())
        .map(
            |(field, planned)| match planned.metadata().get(PG_TYPE_KEY) {
                Some(mark) => {
                    let mut metadata = field.metadata().clone();
                    metadata.insert(PG_TYPE_KEY.to_string(), mark.clone());
                    Arc::new(field.as_ref().clone().with_metadata(metadata))
                }
                None => field.clone(),
            },
        )
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, actual.metadata().clone()));
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// The mark of result column `i` of `plan`, looking through the nodes that pass columns on.
fn column_mark(plan: &LogicalPlan, i: usize) -> Option<String> {
    if let Some(mark) = plan.schema().field(i).metadata().get(PG_TYPE_KEY) {
        return Some(mark.clone());
    }
    match plan {
        LogicalPlan::Projection(p) => expr_mark(p.expr.get(i)?, &p.input),
        LogicalPlan::Aggregate(a) => {
            let groups = a.group_expr.len();
            match i.checked_sub(groups) {
                None => expr_mark(&a.group_expr[i], &a.input),
                Some(k) => expr_mark(a.aggr_expr.get(k)?, &a.input),
            }
        }
        LogicalPlan::Sort(s) => column_mark(&s.input, i),
        LogicalPlan::Limit(l) => column_mark(&l.input, i),
        LogicalPlan::Filter(f) => column_mark(&f.input, i),
        LogicalPlan::SubqueryAlias(a) => column_mark(&a.input, i),
        _ => None,
    }
}

/// The mark of `e` evaluated over `input`.
fn expr_mark(e: &Expr, input: &LogicalPlan) -> Option<String> {
    let schema: &DFSchema = input.schema();
    if let Ok((_, field)) = e.to_field(schema) {
        if let Some(mark) = field.metadata().get(PG_TYPE_KEY) {
            return Some(mark.clone());
        }
    }
    match e {
        Expr::Alias(a) => expr_mark(&a.expr, input),
        Expr::Column(c) => column_mark(input, schema.index_of_column(c).ok()?),
        Expr::ScalarSubquery(s) => column_mark(&s.subquery, 0),
        // Aggregates that return one of their inputs (the catalog rewrites put max() around
        // a projected scalar subquery).
        Expr::AggregateFunction(f)
            if matches!(
                f.func.name(),
                "max" | "min" | "first_value" | "last_value" | "any_value"
            ) =>
        {
            expr_mark(f.params.args.first()?, input)
        }
        Expr::Case(case) => {
            // Every branch that is not a bare NULL has the same mark.
            let branches = case
                .when_then_expr
                .iter()
                .map(|(_, then)| then.as_ref())
                .chain(case.else_expr.as_deref());
            let mut mark = None;
            for branch in branches {
                if is_null(branch) {
                    continue;
                }
                let m = expr_mark(branch, input)?;
                if mark.as_ref().is_some_and(|seen| seen != &m) {
                    return None;
                }
                mark = Some(m);
            }
            mark
        }
        _ => None,
    }
}

fn is_null(e: &Expr) -> bool {
    match e {
        Expr::Literal(v, _) => v.is_null(),
        Expr::Cast(c) => is_null(&c.expr),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn json_marks_pass_through_case_and_subqueries() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Database::open(dir.path(), crate::Config::default()).unwrap();
        let session = db.session();
        session.use_postgres_column_names();
        for sql in [
            "SELECT (SELECT json_build_object('a', 1)) AS j",
            "SELECT CASE WHEN random() > 2 THEN (SELECT json_build_object('a', 1)) ELSE NULL END AS j",
        ] {
            let statement = session.parse(sql).unwrap();
            let plan = session.plan(statement).await.unwrap();
            let field = plan.schema().field(0);
            assert_eq!(
                field.metadata().get(super::PG_TYPE_KEY).map(String::as_str),
                Some("json"),
                "{sql}: {plan}"
            );
        }
    }
}
