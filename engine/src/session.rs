//! `Session`: one user's settings and DataFusion context; routes each statement to the
//! catalog (writes, DDL, Delta extensions) or to DataFusion (everything else).

use std::sync::Arc;

use abacus_catalog::Catalog;
use datafusion::execution::context::SessionState;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::names::{default_schema_of, CATALOG_NAME};
use crate::provider::AbacusCatalog;
use crate::settings::{CurrentSetting, Settings, Transaction, TransactionState, Version};
use crate::{copy, ddl, dml, extensions, versioned, Config, Error, Output, Result};
use datafusion::logical_expr::{LogicalPlan, ScalarUDF};

/// A connection's worth of state. Create one per user/connection from [`crate::Database`].
pub struct Session {
    ctx: SessionContext,
    catalog: Arc<Catalog>,
    settings: Arc<Settings>,
    transaction: Arc<TransactionState>,
    nl: Arc<crate::ask::NlCache>,
    /// The last answered ASK (question, SQL), for `\\good`.
    pub(crate) last_ask: parking_lot::Mutex<Option<(String, String)>>,
    notices: parking_lot::Mutex<Vec<String>>,
    pub(crate) cursors: crate::cursors::Cursors,
    /// Who this session acts as; `None` is the data directory's owner.
    pub(crate) user: Arc<parking_lot::Mutex<Option<crate::users::SessionUser>>>,
    /// Result columns named as PostgreSQL names them (`?column?`, `count`), for wire clients.
    pg_column_names: std::sync::atomic::AtomicBool,
    /// Plans of constant statements by SQL text (see `constant_plans`).
    constant_plans: crate::constant_plans::ConstantPlans,
    /// This session's catalog provider, to break its reference cycle on drop.
    abacus_catalog: Arc<AbacusCatalog>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.abacus_catalog.release_system_schemas();
    }
}

