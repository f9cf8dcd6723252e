//! One ARM request as the operations see it: bearer token (renewed once on
//! 401), 429s slept off within the call's throttle budget, and long-running
//! operations followed within its LRO budget.

use std::time::{Duration, Instant};

use onramp_csp_http::{BearerClient, SendError, Service, ThrottleBudget};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::Error;
use crate::{AzureConfig, auth};

/// When a 429 comes without `Retry-After`.
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(5);
/// When an LRO reply comes without `Retry-After`.
const DEFAULT_POLL: Duration = Duration::from_secs(2);

/// Following an `Azure-AsyncOperation` URL, and reading a `Location`
/// result: ARM's generic long-running-operation reads, whatever started them.
const ASYNC_OPERATION: &str = "AzureAsyncOperation_Get";
const LOCATION_RESULT: &str = "Location_Get";

/// The budgets of one public call.
pub(crate) type Call = ThrottleBudget;

/// An ARM answer, read in full.
pub(crate) type Reply = onramp_csp_http::Reply;

/// What ARM's answers mean.
pub(crate) trait ArmReply {
    fn error(&self) -> Error;
    /// Started a long-running operation that can be followed.
    fn has_lro(&self) -> bool;
}

impl ArmReply for Reply {
    fn error(&self) -> Error {
        Error::from_arm_reply(self.status, self.body())
    }

    fn has_lro(&self) -> bool {
        self.header("azure-asyncoperation").is_some() || self.header("location").is_some()
    }
}

/// How following an LRO ended.
#[derive(Debug)]
pub(crate) enum Lro {
    /// Succeeded; with the `Location` result when one was asked for.
    Done(Option<Reply>),
    /// Still running when the budget ran out; ARM's last `Retry-After`.
    Running(Duration),
}

/// The shared core of every client clone.
#[derive(Debug)]
pub(crate) struct Arm {
    pub cfg: AzureConfig,
    client: BearerClient,
    /// `arm_url` parsed; `None` when it is not a URL (every call then fails
    /// with `Error::Protocol`).
    base: Option<Url>,
}

impl Arm {
    pub(crate) fn new(cfg: AzureConfig) -> Self {
        let service = Service {
            name: "ARM",
            csp: onramp_csp_http::Csp::Azure,
            default_throttle_wait: DEFAULT_THROTTLE_WAIT,
            max_throttle_wait: cfg.max_throttle_wait,
            retry_after_ms_headers: &["retry-after-ms", "x-ms-retry-after-ms"],
            request_id_header: Some("x-ms-request-id"),
        };
        let client = BearerClient::new(
            concat!("onramp-azure-er/", env!("CARGO_PKG_VERSION")),
            cfg.clock.clone(),
            service,
            auth::token_request(&cfg),
        );
        let base = Url::parse(&cfg.arm_url)
            .inspect_err(|e| {
                tracing::error!(arm_url = %cfg.arm_url, error = %e, "arm_url is not a URL; every call will fail");
            })
            .ok();
        Self { base, client, cfg }
    }

    fn base(&self) -> Result<&Url, Error> {
        self.base
            .as_ref()
            .ok_or_else(|| Error::Protocol(format!("arm_url {:?} is not a URL", self.cfg.arm_url)))
    }

