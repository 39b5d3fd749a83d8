//! `ASK '<question>'` and `EXPLAIN ASK '<question>'`: translate (abacus-nl), check, run
//! read-only with a row cap and a timeout, and log to `abacus.query_audit_log`.

mod audit;
mod context;

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;

pub use audit::AuditEntry;
pub use context::{write_demo_layers, NlCache};

use crate::{Error, Output, Result, Session};

/// Rows an ASK returns at most; a question is not an export.
pub const ROW_CAP: usize = 10_000;

/// One answered (or refused) question, for front ends that show more than rows.
#[derive(Debug)]
pub struct AskResult {
    pub question: String,
    pub sql: Option<String>,
    pub provider: String,
    pub refusal: Option<String>,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub row_count: usize,
    /// Rows beyond the cap were dropped.
    pub truncated: bool,
    pub translate_ms: f64,
    /// The offline translator's own share of `translate_ms`.
    pub builtin_ms: f64,
    pub execution_time_ms: f64,
}

fn explain_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("sql", DataType::Utf8, false),
        Field::new("provider", DataType::Utf8, false),
    ]))
}

/// Plans generated SQL read-only: DDL, DML and statements refused by DataFusion itself.
struct ReadOnly<'a>(&'a Session);

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

#[async_trait::async_trait]
impl abacus_nl::Checker for ReadOnly<'_> {
    async fn check(&self, sql: &str) -> std::result::Result<(), String> {
        self.0
            .context()
            .sql_with_options(sql, read_only())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The statements of this module.
pub(crate) enum AskStatement {
    Ask {
        question: String,
        explain: bool,
    },
    /// `ASK CONFIRM`: keep the last answer as an example (`\good` in the REPL).
    Confirm,
}

/// `ASK '…'`, `EXPLAIN ASK '…'`, `ASK CONFIRM`; anything else → None.
pub(crate) fn parse_statement(sql: &str) -> Result<Option<AskStatement>> {
    let text = crate::session::strip_comments(sql)
        .trim()
        .trim_end_matches(';')
        .trim();
    let upper = text.to_ascii_uppercase();
    let (rest, explain) = if let Some(r) = strip_word(text, &upper, "EXPLAIN") {
        let r = r.trim_start();
        let r_upper = r.to_ascii_uppercase();
        match strip_word(r, &r_upper, "ASK") {
            Some(rest) => (rest, true),
            None => return Ok(None),
        }
    } else if let Some(r) = strip_word(text, &upper, "ASK") {
        (r, false)
    } else {
        return Ok(None);
    };
    let rest = rest.trim();
    if !explain && rest.eq_ignore_ascii_case("CONFIRM") {
        return Ok(Some(AskStatement::Confirm));
    }
    let question = if let Some(body) = rest.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = body.chars().peekable();
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    out.push('\'');
                    chars.next();
                } else {
                    closed = true;
                    if chars.any(|c| !c.is_whitespace()) {
                        return Err(Error::Syntax(
                            "ASK takes one quoted question and nothing after it".into(),
                        ));
                    }
                    break;
                }
            } else {
                out.push(c);
            }
        }
        if !closed {
            return Err(Error::Syntax(
                "unterminated question: ASK 'question'".into(),
            ));
        }
        out
    } else if let Some(body) = rest.strip_prefix("$$") {
        body.strip_suffix("$$")
            .ok_or_else(|| Error::Syntax("unterminated $$ question".into()))?
            .to_string()
    } else {
        return Err(Error::Syntax(
            "ASK needs the question in single quotes: ASK 'Топ 10 мерчантов по объему'".into(),
        ));
    };
    if question.trim().is_empty() {
        return Err(Error::Syntax(
            "ASK needs a question: ASK 'how many orders today?'".into(),
        ));
    }
    Ok(Some(AskStatement::Ask { question, explain }))
}

fn strip_word<'a>(text: &'a str, upper: &str, word: &str) -> Option<&'a str> {
    if upper.starts_with(word)
        && text[word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_whitespace() || c == '\'' || c == '$')
    {
        Some(&text[word.len()..])
    } else {
        None
    }
}

impl Session {
    fn ask_setting(&self, name: &str, env: &str) -> Option<String> {
        self.settings()
            .get(name)
            .or_else(|| std::env::var(env).ok())
            .filter(|v| !v.trim().is_empty())
    }

