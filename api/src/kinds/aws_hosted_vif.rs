//! `aws-hosted-vif` orders: a hosted VIF on one of onramp's Direct Connect
//! interconnects, allocated to the customer's AWS account.

use axum::Json;
use axum::response::{IntoResponse, Response};
use onramp_state_machines::Machine;
use onramp_state_machines::aws_hosted_vif::{self as vif, AwsHostedVif};
use onramp_store::connectors::{self as store, Mode};
use onramp_store::entity::{connector, nni};
use onramp_store::inventory;
use onramp_store::model::{AwsHostedVifParams, Resources};
use rand::distr::{Alphanumeric, SampleString};

use super::order_checks::{OrderChecks, bandwidth_within};
use super::{ApiKind, REDACTED, accepted, initial};
use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem};
use crate::views::{AwsHostedVifOrder, Connector, CspCall, Peering, Plan};

/// Hosted connection speeds AWS accepts from partners (csp-apis.md).
pub(crate) const AWS_BANDWIDTHS: &[(&str, i32)] = &[
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

/// The hosted bandwidths, as a refusal lists them.
fn bandwidth_choices() -> String {
    AWS_BANDWIDTHS
        .iter()
        .map(|b| b.0)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ApiKind for AwsHostedVif {
    type Order = AwsHostedVifOrder;
    const CSP: Option<&'static str> = Some("aws");

    async fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: AwsHostedVifOrder,
    ) -> Result<Response, Problem> {
        let (nni, params) = check(state, &order).await?;
        if dry_run {
            return Ok(Json(plan(state, tenant, &nni, &params).await?).into_response());
        }
        let initial = initial::<AwsHostedVif>(
            &vif::start(),
            format!(
                "Ordered a hosted VIF at {} for AWS account {}",
                nni.location_code, params.aws_account_id
            ),
        );
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
        Ok(accepted(Connector::from_row(&row, &nni)?))
    }

    /// A hosted VIF has no bandwidth at AWS: it rides the operator's
    /// interconnect, and onramp's PE policer is what holds it to the rate
    /// sold. So the change is onramp's alone: checked against the
    /// interconnect's capacity, then pushed to the PE.
    fn with_bandwidth(
        row: &connector::Model,
        at: &nni::Model,
        given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error> {
        if let Err(e) = bandwidth_within(
            given,
            AWS_BANDWIDTHS,
            "a hosted bandwidth",
            &bandwidth_choices(),
            Some(at),
            "interconnect",
        ) {
            return Ok(Err(e));
        }
        let mut params = AwsHostedVifParams::from_json(&row.params)?;
        params.bandwidth = given.to_string();
        Ok(Ok(serde_json::to_string(&params).expect("params serialize")))
    }

    fn with_new_key(
        _row: &connector::Model,
        _sealed: &str,
    ) -> Result<
        Result<(String, onramp_state_machines::aws_hosted_vif::Event), FieldError>,
        onramp_store::Error,
    > {
        Ok(Err(super::key_fixed(
            "AWS has no call that changes a hosted VIF's BGP key: the VIF belongs to your AWS account, where only you can replace its BGP peer (DeleteBGPPeer, then CreateBGPPeer with a new authKey); onramp cannot change the PE's side in step with it, so order a new connector for a new key",
        )))
    }

    fn retry_event(
        _row: &connector::Model,
    ) -> Result<Option<onramp_state_machines::aws_hosted_vif::Event>, Problem> {
        Ok(Some(
            onramp_state_machines::aws_hosted_vif::Event::RetryRequested,
        ))
    }

    fn describe(
        row: &connector::Model,
        _location: &nni::Model,
        _state: &vif::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error> {
        let params = AwsHostedVifParams::from_json(&row.params)?;
        let res = Resources::from_json(&row.resources)?;
        view.bandwidth = params.bandwidth;
        view.aws_account_id = Some(params.aws_account_id);
        view.vif_id = row.csp_ref.clone();
        view.peering = Some(Peering::from_resources(res));
        Ok(())
    }
}

async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &AwsHostedVifParams,
) -> Result<Plan, Problem> {
    let initial = initial::<AwsHostedVif>(&vif::start(), String::new());
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
    let intent = onramp_kinds::aws_hosted_vif::attachment(
        &row,
        &res,
        params,
        &onramp_kinds::tenant_vrf(&tenant_row),
        REDACTED,
    )?;
    let change = super::planned_change(state, &pe, &intent, None)?;
    let req = onramp_kinds::aws_hosted_vif::vif_request(nni, &res, params, REDACTED);
    Ok(Plan {
        dry_run: true,
        kind: AwsHostedVif::KIND.as_str().into(),
        location: nni.location_code.clone(),
        router_changes: vec![change],
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

async fn check(
    state: &AppState,
    o: &AwsHostedVifOrder,
) -> Result<(nni::Model, AwsHostedVifParams), Problem> {
    let mut checks = OrderChecks::default();
    let nni = checks
        .aws_account_at(state, &o.aws_account_id, &o.location)
        .await?;
    checks.bandwidth(
        &o.bandwidth,
        AWS_BANDWIDTHS,
        "a hosted bandwidth",
        &bandwidth_choices(),
        nni.as_ref(),
        "interconnect",
    );
    checks.customer_asn(
        "customer_asn",
        o.customer_asn,
        nni.as_ref(),
        "Amazon's side of this interconnect",
    );
    checks.vlan(state, o.vlan, nni.as_ref()).await?;
    checks.finish()?;
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
