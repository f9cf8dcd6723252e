//! Orders of kind `gcp-partner-interconnect`: the pairing key is checked for
//! format and placed on onramp's interconnect in its region and edge
//! availability domain. Google is not called here: the pairing key only
//! means something to the insert, which the worker makes.

use axum::http::StatusCode;
use onramp_checks::Coded;
use onramp_gcp_pi::{BANDWIDTHS, parse_pairing_key};
use onramp_router_templates::{Operation, Platform};
use onramp_state_machines::gcp_partner_interconnect as gpi;
use onramp_store::connectors::{self as store, GOOGLE_ASN, Initial, Mode};
use onramp_store::entity::nni;
use onramp_store::inventory;
use onramp_store::model::{GcpPartnerInterconnectParams, Resources};

use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem};
use crate::views::{CspCall, GcpPartnerInterconnectOrder, Peering, Plan, RouterChange};

fn mbps(bandwidth: &str) -> Option<i64> {
    let v = bandwidth.strip_prefix("BPS_")?;
    if let Some(g) = v.strip_suffix('G') {
        return g.parse::<i64>().ok().map(|g| g * 1000);
    }
    v.strip_suffix('M')?.parse().ok()
}

pub(crate) async fn check(
    state: &AppState,
    o: &GcpPartnerInterconnectOrder,
) -> Result<(nni::Model, GcpPartnerInterconnectParams), Problem> {
    let mut errors = Vec::new();
    let mut err = |field: &str, code: &str, detail: String| {
        errors.push(FieldError {
            field: field.into(),
            code: code.into(),
            detail,
        })
    };
    let key = parse_pairing_key(o.pairing_key.trim());
    if let Err(why) = &key {
        err(
            "pairing_key",
            "invalid_format",
            format!(
                "`{}` is not a pairing key ({why}); it looks like 2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1",
                o.pairing_key
            ),
        );
    }
    let bandwidth = mbps(&o.bandwidth).filter(|_| BANDWIDTHS.contains(&o.bandwidth.as_str()));
    if bandwidth.is_none() {
        err(
            "bandwidth",
            "unsupported_bandwidth",
            format!(
                "`{}` is not a Partner Interconnect bandwidth; use one of {}",
                o.bandwidth,
                BANDWIDTHS.join(", ")
            ),
        );
    }
    if let Some(asn) = o.peer_asn {
        if let Err(e) = onramp_checks::asn::usable(asn) {
            err("peer_asn", e.code(), e.to_string());
        } else if asn == i64::from(GOOGLE_ASN) {
            err(
                "peer_asn",
                "same_as_peer",
                format!("ASN {asn} is Google's side of every Partner Interconnect session"),
            );
        }
    }
    if let Some(v) = o.vlan
        && !(2..=4094).contains(&v)
    {
        err(
            "vlan",
            "out_of_range",
            format!("VLAN {v} is outside 2-4094 (Google's vlanTag8021q range)"),
        );
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let key = key.expect("checked above");
    let nnis = inventory::nnis(&state.db, "gcp").await?;
    let domain_of = |n: &nni::Model| {
        serde_json::from_str::<serde_json::Value>(&n.attributes)
            .ok()
            .and_then(|a| a.get("edge_availability_domain").and_then(|d| d.as_u64()))
    };
    let Some(nni) = nnis
        .iter()
        .find(|n| n.region == key.region && domain_of(n) == Some(u64::from(key.domain)))
        .cloned()
    else {
        let served: Vec<String> = nnis
            .iter()
            .map(|n| {
                format!(
                    "{} domain {}",
                    n.region,
                    domain_of(n).map_or("?".into(), |d| d.to_string())
                )
            })
            .collect();
        let code = if nnis.iter().any(|n| n.region == key.region) {
            "unknown_availability_domain"
        } else {
            "unknown_region"
        };
        return Err(Problem::field(
            "pairing_key",
            code,
            format!(
                "onramp has no Partner Interconnect in region {}, edge availability domain {}; it serves: {}",
                key.region,
                key.domain,
                if served.is_empty() {
                    "nothing yet".to_string()
                } else {
                    served.join(", ")
                }
            ),
        ));
    };
    let bandwidth = bandwidth.expect("checked above");
    if bandwidth > i64::from(nni.capacity_mbps) {
        return Err(Problem::field(
            "bandwidth",
            "exceeds_capacity",
            format!(
                "{} exceeds the {} Mbps interconnect {} in {}",
                o.bandwidth, nni.capacity_mbps, nni.csp_ref, nni.region
            ),
        ));
    }
    if let Some(v) = o.vlan {
        let port = inventory::port(&state.db, nni.port_id).await?;
        if v < i64::from(port.vlan_min) || v > i64::from(port.vlan_max) {
            return Err(Problem::field(
                "vlan",
                "out_of_range",
                format!(
                    "VLAN {v} is outside the range {}-{} onramp uses on {}",
                    port.vlan_min, port.vlan_max, nni.csp_ref
                ),
            ));
        }
    }
    Ok((
        nni,
        GcpPartnerInterconnectParams {
            pairing_key: o.pairing_key.trim().to_string(),
            region: key.region,
            edge_availability_domain: key.domain,
            bandwidth: o.bandwidth.clone(),
            peer_asn: o.peer_asn.map(|a| a as u32),
            requested_vlan: o.vlan.map(|v| v as u16),
        },
    ))
}

pub(crate) fn initial(note: String) -> Initial {
    let start = gpi::start();
    Initial {
        state: gpi::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state).expect("state serializes"),
        waiting_on: gpi::waiting_on(&start.state).as_str().into(),
        first_action: start.actions.first().map(|a| a.as_str().to_string()),
        note: if note.is_empty() {
            start.note
        } else {
            format!("{note}; {}", start.note)
        },
    }
}

