//! `abacus.query_audit_log` (every ASK) and `abacus.nl_examples` (answers a user confirmed):
//! ordinary Delta tables, queryable like any other, appended one commit per entry.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::logical_expr::LogicalPlanBuilder;

use super::context::INTERNAL_SCHEMA;
use crate::{Result, Session};

pub(crate) const AUDIT_TABLE: &str = "query_audit_log";
pub(crate) const EXAMPLES_TABLE: &str = "nl_examples";

/// One ASK, as logged.
pub struct AuditEntry<'a> {
    pub user: &'a str,
    pub question: &'a str,
    pub sql: Option<&'a str>,
    pub provider: &'a str,
    pub success: bool,
    pub error: Option<String>,
    pub row_count: Option<i64>,
    pub execution_time_ms: f64,
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Session {
    pub(crate) async fn log_ask(&self, e: &AuditEntry<'_>) -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("user", DataType::Utf8, false),
            Field::new("question", DataType::Utf8, false),
            Field::new("sql", DataType::Utf8, true),
            Field::new("provider", DataType::Utf8, false),
            Field::new("success", DataType::Boolean, false),
            Field::new("error", DataType::Utf8, true),
            Field::new("row_count", DataType::Int64, true),
            Field::new("execution_time_ms", DataType::Float64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(vec![now_micros()])),
            Arc::new(StringArray::from(vec![e.user])),
            Arc::new(StringArray::from(vec![e.question])),
            Arc::new(StringArray::from(vec![e.sql])),
            Arc::new(StringArray::from(vec![e.provider])),
            Arc::new(BooleanArray::from(vec![e.success])),
            Arc::new(StringArray::from(vec![e.error.as_deref()])),
            Arc::new(Int64Array::from(vec![e.row_count])),
            Arc::new(Float64Array::from(vec![e.execution_time_ms])),
        ];
        let batch = RecordBatch::try_new(schema, columns)
            .map_err(datafusion::error::DataFusionError::from)?;
        self.append_internal(AUDIT_TABLE, batch).await
    }

    /// Stores a confirmed (question, SQL) pair for reuse and as an LLM example.
    pub(crate) async fn save_example(&self, question: &str, sql: &str) -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("question", DataType::Utf8, false),
            Field::new("sql", DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(vec![now_micros()])),
            Arc::new(StringArray::from(vec![question])),
            Arc::new(StringArray::from(vec![sql])),
        ];
        let batch = RecordBatch::try_new(schema, columns)
            .map_err(datafusion::error::DataFusionError::from)?;
        self.append_internal(EXAMPLES_TABLE, batch).await
    }

    /// Confirmed examples, newest first.
    pub(crate) async fn examples(&self) -> Result<Vec<(String, String)>> {
        if !self.catalog().table_exists(INTERNAL_SCHEMA, EXAMPLES_TABLE) {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT question, sql FROM {INTERNAL_SCHEMA}.{EXAMPLES_TABLE} ORDER BY ts DESC LIMIT 200");
        let batches = self.context().sql(&sql).await?.collect().await?;
        let mut out = Vec::new();
        for b in batches {
            let b = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)
                .and_then(|q| {
                    Ok((
                        q,
                        datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?,
                    ))
                })
                .map_err(datafusion::error::DataFusionError::from)?;
            let (q, s) = (b.0, b.1);
            let q = q
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .unwrap_or_else(|| StringArray::from(Vec::<String>::new()));
            let s = s
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .unwrap_or_else(|| StringArray::from(Vec::<String>::new()));
            for i in 0..q.len() {
                out.push((q.value(i).to_string(), s.value(i).to_string()));
            }
        }
        Ok(out)
    }

    async fn append_internal(&self, table: &str, batch: RecordBatch) -> Result<()> {
        let catalog = self.catalog().clone();
        catalog.create_schema(INTERNAL_SCHEMA, true)?;
        let plan = || -> Result<datafusion::logical_expr::LogicalPlan> {
            let mem = MemTable::try_new(batch.schema(), vec![vec![batch.clone()]])?;
            Ok(
                LogicalPlanBuilder::scan(table, provider_as_source(Arc::new(mem)), None)?
                    .build()?,
            )
        };
        let state = Arc::new(self.state());
        if !catalog.table_exists(INTERNAL_SCHEMA, table) {
            match catalog
                .create_table(INTERNAL_SCHEMA, table, plan()?, state.clone())
                .await
            {
                Ok(_) => return Ok(()),
                // Another session created it first: append below.
                Err(abacus_catalog::Error::TableExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        catalog
            .append(INTERNAL_SCHEMA, table, plan()?, state)
            .await?;
        Ok(())
    }
}
