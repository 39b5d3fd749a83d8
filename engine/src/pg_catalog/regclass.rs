//! `expr::regclass` for a computed name (Metabase: `format('%I.%I', schema, table)::regclass`).
//! datafusion-pg-catalog resolves literal names only; a computed one was cast to int4 and
//! failed. The name is looked up in one uncorrelated list of `oid:schema.relation` entries,
//! which DataFusion plans anywhere, unlike a correlated subquery on pg_class.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int32Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::{DataType as SqlType, Expr};

/// The replacement for a regclass cast of a non-literal `expr`; `default_schema` resolves
/// unqualified names (after pg_catalog, as on PostgreSQL's search path).
pub(super) fn dynamic_cast(expr: &Expr, default_schema: &str) -> Option<String> {
    let Expr::Cast {
        expr: operand,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    let is_regclass = is_reg_type(data_type, "regclass");
    // Only operands that are text by construction: a column or a literal is most often an
    // oid, which datafusion-pg-catalog casts itself.
    if !is_regclass || !computes_text(operand) {
        return None;
    }
    Some(format!(
        "pg_regclass_lookup(CAST(({operand}) AS TEXT), {RELATIONS}, '{}')",
        default_schema.replace('\'', "''")
    ))
}

/// Every relation as one uncorrelated list of `oid:schema.relation` entries.
pub(super) const RELATIONS: &str =
    "(SELECT array_agg(CAST(c.oid AS TEXT) || ':' || n.nspname || '.' || c.relname) \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid)";

/// Every schema as one uncorrelated list of `oid:schema` entries.
pub(super) const NAMESPACES: &str =
    "(SELECT array_agg(CAST(n.oid AS TEXT) || ':' || n.nspname) FROM pg_catalog.pg_namespace n)";

/// Whether `data_type` names the reg type `kind` (`regclass`, `regnamespace`).
pub(super) fn is_reg_type(data_type: &SqlType, kind: &str) -> bool {
    match data_type {
        SqlType::Regclass => kind == "regclass",
        SqlType::Custom(name, _) => name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.value.eq_ignore_ascii_case(kind)),
        _ => false,
    }
}

pub(super) fn computes_text(expr: &Expr) -> bool {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    match expr {
        Expr::Nested(inner) => computes_text(inner),
        Expr::Function(_) => true,
        Expr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        } => true,
        Expr::Cast { data_type, .. } => matches!(
            data_type,
            SqlType::Text | SqlType::Varchar(_) | SqlType::CharacterVarying(_)
        ),
        _ => false,
    }
}

/// A relation name as PostgreSQL reads it: parts split on dots, unquoted parts lowercased.
pub(super) fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}

/// The `oid:name` entries of a catalog list ([`RELATIONS`], [`NAMESPACES`]) as pairs; a NULL
/// list has none.
pub(super) fn catalog_entries(
    list: &ColumnarValue,
    function: &str,
) -> Result<Vec<(String, String)>> {
    let entries = list.to_array(1)?;
    let Some(list) = entries.as_list_opt::<i32>() else {
        if entries.data_type() == &DataType::Null || entries.is_null(0) {
            return Ok(Vec::new());
        }
        return exec_err!("{function} expects a list of catalog entries");
    };
    if list.is_null(0) {
        return Ok(Vec::new());
    }
    let values = datafusion::arrow::compute::cast(&list.value(0), &DataType::Utf8)?;
    Ok(values
        .as_string::<i32>()
        .iter()
        .flatten()
        .filter_map(|entry| entry.split_once(':'))
        .map(|(oid, name)| (oid.to_string(), name.to_string()))
        .collect())
}

/// `pg_regclass_lookup(name, entries, default_schema)`: the oid of relation `name`, or
/// NULL when there is none (PostgreSQL raises 42P01; a NULL keeps catalog queries that
/// probe many names answering).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegclassLookup {
    signature: Signature,
}

impl RegclassLookup {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(3, Volatility::Stable),
        })
    }
}

impl ScalarUDFImpl for RegclassLookup {
    udf_head!("pg_regclass_lookup", Int32);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let names = super::functions::to_strings(&args.args[0], rows)?;
        let defaults = super::functions::to_strings(&args.args[2], 1)?;
        let default_schema = defaults.first().cloned().flatten().unwrap_or_default();
        let mut oids: HashMap<(String, String), i32> = HashMap::new();
        for (oid, qualified) in catalog_entries(&args.args[1], self.name())? {
            let Some((schema, relation)) = qualified.split_once('.') else {
                continue;
            };
            if let Ok(oid) = oid.parse() {
                oids.insert((schema.to_string(), relation.to_string()), oid);
            }
        }
        let mut out = Int32Builder::with_capacity(rows);
        for name in &names {
            let oid = name.as_deref().and_then(|n| {
                let find = |s: &str, r: &str| oids.get(&(s.to_string(), r.to_string())).copied();
                match name_parts(n).as_slice() {
                    [relation] => {
                        find("pg_catalog", relation).or_else(|| find(&default_schema, relation))
                    }
                    [schema, relation] | [_, schema, relation] => find(schema, relation),
                    _ => None,
                }
            });
            out.append_option(oid);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_fold_as_in_postgres() {
        assert_eq!(name_parts("Public.Orders"), ["public", "orders"]);
        assert_eq!(name_parts("\"My\"\"S\".t"), ["My\"S", "t"]);
        assert_eq!(name_parts("orders"), ["orders"]);
    }
}
