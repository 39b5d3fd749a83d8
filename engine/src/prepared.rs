//! Prepared statements for the extended query protocol: planned once to describe their
//! parameters and result columns, planned again at each execution so that they read the
//! tables' current versions.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;

use crate::session::leading_words;
use crate::{Error, Output, Result, Session};

/// One statement, ready to execute with parameter values.
#[derive(Debug, Clone)]
pub struct Prepared {
    sql: String,
    /// The parsed statement when DataFusion runs it (queries); None for the statements the
    /// engine routes itself (writes, DDL, COPY, RESTORE …), which take no parameters.
    query: Option<DFStatement>,
    /// The plan made at preparation, for describing parameters and columns.
    plan: Option<LogicalPlan>,
    /// Result columns known without a plan (ASK: from the translated SQL).
    columns: Option<SchemaRef>,
    /// Parameters of a statement the engine runs itself (`INSERT … VALUES ($1, $2)`):
    /// their count and the parsed text they are bound into.
    bound: Option<(usize, DFStatement)>,
}

impl Prepared {
    /// A portal over an open cursor: executing it fetches the cursor's remaining rows.
    pub fn for_cursor(name: &str, columns: SchemaRef) -> Prepared {
        Prepared {
            sql: format!("FETCH ALL FROM \"{}\"", name.replace('"', "\"\"")),
            query: None,
            plan: None,
            columns: Some(columns),
            bound: None,
        }
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The inferred type of each `$n` parameter, in order; None where it could not be inferred.
    pub fn parameter_types(&self) -> Result<Vec<Option<DataType>>> {
        Ok(self
            .parameter_fields()?
            .into_iter()
            .map(|f| f.map(|f| f.data_type().clone()))
            .collect())
    }

    /// Like [`Self::parameter_types`], with the field metadata that says which PostgreSQL
    /// type a parameter compared with a catalog oid column has (`oid`, not `int4`).
    pub fn parameter_fields(&self) -> Result<Vec<Option<FieldRef>>> {
        let field = |t: DataType| Arc::new(Field::new("", t, true));
        let Some(plan) = &self.plan else {
            let Some((count, statement)) = &self.bound else {
                return Ok(Vec::new());
            };
            let casts = crate::param_casts::cast_parameter_types(statement);
            return Ok((1..=*count)
                .map(|n| casts.get(&n).cloned().map(field))
                .collect());
        };
        let fields = plan.get_parameter_fields()?;
        let mut numbered: Vec<(usize, Option<FieldRef>)> = fields
            .into_iter()
            .filter_map(|(name, f)| {
                name.trim_start_matches('$')
                    .parse::<usize>()
                    .ok()
                    .map(|n| (n, f))
            })
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        let casts = self
            .query
            .as_ref()
            .map(crate::param_casts::cast_parameter_types)
            .unwrap_or_default();
        let count = numbered
            .last()
            .map(|(n, _)| *n)
            .unwrap_or(0)
            .max(casts.keys().copied().max().unwrap_or(0));
        let mut out = vec![None; count];
        for (n, f) in numbered {
            out[n - 1] = f;
        }
        for (n, t) in casts {
            if out[n - 1].is_none() {
                out[n - 1] = Some(field(t));
            }
        }
        Ok(out)
    }

    /// The columns the statement returns; None when it returns no rows (or only knows at run time).
    pub fn result_schema(&self) -> Option<SchemaRef> {
        self.columns
            .clone()
            .or_else(|| self.plan.as_ref().map(|p| p.schema().inner().clone()))
    }
}

fn is_query(statement: &DFStatement) -> bool {
    match statement {
        DFStatement::Statement(s) => matches!(
            s.as_ref(),
            Statement::Query(_)
                | Statement::Explain { .. }
                | Statement::ShowVariable { .. }
                | Statement::ShowTables { .. }
                | Statement::ShowColumns { .. }
        ),
        DFStatement::Explain(_) => true,
        _ => false,
    }
}

impl Session {
    /// Parses and plans one statement without running it.
    pub async fn prepare(&self, sql: &str) -> Result<Prepared> {
        let mut statements = crate::split_statements(sql);
        if statements.len() > 1 {
            return Err(Error::Syntax(
                "cannot insert multiple commands into a prepared statement".into(),
            ));
        }
        let sql = statements.pop().unwrap_or_default();
        let words = leading_words(&sql, 2);
        let routed = crate::users::is_user_statement(&sql)
            || matches!(
                words.first().map(String::as_str),
                Some(
                    "COPY"
                        | "RESTORE"
                        | "DECLARE"
                        | "FETCH"
                        | "MOVE"
                        | "CLOSE"
                        | "SAVEPOINT"
                        | "RELEASE"
                        | "DEALLOCATE"
                ) | None
            )
            || (words.first().map(String::as_str) == Some("ASK")
                && words.get(1).map(String::as_str) == Some("CONFIRM"))
            || (matches!(words.first().map(String::as_str), Some("DESCRIBE" | "DESC"))
                && words.get(1).map(String::as_str) == Some("HISTORY"));
        if routed {
            return Ok(Prepared {
                sql,
                query: None,
                plan: None,
                columns: None,
                bound: None,
            });
        }
        if let Some(crate::ask::AskStatement::Ask { question, explain }) =
            crate::ask::parse_statement(&sql)?
        {
            // Described before it runs: translate now to know the columns.
            let columns = self.ask_columns(&question, explain).await?;
            return Ok(Prepared {
                sql,
                query: None,
                plan: None,
                columns,
                bound: None,
            });
        }
        let statement = self.parse(&sql)?;
        if let Some(entry) = self.constant_plans().get(&sql) {
            return Ok(Prepared {
                sql,
                query: Some(statement),
                plan: Some(entry.logical.clone()),
                columns: None,
                bound: None,
            });
        }
        if let Some(name) = crate::session::shown_setting(&statement) {
            // PostgreSQL settings are answered by the session, not planned by DataFusion.
            let schema = datafusion::arrow::datatypes::Schema::new(vec![
                datafusion::arrow::datatypes::Field::new(name, DataType::Utf8, false),
            ]);
            return Ok(Prepared {
                sql,
                query: None,
                plan: None,
                columns: Some(std::sync::Arc::new(schema)),
                bound: None,
            });
        }
        if !is_query(&statement) {
            let count = crate::param_casts::placeholder_count(&statement);
            return Ok(Prepared {
                sql,
                query: None,
                plan: None,
                columns: None,
                bound: (count > 0).then_some((count, statement)),
            });
        }
        let plan = self.plan(statement.clone()).await?;
        Ok(Prepared {
            sql,
            query: Some(statement),
            plan: Some(plan),
            columns: None,
            bound: None,
        })
    }

