//! Delta tables: open (cached, caught up on every use), create, write, delete, update, restore, drop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::Session;
use datafusion::logical_expr::LogicalPlan;
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use url::Url;

use crate::files::writer_properties;
use crate::history::{commit_info, HistoryEntry};
use crate::layout::{validate_name, DataDir};
use crate::views::ViewStore;
use crate::{Error, Result};

/// Which state of a table a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableVersion {
    Latest,
    Version(u64),
    /// The last version committed at or before this instant.
    AsOf(DateTime<Utc>),
}

/// What a committed write did: the version it created and the rows it touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    pub version: u64,
    pub rows: u64,
}

/// The data directory's tables and views. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Catalog {
    dir: DataDir,
    views: ViewStore,
    /// Loaded logs, so a query replays only the commits made since the last one.
    cache: Mutex<HashMap<PathBuf, DeltaTable>>,
}

fn qualified(schema: &str, table: &str) -> String {
    format!("{schema}.{table}")
}

/// `delta`'s loaded version's columns as Arrow types; `None` without a snapshot or when a
/// column has no Arrow type (delta-rs's `arrow_schema` panics then).
pub fn arrow_columns(delta: &DeltaTable) -> Option<Schema> {
    delta
        .snapshot()
        .ok()
        .and_then(|snapshot| snapshot.schema().as_ref().try_into_arrow().ok())
}

/// `delta`'s columns, for the encodings of the files a rewrite adds; no columns (every
/// column as Parquet's defaults write it) if the log has none Arrow reads.
fn table_columns(delta: &DeltaTable) -> Schema {
    arrow_columns(delta).unwrap_or_else(Schema::empty)
}

impl Catalog {
    /// Opens (creating when missing) the data directory at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let dir = DataDir::create(root)?;
        let views = ViewStore::new(dir.catalog_file());
        Ok(Self {
            dir,
            views,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    pub fn views(&self) -> &ViewStore {
        &self.views
    }

    pub fn schema_names(&self) -> Vec<String> {
        self.dir.schema_names()
    }

    pub fn schema_exists(&self, schema: &str) -> bool {
        self.dir.schema_exists(schema)
    }

    pub fn table_names(&self, schema: &str) -> Vec<String> {
        self.dir.table_names(schema)
    }

    pub fn table_exists(&self, schema: &str, table: &str) -> bool {
        self.dir.table_exists(schema, table)
    }

    pub fn create_schema(&self, schema: &str, if_not_exists: bool) -> Result<()> {
        validate_name(schema)?;
        if self.dir.schema_exists(schema) {
            return if if_not_exists {
                Ok(())
            } else {
                Err(Error::SchemaExists(schema.to_string()))
            };
        }
        let path = self.dir.schema_path(schema);
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))
    }

    /// Returns whether the schema existed.
    pub fn drop_schema(&self, schema: &str, if_exists: bool, cascade: bool) -> Result<bool> {
        if !self.dir.schema_exists(schema) {
            return if if_exists {
                Ok(false)
            } else {
                Err(Error::SchemaNotFound(schema.to_string()))
            };
        }
        let tables = self.table_names(schema);
        let views = self.views.names(schema)?;
        if !cascade && (!tables.is_empty() || !views.is_empty()) {
            return Err(Error::SchemaNotEmpty(schema.to_string()));
        }
        for view in views {
            self.views.remove(schema, &view)?;
        }
        let path = self.dir.schema_path(schema);
        self.forget_under(&path);
        std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(true)
    }

    fn check_schema(&self, schema: &str) -> Result<()> {
        if self.dir.schema_exists(schema) {
            Ok(())
        } else {
            Err(Error::SchemaNotFound(schema.to_string()))
        }
    }

    fn table_url(&self, schema: &str, table: &str) -> Result<Url> {
        let path = self.dir.table_path(schema, table);
        Url::from_directory_path(&path).map_err(|()| {
            Error::InvalidName(
                path.display().to_string(),
                "the data directory path cannot be turned into a URL",
            )
        })
    }

