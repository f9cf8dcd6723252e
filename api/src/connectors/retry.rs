//! `POST /v1/connectors/{id}/retry`: start a failed connector again, once
//! the cause of its failure is fixed (an AWS refusal, a router that refused
//! its configuration). A failed connector was rolled back at the cloud and
//! on the router but kept its allocations, so the retry starts from the
//! kind's first step with the same VLAN, addresses and ASN.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use onramp_state_machines::with_kind;
use onramp_store::connectors as store;

use super::view;
use crate::AppState;
use crate::auth::Tenant;
use crate::kinds::ApiKind;
use crate::problem::{Problem, Unauthenticated, problem_json};
use crate::views::Connector;

/// Retry a failed connector.
///
/// The owner's keys, and ops and admin keys for any tenant's connector,
/// may retry it. It starts again from its first step with the resources it
/// still holds; its timeline keeps the failure and says who retried.
#[utoipa::path(post, path = "/v1/connectors/{id}/retry", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Started again; follow `state` and the timeline", body = Connector),
        Unauthenticated,
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`not_failed`: only a failed connector can be retried; `not_retryable`: the kind is retried by ordering again", body = Problem, content_type = problem_json()),
    ))]
pub(crate) async fn retry_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Connector>), Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    // Ops retry on the customer's behalf: a failure is often theirs to
    // chase (a router refusal, an NNI problem), so any tenant's connector.
    for _ in 0..20 {
        let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
        let t = with_kind!(row.connector_kind()?, |K| {
            let Some(event) = K::retry_event(&row)? else {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "not_retryable",
                    "Not retryable",
                    format!(
                        "{} connectors are provisioned through the provider's runbook; order a new one once the provider's issue is settled, and delete this one",
                        row.kind
                    ),
                ));
            };
            onramp_kinds::transition::on_event::<K>(&row, &event, &tenant.actor)?
        });
        let Some(t) = t else {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "not_failed",
                "Connector not failed",
                format!(
                    "connector {id} is {}; only a failed connector can be retried",
                    row.state
                ),
            ));
        };
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, actor = %tenant.actor, "retry requested");
            let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            ));
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "busy",
        "Connector busy",
        "the connector changed state repeatedly while the retry was being recorded",
    )
    .with_hint("retry the POST"))
}
