//! `/v1/connectors` and `/v1/locations`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onramp_checks::Coded;
use onramp_router_templates::{Operation, Platform};
use onramp_state_machines::aws_hosted_vif::{self as vif, Event as VifEvent};
use onramp_state_machines::{
    aws_hosted_connection as hc, azure_expressroute as er, gcp_partner_interconnect as gpi,
    ticket_csp as tc,
};
use onramp_store::connectors::{Initial, Mode, Transition};
use onramp_store::entity::{connector, nni};
use onramp_store::model::{AwsHostedVifParams, Resources};
use onramp_store::{connectors as store, inventory};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::page::PageParams;
use crate::problem::{FieldError, Problem};
use crate::views::{
    AwsHostedConnectionOrder, AwsHostedVifOrder, AzureExpressRouteOrder, Connector, ConnectorList,
    ConnectorOrder, CspCall, EventList, GcpPartnerInterconnectOrder, HostedVifReport, Location,
    LocationList, Peering, Plan, RouterChange, TicketCspOrder,
};

pub const KINDS: &[&str] = &[
    "aws-hosted-vif",
    "aws-hosted-connection",
    "azure-expressroute",
    "gcp-partner-interconnect",
    "ticket-csp",
];

/// Hosted connection speeds AWS accepts from partners (csp-apis.md).
pub const AWS_BANDWIDTHS: &[(&str, i32)] = &[
    ("50Mbps", 50),
    ("100Mbps", 100),
    ("200Mbps", 200),
    ("300Mbps", 300),
    ("400Mbps", 400),
    ("500Mbps", 500),
    ("1Gbps", 1_000),
    ("2Gbps", 2_000),
    ("5Gbps", 5_000),
    ("10Gbps", 10_000),
    ("25Gbps", 25_000),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_connector, list_connectors))
        .routes(routes!(get_connector, delete_connector))
        .routes(routes!(connector_events))
        .routes(routes!(report_vif))
        .routes(routes!(list_locations))
}

fn problem_json() -> &'static str {
    crate::problem::CONTENT_TYPE
}

