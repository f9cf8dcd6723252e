//! The API's half of each connector kind: its order (checks, plan, the
//! order transaction) and its fields in the connector's view. One module
//! per kind; the routes in `connectors.rs` reach a kind only through
//! [`ApiKind`] and `onramp_state_machines::with_kind!`.

pub(crate) mod aws_hosted_connection;
pub(crate) mod aws_hosted_vif;
pub(crate) mod azure_expressroute;
pub(crate) mod gcp_partner_interconnect;
mod order_checks;
pub(crate) mod ticket_csp;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onramp_kinds::Kind;
use onramp_state_machines::{ConnectorKind, Machine, Outcome, with_kind};
use onramp_store::connectors::{Initial, Transition};
use onramp_store::entity::{connector, nni};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::AppState;
use crate::auth::Tenant;
use crate::problem::Problem;
use crate::views::{Connector, RouterChange};

/// A connector kind, as the API takes its orders and shows its connectors.
pub(crate) trait ApiKind: Kind {
    /// The body of `POST /v1/connectors` for this kind.
    type Order: DeserializeOwned + Send;

    /// The CSP whose NNIs (`nnis.csp`) offer this kind in `/v1/locations`;
    /// None for a kind whose NNIs belong to providers set up by ops.
    const CSP: Option<&'static str>;

    /// Why `GET .../bgp-key` has nothing to show, when the kind never has a
    /// key (rather than not yet).
    const NO_BGP_KEY: Option<&'static str> = None;

    /// Checks the order, then plans it (`dry_run`, nothing kept) or places
    /// it (202 with the new connector).
    fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: Self::Order,
    ) -> impl Future<Output = Result<Response, Problem>> + Send;

    /// The params of live connector `row` with bandwidth `given`: checked
    /// against what the kind offers and the capacity of its NNI `at`. Or
    /// why its bandwidth cannot change through onramp, and where it can
    /// (the inner error); the outer one is a row that does not read.
    fn with_bandwidth(
        row: &connector::Model,
        at: &nni::Model,
        given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error>;

    /// The event that starts failed connector `row` again, or None for a
    /// kind that is not retried (ordered again instead).
    fn retry_event(row: &connector::Model) -> Result<Option<Self::Event>, Problem>;

    /// `row`'s resources holding the new BGP key `sealed`, and the event
    /// that takes it to both sides of the session(s). Or why onramp cannot
    /// change this connector's key on both sides (the inner error): a key
    /// changed on the PE alone would only take the session down.
    fn with_new_key(
        row: &connector::Model,
        sealed: &str,
    ) -> Result<Result<(String, Self::Event), crate::problem::FieldError>, onramp_store::Error>;

    /// The CSP calls a settings change of `fields` (from `before` to
    /// `after`) makes, for its plan. Most changes touch only the PEs.
    fn change_calls(
        _before: &connector::Model,
        _after: &connector::Model,
        _fields: &[String],
    ) -> Result<Vec<crate::views::CspCall>, onramp_store::Error> {
        Ok(Vec::new())
    }

    /// Fills this kind's own fields of the connector's view.
    fn describe(
        row: &connector::Model,
        location: &nni::Model,
        state: &Self::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error>;
}

/// Reads `body` as an order of `kind` and hands it to that kind.
pub(crate) async fn order(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    kind: ConnectorKind,
    body: Value,
) -> Result<Response, Problem> {
    with_kind!(kind, |K| {
        let order: <K as ApiKind>::Order = crate::body::from_value(body)?;
        K::order(state, tenant, dry_run, order).await
    })
}

/// The kind's fields of `view`, from its row and machine state.
pub(crate) fn describe(
    row: &connector::Model,
    location: &nni::Model,
    view: &mut Connector,
) -> Result<(), onramp_store::Error> {
    with_kind!(row.connector_kind()?, |K| {
        let state = row.machine_state::<K>()?;
        view.next_step = K::next_step(&state).to_string();
        view.failure_reason = K::failure_reason(&state).map(str::to_string);
        K::describe(row, location, &state, view)
    })
}

/// The kinds whose NNIs belong to `csp`.
pub(crate) fn offered_by(csp: &str) -> Vec<String> {
    ConnectorKind::ALL
        .iter()
        .filter(|k| with_kind!(**k, |K| K::CSP) == Some(csp))
        .map(|k| k.as_str().to_string())
        .collect()
}

/// The CSPs that offer some kind, each once.
pub(crate) fn csps() -> Vec<&'static str> {
    let mut all: Vec<&str> = ConnectorKind::ALL
        .iter()
        .filter_map(|k| with_kind!(*k, |K| K::CSP))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The kinds offered at NNIs of providers set up by ops.
pub(crate) fn offered_by_providers() -> Vec<String> {
    ConnectorKind::ALL
        .iter()
        .filter(|k| with_kind!(**k, |K| K::CSP).is_none())
        .map(|k| k.as_str().to_string())
        .collect()
}

/// Why the connector has no BGP key to show.
pub(crate) fn no_bgp_key(row: &connector::Model) -> String {
    let never = row
        .connector_kind()
        .ok()
        .and_then(|k| with_kind!(k, |K| K::NO_BGP_KEY));
    match never {
        Some(why) => why.to_string(),
        None => format!("connector {} has no BGP key yet", row.id),
    }
}

/// The first state of a freshly ordered connector of kind `K`; `note`, if
/// any, leads the machine's own note on the timeline.
pub(crate) fn initial<K: Machine>(start: &Outcome<K::State, K::Action>, note: String) -> Initial {
    Initial {
        state: K::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state).expect("state serializes"),
        waiting_on: K::waiting_on(&start.state).as_str().into(),
        first_action: start
            .actions
            .first()
            .map(|a| K::action_name(*a).to_string()),
        note: if note.is_empty() {
            start.note.clone()
        } else {
            format!("{note}; {}", start.note)
        },
    }
}

