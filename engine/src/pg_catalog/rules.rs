//! Our rewrites for PostgreSQL syntax in client catalog queries, applied before
//! datafusion-pg-catalog's: PostgreSQL's result column names, `ARRAY(subquery)`,
//! `x = ANY(array)` over text-encoded arrays, and catalog functions answered by queries
//! over the real pg_catalog tables.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectNamePart, Query, SelectItem, SetExpr, Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Marks a column name made unique for DataFusion; the wire front end cuts it off, so the
/// client sees PostgreSQL's (possibly repeated) name.
pub const DUPLICATE_MARK: char = '\u{0}';

/// Names result columns as PostgreSQL does (`format_type`, `?column?`, `case`), so that
/// clients reading columns by name find them.
pub fn name_columns(statement: &mut Statement) {
    let Statement::Query(query) = statement else {
        return;
    };
    name_query_columns(query);
}

fn name_query_columns(query: &mut Query) {
    let mut body = query.body.as_mut();
    // A set operation takes its column names from its first branch.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_mut();
    }
    let SetExpr::Select(select) = body else {
        return;
    };
    if select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    }) {
        return;
    }
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in select.projection.iter_mut() {
        let name = match item {
            SelectItem::UnnamedExpr(expr) => pg_name(expr).unwrap_or_else(|| "?column?".into()),
            SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
            _ => continue,
        };
        let n = seen.entry(name.clone()).or_default();
        *n += 1;
        let unique = if *n == 1 {
            name
        } else {
            format!("{name}{DUPLICATE_MARK}{n}")
        };
        match item {
            SelectItem::UnnamedExpr(expr) => {
                let expr = std::mem::replace(
                    expr,
                    Expr::value(datafusion::sql::sqlparser::ast::Value::Null),
                );
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::with_quote('"', unique),
                };
            }
            SelectItem::ExprWithAlias { alias, .. } if alias.value != unique => {
                *alias = Ident::with_quote('"', unique);
            }
            _ => {}
        }
    }
}

/// PostgreSQL's FigureColname: the name a result column gets without an alias.
fn pg_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident_name(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident_name),
        Expr::Function(f) => function_name(f),
        Expr::Cast {
            expr, data_type, ..
        } => pg_name(expr).or_else(|| {
            let text = data_type.to_string().to_ascii_lowercase();
            Some(
                text.rsplit('.')
                    .next()
                    .unwrap_or(&text)
                    .split('(')
                    .next()
                    .unwrap_or(&text)
                    .trim()
                    .to_string(),
            )
        }),
        Expr::Nested(inner) => pg_name(inner),
        // PostgreSQL names a CASE after its ELSE result when that has a name.
        Expr::Case { else_result, .. } => else_result
            .as_deref()
            .and_then(pg_name)
            .or_else(|| Some("case".into())),
        Expr::Exists { .. } => Some("exists".into()),
        Expr::Array(_) => Some("array".into()),
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.first()? {
                SelectItem::UnnamedExpr(e) => pg_name(e),
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn ident_name(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

fn function_name(f: &Function) -> Option<String> {
    match f.name.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(ident_name(ident)),
        _ => None,
    }
}

fn plain_args(f: &Function) -> Option<Vec<&Expr>> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::Subquery(_) => None,
    }
}

pub(super) fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

/// `ARRAY(SELECT x FROM … ORDER BY k)` → `(SELECT array_agg(x ORDER BY k) FROM …)`; a
/// query that is not a plain SELECT goes into a derived table instead.
fn array_subquery(expr: &Expr) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    if function_name(f)? != "array" {
        return None;
    }
    let mut query = query.as_ref().clone();
    if let SetExpr::Select(select) = query.body.as_mut() {
        let plain = select.projection.len() == 1
            && select.distinct.is_none()
            && matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
            && query.limit_clause.is_none();
        if let (
            true,
            Some(SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }),
        ) = (plain, select.projection.first())
        {
            let value = value.clone();
            let order = match &query.order_by {
                Some(order) => match &order.kind {
                    datafusion::sql::sqlparser::ast::OrderByKind::Expressions(keys) => {
                        let keys: Vec<String> = keys
                            .iter()
                            .map(|k| {
                                // `ORDER BY 1` names the one output column.
                                let key = match &k.expr {
                                    Expr::Value(v) if v.to_string() == "1" => value.to_string(),
                                    other => other.to_string(),
                                };
                                format!("{key} {}", k.options).trim().to_string()
                            })
                            .collect();
                        format!(" ORDER BY {}", keys.join(", "))
                    }
                    _ => String::new(),
                },
                None => String::new(),
            };
            let aggregate = parse_expr(&format!("array_agg({value}{order})"))?;
            select.projection = vec![SelectItem::UnnamedExpr(aggregate)];
            query.order_by = None;
            return Some(Expr::Subquery(Box::new(query)));
        }
    }
    parse_expr(&format!(
        "(SELECT array_agg(abacus_array.v) FROM ({query}) AS abacus_array(v))"
    ))
}

