//! What a connector asks of its PEs and of its CSP, derived from its row. Pure, so
//! the API's plan (dry run) and the worker build exactly the same requests.

use onramp_aws_dx::VifRequest;
use onramp_azure_er::PeeringRequest;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, VrfIntent};
use onramp_state_machines::azure_expressroute::Leg;
use onramp_store::entity::{connector, link, nni, tenant};
use onramp_store::model::{AwsHostedVifParams, AzureExpressRouteParams, AzureResources, Resources};

/// BGP prefix limit on the session to the CSP: generous for a private VIF
/// (AWS allows 100 prefixes towards it), yet a bound on a leak.
pub const PREFIX_LIMIT: u32 = 1000;

/// The PE attachment of an `aws-hosted-vif` connector. `auth_key` is the
/// opened (plaintext) MD5 key.
pub fn attachment(
    row: &connector::Model,
    res: &Resources,
    params: &AwsHostedVifParams,
    vrf: &VrfIntent,
    auth_key: &str,
) -> AttachmentIntent {
    single_attachment(
        row,
        res,
        vrf,
        auth_key,
        format!("onramp {} aws {}", row.id, params.aws_account_id),
    )
}

/// The PE attachment of a single-session connector (a hosted VIF, a hosted
/// connection's VIF, a Google attachment): one VLAN unit on the NNI's port,
/// its VRF (the tenant's, or its link's), one BGP session to the CSP.
pub fn single_attachment(
    row: &connector::Model,
    res: &Resources,
    vrf: &VrfIntent,
    auth_key: &str,
    description: String,
) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: row.id.to_string(),
        interface: res.port_name.clone(),
        vlan: res.vlan,
        inner_vlan: None,
        local_address: res.pe_address.clone(),
        vrf: vrf.clone(),
        neighbor: NeighborIntent {
            address: strip_len(&res.csp_address).to_string(),
            peer_as: res.csp_asn,
            local_as: res.asn,
            auth_key: auth_key.to_string(),
            prefix_limit: PREFIX_LIMIT,
            description,
        },
    }
}

/// The tenant's VRF: where a connector's attachments sit unless it is in a
/// link.
pub fn tenant_vrf(tenant: &tenant::Model) -> VrfIntent {
    VrfIntent {
        name: tenant.vrf_name.clone(),
        route_distinguisher: tenant.route_distinguisher.clone(),
        route_target: tenant.route_target.clone(),
    }
}

/// A link's own VRF (its own RD and RT): the routing domain of its members.
pub fn link_vrf(link: &link::Model) -> VrfIntent {
    VrfIntent {
        name: link.vrf_name.clone(),
        route_distinguisher: link.route_distinguisher.clone(),
        route_target: link.route_target.clone(),
    }
}

