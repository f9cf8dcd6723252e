//! One request to a CSP API as the adapters send it: a bearer token from
//! the cache (fetched from the CSP's token endpoint when due), renewed once
//! when the CSP refuses it (401), and 429s slept off within the call's
//! throttle budget. Any other answer goes back to the adapter, which knows
//! what the CSP's error bodies and long-running operations mean.
//!
//! Every exchange goes out here, so this is where each is timed and its
//! failure classified (`onramp_csp_call_duration_seconds`,
//! `onramp_csp_call_errors_total`), labelled with the operation the
//! adapter names: the CSP's own name for it, never a URL, which holds ids.

use std::time::{Duration, Instant};

use onramp_clock::Clock;
use onramp_signals::series::{self, Csp, CspError};
use reqwest::header::{CONTENT_LENGTH, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde_json::Value;

use crate::{
    Retryable, ThrottleBudget, Token, TokenCache, TokenEndpointError, error_chain, http_client,
    request_token,
};

/// The CSP on the other end, for the waits and the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// `ARM`, `Compute`: names the CSP in logs.
    pub name: &'static str,
    /// The CSP, for the call metrics.
    pub csp: Csp,
    /// The wait on a 429 that says nothing usable about how long.
    pub default_throttle_wait: Duration,
    /// Total 429 sleeping one public call may do before giving up with
    /// [`SendError::Throttled`].
    pub max_throttle_wait: Duration,
    /// Millisecond `Retry-After` headers the CSP sends, preferred to
    /// `Retry-After` (ARM's `retry-after-ms`).
    pub retry_after_ms_headers: &'static [&'static str],
    /// The header that identifies a request at the CSP, logged with it.
    pub request_id_header: Option<&'static str>,
}

/// Builds one request to the token endpoint (a new one per attempt).
type TokenRequest = Box<dyn Fn(&reqwest::Client) -> RequestBuilder + Send + Sync>;

/// An HTTP client with a token cache, shared by every clone of an adapter.
pub struct BearerClient {
    http: reqwest::Client,
    clock: Clock,
    service: Service,
    tokens: TokenCache,
    /// May hold a client secret: kept out of `Debug`.
    token_request: TokenRequest,
}

impl std::fmt::Debug for BearerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerClient")
            .field("service", &self.service)
            .field("clock", &self.clock)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Why a request got no answer worth returning.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 429s (from the CSP or its token endpoint) outlasted the call's
    /// budget; `retry_after` is the wait that would have overspent it.
    #[error("throttled (429); retry after {}s", retry_after.as_secs_f64())]
    Throttled { retry_after: Duration },
    /// No HTTP answer (connection, TLS, timeout: `is_timeout()` tells).
    #[error("{}", error_chain(.0))]
    Transport(reqwest::Error),
    /// The token endpoint gave no token.
    #[error(transparent)]
    Token(TokenEndpointError),
}

impl Retryable for SendError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Transport(_) => true,
            Self::Token(t) => matches!(
                t,
                TokenEndpointError::Throttled { .. }
                    | TokenEndpointError::Transport(_)
                    | TokenEndpointError::Unavailable { .. }
            ),
        }
    }
}

/// A success body that is not JSON, for the adapter's protocol error.
#[derive(Debug, thiserror::Error)]
#[error("{service} answered {status} with a body that is not JSON: {source}")]
pub struct NotJson {
    service: &'static str,
    status: u16,
    source: serde_json::Error,
}

/// A CSP answer, read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    service: &'static str,
    headers: HeaderMap,
    body: Vec<u8>,
    /// Read on arrival: an HTTP-date means "from now".
    retry_after: Option<Duration>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn json(&self) -> Result<Value, NotJson> {
        serde_json::from_slice(&self.body).map_err(|source| NotJson {
            service: self.service,
            status: self.status,
            source,
        })
    }
}

impl BearerClient {
    /// A client for `service`, reading token lives on `clock`, getting its
    /// tokens with the requests `token_request` builds.
    pub fn new(
        user_agent: &str,
        clock: Clock,
        service: Service,
        token_request: impl Fn(&reqwest::Client) -> RequestBuilder + Send + Sync + 'static,
    ) -> Self {
        Self {
            http: http_client(user_agent),
            clock,
            service,
            tokens: TokenCache::default(),
            token_request: Box::new(token_request),
        }
    }

