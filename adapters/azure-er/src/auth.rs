//! OAuth2 client credentials against Azure AD, with a cached token that is
//! renewed before it expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::arm::Call;
use crate::error::{Error, snippet, transport};
use crate::{AzureConfig, arm};

/// The ARM audience.
const SCOPE: &str = "https://management.azure.com/.default";
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
pub(crate) struct Cached {
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
        cfg: &AzureConfig,
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
            // on while AAD has trouble.
            Err(e) => match slot.as_ref() {
                Some(c) if now < c.expires_at && e.is_retryable() => {
                    tracing::warn!(error = %e, "Azure AD token renewal failed; using the current token");
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Drops `token` if it is still the cached one (ARM refused it).
    pub(crate) async fn invalidate(&self, token: &Token) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| &c.token == token) {
            *slot = None;
        }
    }
}

async fn fetch(
    http: &reqwest::Client,
    cfg: &AzureConfig,
    call: &mut Call,
) -> Result<Cached, Error> {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        cfg.login_url.trim_end_matches('/'),
        cfg.tenant_id
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.as_str()),
        ("scope", SCOPE),
    ];
    loop {
        let started = cfg.clock.now();
        let resp = http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let retry_after = arm::retry_after(resp.headers());
        let body = resp.bytes().await.map_err(transport)?;
        tracing::debug!(tenant = %cfg.tenant_id, status = status.as_u16(), "Azure AD token request");
        if status.is_success() {
            return parse_token(&body, started);
        }
        if status.as_u16() == 429 {
            call.throttled(retry_after, cfg).await?;
            continue;
        }
        if status.is_server_error() {
            return Err(Error::Transport(format!(
                "Azure AD token endpoint answered {status}"
            )));
        }
        return Err(Error::Auth(scrub(&aad_error(status, &body), cfg)));
    }
}

fn parse_token(body: &[u8], requested: Instant) -> Result<Cached, Error> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("Azure AD token response is not JSON: {e}")))?;
    let token = v
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Protocol("Azure AD token response without access_token".into()))?;
    // v2.0 sends a number, v1 a string.
    let expires_in = match v.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| Error::Protocol("Azure AD token response without expires_in".into()))?;
    let life = Duration::from_secs(expires_in);
    let margin = REFRESH_MARGIN_MAX.min(life / REFRESH_MARGIN_FRACTION);
    // Counted from the request, so that the round trip only makes us early.
    Ok(Cached {
        token: Token(Arc::from(token)),
        refresh_at: requested + life - margin,
        expires_at: requested + life,
    })
}

/// `invalid_client: AADSTS7000215: Invalid client secret provided.` from
/// AAD's error body (first line of the description: the rest is trace ids).
fn aad_error(status: reqwest::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct AadError {
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<AadError>(body) {
        Ok(AadError {
            error: Some(error),
            error_description,
        }) => {
            let first_line = error_description
                .as_deref()
                .and_then(|d| d.lines().next())
                .unwrap_or_default();
            format!("{error}: {first_line} (HTTP {})", status.as_u16())
        }
        _ => format!("HTTP {}: {}", status.as_u16(), snippet(body)),
    }
}

/// Belt and braces: AAD does not echo the secret, but nothing we pass on
/// may contain it.
fn scrub(text: &str, cfg: &AzureConfig) -> String {
    if cfg.client_secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(cfg.client_secret.as_str(), "<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_the_smaller_margin() {
        let t0 = Instant::now();
        // One hour: 5 minutes early (10% would be 6).
        let c = parse_token(br#"{"access_token":"a","expires_in":3600}"#, t0).unwrap();
        assert_eq!(c.refresh_at - t0, Duration::from_secs(3300));
        assert_eq!(c.expires_at - t0, Duration::from_secs(3600));
        // Ten minutes: 10% (1 minute) early; v1's string form.
        let c = parse_token(br#"{"access_token":"a","expires_in":"600"}"#, t0).unwrap();
        assert_eq!(c.refresh_at - t0, Duration::from_secs(540));
        assert!(parse_token(br#"{"expires_in":600}"#, t0).is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token(Arc::from("eyJ-secret-token"));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn aad_errors_keep_the_first_line_only() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y"}"#;
        let msg = aad_error(reqwest::StatusCode::UNAUTHORIZED, body);
        assert_eq!(
            msg,
            "invalid_client: AADSTS7000215: Invalid client secret provided. (HTTP 401)"
        );
    }
}