impl Session {
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        runtime: Arc<RuntimeEnv>,
        config: &Config,
        nl: Arc<crate::ask::NlCache>,
    ) -> Self {
        let mut session_config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG_NAME, abacus_catalog::DEFAULT_SCHEMA);
        // PostgreSQL's TimeZone (Etc/UTC): `timestamptz` values carry it, so drivers see
        // them as timestamptz (OID 1184), not as timestamps without a zone.
        session_config.options_mut().execution.time_zone = Some("UTC".into());
        let threads = config.threads();
        session_config = session_config.with_target_partitions(partitions_for(threads));
        if let Some(n) = config.batch_size {
            session_config = session_config.with_batch_size(n.max(1));
        }
        crate::join_modes::broadcast_larger_build_sides(&mut session_config, threads);
        // Build sides chosen from join_estimates.rs's estimates of joins.
        session_config
            .options_mut()
            .optimizer
            .use_statistics_registry = true;
        let state = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            // Delta's writes plan custom nodes (metrics, CDC) that only its planner knows.
            .with_query_planner(Arc::new(crate::shared_subplans::AbacusPlanner))
            .with_optimizer_rules(
                std::iter::once(Arc::new(crate::integers::CheckedConstants) as _)
                    .chain(
                        datafusion::optimizer::Optimizer::new()
                            .rules
                            .into_iter()
                            .map(|rule| match rule.name() {
                                "eliminate_cross_join" => {
                                    Arc::new(crate::join_order::ReorderJoins { cross_joins: rule })
                                        as _
                                }
                                _ => rule,
                            }),
                    )
                    .chain([
                        Arc::new(crate::shared_avgs::ShareAvgSums) as _,
                        Arc::new(crate::shared_subplans::ShareRepeatedAggregates) as _,
                    ])
                    .collect(),
            )
            .with_statistics_registry(crate::join_estimates::registry())
            .with_physical_optimizer_rules(physical_optimizer_rules())
            .build();
        // `enable_url_table` builds a new state, so the catalog must point at the final one.
        let ctx = SessionContext::new_with_state(state).enable_url_table();
        let abacus_catalog = Arc::new(AbacusCatalog::new(catalog.clone(), ctx.state_weak_ref()));
        ctx.register_catalog(CATALOG_NAME, abacus_catalog.clone());
        abacus_udfs::register_all(&ctx);
        let settings = Arc::new(Settings::default());
        let user: Arc<parking_lot::Mutex<Option<crate::users::SessionUser>>> = Arc::default();
        let info = crate::pg_catalog::SessionInfo {
            user: user.clone(),
            settings: settings.clone(),
            catalog: catalog.clone(),
        };
        if let Err(e) = crate::pg_catalog::install(&ctx, info) {
            tracing::warn!("pg_catalog is unavailable in this session: {e}");
        }
        if let Some(t) = config.statement_timeout {
            let _ = settings.set("statement_timeout", &t.as_millis().to_string());
        }
        ctx.register_udf(ScalarUDF::from(Version::new()));
        ctx.register_udf(ScalarUDF::from(CurrentSetting::new(settings.clone())));
        Self {
            ctx,
            catalog,
            settings,
            transaction: Arc::default(),
            nl,
            last_ask: Default::default(),
            notices: Default::default(),
            cursors: Default::default(),
            user,
            pg_column_names: Default::default(),
            constant_plans: Default::default(),
            abacus_catalog,
        }
    }

    pub(crate) fn nl_cache(&self) -> &crate::ask::NlCache {
        &self.nl
    }

    /// Queues a message for the client (a NOTICE over the wire, a line in the REPL).
    pub(crate) fn notice(&self, message: String) {
        self.notices.lock().push(message);
    }

    /// Messages queued since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock())
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
        // Read in place: cloning the SessionState (its function registries) costs more than
        // a short statement's planning.
        default_schema_of(self.ctx.state_ref().read().config())
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

    /// Names result columns as PostgreSQL does (`SELECT 1` → `?column?`, `count(*)` →
    /// `count`): drivers and BI tools read columns by those names. The REPL and the CLI keep
    /// DataFusion's descriptive names.
    pub fn use_postgres_column_names(&self) {
        self.pg_column_names
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The logical plan of a query; wire sessions type integer literals as PostgreSQL does.
    pub(crate) async fn plan(&self, statement: DFStatement) -> Result<LogicalPlan> {
        let plan = self.state().statement_to_plan(statement).await?;
        if self
            .pg_column_names
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let plan = crate::integers::int4_literals(plan)?;
            let plan = crate::integers::signed_results(plan)?;
            return Ok(crate::type_marks::carry(plan)?);
        }
        Ok(plan)
    }

    /// PostgreSQL-style settings of this session (`SET`, `SHOW`, `current_setting`).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs one statement (no trailing `;` needed). BEGIN/COMMIT/ROLLBACK are accepted and
    /// every statement auto-commits; as in PostgreSQL, after a failure inside an explicit
    /// transaction everything fails with 25P02 until ROLLBACK (or COMMIT, which rolls back).
    pub async fn execute_one(&self, sql: &str) -> Result<Output> {
        let words = leading_words(sql, 2);
        let state = *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner());
        let set =
            |t: Transaction| *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
        match words.first().map(String::as_str) {
            // Savepoints: accepted like the block they live in (writes auto-commit, so
            // there is nothing to roll back to); ROLLBACK TO leaves the aborted state, as
            // in PostgreSQL, so a client can recover from a failed statement.
            Some("SAVEPOINT") if state != Transaction::Failed => {
                return Ok(Output::command("SAVEPOINT"))
            }
            Some("RELEASE") if state != Transaction::Failed => {
                return Ok(Output::command("RELEASE"))
            }
            Some("ROLLBACK") if words.get(1).map(String::as_str) == Some("TO") => {
                if state == Transaction::Failed {
                    set(Transaction::Open);
                }
                return Ok(Output::command("ROLLBACK"));
            }
            _ => {}
        }
        match words.first().map(String::as_str) {
            Some("BEGIN" | "START") => {
                if state == Transaction::Idle {
                    set(Transaction::Open);
                }
                return Ok(Output::command("BEGIN"));
            }
            Some("COMMIT" | "END") => {
                set(Transaction::Idle);
                self.end_transaction_cursors().await;
                return Ok(Output::command(if state == Transaction::Failed {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                }));
            }
            Some("ROLLBACK" | "ABORT") => {
                set(Transaction::Idle);
                self.end_transaction_cursors().await;
                return Ok(Output::command("ROLLBACK"));
            }
            _ if state == Transaction::Failed => return Err(Error::TransactionAborted),
            _ => {}
        }
        if let Some(output) = self.constant_plans.run(sql) {
            return self.track_failure(output);
        }
        let first = words.first().map(String::as_str).unwrap_or("");
        if crate::constant_plans::may_change_settings(first, sql) {
            self.constant_plans.clear();
        }
        let result = self.run_limited(sql).await;
        self.track_failure(result)
    }

    /// Inside an open transaction block a failure aborts the block (25P02 until ROLLBACK),
    /// including one that surfaces while the rows stream.
    pub(crate) fn track_failure(&self, result: Result<Output>) -> Result<Output> {
        let state = *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner());
        if state != Transaction::Open {
            return result;
        }
        match result {
            Err(e) => {
                *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner()) = Transaction::Failed;
                Err(e)
            }
            Ok(Output::Rows(stream)) => Ok(Output::Rows(Box::pin(AbortsBlock {
                inner: stream,
                transaction: self.transaction.clone(),
            }))),
            other => other,
        }
    }

    /// 25P02 when the transaction block has failed.
    pub(crate) fn check_not_aborted(&self) -> Result<()> {
        match *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner()) {
            Transaction::Failed => Err(Error::TransactionAborted),
            _ => Ok(()),
        }
    }

    /// Runs one statement under `statement_timeout`: planning and writing are cut off by the
    /// deadline, and rows stop streaming when it passes.
    async fn run_limited(&self, sql: &str) -> Result<Output> {
        let Some(deadline) = self.statement_deadline()? else {
            return self.run_one(sql).await;
        };
        match tokio::time::timeout_at(deadline, self.run_one(sql)).await {
            Ok(Ok(Output::Rows(stream))) => Ok(Output::Rows(crate::limits::Deadline::wrap(
                stream, deadline,
            ))),
            Ok(other) => other,
            Err(_) => Err(crate::limits::timeout_error().into()),
        }
    }

    /// When the statement starting now must end, per `statement_timeout`.
    pub(crate) fn statement_deadline(&self) -> Result<Option<tokio::time::Instant>> {
        let timeout = self
            .settings
            .get("statement_timeout")
            .map(|t| crate::limits::parse_duration(&t))
            .transpose()
            .map_err(Error::InvalidOption)?
            .flatten();
        Ok(timeout.map(|t| tokio::time::Instant::now() + t))
    }

    async fn run_one(&self, sql: &str) -> Result<Output> {
        self.check_may_run(sql)?;
        if crate::users::is_user_statement(sql) {
            return self.user_statement(sql).await;
        }
        let words = leading_words(sql, 2);
        let first = words.first().map(String::as_str).unwrap_or("");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        match (first, second) {
            ("ASK", _) | ("EXPLAIN", "ASK") => match crate::ask::parse_statement(sql)? {
                Some(crate::ask::AskStatement::Ask { question, explain }) => {
                    return self.ask_statement(&question, explain).await
                }
                Some(crate::ask::AskStatement::Confirm) => {
                    let (question, _) = self.confirm_last_ask().await?;
                    self.notice(format!("saved as an example: {question}"));
                    return Ok(Output::command("ASK CONFIRM"));
                }
                None => {}
            },
            // Prepared statements of the wire protocol live in the front end, and psycopg
            // sends DEALLOCATE ALL when it rolls back: nothing here to free.
            ("DEALLOCATE", _) => {
                let all = leading_words(sql, 3).iter().any(|w| w == "ALL");
                if !all {
                    // A statement of SQL-level PREPARE is DataFusion's to free; a protocol
                    // statement of that name is not known here and is not an error.
                    if let Ok(statement) = self.parse(sql) {
                        let _ = self.run_statement(statement, None).await;
                    }
                }
                return Ok(Output::command(if all {
                    "DEALLOCATE ALL"
                } else {
                    "DEALLOCATE"
                }));
            }
            ("DECLARE", _) => return self.declare(sql).await,
            ("FETCH", _) => return self.fetch(sql, false).await,
            ("MOVE", _) => return self.fetch(sql, true).await,
            ("CLOSE", _) => return self.close_cursor(sql).await,
            ("RESTORE", _) => return extensions::restore(self, sql).await,
            ("DESCRIBE" | "DESC", "HISTORY") => return extensions::history(self, sql).await,
            ("COPY", _) => {
                if let Some(output) = copy::execute(self, sql).await? {
                    return Ok(output);
                }
            }
            _ => {}
        }
        let statement = self.parse(sql)?;
        self.run_statement(statement, Some(sql)).await
    }

    /// Parses one statement: time-travel syntax first, then the PostgreSQL dialect and the
    /// catalog rewrites for what clients send about pg_catalog.
    pub(crate) fn parse(&self, sql: &str) -> Result<DFStatement> {
        let sql = versioned::rewrite(sql)?;
        let default_schema = self.default_schema();
        let state = self.ctx.state_ref();
        let state = state.read();
        let dialect = if crate::pg_catalog::needs_rewrite(&sql) {
            datafusion::config::Dialect::PostgreSQL
        } else {
            state.config().options().sql_parser.dialect
        };
        let statement = state.sql_to_statement(&sql, &dialect)?;
        let functions: std::collections::HashSet<String> =
            state.table_functions().keys().cloned().collect();
        drop(state);
        Ok(crate::pg_catalog::rewrite(
            statement,
            &sql,
            &default_schema,
            self.pg_column_names
                .load(std::sync::atomic::Ordering::Relaxed),
            &|name| functions.contains(name),
        ))
    }

    /// Runs a parsed statement; a constant query's plan is kept under `sql`.
    async fn run_statement(&self, statement: DFStatement, sql: Option<&str>) -> Result<Output> {
        if let DFStatement::Statement(ast) = &statement {
            if let Some(output) = self.pg_setting_statement(ast)? {
                return Ok(output);
            }
            match ast.as_ref() {
                Statement::Insert(_) => return dml::insert(self, statement).await,
                Statement::Delete(delete) => return dml::delete(self, delete).await,
                Statement::Update(update) => return dml::update(self, update).await,
                Statement::Truncate(truncate) => return dml::truncate(self, truncate).await,
                Statement::CreateTable(_) => return ddl::create_table(self, statement).await,
                Statement::CreateView(view) => return ddl::create_view(self, view).await,
                Statement::Analyze(analyze) => return crate::analyze::analyze(self, analyze).await,
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
        let plan = self.plan(statement).await?;
        if let Some(sql) = sql.filter(|_| crate::constant_plans::is_constant(&plan)) {
            return Ok(Output::Rows(self.run_constant(sql, plan).await?));
        }
        self.run_plan(plan).await
    }

    /// Runs a constant query's plan, keeping it under `sql` for the next time.
    pub(crate) async fn run_constant(
        &self,
        sql: &str,
        plan: LogicalPlan,
    ) -> Result<datafusion::execution::SendableRecordBatchStream> {
        let df = self.ctx.execute_logical_plan(plan.clone()).await?;
        let task = Arc::new(df.task_ctx());
        let physical = df.create_physical_plan().await?;
        let planned = plan.schema().clone();
        if crate::constant_plans::reruns_safely(physical.as_ref()) {
            self.constant_plans
                .insert(sql, plan, physical.clone(), task.clone());
        }
        let rows = datafusion::physical_plan::execute_stream(physical, task)?;
        Ok(crate::type_marks::restore(rows, &planned))
    }

    async fn run_plan(&self, plan: LogicalPlan) -> Result<Output> {
        let planned = plan.schema().clone();
        let df = self.ctx.execute_logical_plan(plan).await?;
        let rows = df.execute_stream().await?;
        Ok(Output::Rows(crate::type_marks::restore(rows, &planned)))
    }

    pub(crate) fn constant_plans(&self) -> &crate::constant_plans::ConstantPlans {
        &self.constant_plans
    }
}

impl Session {
    /// `SET` and `SHOW` of PostgreSQL settings; `datafusion.*` ones go to DataFusion.
    fn pg_setting_statement(&self, ast: &Statement) -> Result<Option<Output>> {
        use datafusion::sql::sqlparser::ast::{Expr, Set, Value};
        let text = |e: &Expr| match e {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        };
        let set = |name: &str, value: String| -> Result<Option<Output>> {
            self.settings
                .set(name, &value)
                .map_err(Error::InvalidOption)?;
            Ok(Some(Output::command("SET")))
        };
        match ast {
            Statement::Set(Set::SingleAssignment {
                variable, values, ..
            }) => {
                let name = variable.to_string().to_ascii_lowercase();
                if name.starts_with("datafusion.") {
                    return Ok(None);
                }
                let value = values.iter().map(text).collect::<Vec<_>>().join(", ");
                set(&name, value)
            }
            Statement::Set(Set::SetTimeZone { value, .. }) => set("timezone", text(value)),
            Statement::Set(Set::SetNames { charset_name, .. }) => {
                set("client_encoding", charset_name.value.clone())
            }
            Statement::Set(Set::SetTransaction { .. }) => Ok(Some(Output::command("SET"))),
            Statement::ShowVariable { variable } => {
                let Some((name, column)) = show_names(variable) else {
                    return Ok(None);
                };
                let value = self
                    .settings
                    .get(&name)
                    .ok_or_else(|| Error::UnknownSetting(name.clone()))?;
                let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
                    datafusion::arrow::datatypes::Field::new(
                        &column,
                        datafusion::arrow::datatypes::DataType::Utf8,
                        false,
                    ),
                ]));
                let column = Arc::new(datafusion::arrow::array::StringArray::from(vec![value]));
                let batch =
                    datafusion::arrow::record_batch::RecordBatch::try_new(schema, vec![column])
                        .map_err(datafusion::error::DataFusionError::from)?;
                Ok(Some(Output::batch(batch)))
            }
            _ => Ok(None),
        }
    }
}

