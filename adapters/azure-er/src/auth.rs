//! OAuth2 client credentials against Azure AD. `onramp_csp_http` sends the
//! request, caches the token and renews it; this is the AAD request and
//! what its refusals mean.

use onramp_csp_http::{TokenEndpointError, snippet};

use crate::AzureConfig;
use crate::error::Error;

/// The ARM audience.
const SCOPE: &str = "https://management.azure.com/.default";

/// Builds AAD's client-credentials request for `cfg`'s app registration.
pub(crate) fn token_request(
    cfg: &AzureConfig,
) -> impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        cfg.login_url.trim_end_matches('/'),
        cfg.tenant_id
    );
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", cfg.client_id.clone()),
        ("client_secret", cfg.client_secret.clone()),
        ("scope", SCOPE.to_owned()),
    ];
    move |http| http.post(&url).form(&form)
}

/// What a failed token request means to our callers.
pub(crate) fn refusal(e: TokenEndpointError, cfg: &AzureConfig) -> Error {
    match e {
        TokenEndpointError::Throttled { retry_after } => Error::Throttled {
            retry_after: retry_after.unwrap_or_default(),
        },
        TokenEndpointError::Transport(msg) => Error::Transport(msg),
        TokenEndpointError::Unavailable { status, .. } => {
            Error::Transport(format!("Azure AD token endpoint answered {status}"))
        }
        TokenEndpointError::Refused { status, body } => {
            Error::Auth(scrub(&aad_error(status, &body), cfg))
        }
        TokenEndpointError::Malformed(_) => Error::Protocol(format!("Azure AD {e}")),
    }
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
    fn aad_errors_keep_the_first_line_only() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y"}"#;
        let msg = aad_error(reqwest::StatusCode::UNAUTHORIZED, body);
        assert_eq!(
            msg,
            "invalid_client: AADSTS7000215: Invalid client secret provided. (HTTP 401)"
        );
    }
}