    /// Sends `method url` with `body` as JSON: renews the token once on 401
    /// (a second 401 is returned) and sleeps off 429s within `call`'s
    /// budget. `timeout` replaces the client's 60 s for this request.
    /// `operation` (e.g. `ExpressRouteCrossConnections_Get`) labels the
    /// exchange's metrics.
    pub async fn send(
        &self,
        call: &mut ThrottleBudget,
        operation: &'static str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Reply, SendError> {
        let mut renewed = false;
        loop {
            let token = self.token(call).await?;
            let mut req = self.request(&method, url, &token, body);
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            let started = Instant::now();
            let (status, headers, body) = match exchange(req).await {
                Ok(answer) => answer,
                Err(e) => {
                    let kind = if e.is_timeout() {
                        CspError::Timeout
                    } else {
                        CspError::Transport
                    };
                    series::csp_call(self.service.csp, operation, started.elapsed(), Some(kind));
                    return Err(SendError::Transport(e));
                }
            };
            series::csp_call(
                self.service.csp,
                operation,
                started.elapsed(),
                CspError::from_status(status),
            );
            let request_id = self
                .service
                .request_id_header
                .and_then(|h| headers.get(h))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // "ARM call", "Compute call": what operators grep for.
            tracing::debug!(%method, path = url.path(), status, request_id, "{} call", self.service.name);
            let retry_after = self.retry_after(&headers);
            match StatusCode::from_u16(status) {
                Ok(StatusCode::UNAUTHORIZED) if !renewed => {
                    tracing::info!(
                        path = url.path(),
                        "{} refused the access token; fetching a new one",
                        self.service.name
                    );
                    self.tokens.invalidate(&token).await;
                    renewed = true;
                }
                Ok(StatusCode::TOO_MANY_REQUESTS) => self.throttled(call, retry_after).await?,
                _ => {
                    return Ok(Reply {
                        status,
                        service: self.service.name,
                        headers,
                        body,
                        retry_after,
                    });
                }
            }
        }
    }

    fn request(
        &self,
        method: &Method,
        url: &Url,
        token: &Token,
        body: Option<&Value>,
    ) -> RequestBuilder {
        let req = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose());
        match body {
            Some(b) => req.json(b),
            // ARM's and Google's front ends want a length on every POST.
            None if method == Method::POST => req.header(CONTENT_LENGTH, "0"),
            None => req,
        }
    }

    /// The cached token, or one from the token endpoint (whose 429s count
    /// against the same call's budget).
    async fn token(&self, call: &mut ThrottleBudget) -> Result<Token, SendError> {
        self.tokens
            .get(&self.clock, || async {
                loop {
                    let req = (self.token_request)(&self.http);
                    let started = Instant::now();
                    let fetched = request_token(req, &self.clock).await;
                    series::csp_call(
                        self.service.csp,
                        "token",
                        started.elapsed(),
                        fetched.as_ref().err().map(token_error),
                    );
                    match fetched {
                        Err(TokenEndpointError::Throttled { retry_after }) => {
                            self.throttled(call, retry_after).await?;
                        }
                        done => return done.map_err(SendError::Token),
                    }
                }
            })
            .await
    }

    async fn throttled(
        &self,
        call: &mut ThrottleBudget,
        retry_after: Option<Duration>,
    ) -> Result<(), SendError> {
        let wait = retry_after.unwrap_or(self.service.default_throttle_wait);
        call.sleep(wait, self.service.max_throttle_wait, self.service.name)
            .await
            .map_err(|retry_after| SendError::Throttled { retry_after })
    }

    fn retry_after(&self, headers: &HeaderMap) -> Option<Duration> {
        for ms in self.service.retry_after_ms_headers {
            if let Some(v) = headers
                .get(*ms)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                return Some(Duration::from_millis(v).min(crate::MAX_RETRY_AFTER));
            }
        }
        crate::retry_after(headers, &self.clock)
    }
}

/// One request and its whole answer.
async fn exchange(req: RequestBuilder) -> Result<(u16, HeaderMap, Vec<u8>), reqwest::Error> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await?.to_vec();
    Ok((status, headers, body))
}

fn token_error(e: &TokenEndpointError) -> CspError {
    match e {
        TokenEndpointError::Throttled { .. } => CspError::Throttled,
        TokenEndpointError::Transport(_) => CspError::Transport,
        TokenEndpointError::Unavailable { .. } => CspError::Server,
        TokenEndpointError::Refused { .. } | TokenEndpointError::Malformed(_) => CspError::Token,
    }
}
