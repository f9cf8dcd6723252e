//! Orders of kind `azure-expressroute`: validating the order, checking the
//! service key with Microsoft, placing the two legs, and the plan.
//!
//! This is the one place the API calls a CSP: a service key can only be
//! judged by asking Azure (is there such a circuit, is it waiting for us, at
//! which peering location), and a customer who typed it wrong must hear so
//! at once, not from a failed background job.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onramp_azure_er::{CrossConnection, Error as ArmError};
use onramp_state_machines::Machine;
use onramp_state_machines::azure_expressroute::{self as er, AzureExpressroute, Leg};
use onramp_store::connectors::{self as store, Mode};
use onramp_store::entity::{connector, nni};
use onramp_store::inventory;
use onramp_store::model::{AzureCircuit, AzureExpressRouteParams, AzureResources};
use rand::distr::{Alphanumeric, SampleString};
use uuid::Uuid;

use super::{ApiKind, REDACTED, accepted, initial};
use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, FieldErrors, Problem};
use crate::views::{
    AzureDetails, AzureExpressRouteOrder, Connector, CspCall, Plan, RouterChange, bandwidth_label,
};

/// Microsoft's side of every ExpressRoute BGP session.
pub(crate) const MICROSOFT_ASN: u32 = 12076;
/// ASNs Azure refuses as peerASN of a private peering (reserved by Microsoft).
const AZURE_RESERVED_ASNS: std::ops::RangeInclusive<i64> = 65515..=65520;

/// A checked order: where it goes and what it asks for.
pub(crate) struct Checked {
    pub nni: nni::Model,
    pub secondary_port_id: Uuid,
    pub params: AzureExpressRouteParams,
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn arm_problem(e: ArmError) -> Problem {
    match e {
        ArmError::Throttled { retry_after } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "csp_throttled",
            "Azure is throttling onramp",
            "Azure Resource Manager kept answering 429 Too Many Requests while onramp looked the service key up",
        )
        .with_retry_after(retry_after.as_secs())
        .with_hint("retry after the time in Retry-After; nothing was ordered"),
        ArmError::Auth(reason) => {
            tracing::error!(%reason, "Azure refused onramp's credentials");
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "csp_auth_failed",
                "onramp cannot sign in to Azure",
                "Azure refused onramp's service principal; the operator must fix the Azure credentials",
            )
        }
        ArmError::Transport(reason) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "csp_unreachable",
            "Azure is unreachable",
            format!("onramp could not reach Azure Resource Manager: {reason}"),
        )
        .with_retry_after(5)
        .with_hint("retry shortly; nothing was ordered"),
        other => Problem::new(
            StatusCode::BAD_GATEWAY,
            "csp_error",
            "Azure refused the lookup",
            format!("Azure answered the service key lookup with an error: {other}"),
        ),
    }
}

