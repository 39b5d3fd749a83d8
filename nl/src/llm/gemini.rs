//! Gemini's native `POST /v1beta/models/{model}:generateContent`.

use serde_json::{json, Value};

use super::{http_error, status_error, ChatModel, ChatRequest, Endpoint, Role};
use crate::Error;

pub struct Gemini {
    endpoint: Endpoint,
}

impl Gemini {
    pub fn new(endpoint: Endpoint) -> Self {
        Gemini { endpoint }
    }
}

#[async_trait::async_trait]
impl ChatModel for Gemini {
    fn provider(&self) -> &str {
        "gemini"
    }

    async fn complete(&self, req: &ChatRequest) -> Result<String, Error> {
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.endpoint.url.trim_end_matches('/'),
            self.endpoint.model
        );
        let contents: Vec<Value> = req
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                };
                json!({"role": role, "parts": [{"text": m.content}]})
            })
            .collect();
        let body = json!({
            "systemInstruction": {"parts": [{"text": req.system}]},
            "contents": contents,
            "generationConfig": {"temperature": 0, "maxOutputTokens": req.max_tokens},
        });
        let mut request = self.endpoint.client()?.post(&url).json(&body);
        if let Some(key) = &self.endpoint.api_key {
            request = request.header("x-goog-api-key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| http_error("gemini", &url, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| http_error("gemini", &url, e))?;
        if !status.is_success() {
            return Err(status_error("gemini", status, &text));
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Llm(format!("gemini answered something that is not JSON: {e}")))?;
        let parts = v["candidates"][0]["content"]["parts"]
            .as_array()
            .ok_or_else(|| Error::Llm("gemini answer has no candidates[0].content.parts".into()))?;
        Ok(parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""))
    }
}
