//! Turning SQL object names into `(schema, table)` the way DataFusion's planner does.

use abacus_catalog::DEFAULT_SCHEMA;
use datafusion::common::TableReference;
use datafusion::sql::sqlparser::ast::{Ident, ObjectName};

use crate::{Error, Result};

/// The one catalog (database) name Abacus exposes.
pub const CATALOG_NAME: &str = "abacus";

/// A table or view name resolved against the session's default schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Unquoted identifiers fold to lower case, quoted ones keep their case (as in PostgreSQL).
pub fn normalize(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

pub fn resolve_object(name: &ObjectName, default_schema: &str) -> Result<QualifiedName> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(normalize)
                .ok_or_else(|| Error::Syntax(format!("unexpected name part in {name}")))
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [table] => Ok(QualifiedName {
            schema: default_schema.to_string(),
            name: table.clone(),
        }),
        [schema, table] => Ok(QualifiedName {
            schema: schema.clone(),
            name: table.clone(),
        }),
        [catalog, schema, table] if catalog == CATALOG_NAME => Ok(QualifiedName {
            schema: schema.clone(),
            name: table.clone(),
        }),
        [catalog, ..] if parts.len() == 3 => Err(Error::Unsupported(format!(
            "database \"{catalog}\" does not exist; this server has only \"{CATALOG_NAME}\""
        ))),
        _ => Err(Error::Syntax(format!("improper qualified name: {name}"))),
    }
}

pub fn resolve_reference(reference: &TableReference, default_schema: &str) -> QualifiedName {
    let resolved = reference.clone().resolve(CATALOG_NAME, default_schema);
    QualifiedName {
        schema: resolved.schema.to_string(),
        name: resolved.table.to_string(),
    }
}

pub fn default_schema_of(config: &datafusion::prelude::SessionConfig) -> String {
    let schema = &config.options().catalog.default_schema;
    if schema.is_empty() {
        DEFAULT_SCHEMA.to_string()
    } else {
        schema.clone()
    }
}