/// Field checks first (no call to Azure for an order that is wrong anyway),
/// then the service key with Microsoft, then placement from the inventory.
pub(crate) async fn check(
    state: &AppState,
    tenant: &Tenant,
    o: &AzureExpressRouteOrder,
) -> Result<Checked, Problem> {
    let mut errors = FieldErrors::default();
    let key = o.service_key.trim().to_ascii_lowercase();
    if !is_guid(&key) {
        errors.add(
            "service_key",
            "invalid_format",
            format!(
                "`{}` is not an ExpressRoute service key; it is a GUID like 0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b, shown on the circuit in the Azure portal",
                o.service_key
            ),
        );
    }
    if let Some(asn) = o.peer_asn {
        if let Err(e) = onramp_checks::asn::usable(asn) {
            errors.refuse("peer_asn", &e);
        } else if asn == i64::from(MICROSOFT_ASN) {
            errors.add(
                "peer_asn",
                "same_as_peer",
                format!("ASN {asn} is Microsoft's side of every ExpressRoute session"),
            );
        } else if AZURE_RESERVED_ASNS.contains(&asn) {
            errors.add(
                "peer_asn",
                "reserved",
                format!(
                    "ASN {asn} is reserved by Azure (65515-65520) and refused for private peering"
                ),
            );
        }
    }
    if let Some(Err(e)) = o.vlan_id.map(onramp_checks::vlan::id) {
        errors.refuse("vlan_id", &e);
    }
    errors.finish()?;

    let Some(client) = &state.azure else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "csp_not_configured",
            "Azure ExpressRoute is not available",
            "this onramp has no Azure ExpressRoute partner credentials configured",
        ));
    };
    let xc = client
        .find_cross_connection(&key)
        .await
        .map_err(arm_problem)?
        .ok_or_else(|| {
            Problem::field(
                "service_key",
                "unknown_service_key",
                format!(
                    "no ExpressRoute circuit with service key {key} is waiting for onramp; check the key, and that the circuit names onramp's operator as its provider"
                ),
            )
        })?;
    if let Some(existing) =
        store::live_with_csp_ref(&state.db, AzureExpressroute::KIND.as_str(), &key).await?
    {
        let whose = if existing.tenant_id == tenant.id {
            format!("your connector {}", existing.id)
        } else {
            "another order".to_string()
        };
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "service_key_in_use",
            "Service key already in use",
            format!("service key {key} is already used by {whose}"),
        )
        .with_errors(vec![FieldError {
            field: "service_key".into(),
            code: "in_use".into(),
            detail: format!("already used by {whose}"),
        }]));
    }
    if xc.service_provider_provisioning_state != "NotProvisioned" {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "already_provisioned",
            "Circuit already provisioned",
            format!(
                "the circuit with service key {key} is {} at Azure, not waiting for a provider",
                xc.service_provider_provisioning_state
            ),
        )
        .with_errors(vec![FieldError {
            field: "service_key".into(),
            code: "already_provisioned".into(),
            detail: format!(
                "serviceProviderProvisioningState is {}",
                xc.service_provider_provisioning_state
            ),
        }])
        .with_hint("order with a new circuit's key, or ask the operator to release this one"));
    }
    let (nni, secondary_port_id) = place(state, &xc).await?;
    Ok(Checked {
        params: AzureExpressRouteParams {
            service_key: key,
            peer_asn: o.peer_asn.map(|a| a as u32),
            vlan_id: o.vlan_id.map(|v| v as u16),
            configure_peering: o.configure_peering.unwrap_or(true),
            circuit: AzureCircuit {
                resource_group: xc.resource_group.clone(),
                peering_location: xc.peering_location.clone(),
                bandwidth_mbps: xc.bandwidth_in_mbps,
                primary_azure_port: xc.primary_azure_port.clone(),
                secondary_azure_port: xc.secondary_azure_port.clone(),
                s_tag: xc.s_tag,
            },
        },
        nni,
        secondary_port_id,
    })
}

/// The NNI is the one on Microsoft's primary port of the circuit; the
/// secondary leg goes on the NNI's secondary port, which the inventory keeps
/// on another PE (anti-affinity is checked when the NNI is saved).
async fn place(state: &AppState, xc: &CrossConnection) -> Result<(nni::Model, Uuid), Problem> {
    let nnis = inventory::nnis(&state.db, "azure").await?;
    let Some(nni) = nnis
        .iter()
        .find(|n| n.csp_ref.eq_ignore_ascii_case(&xc.primary_azure_port))
        .cloned()
    else {
        let served: Vec<String> = nnis
            .iter()
            .map(|n| format!("{} ({})", n.name, n.location_code))
            .collect();
        return Err(Problem::field(
            "service_key",
            "location_not_served",
            format!(
                "the circuit is at peering location {} on ExpressRoute port {}, where onramp has no NNI; onramp serves ExpressRoute at: {}",
                xc.peering_location,
                xc.primary_azure_port,
                if served.is_empty() {
                    "nowhere yet".to_string()
                } else {
                    served.join(", ")
                }
            ),
        ));
    };
    if i64::from(xc.bandwidth_in_mbps) > i64::from(nni.capacity_mbps) {
        return Err(Problem::field(
            "service_key",
            "exceeds_capacity",
            format!(
                "the circuit's {} Mbps exceeds the {} Mbps NNI at {}",
                xc.bandwidth_in_mbps, nni.capacity_mbps, nni.location_code
            ),
        ));
    }
    let attrs: serde_json::Value = serde_json::from_str(&nni.attributes).unwrap_or_default();
    let secondary = attrs
        .get("secondary_port_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    let Some(secondary) = secondary else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_redundant_port",
            "No secondary port at this location",
            format!(
                "ExpressRoute needs both legs, but the NNI {} at {} has no secondary port in onramp's inventory",
                nni.name, nni.location_code
            ),
        )
        .with_hint("the operator must set attributes.secondary_port_id on the NNI"));
    };
    Ok((nni, secondary))
}