    /// `arm_url` + path segments (escaped) + `api-version` and `query`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, Error> {
        let mut url = self.base()?.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::Protocol("arm_url cannot have a path".into()))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", &self.cfg.api_version);
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// A URL ARM handed out (`nextLink`, `Azure-AsyncOperation`,
    /// `Location`), provided it points back at ARM: the token goes nowhere
    /// else.
    pub(crate) fn arm_link(&self, link: &str) -> Result<Url, Error> {
        let url = Url::parse(link)
            .map_err(|e| Error::Protocol(format!("ARM gave an invalid URL {link:?}: {e}")))?;
        let arm = self.base()?.origin();
        if url.origin() != arm {
            return Err(Error::Protocol(format!(
                "ARM pointed to {}, not {}; not sending the token there",
                url.origin().ascii_serialization(),
                arm.ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Sends one request: renews the token once on 401 and sleeps off 429s.
    /// Any other answer is returned as is. `operation` is ARM's operationId
    /// for the request, for the call metrics.
    pub(crate) async fn send(
        &self,
        call: &mut Call,
        operation: &'static str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Reply, Error> {
        self.client
            .send(call, operation, method, url, body, None)
            .await
            .map_err(|e| match e {
                SendError::Throttled { retry_after } => Error::Throttled { retry_after },
                SendError::Transport(_) => Error::Transport(e.to_string()),
                SendError::Token(t) => auth::refusal(t, &self.cfg),
            })
    }

    /// Follows the LRO `first` started, for at most `lro_budget`: polls
    /// `Azure-AsyncOperation` when present, honouring `Retry-After`; when
    /// `want_result`, then reads the result from `Location`. Without
    /// `Azure-AsyncOperation`, polls `Location` until it stops answering 202.
    pub(crate) async fn follow(
        &self,
        call: &mut Call,
        first: &Reply,
        want_result: bool,
    ) -> Result<Lro, Error> {
        let deadline = Instant::now() + self.cfg.lro_budget;
        let async_op = first
            .header("azure-asyncoperation")
            .map(|l| self.arm_link(l))
            .transpose()?;
        let location = first
            .header("location")
            .map(|l| self.arm_link(l))
            .transpose()?;
        let mut wait = first.retry_after().unwrap_or(DEFAULT_POLL);
        let mut sleep_first = true;
        if let Some(op) = async_op {
            loop {
                if Instant::now() + wait > deadline {
                    return Ok(Lro::Running(wait));
                }
                tokio::time::sleep(wait).await;
                let r = self
                    .send(call, ASYNC_OPERATION, Method::GET, &op, None)
                    .await?;
                if !r.is_success() {
                    return Err(r.error());
                }
                let v = r.json()?;
                let status = v.get("status").and_then(Value::as_str).unwrap_or_default();
                match status {
                    "Succeeded" => break,
                    "Failed" | "Canceled" => {
                        let err = v.get("error");
                        let field = |k: &str| {
                            err.and_then(|e| e.get(k))
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        };
                        return Err(Error::OperationFailed {
                            code: field("code").unwrap_or_else(|| status.to_owned()),
                            message: field("message")
                                .unwrap_or_else(|| format!("the operation ended {status}")),
                        });
                    }
                    _ => wait = r.retry_after().unwrap_or(wait),
                }
            }
            if !want_result {
                return Ok(Lro::Done(None));
            }
            // The result is ready: read it at once.
            sleep_first = false;
        }
        let Some(location) = location else {
            return Ok(Lro::Done(None));
        };
        loop {
            if sleep_first {
                if Instant::now() + wait > deadline {
                    return Ok(Lro::Running(wait));
                }
                tokio::time::sleep(wait).await;
            }
            sleep_first = true;
            let r = self
                .send(call, LOCATION_RESULT, Method::GET, &location, None)
                .await?;
            match r.status {
                202 => wait = r.retry_after().unwrap_or(wait),
                _ if r.is_success() => return Ok(Lro::Done(Some(r))),
                _ => return Err(r.error()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_point_back_at_arm() {
        let arm = Arm::new(AzureConfig::new(
            "https://management.azure.com",
            "https://login.microsoftonline.com",
            "t",
            "c",
            "s",
            "sub",
        ));
        assert!(
            arm.arm_link("https://management.azure.com/subscriptions/x/operations/1")
                .is_ok()
        );
        assert!(matches!(
            arm.arm_link("https://evil.example/steal"),
            Err(Error::Protocol(_))
        ));
        let url = arm
            .url(
                &["subscriptions", "sub", "resourceGroups", "rg (x)"],
                &[("$filter", "name eq 'k'")],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://management.azure.com/subscriptions/sub/resourceGroups/rg%20(x)?api-version=2024-05-01&%24filter=name+eq+%27k%27"
        );
    }
}
