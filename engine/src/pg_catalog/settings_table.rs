//! `pg_catalog.pg_settings` from the session's real settings (what `SET` changed,
//! `max_index_keys` that pgjdbc reads): the crate's table holds one fixed row. Also where
//! pg_attribute gets its typmods.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, SchemaProvider, TableProvider};
use datafusion::error::Result;

use crate::settings::Settings;

/// pg_catalog with `pg_settings` answered from `settings`; every other table from `inner`.
#[derive(Debug)]
pub struct WithSettings {
    pub inner: Arc<dyn SchemaProvider>,
    pub settings: Arc<Settings>,
    /// The session's catalogs, whose column types give pg_attribute its typmods.
    pub catalogs: Arc<dyn datafusion::catalog::CatalogProviderList>,
    pub oids: Arc<super::attribute_typmods::OidOrder>,
}

fn pg_settings(settings: &Settings) -> Result<Arc<dyn TableProvider>> {
    let rows = settings.all();
    let text = |f: &dyn Fn(&(String, String)) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("name", text(&|r| Some(r.0.clone()))),
        ("setting", text(&|r| Some(r.1.clone()))),
        ("unit", text(&|_| None)),
        ("category", text(&|_| None)),
        ("short_desc", text(&|_| None)),
        ("extra_desc", text(&|_| None)),
        ("context", text(&|_| Some("user".into()))),
        ("vartype", text(&|_| Some("string".into()))),
        ("source", text(&|_| Some("default".into()))),
        ("min_val", text(&|_| None)),
        ("max_val", text(&|_| None)),
        ("enumvals", text(&|_| None)),
        ("boot_val", text(&|r| Some(r.1.clone()))),
        ("reset_val", text(&|r| Some(r.1.clone()))),
        ("sourcefile", text(&|_| None)),
        (
            "sourceline",
            Arc::new(Int32Array::from(vec![None::<i32>; rows.len()])),
        ),
        (
            "pending_restart",
            Arc::new(BooleanArray::from(vec![false; rows.len()])),
        ),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

#[async_trait]
impl SchemaProvider for WithSettings {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name.eq_ignore_ascii_case("pg_settings") {
            return pg_settings(&self.settings).map(Some);
        }
        if name.eq_ignore_ascii_case("pg_attribute") {
            let Some(inner) = self.inner.table(name).await? else {
                return Ok(None);
            };
            return Ok(Some(Arc::new(super::attribute_typmods::WithTypmods {
                inner,
                catalogs: self.catalogs.clone(),
                pg_class: self.inner.table("pg_class").await?,
                oids: self.oids.clone(),
            })));
        }
        if name.eq_ignore_ascii_case("pg_class") {
            let Some(inner) = self.inner.table(name).await? else {
                return Ok(None);
            };
            return Ok(Some(Arc::new(super::class_table::PgClass { inner })));
        }
        if name.eq_ignore_ascii_case("pg_namespace") {
            let Some(inner) = self.inner.table(name).await? else {
                return Ok(None);
            };
            return Ok(Some(Arc::new(super::attribute_typmods::AfterPgClass {
                inner,
                pg_class: self.inner.table("pg_class").await?,
                oids: self.oids.clone(),
            })));
        }
        self.inner.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}
