//! onramp's public HTTP API: axum handlers, RFC 9457 problem responses and
//! the OpenAPI 3.1 document (utoipa) with an offline Swagger UI.
//!
//! The API never talks to a router, and to a CSP only to check an order that
//! only the CSP can judge (an Azure service key). An order is validated, its
//! resources allocated, and its intent plus first job written in one
//! transaction; workers do the rest.

// Handlers return `Result<_, Problem>`; the problem is the HTTP response body,
// built once per failed request, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod admin;
pub mod auth;
pub mod bgp_key;
mod body;
mod connectors;
mod etag;
mod events;
mod health;
mod idempotency;
mod keys;
mod kinds;
pub mod kpis;
mod links;
mod openapi;
mod ops_signals;
mod page;
mod pe_running;
pub mod problem;
mod request_id;
mod tasks;
mod ticket_providers;
mod views;
mod webhooks;

use axum::Router;
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use admin::users::PASSWORD_MIN;
pub use openapi::ApiDoc;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Seals the BGP keys generated for new connectors.
    pub secrets: onramp_store::secrets::SecretBox,
    /// Router template folders, for plans (dry runs).
    pub templates_root: std::path::PathBuf,
    /// The ExpressRoute partner API, to check service keys at order time.
    pub azure: Option<onramp_azure_er::ErClient>,
    /// Whether customers may reveal their connectors' BGP keys
    /// (`ONRAMP_BGP_KEY_REVEAL`).
    pub bgp_key_reveal: bgp_key::RevealPolicy,
    /// How long a retry waits for the first request with its
    /// Idempotency-Key before answering 409 `idempotency_in_progress`.
    pub idempotency_wait: std::time::Duration,
    /// Prometheus, for the customer KPIs; None answers them with 503.
    pub kpis: Option<kpis::KpiSource>,
    /// Renders `/metrics`: the registry the binary installed, if any.
    pub scrape: onramp_signals::Scrape,
}

impl AppState {
    pub fn new(db: DatabaseConnection, secrets: onramp_store::secrets::SecretBox) -> Self {
        Self {
            db,
            secrets,
            templates_root: onramp_router_templates::default_templates_root(),
            azure: None,
            bgp_key_reveal: bgp_key::RevealPolicy::Allow,
            idempotency_wait: idempotency::DEFAULT_WAIT,
            kpis: None,
            scrape: onramp_signals::Scrape::none(),
        }
    }

    pub fn with_scrape(mut self, scrape: onramp_signals::Scrape) -> Self {
        self.scrape = scrape;
        self
    }

    /// Reads the KPIs from the Prometheus at `url`, which scrapes the PEs
    /// every `scrape_interval`.
    pub fn with_prometheus(
        mut self,
        url: &str,
        scrape_interval: std::time::Duration,
    ) -> Result<Self, onramp_prometheus::Error> {
        self.kpis = Some(kpis::KpiSource {
            client: onramp_prometheus::PromClient::new(url, std::time::Duration::from_secs(10))?,
            scrape_interval,
        });
        Ok(self)
    }

    pub fn with_idempotency_wait(mut self, wait: std::time::Duration) -> Self {
        self.idempotency_wait = wait;
        self
    }

    pub fn with_bgp_key_reveal(mut self, policy: bgp_key::RevealPolicy) -> Self {
        self.bgp_key_reveal = policy;
        self
    }

    pub fn with_azure(mut self, cfg: Option<onramp_azure_er::AzureConfig>) -> Self {
        self.azure = cfg.map(onramp_azure_er::ErClient::new);
        self
    }
}

/// The whole application; tests drive it over a real listener.
pub fn app(state: AppState) -> Router {
    // ETags on reads, If-Match on updates. The check reads the resource
    // through the routes as they are without this layer. A route layer, so
    // that a method a path does not have stays a plain 405.
    let reads = routed(state.clone()).fallback(problem::not_found_fallback);
    routed(state)
        .route_layer(axum::middleware::from_fn_with_state(
            reads,
            etag::middleware,
        ))
        .fallback(problem::not_found_fallback)
}

/// Every route with its state, the docs, and idempotent POSTs.
fn routed(state: AppState) -> Router {
    let (router, api) = routes();
    router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        // Every POST honours `Idempotency-Key`; routes only, so an unknown
        // path is a plain 404.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::middleware,
        ))
        // Outside idempotency, so that an oversized body is refused before
        // its key is claimed.
        .route_layer(axum::middleware::from_fn(body::limit))
        .with_state(state)
}

/// The OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Every route, and the document that describes them.
fn routes() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(connectors::router())
        .merge(bgp_key::router())
        .merge(events::router())
        .merge(keys::router())
        .merge(links::router())
        .merge(kpis::router())
        .merge(webhooks::router())
        .merge(tasks::router())
        .merge(ticket_providers::router())
        .merge(admin::router())
        .merge(health::router())
        .merge(ops_signals::router())
        .split_for_parts();
    utoipa::Modify::modify(&openapi::Conventions, &mut api);
    (router, api)
}

/// `router` with what every request on the listener gets: an
/// `x-request-id` and a span holding it (outermost, so the rest logs in
/// it), and its latency recorded by route template. Applied once, to the
/// whole application as served (the API alone, or with the web front ends).
pub fn observed(router: Router) -> Router {
    router
        .layer(axum::middleware::from_fn(ops_signals::middleware))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, observed(app(state)))
        .with_graceful_shutdown(shutdown)
        .await
}
