//! information_schema's constraint views (table_constraints, key_column_usage, …), which
//! DataFusion's information_schema lacks. Abacus tables have no primary, unique, foreign
//! or check constraints, so each is an empty relation with PostgreSQL 15's columns; Metabase
//! reads primary keys from them during sync.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Ident, Statement, TableFactor, VisitMut, VisitorMut};

/// The views and their columns; `ordinal_position` and `position_in_unique_constraint` are
/// integers, everything else text.
const VIEWS: &[(&str, &[&str])] = &[
    (
        "table_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
            "nulls_distinct",
        ],
    ),
    (
        "key_column_usage",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "ordinal_position",
            "position_in_unique_constraint",
        ],
    ),
    (
        "referential_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "unique_constraint_catalog",
            "unique_constraint_schema",
            "unique_constraint_name",
            "match_option",
            "update_rule",
            "delete_rule",
        ],
    ),
    (
        "constraint_column_usage",
        &[
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
        ],
    ),
    (
        "check_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "check_clause",
        ],
    ),
];

/// Replaces references to the constraint views with their (empty) definitions.
pub(super) fn rewrite(statement: &mut Statement) {
    let _ = statement.visit(&mut ConstraintViews);
}

struct ConstraintViews;

impl VisitorMut for ConstraintViews {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let Some(table) = super::ast::information_schema_relation(factor) else {
            return ControlFlow::Continue(());
        };
        let Some((view, columns)) = VIEWS.iter().find(|(v, _)| *v == table) else {
            return ControlFlow::Continue(());
        };
        // `SELECT CAST(NULL AS TEXT) AS c1, … WHERE false`.
        let list: Vec<String> = columns
            .iter()
            .map(|c| {
                let ty = if c.contains("position") {
                    "INT"
                } else {
                    "TEXT"
                };
                format!("CAST(NULL AS {ty}) AS {c}")
            })
            .collect();
        let sql = format!("SELECT {} WHERE false", list.join(", "));
        if let Some(query) = super::ast::parse_select_query(&sql) {
            super::ast::replace_with_derived(factor, query, Ident::new(*view));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_views_are_empty_relations() {
        let mut s = crate::pg_catalog::ast::parsed("SELECT tc.table_name FROM information_schema.table_constraints AS tc \
             JOIN information_schema.key_column_usage kc ON tc.constraint_name = kc.constraint_name");
        rewrite(&mut s);
        let text = s.to_string();
        assert!(
            text.contains("CAST(NULL AS TEXT) AS constraint_type, ")
                && text.contains("WHERE false) AS tc JOIN (SELECT")
                && text.contains("CAST(NULL AS INT) AS ordinal_position"),
            "{text}"
        );
    }
}
