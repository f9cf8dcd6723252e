use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onramp",
        description = "Order and track private connectivity into the clouds. Errors are RFC 9457 problem+json.",
        version = "0.1.0"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "connectors", description = "Cloud connectors and their lifecycle"),
        (name = "events", description = "Every state change, as a Server-Sent Events stream"),
        (name = "webhooks", description = "Signed HTTP deliveries of every state change to the tenant's endpoints"),
        (name = "api-keys", description = "The caller's API keys: create (shown once), list, revoke"),
        (name = "admin", description = "Inventory administration: PE routers, ports, NNIs and resource pools (admin keys only)"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
