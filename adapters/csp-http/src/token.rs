//! A bearer token shared by every clone of a CSP client: fetched once,
//! reused until shortly before it expires, dropped when the CSP refuses it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_clock::Clock;

/// Renew when less than this is left of a token's life...
const REFRESH_MARGIN_MAX: Duration = Duration::from_secs(300);
/// ... or less than this fraction of it, whichever margin is smaller.
const REFRESH_MARGIN_FRACTION: u32 = 10;

/// A bearer token. Its `Debug` hides the value; only [`Token::expose`]
/// gives it out, to put it in an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(value: &str) -> Self {
        Self(Arc::from(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A token as an endpoint handed it out, with when to renew it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fresh {
    token: Token,
    refresh_at: Instant,
    expires_at: Instant,
}

impl Fresh {
    /// A token good for `life` from `requested`. Counted from the request,
    /// so that the round trip only makes us early; renewed at the smaller
    /// of 5 minutes and 10% of `life` before the end.
    pub fn new(token: Token, requested: Instant, life: Duration) -> Self {
        let margin = REFRESH_MARGIN_MAX.min(life / REFRESH_MARGIN_FRACTION);
        Self {
            token,
            refresh_at: requested + life - margin,
            expires_at: requested + life,
        }
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// From then on [`TokenCache::get`] fetches a new one.
    pub fn refresh_at(&self) -> Instant {
        self.refresh_at
    }

    /// Until then a failed renewal may fall back on this one.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// Errors a renewal may shrug off while the current token still works.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

/// The token shared by every clone of a client. The lock is held while a
/// token is fetched so that concurrent calls wait for that one fetch
/// instead of each asking the endpoint.
#[derive(Debug, Default)]
pub struct TokenCache {
    slot: tokio::sync::Mutex<Option<Fresh>>,
}

impl TokenCache {
    /// A valid token: the cached one unless `clock` says it is due for
    /// renewal, else the one `fetch` gets.
    pub async fn get<E, F, Fut>(&self, clock: &Clock, fetch: F) -> Result<Token, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, E>>,
    {
        let mut slot = self.slot.lock().await;
        let now = clock.now();
        if let Some(c) = slot.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        match fetch().await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *slot = Some(fresh);
                Ok(token)
            }
            // Renewal is early on purpose: a token that still works carries
            // on while the token endpoint has trouble.
            Err(e) => match slot.as_ref() {
                Some(c) if now < c.expires_at && e.is_retryable() => {
                    tracing::warn!(error = %e, "token renewal failed; using the current token");
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Drops `token` if it is still the cached one (the CSP refused it). A
    /// caller holding an older token cannot evict one fetched since.
    pub async fn invalidate(&self, token: &Token) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == token) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_the_smaller_margin() {
        let t0 = Instant::now();
        // One hour: 5 minutes early (10% would be 6).
        let c = Fresh::new(Token::new("a"), t0, Duration::from_secs(3600));
        assert_eq!(c.refresh_at() - t0, Duration::from_secs(3300));
        assert_eq!(c.expires_at() - t0, Duration::from_secs(3600));
        // Ten minutes: 10% (1 minute) early.
        let c = Fresh::new(Token::new("a"), t0, Duration::from_secs(600));
        assert_eq!(c.refresh_at() - t0, Duration::from_secs(540));
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::new("eyJ-secret-token");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(
            format!("{:?}", Fresh::new(t, Instant::now(), Duration::ZERO))
                .matches("secret")
                .count(),
            0
        );
    }
}