    fn user_name(&self) -> String {
        self.settings()
            .get("session_authorization")
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "abacus".into())
    }

    /// Translates, checks and (unless `explain`) runs one question; logs it either way.
    pub async fn ask(&self, question: &str, explain: bool) -> Result<AskResult> {
        let started = Instant::now();
        let result = self.ask_inner(question, explain, started).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let user = self.user_name();
        let entry = match &result {
            Ok(r) => AuditEntry {
                user: &user,
                question,
                sql: r.sql.as_deref(),
                provider: &r.provider,
                success: r.refusal.is_none(),
                error: r.refusal.clone(),
                row_count: (!explain && r.refusal.is_none()).then_some(r.row_count as i64),
                execution_time_ms: elapsed,
            },
            Err((provider, sql, e)) => AuditEntry {
                user: &user,
                question,
                sql: sql.as_deref(),
                provider,
                success: false,
                error: Some(e.to_string()),
                row_count: None,
                execution_time_ms: elapsed,
            },
        };
        // The audit write failing must not hide the answer, but it is reported.
        if let Err(e) = self.log_ask(&entry).await {
            tracing::warn!("could not write abacus.query_audit_log: {e}");
            self.notice(format!("could not write abacus.query_audit_log: {e}"));
        }
        let mut r = result.map_err(|(_, _, e)| e)?;
        r.execution_time_ms = elapsed;
        Ok(r)
    }

    async fn ask_inner(
        &self,
        question: &str,
        explain: bool,
        started: Instant,
    ) -> std::result::Result<AskResult, (String, Option<String>, Error)> {
        let fail = |provider: &str, sql: Option<String>| {
            let provider = provider.to_string();
            move |e: Error| (provider.clone(), sql.clone(), e)
        };
        let provider_name = self
            .ask_setting("abacus.llm", "ABACUS_LLM")
            .unwrap_or_else(|| "builtin".into());
        let model = abacus_nl::llm::model_for(&provider_name)
            .map_err(|e| Error::InvalidOption(e.to_string()))
            .map_err(fail("builtin", None))?;
        let tz = abacus_nl::timezone(
            self.ask_setting("abacus.timezone", "ABACUS_TIMEZONE")
                .as_deref(),
        )
        .map_err(|e| Error::InvalidOption(e.to_string()))
        .map_err(fail("builtin", None))?;
        let outcome = self
            .translate(question, model.as_deref(), tz)
            .await
            .map_err(fail(&provider_name, None))?;
        let translate_ms = started.elapsed().as_secs_f64() * 1000.0;
        let builtin_ms = outcome.builtin_ms;
        let empty = Arc::new(Schema::empty());
        let Some(sql) = outcome.sql.clone() else {
            return Ok(AskResult {
                question: question.to_string(),
                sql: None,
                provider: outcome.provider,
                refusal: outcome.refusal,
                schema: empty,
                batches: Vec::new(),
                row_count: 0,
                truncated: false,
                translate_ms,
                builtin_ms,
                execution_time_ms: 0.0,
            });
        };
        *self.last_ask.lock() = Some((question.to_string(), sql.clone()));
        if explain {
            return Ok(AskResult {
                question: question.to_string(),
                sql: Some(sql),
                provider: outcome.provider,
                refusal: None,
                schema: empty,
                batches: Vec::new(),
                row_count: 0,
                truncated: false,
                translate_ms,
                builtin_ms,
                execution_time_ms: 0.0,
            });
        }
        let provider = outcome.provider.clone();
        let failed = fail(&provider, Some(sql.clone()));
        let df = self
            .context()
            .sql_with_options(&sql, read_only())
            .await
            .map_err(Error::from)
            .map_err(&failed)?;
        let df = df
            .limit(0, Some(ROW_CAP + 1))
            .map_err(Error::from)
            .map_err(&failed)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let timeout = self
            .ask_setting("abacus.ask_timeout", "ABACUS_ASK_TIMEOUT")
            .and_then(|v| v.trim().trim_end_matches('s').parse::<f64>().ok())
            .unwrap_or(30.0);
        let run = async {
            let stream = df.execute_stream().await?;
            stream.try_collect::<Vec<_>>().await
        };
        let mut batches = match tokio::time::timeout(Duration::from_secs_f64(timeout), run).await {
            Ok(r) => r.map_err(Error::from).map_err(&failed)?,
            Err(_) => {
                return Err(failed(Error::Ask(format!(
                    "the query for this question ran longer than {timeout} s and was stopped \
                     (SET abacus.ask_timeout = '60' to allow more)"
                ))))
            }
        };
        let mut rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let truncated = rows > ROW_CAP;
        if truncated {
            let mut keep = ROW_CAP;
            for b in batches.iter_mut() {
                let n = b.num_rows().min(keep);
                *b = b.slice(0, n);
                keep -= n;
            }
            rows = ROW_CAP;
            self.notice(format!(
                "ASK returns at most {ROW_CAP} rows; the rest were dropped"
            ));
        }
        Ok(AskResult {
            question: question.to_string(),
            sql: Some(sql),
            provider,
            refusal: None,
            schema,
            batches,
            row_count: rows,
            truncated,
            translate_ms,
            builtin_ms,
            execution_time_ms: 0.0,
        })
    }

    /// Question → SQL (or a refusal), checked read-only; nothing runs, nothing is logged.
    async fn translate(
        &self,
        question: &str,
        model: Option<&dyn abacus_nl::llm::ChatModel>,
        tz: abacus_nl::Tz,
    ) -> Result<abacus_nl::Outcome> {
        let infos = self.schema_infos().await?;
        let layers = self.layers(&infos)?;
        let examples = self.examples().await?;
        let default_schema = self.default_schema();
        let request = abacus_nl::Request {
            question,
            layers: &layers,
            schemas: &infos,
            default_schema: &default_schema,
            tz,
            examples: &examples,
        };
        abacus_nl::translate(&request, model, &ReadOnly(self))
            .await
            .map_err(|e| Error::Ask(e.to_string()))
    }

    /// The columns an ASK will return, for describing a prepared statement.
    pub(crate) async fn ask_columns(
        &self,
        question: &str,
        explain: bool,
    ) -> Result<Option<SchemaRef>> {
        if explain {
            return Ok(Some(explain_schema()));
        }
        let provider = self
            .ask_setting("abacus.llm", "ABACUS_LLM")
            .unwrap_or_else(|| "builtin".into());
        let model = abacus_nl::llm::model_for(&provider)
            .map_err(|e| Error::InvalidOption(e.to_string()))?;
        let tz = abacus_nl::timezone(
            self.ask_setting("abacus.timezone", "ABACUS_TIMEZONE")
                .as_deref(),
        )
        .map_err(|e| Error::InvalidOption(e.to_string()))?;
        let outcome = self.translate(question, model.as_deref(), tz).await?;
        let Some(sql) = outcome.sql else {
            return Ok(None);
        };
        let df = self.context().sql_with_options(&sql, read_only()).await?;
        Ok(Some(Arc::new(df.schema().as_arrow().clone())))
    }

    /// The statement form: rows for ASK, the SQL for EXPLAIN ASK; a refusal is an error.
    pub(crate) async fn ask_statement(&self, question: &str, explain: bool) -> Result<Output> {
        let r = self.ask(question, explain).await?;
        if let Some(reason) = r.refusal {
            return Err(Error::AskRefused(reason));
        }
        let sql = r.sql.clone().unwrap_or_default();
        if explain {
            let batch = RecordBatch::try_new(
                explain_schema(),
                vec![
                    Arc::new(StringArray::from(vec![sql])),
                    Arc::new(StringArray::from(vec![r.provider])),
                ],
            )
            .map_err(datafusion::error::DataFusionError::from)?;
            return Ok(Output::batch(batch));
        }
        self.notice(format!("ASK ({}): {}", r.provider, sql));
        let stream = futures::stream::iter(r.batches.into_iter().map(Ok));
        Ok(Output::Rows(Box::pin(RecordBatchStreamAdapter::new(
            r.schema, stream,
        ))))
    }

    /// `\good`: keeps the last answered question and its SQL as a confirmed example.
    pub async fn confirm_last_ask(&self) -> Result<(String, String)> {
        let last = self.last_ask.lock().clone();
        let Some((q, sql)) = last else {
            return Err(Error::InvalidOption(
                "no ASK to confirm yet in this session".into(),
            ));
        };
        self.save_example(&q, &sql).await?;
        Ok((q, sql))
    }
}