/// The cross-connection's ARM path, with the partner's subscription left
/// for the reader.
fn xc_path(params: &AzureExpressRouteParams) -> String {
    format!(
        "/subscriptions/{{partner subscription}}/resourceGroups/{}/providers/Microsoft.Network/expressRouteCrossConnections/{}",
        params.circuit.resource_group, params.service_key
    )
}

/// The PUT of the private peering onramp runs, as a plan shows it (the key
/// redacted): at the order, and when a new key goes to Microsoft.
fn peering_call(params: &AzureExpressRouteParams, res: &AzureResources) -> CspCall {
    let peering = onramp_kinds::azure_expressroute::peering_request(res, REDACTED);
    CspCall {
        service: "Microsoft.Network".into(),
        operation: format!("PUT {}/peerings/AzurePrivatePeering", xc_path(params)),
        request: serde_json::json!({
            "properties": {
                "peeringType": "AzurePrivatePeering",
                "peerASN": peering.peer_asn,
                "primaryPeerAddressPrefix": peering.primary_peer_address_prefix,
                "secondaryPeerAddressPrefix": peering.secondary_peer_address_prefix,
                "vlanId": peering.vlan_id,
                "sharedKey": REDACTED,
            }
        }),
    }
}

pub(crate) async fn plan(state: &AppState, tenant: &Tenant, c: &Checked) -> Result<Plan, Problem> {
    let start = er::start(c.params.configure_peering);
    let row = store::create_azure_expressroute(
        &state.db,
        tenant.id,
        &c.nni,
        c.secondary_port_id,
        &c.params,
        "",
        &initial::<AzureExpressroute>(&start, String::new()),
        Mode::DryRun,
    )
    .await?;
    let res = AzureResources::from_json(&row.resources)?;
    let tenant_row = inventory::tenant(&state.db, tenant.id).await?;
    let mut router_changes = Vec::new();
    for leg in [Leg::Primary, Leg::Secondary] {
        router_changes.push(render_leg(state, &row, &res, leg, &c.params, &tenant_row).await?);
    }
    let mut csp_calls = vec![CspCall {
        service: "Microsoft.Network".into(),
        operation: format!("PUT {}", xc_path(&c.params)),
        request: serde_json::json!({
            "properties": {
                "serviceProviderProvisioningState": "Provisioned",
                "serviceProviderNotes": format!("onramp connector {}", row.id),
            }
        }),
    }];
    let peering = onramp_kinds::azure_expressroute::peering_request(&res, REDACTED);
    let mut steps = vec![
        format!(
            "Set the circuit {} to Provisioned at Azure ({} Mbps at {})",
            c.params.service_key,
            c.params.circuit.bandwidth_mbps,
            c.params.circuit.peering_location
        ),
        format!(
            "Configure the primary leg on {} {}: S-tag {} / C-tag {}, {} and a BGP session to Microsoft (AS {})",
            res.primary.pe_name,
            res.primary.port_name,
            res.s_tag,
            res.c_tag,
            res.primary.pe_address,
            res.csp_asn
        ),
        format!(
            "Configure the secondary leg on {} {}: S-tag {} / C-tag {}, {} and a BGP session to Microsoft",
            res.secondary.pe_name,
            res.secondary.port_name,
            res.s_tag,
            res.c_tag,
            res.secondary.pe_address
        ),
    ];
    if c.params.configure_peering {
        csp_calls.push(peering_call(&c.params, &res));
        steps.push("Configure the Azure private peering with these values".into());
    } else {
        steps.push(format!(
            "You configure the Azure private peering on your circuit: peerASN {}, primary {}, secondary {}, vlanId {}, and the shared key shown once in the order's response",
            peering.peer_asn,
            peering.primary_peer_address_prefix,
            peering.secondary_peer_address_prefix,
            peering.vlan_id
        ));
    }
    steps.push(
        "Wait for both BGP sessions to come up; the connector turns active (one leg down shows as degraded)"
            .into(),
    );
    Ok(Plan {
        dry_run: true,
        kind: AzureExpressroute::KIND.as_str().into(),
        location: c.nni.location_code.clone(),
        peering: None,
        azure: Some(crate::views::AzureDetails::from_parts(
            &c.params, &res, None,
        )),
        router_changes,
        csp_calls,
        steps,
    })
}

