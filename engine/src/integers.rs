//! PostgreSQL's integer semantics: `42` is an `integer` (int4), and integer arithmetic that
//! overflows is an error (22003), never a wrapped value.
//!
//! DataFusion types every integer literal as Int64 and wraps on overflow; both differ from
//! PostgreSQL in ways drivers see (node-pg returns int8 as a string, so `SELECT 1 + 1` came
//! back as "2"). DataFusion has the checked kernels (`BinaryExpr::with_fail_on_overflow`)
//! but no setting that turns them on, hence the physical rule here.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{BinaryExpr, Case, Expr, LogicalPlan, Operator, Union};
use datafusion::physical_expr::expressions::BinaryExpr as PhysicalBinary;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// Retypes integer literals in the select lists of `plan` as int4 when they fit, as
/// PostgreSQL types them. Only literals whose value is the result, or an operand of
/// arithmetic that is, change: function and aggregate arguments, filters, LIMIT and VALUES
/// keep Int64, so nothing but the result type moves. Constant arithmetic that would
/// overflow int4 keeps int8 operands and answers as int8 (PostgreSQL raises 22003 there).
pub(crate) fn int4_literals(plan: LogicalPlan) -> Result<LogicalPlan> {
    // Bottom-up: once a projection changed, the nodes above it are rebuilt with its types.
    let mut changed = false;
    plan.transform_up_with_subqueries(|node| {
        match node {
            LogicalPlan::Projection(_) => {}
            other if !changed => return Ok(Transformed::no(other)),
            // A union keeps the types it was built with unless it is built again.
            LogicalPlan::Union(union) => {
                let rebuilt = Union::try_new_with_loose_types(union.inputs)?;
                return Ok(Transformed::yes(LogicalPlan::Union(rebuilt)));
            }
            other => return other.recompute_schema().map(Transformed::yes),
        }
        let names = NamePreserver::new(&node);
        let node = node.map_expressions(|e| {
            let saved = names.save(&e);
            let (e, changed) = result_position(e);
            Ok(if changed {
                Transformed::yes(saved.restore(e))
            } else {
                Transformed::no(e)
            })
        })?;
        if node.transformed {
            changed = true;
            node.map_data(|p| p.recompute_schema())
        } else if changed {
            node.map_data(|p| p.recompute_schema())
        } else {
            Ok(node)
        }
    })
    .map(|t| t.data)
}

/// Result columns of unsigned 64-bit type (`row_number()`, `rank()`) as int8: PostgreSQL
/// has no unsigned types, and arrow-pg would describe them as numeric. A value beyond
/// int8's range fails the cast rather than wrap.
pub(crate) fn signed_results(plan: LogicalPlan) -> Result<LogicalPlan> {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{cast, LogicalPlanBuilder};
    let unsigned = plan
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type() == &DataType::UInt64);
    let statement = matches!(
        plan,
        LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::DescribeTable(_)
            | LogicalPlan::Extension(_)
    );
    if !unsigned || statement {
        return Ok(plan);
    }
    let exprs: Vec<Expr> = plan
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(datafusion::common::Column::new(
                qualifier.cloned(),
                field.name(),
            ));
            if field.data_type() == &DataType::UInt64 {
                cast(column, DataType::Int64).alias_qualified(qualifier.cloned(), field.name())
            } else {
                column
            }
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

/// `e` with its result-position integer literals as Int32, and whether any changed.
fn result_position(e: Expr) -> (Expr, bool) {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta) => match i32::try_from(v) {
            Ok(v) => (Expr::Literal(ScalarValue::Int32(Some(v)), meta), true),
            Err(_) => (Expr::Literal(ScalarValue::Int64(Some(v)), meta), false),
        },
        Expr::Alias(mut alias) => {
            let (inner, changed) = result_position(*alias.expr);
            alias.expr = Box::new(inner);
            (Expr::Alias(alias), changed)
        }
        Expr::Negative(inner) => {
            let (inner, changed) = result_position(*inner);
            (Expr::Negative(Box::new(inner)), changed)
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if is_arithmetic(op) => {
            let (l, lc) = result_position(*left.clone());
            let (r, rc) = result_position(*right.clone());
            if constant_overflows(&l, op, &r) {
                return (Expr::BinaryExpr(BinaryExpr { left, op, right }), false);
            }
            (
                Expr::BinaryExpr(BinaryExpr::new(Box::new(l), op, Box::new(r))),
                lc || rc,
            )
        }
        Expr::Case(case) => {
            let mut changed = false;
            let mut branch = |e: Box<Expr>| {
                let (e, c) = result_position(*e);
                changed |= c;
                Box::new(e)
            };
            let when_then_expr = case
                .when_then_expr
                .into_iter()
                .map(|(when, then)| (when, branch(then)))
                .collect();
            let else_expr = case.else_expr.map(&mut branch);
            let case = Case::new(case.expr, when_then_expr, else_expr);
            (Expr::Case(case), changed)
        }
        other => (other, false),
    }
}

