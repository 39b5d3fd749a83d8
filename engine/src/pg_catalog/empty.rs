//! System tables that hold no rows in Abacus (policies, publications, statistics objects,
//! …), found once per process from datafusion-pg-catalog's snapshot, and the rewrite that
//! uses them: a SELECT over an empty relation joined by inner joins returns no rows, so its
//! column expressions are never evaluated and need not be planned.
//!
//! Ours because DataFusion cannot plan some of what psql sends over those tables
//! (correlated subqueries inside CASE, `generate_series` over a column): knowing the
//! relation is empty lets the query answer, with PostgreSQL's columns and no rows.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};

use datafusion::catalog::{CatalogProviderList, MemTable, MemoryCatalogProviderList};
use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, JoinOperator, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    Value, VisitMut, VisitorMut,
};
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    PgCatalogSchemaProvider, PgCatalogStaticTables, PG_CATALOG_TABLES,
};

/// Names of the pg_catalog tables with no rows.
static EMPTY: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let find = || -> datafusion::error::Result<HashSet<String>> {
        let list: Arc<dyn CatalogProviderList> = Arc::new(MemoryCatalogProviderList::new());
        let provider = PgCatalogSchemaProvider::try_new(
            list,
            Arc::new(PgCatalogStaticTables::try_new()?),
            EmptyContextProvider,
        )?;
        let mut empty = HashSet::new();
        for name in PG_CATALOG_TABLES {
            let Some(table) = provider.build_table_by_name(name)? else {
                continue;
            };
            let Ok(table) = table.try_into_table_provider() else {
                continue;
            };
            // Only in-memory snapshots: tables built from the live catalog may gain rows.
            let any: &dyn std::any::Any = table.as_ref();
            let Some(memory) = any.downcast_ref::<MemTable>() else {
                continue;
            };
            let rows: Option<usize> = memory
                .batches
                .iter()
                .map(|p| {
                    p.try_read()
                        .ok()
                        .map(|b| b.iter().map(|b| b.num_rows()).sum::<usize>())
                })
                .sum();
            if rows == Some(0) {
                empty.insert(name.to_string());
            }
        }
        Ok(empty)
    };
    find().unwrap_or_default()
});

fn is_empty_table(factor: &TableFactor) -> bool {
    match super::ast::relation_parts(factor).as_deref() {
        Some([table]) => EMPTY.contains(table),
        Some([schema, table]) if schema == "pg_catalog" => EMPTY.contains(table),
        _ => false,
    }
}

/// Whether some relation that every result row needs is empty.
fn reads_empty_relation(select: &Select) -> bool {
    select.from.iter().any(|from| {
        let inner_only = from.joins.iter().all(|j| {
            matches!(
                j.join_operator,
                JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_)
            )
        });
        let left_preserved = from.joins.iter().all(|j| {
            matches!(
                j.join_operator,
                JoinOperator::Join(_)
                    | JoinOperator::Inner(_)
                    | JoinOperator::CrossJoin(_)
                    | JoinOperator::Left(_)
                    | JoinOperator::LeftOuter(_)
            )
        });
        (left_preserved && is_empty_table(&from.relation))
            || (inner_only && from.joins.iter().any(|j| is_empty_table(&j.relation)))
    })
}

/// Whether the projection aggregates without GROUP BY (then one row comes back anyway).
fn aggregates(select: &Select) -> bool {
    let grouped = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    };
    if grouped {
        return false;
    }
    // Aggregates inside subqueries do not count: blank those out first.
    let mut projection = select.projection.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut projection, |e| {
        if matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            *e = Expr::value(Value::Null);
        }
        ControlFlow::<()>::Continue(())
    });
    super::rules::calls_aggregate(&projection)
}

fn has_subquery(expr: &Expr) -> bool {
    let text = expr.to_string().to_ascii_lowercase();
    text.contains("select ")
        || text.contains("generate_series")
        || text.contains("unnest")
        || text.contains("_pg_expandarray")
}

