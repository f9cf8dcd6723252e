//! The pure half of each connector kind beyond its machine: what a
//! connector asks of its PEs and of its CSP, derived from its row, and the
//! transitions its machine's answers make. Pure, so the API's plan (dry
//! run) and the worker build exactly the same requests. One module per
//! connector kind; [`Kind`] is the part every kind has, for the code that
//! handles connectors of any kind (a link moving its members between VRFs).

pub mod aws_hosted_connection;
pub mod aws_hosted_vif;
pub mod azure_expressroute;
pub mod gcp_partner_interconnect;
pub mod ticket_csp;
pub mod transition;

use onramp_router_templates::{AttachmentIntent, NeighborIntent, Policer, VrfIntent};
use onramp_state_machines::{Machine, with_kind};
use onramp_store::entity::{connector, link, tenant};
use onramp_store::model::{ConnectorOptions, Resources};
use uuid::Uuid;

/// How a kind's connectors sit on the PEs (the rest of a kind's pure half
/// is its [`Machine`]).
pub trait Kind: Machine {
    /// Every PE attachment of `row` in `vrf`, with the PE it goes on. Empty
    /// for a connector that has nothing on a PE yet (no peering learnt).
    /// `auth_key` is the opened key.
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>>;

    /// The sealed BGP key ("" for none).
    fn sealed_auth_key(row: &connector::Model) -> onramp_store::Result<String> {
        Ok(Resources::from_json(&row.resources)?.auth_key_sealed)
    }
}

/// Every PE attachment of a connector of any kind, in `vrf`: what a link
/// moves between VRFs. Built with the same functions as the connector's own
/// pushes, so a move leaves the unit and session exactly as they were apart
/// from the VRF.
pub fn attachments_of(
    row: &connector::Model,
    vrf: &VrfIntent,
    auth_key: &str,
) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
    with_kind!(row.connector_kind()?, |K| K::attachments(
        row, vrf, auth_key
    ))
}

/// The sealed BGP key of a connector of any kind ("" for none).
pub fn sealed_auth_key(row: &connector::Model) -> onramp_store::Result<String> {
    with_kind!(row.connector_kind()?, |K| K::sealed_auth_key(row))
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
    bandwidth: &str,
) -> onramp_store::Result<AttachmentIntent> {
    let options = ConnectorOptions::from_json(&row.options)?;
    Ok(AttachmentIntent {
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
            prefix_limit: options.prefix_limit(),
            bfd: options.bfd,
            description: neighbor_description(description, &options),
        },
        policer: policer(bandwidth),
    })
}

/// onramp's description of a session, with the customer's own label after
/// it when they gave one: the PE shows both, onramp's first so that config
/// on the box always traces back to the connector.
pub fn neighbor_description(onramp: String, options: &ConnectorOptions) -> String {
    match &options.description {
        Some(label) if !label.is_empty() => format!("{onramp} ({label})"),
        _ => onramp,
    }
}

/// The policer for a bandwidth name (`50Mbps`, `BPS_1G`). The API stores
/// only names that read as a rate; one that does not gives no policer
/// rather than a wrong rate.
pub fn policer(bandwidth: &str) -> Option<Policer> {
    onramp_checks::bandwidth::mbps(bandwidth).map(Policer::for_mbps)
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

fn strip_len(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}
