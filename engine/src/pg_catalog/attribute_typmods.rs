//! `pg_attribute.atttypmod` for numeric(p,s) columns: datafusion-pg-catalog writes -1 for
//! every column, so `format_type(atttypid, atttypmod)` said `numeric` where SQLAlchemy and
//! pgjdbc read `numeric(12,2)` (precision and scale of the column).
//!
//! The crate lists attributes catalog by catalog, schema by schema, table by table, field by
//! field; the same walk here pairs each row with its Arrow field, checked by name.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, Int32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int16Type, SchemaRef};
use datafusion::catalog::{CatalogProviderList, Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;

/// pg_attribute from `inner`, with typmods from the fields of `catalogs`.
#[derive(Debug)]
pub struct WithTypmods {
    pub inner: Arc<dyn TableProvider>,
    pub catalogs: Arc<dyn CatalogProviderList>,
    pub pg_class: Option<Arc<dyn TableProvider>>,
    pub oids: Arc<OidOrder>,
}

/// datafusion-pg-catalog numbers relations per session, in the order its tables first
/// walk the catalog: pg_class numbers the catalog, each schema and then its tables, while
/// pg_attribute numbers tables only. A session that read pg_attribute first gave
/// `metrics` another oid than a session that read pg_class first, so an oid one pooled
/// connection found meant another table on the next. Walking pg_class once before the other
/// oid-numbering tables makes every session number the same catalog alike.
#[derive(Debug, Default)]
pub struct OidOrder {
    walked: tokio::sync::OnceCell<()>,
}

impl OidOrder {
    pub async fn walk_pg_class(
        &self,
        pg_class: Option<Arc<dyn TableProvider>>,
        state: &dyn Session,
    ) -> Result<()> {
        self.walked
            .get_or_try_init(|| async {
                if let Some(table) = pg_class {
                    let plan = table.scan(state, None, &[], None).await?;
                    datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
                }
                Ok::<_, datafusion::error::DataFusionError>(())
            })
            .await
            .map(|_| ())
    }
}

/// A pg_catalog table that numbers relations (pg_namespace), read after pg_class.
#[derive(Debug)]
pub struct AfterPgClass {
    pub inner: Arc<dyn TableProvider>,
    pub pg_class: Option<Arc<dyn TableProvider>>,
    pub oids: Arc<OidOrder>,
}

#[async_trait]
impl TableProvider for AfterPgClass {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.oids
            .walk_pg_class(self.pg_class.clone(), state)
            .await?;
        self.inner.scan(state, projection, filters, limit).await
    }
}

/// PostgreSQL's typmod of a column of type `t`, -1 when it has none.
fn typmod(t: &DataType) -> i32 {
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s)
            if *s >= 0 =>
        {
            ((i32::from(*p) << 16) | i32::from(*s as u8)) + 4
        }
        _ => -1,
    }
}

/// `atttypid` is an `oid` in PostgreSQL (pgjdbc's getColumns reads it as one); the crate
/// marks it `regtype`.
fn schema_with_oid_types(schema: &SchemaRef) -> SchemaRef {
    const ALIAS: &str = "pg.oid_alias";
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == "atttypid" && f.metadata().contains_key(ALIAS) {
                let mut metadata = f.metadata().clone();
                metadata.insert(ALIAS.to_string(), "oid".to_string());
                Arc::new(f.as_ref().clone().with_metadata(metadata))
            } else {
                f.clone()
            }
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

impl WithTypmods {
    /// (name, typmod) of every column, in the crate's order.
    async fn columns(&self) -> Result<Vec<(String, i32)>> {
        let mut out = Vec::new();
        for catalog_name in self.catalogs.catalog_names() {
            let Some(catalog) = self.catalogs.catalog(&catalog_name) else {
                continue;
            };
            for schema_name in catalog.schema_names() {
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                for table_name in schema.table_names() {
                    if let Some(table) = schema.table(&table_name).await? {
                        for field in table.schema().fields() {
                            out.push((field.name().clone(), typmod(field.data_type())));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl TableProvider for WithTypmods {
    fn schema(&self) -> SchemaRef {
        schema_with_oid_types(&self.inner.schema())
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.oids
            .walk_pg_class(self.pg_class.clone(), state)
            .await?;
        let plan = self.inner.scan(state, None, &[], None).await?;
        let batches = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
        let columns = self.columns().await?;
        let schema = self.schema();
        let (Ok(name_at), Ok(typmod_at), Ok(attnum_at)) = (
            schema.index_of("attname"),
            schema.index_of("atttypmod"),
            schema.index_of("attnum"),
        ) else {
            let batches = batches
                .into_iter()
                .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            return MemorySourceConfig::try_new_exec(&[batches], schema, projection.cloned())
                .map(|e| e as Arc<dyn ExecutionPlan>);
        };
        let mut next = 0;
        let mut fixed = Vec::with_capacity(batches.len());
        for batch in batches {
            let names = batch.column(name_at).as_string_opt::<i32>().cloned();
            let attnums = batch
                .column(attnum_at)
                .as_primitive_opt::<Int16Type>()
                .cloned();
            let old = batch
                .column(typmod_at)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            let mut typmods = Vec::with_capacity(batch.num_rows());
            for row in 0..batch.num_rows() {
                let name = names.as_ref().map(|n| n.value(row));
                let attnum = attnums.as_ref().map(|a| a.value(row)).unwrap_or(0);
                // Should the walks drift apart (a table created in between), the rest keep -1.
                let found = columns
                    .get(next)
                    .filter(|(n, _)| Some(n.as_str()) == name && attnum > 0)
                    .map(|(_, t)| *t);
                if found.is_some() {
                    next += 1;
                }
                typmods.push(found.unwrap_or_else(|| old.value(row)));
            }
            let mut arrays = batch.columns().to_vec();
            arrays[typmod_at] = Arc::new(Int32Array::from(typmods));
            fixed.push(RecordBatch::try_new(schema.clone(), arrays)?);
        }
        MemorySourceConfig::try_new_exec(&[fixed], schema, projection.cloned())
            .map(|e| e as Arc<dyn ExecutionPlan>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmods_hold_precision_and_scale() {
        assert_eq!(typmod(&DataType::Decimal128(12, 2)), (12 << 16 | 2) + 4);
        assert_eq!(typmod(&DataType::Int64), -1);
    }
}
