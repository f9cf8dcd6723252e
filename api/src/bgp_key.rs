//! `POST /v1/connectors/{id}/bgp-key/reveal`: the connector's BGP MD5 key,
//! opened for its own tenant.
//!
//! The key is sealed at rest and never part of a connector's
//! representation. A customer who configures their side of the session by
//! hand (their router for a hosted VIF, Azure's peering when they run it)
//! needs it, so it can be revealed on purpose: a POST, so that no prefetch,
//! crawler or cache ever fetches it; `Cache-Control: no-store`; an
//! `Idempotency-Key` replay withholds it; and every reveal is logged with
//! who asked (`audit` target). The operator may turn reveals off
//! (`ONRAMP_BGP_KEY_REVEAL=deny`): then the answer is 403
//! `reveal_disabled` and the key stays with onramp and the routers.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::idempotency::Withhold;
use crate::problem::{Problem, Unauthenticated, problem_json};

/// Whether `POST /v1/connectors/{id}/bgp-key/reveal` opens keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevealPolicy {
    /// Customers may reveal their own connectors' keys (the default).
    #[default]
    Allow,
    /// Nobody may; the answer is 403 `reveal_disabled`.
    Deny,
}

impl std::str::FromStr for RevealPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "allow" => Ok(Self::Allow),
            "deny" => Ok(Self::Deny),
            other => Err(format!(
                "BGP key reveal policy must be `allow` or `deny`, not `{other}`"
            )),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reveal_bgp_key))
}

/// A connector's BGP MD5 key, in clear.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RevealedBgpKey {
    pub connector_id: Uuid,
    /// The MD5 key of the connector's BGP session(s): the one onramp
    /// generated (hosted VIF, ExpressRoute) or the one the customer
    /// reported (hosted connection). Null in an `Idempotency-Key` replay.
    pub bgp_key: Option<String>,
    pub revealed_at: DateTime<Utc>,
}

/// Reveal a connector's BGP key.
///
/// Answers the MD5 key of the connector's BGP session in clear, for the
/// caller's own tenant's connectors only, with `Cache-Control: no-store`.
/// Each reveal is logged with who asked. Google Partner Interconnect
/// sessions have no key, and a hosted connection has none until its VIF is
/// reported (409 `no_bgp_key`). The operator may disable reveals (403
/// `reveal_disabled`).
#[utoipa::path(post, path = "/v1/connectors/{id}/bgp-key/reveal", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The key, shown to this caller now", body = RevealedBgpKey,
            headers(("Cache-Control" = String, description = "`no-store`: the body holds a secret"))),
        Unauthenticated,
        (status = 403, description = "`reveal_disabled`: the operator does not allow revealing BGP keys; or an ops or admin key and another tenant's connector", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`no_bgp_key`: the connector has no BGP key (Google Partner Interconnect, or a hosted connection whose VIF is not reported yet)", body = Problem, content_type = problem_json()),
    ))]
async fn reveal_bgp_key(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<
    (
        StatusCode,
        HeaderMap,
        Extension<Withhold>,
        Json<RevealedBgpKey>,
    ),
    Problem,
> {
    let id = crate::body::parse_id(&id, "connector")?;
    // Whose connector it is comes first: another tenant's is a 404 whatever
    // the policy, exactly as for an id that does not exist.
    let row = crate::connectors::writable(&state, &tenant, id).await?;
    if state.bgp_key_reveal == RevealPolicy::Deny {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "reveal_disabled",
            "Revealing BGP keys is disabled",
            "the operator has turned off revealing BGP keys through the API and the portal",
        )
        .with_hint("ask the operator for the key"));
    }
    let sealed = onramp_kinds::sealed_auth_key(&row)?;
    if sealed.is_empty() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_bgp_key",
            "No BGP key",
            crate::kinds::no_bgp_key(&row),
        ));
    }
    let key = state.secrets.open(&sealed).map_err(|e| {
        tracing::error!(connector = %id, error = %e, "a sealed BGP key does not open");
        Problem::internal()
    })?;
    // Who saw the key, never the key itself.
    tracing::info!(
        target: "audit", connector = %id, tenant = %tenant.name, actor = %tenant.actor,
        "BGP key revealed"
    );
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((
        StatusCode::OK,
        h,
        Extension(Withhold(&["/bgp_key"])),
        Json(RevealedBgpKey {
            connector_id: id,
            bgp_key: Some(key),
            revealed_at: Utc::now(),
        }),
    ))
}
