//! Result columns PostgreSQL types as regclass, regnamespace, int2vector or oidvector
//! (psql's `\d` runs `SELECT c.oid::pg_catalog.regclass …`): their text is a name or a
//! space-separated list, and the column carries that type for the wire front end.
//!
//! Catalog oids are Int32 here and datafusion-pg-catalog casts `x::regclass` to one, so
//! `c.oid::regclass::text` printed a number. A reg cast in the select list becomes the
//! relation's (or schema's) name, marked with the type through [`PG_TYPE_KEY`]; one under a
//! cast to text becomes the bare name. Elsewhere (filters, joins) the cast stays an oid.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType as SqlType, Expr, SelectItem, SetExpr, Statement,
};

use super::functions::{to_strings, PG_TYPE_KEY};
use super::regclass::{catalog_entries, computes_text, is_reg_type, NAMESPACES, RELATIONS};

/// Catalog columns PostgreSQL types int2vector / oidvector (the snapshot keeps their text).
const INT2VECTOR_COLUMNS: &[&str] = &["indkey", "indoption", "stxkeys", "tgattr"];
const OIDVECTOR_COLUMNS: &[&str] = &["indclass", "indcollation", "proargtypes"];

/// Applies both rewrites; `default_schema` is the visible schema besides pg_catalog.
pub(super) fn rewrite(statement: &mut Statement, default_schema: &str) {
    let schema = default_schema.replace('\'', "''");
    if let Statement::Query(query) = statement {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in select.projection.iter_mut() {
                let expr = match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                    _ => continue,
                };
                if let Some(new) = typed_output(expr, &schema) {
                    *expr = new;
                }
            }
        }
    }
    let _ = visit_expressions_mut(statement, |expr| {
        if let Some(new) = name_text(expr, &schema) {
            *expr = new;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// The operand of `x::kind` when `x` is an oid-valued expression (a literal or a text
/// expression is a name, which the other regclass rewrites resolve).
fn reg_operand<'a>(expr: &'a Expr, kind: &str) -> Option<&'a Expr> {
    let Expr::Cast {
        expr: operand,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    let oid_valued = !matches!(operand.as_ref(), Expr::Value(_)) && !computes_text(operand);
    (is_reg_type(data_type, kind) && oid_valued).then_some(operand.as_ref())
}

fn call(function: &str, operand: &Expr, kind: &str, schema: &str) -> Option<Expr> {
    let text = match kind {
        "regclass" => format!("{function}(({operand}), {RELATIONS}, '{schema}')"),
        _ => format!("{function}(({operand}), {NAMESPACES}, '{schema}')"),
    };
    super::rules::parse_expr(&text)
}

/// A select-list item typed regclass, regnamespace, int2vector or oidvector.
fn typed_output(expr: &Expr, schema: &str) -> Option<Expr> {
    for kind in ["regclass", "regnamespace"] {
        if let Some(operand) = reg_operand(expr, kind) {
            return call(&format!("pg_{kind}_out"), operand, kind, schema);
        }
    }
    if names_a_name(expr) {
        return super::rules::parse_expr(&format!("pg_name_out({expr})"));
    }
    let column = match expr {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) => parts.last()?,
        _ => return None,
    };
    let name = column.value.to_ascii_lowercase();
    if name == "stxstattarget" && column.quote_style.is_none() {
        // int4 in PostgreSQL 15 and 16; the snapshot comes from 17, where it is int2.
        return super::rules::parse_expr(&format!("CAST({expr} AS INTEGER)"));
    }
    let kind = if INT2VECTOR_COLUMNS.contains(&name.as_str()) {
        "int2vector"
    } else if OIDVECTOR_COLUMNS.contains(&name.as_str()) {
        "oidvector"
    } else {
        return None;
    };
    if column.quote_style.is_some() {
        return None;
    }
    super::rules::parse_expr(&format!("pg_vector_out({expr}, '{kind}')"))
}

/// Catalog columns and functions PostgreSQL types `name` (its identifiers' type).
const NAME_COLUMNS: &[&str] = &[
    "nspname", "relname", "attname", "typname", "conname", "amname", "opcname", "opfname",
    "polname", "pubname", "stxname", "rolname", "datname", "proname", "collname", "usename",
    "extname", "tgname", "lanname", "spcname", "evtname", "cfgname", "oprname",
];
const NAME_FUNCTIONS: &[&str] = &[
    "pg_get_userbyid",
    "current_schema",
    "current_database",
    "pg_encoding_to_char",
];

/// Whether `expr` is a catalog column or function whose PostgreSQL type is `name`.
fn names_a_name(expr: &Expr) -> bool {
    let last =
        match expr {
            Expr::Identifier(i) if i.quote_style.is_none() => i,
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(i) if i.quote_style.is_none() => i,
                _ => return false,
            },
            Expr::Function(f) => {
                return f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| {
                    NAME_FUNCTIONS.contains(&i.value.to_ascii_lowercase().as_str())
                })
            }
            _ => return false,
        };
    NAME_COLUMNS.contains(&last.value.to_ascii_lowercase().as_str())
}

