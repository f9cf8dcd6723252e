//! `/v1/webhooks`: tenants register endpoints that receive every state change
//! (issue 8).

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
