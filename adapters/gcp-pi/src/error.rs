//! What can go wrong talking to Compute and the metadata server.

use std::time::Duration;

use onramp_csp_http::snippet;

/// When Google says a resource is busy (`resourceNotReady`) or an operation
/// is still running, without saying for how long.
pub(crate) const BUSY_RETRY: Duration = Duration::from_secs(5);

/// Operation error codes that describe a passing condition at Google: the
/// same request may well succeed later.
const TRANSIENT_OPERATION_CODES: [&str; 4] = [
    "INTERNAL_ERROR",
    "RESOURCE_NOT_READY",
    "RESOURCE_OPERATION_RATE_EXCEEDED",
    "SERVICE_UNAVAILABLE",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Compute kept answering 429 and the next `Retry-After` would exceed
    /// [`GcpConfig::max_throttle_wait`](crate::GcpConfig); `retry_after` is
    /// the last one Google gave (or our default when it gave none).
    #[error("Compute throttled the call (429); retry after {}s", retry_after.as_secs_f64())]
    Throttled { retry_after: Duration },
    /// Compute refused the request with its error body
    /// (`{"error":{"code","message","errors":[{"reason"}],"status"}}`):
    /// `reason` is the first `errors[].reason` (`invalid`, `notFound`,
    /// `conflict`, ...). Requests this client finds invalid before sending
    /// them are reported the same way (400 `invalid`).
    #[error("Compute answered {status} {reason}: {message}")]
    Google {
        status: u16,
        reason: String,
        message: String,
    },
    /// A Compute operation ended `DONE` with `error.errors[]`: the first
    /// error's `code`, and every error's message.
    #[error("Compute operation failed: {code}: {message}")]
    OperationFailed { code: String, message: String },
    /// No usable credentials: the metadata server refused the token request
    /// (no service account, missing scopes), or Compute refused a freshly
    /// fetched token.
    #[error("no usable Google credentials: {0}")]
    Auth(String),
    /// The request did not get an HTTP answer (connection refused, TLS,
    /// timeout), or the metadata server failed with 5xx.
    #[error("transport error talking to Google: {0}")]
    Transport(String),
    /// Google answered something this client cannot read.
    #[error("unexpected answer from Google: {0}")]
    Protocol(String),
}

impl Error {
    /// Worth retrying the same call later: throttling, transport failures,
    /// Compute 5xx, `resourceNotReady`, rate-limit reasons, and operations
    /// that failed for a passing reason (`INTERNAL_ERROR`,
    /// `RESOURCE_NOT_READY`, ...; a retry uses a new `requestId`).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Transport(_) => true,
            Self::Google { status, reason, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        reason.as_str(),
                        "resourceNotReady" | "rateLimitExceeded" | "userRateLimitExceeded"
                    )
            }
            Self::OperationFailed { code, .. } => {
                TRANSIENT_OPERATION_CODES.contains(&code.as_str())
            }
            Self::Auth(_) | Self::Protocol(_) => false,
        }
    }

    /// How long to wait before that retry, when Google (or the error's
    /// nature) says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => Some(*retry_after),
            Self::Google { reason, .. } if reason == "resourceNotReady" => Some(BUSY_RETRY),
            _ => None,
        }
    }

    /// A Compute error from a non-success reply (`body` is the raw bytes).
    pub(crate) fn from_google_reply(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Option<Body>,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            message: Option<String>,
            status: Option<String>,
            #[serde(default)]
            errors: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            reason: Option<String>,
            message: Option<String>,
        }
        let parsed = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.error);
        match parsed {
            Some(b) => {
                let first = b.errors.into_iter().next();
                let reason = first
                    .as_ref()
                    .and_then(|i| i.reason.clone())
                    .or(b.status)
                    .unwrap_or_else(|| http_reason(status));
                let message = b
                    .message
                    .or_else(|| first.and_then(|i| i.message))
                    .unwrap_or_default();
                Self::Google {
                    status,
                    reason,
                    message,
                }
            }
            None => Self::Google {
                status,
                reason: http_reason(status),
                message: snippet(body),
            },
        }
    }

    /// A request this client refuses to send.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Google {
            status: 400,
            reason: "invalid".to_owned(),
            message: format!("{} (checked before calling Google)", message.into()),
        }
    }

    pub(crate) fn is_reason(&self, wanted: &str) -> bool {
        matches!(self, Self::Google { reason, .. } if reason == wanted)
    }
}

impl From<onramp_csp_http::NotJson> for Error {
    fn from(e: onramp_csp_http::NotJson) -> Self {
        Self::Protocol(e.to_string())
    }
}

/// `notFound`, `internalServerError`, ... for a status without a Google body.
fn http_reason(status: u16) -> String {
    let words = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP error");
    let mut out = String::new();
    for (i, w) in words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(&chars.as_str().to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_bodies_give_status_reason_and_message() {
        let body = br#"{"error":{"code":409,"message":"VLAN tag 5 is already in use","errors":[{"message":"VLAN tag 5 is already in use","domain":"global","reason":"conflict"}],"status":"ABORTED"}}"#;
        assert_eq!(
            Error::from_google_reply(409, body),
            Error::Google {
                status: 409,
                reason: "conflict".into(),
                message: "VLAN tag 5 is already in use".into()
            }
        );
        // No errors[]: the canonical status stands in for the reason.
        let body = br#"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#;
        let e = Error::from_google_reply(503, body);
        assert!(e.is_reason("UNAVAILABLE"));
        assert!(e.is_retryable());
        // Not a Google body at all.
        let e = Error::from_google_reply(502, b"<html>Bad Gateway</html>");
        assert_eq!(
            e,
            Error::Google {
                status: 502,
                reason: "badGateway".into(),
                message: "<html>Bad Gateway</html>".into()
            }
        );
    }

    #[test]
    fn retryability() {
        let google = |status, reason: &str| Error::Google {
            status,
            reason: reason.into(),
            message: String::new(),
        };
        assert!(!google(400, "invalid").is_retryable());
        assert!(!google(409, "conflict").is_retryable());
        assert!(google(400, "resourceNotReady").is_retryable());
        assert_eq!(
            google(400, "resourceNotReady").retry_after(),
            Some(BUSY_RETRY)
        );
        assert!(google(403, "rateLimitExceeded").is_retryable());
        let op = |code: &str| Error::OperationFailed {
            code: code.into(),
            message: String::new(),
        };
        assert!(op("INTERNAL_ERROR").is_retryable());
        assert!(!op("QUOTA_EXCEEDED").is_retryable());
        let t = Error::Throttled {
            retry_after: Duration::from_secs(3),
        };
        assert!(t.is_retryable());
        assert_eq!(t.retry_after(), Some(Duration::from_secs(3)));
        assert!(!Error::Auth("x".into()).is_retryable());
    }
}
