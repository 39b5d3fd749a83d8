//! `ANALYZE [TABLE] t` and bare `ANALYZE` (every table): records which data files of a
//! table ascend by its first column, for files no Abacus write checked (written by Spark,
//! DuckDB or an older Abacus), so that its scans can declare that order (sorted_scan.rs).

use datafusion::sql::sqlparser::ast::Analyze;

use crate::names::resolve_object;
use crate::{Error, Output, Result, Session};

pub async fn analyze(session: &Session, analyze: &Analyze) -> Result<Output> {
    if analyze.partitions.is_some()
        || analyze.for_columns
        || !analyze.columns.is_empty()
        || analyze.cache_metadata
        || analyze.noscan
        || analyze.compute_statistics
    {
        return Err(Error::Unsupported(
            "ANALYZE takes a table name and no options: ANALYZE [TABLE] name, or ANALYZE \
             for every table"
                .into(),
        ));
    }
    let catalog = session.catalog();
    let tables = match &analyze.table_name {
        Some(name) => {
            let name = resolve_object(name, &session.default_schema())?;
            if !catalog.table_exists(&name.schema, &name.name) {
                return Err(abacus_catalog::Error::TableNotFound(name.to_string()).into());
            }
            vec![(name.schema, name.name)]
        }
        None => catalog
            .schema_names()
            .into_iter()
            .flat_map(|schema| {
                catalog
                    .table_names(&schema)
                    .into_iter()
                    .map(move |table| (schema.clone(), table))
            })
            .collect(),
    };
    for (schema, table) in tables {
        catalog.analyze(&schema, &table).await?;
    }
    Ok(Output::command("ANALYZE"))
}
