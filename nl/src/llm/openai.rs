//! OpenAI-compatible `POST {base}/chat/completions`.

use serde_json::{json, Value};

use super::{http_error, status_error, ChatModel, ChatRequest, Endpoint, Role};
use crate::Error;

pub struct OpenAi {
    endpoint: Endpoint,
}

impl OpenAi {
    pub fn new(endpoint: Endpoint) -> Self {
        OpenAi { endpoint }
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAi {
    fn provider(&self) -> &str {
        "openai"
    }

    async fn complete(&self, req: &ChatRequest) -> Result<String, Error> {
        let url = format!(
            "{}/chat/completions",
            self.endpoint.url.trim_end_matches('/')
        );
        let mut messages = vec![json!({"role": "system", "content": req.system})];
        for m in &req.messages {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let body = json!({
            "model": self.endpoint.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": req.max_tokens,
            "stream": false,
        });
        let mut request = self.endpoint.client()?.post(&url).json(&body);
        if let Some(key) = &self.endpoint.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| http_error("openai", &url, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| http_error("openai", &url, e))?;
        if !status.is_success() {
            return Err(status_error("openai", status, &text));
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Llm(format!("openai answered something that is not JSON: {e}")))?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Llm("openai answer has no choices[0].message.content".into()))
    }
}