    fn forget_under(&self, prefix: &Path) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|path, _| !path.starts_with(prefix));
    }

    /// The table at its latest committed version (including commits by other processes).
    pub async fn table(&self, schema: &str, table: &str) -> Result<DeltaTable> {
        self.table_at(schema, table, TableVersion::Latest).await
    }

    pub async fn table_at(
        &self,
        schema: &str,
        table: &str,
        version: TableVersion,
    ) -> Result<DeltaTable> {
        let name = qualified(schema, table);
        if !self.dir.table_exists(schema, table) {
            return Err(Error::TableNotFound(name));
        }
        let path = self.dir.table_path(schema, table);
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&path).cloned()
        };
        let mut delta = match cached {
            Some(t) => t,
            None => self.load_fresh(schema, table).await?,
        };
        if delta.update_incremental(None).await.is_err() {
            // The log moved backwards (dropped and recreated elsewhere): start over.
            delta = self.load_fresh(schema, table).await?;
        }
        {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.insert(path, delta.clone());
        }
        match version {
            TableVersion::Latest => Ok(delta),
            TableVersion::Version(v) => {
                let latest = delta.version().unwrap_or(0);
                if v > latest {
                    return Err(Error::VersionNotFound {
                        table: name,
                        version: v as i64,
                        reason: format!("the latest version is {latest}"),
                    });
                }
                delta
                    .load_version(v)
                    .await
                    .map_err(|e| Error::VersionNotFound {
                        table: name,
                        version: v as i64,
                        reason: e.to_string(),
                    })?;
                Ok(delta)
            }
            TableVersion::AsOf(ts) => {
                delta
                    .load_with_datetime(ts)
                    .await
                    .map_err(|e| Error::delta(&name, e))?;
                Ok(delta)
            }
        }
    }

    async fn load_fresh(&self, schema: &str, table: &str) -> Result<DeltaTable> {
        let url = self.table_url(schema, table)?;
        let mut t = DeltaTable::try_from_url(url)
            .await
            .map_err(|e| Error::delta(&qualified(schema, table), e))?;
        if t.version().is_none() {
            t.load()
                .await
                .map_err(|e| Error::delta(&qualified(schema, table), e))?;
        }
        Ok(t)
    }

    /// Creates `schema.table` from `input` (its schema, and its rows when it has any) in one
    /// commit. A failure leaves no folder behind.
    pub async fn create_table(
        &self,
        schema: &str,
        table: &str,
        input: LogicalPlan,
        session: Arc<dyn Session>,
    ) -> Result<WriteOutcome> {
        validate_name(table)?;
        self.check_schema(schema)?;
        let name = qualified(schema, table);
        if self.dir.table_exists(schema, table) {
            return Err(Error::TableExists(name));
        }
        let path = self.dir.table_path(schema, table);
        let existed_before = path.exists();
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        let result = async {
            let url = self.table_url(schema, table)?;
            let fresh = DeltaTable::try_from_url(url)
                .await
                .map_err(|e| Error::delta(&name, e))?;
            let written = fresh
                .write(Vec::new())
                .with_writer_properties(writer_properties(input.schema().as_arrow()))
                .with_input_plan(input)
                .with_session_state(session)
                .with_save_mode(SaveMode::ErrorIfExists)
                .with_table_name(table)
                .await
                .map_err(|e| match e {
                    DeltaTableError::Transaction { .. } => Error::TableExists(name.clone()),
                    e => Error::delta(&name, e),
                })?;
            self.note_sort_order(schema, table, &written).await;
            self.outcome(&name, &written, "num_added_rows").await
        }
        .await;
        if result.is_err() && !existed_before && !path.join("_delta_log").is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        }
        result
    }

    /// Appends the rows `input` produces, in one commit.
    pub async fn append(
        &self,
        schema: &str,
        table: &str,
        input: LogicalPlan,
        session: Arc<dyn Session>,
    ) -> Result<WriteOutcome> {
        let name = qualified(schema, table);
        let delta = self.table(schema, table).await?;
        let written = delta
            .write(Vec::new())
            .with_writer_properties(writer_properties(input.schema().as_arrow()))
            .with_input_plan(input)
            .with_session_state(session)
            .with_save_mode(SaveMode::Append)
            .await
            .map_err(|e| Error::delta(&name, e))?;
        self.remember(schema, table, &written);
        self.note_sort_order(schema, table, &written).await;
        self.outcome(&name, &written, "num_added_rows").await
    }

    /// Deletes the rows matching `predicate` (every row when `None`), in one commit.
    /// `rows` is `None` when Delta could not count them (whole files removed by a truncate).
    pub async fn delete(
        &self,
        schema: &str,
        table: &str,
        predicate: Option<String>,
        session: Arc<dyn Session>,
    ) -> Result<(u64, Option<u64>)> {
        let name = qualified(schema, table);
        let delta = self.table(schema, table).await?;
        let properties = writer_properties(&table_columns(&delta));
        let mut builder = delta
            .delete()
            .with_session_state(session)
            .with_writer_properties(properties);
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        let (written, metrics) = builder.await.map_err(|e| Error::delta(&name, e))?;
        self.remember(schema, table, &written);
        self.note_sort_order(schema, table, &written).await;
        Ok((
            written.version().unwrap_or(0),
            metrics.num_deleted_rows.map(|n| n as u64),
        ))
    }

    /// Sets `assignments` (column, SQL expression) on the rows matching `predicate`, in one commit.
    pub async fn update(
        &self,
        schema: &str,
        table: &str,
        assignments: Vec<(String, String)>,
        predicate: Option<String>,
        session: Arc<dyn Session>,
    ) -> Result<WriteOutcome> {
        let name = qualified(schema, table);
        let delta = self.table(schema, table).await?;
        let properties = writer_properties(&table_columns(&delta));
        let mut builder = delta
            .update()
            .with_session_state(session)
            .with_writer_properties(properties);
        for (column, value) in assignments {
            builder = builder.with_update(column, value);
        }
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        let (written, metrics) = builder.await.map_err(|e| Error::delta(&name, e))?;
        self.remember(schema, table, &written);
        self.note_sort_order(schema, table, &written).await;
        Ok(WriteOutcome {
            version: written.version().unwrap_or(0),
            rows: metrics.num_updated_rows as u64,
        })
    }

    /// Makes `version` the table's current state again, as a new commit.
    pub async fn restore(&self, schema: &str, table: &str, version: u64) -> Result<u64> {
        let name = qualified(schema, table);
        let delta = self.table(schema, table).await?;
        let latest = delta.version().unwrap_or(0);
        if version > latest {
            return Err(Error::VersionNotFound {
                table: name,
                version: version as i64,
                reason: format!("the latest version is {latest}"),
            });
        }
        if version == latest {
            // Already there: no commit, as restoring would change nothing.
            return Ok(latest);
        }
        let (written, _metrics) = delta
            .restore()
            .with_version_to_restore(version)
            .await
            .map_err(|e| Error::delta(&name, e))?;
        self.remember(schema, table, &written);
        self.note_sort_order(schema, table, &written).await;
        Ok(written.version().unwrap_or(0))
    }

    /// Removes the table's folder, data and log together. Returns whether it existed.
    pub fn drop_table(&self, schema: &str, table: &str, if_exists: bool) -> Result<bool> {
        if !self.dir.table_exists(schema, table) {
            return if if_exists {
                Ok(false)
            } else {
                Err(Error::TableNotFound(qualified(schema, table)))
            };
        }
        let path = self.dir.table_path(schema, table);
        self.forget_under(&path);
        // Drop the log first so that a crash half-way leaves "no table", never a torn one.
        let log = path.join("_delta_log");
        std::fs::remove_dir_all(&log).map_err(|e| Error::io(&log, e))?;
        std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(true)
    }

    /// Every commit, newest first.
    pub async fn history(&self, schema: &str, table: &str) -> Result<Vec<HistoryEntry>> {
        let name = qualified(schema, table);
        let delta = self.table(schema, table).await?;
        let latest = delta.version().unwrap_or(0);
        let store = delta.log_store();
        let mut entries = Vec::new();
        for version in (0..=latest).rev() {
            match commit_info(store.as_ref(), version)
                .await
                .map_err(|e| Error::delta(&name, e))?
            {
                Some(info) => entries.push(HistoryEntry::from_commit(version, info)),
                // Older commits may have been cleaned up by log retention.
                None => break,
            }
        }
        Ok(entries)
    }

    /// Checks the files a write added for their order (see sort_order.rs). The write has
    /// committed by now, so a failure here is logged, not returned: the files then only
    /// count as unordered.
    async fn note_sort_order(&self, schema: &str, table: &str, written: &DeltaTable) {
        let dir = self.dir.table_path(schema, table);
        if let Err(e) = crate::sort_order::check_new_files(&dir, written).await {
            tracing::warn!("could not record the sort order of {schema}.{table}'s new files: {e}");
        }
    }

    /// Checks which data files of the table's latest version ascend by its first column,
    /// for files no Abacus write has checked (written by another tool); returns how many
    /// were checked. Scans of a table whose files all ascend declare that order.
    pub async fn analyze(&self, schema: &str, table: &str) -> Result<usize> {
        let delta = self.table(schema, table).await?;
        let dir = self.dir.table_path(schema, table);
        crate::sort_order::check_new_files(&dir, &delta).await
    }

    /// The column every data file of `delta` (a version of `schema.table`) ascends by,
    /// with no nulls, when one is known.
    pub fn sorted_by(&self, schema: &str, table: &str, delta: &DeltaTable) -> Option<String> {
        crate::sort_order::sorted_by(&self.dir.table_path(schema, table), delta)
    }

    fn remember(&self, schema: &str, table: &str, delta: &DeltaTable) {
        let path = self.dir.table_path(schema, table);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(path, delta.clone());
    }

    async fn outcome(&self, name: &str, delta: &DeltaTable, metric: &str) -> Result<WriteOutcome> {
        let version = delta.version().unwrap_or(0);
        let info = commit_info(delta.log_store().as_ref(), version)
            .await
            .map_err(|e| Error::delta(name, e))?;
        let rows = info
            .as_ref()
            .and_then(|i| i.info.get("operationMetrics"))
            .and_then(|m| m.get(metric))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        Ok(WriteOutcome { version, rows })
    }
}
