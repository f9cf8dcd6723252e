//! `azure-expressroute`: two legs, each a QinQ unit and a session to
//! Microsoft, and the private peering onramp asks Azure for.

use onramp_azure_er::PeeringRequest;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, Policer, VrfIntent};
use onramp_state_machines::azure_expressroute::{AzureExpressroute, Leg};
use onramp_store::entity::connector;
use onramp_store::model::{AzureExpressRouteParams, AzureResources, ConnectorOptions};
use uuid::Uuid;

use crate::{Kind, neighbor_description, strip_len};

impl Kind for AzureExpressroute {
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
        let res = AzureResources::from_json(&row.resources)?;
        let params = AzureExpressRouteParams::from_json(&row.params)?;
        [Leg::Primary, Leg::Secondary]
            .into_iter()
            .map(|leg| {
                let pe = match leg {
                    Leg::Primary => res.primary.pe_id,
                    Leg::Secondary => res.secondary.pe_id,
                };
                Ok((pe, leg_attachment(row, &res, leg, &params, vrf, auth_key)?))
            })
            .collect()
    }

    fn sealed_auth_key(row: &connector::Model) -> onramp_store::Result<String> {
        Ok(AzureResources::from_json(&row.resources)?.auth_key_sealed)
    }
}

/// The PE attachment of one leg: QinQ with Microsoft's S-tag outside and the
/// peering's vlanId inside, the leg's /30, and a BGP session to Microsoft
/// (12076).
pub fn leg_attachment(
    row: &connector::Model,
    res: &AzureResources,
    leg: Leg,
    params: &AzureExpressRouteParams,
    vrf: &VrfIntent,
    auth_key: &str,
) -> onramp_store::Result<AttachmentIntent> {
    let options = ConnectorOptions::from_json(&row.options)?;
    let l = match leg {
        Leg::Primary => &res.primary,
        Leg::Secondary => &res.secondary,
    };
    Ok(AttachmentIntent {
        connector_id: row.id.to_string(),
        interface: l.port_name.clone(),
        vlan: res.s_tag,
        inner_vlan: Some(res.c_tag),
        local_address: l.pe_address.clone(),
        vrf: vrf.clone(),
        neighbor: NeighborIntent {
            address: strip_len(&l.csp_address).to_string(),
            peer_as: res.csp_asn,
            local_as: res.asn,
            auth_key: auth_key.to_string(),
            prefix_limit: options.prefix_limit(),
            bfd: options.bfd,
            description: neighbor_description(
                format!(
                    "onramp {} azure {} {}",
                    row.id,
                    leg.as_str(),
                    params.service_key
                ),
                &options,
            ),
        },
        // Microsoft polices the circuit at its bandwidth; each leg is
        // policed at it too (the legs are redundant, not shared).
        policer: Some(Policer::for_mbps(params.circuit.bandwidth_mbps)),
    })
}

/// The AzurePrivatePeering onramp PUTs (or expects the customer to have
/// configured): the two /30s, the C-tag as vlanId, our ASN and the key.
pub fn peering_request(res: &AzureResources, auth_key: &str) -> PeeringRequest {
    PeeringRequest {
        peer_asn: res.asn,
        primary_peer_address_prefix: res.primary.subnet.clone(),
        secondary_peer_address_prefix: res.secondary.subnet.clone(),
        vlan_id: res.c_tag,
        shared_key: Some(auth_key.to_string()),
    }
}