/// Order a connector.
///
/// Validates the order, allocates its resources (VLANs, peering subnets and,
/// if none given, a private ASN), and queues provisioning. Progress shows in
/// `state`, `waiting_on` and the events timeline. An `azure-expressroute`
/// order is checked with Azure first: its service key must name a circuit
/// waiting for onramp at a peering location onramp serves.
#[utoipa::path(post, path = "/v1/connectors", tag = "connectors",
    request_body(content = ConnectorOrder, content_type = "application/json"),
    params(CreateQuery,
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Makes retries safe: 1 to 255 printable ASCII characters, unique per order (e.g. a UUID). \
                A retry with the same key, query string and body within 24 h creates nothing and gets the first answer \
                (2xx or 4xx) again with `Idempotent-Replayed: true`, after waiting for the first if it is still running. \
                Keys are scoped to the API key's tenant and role. A 5xx is not kept, so its retry runs again.")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan, when `dry_run=true`; nothing was allocated or sent", body = Plan,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer to an earlier request with the same Idempotency-Key"))),
        (status = 202, description = "Accepted; provisioning runs in the background", body = Connector,
            headers(("Location" = String, description = "The connector's URL"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer to an earlier request with the same Idempotency-Key; nothing new was created"))),
        (status = 400, description = "Malformed JSON, or a malformed Idempotency-Key (`invalid_idempotency_key`, `errors[0].field` = `Idempotency-Key`)", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 409, description = "A requested value is taken, or a pool is exhausted; or `idempotency_in_progress`: the request with this Idempotency-Key is still running after 30 s (see Retry-After)", body = Problem, content_type = problem_json()),
        (status = 413, description = "Body larger than 2 MiB (`payload_too_large`)", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid order, `errors` names the fields; or `idempotency_key_reused`: the Idempotency-Key was used for a different request, nothing was done", body = Problem, content_type = problem_json()),
        (status = 502, description = "The CSP refused onramp's lookup or credentials", body = Problem, content_type = problem_json()),
        (status = 503, description = "The CSP is unreachable or throttling; see Retry-After", body = Problem, content_type = problem_json()),
    ))]
async fn create_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    crate::body::ApiQuery(q): crate::body::ApiQuery<CreateQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let (kind, value) = parse_order(&headers, &body)?;
    match kind.as_str() {
        "azure-expressroute" => {
            let order: AzureExpressRouteOrder = crate::body::from_value(value)?;
            return create_azure(&state, &tenant, q.dry_run, &order).await;
        }
        "gcp-partner-interconnect" => {
            let order: GcpPartnerInterconnectOrder = crate::body::from_value(value)?;
            return create_gcp(&state, &tenant, q.dry_run, &order).await;
        }
        "aws-hosted-connection" => {
            let order: AwsHostedConnectionOrder = crate::body::from_value(value)?;
            return create_hosted_connection(&state, &tenant, q.dry_run, &order).await;
        }
        "ticket-csp" => {
            let order: TicketCspOrder = crate::body::from_value(value)?;
            return create_ticket(&state, &tenant, q.dry_run, &order).await;
        }
        _ => {}
    }
    let order: AwsHostedVifOrder = crate::body::from_value(value)?;
    let (nni, params) = validate_aws_hosted_vif(&state, &order).await?;
    if q.dry_run {
        return Ok(Json(plan(&state, &tenant, &nni, &params).await?).into_response());
    }
    let start = vif::start();
    let initial = Initial {
        state: vif::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state).expect("state serializes"),
        waiting_on: vif::waiting_on(&start.state).as_str().into(),
        first_action: start.actions.first().map(|a| a.as_str().to_string()),
        note: format!(
            "Ordered a hosted VIF at {} for AWS account {}; {}",
            nni.location_code, params.aws_account_id, start.note
        ),
    };
    let auth_key = Alphanumeric.sample_string(&mut rand::rng(), 24);
    let row = store::create_aws_hosted_vif(
        &state.db,
        tenant.id,
        &nni,
        &params,
        &state.secrets.seal(&auth_key),
        &initial,
        Mode::Commit,
    )
    .await?;
    tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, location = %nni.location_code, "connector ordered");
    let view = Connector::from_row(&row, &nni)?;
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::ACCEPTED, h, Json(view)).into_response())
}

async fn create_azure(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    order: &AzureExpressRouteOrder,
) -> Result<Response, Problem> {
    let checked = crate::azure::check(state, tenant, order).await?;
    if dry_run {
        return Ok(Json(crate::azure::plan(state, tenant, &checked).await?).into_response());
    }
    let start = er::start(checked.params.configure_peering);
    let initial = crate::azure::initial(
        &start,
        format!(
            "Ordered ExpressRoute for circuit {} ({} Mbps at {}); {}",
            checked.params.service_key,
            checked.params.circuit.bandwidth_mbps,
            checked.params.circuit.peering_location,
            start.note
        ),
    );
    let shared_key = Alphanumeric.sample_string(&mut rand::rng(), 24);
    let row = store::create_azure_expressroute(
        &state.db,
        tenant.id,
        &checked.nni,
        checked.secondary_port_id,
        &checked.params,
        &state.secrets.seal(&shared_key),
        &initial,
        Mode::Commit,
    )
    .await?;
    tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, location = %checked.nni.location_code, "connector ordered");
    let mut view = Connector::from_row(&row, &checked.nni)?;
    if !checked.params.configure_peering {
        // The customer enters the key in Azure; this response is the only
        // place it is ever shown.
        view.shared_key = Some(shared_key);
    }
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::ACCEPTED, h, Json(view)).into_response())
}

fn accepted(view: Connector) -> Response {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    (StatusCode::ACCEPTED, h, Json(view)).into_response()
}

