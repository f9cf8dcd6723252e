//! Typed views of the JSON columns of `connectors`.

use serde::{Deserialize, Serialize};

/// What the customer ordered for an `aws-hosted-vif` connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsHostedVifParams {
    pub aws_account_id: String,
    pub bandwidth: String,
    /// The customer's own ASN, when they brought one.
    pub customer_asn: Option<u32>,
    pub requested_vlan: Option<u16>,
}

/// Where the customer's ASN came from: theirs, or allocated from our pool
/// (and so released on deprovision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsnSource {
    Customer,
    Allocated,
}

/// Everything allocated for a connector in the order transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub pe_id: uuid::Uuid,
    pub pe_name: String,
    pub port_id: uuid::Uuid,
    pub port_name: String,
    pub vlan: u16,
    /// The peering subnet, e.g. `169.254.0.0/31`.
    pub subnet: String,
    /// Our PE's address in the subnet, CIDR form.
    pub pe_address: String,
    /// The CSP's address in the subnet, CIDR form.
    pub csp_address: String,
    pub asn: u32,
    pub asn_source: AsnSource,
    /// The CSP side's ASN (Amazon's side for AWS).
    pub csp_asn: u32,
    /// BGP MD5 key shared with the CSP, sealed with `secrets::SecretBox`.
    /// Never returned by the API.
    pub auth_key_sealed: String,
    /// The name we give the CSP object, so we can find it again after a crash.
    pub csp_object_name: String,
}

impl Resources {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector resources"))
    }
}

impl AwsHostedVifParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}

/// What the customer ordered for an `azure-expressroute` connector, plus the
/// circuit facts Microsoft reported when the order was checked. The facts are
/// kept because the router config and the ARM calls are derived from them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureExpressRouteParams {
    /// The circuit's service key (lower-case GUID), also the name of the
    /// cross-connection in the partner subscription.
    pub service_key: String,
    /// The ASN the customer asked onramp to peer with Microsoft as.
    pub peer_asn: Option<u32>,
    /// The private peering's vlanId (the C-tag), if the customer chose it.
    pub vlan_id: Option<u16>,
    /// Whether onramp PUTs the AzurePrivatePeering itself; otherwise the
    /// customer configures it with the values onramp allocated.
    pub configure_peering: bool,
    pub circuit: AzureCircuit,
}

/// Read-only facts of the circuit, as Microsoft reported them at order time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureCircuit {
    pub resource_group: String,
    pub peering_location: String,
    pub bandwidth_mbps: u32,
    pub primary_azure_port: String,
    pub secondary_azure_port: String,
    /// Microsoft's outer VLAN (S-tag) for the circuit on both ports.
    pub s_tag: u16,
}

/// One of the two legs of an ExpressRoute circuit: a PE port, a /30 and a
/// BGP session to Microsoft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureLeg {
    pub pe_id: uuid::Uuid,
    pub pe_name: String,
    pub port_id: uuid::Uuid,
    pub port_name: String,
    /// The leg's /30, e.g. `169.254.0.0/30`.
    pub subnet: String,
    /// Our PE's address (first usable), CIDR form.
    pub pe_address: String,
    /// Microsoft's address (second usable), CIDR form.
    pub csp_address: String,
}

/// Everything allocated for an `azure-expressroute` connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureResources {
    pub primary: AzureLeg,
    pub secondary: AzureLeg,
    /// Outer tag, Microsoft's; held on both ports so nothing else takes it.
    pub s_tag: u16,
    /// Inner tag: the private peering's vlanId.
    pub c_tag: u16,
    pub asn: u32,
    pub asn_source: AsnSource,
    /// Microsoft's ASN (12076).
    pub csp_asn: u32,
    /// The peering's shared (MD5) key, sealed; never returned by the API.
    pub auth_key_sealed: String,
}

impl AzureExpressRouteParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}

impl AzureResources {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector resources"))
    }
}

/// What the customer ordered for a `gcp-partner-interconnect` connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpPartnerInterconnectParams {
    /// `<uuid>/<region>/<1|2>`, from the customer's PARTNER attachment.
    pub pairing_key: String,
    pub region: String,
    pub edge_availability_domain: u8,
    /// Google's bandwidth name, e.g. `BPS_1G`.
    pub bandwidth: String,
    /// The ASN onramp peers with Cloud Router as, when the customer chose it.
    pub peer_asn: Option<u32>,
    pub requested_vlan: Option<u16>,
}