fn is_arithmetic(op: Operator) -> bool {
    matches!(
        op,
        Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide | Operator::Modulo
    )
}

/// Whether `l op r` are two int4 literals whose result does not fit int4.
fn constant_overflows(l: &Expr, op: Operator, r: &Expr) -> bool {
    let value = |e: &Expr| match e {
        Expr::Literal(ScalarValue::Int32(Some(v)), _) => Some(*v),
        _ => None,
    };
    let (Some(a), Some(b)) = (value(l), value(r)) else {
        return false;
    };
    match op {
        Operator::Plus => a.checked_add(b).is_none(),
        Operator::Minus => a.checked_sub(b).is_none(),
        Operator::Multiply => a.checked_mul(b).is_none(),
        // i32::MIN / -1 overflows; division by zero stays the 22012 it is.
        Operator::Divide | Operator::Modulo => b == -1 && a == i32::MIN,
        _ => false,
    }
}

/// Integer `+ - *` in projections and filters fail on overflow instead of wrapping.
#[derive(Debug, Default)]
pub(crate) struct CheckedIntegerArithmetic;

impl PhysicalOptimizerRule for CheckedIntegerArithmetic {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| crate::row_exprs::in_projections_and_filters(node, &checked))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "checked_integer_arithmetic"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `e` (over rows of `input`) with every integer `+ - *` checked for overflow.
fn checked(
    e: Arc<dyn PhysicalExpr>,
    input: &datafusion::arrow::datatypes::Schema,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    e.transform_up(|node| {
        let Some(binary) = node.downcast_ref::<PhysicalBinary>() else {
            return Ok(Transformed::no(node));
        };
        if !matches!(
            binary.op(),
            Operator::Plus | Operator::Minus | Operator::Multiply
        ) {
            return Ok(Transformed::no(node));
        }
        // Both sides have one type after coercion; date and interval arithmetic is not
        // integer arithmetic.
        let integer = binary
            .left()
            .return_field(input)
            .map(|f| f.data_type().is_integer())
            .unwrap_or(false);
        if !integer {
            return Ok(Transformed::no(node));
        }
        let rebuilt =
            PhysicalBinary::new(binary.left().clone(), *binary.op(), binary.right().clone())
                .with_fail_on_overflow(true);
        Ok(Transformed::new(
            Arc::new(rebuilt) as Arc<dyn PhysicalExpr>,
            true,
            TreeNodeRecursion::Continue,
        ))
    })
}

/// Constant integer `+ - *` folded with overflow checks, before DataFusion's simplifier
/// folds it with wrapping arithmetic: `$1::int * 100000` with `$1 = 100000` is 22003, as in
/// PostgreSQL, not -727379968. Runs first among the optimizer rules.
#[derive(Debug, Default)]
pub(crate) struct CheckedConstants;

impl datafusion::optimizer::OptimizerRule for CheckedConstants {
    fn name(&self) -> &str {
        "checked_integer_constants"
    }

    fn apply_order(&self) -> Option<datafusion::optimizer::ApplyOrder> {
        Some(datafusion::optimizer::ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn datafusion::optimizer::OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|e| {
            let saved = names.save(&e);
            let folded = e.transform_up(fold_checked)?;
            Ok(if folded.transformed {
                Transformed::yes(saved.restore(folded.data))
            } else {
                folded
            })
        })
    }
}

/// The integer constant `e` stands for: a literal, or a cast of one.
fn integer_constant(e: &Expr) -> Option<ScalarValue> {
    let value = match e {
        Expr::Literal(v, _) => v.clone(),
        Expr::Cast(cast) => match cast.expr.as_ref() {
            Expr::Literal(v, _) => v.cast_to(cast.field.data_type()).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    (value.data_type().is_integer() && !value.is_null()).then_some(value)
}

fn fold_checked(e: Expr) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else {
        return Ok(Transformed::no(e));
    };
    let (Some(a), Some(b)) = (integer_constant(left), integer_constant(right)) else {
        return Ok(Transformed::no(e));
    };
    if a.data_type() != b.data_type() {
        return Ok(Transformed::no(e));
    }
    let result = match op {
        Operator::Plus => a.add_checked(&b),
        Operator::Minus => a.sub_checked(&b),
        Operator::Multiply => a.mul_checked(&b),
        _ => return Ok(Transformed::no(e)),
    };
    match result {
        Ok(value) => Ok(Transformed::yes(Expr::Literal(value, None))),
        Err(_) => Err(datafusion::error::DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::ArithmeticOverflow(
                format!("Overflow happened on: {a} {op} {b}"),
            )),
            None,
        )),
    }
}
