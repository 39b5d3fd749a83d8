//! INSERT, DELETE, UPDATE and TRUNCATE: each one Delta commit, answered with PostgreSQL's tag.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, ObjectName, TableFactor, TableWithJoins, Truncate,
    Update,
};

use crate::names::{normalize, resolve_object, resolve_reference, QualifiedName};
use crate::{Error, Output, Result, Session};

pub async fn insert(session: &Session, statement: DFStatement) -> Result<Output> {
    let state = session.state();
    let plan = state.statement_to_plan(statement).await?;
    let LogicalPlan::Dml(dml) = plan else {
        return Err(Error::Unsupported("unexpected plan for INSERT".into()));
    };
    if !matches!(dml.op, WriteOp::Insert(InsertOp::Append)) {
        return Err(Error::Unsupported(format!(
            "{} is not supported; use INSERT INTO, or DELETE then INSERT",
            dml.op
        )));
    }
    let name = resolve_reference(&dml.table_name, &session.default_schema());
    check_is_table(session, &name)?;
    let outcome = session
        .catalog()
        .append(
            &name.schema,
            &name.name,
            dml.input.as_ref().clone(),
            Arc::new(state),
        )
        .await?;
    Ok(Output::Command {
        tag: format!("INSERT 0 {}", outcome.rows),
        rows: Some(outcome.rows),
    })
}

pub async fn delete(session: &Session, delete: &Delete) -> Result<Output> {
    if delete.using.is_some() || delete.returning.is_some() || delete.limit.is_some() {
        return Err(Error::Unsupported(
            "DELETE supports only FROM table [WHERE condition]".into(),
        ));
    }
    let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &delete.from;
    let [table] = tables.as_slice() else {
        return Err(Error::Unsupported("DELETE from more than one table".into()));
    };
    let name = single_table(session, table)?;
    let rows = delete_rows(session, &name, delete.selection.as_ref()).await?;
    Ok(Output::affected("DELETE", rows))
}

pub async fn truncate(session: &Session, truncate: &Truncate) -> Result<Output> {
    let mut names = Vec::new();
    for target in &truncate.table_names {
        let name = resolve_object(&target.name, &session.default_schema())?;
        check_is_table(session, &name)?;
        names.push(name);
    }
    for name in names {
        delete_rows(session, &name, None).await?;
    }
    Ok(Output::command("TRUNCATE TABLE"))
}

pub async fn update(session: &Session, update: &Update) -> Result<Output> {
    if update.from.is_some() || update.returning.is_some() {
        return Err(Error::Unsupported(
            "UPDATE supports only table SET column = value [, …] [WHERE condition]".into(),
        ));
    }
    let name = single_table(session, &update.table)?;
    let mut assignments = Vec::new();
    for a in &update.assignments {
        let AssignmentTarget::ColumnName(column) = &a.target else {
            return Err(Error::Unsupported("UPDATE of a column tuple".into()));
        };
        let column = last_part(column)?;
        assignments.push((column, a.value.to_string()));
    }
    // Planning the same change as a query reports unknown columns and type errors in
    // DataFusion's words before Delta rewrites any file.
    let projections: Vec<String> = assignments
        .iter()
        .flat_map(|(c, v)| [format!("\"{}\"", c.replace('"', "\"\"")), v.clone()])
        .collect();
    validate(
        session,
        &name,
        &projections.join(", "),
        update.selection.as_ref(),
    )
    .await?;
    let outcome = session
        .catalog()
        .update(
            &name.schema,
            &name.name,
            assignments,
            update.selection.as_ref().map(|e| e.to_string()),
            Arc::new(session.state()),
        )
        .await?;
    Ok(Output::affected("UPDATE", outcome.rows))
}

async fn delete_rows(
    session: &Session,
    name: &QualifiedName,
    selection: Option<&Expr>,
) -> Result<u64> {
    validate(session, name, "count(*)", selection).await?;
    // Delta removes whole files without counting their rows; count them first (from file
    // statistics, so this does not scan).
    let before = match selection {
        None => Some(count_rows(session, name).await?),
        Some(_) => None,
    };
    let (_, deleted) = session
        .catalog()
        .delete(
            &name.schema,
            &name.name,
            selection.map(|e| e.to_string()),
            Arc::new(session.state()),
        )
        .await?;
    Ok(deleted.or(before).unwrap_or(0))
}

async fn validate(
    session: &Session,
    name: &QualifiedName,
    select: &str,
    selection: Option<&Expr>,
) -> Result<()> {
    let mut sql = format!("SELECT {select} FROM {}", quoted(name));
    if let Some(e) = selection {
        sql.push_str(&format!(" WHERE {e}"));
    }
    session.state().create_logical_plan(&sql).await?;
    Ok(())
}

async fn count_rows(session: &Session, name: &QualifiedName) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM {}", quoted(name));
    let batches = session.context().sql(&sql).await?.collect().await?;
    let count = batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .unwrap_or(0);
    Ok(count as u64)
}

pub(crate) fn quoted(name: &QualifiedName) -> String {
    format!(
        "\"{}\".\"{}\"",
        name.schema.replace('"', "\"\""),
        name.name.replace('"', "\"\"")
    )
}

fn single_table(session: &Session, table: &TableWithJoins) -> Result<QualifiedName> {
    if !table.joins.is_empty() {
        return Err(Error::Unsupported("joins in UPDATE/DELETE".into()));
    }
    let TableFactor::Table {
        name, alias: None, ..
    } = &table.relation
    else {
        return Err(Error::Unsupported(
            "UPDATE/DELETE need a plain table name (no alias or subquery)".into(),
        ));
    };
    let name = resolve_object(name, &session.default_schema())?;
    check_is_table(session, &name)?;
    Ok(name)
}

fn last_part(column: &ObjectName) -> Result<String> {
    column
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(normalize)
        .ok_or_else(|| Error::Syntax(format!("bad column name {column}")))
}

fn check_is_table(session: &Session, name: &QualifiedName) -> Result<()> {
    let catalog = session.catalog();
    if catalog.table_exists(&name.schema, &name.name) {
        return Ok(());
    }
    if catalog.views().get(&name.schema, &name.name)?.is_some() {
        return Err(Error::Unsupported(format!(
            "cannot change view \"{name}\": views are read-only"
        )));
    }
    Err(abacus_catalog::Error::TableNotFound(name.to_string()).into())
}