/// Rows of a statement inside a transaction block: an error while they stream aborts
/// the block, as a failed statement does.
struct AbortsBlock {
    inner: datafusion::execution::SendableRecordBatchStream,
    transaction: Arc<TransactionState>,
}

impl futures::Stream for AbortsBlock {
    type Item = datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = self.inner.as_mut().poll_next(cx);
        if let std::task::Poll::Ready(Some(Err(_))) = &next {
            *self.transaction.0.lock().unwrap_or_else(|p| p.into_inner()) = Transaction::Failed;
        }
        next
    }
}

impl datafusion::execution::RecordBatchStream for AbortsBlock {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }
}

/// The setting a `SHOW` names and the column PostgreSQL answers it in (`TimeZone`);
/// `None` for DataFusion's own (`SHOW datafusion.…`, `SHOW ALL`).
fn show_names(variable: &[datafusion::sql::sqlparser::ast::Ident]) -> Option<(String, String)> {
    let name = variable
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".");
    if name.starts_with("datafusion") || name == "all" {
        return None;
    }
    let name = match name.as_str() {
        "transaction.isolation.level" => "transaction_isolation".to_string(),
        "time.zone" => "timezone".to_string(),
        other => other.to_string(),
    };
    let column = match name.as_str() {
        "timezone" => "TimeZone".to_string(),
        "datestyle" => "DateStyle".to_string(),
        "intervalstyle" => "IntervalStyle".to_string(),
        other => other.to_string(),
    };
    Some((name, column))
}