/// `'16408'` passed to a catalog function: PostgreSQL reads the untyped literal as the
/// oid the function takes.
fn oid_literal_args(expr: &mut Expr) {
    let Expr::Function(f) = expr else {
        return;
    };
    let Some(name) = function_name(f) else {
        return;
    };
    if !(name.starts_with("pg_") || name.ends_with("_description") || name == "format_type") {
        return;
    }
    if let FunctionArguments::List(list) = &mut f.args {
        for arg in list.args.iter_mut() {
            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) = arg {
                if let datafusion::sql::sqlparser::ast::Value::SingleQuotedString(s) = &v.value {
                    if !s.is_empty() && s.len() < 11 && s.bytes().all(|b| b.is_ascii_digit()) {
                        v.value = datafusion::sql::sqlparser::ast::Value::Number(s.clone(), false);
                    }
                }
            }
        }
    }
}

/// `x = ANY(arr)` → `pg_array_has(arr, x)`, which also reads PostgreSQL's text form of an
/// array (`{a,b}`) that some catalog snapshot columns hold.
fn any_equals(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    let Expr::AnyOp {
        left,
        compare_op: BinaryOperator::Eq,
        right,
        is_some: false,
    } = expr
    else {
        return None;
    };
    parse_expr(&format!("pg_array_has({right}, {left})"))
}

/// Catalog functions answered from the catalog tables: `$1`… are the arguments. Functions
/// about objects Abacus does not have (indexes, triggers, rules, sequences) answer NULL,
/// as PostgreSQL does for an object without one.
fn template(name: &str, args: usize, visible: &str) -> Option<String> {
    let in_schemas = |table: &str, namespace: &str| {
        format!(
            "($1 IN (SELECT o.oid FROM pg_catalog.{table} o JOIN pg_catalog.pg_namespace n \
             ON o.{namespace} = n.oid WHERE n.nspname IN ({visible})))"
        )
    };
    Some(match (name, args) {
        ("pg_table_is_visible", 1) => in_schemas("pg_class", "relnamespace"),
        ("pg_type_is_visible", 1) => in_schemas("pg_type", "typnamespace"),
        ("pg_function_is_visible", 1) => in_schemas("pg_proc", "pronamespace"),
        ("pg_collation_is_visible", 1) => in_schemas("pg_collation", "collnamespace"),
        ("pg_get_viewdef", 1 | 2) => "(SELECT v.definition FROM pg_catalog.pg_views v \
             JOIN pg_catalog.pg_namespace n ON n.nspname = v.schemaname \
             JOIN pg_catalog.pg_class c ON c.relname = v.viewname AND c.relnamespace = n.oid \
             WHERE c.oid = $1)"
            .into(),
        // Aggregates rather than LIMIT 1: DataFusion decorrelates those.
        ("col_description", 2) => "(SELECT max(d.description) FROM pg_catalog.pg_description d \
             WHERE d.objoid = $1 AND d.objsubid = $2)"
            .into(),
        ("obj_description", 1 | 2) => {
            "(SELECT max(d.description) FROM pg_catalog.pg_description d \
             WHERE d.objoid = $1 AND d.objsubid = 0)"
                .into()
        }
        ("shobj_description", 2) => {
            "(SELECT max(d.description) FROM pg_catalog.pg_shdescription d \
             WHERE d.objoid = $1)"
                .into()
        }
        ("to_regtype", 1) => "(SELECT min(t.oid) FROM pg_catalog.pg_type t \
             WHERE t.typname = $1 OR format_type(t.oid, NULL) = $1)"
            .into(),
        ("to_regclass", 1) => "(SELECT min(c.oid) FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
             WHERE c.relname = $1 OR n.nspname || '.' || c.relname = $1)"
            .into(),
        ("pg_get_function_result", 1) => "(SELECT max(format_type(p.prorettype, NULL)) \
             FROM pg_catalog.pg_proc p WHERE p.oid = $1)"
            .into(),
        ("pg_get_function_arguments" | "pg_get_function_identity_arguments", 1) => {
            "CAST('' AS TEXT)".into()
        }
        ("pg_get_indexdef", 1 | 3)
        | ("pg_get_triggerdef", 1 | 2)
        | ("pg_get_ruledef", 1 | 2)
        | ("pg_get_serial_sequence", 2) => "CAST(NULL AS TEXT)".into(),
        _ => return None,
    })
}

