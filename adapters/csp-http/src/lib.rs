//! The HTTP plumbing the reqwest-based CSP adapters (`onramp-azure-er`,
//! `onramp-gcp-pi`) share, so that a fix to token renewal or throttling
//! lands in both at once:
//!
//! - [`TokenCache`]: one bearer token per client, shared by its clones,
//!   renewed shortly before it expires (by the injected [`Clock`]), fetched
//!   by one caller at a time, dropped when the CSP refuses it (401).
//! - [`request_token`]: one request to an OAuth2-style token endpoint
//!   (`{"access_token","expires_in"}`), with its failure classified.
//! - [`retry_after`]: `Retry-After` in both of its forms, capped.
//! - [`ThrottleBudget`]: how much 429 sleeping one public call may do.
//! - [`BearerClient`]: one request to a CSP API with all of the above:
//!   token from the cache, renewed once on 401, 429s slept off.
//! - [`http_client`], [`snippet`], [`error_chain`]: the client both build
//!   and the text they make of what went wrong.
//!
//! What each CSP says (error bodies, long-running operations, its error
//! enum) stays in its adapter; this crate returns its own small error types
//! and the adapters map them.
//!
//! [`Clock`]: onramp_clock::Clock

mod bearer;
mod client;
mod retry_after;
mod throttle;
mod token;
mod token_endpoint;

pub use self::bearer::{BearerClient, NotJson, Reply, SendError, Service};
pub use self::client::{error_chain, http_client, snippet};
pub use self::retry_after::{MAX_RETRY_AFTER, parse_retry_after, retry_after};
pub use self::throttle::ThrottleBudget;
pub use self::token::{Fresh, Retryable, Token, TokenCache};
pub use self::token_endpoint::{TokenEndpointError, parse_token_response, request_token};
/// Which CSP a [`Service`] is, for the call metrics.
pub use onramp_signals::series::Csp;
