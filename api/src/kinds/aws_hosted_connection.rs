//! Orders of kind `aws-hosted-connection`, and the customer's report of the
//! VIF they created on it (`PUT /v1/connectors/{id}/vif`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onramp_checks::ipv4::{self, Interface};
use onramp_checks::{asn, bgp_key};
use onramp_state_machines::Machine;
use onramp_state_machines::aws_hosted_connection::{self as hc, AwsHostedConnection};
use onramp_store::connectors::{self as store, Mode, Transition};
use onramp_store::entity::{connector, nni};
use onramp_store::model::{AsnSource, AwsHostedConnectionParams, HostedVifDetails, Resources};

use super::order_checks::OrderChecks;
use super::{ApiKind, accepted, initial};
use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem};
use crate::views::{
    AwsHostedConnectionOrder, Connector, CspCall, HostedConnectionDetails, HostedVifReport,
    Peering, Plan,
};

pub(crate) async fn check(
    state: &AppState,
    o: &AwsHostedConnectionOrder,
) -> Result<(nni::Model, AwsHostedConnectionParams), Problem> {
    let mut checks = OrderChecks::default();
    let nni = checks
        .aws_account_at(state, &o.aws_account_id, &o.location)
        .await?;
    checks.bandwidth(
        &o.bandwidth,
        super::aws_hosted_vif::AWS_BANDWIDTHS,
        "a hosted connection bandwidth",
        &onramp_aws_dx::HOSTED_BANDWIDTHS.join(", "),
        nni.as_ref(),
        "interconnect",
    );
    checks.vlan(state, o.vlan, nni.as_ref()).await?;
    checks.finish()?;
    Ok((
        nni.expect("checked above"),
        AwsHostedConnectionParams {
            aws_account_id: o.aws_account_id.clone(),
            bandwidth: o.bandwidth.clone(),
            requested_vlan: o.vlan.map(|v| v as u16),
            vif: None,
        },
    ))
}

/// One end of the VIF's peering subnet: the prefix lengths AWS takes for
/// a private VIF, and an address a router may use.
fn cidr(field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<Interface> {
    match Interface::parse(s) {
        Ok(i) if (29..=31).contains(&i.len) => match ipv4::peer(i) {
            Ok(i) => Some(i),
            Err(e) => {
                errors.push(FieldError::checked(field, &e));
                None
            }
        },
        _ => {
            errors.push(FieldError {
                field: field.into(),
                code: "invalid_format".into(),
                detail: format!(
                    "`{s}` is not an IPv4 address with a /29, /30 or /31 prefix, e.g. 169.254.10.2/30"
                ),
            });
            None
        }
    }
}

/// Validates the report and builds the transition that records it with the
/// machine's `VifDetailsProvided`, or a problem naming the field at fault.
pub(crate) fn vif_transition(
    state: &AppState,
    row: &connector::Model,
    r: &HostedVifReport,
) -> Result<Transition, Problem> {
    let current: hc::State = serde_json::from_str(&row.machine_state)
        .map_err(|e| onramp_store::Error::Corrupt(format!("machine state of {}: {e}", row.id)))?;
    let out = hc::handle(&current, &hc::Event::VifDetailsProvided);
    if !out.changed {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not_waiting_for_vif",
            "The connector is not waiting for a VIF",
            format!(
                "connector {} is {}; the VIF can be reported once the customer has accepted the hosted connection, and only until it is configured",
                row.id, row.state
            ),
        ));
    }
    let mut errors = Vec::new();
    let ours = cidr("customer_address", &r.customer_address, &mut errors);
    let amazon = cidr("amazon_address", &r.amazon_address, &mut errors);
    if let (Some(a), Some(b)) = (ours, amazon)
        && let Err(e) = ipv4::pair(a, b)
    {
        errors.push(FieldError::checked("amazon_address", &e));
    }
    let amazon_side = r.amazon_side_asn.unwrap_or(64512);
    if let Err(e) = asn::usable(r.asn) {
        errors.push(FieldError::checked("asn", &e));
    } else if r.asn == amazon_side {
        errors.push(FieldError {
            field: "asn".into(),
            code: "same_as_peer".into(),
            detail: format!(
                "ASN {} is Amazon's side; the two sides need different ASNs",
                r.asn
            ),
        });
    }
    if let Err(e) = asn::usable(amazon_side) {
        errors.push(FieldError::checked("amazon_side_asn", &e));
    }
    if let Err(e) = bgp_key::md5(&r.auth_key) {
        errors.push(FieldError::checked("auth_key", &e));
    } else if r.auth_key.len() < 6 {
        errors.push(FieldError {
            field: "auth_key".into(),
            code: "invalid_length".into(),
            detail: "the BGP key must be at least 6 characters, as AWS requires".into(),
        });
    }
    if let Some(v) = &r.vif_id
        && !v.starts_with("dxvif-")
    {
        errors.push(FieldError {
            field: "vif_id".into(),
            code: "invalid_format".into(),
            detail: format!("`{v}` is not a VIF id (dxvif-…)"),
        });
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let mut params = AwsHostedConnectionParams::from_json(&row.params)?;
    params.vif = Some(HostedVifDetails {
        vif_id: r.vif_id.clone(),
        customer_address: r.customer_address.clone(),
        amazon_address: r.amazon_address.clone(),
    });
    let ours = ours.expect("checked above");
    let mut res = Resources::from_json(&row.resources)?;
    res.subnet = format!("{}/{}", ours.network(), ours.len);
    res.pe_address = r.customer_address.clone();
    res.csp_address = r.amazon_address.clone();
    res.asn = r.asn as u32;
    res.asn_source = AsnSource::Customer;
    res.csp_asn = amazon_side as u32;
    res.auth_key_sealed = state.secrets.seal(&r.auth_key);
    Ok(Transition {
        expected_step: row.step,
        state: hc::state_name(&out.state).into(),
        machine_state: serde_json::to_string(&out.state).expect("state serializes"),
        waiting_on: hc::waiting_on(&out.state).as_str().into(),
        event: hc::Event::VifDetailsProvided.name().into(),
        from_state: Some(row.state.clone()),
        message: out.note,
        actor: "customer".into(),
        next_action: out.actions.first().map(|a| a.as_str().to_string()),
        csp_ref: None,
        last_error: None,
        release_resources: false,
        resources: Some(serde_json::to_string(&res).expect("resources serialize")),
        params: Some(serde_json::to_string(&params).expect("params serialize")),
        lease_holder: None,
        ..Default::default()
    })
}

