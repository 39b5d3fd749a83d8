//! ORDER BY expressions holding subqueries (`ORDER BY CASE WHEN s IN (SELECT …) THEN 0
//! ELSE 1 END`, Grafana's table picker): DataFusion plans subqueries only in projections
//! and filters, so such a query sorts over an inner query that computes those keys as
//! hidden columns. The same serves an ORDER BY on `c.oid` below a result column named
//! `oid` (psql's `\d`): DataFusion adds the sort column beside the alias and rejects the
//! pair as ambiguous.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions, Expr, Ident, OrderByKind, Query, SelectItem, SetExpr, Statement, TableAlias,
    TableFactor, TableWithJoins, Value,
};

const SORTED: &str = "__abacus_sorted";
const KEY: &str = "__abacus_order_";

/// Rewrites the top-level query of `statement` when its ORDER BY holds a subquery.
pub(super) fn rewrite(statement: &mut Statement) {
    if let Statement::Query(query) = statement {
        rewrite_query(query);
    }
}

fn has_subquery(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The output column names of `items`, or `None` when one has no plain name (a wildcard).
fn output_names(items: &[SelectItem]) -> Option<Vec<Ident>> {
    items
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Some(ident.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last().cloned(),
            _ => None,
        })
        .collect()
}

/// Whether `expr` reads a qualified column (`c.oid`) whose name is also the name of a result
/// column that is not that column itself.
fn shadowed_column(expr: &Expr, items: &[SelectItem], names: &[Ident]) -> bool {
    visit_expressions(expr, |e| {
        let Expr::CompoundIdentifier(parts) = e else {
            return ControlFlow::Continue(());
        };
        let Some(column) = parts.last() else {
            return ControlFlow::Continue(());
        };
        let shadowed = names.iter().zip(items).any(|(name, item)| {
            let same = match item {
                SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } => x == e,
                _ => false,
            };
            name.value.eq_ignore_ascii_case(&column.value) && !same
        });
        if shadowed {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

fn rewrite_query(query: &mut Query) {
    let Some(order_by) = &query.order_by else {
        return;
    };
    let OrderByKind::Expressions(keys) = &order_by.kind else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return;
    };
    if select.distinct.is_some() {
        return;
    }
    let Some(names) = output_names(&select.projection) else {
        return;
    };
    if !keys
        .iter()
        .any(|k| has_subquery(&k.expr) || shadowed_column(&k.expr, &select.projection, &names))
    {
        return;
    }
    let mut inner = select.as_ref().clone();
    let mut outer_keys = keys.clone();
    for (i, key) in outer_keys.iter_mut().enumerate() {
        let positional =
            matches!(&key.expr, Expr::Value(v) if matches!(v.value, Value::Number(..)));
        let output_alias = matches!(&key.expr, Expr::Identifier(id)
            if names.iter().any(|n| n.value == id.value));
        if positional || output_alias {
            continue;
        }
        let hidden = Ident::with_quote('"', format!("{KEY}{i}"));
        inner.projection.push(SelectItem::ExprWithAlias {
            expr: key.expr.clone(),
            alias: hidden.clone(),
        });
        key.expr = Expr::Identifier(hidden);
    }
    let Some((mut subquery, mut outer)) = super::ast::template() else {
        return;
    };
    subquery.body = Box::new(SetExpr::Select(Box::new(inner)));
    outer.projection = names
        .into_iter()
        .map(|n| SelectItem::UnnamedExpr(Expr::Identifier(n)))
        .collect();
    outer.from = vec![TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new(SORTED),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        },
        joins: Vec::new(),
    }];
    *query.body = SetExpr::Select(Box::new(outer));
    if let Some(order_by) = query.order_by.as_mut() {
        order_by.kind = OrderByKind::Expressions(outer_keys);
    }
}

#[cfg(test)]
mod tests {

    fn rewritten(sql: &str) -> String {
        let mut s = crate::pg_catalog::ast::parsed(sql);
        super::rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn subqueries_in_order_by_become_hidden_columns() {
        assert_eq!(
            rewritten(
                "SELECT name AS t FROM tables WHERE x > 1 \
                 ORDER BY CASE WHEN s IN (SELECT a FROM p) THEN 0 ELSE 1 END, 1, t DESC LIMIT 5"
            ),
            "SELECT t FROM (SELECT name AS t, CASE WHEN s IN (SELECT a FROM p) THEN 0 ELSE 1 END \
             AS \"__abacus_order_0\" FROM tables WHERE x > 1) AS __abacus_sorted \
             ORDER BY \"__abacus_order_0\", 1, t DESC LIMIT 5"
        );
        let plain = "SELECT a FROM t ORDER BY a";
        assert_eq!(rewritten(plain), plain);
        let same = "SELECT c.a AS a FROM t AS c ORDER BY c.a";
        assert_eq!(rewritten(same), same);
        assert_eq!(
            rewritten("SELECT c.oid + 1 AS oid FROM pg_class AS c ORDER BY c.oid * 2"),
            "SELECT oid FROM (SELECT c.oid + 1 AS oid, c.oid * 2 AS \"__abacus_order_0\" \
             FROM pg_class AS c) AS __abacus_sorted ORDER BY \"__abacus_order_0\""
        );
    }
}
