//! The REST API as the CLI calls it: a bearer key, JSON in and out, every
//! list followed to its last page, and a refusal turned into the API's own
//! words (its RFC 9457 problem, with the fields at fault).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("cannot reach the API at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// The API refused; `problem` is its answer.
    #[error("{}", describe(*.status, .problem))]
    Refused { status: u16, problem: Value },
    #[error("the API answered {status} with a body that is not JSON: {body}")]
    NotJson { status: u16, body: String },
    #[error("{0}")]
    Usage(String),
}

/// `title (code): detail`, then one line per field at fault.
fn describe(status: u16, p: &Value) -> String {
    let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    let mut out = format!(
        "{} ({}, HTTP {status}): {}",
        text("title"),
        text("code"),
        text("detail")
    );
    for e in p["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {}: {}",
            e["field"].as_str().unwrap_or("?"),
            e["detail"].as_str().unwrap_or_default()
        ));
    }
    out
}

pub(crate) struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(base: &str, key: &str) -> Result<Api, CtlError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CtlError::Usage(format!("HTTP client: {e}")))?;
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http,
        })
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CtlError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.map_err(|e| CtlError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        let status = r.status();
        let text = r.text().await.map_err(|e| CtlError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let value: Value = serde_json::from_str(&text).map_err(|_| CtlError::NotJson {
            status: status.as_u16(),
            body: text.chars().take(200).collect(),
        })?;
        if status.is_success() {
            Ok(value)
        } else {
            Err(CtlError::Refused {
                status: status.as_u16(),
                problem: value,
            })
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, CtlError> {
        self.call(Method::GET, path, None).await
    }

    /// Every item of a paged list, following `next_cursor`.
    pub(crate) async fn all(&self, path: &str) -> Result<Vec<Value>, CtlError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(c) => format!(
                    "{path}{sep}limit=200&cursor={}",
                    form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
                ),
                None => format!("{path}{sep}limit=200"),
            };
            let page = self.get(&page_path).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(items),
            }
        }
    }
}