async fn create_gcp(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    order: &GcpPartnerInterconnectOrder,
) -> Result<Response, Problem> {
    let (nni, params) = crate::gcp::check(state, order).await?;
    if dry_run {
        return Ok(Json(crate::gcp::plan(state, tenant, &nni, &params).await?).into_response());
    }
    let initial = crate::gcp::initial(format!(
        "Ordered Partner Interconnect for pairing key {} ({} on {})",
        params.pairing_key, params.bandwidth, nni.csp_ref
    ));
    let row = store::create_gcp_partner_interconnect(
        &state.db,
        tenant.id,
        &nni,
        &params,
        &initial,
        Mode::Commit,
    )
    .await?;
    tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, location = %nni.location_code, "connector ordered");
    Ok(accepted(Connector::from_row(&row, &nni)?))
}

async fn create_ticket(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    order: &TicketCspOrder,
) -> Result<Response, Problem> {
    let (nni, params) = crate::ticket::check(state, order).await?;
    if dry_run {
        return Ok(Json(crate::ticket::plan(state, tenant, &nni, &params).await?).into_response());
    }
    let initial = crate::ticket::initial(
        &params,
        format!(
            "Ordered {} from {} at {}",
            params.bandwidth, params.provider_name, nni.location_code
        ),
    );
    let row = store::create_ticket_csp(&state.db, tenant.id, &nni, &params, &initial, Mode::Commit)
        .await?;
    tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, provider = %params.provider, location = %nni.location_code, "connector ordered");
    Ok(accepted(Connector::from_row(&row, &nni)?))
}

async fn create_hosted_connection(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    order: &AwsHostedConnectionOrder,
) -> Result<Response, Problem> {
    let (nni, params) = crate::hosted_connection::check(state, order).await?;
    let initial = crate::hosted_connection::initial(format!(
        "Ordered a {} hosted connection at {} for AWS account {}",
        params.bandwidth, nni.location_code, params.aws_account_id
    ));
    let mode = if dry_run { Mode::DryRun } else { Mode::Commit };
    let row =
        store::create_aws_hosted_connection(&state.db, tenant.id, &nni, &params, &initial, mode)
            .await?;
    if dry_run {
        let res = Resources::from_json(&row.resources)?;
        return Ok(Json(Plan {
            dry_run: true,
            kind: "aws-hosted-connection".into(),
            location: nni.location_code.clone(),
            peering: None,
            azure: None,
            // Nothing goes to the PE before the customer reports their VIF.
            router_changes: Vec::new(),
            csp_calls: vec![CspCall {
                service: "directconnect".into(),
                operation: "AllocateHostedConnection".into(),
                request: serde_json::json!({
                    "connectionId": nni.csp_ref,
                    "ownerAccount": params.aws_account_id,
                    "bandwidth": params.bandwidth,
                    "connectionName": res.csp_object_name,
                    "vlan": res.vlan,
                }),
            }],
            steps: vec![
                format!(
                    "Allocate a {} hosted connection on {} with VLAN {} for AWS account {}",
                    params.bandwidth, nni.csp_ref, res.vlan, params.aws_account_id
                ),
                "Wait for you to accept it in the AWS console".into(),
                format!(
                    "You create a private VIF on it (VLAN {}) and report it with PUT /v1/connectors/{{id}}/vif",
                    res.vlan
                ),
                format!(
                    "Configure {} on {} with your VIF's addresses and key; wait for BGP",
                    res.port_name, res.pe_name
                ),
            ],
        })
        .into_response());
    }
    tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, location = %nni.location_code, "connector ordered");
    Ok(accepted(Connector::from_row(&row, &nni)?))
}

