//! Shared argument handling: type coercion with errors that name the function and its
//! choices, constant trailing parameters, treatment flags and struct results.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::compute::kernels::cmp::neq;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

/// Which difference a test looks for; "greater" means treatment > control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    TwoSided,
    Less,
    Greater,
}

impl Alternative {
    pub fn parse(function: &str, value: &ScalarValue) -> Result<Self> {
        match string_of(value).as_deref() {
            Some("two-sided") | Some("two_sided") => Ok(Alternative::TwoSided),
            Some("less") => Ok(Alternative::Less),
            Some("greater") => Ok(Alternative::Greater),
            other => {
                plan_err!(
                "{function}: unknown alternative {}; valid choices: 'two-sided', 'less', 'greater'",
                other.map(|s| format!("'{s}'")).unwrap_or_else(|| value.to_string())
            )
            }
        }
    }
}

/// A constant as users wrote it: strings quoted, anything else as displayed.
pub fn shown(value: &ScalarValue) -> String {
    match string_of(value) {
        Some(s) => format!("'{s}'"),
        None => value.to_string(),
    }
}

pub fn string_of(value: &ScalarValue) -> Option<String> {
    value.try_as_str().flatten().map(str::to_string)
}

pub fn f64_of(function: &str, what: &str, value: &ScalarValue) -> Result<f64> {
    match value.cast_to(&DataType::Float64) {
        Ok(ScalarValue::Float64(Some(v))) => Ok(v),
        _ => plan_err!("{function}: {what} must be a number, got {value}"),
    }
}

pub fn bool_of(function: &str, what: &str, value: &ScalarValue) -> Result<bool> {
    match value {
        ScalarValue::Boolean(Some(b)) => Ok(*b),
        _ => plan_err!("{function}: {what} must be true or false, got {value}"),
    }
}

pub fn confidence(function: &str, value: &ScalarValue) -> Result<f64> {
    let c = f64_of(function, "confidence_level", value)?;
    if c > 0.0 && c < 1.0 {
        Ok(c)
    } else {
        plan_err!("{function}: confidence_level must be between 0 and 1 (exclusive), got {c}")
    }
}

/// The kind of a constant trailing parameter, for coercion.
#[derive(Debug, Clone, Copy)]
pub enum Param {
    Text,
    Number,
    Flag,
}

fn numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Null)
}

/// Coerces `(value…, is_treatment, params…)`: `values` leading numeric columns, then the
/// arm flag, then up to `params.len()` constants.
pub fn coerce_two_sample(
    function: &str,
    types: &[DataType],
    values: usize,
    params: &[Param],
) -> Result<Vec<DataType>> {
    let min = values + 1;
    if types.len() < min || types.len() > min + params.len() {
        return plan_err!(
            "{function} takes {min} to {} arguments, got {}",
            min + params.len(),
            types.len()
        );
    }
    let mut out = Vec::with_capacity(types.len());
    for (i, t) in types.iter().enumerate() {
        if i < values {
            if !numeric(t) {
                return plan_err!("{function}: argument {} must be numeric, got {t}", i + 1);
            }
            out.push(DataType::Float64);
        } else if i == values {
            out.push(arm_type(function, t)?);
        } else {
            out.push(param_type(function, i, t, params[i - min])?);
        }
    }
    Ok(out)
}

/// BOOLEAN stays BOOLEAN; integers (0 = control, anything else = treatment) become BIGINT.
pub fn arm_type(function: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
        t if t.is_integer() => Ok(DataType::Int64),
        t => plan_err!(
            "{function}: is_treatment must be BOOLEAN or an integer (0 = control, other = treatment), got {t}"
        ),
    }
}

pub fn param_type(function: &str, index: usize, t: &DataType, kind: Param) -> Result<DataType> {
    match kind {
        Param::Text
            if matches!(
                t,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
            ) =>
        {
            Ok(DataType::Utf8)
        }
        Param::Number if numeric(t) => Ok(DataType::Float64),
        Param::Flag if matches!(t, DataType::Boolean | DataType::Null) => Ok(DataType::Boolean),
        _ => {
            let expected = match kind {
                Param::Text => "a string such as 'two-sided'",
                Param::Number => "a number",
                Param::Flag => "true or false",
            };
            plan_err!(
                "{function}: argument {} must be {expected}, got {t}",
                index + 1
            )
        }
    }
}

