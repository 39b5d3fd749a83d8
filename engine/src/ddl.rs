//! CREATE / DROP of tables, views and schemas.

use std::sync::Arc;

use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{CreateView, ObjectName, ObjectType, SchemaName, Statement};

use crate::names::{normalize, resolve_object, resolve_reference};
use crate::{Error, Output, Result, Session};

/// `CREATE TABLE t (cols)` and `CREATE TABLE t AS SELECT …`: one Delta commit either way.
pub async fn create_table(session: &Session, statement: DFStatement) -> Result<Output> {
    let is_ctas = matches!(
        &statement,
        DFStatement::Statement(s) if matches!(s.as_ref(), Statement::CreateTable(c) if c.query.is_some())
    );
    let state = session.state();
    let plan = state.statement_to_plan(statement).await?;
    let LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) = plan else {
        return Err(Error::Unsupported(format!(
            "this form of CREATE TABLE is not supported: {}",
            plan.display()
        )));
    };
    if create.temporary {
        return Err(Error::Unsupported(
            "CREATE TEMPORARY TABLE is not supported; every Abacus table is a Delta table".into(),
        ));
    }
    if create.or_replace {
        return Err(Error::Unsupported(
            "CREATE OR REPLACE TABLE is not supported; DROP TABLE first, or use \
             RESTORE TABLE to go back to an earlier version"
                .into(),
        ));
    }
    let name = resolve_reference(&create.name, &session.default_schema());
    let catalog = session.catalog();
    if catalog.views().get(&name.schema, &name.name)?.is_some() {
        return Err(abacus_catalog::Error::ViewExists(name.to_string()).into());
    }
    if catalog.table_exists(&name.schema, &name.name) {
        if create.if_not_exists {
            return Ok(Output::command("CREATE TABLE"));
        }
        return Err(abacus_catalog::Error::TableExists(name.to_string()).into());
    }
    let input = create.input.as_ref().clone();
    let outcome = catalog
        .create_table(&name.schema, &name.name, input, Arc::new(state))
        .await?;
    Ok(if is_ctas {
        Output::affected("SELECT", outcome.rows)
    } else {
        Output::command("CREATE TABLE")
    })
}

/// Views persist as their query text and are planned again on every use, so they follow
/// the tables they read.
pub async fn create_view(session: &Session, view: &CreateView) -> Result<Output> {
    if view.materialized {
        return Err(Error::Unsupported(
            "materialized views are not supported; use CREATE TABLE … AS SELECT".into(),
        ));
    }
    if !view.columns.is_empty() {
        return Err(Error::Unsupported(
            "a column list on CREATE VIEW is not supported; alias the columns in the query".into(),
        ));
    }
    let name = resolve_object(&view.name, &session.default_schema())?;
    abacus_catalog::validate_name(&name.name)?;
    let catalog = session.catalog();
    if !catalog.schema_exists(&name.schema) {
        return Err(abacus_catalog::Error::SchemaNotFound(name.schema).into());
    }
    if catalog.table_exists(&name.schema, &name.name) {
        return Err(abacus_catalog::Error::TableExists(name.to_string()).into());
    }
    let query = Statement::Query(view.query.clone());
    // Plan once now so that a broken view is refused instead of stored.
    session
        .state()
        .statement_to_plan(DFStatement::Statement(Box::new(query)))
        .await?;
    catalog.views().put(
        &name.schema,
        &name.name,
        &view.query.to_string(),
        view.or_replace,
    )?;
    Ok(Output::command("CREATE VIEW"))
}

pub fn create_schema(session: &Session, name: &SchemaName, if_not_exists: bool) -> Result<Output> {
    let SchemaName::Simple(object) = name else {
        return Err(Error::Unsupported(
            "CREATE SCHEMA … AUTHORIZATION is not supported".into(),
        ));
    };
    let [part] = object.0.as_slice() else {
        return Err(Error::Syntax(format!("improper schema name: {object}")));
    };
    let ident = part
        .as_ident()
        .ok_or_else(|| Error::Syntax(format!("improper schema name: {object}")))?;
    session
        .catalog()
        .create_schema(&normalize(ident), if_not_exists)?;
    Ok(Output::command("CREATE SCHEMA"))
}

pub fn drop(
    session: &Session,
    object_type: ObjectType,
    if_exists: bool,
    names: &[ObjectName],
    cascade: bool,
) -> Result<Output> {
    let catalog = session.catalog();
    let default_schema = session.default_schema();
    let tag = match object_type {
        ObjectType::Table => "DROP TABLE",
        ObjectType::View => "DROP VIEW",
        ObjectType::Schema => "DROP SCHEMA",
        other => {
            return Err(Error::Unsupported(format!("DROP {other} is not supported")));
        }
    };
    // Check every name before dropping any, so a typo in the list drops nothing.
    let mut targets = Vec::new();
    for object in names {
        if object_type == ObjectType::Schema {
            let name = resolve_object(object, &default_schema)?;
            if object.0.len() != 1 {
                return Err(Error::Syntax(format!("improper schema name: {object}")));
            }
            if !catalog.schema_exists(&name.name) && !if_exists {
                return Err(abacus_catalog::Error::SchemaNotFound(name.name).into());
            }
            targets.push(name);
            continue;
        }
        let name = resolve_object(object, &default_schema)?;
        let is_table = catalog.table_exists(&name.schema, &name.name);
        let is_view = catalog.views().get(&name.schema, &name.name)?.is_some();
        match object_type {
            ObjectType::Table if is_view => {
                return Err(Error::Unsupported(format!(
                    "\"{name}\" is a view: use DROP VIEW"
                )));
            }
            ObjectType::View if is_table => {
                return Err(Error::Unsupported(format!(
                    "\"{name}\" is a table: use DROP TABLE"
                )));
            }
            ObjectType::Table if !is_table && !if_exists => {
                return Err(abacus_catalog::Error::TableNotFound(name.to_string()).into());
            }
            ObjectType::View if !is_view && !if_exists => {
                return Err(abacus_catalog::Error::ViewNotFound(name.to_string()).into());
            }
            _ => targets.push(name),
        }
    }
    for name in targets {
        match object_type {
            ObjectType::Table => {
                catalog.drop_table(&name.schema, &name.name, true)?;
            }
            ObjectType::View => {
                catalog.views().remove(&name.schema, &name.name)?;
            }
            _ => {
                catalog.drop_schema(&name.name, true, cascade)?;
            }
        }
    }
    Ok(Output::command(tag))
}
