//! Natural-language questions → one read-only SQL query: the offline translator first, an LLM
//! (OpenAI-compatible or Gemini) for what it cannot map, guards and repairs around both.
//! The crate never touches storage: the engine hands it schemas and a planner to check SQL.

pub mod builtin;
pub mod derive;
pub mod guard;
pub mod llm;
pub mod semantic;
pub mod text;
pub mod time;

pub use chrono_tz::Tz;

pub use builtin::{Answer, Indexed};
pub use derive::{ColumnInfo, ColumnKind, SchemaInfo, TableInfo};
pub use semantic::Layer;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("semantic layer {origin}: {message}")]
    Semantic { origin: String, message: String },
    #[error("{0}")]
    Llm(String),
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Plans SQL without running it (the engine's read-only planner), for validation and repair.
#[async_trait::async_trait]
pub trait Checker: Send + Sync {
    async fn check(&self, sql: &str) -> std::result::Result<(), String>;
}

/// Everything a translation needs besides the model.
pub struct Request<'a> {
    pub question: &'a str,
    pub layers: &'a [std::sync::Arc<Indexed>],
    pub schemas: &'a [SchemaInfo],
    pub default_schema: &'a str,
    pub tz: Tz,
    /// Confirmed (question, SQL) pairs: exact repeats reuse them, the LLM sees them.
    pub examples: &'a [(String, String)],
}

/// The result of translating one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub sql: Option<String>,
    pub refusal: Option<String>,
    /// `builtin`, `memory`, `openai`, `gemini`, or `guard` for early refusals.
    pub provider: String,
    pub llm_calls: u32,
    /// Time the offline translator took (parsing and planning its frame), milliseconds.
    pub builtin_ms: f64,
}

impl Outcome {
    fn refused(provider: &str, reason: String, llm_calls: u32) -> Outcome {
        Outcome {
            sql: None,
            refusal: Some(reason),
            provider: provider.to_string(),
            llm_calls,
            builtin_ms: 0.0,
        }
    }
}

/// How many times a planning error goes back to the model.
pub const MAX_REPAIRS: u32 = 2;

/// Question → SQL. The builtin translator answers what it is sure of; otherwise the model
/// (if any) is asked, its SQL checked and planned, and planning errors sent back for repair.
pub async fn translate(
    req: &Request<'_>,
    model: Option<&dyn llm::ChatModel>,
    checker: &dyn Checker,
) -> Result<Outcome> {
    if let Some(reason) = guard::refuse_question(req.question) {
        return Ok(Outcome::refused("guard", reason, 0));
    }
    let key = text::normalize(req.question.trim());
    if let Some((_, sql)) = req
        .examples
        .iter()
        .find(|(q, _)| text::normalize(q.trim()) == key)
    {
        if guard::check_sql(sql).is_ok() && checker.check(sql).await.is_ok() {
            return Ok(Outcome {
                sql: Some(sql.clone()),
                refusal: None,
                provider: "memory".into(),
                llm_calls: 0,
                builtin_ms: 0.0,
            });
        }
    }
    let started = std::time::Instant::now();
    let answer = builtin::translate(req.question, req.layers, req.default_schema, req.tz);
    let builtin_ms = started.elapsed().as_secs_f64() * 1000.0;
    let builtin_refusal = match answer {
        Answer::Sql { sql, .. } => {
            guard::check_sql(&sql).map_err(Error::Config)?;
            match checker.check(&sql).await {
                Ok(()) => {
                    return Ok(Outcome {
                        sql: Some(sql),
                        refusal: None,
                        provider: "builtin".into(),
                        llm_calls: 0,
                        builtin_ms,
                    })
                }
                Err(e) => {
                    format!("the offline translator produced SQL that does not plan: {e}")
                }
            }
        }
        Answer::Refused(reason) => reason,
    };
    let Some(model) = model else {
        return Ok(Outcome {
            builtin_ms,
            ..Outcome::refused("builtin", builtin_refusal, 0)
        });
    };
    let tz = req.tz.name();
    let chat = llm::ChatRequest {
        system: llm::prompt::system_prompt(req.schemas, req.layers, tz),
        messages: vec![llm::Msg {
            role: llm::Role::User,
            content: llm::prompt::question_turn(req.question, req.examples),
        }],
        max_tokens: 1024,
    };
    let mut chat = chat;
    let mut calls = 0;
    loop {
        calls += 1;
        let reply = model.complete(&chat).await?;
        let provider = model.provider().to_string();
        let parsed = llm::prompt::parse_reply(&reply);
        let sql = match parsed {
            Some(llm::prompt::Reply::Refuse(reason)) => {
                return Ok(Outcome::refused(&provider, reason, calls))
            }
            Some(llm::prompt::Reply::Sql(sql)) => sql,
            None => {
                if calls > MAX_REPAIRS {
                    return Ok(Outcome::refused(
                        &provider,
                        format!("the model did not answer with SQL: {}", snippet(&reply)),
                        calls,
                    ));
                }
                repair(
                    &mut chat,
                    &reply,
                    "Reply with the JSON object {\"sql\": ...} only.",
                );
                continue;
            }
        };
        if let Err(problem) = guard::check_sql(&sql) {
            // A statement that writes is refused outright, never repaired into something else.
            return Ok(Outcome::refused(
                &provider,
                format!("refused the model's SQL: {problem}: {}", snippet(&sql)),
                calls,
            ));
        }
        match checker.check(&sql).await {
            Ok(()) => {
                return Ok(Outcome {
                    sql: Some(sql),
                    refusal: None,
                    provider,
                    llm_calls: calls,
                    builtin_ms,
                })
            }
            Err(e) if calls > MAX_REPAIRS => {
                return Ok(Outcome::refused(
                    &provider,
                    format!("the model's SQL still fails after {MAX_REPAIRS} repairs: {e}"),
                    calls,
                ))
            }
            Err(e) => repair(
                &mut chat,
                &reply,
                &format!("This SQL fails on the engine:\nSQL: {sql}\nError: {e}\nReturn a corrected {{\"sql\": ...}}."),
            ),
        }
    }
}

fn repair(chat: &mut llm::ChatRequest, reply: &str, ask: &str) {
    chat.messages.push(llm::Msg {
        role: llm::Role::Assistant,
        content: reply.to_string(),
    });
    chat.messages.push(llm::Msg {
        role: llm::Role::User,
        content: ask.to_string(),
    });
}

fn snippet(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        format!("{}…", one_line.chars().take(200).collect::<String>())
    } else {
        one_line
    }
}

/// The business time zone: `name` if given, else ABACUS_TIMEZONE, else UTC.
pub fn timezone(name: Option<&str>) -> Result<Tz> {
    let from_env = std::env::var("ABACUS_TIMEZONE").ok();
    let name = name
        .map(str::to_string)
        .or(from_env)
        .unwrap_or_else(|| "UTC".into());
    name.trim().parse::<Tz>().map_err(|_| {
        Error::Config(format!(
            "unknown time zone {name:?}: use an IANA name such as Europe/Moscow"
        ))
    })
}

/// The semantic layers shipped for the demo datasets, by schema.
pub fn demo_layer(schema: &str) -> Option<&'static str> {
    match schema {
        "payments" => Some(include_str!("../semantic/payments.toml")),
        "marketplace" => Some(include_str!("../semantic/marketplace.toml")),
        "learning" => Some(include_str!("../semantic/learning.toml")),
        _ => None,
    }
}
