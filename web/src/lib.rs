//! onramp's web front ends, served by the same process as the API: sign-in
//! ([`login`]), and the pages of the ops console and the customer portal.
//!
//! Pages are rendered on the server with minijinja (the engine the router
//! templates already use); templates and assets are embedded at build time,
//! so nothing is read from disk or loaded from a CDN at run time. Scripts and
//! styles come only from `/assets`, which the Content-Security-Policy of
//! every page enforces (no inline script).
//!
//! A signed-in browser calls the REST API with its session cookie and the
//! session's CSRF token (see `onramp_api::auth`), so the portal is a client
//! of the same API customers script against.

use axum::Router;
use onramp_api::AppState;

mod assets;
mod console;
mod login;
pub mod portal;
pub mod render;
pub mod session;
mod throttle;

/// The web routes alone.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(login::router())
        .merge(console::router())
        .merge(assets::router())
        .merge(portal::router())
        .with_state(state)
}

/// The whole application: the API and the web front ends, each request
/// with its request id and latency (`onramp_api::observed`).
pub fn app(state: AppState) -> Router {
    onramp_api::observed(onramp_api::app(state.clone()).merge(router(state)))
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
