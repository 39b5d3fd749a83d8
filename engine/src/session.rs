//! `Session`: one user's settings and DataFusion context; routes each statement to the
//! catalog (writes, DDL, Delta extensions) or to DataFusion (everything else).

use std::sync::Arc;

use abacus_catalog::Catalog;
use datafusion::execution::context::SessionState;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;
use deltalake::delta_datafusion::planner::DeltaPlanner;
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::names::{default_schema_of, CATALOG_NAME};
use crate::provider::AbacusCatalog;
use crate::{copy, ddl, dml, extensions, versioned, Config, Error, Output, Result};

/// A connection's worth of state. Create one per user/connection from [`crate::Database`].
pub struct Session {
    ctx: SessionContext,
    catalog: Arc<Catalog>,
}

impl Session {
    pub(crate) fn new(catalog: Arc<Catalog>, runtime: Arc<RuntimeEnv>, config: &Config) -> Self {
        let mut session_config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG_NAME, abacus_catalog::DEFAULT_SCHEMA);
        if let Some(n) = config.target_partitions {
            session_config = session_config.with_target_partitions(n.max(1));
        }
        if let Some(n) = config.batch_size {
            session_config = session_config.with_batch_size(n.max(1));
        }
        let state = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            // Delta's writes plan custom nodes (metrics, CDC) that only its planner knows.
            .with_query_planner(DeltaPlanner::new())
            .build();
        // `enable_url_table` builds a new state, so the catalog must point at the final one.
        let ctx = SessionContext::new_with_state(state).enable_url_table();
        ctx.register_catalog(
            CATALOG_NAME,
            Arc::new(AbacusCatalog::new(catalog.clone(), ctx.state_weak_ref())),
        );
        abacus_udfs::register_all(&ctx);
        Self { ctx, catalog }
    }

    /// The DataFusion context, for registering functions and reading settings.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub(crate) fn state(&self) -> SessionState {
        self.ctx.state()
    }

    pub(crate) fn default_schema(&self) -> String {
        default_schema_of(self.ctx.state().config())
    }

    /// Runs every statement of `sql` in order, yielding one output each; stops after the
    /// first error. Rows stream: the next statement starts once the consumer asks for it.
    pub fn execute<'a>(&'a self, sql: &str) -> BoxStream<'a, Result<Output>> {
        let statements = crate::split_statements(sql);
        futures::stream::unfold(
            (statements.into_iter(), false),
            move |(mut rest, failed)| async move {
                if failed {
                    return None;
                }
                let statement = rest.next()?;
                let result = self.execute_one(&statement).await;
                let failed = result.is_err();
                Some((result, (rest, failed)))
            },
        )
        .boxed()
    }

    /// Runs all of `sql` and collects the outputs; rows are left unread in their streams.
    pub async fn execute_all(&self, sql: &str) -> Result<Vec<Output>> {
        let mut stream = self.execute(sql);
        let mut outputs = Vec::new();
        while let Some(output) = stream.next().await {
            outputs.push(output?);
        }
        Ok(outputs)
    }

    /// Runs one statement (no trailing `;` needed).
    pub async fn execute_one(&self, sql: &str) -> Result<Output> {
        let words = leading_words(sql, 2);
        let first = words.first().map(String::as_str).unwrap_or("");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        match (first, second) {
            ("RESTORE", _) => return extensions::restore(self, sql).await,
            ("DESCRIBE" | "DESC", "HISTORY") => return extensions::history(self, sql).await,
            ("COPY", _) => {
                if let Some(output) = copy::execute(self, sql).await? {
                    return Ok(output);
                }
            }
            _ => {}
        }
        let sql = versioned::rewrite(sql)?;
        let state = self.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(&sql, &dialect)?;
        self.run_statement(statement).await
    }

    async fn run_statement(&self, statement: DFStatement) -> Result<Output> {
        if let DFStatement::Statement(ast) = &statement {
            match ast.as_ref() {
                Statement::Insert(_) => return dml::insert(self, statement).await,
                Statement::Delete(delete) => return dml::delete(self, delete).await,
                Statement::Update(update) => return dml::update(self, update).await,
                Statement::Truncate(truncate) => return dml::truncate(self, truncate).await,
                Statement::CreateTable(_) => return ddl::create_table(self, statement).await,
                Statement::CreateView(view) => return ddl::create_view(self, view).await,
                Statement::CreateSchema {
                    schema_name,
                    if_not_exists,
                    ..
                } => return ddl::create_schema(self, schema_name, *if_not_exists),
                Statement::Drop {
                    object_type,
                    if_exists,
                    names,
                    cascade,
                    ..
                } => return ddl::drop(self, *object_type, *if_exists, names, *cascade),
                _ => {}
            }
        }
        if let DFStatement::CreateExternalTable(_) = &statement {
            return Err(Error::Unsupported(
                "CREATE EXTERNAL TABLE is not supported: Abacus keeps tables in its data \
                 directory; load files with COPY t FROM 'path' or \
                 CREATE TABLE t AS SELECT * FROM 'path'"
                    .into(),
            ));
        }
        let plan = self.state().statement_to_plan(statement).await?;
        let df = self.ctx.execute_logical_plan(plan).await?;
        Ok(Output::Rows(df.execute_stream().await?))
    }
}

/// The first `n` words of a statement, upper-cased, skipping leading comments.
pub(crate) fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after
                .split_once('\n')
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after
                .split_once("*/")
                .map(|(_, r)| r)
                .unwrap_or("")
                .trim_start();
        } else {
            break;
        }
    }
    rest.split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}