/// `x::regclass::text` (or regnamespace): the bare name.
fn name_text(expr: &Expr, schema: &str) -> Option<Expr> {
    let Expr::Cast {
        expr: inner,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    let text = match data_type {
        SqlType::Text => true,
        SqlType::Custom(name, _) => name.to_string().eq_ignore_ascii_case("pg_catalog.text"),
        _ => false,
    };
    if !text {
        return None;
    }
    ["regclass", "regnamespace"].into_iter().find_map(|kind| {
        let operand = reg_operand(inner, kind)?;
        call(&format!("pg_{kind}_text"), operand, kind, schema)
    })
}

/// `pg_regclass_out(oid, relations, schema)` and its kin: the name PostgreSQL prints for
/// a regclass or regnamespace value, typed (`_out`) or plain text (`_text`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegName {
    name: &'static str,
    kind: &'static str,
    typed: bool,
    signature: Signature,
}

impl RegName {
    pub fn udfs() -> Vec<ScalarUDF> {
        [
            ("pg_regclass_out", "regclass", true),
            ("pg_regclass_text", "regclass", false),
            ("pg_regnamespace_out", "regnamespace", true),
            ("pg_regnamespace_text", "regnamespace", false),
        ]
        .into_iter()
        .map(|(name, kind, typed)| {
            ScalarUDF::from(Self {
                name,
                kind,
                typed,
                signature: Signature::any(3, Volatility::Stable),
            })
        })
        .collect()
    }
}

/// `name` as PostgreSQL's quote_ident prints it (keywords are not quoted here).
fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn typed_field(name: &str, kind: &str, typed: bool) -> FieldRef {
    let field = Field::new(name, DataType::Utf8, true);
    Arc::new(if typed {
        field.with_metadata(HashMap::from([(PG_TYPE_KEY.into(), kind.into())]))
    } else {
        field
    })
}

impl ScalarUDFImpl for RegName {
    udf_head!(self_name, Utf8);
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(typed_field(self.name, self.kind, self.typed))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let oids = to_strings(&args.args[0], rows)?;
        let schema = to_strings(&args.args[2], 1)?
            .pop()
            .flatten()
            .unwrap_or_default();
        let mut names: HashMap<String, String> = HashMap::new();
        for (oid, qualified) in catalog_entries(&args.args[1], self.name)? {
            let printed = match qualified.split_once('.') {
                // A relation on the search path prints unqualified, as in PostgreSQL.
                Some((s, relation)) if s == "pg_catalog" || s == schema => quote_ident(relation),
                Some((s, relation)) => format!("{}.{}", quote_ident(s), quote_ident(relation)),
                None => quote_ident(&qualified),
            };
            names.insert(oid, printed);
        }
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        for oid in &oids {
            // An oid naming nothing prints as the number, as PostgreSQL's regclassout does.
            out.append_option(oid.as_ref().map(|o| names.get(o).unwrap_or(o)));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `pg_name_out(text)`: the text, typed `name` for the wire front end.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NameOut {
    signature: Signature,
}

impl NameOut {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for NameOut {
    udf_head!("pg_name_out", Utf8);
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(typed_field(self.name(), "name", true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = args.args[0].to_array(args.number_rows)?;
        let text = datafusion::arrow::compute::cast(&value, &DataType::Utf8)?;
        Ok(ColumnarValue::Array(text))
    }
}

/// `pg_vector_out(list, kind)`: an int2vector / oidvector's text (`1 2`), typed `kind`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VectorOut {
    signature: Signature,
}

impl VectorOut {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(2, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for VectorOut {
    udf_head!("pg_vector_out", Utf8);
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let kind = match args.scalar_arguments.get(1) {
            Some(Some(datafusion::common::ScalarValue::Utf8(Some(k)))) => k.clone(),
            _ => return exec_err!("pg_vector_out expects the vector type name"),
        };
        Ok(typed_field(self.name(), &kind, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let lists = args.args[0].to_array(rows)?;
        let Some(lists) = lists.as_list_opt::<i32>() else {
            return exec_err!("pg_vector_out expects an integer list");
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for row in 0..rows {
            if lists.is_null(row) {
                out.append_null();
                continue;
            }
            let values = datafusion::arrow::compute::cast(&lists.value(row), &DataType::Utf8)?;
            let parts: Vec<&str> = values.as_string::<i32>().iter().flatten().collect();
            out.append_value(parts.join(" "));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s, "public");
        s.to_string()
    }

    #[test]
    fn reg_casts_in_the_select_list_print_names() {
        let out = rewritten(
            "SELECT c.oid::pg_catalog.regclass, i.indoption FROM pg_class c, pg_index i \
             WHERE c.oid::regclass = 5 ORDER BY c.oid::regclass::text",
        );
        assert!(
            out.starts_with("SELECT pg_regclass_out((c.oid), (SELECT"),
            "{out}"
        );
        assert!(
            out.contains("pg_vector_out(i.indoption, 'int2vector')"),
            "{out}"
        );
        assert!(out.contains("WHERE c.oid::REGCLASS = 5"), "{out}");
        assert!(out.contains("ORDER BY pg_regclass_text((c.oid)"), "{out}");
        let nsp = rewritten("SELECT n::pg_catalog.regnamespace::pg_catalog.text AS nsp FROM s");
        assert!(nsp.contains("pg_regnamespace_text((n)"), "{nsp}");
        let names = rewritten("SELECT n.nspname AS \"Schema\", relname, x FROM pg_namespace n");
        assert!(
            names.contains("pg_name_out(n.nspname) AS \"Schema\", pg_name_out(relname), x"),
            "{names}"
        );
        let literal = rewritten("SELECT 'orders'::regclass");
        assert_eq!(literal, "SELECT 'orders'::REGCLASS");
    }

    #[test]
    fn names_quote_as_postgres_does() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("Big Orders"), "\"Big Orders\"");
        assert_eq!(quote_ident("1x"), "\"1x\"");
    }
}
