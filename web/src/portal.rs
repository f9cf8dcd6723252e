//! The customer portal: thin pages served by onramp, whose scripts
//! (`assets/portal*.js`) call the public REST API with the session cookie
//! and its CSRF token. Everything the portal does, a customer can script.
//!
//! The server renders the frame of each page and checks only what decides
//! which page to show: that the person is a customer (staff get a page
//! that sends them to the console), and that the connector or link in the
//! URL is their tenant's (another tenant's is the same 404 page as one
//! that does not exist). The data itself comes from `/v1/...`.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use minijinja::value::Serde;
use onramp_api::AppState;
use onramp_api::bgp_key::RevealPolicy;
use uuid::Uuid;

use crate::render::{error_page, page};
use crate::session::WebUser;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(connectors))
        .route("/portal/connectors/new", get(order))
        .route("/portal/connectors/{id}", get(connector))
        .route("/portal/keys", get(keys))
        .route("/portal/links", get(links))
        .route("/portal/links/{id}", get(link))
}

/// A signed-in customer. Operator staff get a page that points them to the
/// ops console: the portal shows one tenant's view, and staff act on every
/// tenant's connectors from the console.
pub struct Customer(pub WebUser);

impl FromRequestParts<AppState> for Customer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = WebUser::from_request_parts(parts, state).await?;
        if user.is_staff() {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "The portal is for customers",
                "You are signed in as the operator's staff. Every tenant's connectors, \
                 and the tasks waiting for you, are in the ops console at /console.",
                Some(&user),
            ));
        }
        Ok(Customer(user))
    }
}

/// The page's frame: the layout's variables plus which portal page it is.
fn frame(user: &WebUser, template: &str, nav: &str, extra: minijinja::Value) -> Response {
    page(
        StatusCode::OK,
        template,
        context! {
            user => Serde(user.view()),
            area => "portal",
            nav => nav,
            ..extra
        },
    )
}

fn not_found(user: &WebUser, what: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        &format!("No such {what}"),
        &format!(
            "Your organisation has no {what} at this address. It may have been mistyped, \
             or it belongs to another account."
        ),
        Some(user),
    )
}

fn unavailable(user: &WebUser) -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The portal is unavailable",
        "onramp could not read its database. Try again in a moment.",
        Some(user),
    )
}

async fn connectors(Customer(user): Customer) -> Response {
    frame(
        &user,
        "portal/connectors.html",
        "connectors",
        context! { states => onramp_state_machines::ConnectorKind::all_state_names() },
    )
}

async fn order(Customer(user): Customer) -> Response {
    frame(&user, "portal/order.html", "order", context! {})
}

async fn connector(
    State(state): State<AppState>,
    Customer(user): Customer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(&user, "connector");
    };
    match onramp_store::connectors::get_scoped(&state.db, Some(user.tenant_id), id).await {
        Ok(_) => {}
        Err(onramp_store::Error::NotFound { .. }) => return not_found(&user, "connector"),
        Err(e) => {
            tracing::error!(error = %e, "reading a connector for the portal failed");
            return unavailable(&user);
        }
    }
    frame(
        &user,
        "portal/connector.html",
        "connectors",
        context! {
            id => id.to_string(),
            reveal_allowed => state.bgp_key_reveal == RevealPolicy::Allow,
        },
    )
}

async fn keys(Customer(user): Customer) -> Response {
    frame(&user, "portal/keys.html", "keys", context! {})
}

async fn links(Customer(user): Customer) -> Response {
    frame(&user, "portal/links.html", "links", context! {})
}

async fn link(
    State(state): State<AppState>,
    Customer(user): Customer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(&user, "link");
    };
    match onramp_store::links::get_scoped(&state.db, Some(user.tenant_id), id).await {
        Ok(_) => {}
        Err(onramp_store::Error::NotFound { .. }) => return not_found(&user, "link"),
        Err(e) => {
            tracing::error!(error = %e, "reading a link for the portal failed");
            return unavailable(&user);
        }
    }
    frame(
        &user,
        "portal/link.html",
        "links",
        context! { id => id.to_string() },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_state_filter_lists_every_kind_s_states_once() {
        let names = onramp_state_machines::ConnectorKind::all_state_names();
        for s in [
            "active",
            "waiting_customer_acceptance",
            "waiting_customer_activation",
            // ticket-csp's own, which the filter once missed.
            "waiting_ops",
            "removing_pe",
        ] {
            assert!(names.contains(&s), "{s}");
        }
        let mut sorted = names.clone();
        sorted.dedup();
        assert_eq!(sorted, names);
    }
}