async fn render_leg(
    state: &AppState,
    row: &connector::Model,
    res: &AzureResources,
    leg: Leg,
    params: &AzureExpressRouteParams,
    tenant: &onramp_store::entity::tenant::Model,
) -> Result<RouterChange, Problem> {
    let pe_id = match leg {
        Leg::Primary => res.primary.pe_id,
        Leg::Secondary => res.secondary.pe_id,
    };
    let pe = inventory::pe(&state.db, pe_id).await?;
    let intent = onramp_kinds::azure_expressroute::leg_attachment(
        row,
        res,
        leg,
        params,
        &onramp_kinds::tenant_vrf(tenant),
        REDACTED,
    )?;
    super::planned_change(state, &pe, &intent, Some(leg.as_str()))
}

impl ApiKind for AzureExpressroute {
    type Order = AzureExpressRouteOrder;
    const CSP: Option<&'static str> = Some("azure");

    async fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: AzureExpressRouteOrder,
    ) -> Result<Response, Problem> {
        let order = &order;
        let checked = check(state, tenant, order).await?;
        if dry_run {
            return Ok(Json(plan(state, tenant, &checked).await?).into_response());
        }
        let start = er::start(checked.params.configure_peering);
        let initial = initial::<AzureExpressroute>(
            &start,
            format!(
                "Ordered ExpressRoute for circuit {} ({} Mbps at {})",
                checked.params.service_key,
                checked.params.circuit.bandwidth_mbps,
                checked.params.circuit.peering_location,
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
        Ok(accepted(view))
    }

    fn with_bandwidth(
        _row: &connector::Model,
        _at: &nni::Model,
        _given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error> {
        Ok(Err(super::bandwidth_fixed(
            "an ExpressRoute circuit's bandwidth belongs to the circuit's owner: change it on the \
             circuit in Azure (portal, or `az network express-route update --bandwidth`). onramp \
             reads the circuit while it watches the connector and follows the new bandwidth on \
             both PEs",
        )))
    }

    fn with_new_key(
        row: &connector::Model,
        sealed: &str,
    ) -> Result<Result<(String, er::Event), FieldError>, onramp_store::Error> {
        let params = AzureExpressRouteParams::from_json(&row.params)?;
        if !params.configure_peering {
            return Ok(Err(super::key_fixed(
                "the circuit's private peering is configured in your Azure subscription, so \
                 Microsoft's side of the key is yours to change: onramp changes the key only \
                 where it runs the private peering (ordered with configure_peering)",
            )));
        }
        let mut res = AzureResources::from_json(&row.resources)?;
        res.auth_key_sealed = sealed.to_string();
        Ok(Ok((
            serde_json::to_string(&res).expect("resources serialize"),
            er::Event::KeyRotationRequested,
        )))
    }

    fn change_calls(
        _before: &connector::Model,
        after: &connector::Model,
        fields: &[String],
    ) -> Result<Vec<CspCall>, onramp_store::Error> {
        if !fields.iter().any(|f| f == "bgp_key") {
            return Ok(Vec::new());
        }
        let params = AzureExpressRouteParams::from_json(&after.params)?;
        let res = AzureResources::from_json(&after.resources)?;
        Ok(vec![peering_call(&params, &res)])
    }

    fn retry_event(
        row: &connector::Model,
    ) -> Result<Option<onramp_state_machines::azure_expressroute::Event>, Problem> {
        let params = AzureExpressRouteParams::from_json(&row.params)?;
        Ok(Some(
            onramp_state_machines::azure_expressroute::Event::RetryRequested {
                managed_peering: params.configure_peering,
            },
        ))
    }

    fn describe(
        row: &connector::Model,
        _location: &nni::Model,
        machine: &er::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error> {
        let params = AzureExpressRouteParams::from_json(&row.params)?;
        let res = AzureResources::from_json(&row.resources)?;
        view.bandwidth = bandwidth_label(params.circuit.bandwidth_mbps);
        let degraded = er::degraded_leg(machine).map(|l| l.as_str().to_string());
        view.azure = Some(AzureDetails::from_parts(&params, &res, degraded));
        Ok(())
    }
}
