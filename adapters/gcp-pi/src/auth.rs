//! Access tokens of the workload's service account from the metadata
//! server. `onramp_csp_http` sends the request, caches the token and renews
//! it; this is the metadata request and what its refusals mean.

use onramp_csp_http::{TokenEndpointError, snippet};

use crate::GcpConfig;
use crate::error::Error;

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// Builds the metadata server's token request. The server hands out its
/// own cached token: `expires_in` is what is left of it, and may be short.
pub(crate) fn token_request(
    cfg: &GcpConfig,
) -> impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static {
    let url = format!("{}{TOKEN_PATH}", cfg.metadata_url.trim_end_matches('/'));
    move |http| http.get(&url).header("Metadata-Flavor", "Google")
}

/// What a failed token request means to our callers.
pub(crate) fn refusal(e: TokenEndpointError) -> Error {
    match e {
        TokenEndpointError::Throttled { retry_after } => Error::Throttled {
            retry_after: retry_after.unwrap_or_default(),
        },
        TokenEndpointError::Transport(msg) => Error::Transport(msg),
        TokenEndpointError::Unavailable { status, body } => Error::Transport(format!(
            "metadata server answered {status}: {}",
            snippet(&body)
        )),
        TokenEndpointError::Refused { status, body } => Error::Auth(format!(
            "metadata server refused the token request ({status}): {}",
            snippet(&body)
        )),
        TokenEndpointError::Malformed(_) => Error::Protocol(format!("metadata {e}")),
    }
}