/// Report the VIF created on a hosted connection.
///
/// For `aws-hosted-connection` connectors waiting for it: the peer
/// addresses, ASN and BGP key the customer entered when they created the
/// private VIF on the hosted connection (the VLAN is onramp's). onramp then
/// configures its PE and watches the VIF's BGP.
#[utoipa::path(put, path = "/v1/connectors/{id}/vif", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    request_body(content = HostedVifReport, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Recorded; the PE is being configured", body = Connector),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "An ops or admin key and another tenant's connector: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "The connector is not a hosted connection waiting for its VIF", body = Problem, content_type = problem_json()),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = problem_json()),
        (status = 422, description = "Invalid report; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn report_vif(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Connector>), Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    // Whose connector it is comes before what the report says.
    writable(&state, &tenant, id).await?;
    let value = crate::body::json_object(&headers, &body)?;
    let report: HostedVifReport = crate::body::from_value(value)?;
    for _ in 0..20 {
        let row = writable(&state, &tenant, id).await?;
        if row.kind != "aws-hosted-connection" {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "wrong_kind",
                "Not a hosted connection",
                format!(
                    "connector {id} is {}; only aws-hosted-connection connectors take a VIF report",
                    row.kind
                ),
            ));
        }
        let t = crate::hosted_connection::vif_transition(&state, &row, &report)?;
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, "customer reported the VIF");
            let row = store::get_for_tenant(&state.db, tenant.id, id).await?;
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
        "the connector changed state repeatedly while the report was being recorded",
    )
    .with_hint("retry the PUT"))
}

#[derive(Debug, Deserialize, IntoParams)]
struct CreateQuery {
    /// Return the plan (resources, router XML per PE, CSP calls) instead of
    /// ordering. Nothing is allocated, pushed or called.
    #[serde(default)]
    dry_run: bool,
}

/// Shown instead of the BGP key in plans: the key is generated at order time.
const REDACTED: &str = "********";

async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &AwsHostedVifParams,
) -> Result<Plan, Problem> {
    let start = vif::start();
    let initial = Initial {
        state: vif::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state).expect("state serializes"),
        waiting_on: vif::waiting_on(&start.state).as_str().into(),
        first_action: None,
        note: String::new(),
    };
    let row = store::create_aws_hosted_vif(
        &state.db,
        tenant.id,
        nni,
        params,
        "",
        &initial,
        Mode::DryRun,
    )
    .await?;
    let res = Resources::from_json(&row.resources)?;
    let pe = inventory::pe(&state.db, res.pe_id).await?;
    let tenant_row = inventory::tenant(&state.db, tenant.id).await?;
    let intent = onramp_workers::intent::attachment(
        &row,
        &res,
        params,
        &onramp_workers::intent::tenant_vrf(&tenant_row),
        REDACTED,
    );
    let platform = Platform::load(&state.templates_root, &pe.platform).map_err(|e| {
        tracing::error!(pe = %pe.name, error = %e, "platform unusable");
        Problem::internal()
    })?;
    let rendered = platform.render(Operation::Create, &intent).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "render_failed",
            "Router configuration cannot be rendered",
            format!("PE {} ({}): {e}", pe.name, pe.platform),
        )
    })?;
    let req = onramp_workers::intent::vif_request(nni, &res, params, REDACTED);
    Ok(Plan {
        dry_run: true,
        kind: "aws-hosted-vif".into(),
        location: nni.location_code.clone(),
        router_changes: vec![RouterChange {
            pe: pe.name.clone(),
            platform: pe.platform.clone(),
            operation: "create".into(),
            leg: None,
            config_xml: rendered.config_xml,
        }],
        csp_calls: vec![CspCall {
            service: "directconnect".into(),
            operation: "AllocatePrivateVirtualInterface".into(),
            request: serde_json::json!({
                "connectionId": req.connection_id,
                "ownerAccount": req.owner_account,
                "newPrivateVirtualInterfaceAllocation": {
                    "virtualInterfaceName": req.name,
                    "vlan": req.vlan,
                    "asn": req.asn,
                    "authKey": req.auth_key,
                    "amazonAddress": req.amazon_address,
                    "customerAddress": req.customer_address,
                    "addressFamily": "ipv4",
                }
            }),
        }],
        steps: vec![
            format!(
                "Configure {} on {}: VLAN {} sub-interface, {} and a BGP session to AWS",
                res.port_name, pe.name, res.vlan, res.pe_address
            ),
            format!(
                "Allocate the hosted VIF on {} for AWS account {}",
                nni.csp_ref, params.aws_account_id
            ),
            "Wait for the customer to accept the VIF in the AWS console".into(),
            "Wait for the VIF to become available with BGP up; the connector turns active".into(),
        ],
        peering: Some(Peering::from_resources(res)),
        azure: None,
    })
}

