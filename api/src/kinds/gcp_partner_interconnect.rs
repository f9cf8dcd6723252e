//! Orders of kind `gcp-partner-interconnect`: the pairing key is checked for
//! format and placed on onramp's interconnect in its region and edge
//! availability domain. Google is not called here: the pairing key only
//! means something to the insert, which the worker makes.

use axum::Json;
use axum::response::{IntoResponse, Response};
use onramp_gcp_pi::{BANDWIDTHS, parse_pairing_key};
use onramp_state_machines::Machine;
use onramp_state_machines::gcp_partner_interconnect::{self as gpi, GcpPartnerInterconnect};
use onramp_store::connectors::{self as store, GOOGLE_ASN, Mode};
use onramp_store::entity::{connector, nni};
use onramp_store::inventory;
use onramp_store::model::{GcpPartnerInterconnectParams, Resources};

use super::{ApiKind, accepted, initial};
use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, FieldErrors, Problem};
use crate::views::{Connector, CspCall, GcpDetails, GcpPartnerInterconnectOrder, Peering, Plan};

/// A Partner Interconnect bandwidth name (`BPS_1G`), in Mbps.
fn partner_mbps(given: &str) -> Result<i64, FieldError> {
    onramp_checks::bandwidth::mbps(given)
        .map(i64::from)
        .filter(|_| BANDWIDTHS.contains(&given))
        .ok_or_else(|| FieldError {
            field: "bandwidth".into(),
            code: "unsupported_bandwidth".into(),
            detail: format!(
                "`{given}` is not a Partner Interconnect bandwidth; use one of {}",
                BANDWIDTHS.join(", ")
            ),
        })
}

/// `mbps` (named `given`) fits the interconnect `nni`.
fn fits(given: &str, mbps: i64, nni: &nni::Model) -> Result<(), FieldError> {
    if mbps > i64::from(nni.capacity_mbps) {
        return Err(FieldError {
            field: "bandwidth".into(),
            code: "exceeds_capacity".into(),
            detail: format!(
                "{given} exceeds the {} Mbps interconnect {} in {}",
                nni.capacity_mbps, nni.csp_ref, nni.region
            ),
        });
    }
    Ok(())
}

