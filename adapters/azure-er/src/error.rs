//! The adapter's error boundary. Every variant carries text that is safe to
//! log and to show an operator: no client secret, access token or BGP key
//! ever reaches it.

use std::time::Duration;

use onramp_csp_http::snippet;

/// How long to wait before retrying after `AnotherOperationInProgress`:
/// ARM does not say, and cross-connection operations take seconds.
pub(crate) const BUSY_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// ARM kept answering 429 and the next `Retry-After` would exceed
    /// [`AzureConfig::max_throttle_wait`](crate::AzureConfig); `retry_after`
    /// is ARM's last `Retry-After`.
    #[error("ARM throttled the call (429); retry after {}s", retry_after.as_secs_f64())]
    Throttled { retry_after: Duration },
    /// ARM refused the request with its error body
    /// (`{"error":{"code","message","target"}}`).
    #[error("ARM answered {status} {code}: {message}{}", target.as_ref().map(|t| format!(" (target {t})")).unwrap_or_default())]
    Arm {
        status: u16,
        code: String,
        message: String,
        target: Option<String>,
    },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("ARM operation failed: {code}: {message}")]
    OperationFailed { code: String, message: String },
    /// The token endpoint refused the client credentials (wrong tenant,
    /// client id or secret); carries AAD's `error` and `AADSTS` text.
    #[error("Azure AD refused the client credentials: {0}")]
    Auth(String),
    /// The request did not get an HTTP answer (connection refused, TLS,
    /// timeout), the token endpoint failed with 5xx, or a readiness
    /// operation outlived the call's LRO budget.
    #[error("transport error talking to Azure: {0}")]
    Transport(String),
    /// ARM or AAD answered something this client cannot read.
    #[error("unexpected answer from Azure: {0}")]
    Protocol(String),
}

impl Error {
    /// Worth retrying the same call later: throttling, transport failures,
    /// ARM 5xx, and 409 `AnotherOperationInProgress`.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Transport(_) => true,
            Self::Arm { status, code, .. } => {
                *status >= 500 || (*status == 409 && code == "AnotherOperationInProgress")
            }
            Self::OperationFailed { .. } | Self::Auth(_) | Self::Protocol(_) => false,
        }
    }

    /// How long to wait before that retry, when Azure (or the error's nature)
    /// says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => Some(*retry_after),
            Self::Arm {
                status: 409, code, ..
            } if code == "AnotherOperationInProgress" => Some(BUSY_RETRY),
            _ => None,
        }
    }

    /// An ARM error from a non-success reply (`body` is the raw bytes).
    pub(crate) fn from_arm_reply(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Option<Body>,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            code: Option<String>,
            message: Option<String>,
            target: Option<String>,
        }
        let parsed = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.error);
        match parsed {
            Some(b) => Self::Arm {
                status,
                code: b.code.unwrap_or_else(|| reason(status)),
                message: b.message.unwrap_or_default(),
                target: b.target,
            },
            None => Self::Arm {
                status,
                code: reason(status),
                message: snippet(body),
                target: None,
            },
        }
    }
}

impl From<onramp_csp_http::NotJson> for Error {
    fn from(e: onramp_csp_http::NotJson) -> Self {
        Self::Protocol(e.to_string())
    }
}

/// `NotFound`, `InternalServerError`, ... for a status without an ARM body.
fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| r.replace([' ', '-'], ""))
        .unwrap_or_else(|| format!("Http{status}"))
}
