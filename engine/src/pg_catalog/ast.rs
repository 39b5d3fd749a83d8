//! Small pieces of SQL syntax the rewrites share: parsing a query, naming a relation,
//! putting a derived table where a relation stood.

use datafusion::sql::sqlparser::ast::{
    Ident, Query, Select, SetExpr, Statement, TableAlias, TableFactor,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// `sql` parsed as a single-SELECT query.
pub(super) fn parse_select_query(sql: &str) -> Option<Query> {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?.pop()? {
        Statement::Query(q) if matches!(*q.body, SetExpr::Select(_)) => Some(*q),
        _ => None,
    }
}

/// A `SELECT 1` query and its SELECT, to fill in.
pub(super) fn template() -> Option<(Query, Select)> {
    let query = parse_select_query("SELECT 1")?;
    match query.body.as_ref() {
        SetExpr::Select(select) => Some((query.clone(), select.as_ref().clone())),
        _ => None,
    }
}

/// The lowercased parts of the name of a plain relation (not a table function).
pub(super) fn relation_parts(factor: &TableFactor) -> Option<Vec<String>> {
    let TableFactor::Table {
        name, args: None, ..
    } = factor
    else {
        return None;
    };
    Some(
        name.0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.to_ascii_lowercase()))
            .collect(),
    )
}

/// The name of `information_schema.<name>` when `factor` is a plain reference to it.
pub(super) fn information_schema_relation(factor: &TableFactor) -> Option<String> {
    match relation_parts(factor)?.as_slice() {
        [.., schema, table] if schema == "information_schema" => Some(table.clone()),
        _ => None,
    }
}

/// Puts `(query) AS alias` where `factor` stood, keeping the relation's own alias if it had
/// one and `name` otherwise.
pub(super) fn replace_with_derived(factor: &mut TableFactor, query: Query, name: Ident) {
    let alias = match factor {
        TableFactor::Table { alias, .. } => alias.clone(),
        _ => None,
    };
    let alias = alias.unwrap_or(TableAlias {
        explicit: true,
        name,
        columns: Vec::new(),
        at: None,
    });
    *factor = TableFactor::Derived {
        lateral: false,
        subquery: Box::new(query),
        alias: Some(alias),
        sample: None,
    };
}

/// `sql`, one statement, parsed as the rewrites see it (tests).
#[cfg(test)]
pub(super) fn parsed(sql: &str) -> Statement {
    Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .expect("test SQL parses")
        .remove(0)
}
