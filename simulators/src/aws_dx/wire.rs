//! JSON shapes of the operations the simulator implements, as in the
//! `OvertureService` model (lowerCamelCase members, optional everything on
//! input so that missing required members get AWS's own error).

use serde::{Deserialize, Serialize};

pub(crate) use super::SimTag as Tag;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AllocatePrivateVirtualInterfaceInput {
    pub(crate) connection_id: Option<String>,
    pub(crate) owner_account: Option<String>,
    pub(crate) new_private_virtual_interface_allocation:
        Option<NewPrivateVirtualInterfaceAllocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewPrivateVirtualInterfaceAllocation {
    pub(crate) virtual_interface_name: Option<String>,
    pub(crate) vlan: Option<i64>,
    pub(crate) asn: Option<i64>,
    pub(crate) asn_long: Option<i64>,
    pub(crate) mtu: Option<i64>,
    pub(crate) auth_key: Option<String>,
    pub(crate) amazon_address: Option<String>,
    pub(crate) customer_address: Option<String>,
    pub(crate) address_family: Option<String>,
    pub(crate) tags: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfirmPrivateVirtualInterfaceInput {
    pub(crate) virtual_interface_id: Option<String>,
    pub(crate) virtual_gateway_id: Option<String>,
    pub(crate) direct_connect_gateway_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeVirtualInterfacesInput {
    pub(crate) connection_id: Option<String>,
    pub(crate) virtual_interface_id: Option<String>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteVirtualInterfaceInput {
    pub(crate) virtual_interface_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePrivateVirtualInterfaceInput {
    pub(crate) connection_id: Option<String>,
    pub(crate) new_private_virtual_interface: Option<NewPrivateVirtualInterface>,
}

/// The customer's own VIF: the allocation's members plus the gateway, which
/// the customer names at once instead of on confirmation.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewPrivateVirtualInterface {
    #[serde(flatten)]
    pub(crate) peering: NewPrivateVirtualInterfaceAllocation,
    pub(crate) virtual_gateway_id: Option<String>,
    pub(crate) direct_connect_gateway_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeConnectionsInput {
    pub(crate) connection_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AllocateHostedConnectionInput {
    /// The partner's interconnect (or LAG).
    pub(crate) connection_id: Option<String>,
    pub(crate) owner_account: Option<String>,
    pub(crate) bandwidth: Option<String>,
    pub(crate) connection_name: Option<String>,
    pub(crate) vlan: Option<i64>,
    pub(crate) tags: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeHostedConnectionsInput {
    /// The interconnect (or LAG) the hosted connections are on.
    pub(crate) connection_id: Option<String>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<String>,
}

/// ConfirmConnection and DeleteConnection take just the id.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectionIdInput {
    pub(crate) connection_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectionStateOutput {
    pub(crate) connection_state: &'static str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeInterconnectsInput {
    pub(crate) interconnect_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VirtualInterface {
    pub(crate) owner_account: String,
    pub(crate) virtual_interface_id: String,
    pub(crate) location: String,
    pub(crate) connection_id: String,
    pub(crate) virtual_interface_type: &'static str,
    pub(crate) virtual_interface_name: String,
    pub(crate) vlan: u16,
    /// 0 for a 4-byte ASN that came in as `asnLong`, as AWS documents.
    pub(crate) asn: i64,
    pub(crate) asn_long: i64,
    pub(crate) amazon_side_asn: i64,
    pub(crate) auth_key: String,
    pub(crate) amazon_address: String,
    pub(crate) customer_address: String,
    pub(crate) address_family: String,
    pub(crate) virtual_interface_state: &'static str,
    pub(crate) mtu: u32,
    pub(crate) jumbo_frame_capable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) virtual_gateway_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) direct_connect_gateway_id: Option<String>,
    pub(crate) route_filter_prefixes: Vec<serde_json::Value>,
    pub(crate) bgp_peers: Vec<BgpPeer>,
    pub(crate) region: String,
    pub(crate) aws_device_v2: String,
    pub(crate) aws_logical_device_id: String,
    pub(crate) tags: Vec<Tag>,
    pub(crate) site_link_enabled: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BgpPeer {
    pub(crate) bgp_peer_id: String,
    pub(crate) asn: i64,
    pub(crate) asn_long: i64,
    pub(crate) auth_key: String,
    pub(crate) address_family: String,
    pub(crate) amazon_address: String,
    pub(crate) customer_address: String,
    pub(crate) bgp_peer_state: &'static str,
    pub(crate) bgp_status: &'static str,
    pub(crate) aws_device_v2: String,
    pub(crate) aws_logical_device_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeVirtualInterfacesOutput {
    pub(crate) virtual_interfaces: Vec<VirtualInterface>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VirtualInterfaceStateOutput {
    pub(crate) virtual_interface_state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection {
    pub(crate) owner_account: String,
    pub(crate) connection_id: String,
    pub(crate) connection_name: String,
    pub(crate) connection_state: &'static str,
    pub(crate) region: String,
    pub(crate) location: String,
    pub(crate) bandwidth: String,
    pub(crate) aws_device: String,
    pub(crate) aws_device_v2: String,
    pub(crate) aws_logical_device_id: String,
    pub(crate) jumbo_frame_capable: bool,
    pub(crate) has_logical_redundancy: &'static str,
    pub(crate) tags: Vec<Tag>,
    pub(crate) mac_sec_capable: bool,
    /// Hosted connections only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vlan: Option<u16>,
    /// Hosted connections only: the partner that allocated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) partner_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connections {
    pub(crate) connections: Vec<Connection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Interconnect {
    pub(crate) interconnect_id: String,
    pub(crate) interconnect_name: String,
    pub(crate) interconnect_state: &'static str,
    pub(crate) region: String,
    pub(crate) location: String,
    pub(crate) bandwidth: String,
    pub(crate) aws_device: String,
    pub(crate) aws_device_v2: String,
    pub(crate) aws_logical_device_id: String,
    pub(crate) jumbo_frame_capable: bool,
    pub(crate) has_logical_redundancy: &'static str,
    pub(crate) tags: Vec<Tag>,
    pub(crate) mac_sec_capable: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Interconnects {
    pub(crate) interconnects: Vec<Interconnect>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Location {
    pub(crate) location_code: String,
    pub(crate) location_name: String,
    pub(crate) region: String,
    pub(crate) available_port_speeds: Vec<&'static str>,
    pub(crate) available_providers: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Locations {
    pub(crate) locations: Vec<Location>,
}
