//! DataFusion's view of the catalog: schemas are folders, tables open as Delta scans at the
//! version asked for, views are planned from their stored SQL when referenced.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use abacus_catalog::Catalog;
use async_trait::async_trait;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::TableType;
use parking_lot::RwLock;

use crate::versioned;

/// The `abacus` catalog of one session.
#[derive(Debug)]
pub struct AbacusCatalog {
    catalog: Arc<Catalog>,
    state: Weak<RwLock<SessionState>>,
    /// In-memory system schemas (`pg_catalog`): never folders in the data directory.
    system: RwLock<BTreeMap<String, Arc<dyn SchemaProvider>>>,
}

/// Schemas that live in memory, registered by the engine itself.
const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog"];

impl AbacusCatalog {
    pub fn new(catalog: Arc<Catalog>, state: Weak<RwLock<SessionState>>) -> Self {
        Self {
            catalog,
            state,
            system: RwLock::default(),
        }
    }

    /// Drops the system schemas. pg_catalog's providers hold the session's catalog list,
    /// which holds this catalog: without this, that cycle keeps every closed session's state
    /// (about 6 MiB) alive for the life of the server.
    pub fn release_system_schemas(&self) {
        self.system.write().clear();
    }
}

impl CatalogProvider for AbacusCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.catalog.schema_names();
        names.extend(self.system.read().keys().cloned());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some(system) = self.system.read().get(name) {
            return Some(system.clone());
        }
        self.catalog.schema_exists(name).then(|| {
            Arc::new(AbacusSchema {
                catalog: self.catalog.clone(),
                schema: name.to_string(),
                state: self.state.clone(),
            }) as Arc<dyn SchemaProvider>
        })
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        if SYSTEM_SCHEMAS.contains(&name) {
            return Ok(self.system.write().insert(name.to_string(), schema));
        }
        self.catalog
            .create_schema(name, false)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(None)
    }
}

#[derive(Debug)]
struct AbacusSchema {
    catalog: Arc<Catalog>,
    schema: String,
    state: Weak<RwLock<SessionState>>,
}

impl AbacusSchema {
    fn session_state(&self) -> Result<SessionState> {
        let state = self
            .state
            .upgrade()
            .ok_or_else(|| DataFusionError::Internal("the session has been closed".into()))?;
        let cloned = state.read().clone();
        Ok(cloned)
    }

    async fn view(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(sql) = self
            .catalog
            .views()
            .get(&self.schema, name)
            .map_err(external)?
        else {
            return Ok(None);
        };
        let state = self.session_state()?;
        let rewritten = versioned::rewrite(&sql).map_err(external)?;
        let plan = state
            .create_logical_plan(&rewritten)
            .await
            .map_err(|e| e.context(format!("view {}.{name} no longer plans", self.schema)))?;
        Ok(Some(Arc::new(ViewTable::new(plan, Some(sql)))))
    }
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl SchemaProvider for AbacusSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.catalog.table_names(&self.schema);
        names.extend(self.catalog.views().names(&self.schema).unwrap_or_default());
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let (table, version) = versioned::parse_name(name).map_err(external)?;
        if !self.catalog.table_exists(&self.schema, table) {
            return self.view(name).await;
        }
        let delta = self
            .catalog
            .table_at(&self.schema, table, version)
            .await
            .map_err(external)?;
        let state = self.session_state()?;
        delta.update_datafusion_session(&state).map_err(external)?;
        // With the session, the Delta scan takes its Parquet settings from it: without it,
        // delta-rs turns on row-level filter pushdown (`pushdown_filters`), which DataFusion
        // leaves off by default and which made filtered scans up to 2x slower (BENCHMARKS.md).
        // Row-group and page pruning still get the filters either way.
        let state = Arc::new(state);
        let provider = delta
            .table_provider()
            .with_session(Arc::clone(&state) as _)
            .await?;
        // Per-column min/max for join ordering (see scan_stats.rs), and a small table's
        // distinct counts (distinct_counts.rs).
        let stats = crate::scan_stats::table_stats(&delta);
        crate::distinct_counts::count_small_table(&stats, &state, Arc::clone(&provider)).await;
        let plain = crate::plain_scan::is_plain(&delta);
        Ok(Some(Arc::new(crate::scan_stats::WithColumnStats {
            inner: provider,
            stats,
            plain,
            // Only a plain scan can declare an order (sorted_scan.rs): no record read else.
            sorted_by: plain
                .then(|| self.catalog.sorted_by(&self.schema, table, &delta))
                .flatten(),
        })))
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        if self.catalog.table_exists(&self.schema, name) {
            Ok(Some(TableType::Base))
        } else if self
            .catalog
            .views()
            .get(&self.schema, name)
            .map_err(external)?
            .is_some()
        {
            Ok(Some(TableType::View))
        } else {
            Ok(None)
        }
    }

    fn register_table(
        &self,
        name: String,
        _table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "cannot register \"{name}\" as an external table: Abacus stores tables itself; \
             load files with COPY {name} FROM 'path' or CREATE TABLE {name} AS SELECT * FROM 'path'"
        )))
    }

    fn table_exist(&self, name: &str) -> bool {
        match versioned::parse_name(name) {
            Ok((table, _)) => {
                self.catalog.table_exists(&self.schema, table)
                    || matches!(self.catalog.views().get(&self.schema, name), Ok(Some(_)))
            }
            Err(_) => false,
        }
    }
}
