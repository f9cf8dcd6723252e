//! `aws-hosted-connection`: the unit and session of the customer's VIF on
//! the hosted connection, once they reported it.

use onramp_router_templates::{AttachmentIntent, VrfIntent};
use onramp_state_machines::aws_hosted_connection::AwsHostedConnection;
use onramp_store::entity::connector;
use onramp_store::model::{AwsHostedConnectionParams, Resources};
use uuid::Uuid;

use crate::{Kind, single_attachment};

impl Kind for AwsHostedConnection {
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
        let res = Resources::from_json(&row.resources)?;
        if !res.has_peering() {
            return Ok(Vec::new());
        }
        let params = AwsHostedConnectionParams::from_json(&row.params)?;
        Ok(vec![(
            res.pe_id,
            attachment(row, &res, &params, vrf, auth_key)?,
        )])
    }
}

/// The PE attachment of the VIF the customer created on the hosted
/// connection.
pub fn attachment(
    row: &connector::Model,
    res: &Resources,
    params: &AwsHostedConnectionParams,
    vrf: &VrfIntent,
    auth_key: &str,
) -> onramp_store::Result<AttachmentIntent> {
    let description = format!(
        "onramp {} aws hosted connection {}",
        row.id, params.aws_account_id
    );
    single_attachment(row, res, vrf, auth_key, description, &params.bandwidth)
}
