//! One Compute request as the operations see it: bearer token (renewed once
//! on 401), 429s slept off within the call's throttle budget, and
//! operations followed with `operations/{op}/wait` within the op budget.

use std::time::{Duration, Instant};

use onramp_csp_http::{BearerClient, SendError, Service, ThrottleBudget};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::Error;
use crate::{GcpConfig, auth};

/// When a 429 comes without `Retry-After` (Compute usually sends none).
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(2);
/// One ordinary HTTP exchange (csp-http's client default; named here for
/// the message when it runs out).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// `wait` holds a call for up to about 2 minutes; a little more for ours.
const WAIT_TIMEOUT: Duration = Duration::from_secs(130);
/// When `wait` comes back early without the operation done (it may), the
/// least time between two of them.
const WAIT_SPACING: Duration = Duration::from_millis(500);

/// The budgets of one public call.
pub(crate) type Call = ThrottleBudget;

/// A Compute answer, read in full.
pub(crate) type Reply = onramp_csp_http::Reply;

/// What Compute's answers mean.
pub(crate) trait ComputeReply {
    fn error(&self) -> Error;
}

impl ComputeReply for Reply {
    fn error(&self) -> Error {
        Error::from_google_reply(self.status, self.body())
    }
}

/// A `compute#operation`, the parts we use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Operation {
    pub name: String,
    /// `PENDING`, `RUNNING` or `DONE`.
    pub status: String,
    /// `(code, message)` of a `DONE` operation with `error.errors[]`.
    pub error: Option<(String, String)>,
}

