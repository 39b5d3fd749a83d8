//! Deterministic demo datasets (payments, marketplace, learning) following
//! shared/nl/schemas.sql, with timestamps relative to today so "yesterday" has data.

mod gen;
mod learning;
mod marketplace;
mod payments;

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::logical_expr::LogicalPlanBuilder;

use crate::{Database, Result};

/// Whether existing demo tables are kept or written anew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--demo`: create only the tables that are missing.
    IfMissing,
    /// `abacus demo`: drop and rewrite every demo table.
    Replace,
}

/// What was written: `(schema.table, rows)`.
#[derive(Debug, Default)]
pub struct Report {
    pub tables: Vec<(String, usize)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.tables.iter().map(|(_, n)| n).sum();
        writeln!(f, "demo data: {} tables, {total} rows", self.tables.len())?;
        for (name, rows) in &self.tables {
            writeln!(f, "  {name:<32} {rows:>9}")?;
        }
        Ok(())
    }
}

/// One dataset's tables, generated together because they reference each other.
pub(crate) type Tables = Vec<(&'static str, RecordBatch)>;

/// Writes the three datasets at `scale` (1.0 ≈ one million rows in all).
pub async fn generate(db: &Database, scale: f64, mode: Mode) -> Result<Report> {
    if !(scale > 0.0 && scale <= 100.0) {
        return Err(crate::Error::InvalidOption(format!(
            "--scale must be greater than 0 and at most 100, got {scale}"
        )));
    }
    let today = chrono::Utc::now().naive_utc();
    let mut report = Report::default();
    type Generator = fn(f64, chrono::NaiveDateTime) -> Tables;
    let datasets: [(&str, Generator); 3] = [
        ("payments", payments::generate),
        ("marketplace", marketplace::generate),
        ("learning", learning::generate),
    ];
    let catalog = db.catalog();
    for (schema, make) in datasets {
        let names: &[&str] = match schema {
            "payments" => payments::TABLES,
            "marketplace" => marketplace::TABLES,
            _ => learning::TABLES,
        };
        if mode == Mode::IfMissing && names.iter().all(|t| catalog.table_exists(schema, t)) {
            continue;
        }
        catalog.create_schema(schema, true)?;
        let tables = make(scale, today);
        for (table, batch) in tables {
            if catalog.table_exists(schema, table) {
                if mode == Mode::IfMissing {
                    continue;
                }
                catalog.drop_table(schema, table, true)?;
            }
            let rows = batch.num_rows();
            let mem = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
            let plan = LogicalPlanBuilder::scan(table, provider_as_source(Arc::new(mem)), None)?
                .build()?;
            let session = db.session();
            catalog
                .create_table(schema, table, plan, Arc::new(session.context().state()))
                .await?;
            report.tables.push((format!("{schema}.{table}"), rows));
        }
    }
    // The semantic layers that let ASK answer questions about the demo data.
    crate::write_demo_layers(catalog.root(), &["payments", "marketplace", "learning"])?;
    Ok(report)
}