fn catalog_function(expr: &Expr, visible: &str) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    if f.over.is_some() {
        return None;
    }
    let name = function_name(f)?;
    let args = plain_args(f)?;
    let mut text = template(&name, args.len(), visible)?;
    // Highest first, so that `$1` does not match inside `$10`.
    for (i, arg) in args.iter().enumerate().rev() {
        text = text.replace(&format!("${}", i + 1), &format!("({arg})"));
    }
    parse_expr(&text).map(|e| Expr::Nested(Box::new(e)))
}

/// `x LIKE p ESCAPE '/'` → `x LIKE pg_like_escape(p, '/')`: DataFusion takes only the
/// backslash as LIKE's escape, so the pattern is rewritten to use it.
fn like_escape(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::Value;
    let (Expr::Like {
        pattern,
        escape_char,
        ..
    }
    | Expr::ILike {
        pattern,
        escape_char,
        ..
    }) = expr
    else {
        return;
    };
    let Some(escape) = escape_char.as_ref().and_then(|v| match &v.value {
        Value::SingleQuotedString(s) if s.chars().count() == 1 && s != "\\" => Some(s.clone()),
        _ => None,
    }) else {
        return;
    };
    if let Some(rewritten) = parse_expr(&format!(
        "pg_like_escape({pattern}, '{}')",
        escape.replace('\'', "''")
    )) {
        **pattern = rewritten;
        *escape_char = None;
    }
}

/// Aggregate functions as PostgreSQL clients use them in catalog queries.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "string_agg",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "json_agg",
    "jsonb_agg",
];