impl Operation {
    pub(crate) fn from_google(v: &Value) -> Result<Self, Error> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::Protocol("operation without a name".into()))?;
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let errors = v
            .get("error")
            .and_then(|e| e.get("errors"))
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty());
        let error = errors.map(|errors| {
            let field = |e: &Value, k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let code = field(&errors[0], "code");
            let message = errors
                .iter()
                .map(|e| field(e, "message"))
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let code = if code.is_empty() {
                v.get("httpErrorStatusCode")
                    .and_then(Value::as_u64)
                    .map(|c| format!("HTTP_{c}"))
                    .unwrap_or_else(|| "UNKNOWN".to_owned())
            } else {
                code
            };
            (code, message)
        });
        Ok(Self {
            name: name.to_owned(),
            status,
            error,
        })
    }

    pub(crate) fn is_done(&self) -> bool {
        self.status == "DONE"
    }

    /// `Err(OperationFailed)` for a failed one.
    pub(crate) fn result(&self) -> Result<(), Error> {
        match &self.error {
            Some((code, message)) => Err(Error::OperationFailed {
                code: code.clone(),
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The shared core of every client clone.
#[derive(Debug)]
pub(crate) struct Compute {
    pub cfg: GcpConfig,
    client: BearerClient,
    /// `compute_url` parsed; `None` when it is not a URL (every call then
    /// fails with `Error::Protocol`).
    base: Option<Url>,
}

impl Compute {
    pub(crate) fn new(cfg: GcpConfig) -> Self {
        let service = Service {
            name: "Compute",
            csp: onramp_csp_http::Csp::Gcp,
            default_throttle_wait: DEFAULT_THROTTLE_WAIT,
            max_throttle_wait: cfg.max_throttle_wait,
            retry_after_ms_headers: &[],
            request_id_header: None,
        };
        let client = BearerClient::new(
            concat!("onramp-gcp-pi/", env!("CARGO_PKG_VERSION")),
            cfg.clock.clone(),
            service,
            auth::token_request(&cfg),
        );
        let base = Url::parse(&cfg.compute_url)
            .inspect_err(|e| {
                tracing::error!(compute_url = %cfg.compute_url, error = %e, "compute_url is not a URL; every call will fail");
            })
            .ok();
        Self { base, client, cfg }
    }

    /// `compute_url/compute/v1/projects/{project}/regions/{region}/` +
    /// `segments` (each escaped) + `query`.
    pub(crate) fn regional_url(
        &self,
        region: &str,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Url, Error> {
        let mut url = self.base.clone().ok_or_else(|| {
            Error::Protocol(format!(
                "compute_url {:?} is not a URL",
                self.cfg.compute_url
            ))
        })?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::Protocol("compute_url cannot have a path".into()))?;
            path.pop_if_empty();
            path.extend([
                "compute",
                "v1",
                "projects",
                &self.cfg.project,
                "regions",
                region,
            ]);
            path.extend(segments);
        }
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends one request: renews the token once on 401 and sleeps off 429s.
    /// Any other answer is returned as is. `operation` is Compute's method
    /// name (`compute.interconnectAttachments.insert`), for the call metrics.
    pub(crate) async fn send(
        &self,
        call: &mut Call,
        operation: &'static str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Reply, Error> {
        self.send_within(call, operation, method, url, body, REQUEST_TIMEOUT)
            .await?
            .ok_or_else(|| {
                Error::Transport(format!(
                    "no answer from Compute within {}s ({})",
                    REQUEST_TIMEOUT.as_secs(),
                    url.path()
                ))
            })
    }

    /// [`Compute::send`] with its own timeout; `Ok(None)` when it expired.
    async fn send_within(
        &self,
        call: &mut Call,
        operation: &'static str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Option<Reply>, Error> {
        match self
            .client
            .send(call, operation, method, url, body, Some(timeout))
            .await
        {
            // Refused once more after a renewal: the account lacks access.
            Ok(r) if r.status == 401 => Err(Error::Auth(format!(
                "Compute refused a freshly fetched access token: {}",
                r.error()
            ))),
            Ok(r) => Ok(Some(r)),
            Err(SendError::Transport(e)) if e.is_timeout() => Ok(None),
            Err(SendError::Throttled { retry_after }) => Err(Error::Throttled { retry_after }),
            Err(e @ SendError::Transport(_)) => Err(Error::Transport(e.to_string())),
            Err(SendError::Token(t)) => Err(auth::refusal(t)),
        }
    }

    /// Follows `op` (in `region`) until it is `DONE` or `op_budget`, counted
    /// from `started`, runs out (`Ok(None)`): `POST .../operations/{op}/wait`,
    /// which returns when the operation is done or after about 2 minutes.
    pub(crate) async fn follow(
        &self,
        call: &mut Call,
        region: &str,
        mut op: Operation,
        started: Instant,
    ) -> Result<Option<Operation>, Error> {
        let deadline = started + self.cfg.op_budget;
        let url = self.regional_url(region, &["operations", &op.name, "wait"], &[])?;
        loop {
            if op.is_done() {
                return Ok(Some(op));
            }
            let now = Instant::now();
            let remaining = deadline.saturating_duration_since(now);
            if remaining.is_zero() {
                return Ok(None);
            }
            let timeout = remaining.min(WAIT_TIMEOUT);
            let Some(reply) = self
                .send_within(
                    call,
                    "compute.regionOperations.wait",
                    Method::POST,
                    &url,
                    None,
                    timeout,
                )
                .await?
            else {
                return Ok(None);
            };
            if !reply.is_success() {
                return Err(reply.error());
            }
            op = Operation::from_google(&reply.json()?)?;
            let spent = now.elapsed();
            if !op.is_done() && spent < WAIT_SPACING {
                let pause =
                    (WAIT_SPACING - spent).min(deadline.saturating_duration_since(Instant::now()));
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regional_urls_escape_their_segments() {
        let c = Compute::new(GcpConfig::new(
            "https://compute.googleapis.com",
            "http://metadata.google.internal",
            "onramp-partner",
        ));
        let url = c
            .regional_url(
                "us-west1",
                &["interconnectAttachments", "a b"],
                &[("requestId", "x")],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://compute.googleapis.com/compute/v1/projects/onramp-partner/regions/us-west1/interconnectAttachments/a%20b?requestId=x"
        );
        let bad = Compute::new(GcpConfig::new("not a url", "x", "p"));
        assert!(matches!(
            bad.regional_url("r", &[], &[]),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn operations_carry_their_errors() {
        let op = Operation::from_google(&json!({
            "name": "operation-1", "status": "DONE",
            "error": {"errors": [
                {"code": "RESOURCE_NOT_READY", "message": "first"},
                {"code": "OTHER", "message": "second"}
            ]},
            "httpErrorStatusCode": 400
        }))
        .unwrap();
        assert!(op.is_done());
        assert_eq!(
            op.result(),
            Err(Error::OperationFailed {
                code: "RESOURCE_NOT_READY".into(),
                message: "first; second".into()
            })
        );
        let op = Operation::from_google(&json!({"name": "o", "status": "RUNNING"})).unwrap();
        assert!(!op.is_done());
        assert_eq!(op.result(), Ok(()));
        assert!(Operation::from_google(&json!({"status": "DONE"})).is_err());
    }
}