    /// Runs a prepared statement with `$n` parameter values.
    pub async fn execute_prepared(
        &self,
        prepared: &Prepared,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let Some(statement) = &prepared.query else {
            if let (Some((_, statement)), Some(ParamValues::List(values))) =
                (&prepared.bound, &params)
            {
                // Statements the engine runs itself take their values as literals.
                let sql = crate::param_casts::bind_literals(statement, values)?;
                return self.execute_one(&sql).await;
            }
            if params
                .as_ref()
                .is_some_and(|p| !matches!(p, ParamValues::List(v) if v.is_empty()))
            {
                return Err(Error::Unsupported(
                    "parameters ($1, $2 …) are supported in queries only, not in this statement"
                        .into(),
                ));
            }
            if prepared.sql.is_empty() {
                return Ok(Output::command(""));
            }
            return self.execute_one(&prepared.sql).await;
        };
        self.check_not_aborted()?;
        let no_params = params
            .as_ref()
            .is_none_or(|p| matches!(p, ParamValues::List(v) if v.is_empty()));
        if no_params {
            if let Some(entry) = self.constant_plans().get(&prepared.sql) {
                return self.track_failure(entry.run());
            }
        }
        if crate::constant_plans::may_change_settings("SELECT", &prepared.sql) {
            self.constant_plans().clear();
        }
        let result = self
            .run_prepared(
                statement,
                params,
                no_params.then_some(prepared.sql.as_str()),
            )
            .await;
        self.track_failure(result)
    }

    /// Plans and runs `statement`; a constant query without parameters keeps its plan
    /// under `cache_as` (its SQL), as in the simple protocol.
    async fn run_prepared(
        &self,
        statement: &DFStatement,
        params: Option<ParamValues>,
        cache_as: Option<&str>,
    ) -> Result<Output> {
        let run = async {
            let plan = self.plan(statement.clone()).await?;
            if let Some(sql) = cache_as.filter(|_| crate::constant_plans::is_constant(&plan)) {
                return self.run_constant(sql, plan).await;
            }
            let plan = match params {
                Some(params) => plan.with_param_values(params)?,
                None => plan,
            };
            let planned = plan.schema().clone();
            let df = self.context().execute_logical_plan(plan).await?;
            let rows = df.execute_stream().await?;
            Ok::<_, Error>(crate::type_marks::restore(rows, &planned))
        };
        match self.statement_deadline()? {
            None => Ok(Output::Rows(run.await?)),
            Some(deadline) => match tokio::time::timeout_at(deadline, run).await {
                Ok(stream) => Ok(Output::Rows(crate::limits::Deadline::wrap(
                    stream?, deadline,
                ))),
                Err(_) => Err(crate::limits::timeout_error().into()),
            },
        }
    }
}
