//! What the translator knows about the data: every schema's tables and columns, the distinct
//! values of low-cardinality text columns, and the semantic layers (file or derived).
//! Values are cached per table version, so a question costs no scans once they are known.

use std::collections::HashMap;
use std::sync::Arc;

use abacus_nl::{ColumnInfo, ColumnKind, Indexed, Layer, SchemaInfo, TableInfo};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;
use parking_lot::Mutex;

use crate::names::CATALOG_NAME;
use crate::{Error, Result, Session};

/// Text columns with at most this many distinct values are listed for value linking.
const MAX_VALUES: usize = 50;

/// Schemas the translator never looks at.
pub(crate) const INTERNAL_SCHEMA: &str = "abacus";

#[derive(Default)]
pub struct NlCache {
    tables: Mutex<HashMap<(String, String), (i64, TableInfo)>>,
    layers: Mutex<HashMap<String, (String, Arc<Indexed>)>>,
}

impl std::fmt::Debug for NlCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NlCache")
    }
}

fn kind_of(t: &DataType) -> ColumnKind {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Text,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnKind::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnKind::Float,
        DataType::Decimal128(..) | DataType::Decimal256(..) => ColumnKind::Decimal,
        DataType::Boolean => ColumnKind::Bool,
        DataType::Timestamp(..) => ColumnKind::Timestamp,
        DataType::Date32 | DataType::Date64 => ColumnKind::Date,
        _ => ColumnKind::Other,
    }
}

fn sql_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("NUMERIC({p},{s})"),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        other => other.to_string(),
    }
}

impl Session {
    /// Schema descriptions for every user schema with tables.
    pub(crate) async fn schema_infos(&self) -> Result<Vec<SchemaInfo>> {
        let catalog = self.catalog().clone();
        let mut out = Vec::new();
        for schema in catalog.schema_names() {
            if schema == INTERNAL_SCHEMA {
                continue;
            }
            let mut info = SchemaInfo {
                schema: schema.clone(),
                tables: Vec::new(),
            };
            for table in catalog.table_names(&schema) {
                if let Some(t) = self.table_info(&schema, &table).await? {
                    info.tables.push(t);
                }
            }
            if !info.tables.is_empty() {
                out.push(info);
            }
        }
        Ok(out)
    }

    async fn table_info(&self, schema: &str, table: &str) -> Result<Option<TableInfo>> {
        let version = match self.catalog().table(schema, table).await {
            Ok(t) => t.version().map(|v| v as i64).unwrap_or(-1),
            Err(_) => return Ok(None),
        };
        let key = (schema.to_string(), table.to_string());
        if let Some((v, info)) = self.nl_cache().tables.lock().get(&key) {
            if *v == version {
                return Ok(Some(info.clone()));
            }
        }
        let reference = datafusion::common::TableReference::full(CATALOG_NAME, schema, table);
        let provider = self.context().table_provider(reference).await?;
        let arrow = provider.schema();
        let mut columns = Vec::new();
        for field in arrow.fields() {
            let kind = kind_of(field.data_type());
            let values = if kind == ColumnKind::Text {
                self.distinct_values(schema, table, field.name()).await?
            } else {
                None
            };
            columns.push(ColumnInfo {
                name: field.name().clone(),
                kind,
                sql_type: sql_type(field.data_type()),
                values,
            });
        }
        let info = TableInfo {
            name: table.to_string(),
            columns,
            rows: None,
        };
        self.nl_cache()
            .tables
            .lock()
            .insert(key, (version, info.clone()));
        Ok(Some(info))
    }

    async fn distinct_values(
        &self,
        schema: &str,
        table: &str,
        column: &str,
    ) -> Result<Option<Vec<String>>> {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let sql = format!(
            "SELECT DISTINCT {} FROM {}.{} WHERE {} IS NOT NULL LIMIT {}",
            q(column),
            q(schema),
            q(table),
            q(column),
            MAX_VALUES + 1
        );
        let batches = self.context().sql(&sql).await?.collect().await?;
        let mut values = Vec::new();
        for b in &batches {
            let col = b.column(0);
            for i in 0..col.len() {
                let v = match col.data_type() {
                    DataType::Utf8View => col.as_string_view().value(i).to_string(),
                    DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                    _ => array_value_to_string(col, i)
                        .map_err(datafusion::error::DataFusionError::from)?,
                };
                values.push(v);
            }
        }
        if values.len() > MAX_VALUES || values.iter().any(|v| v.chars().count() > 60) {
            return Ok(None);
        }
        values.sort();
        Ok(Some(values))
    }

    /// The indexed semantic layer of each schema: `_semantic.toml` completed from the
    /// catalog, or derived from it alone.
    pub(crate) fn layers(&self, infos: &[SchemaInfo]) -> Result<Vec<Arc<Indexed>>> {
        let mut out = Vec::new();
        for info in infos {
            let path = self
                .catalog()
                .root()
                .join(&info.schema)
                .join(abacus_nl::semantic::FILE_NAME);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(Error::Io {
                        path: path.display().to_string(),
                        source: e,
                    })
                }
            };
            // Fingerprint: the file's text and the tables' values, cheap to compare.
            let fingerprint = format!("{:?}|{}", text, fingerprint(info));
            if let Some((f, indexed)) = self.nl_cache().layers.lock().get(&info.schema) {
                if *f == fingerprint {
                    out.push(indexed.clone());
                    continue;
                }
            }
            let derived = abacus_nl::derive::derive(info);
            let layer = match &text {
                Some(t) => {
                    let mut l = Layer::from_toml(t, &path.display().to_string())
                        .map_err(|e| Error::InvalidOption(e.to_string()))?;
                    l.complete_from(derived);
                    l
                }
                None => derived,
            };
            let indexed = Arc::new(Indexed::new(info.schema.clone(), layer));
            self.nl_cache()
                .layers
                .lock()
                .insert(info.schema.clone(), (fingerprint, indexed.clone()));
            out.push(indexed);
        }
        Ok(out)
    }
}

fn fingerprint(info: &SchemaInfo) -> String {
    let mut out = String::new();
    for t in &info.tables {
        out.push_str(&t.name);
        for c in &t.columns {
            out.push_str(&format!("|{}:{}:{:?}", c.name, c.sql_type, c.values));
        }
        out.push('\n');
    }
    out
}

/// Writes the demo datasets' semantic layers beside their tables (never over a user's edit).
pub fn write_demo_layers(root: &std::path::Path, schemas: &[&str]) -> Result<()> {
    for schema in schemas {
        let Some(text) = abacus_nl::demo_layer(schema) else {
            continue;
        };
        let path = root.join(schema).join(abacus_nl::semantic::FILE_NAME);
        if path.exists() {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
    }
    Ok(())
}
