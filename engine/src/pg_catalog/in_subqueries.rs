//! `x IN (SELECT …)` in a select list. DataFusion turns IN subqueries into semi-joins only in
//! filters; in a projection its physical planner refuses them. PostgreSQL's three-valued
//! answer is rebuilt from two scalar subqueries, which DataFusion does plan there:
//! the values as an array, and whether one of them is NULL.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Query, SelectItem, SetExpr, Statement, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Rewrites every IN subquery that sits in a select list of `statement`.
pub(super) fn rewrite(statement: &mut Statement) {
    let _ = statement.visit(&mut SelectLists);
}

struct SelectLists;

impl VisitorMut for SelectLists {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in select.projection.iter_mut() {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    let _ = visit_expressions_mut(e, |e| {
                        if let Some(new) = three_valued_in(e) {
                            *e = new;
                        }
                        ControlFlow::<()>::Continue(())
                    });
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn three_valued_in(expr: &Expr) -> Option<Expr> {
    let Expr::InSubquery {
        expr,
        subquery,
        negated,
    } = expr
    else {
        return None;
    };
    let values = format!("(SELECT array_agg(v) FROM ({subquery}) AS __abacus_in (v))");
    let any_null = format!("(SELECT bool_or(v IS NULL) FROM ({subquery}) AS __abacus_in (v))");
    let found = format!(
        "(CASE WHEN {values} IS NULL THEN false WHEN ({expr}) IS NULL THEN NULL \
         WHEN array_has({values}, {expr}) THEN true WHEN {any_null} THEN NULL ELSE false END)"
    );
    let text = if *negated {
        format!("(NOT {found})")
    } else {
        found
    };
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&text)
        .ok()?
        .parse_expr()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_subqueries_in_select_lists_become_scalar_subqueries() {
        let mut s = crate::pg_catalog::ast::parsed(
            "SELECT a IN (SELECT b FROM t) AS x FROM u WHERE c IN (SELECT d FROM w)",
        );
        rewrite(&mut s);
        let text = s.to_string();
        assert!(
            text.contains("array_has((SELECT array_agg(v) FROM (SELECT b FROM t)"),
            "{text}"
        );
        // Filters keep their IN subquery: DataFusion plans it as a semi-join.
        assert!(text.contains("WHERE c IN (SELECT d FROM w)"), "{text}");
    }
}