/// The constant values of `exprs[first..]` at execution; non-constants are refused.
pub fn physical_params(
    function: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    first: usize,
) -> Result<Vec<ScalarValue>> {
    exprs
        .iter()
        .enumerate()
        .skip(first)
        .map(|(i, e)| match e.downcast_ref::<Literal>() {
            Some(l) => Ok(l.value().clone()),
            None => plan_err!("{function}: argument {} must be a constant", i + 1),
        })
        .collect()
}

/// The same at planning, so that a bad constant fails before any data is read.
pub fn logical_params(function: &str, args: &[Expr], first: usize) -> Result<Vec<ScalarValue>> {
    args.iter()
        .enumerate()
        .skip(first)
        .map(|(i, e)| {
            constant(e).map_or_else(
                || plan_err!("{function}: argument {} must be a constant", i + 1),
                Ok,
            )
        })
        .collect()
}

fn constant(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => constant(&c.expr).and_then(|v| v.cast_to(c.field.data_type()).ok()),
        Expr::TryCast(c) => constant(&c.expr).and_then(|v| v.cast_to(c.field.data_type()).ok()),
        _ => None,
    }
}

/// Treatment flags of a coerced arm column; NULL stays NULL (the row is skipped).
pub fn arms(array: &ArrayRef) -> Result<BooleanArray> {
    match array.data_type() {
        DataType::Boolean => Ok(array
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("boolean array")
            .clone()),
        DataType::Int64 => Ok(neq(array, &Int64Array::new_scalar(0))?),
        DataType::Null => Ok(BooleanArray::new_null(array.len())),
        t => datafusion::common::exec_err!("unexpected arm type {t}"),
    }
}

/// A struct type from `(name, type)` pairs; every field nullable.
pub fn struct_type(fields: &[(&str, DataType)]) -> DataType {
    DataType::Struct(Fields::from(
        fields
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

pub fn struct_value(data_type: &DataType, values: Vec<ScalarValue>) -> Result<ScalarValue> {
    let DataType::Struct(fields) = data_type else {
        return datafusion::common::exec_err!("not a struct type: {data_type}");
    };
    let mut builder = ScalarStructBuilder::new();
    for (field, value) in fields.iter().zip(values) {
        builder = builder.with_scalar(field.as_ref().clone(), value);
    }
    builder.build()
}

pub fn f64_array(array: &ArrayRef) -> &datafusion::arrow::array::Float64Array {
    array
        .as_any()
        .downcast_ref()
        .expect("coerce_types made this column DOUBLE")
}

/// A struct column from its field columns; rows in `nulls` (true = NULL) are NULL structs.
pub fn struct_array(
    data_type: &DataType,
    columns: Vec<ArrayRef>,
    nulls: Option<Vec<bool>>,
) -> Result<ArrayRef> {
    let DataType::Struct(fields) = data_type else {
        return datafusion::common::exec_err!("not a struct type: {data_type}");
    };
    let nulls = nulls.map(|n| {
        datafusion::arrow::buffer::NullBuffer::from(
            n.into_iter().map(|null| !null).collect::<Vec<_>>(),
        )
    });
    Ok(Arc::new(datafusion::arrow::array::StructArray::try_new(
        fields.clone(),
        columns,
        nulls,
    )?))
}

/// Scalar-function arguments as DOUBLE arrays of one length (constants broadcast).
pub fn f64_columns(
    args: &[datafusion::logical_expr::ColumnarValue],
    rows: usize,
) -> Result<Vec<datafusion::arrow::array::Float64Array>> {
    args.iter()
        .map(|a| {
            let array = a.clone().into_array(rows)?;
            let array = datafusion::arrow::compute::cast(&array, &DataType::Float64)?;
            Ok(array
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .expect("cast to DOUBLE")
                .clone())
        })
        .collect()
}

/// A value of row `i`, or None when NULL.
pub fn at(a: &datafusion::arrow::array::Float64Array, i: usize) -> Option<f64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The constant at argument `index` of a scalar call, when it is one.
pub fn scalar_arg(
    args: &[datafusion::logical_expr::ColumnarValue],
    index: usize,
) -> Option<ScalarValue> {
    match args.get(index) {
        Some(datafusion::logical_expr::ColumnarValue::Scalar(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Every argument numeric, coerced to DOUBLE, with `min..=max` of them.
pub fn coerce_all_numeric(
    function: &str,
    types: &[DataType],
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    if types.len() < min || types.len() > max {
        return plan_err!(
            "{function} takes {min} to {max} arguments, got {}",
            types.len()
        );
    }
    types
        .iter()
        .map(|t| {
            if numeric(t) {
                Ok(DataType::Float64)
            } else {
                plan_err!("{function}: arguments must be numeric, got {t}")
            }
        })
        .collect()
}
