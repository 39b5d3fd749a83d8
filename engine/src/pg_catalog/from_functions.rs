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
/// session's table functions (generate_series, unnest, …) from its scalar functions.
pub(super) fn rewrite(statement: &mut Statement, is_table_function: &dyn Fn(&str) -> bool) {
    let _ = statement.visit(&mut FromFunctions { is_table_function });
}

struct FromFunctions<'a> {
    is_table_function: &'a dyn Fn(&str) -> bool,
}

impl VisitorMut for FromFunctions<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
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
        let function = name.to_string().to_ascii_lowercase();
        let function = function.rsplit('.').next().unwrap_or_default().to_string();
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
        let Some(subquery) = one_row(call, column) else {
            return ControlFlow::Continue(());
        };
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery),
            alias: Some(TableAlias {
                explicit: true,
                name: table,
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        };
        ControlFlow::Continue(())
    }
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
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        rewrite(&mut s, &|f| matches!(f, "generate_series" | "unnest"));
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
    }
}