impl ApiKind for AwsHostedConnection {
    type Order = AwsHostedConnectionOrder;
    const CSP: Option<&'static str> = Some("aws");

    async fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: AwsHostedConnectionOrder,
    ) -> Result<Response, Problem> {
        let order = &order;
        let (nni, params) = check(state, order).await?;
        let initial = initial::<AwsHostedConnection>(
            &hc::start(),
            format!(
                "Ordered a {} hosted connection at {} for AWS account {}",
                params.bandwidth, nni.location_code, params.aws_account_id
            ),
        );
        let mode = if dry_run { Mode::DryRun } else { Mode::Commit };
        let row = store::create_aws_hosted_connection(
            &state.db, tenant.id, &nni, &params, &initial, mode,
        )
        .await?;
        if dry_run {
            let res = Resources::from_json(&row.resources)?;
            return Ok(Json(Plan {
                dry_run: true,
                kind: AwsHostedConnection::KIND.as_str().into(),
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

    fn with_bandwidth(
        _row: &connector::Model,
        _at: &nni::Model,
        _given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error> {
        Ok(Err(super::bandwidth_fixed(
            "AWS fixes a hosted connection's capacity when it is allocated: its partner API has no \
             call that changes it (UpdateConnection takes a name and an encryption mode only). \
             Order a hosted connection at the new bandwidth, move the VIF to it, then delete this one",
        )))
    }

    fn with_new_key(
        _row: &connector::Model,
        _sealed: &str,
    ) -> Result<
        Result<(String, onramp_state_machines::aws_hosted_connection::Event), FieldError>,
        onramp_store::Error,
    > {
        Ok(Err(super::key_fixed(
            "a hosted connection carries no BGP session of onramp's: you set each VIF's key when you create it on the connection in your AWS account",
        )))
    }

    fn retry_event(
        _row: &connector::Model,
    ) -> Result<Option<onramp_state_machines::aws_hosted_connection::Event>, Problem> {
        Ok(Some(
            onramp_state_machines::aws_hosted_connection::Event::RetryRequested,
        ))
    }

    fn describe(
        row: &connector::Model,
        _location: &nni::Model,
        _machine: &hc::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error> {
        let params = AwsHostedConnectionParams::from_json(&row.params)?;
        let res = Resources::from_json(&row.resources)?;
        view.bandwidth = params.bandwidth.clone();
        view.aws_account_id = Some(params.aws_account_id.clone());
        view.hosted_connection = Some(HostedConnectionDetails {
            connection_id: row.csp_ref.clone(),
            vlan: res.vlan,
            vif_id: params.vif.as_ref().and_then(|v| v.vif_id.clone()),
        });
        if res.has_peering() {
            view.peering = Some(Peering::from_resources(res));
        }
        Ok(())
    }
}
