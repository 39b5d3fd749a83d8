//! Parameter types from explicit casts (`$1::int`, `CAST($2 AS timestamptz)`): DataFusion
//! infers a placeholder's type from a column it meets, not from a cast around it, and
//! drivers that send no types (asyncpg, node-pg) need PostgreSQL's answer to Describe.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use datafusion::common::metadata::ScalarAndMetadata;
use datafusion::common::ScalarValue;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, DataType as SqlType, ExactNumberInfo, Expr,
    TimezoneInfo, Value,
};

use crate::{Error, Result};

/// The Arrow type a PostgreSQL type name stands for, as the engine stores it.
fn arrow_type(t: &SqlType) -> Option<DataType> {
    use SqlType as S;
    Some(match t {
        S::SmallInt(_) | S::Int2(_) => DataType::Int16,
        S::Int(_) | S::Integer(_) | S::Int4(_) => DataType::Int32,
        S::BigInt(_) | S::Int8(_) => DataType::Int64,
        S::Real | S::Float4 => DataType::Float32,
        S::Double(_) | S::DoublePrecision | S::Float8 | S::Float(_) => DataType::Float64,
        S::Boolean | S::Bool => DataType::Boolean,
        S::Text
        | S::Varchar(_)
        | S::CharacterVarying(_)
        | S::Char(_)
        | S::Character(_)
        | S::String(_) => DataType::Utf8,
        S::Date => DataType::Date32,
        S::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("+00:00")))
        }
        S::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, None),
        S::Interval { .. } => DataType::Interval(IntervalUnit::MonthDayNano),
        S::Bytea => DataType::Binary,
        S::Numeric(info) | S::Decimal(info) | S::Dec(info) => match info {
            ExactNumberInfo::PrecisionAndScale(p, s) => {
                DataType::Decimal128((*p).min(38) as u8, *s as i8)
            }
            ExactNumberInfo::Precision(p) => DataType::Decimal128((*p).min(38) as u8, 0),
            ExactNumberInfo::None => DataType::Decimal128(38, 10),
        },
        S::Custom(name, _) => {
            match name
                .to_string()
                .to_ascii_lowercase()
                .trim_start_matches("pg_catalog.")
            {
                "timestamptz" => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("+00:00")))
                }
                "oid" | "regclass" | "regtype" | "regproc" => DataType::Int32,
                "name" => DataType::Utf8,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `$n` → the type of the cast around it, where there is one.
pub(crate) fn cast_parameter_types(statement: &DFStatement) -> HashMap<usize, DataType> {
    let mut types = HashMap::new();
    let DFStatement::Statement(ast) = statement else {
        return types;
    };
    let _ = visit_expressions(ast.as_ref(), |expr| {
        if let Expr::Cast {
            expr, data_type, ..
        } = expr
        {
            if let Expr::Value(v) = expr.as_ref() {
                if let Value::Placeholder(p) = &v.value {
                    if let (Ok(n), Some(t)) = (
                        p.trim_start_matches('$').parse::<usize>(),
                        arrow_type(data_type),
                    ) {
                        types.entry(n).or_insert(t);
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    types
}

fn placeholder(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.trim_start_matches('$').parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The highest `$n` in a statement.
pub(crate) fn placeholder_count(statement: &DFStatement) -> usize {
    let DFStatement::Statement(ast) = statement else {
        return 0;
    };
    let mut count = 0;
    let _ = visit_expressions(ast.as_ref(), |expr| {
        if let Some(n) = placeholder(expr) {
            count = count.max(n);
        }
        ControlFlow::<()>::Continue(())
    });
    count
}

/// A value as an SQL literal: numbers and booleans bare, everything else as quoted text
/// that the statement casts to its column's type, as PostgreSQL reads untyped literals.
fn literal(value: &ScalarValue) -> Result<String> {
    if value.is_null() {
        return Ok("NULL".into());
    }
    let text = value
        .cast_to(&DataType::Utf8)
        .map_err(|e| Error::InvalidOption(format!("parameter value {value}: {e}")))?
        .to_string();
    let dt = value.data_type();
    Ok(if dt.is_numeric() || dt == DataType::Boolean {
        text
    } else {
        format!("'{}'", text.replace('\'', "''"))
    })
}

/// The statement's text with each `$n` replaced by the literal of `values[n - 1]`.
pub(crate) fn bind_literals(
    statement: &DFStatement,
    values: &[ScalarAndMetadata],
) -> Result<String> {
    let DFStatement::Statement(ast) = statement else {
        return Err(Error::Unsupported("parameters in this statement".into()));
    };
    let mut ast = ast.as_ref().clone();
    let mut failure = None;
    let _ = visit_expressions_mut(&mut ast, |expr| {
        if let Some(n) = placeholder(expr) {
            match values.get(n.wrapping_sub(1)) {
                Some(bound) => match literal(&bound.value) {
                    Ok(text) => *expr = Expr::Value(Value::Placeholder(text).into()),
                    Err(e) => failure = Some(e),
                },
                None => {
                    failure = Some(Error::InvalidOption(format!(
                        "no value was bound for parameter ${n}"
                    )))
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(ast.to_string()),
    }
}
