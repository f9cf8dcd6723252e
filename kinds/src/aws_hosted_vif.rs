//! `aws-hosted-vif`: one VLAN unit and session, and the hosted VIF AWS is
//! asked for.

use onramp_aws_dx::VifRequest;
use onramp_router_templates::{AttachmentIntent, VrfIntent};
use onramp_state_machines::aws_hosted_vif::AwsHostedVif;
use onramp_store::entity::{connector, nni};
use onramp_store::model::{AwsHostedVifParams, Resources};
use uuid::Uuid;

use crate::{Kind, single_attachment};

impl Kind for AwsHostedVif {
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
        let res = Resources::from_json(&row.resources)?;
        let params = AwsHostedVifParams::from_json(&row.params)?;
        Ok(vec![(
            res.pe_id,
            attachment(row, &res, &params, vrf, auth_key)?,
        )])
    }
}

/// The PE attachment of an `aws-hosted-vif` connector. `auth_key` is the
/// opened (plaintext) MD5 key.
pub fn attachment(
    row: &connector::Model,
    res: &Resources,
    params: &AwsHostedVifParams,
    vrf: &VrfIntent,
    auth_key: &str,
) -> onramp_store::Result<AttachmentIntent> {
    single_attachment(
        row,
        res,
        vrf,
        auth_key,
        format!("onramp {} aws {}", row.id, params.aws_account_id),
        &params.bandwidth,
    )
}

/// The hosted VIF AWS is asked for.
pub fn vif_request(
    nni: &nni::Model,
    res: &Resources,
    params: &AwsHostedVifParams,
    auth_key: &str,
) -> VifRequest {
    VifRequest {
        connection_id: nni.csp_ref.clone(),
        owner_account: params.aws_account_id.clone(),
        name: res.csp_object_name.clone(),
        vlan: res.vlan,
        asn: res.asn,
        amazon_address: res.csp_address.clone(),
        customer_address: res.pe_address.clone(),
        auth_key: auth_key.to_string(),
    }
}