/// For a prepared `SHOW` of a PostgreSQL setting: the result column's name.
pub(crate) fn shown_setting(statement: &DFStatement) -> Option<String> {
    match statement {
        DFStatement::Statement(ast) => match ast.as_ref() {
            Statement::ShowVariable { variable } => show_names(variable).map(|(_, c)| c),
            _ => None,
        },
        _ => None,
    }
}

/// The first `n` words of a statement, upper-cased, skipping leading comments.
pub(crate) fn leading_words(sql: &str, n: usize) -> Vec<String> {
    strip_comments(sql)
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';' || c == '\'')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The statement without its leading comments.
pub(crate) fn strip_comments(sql: &str) -> &str {
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
    rest
}

/// One partition more than threads (from two threads up): partitions run as tasks on the
/// threads, and when one thread finishes its partition early it takes the next instead of
/// waiting while another finishes a larger one. On 2 threads, 3 partitions made TPC-H's
/// queries other than q18 ~4 % faster at SF1 and SF10 (BENCHMARKS.md, change 28).
fn partitions_for(threads: usize) -> usize {
    if threads >= 2 {
        threads + 1
    } else {
        1
    }
}

/// DataFusion's physical optimizer rules with ours: key_ranges.rs's before
/// `EnsureRequirements`, which must see the partitioning it declares; the rest after all
/// of DataFusion's.
fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = Vec::new();
    for rule in datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules {
        if rule.name() == "EnsureRequirements" {
            rules.push(Arc::new(crate::key_ranges::KeyRangeAggregates) as _);
        }
        rules.push(rule);
    }
    rules.extend([
        Arc::new(crate::filter_order::OrderConjuncts) as _,
        Arc::new(crate::integers::CheckedIntegerArithmetic) as _,
        Arc::new(crate::decimals::DecimalArithmetic) as _,
        Arc::new(crate::dynamic_filters::DynamicFilterScans) as _,
        Arc::new(crate::shared_subplans::ShareSubplans) as _,
        Arc::new(crate::small_groups::SmallGroupAggregates) as _,
    ]);
    rules
}