pub(crate) async fn check(
    state: &AppState,
    o: &GcpPartnerInterconnectOrder,
) -> Result<(nni::Model, GcpPartnerInterconnectParams), Problem> {
    let mut errors = FieldErrors::default();
    let key = parse_pairing_key(o.pairing_key.trim());
    if let Err(why) = &key {
        errors.add(
            "pairing_key",
            "invalid_format",
            format!(
                "`{}` is not a pairing key ({why}); it looks like 2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1",
                o.pairing_key
            ),
        );
    }
    let bandwidth = match partner_mbps(&o.bandwidth) {
        Ok(mbps) => Some(mbps),
        Err(e) => {
            errors.add(&e.field, &e.code, e.detail);
            None
        }
    };
    if let Some(asn) = o.peer_asn {
        if let Err(e) = onramp_checks::asn::usable(asn) {
            errors.refuse("peer_asn", &e);
        } else if asn == i64::from(GOOGLE_ASN) {
            errors.add(
                "peer_asn",
                "same_as_peer",
                format!("ASN {asn} is Google's side of every Partner Interconnect session"),
            );
        }
    }
    if let Some(v) = o.vlan
        && !(2..=4094).contains(&v)
    {
        errors.add(
            "vlan",
            "out_of_range",
            format!("VLAN {v} is outside 2-4094 (Google's vlanTag8021q range)"),
        );
    }
    errors.finish()?;
    let key = key.expect("checked above");
    let nnis = inventory::nnis(&state.db, "gcp").await?;
    let domain_of = |n: &nni::Model| {
        serde_json::from_str::<serde_json::Value>(&n.attributes)
            .ok()
            .and_then(|a| {
                a.get("edge_availability_domain")
                    .and_then(serde_json::Value::as_u64)
            })
    };
    // Several NNIs in one edge availability domain form a group: the order
    // goes to one whose PE is not in maintenance.
    let group: Vec<nni::Model> = nnis
        .iter()
        .filter(|n| n.region == key.region && domain_of(n) == Some(u64::from(key.domain)))
        .cloned()
        .collect();
    let Some(nni) = inventory::first_outside_maintenance(&state.db, group).await? else {
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
    fits(&o.bandwidth, bandwidth, &nni).map_err(|e| Problem::invalid(vec![e]))?;
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

pub(crate) async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &GcpPartnerInterconnectParams,
) -> Result<Plan, Problem> {
    let mut init = initial::<GcpPartnerInterconnect>(&gpi::start(), String::new());
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
    let intent = onramp_kinds::gcp_partner_interconnect::attachment(
        &row,
        &res,
        params,
        &onramp_kinds::tenant_vrf(&tenant_row),
    )?;
    let change = super::planned_change(state, &pe, &intent, None)?;
    Ok(Plan {
        dry_run: true,
        kind: GcpPartnerInterconnect::KIND.as_str().into(),
        location: nni.location_code.clone(),
        router_changes: vec![change],
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

impl ApiKind for GcpPartnerInterconnect {
    type Order = GcpPartnerInterconnectOrder;
    const CSP: Option<&'static str> = Some("gcp");
    const NO_BGP_KEY: Option<&'static str> =
        Some("Partner Interconnect BGP sessions with Cloud Router use no MD5 key");

    async fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: GcpPartnerInterconnectOrder,
    ) -> Result<Response, Problem> {
        let order = &order;
        let (nni, params) = check(state, order).await?;
        if dry_run {
            return Ok(Json(plan(state, tenant, &nni, &params).await?).into_response());
        }
        let initial = initial::<GcpPartnerInterconnect>(
            &gpi::start(),
            format!(
                "Ordered Partner Interconnect for pairing key {} ({} on {})",
                params.pairing_key, params.bandwidth, nni.csp_ref
            ),
        );
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

    /// Google lets the partner change an attachment's capacity (the
    /// customer asks the partner): onramp changes it at Google, then on the
    /// PE, within the interconnect's capacity.
    fn with_bandwidth(
        row: &connector::Model,
        at: &nni::Model,
        given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error> {
        if let Err(e) = partner_mbps(given).and_then(|mbps| fits(given, mbps, at)) {
            return Ok(Err(e));
        }
        let mut params = GcpPartnerInterconnectParams::from_json(&row.params)?;
        params.bandwidth = given.to_string();
        Ok(Ok(serde_json::to_string(&params).expect("params serialize")))
    }

    fn with_new_key(
        _row: &connector::Model,
        _sealed: &str,
    ) -> Result<
        Result<
            (
                String,
                onramp_state_machines::gcp_partner_interconnect::Event,
            ),
            FieldError,
        >,
        onramp_store::Error,
    > {
        Ok(Err(super::key_fixed(
            "Google's side of the session is your Cloud Router, and the partner API cannot change its MD5 key; a new key on the PE alone would take the session down",
        )))
    }

    fn change_calls(
        _before: &connector::Model,
        after: &connector::Model,
        fields: &[String],
    ) -> Result<Vec<CspCall>, onramp_store::Error> {
        if !fields.iter().any(|f| f == "bandwidth") {
            return Ok(Vec::new());
        }
        let params = GcpPartnerInterconnectParams::from_json(&after.params)?;
        let res = onramp_store::model::Resources::from_json(&after.resources)?;
        Ok(vec![CspCall {
            service: "compute".into(),
            operation: format!(
                "PATCH /compute/v1/projects/{{partner project}}/regions/{}/interconnectAttachments/{}",
                params.region, res.csp_object_name
            ),
            request: serde_json::json!({ "bandwidth": params.bandwidth }),
        }])
    }

    fn retry_event(
        _row: &connector::Model,
    ) -> Result<Option<onramp_state_machines::gcp_partner_interconnect::Event>, Problem> {
        Ok(Some(
            onramp_state_machines::gcp_partner_interconnect::Event::RetryRequested,
        ))
    }

    fn describe(
        row: &connector::Model,
        location: &nni::Model,
        _machine: &gpi::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error> {
        let params = GcpPartnerInterconnectParams::from_json(&row.params)?;
        let res = Resources::from_json(&row.resources)?;
        view.bandwidth = params.bandwidth.clone();
        view.gcp = Some(GcpDetails {
            pairing_key: params.pairing_key,
            region: params.region,
            edge_availability_domain: params.edge_availability_domain,
            interconnect: location.csp_ref.clone(),
            attachment: row.csp_ref.clone(),
        });
        if res.has_peering() {
            view.peering = Some(Peering::from_resources(res));
        }
        Ok(())
    }
}