/// A NULL standing in for `expr` that keeps the PostgreSQL type the wire front end
/// describes (regclass, json, …): a call of the same typed function that is never evaluated
/// on a row.
fn typed_null(expr: &Expr) -> Expr {
    use datafusion::sql::sqlparser::ast::SetExpr;
    let null = Expr::value(Value::Null);
    match expr {
        Expr::Nested(inner) => typed_null(inner),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => conditions
            .iter()
            .map(|c| &c.result)
            .chain(else_result.as_deref())
            .map(typed_null)
            .find(|e| e != &null)
            .unwrap_or(null),
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.first() {
                Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => {
                    typed_null(e)
                }
                _ => null,
            },
            _ => null,
        },
        Expr::Function(f) => {
            let stand_in = match f.name.to_string().to_ascii_lowercase().as_str() {
                "json_build_object" => "json_build_object()",
                "pg_regclass_out" => "pg_regclass_out(NULL, NULL, '')",
                "pg_regnamespace_out" => "pg_regnamespace_out(NULL, NULL, '')",
                _ => return null,
            };
            super::rules::parse_expr(stand_in).unwrap_or(null)
        }
        _ => null,
    }
}

struct EmptySelects;

impl VisitorMut for EmptySelects {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        visit_set_expr(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

fn visit_set_expr(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) if reads_empty_relation(select) && !aggregates(select) => {
            for item in select.projection.iter_mut() {
                let expr = match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                    _ => continue,
                };
                if has_subquery(expr) {
                    *expr = typed_null(expr);
                }
            }
            select.selection = Some(Expr::value(Value::Boolean(false)));
        }
        SetExpr::SetOperation { left, right, .. } => {
            visit_set_expr(left);
            visit_set_expr(right);
        }
        _ => {}
    }
}

/// Empties SELECTs over empty system relations (see the module comment), and answers
/// scalar subqueries over them with NULL, as a scalar subquery without rows answers.
/// (psql and SQLAlchemy put correlated ones inside CASE, which DataFusion cannot plan.)
pub fn rewrite(statement: &mut Statement) {
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(statement, |e| {
        if let Expr::Subquery(query) = e {
            if let SetExpr::Select(select) = query.body.as_ref() {
                if reads_empty_relation(select) && !aggregates(select) {
                    // A NULL of the subquery's type (json for SQLAlchemy's identity options).
                    let typed = typed_null(e);
                    *e = if typed == Expr::value(Value::Null) {
                        typed
                    } else {
                        super::rules::parse_expr(&format!("CASE WHEN false THEN {typed} END"))
                            .unwrap_or(Expr::value(Value::Null))
                    };
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = statement.visit(&mut EmptySelects);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_empty_and_their_selects_answer_nothing() {
        assert!(EMPTY.contains("pg_policy"), "{:?}", *EMPTY);
        assert!(EMPTY.contains("pg_publication_rel"), "{:?}", *EMPTY);
        assert!(!EMPTY.contains("pg_type"));
        let sql = "SELECT p.polname, array_to_string(array(select r from pg_roles), ',') \
                   FROM pg_catalog.pg_policy p WHERE p.polrelid = 1";
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s);
        assert_eq!(
            s.to_string(),
            "SELECT p.polname, NULL FROM pg_catalog.pg_policy p WHERE false"
        );
        let sql = "SELECT a, (CASE WHEN x THEN (SELECT string_agg(n, ',') FROM generate_series(0, y) s) END) \
                   FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_rel r ON p.oid = r.prpubid";
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s);
        assert!(s.to_string().starts_with("SELECT a, NULL FROM"), "{s}");
        let sql = "SELECT a.attname, CASE WHEN a.atthasdef THEN (SELECT d.adbin \
                   FROM pg_catalog.pg_policy d WHERE d.polrelid = a.attrelid) END FROM pg_attribute a";
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s);
        assert!(
            s.to_string().contains("THEN NULL END FROM pg_attribute a"),
            "{s}"
        );
        let sql = "SELECT CASE WHEN a.x THEN (SELECT json_build_object('a', d.polname) \
                   FROM pg_catalog.pg_policy d) END AS j, \
                   (SELECT pg_regclass_out(d.oid, (SELECT 1), 'public') FROM pg_catalog.pg_policy d) \
                   FROM pg_attribute a";
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s);
        assert_eq!(
            s.to_string(),
            "SELECT CASE WHEN a.x THEN CASE WHEN false THEN json_build_object() END END AS j, \
             CASE WHEN false THEN pg_regclass_out(NULL, NULL, '') END FROM pg_attribute a"
        );
        let sql = "SELECT count(*) FROM pg_catalog.pg_policy";
        let mut s = crate::pg_catalog::ast::parsed(sql);
        rewrite(&mut s);
        assert_eq!(s.to_string(), sql);
    }
}