pub(crate) async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &GcpPartnerInterconnectParams,
) -> Result<Plan, Problem> {
    let mut init = initial(String::new());
    init.first_action = None;
    let row = store::create_gcp_partner_interconnect(
        &state.db,
        tenant.id,
        nni,
        params,
        &init,
        Mode::DryRun,
    )
    .await?;
    let mut res = Resources::from_json(&row.resources)?;
    // Google picks the /29 at insert; the plan shows the shape with
    // placeholders so the router XML can be reviewed.
    res.subnet = "<Google's /29>".into();
    res.pe_address = "169.254.0.2/29".into();
    res.csp_address = "169.254.0.1/29".into();
    let pe = inventory::pe(&state.db, res.pe_id).await?;
    let tenant_row = inventory::tenant(&state.db, tenant.id).await?;
    let intent = onramp_workers::intent::single_attachment(
        &row,
        &res,
        &onramp_workers::intent::tenant_vrf(&tenant_row),
        "",
        format!("onramp {} gcp {}", row.id, params.pairing_key),
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
    Ok(Plan {
        dry_run: true,
        kind: "gcp-partner-interconnect".into(),
        location: nni.location_code.clone(),
        router_changes: vec![RouterChange {
            pe: pe.name.clone(),
            platform: pe.platform.clone(),
            operation: "create".into(),
            leg: None,
            config_xml: rendered.config_xml,
        }],
        csp_calls: vec![CspCall {
            service: "compute".into(),
            operation: format!(
                "POST /compute/v1/projects/{{partner project}}/regions/{}/interconnectAttachments",
                params.region
            ),
            request: serde_json::json!({
                "name": res.csp_object_name,
                "type": "PARTNER_PROVIDER",
                "interconnect": nni.csp_ref,
                "pairingKey": params.pairing_key,
                "vlanTag8021q": res.vlan,
                "bandwidth": params.bandwidth,
                "partnerAsn": res.asn.to_string(),
            }),
        }],
        steps: vec![
            format!(
                "Create the partner attachment on {} with VLAN {} for pairing key {}",
                nni.csp_ref, res.vlan, params.pairing_key
            ),
            format!(
                "Configure {} on {} with the /29 Google assigns and a BGP session to Google (AS {GOOGLE_ASN})",
                res.port_name, pe.name
            ),
            "Wait for you to activate the attachment in the Google Cloud console".into(),
        ],
        peering: Some(Peering::from_resources(res)),
        azure: None,
    })
}