/// The transition a delete request makes, or None when the connector is
/// already finished or being torn down.
pub(crate) fn delete_transition(row: &connector::Model) -> Result<Option<Transition>, Problem> {
    with_kind!(row.connector_kind()?, |K| delete_transition_of::<K>(row))
}

fn delete_transition_of<K: Machine>(row: &connector::Model) -> Result<Option<Transition>, Problem> {
    let mut t = onramp_kinds::transition::on_event::<K>(row, &K::delete_requested(), "customer")?;
    // A change still on its way ends with the teardown: nothing will
    // settle it any more, and a change must not outlive its connector.
    if let Some(t) = t.as_mut()
        && row.pending_change.is_some()
    {
        t.pending_change = Some(None);
    }
    Ok(t)
}

/// 202 with the new connector and its `Location`.
pub(crate) fn accepted(view: Connector) -> Response {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    (StatusCode::ACCEPTED, h, Json(view)).into_response()
}

/// Shown instead of a BGP key in plans: the key is generated at order time.
pub(crate) const REDACTED: &str = "********";

/// The router change a plan shows: `intent` rendered for `pe`'s platform,
/// exactly as the PE's writer would render it.
pub(crate) fn planned_change(
    state: &AppState,
    pe: &onramp_store::entity::pe_router::Model,
    intent: &onramp_router_templates::AttachmentIntent,
    leg: Option<&str>,
) -> Result<RouterChange, Problem> {
    use onramp_router_templates::{Operation, Platform};
    let platform = Platform::load(&state.templates_root, &pe.platform).map_err(|e| {
        tracing::error!(pe = %pe.name, error = %e, "platform unusable");
        Problem::internal()
    })?;
    let rendered = platform.render(Operation::Create, intent).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "render_failed",
            "Router configuration cannot be rendered",
            format!("PE {} ({}): {e}", pe.name, pe.platform),
        )
    })?;
    Ok(RouterChange {
        pe: pe.name.clone(),
        platform: pe.platform.clone(),
        operation: "create".into(),
        leg: leg.map(str::to_string),
        config_xml: rendered.config_xml,
    })
}

/// A bandwidth change refused because the kind's bandwidth is not
/// onramp's to change; `why` says whose it is.
/// Why a connector's BGP key cannot be rotated through onramp.
pub(crate) fn key_fixed(why: impl Into<String>) -> crate::problem::FieldError {
    crate::problem::FieldError {
        field: "rotate_bgp_key".into(),
        code: "not_rotatable".into(),
        detail: why.into(),
    }
}

pub(crate) fn bandwidth_fixed(why: impl Into<String>) -> crate::problem::FieldError {
    crate::problem::FieldError {
        field: "bandwidth".into(),
        code: "not_changeable".into(),
        detail: why.into(),
    }
}
