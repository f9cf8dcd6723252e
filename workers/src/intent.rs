//! What a connector asks of its PEs and of its CSP, derived from its row. Pure, so
//! the API's plan (dry run) and the worker build exactly the same requests.

use onramp_aws_dx::VifRequest;
use onramp_azure_er::PeeringRequest;
use onramp_router_templates::{AttachmentIntent, NeighborIntent, VrfIntent};
use onramp_state_machines::azure_expressroute::Leg;
use onramp_store::entity::{connector, nni, tenant};
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
    tenant: &tenant::Model,
    auth_key: &str,
) -> AttachmentIntent {
    single_attachment(
        row,
        res,
        tenant,
        auth_key,
        format!("onramp {} aws {}", row.id, params.aws_account_id),
    )
}

/// The PE attachment of a single-session connector (a hosted VIF, a hosted
/// connection's VIF, a Google attachment): one VLAN unit on the NNI's port,
/// the tenant's VRF, one BGP session to the CSP.
pub fn single_attachment(
    row: &connector::Model,
    res: &Resources,
    tenant: &tenant::Model,
    auth_key: &str,
    description: String,
) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: row.id.to_string(),
        interface: res.port_name.clone(),
        vlan: res.vlan,
        inner_vlan: None,
        local_address: res.pe_address.clone(),
        vrf: VrfIntent {
            name: tenant.vrf_name.clone(),
            route_distinguisher: tenant.route_distinguisher.clone(),
            route_target: tenant.route_target.clone(),
        },
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
    tenant: &tenant::Model,
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
        vrf: VrfIntent {
            name: tenant.vrf_name.clone(),
            route_distinguisher: tenant.route_distinguisher.clone(),
            route_target: tenant.route_target.clone(),
        },
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
