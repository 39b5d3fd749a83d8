//! pg_class with PostgreSQL 15's full column list: datafusion-pg-catalog lacks `relacl` and
//! `reloptions` (SQLAlchemy's get_indexes reads `reloptions`) and types `relam`,
//! `reltablespace` and `reloftype` unlike PostgreSQL (they are all `oid` there).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::ExecutionPlan;

const OID_ALIAS: &str = "pg.oid_alias";
const OID_COLUMNS: &[&str] = &["relam", "reltablespace", "reloftype"];
/// Columns the crate lacks; no Abacus relation has ACLs or storage options.
const TEXT_ARRAY_COLUMNS: &[&str] = &["relacl", "reloptions"];

#[derive(Debug)]
pub struct PgClass {
    pub inner: Arc<dyn TableProvider>,
}

impl PgClass {
    fn text_array() -> DataType {
        DataType::new_list(DataType::Utf8, true)
    }
}

#[async_trait]
impl TableProvider for PgClass {
    fn schema(&self) -> SchemaRef {
        let inner = self.inner.schema();
        let mut fields: Vec<Field> = inner
            .fields()
            .iter()
            .map(|f| {
                if OID_COLUMNS.contains(&f.name().as_str()) {
                    let mut metadata = f.metadata().clone();
                    metadata.insert(OID_ALIAS.into(), "oid".into());
                    f.as_ref().clone().with_metadata(metadata)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        for name in TEXT_ARRAY_COLUMNS {
            if inner.index_of(name).is_err() {
                fields.push(Field::new(*name, Self::text_array(), true));
            }
        }
        Arc::new(Schema::new_with_metadata(fields, inner.metadata().clone()))
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
        let input = self.inner.scan(state, None, &[], None).await?;
        let input_schema = input.schema();
        let schema = self.schema();
        let mut exprs = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let expr: Arc<dyn PhysicalExpr> = if i < input_schema.fields().len() {
                Arc::new(Column::new(field.name(), i))
            } else {
                let null = ScalarValue::try_from(field.data_type())?;
                Arc::new(Literal::new(null))
            };
            exprs.push(ProjectionExpr {
                expr,
                alias: field.name().clone(),
            });
        }
        let selected: Vec<ProjectionExpr> = match projection {
            Some(indices) => indices.iter().map(|&i| exprs[i].clone()).collect(),
            None => exprs,
        };
        let projected = Schema::new_with_metadata(
            selected
                .iter()
                .map(|p| schema.field_with_name(&p.alias).cloned())
                .collect::<std::result::Result<Vec<_>, _>>()?,
            HashMap::new(),
        );
        Ok(Arc::new(ProjectionExec::try_new_with_schema_metadata(
            selected, input, &projected,
        )?))
    }
}
