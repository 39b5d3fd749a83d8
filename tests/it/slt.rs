//! Runs every `tests/slt/*.slt` file through an embedded `Session` on a fresh data directory.

use std::path::PathBuf;

use abacus_engine::datafusion::arrow::datatypes::DataType;
use abacus_engine::datafusion::arrow::util::display::array_value_to_string;
use abacus_engine::{Config, Database, Output, Session};
use async_trait::async_trait;
use futures::StreamExt;
use sqllogictest::{DBOutput, DefaultColumnType};

struct Db {
    session: Session,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
struct SqlError(String);

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SqlError {}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlError> {
        let err = |e: abacus_engine::Error| SqlError(format!("{e} (SQLSTATE {})", e.sqlstate()));
        let output = self.session.execute_one(sql).await.map_err(err)?;
        match output {
            Output::Command { rows, .. } => Ok(DBOutput::StatementComplete(rows.unwrap_or(0))),
            Output::Rows(mut stream) => {
                let types = stream
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| column_type(f.data_type()))
                    .collect();
                let mut rows = Vec::new();
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(|e| err(e.into()))?;
                    for r in 0..batch.num_rows() {
                        rows.push(
                            batch
                                .columns()
                                .iter()
                                .map(|c| {
                                    if c.is_null(r) {
                                        "NULL".to_string()
                                    } else {
                                        let s = array_value_to_string(c, r).unwrap_or_default();
                                        if s.is_empty() {
                                            "(empty)".into()
                                        } else {
                                            s
                                        }
                                    }
                                })
                                .collect(),
                        );
                    }
                }
                Ok(DBOutput::Rows { types, rows })
            }
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "abacus"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await
    }
}

async fn run_file(path: PathBuf) {
    let mut runner = sqllogictest::Runner::new(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let db =
            Database::open(dir.path(), Config::default()).map_err(|e| SqlError(e.to_string()))?;
        Ok(Db {
            session: db.session(),
            _dir: dir,
        })
    });
    if let Err(e) = runner.run_file_async(&path).await {
        panic!("{}: {e}", path.display());
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the slt files in {}",
        dir.display()
    );
    files
}

macro_rules! slt_test {
    ($name:ident, $file:literal) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/slt")
                .join($file);
            run_file(path).await;
        }
    };
}

slt_test!(slt_ddl, "ddl.slt");
slt_test!(slt_dml, "dml.slt");
slt_test!(slt_integers, "integers.slt");
slt_test!(slt_copy, "copy.slt");
slt_test!(slt_cursors, "cursors.slt");
slt_test!(slt_versions, "versions.slt");
slt_test!(slt_views, "views.slt");
slt_test!(slt_ctes, "ctes.slt");
slt_test!(slt_joins, "joins.slt");
slt_test!(slt_filters, "filters.slt");
slt_test!(slt_pg_session, "pg_session.slt");
slt_test!(slt_stats_ttest, "stats_ttest.slt");
slt_test!(slt_stats_mann_whitney, "stats_mann_whitney.slt");
slt_test!(slt_stats_ztest, "stats_ztest.slt");
slt_test!(slt_stats_srm, "stats_srm.slt");
slt_test!(slt_stats_cuped, "stats_cuped.slt");
slt_test!(slt_stats_power, "stats_power.slt");
slt_test!(slt_stats_p_adjust, "stats_p_adjust.slt");
slt_test!(slt_stats_business, "stats_business.slt");

/// Every file in tests/slt has a test above: a new file cannot be silently left out.
#[test]
fn every_slt_file_is_run() {
    let source = include_str!("slt.rs");
    for file in slt_files() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "{name} has no slt_test! line"
        );
    }
}
