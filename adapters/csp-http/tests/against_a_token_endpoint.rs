//! The token cache and the token request against a real token endpoint on
//! 127.0.0.1: an axum server that counts the tokens it issues and answers
//! the way the test tells it to.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use onramp_clock::Clock;
use onramp_csp_http::{Fresh, Retryable, Token, TokenCache, TokenEndpointError, request_token};

/// What the endpoint answers next; tokens are `t1`, `t2`, ...
#[derive(Clone, Debug)]
enum Answer {
    Token { expires_in: u64 },
    Status(StatusCode),
    RetryAfter(String),
    Body(&'static str),
}

#[derive(Clone)]
struct Endpoint {
    issued: Arc<AtomicU32>,
    answer: Arc<Mutex<Answer>>,
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
        };
        let app = Router::new()
            .route("/token", post(token))
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
