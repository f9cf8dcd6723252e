//! `gcp-partner-interconnect`: the unit and session towards the customer's
//! Cloud Router, once Google assigned the addresses.

use onramp_router_templates::{AttachmentIntent, VrfIntent};
use onramp_state_machines::gcp_partner_interconnect::GcpPartnerInterconnect;
use onramp_store::entity::connector;
use onramp_store::model::{GcpPartnerInterconnectParams, Resources};
use uuid::Uuid;

use crate::{Kind, single_attachment};

impl Kind for GcpPartnerInterconnect {
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        _auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
        let res = Resources::from_json(&row.resources)?;
        if !res.has_peering() {
            return Ok(Vec::new());
        }
        let params = GcpPartnerInterconnectParams::from_json(&row.params)?;
        Ok(vec![(res.pe_id, attachment(row, &res, &params, vrf)?)])
    }
}

/// The PE attachment of a Partner Interconnect attachment. Google sessions
/// carry no MD5 key.
pub fn attachment(
    row: &connector::Model,
    res: &Resources,
    params: &GcpPartnerInterconnectParams,
    vrf: &VrfIntent,
) -> onramp_store::Result<AttachmentIntent> {
    let description = format!("onramp {} gcp {}", row.id, params.pairing_key);
    single_attachment(row, res, vrf, "", description, &params.bandwidth)
}