/// Every PE attachment of a connector of any kind, in `vrf`, with the PE it
/// goes on: what a link moves between VRFs. Built with the same functions
/// as the connector's own pushes, so a move leaves the unit and session
/// exactly as they were apart from the VRF. Empty for a connector that has
/// nothing on a PE yet (no peering learnt). `auth_key` is the opened key.
pub fn attachments_of(
    row: &connector::Model,
    vrf: &VrfIntent,
    auth_key: &str,
) -> onramp_store::Result<Vec<(uuid::Uuid, AttachmentIntent)>> {
    use onramp_store::model::{AwsHostedConnectionParams, GcpPartnerInterconnectParams};
    Ok(match row.kind.as_str() {
        "aws-hosted-vif" => {
            let res = Resources::from_json(&row.resources)?;
            let params = AwsHostedVifParams::from_json(&row.params)?;
            vec![(res.pe_id, attachment(row, &res, &params, vrf, auth_key))]
        }
        "aws-hosted-connection" => {
            let res = Resources::from_json(&row.resources)?;
            if !res.has_peering() {
                return Ok(Vec::new());
            }
            let params = AwsHostedConnectionParams::from_json(&row.params)?;
            let description = format!(
                "onramp {} aws hosted connection {}",
                row.id, params.aws_account_id
            );
            vec![(
                res.pe_id,
                single_attachment(row, &res, vrf, auth_key, description),
            )]
        }
        "gcp-partner-interconnect" => {
            let res = Resources::from_json(&row.resources)?;
            if !res.has_peering() {
                return Ok(Vec::new());
            }
            let params = GcpPartnerInterconnectParams::from_json(&row.params)?;
            let description = format!("onramp {} gcp {}", row.id, params.pairing_key);
            // Google sessions carry no MD5 key.
            vec![(
                res.pe_id,
                single_attachment(row, &res, vrf, "", description),
            )]
        }
        "ticket-csp" => {
            let res = Resources::from_json(&row.resources)?;
            let params = onramp_store::model::TicketCspParams::from_json(&row.params)?;
            vec![(res.pe_id, ticket_attachment(row, &res, &params, vrf))]
        }
        "azure-expressroute" => {
            let res = AzureResources::from_json(&row.resources)?;
            let params = AzureExpressRouteParams::from_json(&row.params)?;
            [Leg::Primary, Leg::Secondary]
                .into_iter()
                .map(|leg| {
                    let pe = match leg {
                        Leg::Primary => res.primary.pe_id,
                        Leg::Secondary => res.secondary.pe_id,
                    };
                    (
                        pe,
                        azure_leg_attachment(row, &res, leg, &params, vrf, auth_key),
                    )
                })
                .collect()
        }
        other => {
            return Err(onramp_store::Error::Corrupt(format!(
                "connector {} has unknown kind {other}",
                row.id
            )));
        }
    })
}

/// The sealed BGP key of a connector of any kind ("" for none).
pub fn sealed_auth_key(row: &connector::Model) -> onramp_store::Result<String> {
    Ok(match row.kind.as_str() {
        "azure-expressroute" => AzureResources::from_json(&row.resources)?.auth_key_sealed,
        _ => Resources::from_json(&row.resources)?.auth_key_sealed,
    })
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

fn strip_len(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}

/// The PE attachment of one leg of an `azure-expressroute` connector: QinQ
/// with Microsoft's S-tag outside and the peering's vlanId inside, the leg's
/// /30, and a BGP session to Microsoft (12076).
pub fn azure_leg_attachment(
    row: &connector::Model,
    res: &AzureResources,
    leg: Leg,
    params: &AzureExpressRouteParams,
    vrf: &VrfIntent,
    auth_key: &str,
) -> AttachmentIntent {
    let l = match leg {
        Leg::Primary => &res.primary,
        Leg::Secondary => &res.secondary,
    };
    AttachmentIntent {
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
            prefix_limit: PREFIX_LIMIT,
            description: format!(
                "onramp {} azure {} {}",
                row.id,
                leg.as_str(),
                params.service_key
            ),
        },
    }
}

/// The AzurePrivatePeering onramp PUTs (or expects the customer to have
/// configured): the two /30s, the C-tag as vlanId, our ASN and the key.
pub fn azure_peering_request(res: &AzureResources, auth_key: &str) -> PeeringRequest {
    PeeringRequest {
        peer_asn: res.asn,
        primary_peer_address_prefix: res.primary.subnet.clone(),
        secondary_peer_address_prefix: res.secondary.subnet.clone(),
        vlan_id: res.c_tag,
        shared_key: Some(auth_key.to_string()),
    }
}

/// The PE attachment of a `ticket-csp` connector: its resources already
/// hold what the provider assigned (VLAN, peer address and ASN, stored when
/// ops completed the tasks), so this is a single attachment without MD5
/// (no provider's runbook asks for one yet), described with the provider's
/// circuit or ticket id when ops recorded one.
pub fn ticket_attachment(
    row: &connector::Model,
    res: &Resources,
    params: &onramp_store::model::TicketCspParams,
    vrf: &VrfIntent,
) -> AttachmentIntent {
    let reference = ["provider_circuit_id", "provider_ticket"]
        .iter()
        .find_map(|k| params.values.get(*k))
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    single_attachment(
        row,
        res,
        vrf,
        "",
        format!("onramp {} {}{reference}", row.id, params.provider),
    )
}