/// The order's kind and its body, not yet read as that kind's shape.
fn parse_order(headers: &HeaderMap, body: &[u8]) -> Result<(String, Value), Problem> {
    let value = crate::body::json_object(headers, body)?;
    // The kind decides which fields are valid, so it is checked first and on
    // its own, with the kinds that exist.
    let kind = match value.get("kind") {
        None => return Err(Problem::field("kind", "required", "kind is required")),
        Some(Value::String(k)) if KINDS.contains(&k.as_str()) => k.clone(),
        Some(Value::String(k)) => {
            return Err(Problem::field(
                "kind",
                "unknown_kind",
                format!(
                    "unknown connector kind `{k}`; supported: {}",
                    KINDS.join(", ")
                ),
            ));
        }
        Some(_) => {
            return Err(Problem::field(
                "kind",
                "invalid_type",
                "kind must be a string",
            ));
        }
    };
    Ok((kind, value))
}

async fn validate_aws_hosted_vif(
    state: &AppState,
    o: &AwsHostedVifOrder,
) -> Result<(nni::Model, AwsHostedVifParams), Problem> {
    let mut errors = Vec::new();
    let mut err = |field: &str, code: &str, detail: String| {
        errors.push(FieldError {
            field: field.into(),
            code: code.into(),
            detail,
        })
    };
    if o.aws_account_id.len() != 12 || !o.aws_account_id.bytes().all(|b| b.is_ascii_digit()) {
        err(
            "aws_account_id",
            "invalid_format",
            format!("`{}` is not a 12-digit AWS account id", o.aws_account_id),
        );
    }
    let nni = inventory::nni_at(&state.db, "aws", &o.location).await?;
    if nni.is_none() {
        let known: Vec<String> = inventory::nnis(&state.db, "aws")
            .await?
            .into_iter()
            .map(|n| n.location_code)
            .collect();
        err(
            "location",
            "unknown_location",
            format!(
                "onramp has no Direct Connect interconnect at `{}`; available: {}",
                o.location,
                known.join(", ")
            ),
        );
    }
    match AWS_BANDWIDTHS.iter().find(|(b, _)| *b == o.bandwidth) {
        None => err(
            "bandwidth",
            "unsupported_bandwidth",
            format!(
                "`{}` is not a hosted bandwidth; use one of {}",
                o.bandwidth,
                AWS_BANDWIDTHS
                    .iter()
                    .map(|b| b.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some((_, mbps)) => {
            if let Some(n) = &nni
                && *mbps > n.capacity_mbps
            {
                err(
                    "bandwidth",
                    "exceeds_capacity",
                    format!(
                        "{} exceeds the {} Mbps interconnect at {}",
                        o.bandwidth, n.capacity_mbps, n.location_code
                    ),
                );
            }
        }
    }
    if let Some(asn) = o.customer_asn {
        if let Err(e) = onramp_checks::asn::usable(asn) {
            err("customer_asn", e.code(), e.to_string());
        } else if let Some(n) = &nni
            && asn == n.csp_asn
        {
            err(
                "customer_asn",
                "same_as_peer",
                format!(
                    "ASN {asn} is Amazon's side of this interconnect; the two sides need different ASNs"
                ),
            );
        }
    }
    if let Some(vlan) = o.vlan {
        if let Err(e) = onramp_checks::vlan::id(vlan) {
            err("vlan", e.code(), e.to_string());
        } else if let Some(n) = &nni {
            let port = inventory::port(&state.db, n.port_id).await?;
            if vlan < i64::from(port.vlan_min) || vlan > i64::from(port.vlan_max) {
                err(
                    "vlan",
                    "out_of_range",
                    format!(
                        "VLAN {vlan} is outside the range {}-{} onramp uses at {}",
                        port.vlan_min, port.vlan_max, n.location_code
                    ),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let nni = nni.expect("checked above");
    Ok((
        nni,
        AwsHostedVifParams {
            aws_account_id: o.aws_account_id.clone(),
            bandwidth: o.bandwidth.clone(),
            customer_asn: o.customer_asn.map(|a| a as u32),
            requested_vlan: o.vlan.map(|v| v as u16),
        },
    ))
}

/// A connector the caller may change: its own tenant's. An ops or admin
/// key reads every tenant's, so for another tenant's connector it gets a
/// 403 that says why, not a 404 that would contradict its reads.
pub(crate) async fn writable(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
) -> Result<connector::Model, Problem> {
    let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    if row.tenant_id != tenant.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "connector {id} belongs to another tenant; a key with role `{}` reads every tenant's connectors but changes only its own tenant's",
                tenant.role
            ),
        ));
    }
    Ok(row)
}

async fn view(state: &AppState, rows: &[connector::Model]) -> Result<Vec<Connector>, Problem> {
    let mut nnis: HashMap<Uuid, nni::Model> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = nnis.entry(c.nni_id) {
            slot.insert(inventory::nni(&state.db, c.nni_id).await?);
        }
        out.push(Connector::from_row(c, &nnis[&c.nni_id])?);
    }
    Ok(out)
}

/// The filters of `GET /v1/connectors`.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConnectorListQuery {
    /// Only connectors in one of these states, comma-separated (e.g.
    /// `active,degraded`).
    state: Option<String>,
    /// Only connectors of this kind.
    kind: Option<String>,
    /// Only connectors waiting on this party: `customer`, `csp`, `ops`,
    /// `onramp`, `router` (a change queued for its PE), or `nobody` (up, or
    /// finished).
    waiting_on: Option<String>,
    /// Only this tenant's connectors (ops and admin keys, which read every
    /// tenant's; a customer key reads its own tenant's whatever is given).
    tenant: Option<Uuid>,
}

const WAITING_ON: [&str; 6] = ["customer", "csp", "ops", "onramp", "router", "nobody"];

impl ConnectorListQuery {
    fn filter(&self, caller: &Tenant, errors: &mut Vec<FieldError>) -> store::ConnectorFilter {
        let mut f = store::ConnectorFilter {
            tenant: caller.read_scope().or(self.tenant),
            ..Default::default()
        };
        if let Some(states) = &self.state {
            for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let ok = s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if ok && f.states.len() < 20 {
                    f.states.push(s.to_string());
                } else {
                    errors.push(FieldError {
                        field: "state".into(),
                        code: "invalid_value".into(),
                        detail: format!(
                            "state must be up to 20 comma-separated state names \
                             (lowercase letters and `_`, e.g. `active,degraded`), not `{s}`"
                        ),
                    });
                    break;
                }
            }
        }
        if let Some(k) = &self.kind {
            if KINDS.contains(&k.as_str()) {
                f.kind = Some(k.clone());
            } else {
                errors.push(FieldError {
                    field: "kind".into(),
                    code: "unknown_kind".into(),
                    detail: format!(
                        "unknown connector kind `{k}`; supported: {}",
                        KINDS.join(", ")
                    ),
                });
            }
        }
        if let Some(w) = &self.waiting_on {
            if WAITING_ON.contains(&w.as_str()) {
                f.waiting_on = Some(w.clone());
            } else {
                errors.push(FieldError {
                    field: "waiting_on".into(),
                    code: "invalid_value".into(),
                    detail: format!(
                        "waiting_on must be one of {}, not `{w}`",
                        WAITING_ON.join(", ")
                    ),
                });
            }
        }
        f
    }
}