/// The VIF the customer created on their hosted connection, as they
/// reported it to onramp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedVifDetails {
    /// The customer's VIF id, when they gave it.
    pub vif_id: Option<String>,
    /// Our PE's side (AWS calls it the customer address), CIDR form.
    pub customer_address: String,
    /// Amazon's side, CIDR form.
    pub amazon_address: String,
}

/// What the customer ordered for an `aws-hosted-connection` connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsHostedConnectionParams {
    pub aws_account_id: String,
    pub bandwidth: String,
    pub requested_vlan: Option<u16>,
    /// Filled in when the customer reports their VIF.
    #[serde(default)]
    pub vif: Option<HostedVifDetails>,
}

impl GcpPartnerInterconnectParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}

impl AwsHostedConnectionParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}

impl Resources {
    /// A single-session connector's resources before its peering is known:
    /// Google picks the addresses, a hosted connection's customer reports
    /// them; both are filled in later.
    pub fn awaiting_peering(
        pe: &crate::entity::pe_router::Model,
        port: &crate::entity::pe_port::Model,
        vlan: u16,
        (asn, asn_source): (u32, AsnSource),
        csp_asn: u32,
        connector_id: uuid::Uuid,
    ) -> Self {
        Resources {
            pe_id: pe.id,
            pe_name: pe.name.clone(),
            port_id: port.id,
            port_name: port.name.clone(),
            vlan,
            subnet: String::new(),
            pe_address: String::new(),
            csp_address: String::new(),
            asn,
            asn_source,
            csp_asn,
            auth_key_sealed: String::new(),
            csp_object_name: format!("onramp-{connector_id}"),
        }
    }

    /// Whether the peering addresses are known yet: for Google they come
    /// with the attachment, for a hosted connection from the customer.
    pub fn has_peering(&self) -> bool {
        !self.pe_address.is_empty() && !self.csp_address.is_empty()
    }
}

/// What the customer ordered for a `ticket-csp` connector, the provider's
/// runbook as it was at order time (editing the provider's runbook never
/// changes a connector in flight), and what ops entered in its tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCspParams {
    /// The provider's key, also the `csp` of its NNIs (e.g. `oracle-fastconnect`).
    pub provider: String,
    pub provider_name: String,
    pub bandwidth: String,
    /// The ASN onramp's PE speaks for the customer, when they chose it.
    pub customer_asn: Option<u32>,
    pub runbook: onramp_state_machines::ticket_runbook::Runbook,
    /// Every value completed tasks recorded, normalised, by field name.
    /// The well-known names [`TICKET_PROVIDER_VLAN`], [`TICKET_PROVIDER_PEER_IP`]
    /// and [`TICKET_PROVIDER_ASN`] also reshape the connector's resources.
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, String>,
}

/// The VLAN the provider assigned on the NNI (field kind `vlan`).
pub const TICKET_PROVIDER_VLAN: &str = "provider_vlan";
/// The provider's side of the peering, with its prefix (kind `ip_interface`).
pub const TICKET_PROVIDER_PEER_IP: &str = "provider_peer_ip";
/// The provider's BGP ASN (kind `asn`).
pub const TICKET_PROVIDER_ASN: &str = "provider_asn";

impl TicketCspParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}

/// The settings every kind shares, changeable on a live connector. Stored
/// as JSON with defaults, so a row ordered before they existed reads as
/// what it always rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorOptions {
    /// Maximum prefixes accepted from the BGP neighbor; None: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_limit: Option<u32>,
    /// Bidirectional Forwarding Detection on the BGP session.
    #[serde(default)]
    pub bfd: bool,
    /// The customer's own label, also written on the PE next to onramp's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ConnectorOptions {
    /// BGP prefix limit on the session to the CSP when the customer set
    /// none: generous for a private VIF (AWS allows 100 prefixes towards
    /// it), yet a bound on a leak.
    pub const DEFAULT_PREFIX_LIMIT: u32 = 1000;

    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector options"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("options serialize")
    }

    pub fn prefix_limit(&self) -> u32 {
        self.prefix_limit.unwrap_or(Self::DEFAULT_PREFIX_LIMIT)
    }
}

/// A settings change on its way to the PEs: what to put back if a router
/// refuses it, and who asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    /// The connector's params and options before the change, as stored.
    pub previous_params: String,
    pub previous_options: String,
    /// The resources before a change that replaces some (a new BGP key),
    /// as stored; None when the change keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_resources: Option<String>,
    /// The fields the change sets, for the timeline and the API.
    pub fields: Vec<String>,
    pub requested_by: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

impl PendingChange {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector pending change"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("pending change serializes")
    }
}
