//! information_schema.columns as PostgreSQL shows it: DataFusion's view names Arrow types
//! (`Int64`, `Decimal128(12, 2)`) and lacks `udt_name`, `is_identity` and the other columns
//! Metabase, Grafana and SQLAlchemy read. The view is wrapped in one that keeps DataFusion's
//! rows and adds PostgreSQL's columns and type names; ordinal positions count from 1 there
//! (DataFusion's from 0).

use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::{Ident, Statement, TableFactor, VisitMut, VisitorMut};

/// PostgreSQL 15's information_schema.columns over DataFusion's, in PostgreSQL's order.
const DEFINITION: &str = "SELECT table_catalog, table_schema, table_name, column_name, \
    CAST(ordinal_position + 1 AS INT) AS ordinal_position, column_default, is_nullable, \
    pg_column_type(data_type, 'sql') AS data_type, \
    character_maximum_length, character_octet_length, numeric_precision, \
    numeric_precision_radix, numeric_scale, datetime_precision, interval_type, \
    CAST(NULL AS INT) AS interval_precision, CAST(NULL AS TEXT) AS character_set_catalog, \
    CAST(NULL AS TEXT) AS character_set_schema, CAST(NULL AS TEXT) AS character_set_name, \
    CAST(NULL AS TEXT) AS collation_catalog, CAST(NULL AS TEXT) AS collation_schema, \
    CAST(NULL AS TEXT) AS collation_name, CAST(NULL AS TEXT) AS domain_catalog, \
    CAST(NULL AS TEXT) AS domain_schema, CAST(NULL AS TEXT) AS domain_name, \
    table_catalog AS udt_catalog, 'pg_catalog' AS udt_schema, \
    pg_column_type(data_type, 'udt') AS udt_name, CAST(NULL AS TEXT) AS scope_catalog, \
    CAST(NULL AS TEXT) AS scope_schema, CAST(NULL AS TEXT) AS scope_name, \
    CAST(NULL AS INT) AS maximum_cardinality, CAST(ordinal_position + 1 AS TEXT) AS dtd_identifier, \
    'NO' AS is_self_referencing, 'NO' AS is_identity, \
    CAST(NULL AS TEXT) AS identity_generation, CAST(NULL AS TEXT) AS identity_start, \
    CAST(NULL AS TEXT) AS identity_increment, CAST(NULL AS TEXT) AS identity_maximum, \
    CAST(NULL AS TEXT) AS identity_minimum, CAST(NULL AS TEXT) AS identity_cycle, \
    'NEVER' AS is_generated, CAST(NULL AS TEXT) AS generation_expression, \
    'YES' AS is_updatable \
    FROM information_schema.columns";

/// Replaces `information_schema.columns` in `statement` with PostgreSQL's shape.
pub(super) fn rewrite(statement: &mut Statement) {
    let _ = statement.visit(&mut Columns);
}

struct Columns;

impl VisitorMut for Columns {
    type Break = ();

    // After the children: the definition reads DataFusion's view under the same name and
    // must not be replaced again.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if super::ast::information_schema_relation(factor).as_deref() == Some("columns") {
            if let Some(query) = super::ast::parse_select_query(DEFINITION) {
                let name = Ident::with_quote('"', "columns");
                super::ast::replace_with_derived(factor, query, name);
            }
        }
        ControlFlow::Continue(())
    }
}

/// PostgreSQL's type name for an Arrow type as the wire reports it (arrow-pg's mapping):
/// `udt` is the pg_type name (`int8`, `_text`), the other the SQL name (`bigint`, `ARRAY`).
pub(crate) fn pg_type_names(t: &DataType) -> (&'static str, &'static str) {
    match t {
        DataType::Boolean => ("bool", "boolean"),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => ("int2", "smallint"),
        DataType::Int32 | DataType::UInt16 => ("int4", "integer"),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => ("int8", "bigint"),
        DataType::Float16 | DataType::Float32 => ("float4", "real"),
        DataType::Float64 => ("float8", "double precision"),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => ("numeric", "numeric"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ("text", "text"),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => ("bytea", "bytea"),
        DataType::Date32 | DataType::Date64 => ("date", "date"),
        DataType::Time32(_) | DataType::Time64(_) => ("time", "time without time zone"),
        DataType::Timestamp(_, None) => ("timestamp", "timestamp without time zone"),
        DataType::Timestamp(_, Some(_)) => ("timestamptz", "timestamp with time zone"),
        DataType::Interval(_) | DataType::Duration(_) => ("interval", "interval"),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => (array_udt(f.data_type()), "ARRAY"),
        DataType::Dictionary(_, value) => pg_type_names(value),
        DataType::Struct(_) => ("record", "USER-DEFINED"),
        _ => ("text", "text"),
    }
}

fn array_udt(element: &DataType) -> &'static str {
    match pg_type_names(element).0 {
        "bool" => "_bool",
        "int2" => "_int2",
        "int4" => "_int4",
        "int8" => "_int8",
        "float4" => "_float4",
        "float8" => "_float8",
        "numeric" => "_numeric",
        "bytea" => "_bytea",
        "date" => "_date",
        "time" => "_time",
        "timestamp" => "_timestamp",
        "timestamptz" => "_timestamptz",
        "interval" => "_interval",
        _ => "_text",
    }
}

/// `pg_column_type(arrow_type_text, 'udt' | 'sql')`, over the `data_type` text of
/// DataFusion's information_schema.columns.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgColumnType {
    signature: Signature,
}

impl PgColumnType {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        })
    }
}

impl ScalarUDFImpl for PgColumnType {
    fn name(&self) -> &str {
        "pg_column_type"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let types = super::functions::to_strings(&args.args[0], rows)?;
        let which = super::functions::to_strings(&args.args[1], rows)?;
        let mut out = StringBuilder::new();
        for (t, which) in types.iter().zip(&which) {
            let Some(t) = t else {
                out.append_null();
                continue;
            };
            let (udt, sql) = DataType::from_str(t)
                .map(|t| pg_type_names(&t))
                .unwrap_or(("text", "text"));
            out.append_value(if which.as_deref() == Some("udt") {
                udt
            } else {
                sql
            });
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, TimeUnit};

    #[test]
    fn arrow_types_get_postgres_names() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        assert_eq!(pg_type_names(&list), ("_text", "ARRAY"));
        assert_eq!(pg_type_names(&DataType::Int64), ("int8", "bigint"));
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(
            pg_type_names(&tz),
            ("timestamptz", "timestamp with time zone")
        );
        // The text DataFusion's information_schema holds parses back.
        let decimal = DataType::from_str(&DataType::Decimal128(12, 2).to_string()).unwrap();
        assert_eq!(pg_type_names(&decimal).1, "numeric");
    }
}