/// List connectors, newest first, a page at a time.
///
/// A customer key lists its own tenant's connectors; an ops or admin key
/// lists every tenant's (narrow it with `tenant`). Filters combine: every
/// one given must hold. Follow `next_cursor` for the next page; it is
/// absent on the last one.
#[utoipa::path(get, path = "/v1/connectors", tag = "connectors",
    params(ConnectorListQuery, PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of connectors", body = ConnectorList),
        (status = 400, description = "The query string does not parse; `errors` names the parameter", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 422, description = "A filter, the limit or the cursor is invalid; `errors` names them", body = Problem, content_type = problem_json()),
    ))]
async fn list_connectors(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(q): ApiQuery<ConnectorListQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<ConnectorList>, Problem> {
    let mut errors = Vec::new();
    let filter = q.filter(&tenant, &mut errors);
    let page = p.check::<(DateTime<Utc>, Uuid)>(&mut errors);
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let rows = store::list_page(&state.db, &filter, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |c| (c.created_at, c.id));
    Ok(Json(ConnectorList {
        items: view(&state, &rows).await?,
        next_cursor,
    }))
}

/// One connector: its state, who it waits on, and what was allocated.
///
/// Customer keys read their own tenant's connectors; ops and admin keys
/// read any.
#[utoipa::path(get, path = "/v1/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The connector", body = Connector),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
    ))]
