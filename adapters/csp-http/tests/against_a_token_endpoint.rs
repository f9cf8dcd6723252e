//! The token cache, the token request and the bearer client against a real
//! server on 127.0.0.1: an axum token endpoint that counts the tokens it
//! issues and answers the way the test tells it to, and an API route that
//! plays a script of answers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use onramp_clock::Clock;
use onramp_csp_http::{
    BearerClient, Fresh, Retryable, SendError, Service, ThrottleBudget, Token, TokenCache,
    TokenEndpointError, request_token,
};
use reqwest::{Method, Url};

/// What the endpoint answers next; tokens are `t1`, `t2`, ...
#[derive(Clone, Debug)]
enum Answer {
    Token { expires_in: u64 },
    Status(StatusCode),
    RetryAfter(String),
    Body(&'static str),
}

type Script = VecDeque<(StatusCode, Vec<(&'static str, &'static str)>)>;

#[derive(Clone)]
struct Endpoint {
    issued: Arc<AtomicU32>,
    answer: Arc<Mutex<Answer>>,
    /// What `/api` answers next (status, headers); then 200 echoing the
    /// request's `Authorization` and `Content-Length`.
    script: Arc<Mutex<Script>>,
    api_calls: Arc<AtomicU32>,
}

async fn token(State(ep): State<Endpoint>) -> axum::response::Response {
    let answer = ep.answer.lock().unwrap().clone();
    match answer {
        Answer::Token { expires_in } => {
            let n = ep.issued.fetch_add(1, Ordering::SeqCst) + 1;
            axum::Json(serde_json::json!({
                "access_token": format!("t{n}"),
                "expires_in": expires_in,
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Answer::Status(s) => (s, "{\"error\":\"nope\"}").into_response(),
        Answer::RetryAfter(v) => {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, v.parse().unwrap());
            (StatusCode::TOO_MANY_REQUESTS, h, "slow down").into_response()
        }
        Answer::Body(b) => b.into_response(),
    }
}

async fn api(State(ep): State<Endpoint>, req: HeaderMap) -> axum::response::Response {
    ep.api_calls.fetch_add(1, Ordering::SeqCst);
    if let Some((status, headers)) = ep.script.lock().unwrap().pop_front() {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(k, v.parse().unwrap());
        }
        return (status, h, "scripted").into_response();
    }
    let header = |name| {
        req.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    axum::Json(serde_json::json!({
        "authorization": header(header::AUTHORIZATION),
        "content_length": header(header::CONTENT_LENGTH),
    }))
    .into_response()
}

struct Server {
    url: String,
    ep: Endpoint,
    http: reqwest::Client,
    clock: Clock,
}

impl Server {
    async fn start() -> Self {
        let ep = Endpoint {
            issued: Arc::default(),
            answer: Arc::new(Mutex::new(Answer::Token { expires_in: 100 })),
            script: Arc::default(),
            api_calls: Arc::default(),
        };
        let app = Router::new()
            .route("/token", post(token))
            .route("/api", post(api).get(api))
            .with_state(ep.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/token"),
            ep,
            http: reqwest::Client::new(),
            clock: Clock::manual(),
        }
    }

    fn answer(&self, a: Answer) {
        *self.ep.answer.lock().unwrap() = a;
    }

    fn issued(&self) -> u32 {
        self.ep.issued.load(Ordering::SeqCst)
    }

    async fn fetch(&self) -> Result<Fresh, Failed> {
        request_token(self.http.post(&self.url), &self.clock)
            .await
            .map_err(Failed)
    }

    async fn get(&self, cache: &TokenCache) -> Result<Token, Failed> {
        cache.get(&self.clock, || self.fetch()).await
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs)).unwrap();
    }

    fn script(&self, answers: &[(StatusCode, &[(&'static str, &'static str)])]) {
        let mut script = self.ep.script.lock().unwrap();
        for (status, headers) in answers {
            script.push_back((*status, headers.to_vec()));
        }
    }

    fn api_calls(&self) -> u32 {
        self.ep.api_calls.load(Ordering::SeqCst)
    }

    fn api_url(&self) -> Url {
        Url::parse(&self.url.replace("/token", "/api")).unwrap()
    }

    /// A client whose 429 budget is `max_throttle_wait`.
    fn bearer(&self, max_throttle_wait: Duration) -> BearerClient {
        let service = Service {
            name: "Test",
            csp: onramp_csp_http::Csp::Azure,
            default_throttle_wait: Duration::from_secs(3),
            max_throttle_wait,
            retry_after_ms_headers: &["retry-after-ms"],
            request_id_header: None,
        };
        let url = self.url.clone();
        BearerClient::new("csp-http-test", self.clock.clone(), service, move |http| {
            http.post(&url)
        })
    }
}

/// The adapters' rule in small: only a 5xx or no answer is worth riding out.
#[derive(Debug)]
struct Failed(TokenEndpointError);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Retryable for Failed {
    fn is_retryable(&self) -> bool {
        matches!(
            self.0,
            TokenEndpointError::Unavailable { .. } | TokenEndpointError::Transport(_)
        )
    }
}

#[tokio::test]
async fn a_token_is_reused_until_shortly_before_it_expires() {
    let s = Server::start().await;
    let cache = TokenCache::default();
    let t1 = s.get(&cache).await.unwrap();
    assert_eq!(t1.expose(), "t1");
    assert_eq!(s.get(&cache).await.unwrap(), t1);
    // 100 s of life, renewed 10 s (10% < 5 minutes) early.
    s.advance(89);
    assert_eq!(s.get(&cache).await.unwrap(), t1);
    assert_eq!(s.issued(), 1);
    s.advance(1);
    assert_eq!(s.get(&cache).await.unwrap().expose(), "t2");
    assert_eq!(s.issued(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let s = Server::start().await;
    let cache = TokenCache::default();
    // All of them are polled, and find the cache empty, before the server
    // task (same thread) can answer the first request.
    let tokens = futures::future::join_all((0..8).map(|_| s.get(&cache))).await;
    for t in tokens {
        assert_eq!(t.unwrap().expose(), "t1");
    }
    assert_eq!(s.issued(), 1);
    // Due for renewal: again one fetch for all of them.
    s.advance(95);
    let tokens = futures::future::join_all((0..8).map(|_| s.get(&cache))).await;
    assert!(tokens.iter().all(|t| t.as_ref().unwrap().expose() == "t2"));
    assert_eq!(s.issued(), 2);
}

#[tokio::test]
async fn a_refused_token_is_dropped_and_only_that_one() {
    let s = Server::start().await;
    let cache = TokenCache::default();
    let t1 = s.get(&cache).await.unwrap();
    cache.invalidate(&t1).await;
    let t2 = s.get(&cache).await.unwrap();
    assert_eq!(t2.expose(), "t2");
    // A slow caller reporting the old token's 401 does not evict the new one.
    cache.invalidate(&t1).await;
    assert_eq!(s.get(&cache).await.unwrap(), t2);
    assert_eq!(s.issued(), 2);
}

#[tokio::test]
async fn a_failed_renewal_keeps_a_working_token_until_it_expires() {
    let s = Server::start().await;
    let cache = TokenCache::default();
    let t1 = s.get(&cache).await.unwrap();
    s.answer(Answer::Status(StatusCode::SERVICE_UNAVAILABLE));
    s.advance(95);
    assert_eq!(s.get(&cache).await.unwrap(), t1);
    // Expired: the endpoint's trouble is the caller's now.
    s.advance(5);
    let e = s.get(&cache).await.unwrap_err();
    assert!(
        matches!(e.0, TokenEndpointError::Unavailable { status, .. } if status == 503),
        "{e:?}"
    );
    // A refusal is not ridden out even while the token works.
    s.answer(Answer::Token { expires_in: 100 });
    let t2 = s.get(&cache).await.unwrap();
    s.answer(Answer::Status(StatusCode::BAD_REQUEST));
    s.advance(95);
    let e = s.get(&cache).await.unwrap_err();
    assert!(matches!(e.0, TokenEndpointError::Refused { status, .. } if status == 400));
    assert_ne!(t2, t1);
}

#[tokio::test]
async fn throttled_token_requests_carry_retry_after_in_both_forms() {
    let s = Server::start().await;
    s.answer(Answer::RetryAfter("7".into()));
    let e = s.fetch().await.unwrap_err();
    assert!(
        matches!(e.0, TokenEndpointError::Throttled { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{e:?}"
    );
    // An HTTP-date, read against the (manual) clock's wall time.
    let at = SystemTime::from(s.clock.utc()) + Duration::from_secs(120);
    s.answer(Answer::RetryAfter(httpdate::fmt_http_date(at)));
    s.advance(60);
    let Err(Failed(TokenEndpointError::Throttled {
        retry_after: Some(wait),
    })) = s.fetch().await
    else {
        panic!("expected a throttle with a wait");
    };
    // Whole seconds on the wire: 59 to 60 s are left.
    assert!(
        wait > Duration::from_secs(58) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    // Garbage is no wait at all (the adapter falls back on its default).
    s.answer(Answer::RetryAfter("in a bit".into()));
    let e = s.fetch().await.unwrap_err();
    assert!(
        matches!(e.0, TokenEndpointError::Throttled { retry_after: None }),
        "{e:?}"
    );
}

#[tokio::test]
async fn malformed_answers_and_no_answer() {
    let s = Server::start().await;
    s.answer(Answer::Body("{\"expires_in\":60}"));
    let e = s.fetch().await.unwrap_err();
    assert_eq!(e.to_string(), "token response without access_token");
    s.answer(Answer::Body("<html>"));
    let e = s.fetch().await.unwrap_err();
    assert!(
        e.to_string().starts_with("token response is not JSON"),
        "{e}"
    );
    // Nothing listens there: a transport error, with its cause.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", closed.local_addr().unwrap());
    drop(closed);
    let e = request_token(s.http.post(url), &s.clock).await.unwrap_err();
    let TokenEndpointError::Transport(msg) = &e else {
        panic!("expected Transport, got {e:?}");
    };
    assert!(msg.to_lowercase().contains("connect"), "{msg}");
}

const UNAUTHORIZED: (StatusCode, &[(&str, &str)]) = (StatusCode::UNAUTHORIZED, &[]);

#[tokio::test]
async fn requests_carry_the_token_and_posts_a_length() {
    let s = Server::start().await;
    let c = s.bearer(Duration::from_secs(30));
    let mut call = ThrottleBudget::default();
    let r = c
        .send(&mut call, "test", Method::POST, &s.api_url(), None, None)
        .await
        .unwrap();
    assert!(r.is_success());
    let echo: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(echo["authorization"], "Bearer t1");
    assert_eq!(echo["content_length"], "0");
    // Clones of an adapter share one client: the token is reused.
    c.send(&mut call, "test", Method::GET, &s.api_url(), None, None)
        .await
        .unwrap();
    assert_eq!(s.issued(), 1);
    assert!(!format!("{c:?}").contains("t1"));
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_then_the_refusal_returned() {
    let s = Server::start().await;
    let c = s.bearer(Duration::from_secs(30));
    let mut call = ThrottleBudget::default();
    c.send(&mut call, "test", Method::GET, &s.api_url(), None, None)
        .await
        .unwrap();
    s.script(&[UNAUTHORIZED]);
    let r = c
        .send(&mut call, "test", Method::GET, &s.api_url(), None, None)
        .await
        .unwrap();
    let echo: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(echo["authorization"], "Bearer t2");
    // Refused again after the renewal: the adapter decides what that means.
    s.script(&[UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED]);
    let r = c
        .send(&mut call, "test", Method::GET, &s.api_url(), None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(s.issued(), 3);
    assert_eq!(s.api_calls(), 1 + 2 + 2);
}

#[tokio::test]
async fn throttling_is_slept_off_within_the_budget() {
    let s = Server::start().await;
    let c = s.bearer(Duration::from_secs(1));
    let mut call = ThrottleBudget::default();
    // Milliseconds are preferred to seconds when both are sent.
    let throttled: &[(&str, &str)] = &[("retry-after", "60"), ("retry-after-ms", "20")];
    s.script(&[
        (StatusCode::TOO_MANY_REQUESTS, throttled),
        (StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "0")]),
    ]);
    let r = c
        .send(&mut call, "test", Method::GET, &s.api_url(), None, None)
        .await
        .unwrap();
    assert!(r.is_success());
    assert_eq!(s.api_calls(), 3);
    // A wait that would overspend the budget is handed back, not slept;
    // without a usable Retry-After, the service's default (3 s) is the wait.
    for (retry_after, wait) in [("2", 2), ("soon", 3)] {
        s.script(&[(
            StatusCode::TOO_MANY_REQUESTS,
            &[("retry-after", retry_after)],
        )]);
        let e = c
            .send(&mut call, "test", Method::GET, &s.api_url(), None, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, SendError::Throttled { retry_after } if retry_after == Duration::from_secs(wait)),
            "{e:?}"
        );
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn a_token_endpoint_refusal_is_a_token_error() {
    let s = Server::start().await;
    let c = s.bearer(Duration::from_secs(30));
    s.answer(Answer::Status(StatusCode::UNAUTHORIZED));
    let e = c
        .send(
            &mut ThrottleBudget::default(),
            "test",
            Method::GET,
            &s.api_url(),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::Token(TokenEndpointError::Refused { status, body })
            if *status == 401 && body.starts_with(b"{")),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(s.api_calls(), 0);
}