/// Whether `node` calls an aggregate (not as a window function).
pub(super) fn calls_aggregate<V: datafusion::sql::sqlparser::ast::Visit>(node: &V) -> bool {
    let found = datafusion::sql::sqlparser::ast::visit_expressions(node, |e| match e {
        Expr::Function(f)
            if f.over.is_none()
                && function_name(f).is_some_and(|n| AGGREGATES.contains(&n.as_str())) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

/// `(SELECT c.relkind = 'c' FROM pg_class c WHERE c.oid = t.typrelid)`: PostgreSQL runs a
/// correlated scalar subquery that is not aggregated (and fails only if it returns several
/// rows); DataFusion refuses to plan it. Catalog lookups by key return at most one row,
/// so the value is wrapped in `max(…)`, which gives the same answer and plans.
fn aggregate_scalar_subquery(expr: &mut Expr) {
    let Expr::Subquery(query) = expr else {
        return;
    };
    if query.limit_clause.is_some() || query.order_by.is_some() {
        return;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let grouped = !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped
        || select.distinct.is_some()
        || select.having.is_some()
        || select.projection.len() != 1
    {
        return;
    }
    let (value, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) => (e.clone(), None),
        SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.clone())),
        _ => return,
    };
    // A value that is itself a subquery stays as it is; one that merely contains an IN
    // subquery (a visibility check) aggregates fine.
    if calls_aggregate(&value) || matches!(value, Expr::Subquery(_)) {
        return;
    }
    let Some(wrapped) = parse_expr(&format!("max({value})")) else {
        return;
    };
    select.projection = vec![match alias {
        Some(alias) => SelectItem::ExprWithAlias {
            expr: wrapped,
            alias,
        },
        None => SelectItem::UnnamedExpr(wrapped),
    }];
}

/// PostgreSQL's `user` keyword is `current_user`; unquoted, it never names a column.
/// sqlparser reads it as a function without arguments or, in other dialects, as a name.
fn bare_user(expr: &mut Expr) {
    let is_user = match expr {
        Expr::Identifier(ident) => {
            ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("user")
        }
        Expr::Function(f) => {
            matches!(f.args, FunctionArguments::None)
                && function_name(f).is_some_and(|n| n.eq_ignore_ascii_case("user"))
        }
        _ => false,
    };
    if is_user {
        if let Some(call) = parse_expr("current_user()") {
            *expr = call;
        }
    }
}

/// `typinput = 'pg_catalog.array_in'::regproc` (pgjdbc): datafusion-pg-catalog keeps
/// pg_type's regproc columns as function names, so the literal is compared by name rather
/// than cast to an oid.
fn regproc_names(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, DataType as SqlType, Value};
    const NAMED: &[&str] = &[
        "typinput",
        "typoutput",
        "typreceive",
        "typsend",
        "typmodin",
        "typmodout",
        "typanalyze",
    ];
    let Expr::BinaryOp { left, op, right } = expr else {
        return;
    };
    if !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
        return;
    }
    let names_column = |e: &Expr| {
        let ident = match e {
            Expr::Identifier(i) => i,
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(i) => i,
                None => return false,
            },
            _ => return false,
        };
        NAMED.contains(&ident.value.to_ascii_lowercase().as_str())
    };
    let regproc_literal = |e: &Expr| match e {
        Expr::Cast {
            expr, data_type, ..
        } => {
            let is_regproc = matches!(data_type, SqlType::Custom(name, _)
                if name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case("regproc")));
            match expr.as_ref() {
                Expr::Value(v) if is_regproc => match &v.value {
                    Value::SingleQuotedString(s) => {
                        Some(s.rsplit('.').next().unwrap_or_default().to_string())
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    };
    if names_column(left) {
        if let Some(name) = regproc_literal(right) {
            **right = Expr::value(Value::SingleQuotedString(name));
        }
    } else if names_column(right) {
        if let Some(name) = regproc_literal(left) {
            **left = Expr::value(Value::SingleQuotedString(name));
        }
    }
}

/// `(expr).field`, PostgreSQL's access to a field of a composite value, as `get_field`.
fn composite_fields(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::AccessExpr;
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return;
    };
    if !matches!(root.as_ref(), Expr::Nested(_)) {
        return;
    }
    let mut text = root.to_string();
    for access in access_chain.iter() {
        match access {
            AccessExpr::Dot(Expr::Identifier(field)) => {
                text = format!(
                    "get_field({text}, '{}')",
                    ident_name(field).replace('\'', "''")
                );
            }
            _ => return,
        }
    }
    if let Some(new) = parse_expr(&text) {
        *expr = new;
    }
}

/// `information_schema._pg_expandarray(arr)`, a set-returning function of `{x, n}` records,
/// as `unnest` over the records `pg_expandarray` builds.
fn expand_array(expr: &mut Expr) {
    let Expr::Function(f) = expr else {
        return;
    };
    if function_name(f).as_deref() != Some("_pg_expandarray") {
        return;
    }
    let text = match plain_args(f).as_deref() {
        Some([arg]) => format!("unnest(pg_expandarray({arg}))"),
        _ => return,
    };
    if let Some(new) = parse_expr(&text) {
        *expr = new;
    }
}

/// `con.confkey[n]` parses as field access `confkey` on `con`, then a subscript; as a
/// qualified column with a subscript, the column can be rewritten like any other.
fn qualified_subscript(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::AccessExpr;
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return;
    };
    let mut parts = match root.as_ref() {
        Expr::Identifier(i) => vec![i.clone()],
        Expr::CompoundIdentifier(p) => p.clone(),
        _ => return,
    };
    let dots = access_chain
        .iter()
        .take_while(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_))))
        .count();
    if dots == 0 {
        return;
    }
    for access in access_chain.drain(..dots) {
        if let AccessExpr::Dot(Expr::Identifier(i)) = access {
            parts.push(i);
        }
    }
    **root = Expr::CompoundIdentifier(parts);
    if access_chain.is_empty() {
        *expr = (**root).clone();
    }
}

/// `t.oid::regtype::text`: a type's name as PostgreSQL prints a regtype, which is what
/// `format_type(oid, NULL)` gives (`integer`, `character varying`).
fn regtype_text(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::DataType as SqlType;
    let Expr::Cast {
        expr: inner,
        data_type: SqlType::Text,
        ..
    } = expr
    else {
        return;
    };
    let Expr::Cast {
        expr: operand,
        data_type: SqlType::Custom(name, _),
        ..
    } = inner.as_ref()
    else {
        return;
    };
    let is_regtype = name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .is_some_and(|i| i.value.eq_ignore_ascii_case("regtype"));
    if !is_regtype || matches!(operand.as_ref(), Expr::Value(_)) {
        return;
    }
    if let Some(new) = parse_expr(&format!("format_type({operand}, NULL)")) {
        *expr = new;
    }
}

/// Catalog columns that PostgreSQL types as integer arrays (int2vector, oidvector, int2[],
/// oid[]) and the snapshot keeps as text.
const INT_ARRAY_COLUMNS: &[&str] = &[
    "indkey",
    "indclass",
    "indoption",
    "indcollation",
    "conkey",
    "confkey",
    "conpfeqop",
    "conppeqop",
    "conffeqop",
    "conexclop",
    "proargtypes",
    "stxkeys",
    "tgattr",
];