async fn get_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<Connector>, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    let row = store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    Ok(Json(view(&state, &[row]).await?.remove(0)))
}

/// The connector's timeline, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/connectors/{id}/events", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id"), PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of the timeline", body = EventList),
        (status = 400, description = "The query string does not parse; `errors` names the parameter", body = Problem, content_type = problem_json()),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn connector_events(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<EventList>, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    store::get_scoped(&state.db, tenant.read_scope(), id).await?;
    let page = p.checked::<i64>()?;
    let rows = store::events_page(&state.db, id, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |e| e.id);
    Ok(Json(EventList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Deprovision a connector.
///
/// Tears the connector down at the CSP (deletes the AWS VIF or hosted
/// connection, or the Google attachment; for Azure, deletes the peering and
/// deprovisions the circuit), removes the PE
/// configuration and releases every allocated resource; the connector ends
/// in `deleted`. Deleting a deleted
/// connector is a no-op.
#[utoipa::path(delete, path = "/v1/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "Deprovisioning runs in the background", body = Connector),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
        (status = 403, description = "An ops or admin key and another tenant's connector: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`connector_in_link`: the connector is in a link; remove it from the link first", body = Problem, content_type = problem_json()),
    ))]
async fn delete_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Connector>), Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    writable(&state, &tenant, id).await?;
    // A linked connector's attachment sits in its link's VRF, and the link
    // is the customer's routing design: taking a member out is a link
    // change the customer makes explicitly (DELETE on the link's member),
    // not a side effect of deleting the connector.
    if let Some(m) = onramp_store::links::live_membership(&state.db, id).await? {
        let detail = format!("connector {id} is in link {}", m.link_id);
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "connector_in_link",
            "Connector in a link",
            detail.clone(),
        )
        .with_errors(vec![FieldError {
            field: "id".into(),
            code: "connector_in_link".into(),
            detail,
        }])
        .with_hint(format!(
            "remove it from the link first: DELETE /v1/links/{}/connectors/{id}",
            m.link_id
        )));
    }
    // A worker may commit between our read and our write; the step guard
    // makes us lose that race cleanly, and we re-read and try again.
    for _ in 0..20 {
        let row = writable(&state, &tenant, id).await?;
        let Some(t) = delete_transition(&row)? else {
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            ));
        };
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, "delete requested");
            let row = store::get_for_tenant(&state.db, tenant.id, id).await?;
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
        "the connector changed state repeatedly while the delete was being recorded",
    )
    .with_hint("retry the DELETE"))
}

