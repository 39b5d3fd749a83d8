//! PostgreSQL's functions in FROM: a scalar function there is a one-row table, and a
//! single-column function aliased without column names names its column after the alias
//! (`FROM generate_series(1, 3) AS i` gives column `i`). Grafana's table and column pickers
//! read the search path this way.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Function, FunctionArgumentList, FunctionArguments, Ident, Query, SelectItem, SetExpr,
    Statement, TableAlias, TableAliasColumnDef, TableFactor, VisitMut, VisitorMut,
};

/// Rewrites the functions in every FROM of `statement`; `is_table_function` tells the
/// session's table functions (generate_series, unnest, …) from its scalar functions. With
/// `int4_series`, `generate_series` over integer literals yields int4, as PostgreSQL's
/// `generate_series(int, int)` does (DataFusion's yields int8).
pub(super) fn rewrite(
    statement: &mut Statement,
    is_table_function: &dyn Fn(&str) -> bool,
    int4_series: bool,
) {
    let _ = statement.visit(&mut FromFunctions {
        is_table_function,
        int4_series,
    });
}

struct FromFunctions<'a> {
    is_table_function: &'a dyn Fn(&str) -> bool,
    int4_series: bool,
}

/// Whether every argument is an integer literal that fits int4.
fn int4_arguments(args: &[datafusion::sql::sqlparser::ast::FunctionArg]) -> bool {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, UnaryOperator, Value};
    let int4 = |e: &Expr| match e {
        Expr::Value(v) => matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok()),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => matches!(expr.as_ref(), Expr::Value(v)
            if matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok())),
        _ => false,
    };
    !args.is_empty()
        && args
            .iter()
            .all(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if int4(e)))
}

impl VisitorMut for FromFunctions<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if self.int4_series_call(factor) {
            // Rewritten after its children (`post_visit_table_factor`): the rewrite holds the
            // same call, which must not be visited again.
            return ControlFlow::Continue(());
        }
        let TableFactor::Table {
            name,
            alias,
            args: Some(args),
            with_ordinality: false,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let function = called(name);
        if (self.is_table_function)(&function) {
            // One output column named after the table alias, as PostgreSQL names it.
            if let Some(alias) = alias.as_mut() {
                if alias.columns.is_empty() && single_column(&function) {
                    alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
                }
            }
            return ControlFlow::Continue(());
        }
        // A scalar function: `(SELECT f(args) AS col) AS alias`.
        let table = alias
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| Ident::new(function.clone()));
        let column = alias
            .as_ref()
            .and_then(|a| a.columns.first().map(|c| c.name.clone()))
            .unwrap_or_else(|| table.clone());
        let call = Expr::Function(Function {
            name: name.clone(),
            uses_odbc_syntax: false,
            parameters: FunctionArguments::None,
            args: FunctionArguments::List(FunctionArgumentList {
                duplicate_treatment: None,
                args: args.args.clone(),
                clauses: Vec::new(),
            }),
            filter: None,
            null_treatment: None,
            over: None,
            within_group: Vec::new(),
        });
        if let Some(subquery) = one_row(call, column) {
            *factor = derived(subquery, table);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if !self.int4_series_call(factor) {
            return ControlFlow::Continue(());
        }
        let TableFactor::Table {
            name,
            alias,
            args: Some(args),
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let table = alias
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| Ident::new("generate_series"));
        // Named as the other table functions are: the alias's column, the alias, or
        // DataFusion's `value` when there is no alias.
        let column = alias
            .as_ref()
            .map(|a| {
                a.columns
                    .first()
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| a.name.clone())
            })
            .unwrap_or_else(|| Ident::new("value"));
        let call = TableFactor::Table {
            name: name.clone(),
            alias: None,
            args: Some(args.clone()),
            with_hints: Vec::new(),
            version: None,
            with_ordinality: false,
            partitions: Vec::new(),
            json_path: None,
            sample: None,
            index_hints: Vec::new(),
        };
        let sql = format!("SELECT CAST(value AS INT) AS {column} FROM {call}");
        if let Some(query) = super::ast::parse_select_query(&sql) {
            *factor = derived(query, table);
        }
        ControlFlow::Continue(())
    }
}

impl FromFunctions<'_> {
    /// `generate_series` over int4 literals, to be typed int4.
    fn int4_series_call(&self, factor: &TableFactor) -> bool {
        matches!(factor, TableFactor::Table {
            name,
            args: Some(args),
            with_ordinality: false,
            ..
        } if self.int4_series
            && called(name) == "generate_series"
            && (self.is_table_function)("generate_series")
            && int4_arguments(&args.args))
    }
}

/// `(query) AS table`; the query names its one column itself.
fn derived(query: Query, table: Ident) -> TableFactor {
    TableFactor::Derived {
        lateral: false,
        subquery: Box::new(query),
        alias: Some(TableAlias {
            explicit: true,
            name: table,
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    }
}

/// The unqualified, lowercased name of a called function.
fn called(name: &datafusion::sql::sqlparser::ast::ObjectName) -> String {
    let name = name.to_string().to_ascii_lowercase();
    name.rsplit('.').next().unwrap_or_default().to_string()
}

/// Table functions with exactly one output column.
fn single_column(function: &str) -> bool {
    matches!(function, "generate_series" | "range" | "unnest")
}

/// `SELECT expr AS column`, with no FROM.
fn one_row(expr: Expr, column: Ident) -> Option<Query> {
    let (mut query, mut select) = super::ast::template()?;
    select.projection = vec![SelectItem::ExprWithAlias {
        expr,
        alias: column,
    }];
    query.body = Box::new(SetExpr::Select(Box::new(select)));
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(
            &mut s,
            &|f| matches!(f, "generate_series" | "unnest"),
            false,
        );
        s.to_string()
    }

    #[test]
    fn scalar_functions_in_from_are_one_row_tables() {
        assert_eq!(
            rewritten("SELECT s[i] FROM generate_series(1, 2) AS i, string_to_array('a,b', ',') s"),
            "SELECT s[i] FROM generate_series(1, 2) AS i (i), \
             (SELECT string_to_array('a,b', ',') AS s) AS s"
        );
        assert_eq!(
            rewritten("SELECT * FROM generate_series(1, 2) AS g(n), upper('x')"),
            "SELECT * FROM generate_series(1, 2) AS g (n), (SELECT upper('x') AS upper) AS upper"
        );
        assert_eq!(rewritten("SELECT * FROM t AS x"), "SELECT * FROM t AS x");
        let mut s = crate::pg_catalog::ast::parsed(
            "SELECT pos.n FROM pg_catalog.generate_series(1, 32) pos(n)",
        );
        rewrite(&mut s, &|f| f == "generate_series", true);
        assert_eq!(
            s.to_string(),
            "SELECT pos.n FROM (SELECT CAST(value AS INT) AS n \
             FROM pg_catalog.generate_series(1, 32)) AS pos"
        );
    }
}