fn int_array_column(expr: &mut Expr) {
    let last = match expr {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(i) => i,
            None => return,
        },
        _ => return,
    };
    if last.quote_style.is_some()
        || !INT_ARRAY_COLUMNS.contains(&last.value.to_ascii_lowercase().as_str())
    {
        return;
    }
    if let Some(new) = parse_expr(&format!("pg_int_array({expr})")) {
        *expr = new;
    }
}

/// `generate_subscripts(arr, 1)`: the subscripts of a one-dimensional array, as a
/// set-returning function beside `unnest(arr)`.
fn generate_subscripts(expr: &mut Expr) {
    let Expr::Function(f) = expr else {
        return;
    };
    if function_name(f).as_deref() != Some("generate_subscripts") {
        return;
    }
    let text = match plain_args(f).as_deref() {
        Some([array, _dimension]) => {
            format!("unnest(generate_series(1, CAST(cardinality({array}) AS BIGINT)))")
        }
        _ => return,
    };
    if let Some(new) = parse_expr(&text) {
        *expr = new;
    }
}

/// Applies the expression rewrites; `visible` lists the schemas on the search path as SQL
/// string literals.
pub fn rewrite_expressions(statement: &mut Statement, visible: &str) {
    let _ = visit_expressions_mut(statement, |expr| {
        qualified_subscript(expr);
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(statement, |expr| {
        oid_literal_args(expr);
        like_escape(expr);
        bare_user(expr);
        regproc_names(expr);
        composite_fields(expr);
        expand_array(expr);
        int_array_column(expr);
        generate_subscripts(expr);
        regtype_text(expr);
        aggregate_scalar_subquery(expr);
        let replacement = array_subquery(expr)
            .or_else(|| any_equals(expr))
            .or_else(|| catalog_function(expr, visible));
        if let Some(new) = replacement {
            *expr = new;
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut s = crate::pg_catalog::ast::parsed(sql);
        name_columns(&mut s);
        rewrite_expressions(&mut s, "'public', 'pg_catalog'");
        s.to_string()
    }

    #[test]
    fn postgres_names_and_rewrites() {
        assert_eq!(
            rewritten("SELECT pg_catalog.format_type(a, b), c.relname, 1, NULL, NULL, x::regclass FROM t"),
            "SELECT pg_catalog.format_type(a, b) AS \"format_type\", c.relname AS \"relname\", \
             1 AS \"?column?\", NULL AS \"?column?\u{0}2\", NULL AS \"?column?\u{0}3\", x::REGCLASS AS \"x\" FROM t"
        );
        let array = rewritten("SELECT array(SELECT r FROM roles ORDER BY 1) AS a");
        assert!(
            array.contains("array_agg(r ORDER BY r) FROM roles"),
            "{array}"
        );
        let any = rewritten("SELECT * FROM s WHERE 'd' = any(stxkind)");
        assert!(any.contains("pg_array_has(stxkind, 'd')"), "{any}");
        let regproc = rewritten("SELECT typinput='pg_catalog.array_in'::regproc AS a FROM pg_type");
        assert!(regproc.contains("typinput = 'array_in'"), "{regproc}");
        let keys = rewritten("SELECT (information_schema._pg_expandarray(i.indkey)).n FROM i");
        assert!(
            keys.contains("get_field((unnest(pg_expandarray(pg_int_array(i.indkey)))), 'n')"),
            "{keys}"
        );
        let regtype = rewritten("SELECT oid::regtype::text AS regtype FROM pg_type t");
        assert!(
            regtype.contains("format_type(oid, NULL) AS regtype"),
            "{regtype}"
        );
        let fk = rewritten("SELECT a FROM c WHERE a.attnum = con.confkey[pos.n]");
        assert!(fk.contains("pg_int_array(con.confkey)[pos.n]"), "{fk}");
        let keys = rewritten("SELECT unnest(i.indkey), generate_subscripts(i.indkey, 1) FROM i");
        assert!(
            keys.contains("unnest(pg_int_array(i.indkey))")
                && keys.contains("unnest(generate_series(1, CAST(cardinality(pg_int_array(i.indkey)) AS BIGINT)))"),
            "{keys}"
        );
        let user = rewritten("SELECT CASE WHEN x = '$user' THEN user ELSE x END FROM t");
        assert!(user.contains("THEN current_user ELSE"), "{user}");
        let visible =
            rewritten("SELECT * FROM pg_class c WHERE pg_catalog.pg_table_is_visible(c.oid)");
        assert!(visible.contains("(c.oid) IN (SELECT o.oid"), "{visible}");
    }
}