/// The transition a delete request makes, or None when the connector is
/// already finished or being torn down.
fn delete_transition(row: &connector::Model) -> Result<Option<Transition>, Problem> {
    let corrupt = |e: serde_json::Error| {
        onramp_store::Error::Corrupt(format!("machine state of {}: {e}", row.id))
    };
    let (state, machine_state, waiting_on, note, next_action, changed) = match row.kind.as_str() {
        "azure-expressroute" => {
            let current: er::State = serde_json::from_str(&row.machine_state).map_err(corrupt)?;
            let out = er::handle(&current, &er::Event::DeleteRequested);
            (
                er::state_name(&out.state),
                serde_json::to_string(&out.state).expect("state serializes"),
                er::waiting_on(&out.state).as_str(),
                out.note,
                out.actions.first().map(|a| a.as_str().to_string()),
                out.changed,
            )
        }
        "gcp-partner-interconnect" => {
            let current: gpi::State = serde_json::from_str(&row.machine_state).map_err(corrupt)?;
            let out = gpi::handle(&current, &gpi::Event::DeleteRequested);
            (
                gpi::state_name(&out.state),
                serde_json::to_string(&out.state).expect("state serializes"),
                gpi::waiting_on(&out.state).as_str(),
                out.note,
                out.actions.first().map(|a| a.as_str().to_string()),
                out.changed,
            )
        }
        "aws-hosted-connection" => {
            let current: hc::State = serde_json::from_str(&row.machine_state).map_err(corrupt)?;
            let out = hc::handle(&current, &hc::Event::DeleteRequested);
            (
                hc::state_name(&out.state),
                serde_json::to_string(&out.state).expect("state serializes"),
                hc::waiting_on(&out.state).as_str(),
                out.note,
                out.actions.first().map(|a| a.as_str().to_string()),
                out.changed,
            )
        }
        "ticket-csp" => {
            let current: tc::State = serde_json::from_str(&row.machine_state).map_err(corrupt)?;
            let out = tc::handle(&current, &tc::Event::DeleteRequested);
            (
                tc::state_name(&out.state),
                serde_json::to_string(&out.state).expect("state serializes"),
                tc::waiting_on(&out.state).as_str(),
                out.note,
                out.actions.first().map(|a| a.as_str().to_string()),
                out.changed,
            )
        }
        _ => {
            let current: vif::State = serde_json::from_str(&row.machine_state).map_err(corrupt)?;
            let out = vif::handle(&current, &VifEvent::DeleteRequested);
            (
                vif::state_name(&out.state),
                serde_json::to_string(&out.state).expect("state serializes"),
                vif::waiting_on(&out.state).as_str(),
                out.note,
                out.actions.first().map(|a| a.as_str().to_string()),
                out.changed,
            )
        }
    };
    if !changed {
        return Ok(None);
    }
    Ok(Some(Transition {
        expected_step: row.step,
        state: state.into(),
        machine_state,
        waiting_on: waiting_on.into(),
        event: "delete_requested".into(),
        from_state: Some(row.state.clone()),
        message: note,
        actor: "customer".into(),
        next_action,
        csp_ref: None,
        last_error: None,
        release_resources: false,
        resources: None,
        params: None,
        lease_holder: None,
    }))
}

/// Locations where connectors can be ordered.
#[utoipa::path(get, path = "/v1/locations", tag = "connectors",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Orderable locations", body = LocationList),
        (status = 401, description = "No or bad API key", body = Problem, content_type = problem_json()),
    ))]
async fn list_locations(
    State(state): State<AppState>,
    _tenant: Tenant,
) -> Result<Json<LocationList>, Problem> {
    let mut items = Vec::new();
    for (csp, kinds) in [
        ("aws", &["aws-hosted-vif", "aws-hosted-connection"][..]),
        ("azure", &["azure-expressroute"][..]),
        ("gcp", &["gcp-partner-interconnect"][..]),
    ] {
        items.extend(
            inventory::nnis(&state.db, csp)
                .await?
                .into_iter()
                .map(|n| Location {
                    code: n.location_code,
                    name: n.name,
                    region: n.region,
                    csp: n.csp,
                    kinds: kinds.iter().map(|k| k.to_string()).collect(),
                }),
        );
    }
    for p in onramp_store::ticket_providers::list(&state.db).await? {
        items.extend(
            inventory::nnis(&state.db, &p.key)
                .await?
                .into_iter()
                .map(|n| Location {
                    code: n.location_code,
                    name: n.name,
                    region: n.region,
                    csp: n.csp,
                    kinds: vec!["ticket-csp".to_string()],
                }),
        );
    }
    Ok(Json(LocationList { items }))
}
