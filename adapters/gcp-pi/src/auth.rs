//! Access tokens of the workload's service account from the metadata server,
//! cached and renewed before they expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::GcpConfig;
use crate::compute::{Call, retry_after};
use crate::error::{Error, snippet, transport};

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
/// Renew when less than this is left of a token's life...
const REFRESH_MARGIN_MAX: Duration = Duration::from_secs(300);
/// ... or less than this fraction of it, whichever margin is smaller.
const REFRESH_MARGIN_FRACTION: u32 = 10;

/// A bearer token. Its `Debug` hides the value; only [`Token::expose`]
/// gives it out, to put it in an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(Arc<str>);

impl Token {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug)]
struct Cached {
    token: Token,
    refresh_at: Instant,
    expires_at: Instant,
}

/// The token shared by every clone of the client. The lock is held while a
/// token is fetched so that concurrent calls wait for one fetch.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slot: tokio::sync::Mutex<Option<Cached>>,
}

impl TokenCache {
    /// A valid token: the cached one unless it is due for renewal.
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        cfg: &GcpConfig,
        call: &mut Call,
    ) -> Result<Token, Error> {
        let mut slot = self.slot.lock().await;
        let now = cfg.clock.now();
        if let Some(c) = slot.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        match fetch(http, cfg, call).await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *slot = Some(fresh);
                Ok(token)
            }
            // Renewal is early on purpose: a token that still works carries
            // on while the metadata server has trouble.
            Err(e) => match slot.as_ref() {
                Some(c) if now < c.expires_at && e.is_retryable() => {
                    tracing::warn!(error = %e, "metadata token renewal failed; using the current token");
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Drops `token` if it is still the cached one (Compute refused it).
    pub(crate) async fn invalidate(&self, token: &Token) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == token) {
            *slot = None;
        }
    }
}

async fn fetch(http: &reqwest::Client, cfg: &GcpConfig, call: &mut Call) -> Result<Cached, Error> {
    let url = format!("{}{TOKEN_PATH}", cfg.metadata_url.trim_end_matches('/'));
    loop {
        let started = cfg.clock.now();
        let resp = http
            .get(&url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let wait = retry_after(resp.headers());
        let body = resp.bytes().await.map_err(transport)?;
        tracing::debug!(status = status.as_u16(), "metadata token request");
        if status.is_success() {
            return parse_token(&body, started);
        }
        if status.as_u16() == 429 {
            call.throttled(wait, cfg).await?;
            continue;
        }
        if status.is_server_error() {
            return Err(Error::Transport(format!(
                "metadata server answered {status}: {}",
                snippet(&body)
            )));
        }
        return Err(Error::Auth(format!(
            "metadata server refused the token request ({status}): {}",
            snippet(&body)
        )));
    }
}

fn parse_token(body: &[u8], requested: Instant) -> Result<Cached, Error> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("metadata token response is not JSON: {e}")))?;
    let token = v
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Protocol("metadata token response without access_token".into()))?;
    let expires_in = match v.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| Error::Protocol("metadata token response without expires_in".into()))?;
    // The metadata server hands out its cached token: `expires_in` is what
    // is left of it, and may be short.
    let life = Duration::from_secs(expires_in);
    let margin = REFRESH_MARGIN_MAX.min(life / REFRESH_MARGIN_FRACTION);
    // Counted from the request, so that the round trip only makes us early.
    Ok(Cached {
        token: Token(Arc::from(token)),
        refresh_at: requested + life - margin,
        expires_at: requested + life,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_the_smaller_margin() {
        let t0 = Instant::now();
        // About an hour: 5 minutes early (10% would be 6).
        let c = parse_token(
            br#"{"access_token":"ya29.a","expires_in":3599,"token_type":"Bearer"}"#,
            t0,
        )
        .unwrap();
        assert_eq!(c.refresh_at - t0, Duration::from_secs(3299));
        assert_eq!(c.expires_at - t0, Duration::from_secs(3599));
        // Ten minutes left: 1 minute early.
        let c = parse_token(br#"{"access_token":"a","expires_in":"600"}"#, t0).unwrap();
        assert_eq!(c.refresh_at - t0, Duration::from_secs(540));
        assert!(parse_token(br#"{"expires_in":600}"#, t0).is_err());
        assert!(parse_token(br#"{"access_token":"a"}"#, t0).is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token(Arc::from("ya29.secret"));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }
}
