//! Access tokens of the workload's service account from the metadata
//! server. The cache that keeps the token and renews it is
//! `onramp_csp_http::TokenCache`; this is the metadata request and what its
//! refusals mean.

use onramp_csp_http::{Fresh, TokenEndpointError, request_token, snippet};

use crate::GcpConfig;
use crate::compute::Call;
use crate::error::Error;

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A token from the metadata server, sleeping off its 429s within the
/// call's budget. The server hands out its own cached token: `expires_in`
/// is what is left of it, and may be short.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    cfg: &GcpConfig,
    call: &mut Call,
) -> Result<Fresh, Error> {
    let url = format!("{}{TOKEN_PATH}", cfg.metadata_url.trim_end_matches('/'));
    loop {
        let req = http.get(&url).header("Metadata-Flavor", "Google");
        match request_token(req, &cfg.clock).await {
            Err(TokenEndpointError::Throttled { retry_after }) => {
                call.throttled(retry_after, cfg).await?;
            }
            done => return done.map_err(refusal),
        }
    }
}

/// What a failed token request means to our callers.
fn refusal(e: TokenEndpointError) -> Error {
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
