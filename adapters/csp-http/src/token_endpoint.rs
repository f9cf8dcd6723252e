//! One request to a token endpoint that answers like OAuth2's
//! (`{"access_token","expires_in"}`: AAD's client-credentials grant, GCE's
//! metadata server), and why it gave no token.

use std::time::Duration;

use onramp_clock::Clock;
use reqwest::StatusCode;

use crate::{Fresh, Token, error_chain, retry_after};

/// Why a token endpoint gave no token. The adapter decides what each means
/// to its callers (the body may echo what was sent: scrub before showing).
#[derive(Debug, thiserror::Error)]
pub enum TokenEndpointError {
    /// 429; sleep off `retry_after` (if the endpoint said) and ask again.
    #[error("token endpoint throttled the request (429)")]
    Throttled { retry_after: Option<Duration> },
    /// No HTTP answer: connection refused, TLS, timeout.
    #[error("{0}")]
    Transport(String),
    /// 5xx: the endpoint has trouble; worth asking again later.
    #[error("token endpoint answered {status}")]
    Unavailable { status: StatusCode, body: Vec<u8> },
    /// Any other non-success: the credentials or the request are wrong.
    #[error("token endpoint refused the request ({status})")]
    Refused { status: StatusCode, body: Vec<u8> },
    /// A success without a usable token; the text follows "token response".
    #[error("token response {0}")]
    Malformed(String),
}

/// Sends `req` (a token request, built by the adapter) once. The token's
/// life is counted from when `clock` says the request started.
pub async fn request_token(
    req: reqwest::RequestBuilder,
    clock: &Clock,
) -> Result<Fresh, TokenEndpointError> {
    let transport = |e: reqwest::Error| TokenEndpointError::Transport(error_chain(&e));
    let started = clock.now();
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    let wait = retry_after(resp.headers(), clock);
    tracing::debug!(
        path = resp.url().path(),
        status = status.as_u16(),
        "token request"
    );
    let body = resp.bytes().await.map_err(transport)?.to_vec();
    if status.is_success() {
        let (token, life) = parse_token_response(&body).map_err(TokenEndpointError::Malformed)?;
        return Ok(Fresh::new(token, started, life));
    }
    Err(if status == StatusCode::TOO_MANY_REQUESTS {
        TokenEndpointError::Throttled { retry_after: wait }
    } else if status.is_server_error() {
        TokenEndpointError::Unavailable { status, body }
    } else {
        TokenEndpointError::Refused { status, body }
    })
}

/// The token and its life from a success body; `Err` says what is wrong
/// with it, to follow "token response".
pub fn parse_token_response(body: &[u8]) -> Result<(Token, Duration), String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("is not JSON: {e}"))?;
    let token = v
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or("without access_token")?;
    // AAD v2.0 and the metadata server send a number, AAD v1 a string.
    let expires_in = match v.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or("without expires_in")?;
    Ok((Token::new(token), Duration::from_secs(expires_in)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses() {
        let (t, life) = parse_token_response(
            br#"{"access_token":"ya29.a","expires_in":3599,"token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(t.expose(), "ya29.a");
        assert_eq!(life, Duration::from_secs(3599));
        let (_, life) =
            parse_token_response(br#"{"access_token":"a","expires_in":"600"}"#).unwrap();
        assert_eq!(life, Duration::from_secs(600));
        assert_eq!(
            parse_token_response(br#"{"expires_in":600}"#).unwrap_err(),
            "without access_token"
        );
        assert_eq!(
            parse_token_response(br#"{"access_token":"","expires_in":600}"#).unwrap_err(),
            "without access_token"
        );
        assert_eq!(
            parse_token_response(br#"{"access_token":"a"}"#).unwrap_err(),
            "without expires_in"
        );
        assert!(
            parse_token_response(b"<html>")
                .unwrap_err()
                .starts_with("is not JSON")
        );
    }
}
