//! LLM providers behind one small trait: OpenAI-compatible chat completions (Ollama,
//! llama.cpp, vLLM, LM Studio, OpenAI) and Gemini's generateContent. A thin reqwest client:
//! llm-chain is abandoned and the typed SDKs churn faster than the two wire formats do.

mod gemini;
mod openai;
pub mod prompt;

use std::time::Duration;

pub use gemini::Gemini;
pub use openai::OpenAi;

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone)]
pub struct Msg {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Msg>,
    pub max_tokens: u32,
}

/// One chat completion; temperature is always 0 so answers repeat.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    fn provider(&self) -> &str;
    async fn complete(&self, req: &ChatRequest) -> Result<String, Error>;
}

/// Where a provider lives and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl Endpoint {
    /// ABACUS_LLM_URL, ABACUS_LLM_MODEL, ABACUS_LLM_API_KEY, ABACUS_LLM_TIMEOUT (seconds).
    pub fn from_env(default_url: &str, default_model: &str) -> Endpoint {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Endpoint {
            url: var("ABACUS_LLM_URL").unwrap_or_else(|| default_url.to_string()),
            model: var("ABACUS_LLM_MODEL").unwrap_or_else(|| default_model.to_string()),
            api_key: var("ABACUS_LLM_API_KEY"),
            timeout: Duration::from_secs_f64(
                var("ABACUS_LLM_TIMEOUT")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(60.0),
            ),
        }
    }

    fn client(&self) -> Result<reqwest::Client, Error> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::Llm(format!("cannot build the HTTP client: {e}")))
    }
}

/// The provider a session asked for: `builtin`, `openai` or `gemini`.
pub fn model_for(provider: &str) -> Result<Option<Box<dyn ChatModel>>, Error> {
    match provider.trim().to_ascii_lowercase().as_str() {
        "" | "builtin" | "none" | "offline" => Ok(None),
        "openai" | "openai_compat" | "ollama" | "vllm" | "llamacpp" => {
            Ok(Some(Box::new(OpenAi::new(Endpoint::from_env(
                "http://127.0.0.1:11434/v1",
                "qwen2.5-coder:7b",
            )))))
        }
        "gemini" => Ok(Some(Box::new(Gemini::new(Endpoint::from_env(
            "https://generativelanguage.googleapis.com",
            "gemini-2.5-flash",
        ))))),
        other => Err(Error::Config(format!(
            "unknown LLM provider {other:?}: use builtin, openai or gemini"
        ))),
    }
}

/// Maps a transport failure to a message that says what to check.
fn http_error(provider: &str, url: &str, e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Llm(format!(
            "{provider} at {url} did not answer in time; raise ABACUS_LLM_TIMEOUT or check the server"
        ))
    } else if e.is_connect() {
        Error::Llm(format!(
            "cannot connect to {provider} at {url}; is the server running (ABACUS_LLM_URL)?"
        ))
    } else {
        Error::Llm(format!("{provider} request to {url} failed: {e}"))
    }
}

fn status_error(provider: &str, status: reqwest::StatusCode, body: &str) -> Error {
    let body: String = body.chars().take(300).collect();
    match status.as_u16() {
        401 | 403 => Error::Llm(format!(
            "{provider} refused the credentials ({status}); check ABACUS_LLM_API_KEY"
        )),
        429 => Error::Llm(format!(
            "{provider} is rate limiting requests (429 Too Many Requests); try again later: {body}"
        )),
        404 => Error::Llm(format!(
            "{provider} answered 404; check ABACUS_LLM_URL and ABACUS_LLM_MODEL: {body}"
        )),
        _ => Error::Llm(format!("{provider} answered {status}: {body}")),
    }
}
