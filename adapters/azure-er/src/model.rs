//! The adapter's view of ARM resources, and their wire shapes.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;

pub(crate) const PRIVATE_PEERING: &str = "AzurePrivatePeering";

/// Names one cross-connection: resource group and service key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct XcRef {
    /// `CrossConnection-<PeeringLocation>`, as ARM lists it.
    pub resource_group: String,
    /// The customer circuit's service key, also the resource name.
    pub service_key: String,
}

/// A shadow cross-connection in the partner subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossConnection {
    pub service_key: String,
    pub resource_group: String,
    /// Azure region of the resource, e.g. `westus`.
    pub location: String,
    /// e.g. `Silicon Valley`.
    pub peering_location: String,
    pub bandwidth_in_mbps: u32,
    pub primary_azure_port: String,
    pub secondary_azure_port: String,
    /// QinQ outer tag Microsoft assigned.
    pub s_tag: u16,
    /// `NotProvisioned`, `Provisioning`, `Provisioned`, `Deprovisioning`.
    pub service_provider_provisioning_state: String,
    /// ARM's `provisioningState` of the resource: `Succeeded`, `Updating`,
    /// `Failed`, ...
    pub provisioning_state: String,
    /// ARM id of the customer's circuit.
    pub circuit_id: Option<String>,
    pub has_private_peering: bool,
}

impl CrossConnection {
    pub fn xc_ref(&self) -> XcRef {
        XcRef {
            resource_group: self.resource_group.clone(),
            service_key: self.service_key.clone(),
        }
    }

    /// From an ARM `expressRouteCrossConnections` resource.
    pub(crate) fn from_arm(v: &Value) -> Result<Self, Error> {
        let bad = |what: &str| Error::Protocol(format!("cross-connection without {what}: {v}"));
        let props = v.get("properties").ok_or_else(|| bad("properties"))?;
        let s = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = s(v, "id").ok_or_else(|| bad("id"))?;
        let s_tag = props
            .get("sTag")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("sTag"))?;
        Ok(Self {
            service_key: s(v, "name").ok_or_else(|| bad("name"))?,
            resource_group: resource_group_of(&id).ok_or_else(|| bad("a resource group in id"))?,
            location: s(v, "location").unwrap_or_default(),
            peering_location: s(props, "peeringLocation").unwrap_or_default(),
            bandwidth_in_mbps: props
                .get("bandwidthInMbps")
                .and_then(Value::as_u64)
                .and_then(|b| u32::try_from(b).ok())
                .ok_or_else(|| bad("bandwidthInMbps"))?,
            primary_azure_port: s(props, "primaryAzurePort").unwrap_or_default(),
            secondary_azure_port: s(props, "secondaryAzurePort").unwrap_or_default(),
            s_tag: u16::try_from(s_tag)
                .map_err(|_| Error::Protocol(format!("sTag {s_tag} is out of range")))?,
            service_provider_provisioning_state: s(props, "serviceProviderProvisioningState")
                .ok_or_else(|| bad("serviceProviderProvisioningState"))?,
            provisioning_state: s(props, "provisioningState").unwrap_or_default(),
            circuit_id: props.get("expressRouteCircuit").and_then(|c| s(c, "id")),
            has_private_peering: props.get("peerings").and_then(Value::as_array).is_some_and(
                |ps| {
                    ps.iter().any(|p| {
                        p.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.eq_ignore_ascii_case(PRIVATE_PEERING))
                    })
                },
            ),
        })
    }
}

/// `/subscriptions/x/resourceGroups/<rg>/providers/...` → `<rg>`.
fn resource_group_of(id: &str) -> Option<String> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next().filter(|rg| !rg.is_empty()).map(str::to_owned);
        }
    }
    None
}

/// What the partner sets in `serviceProviderProvisioningState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProvisioningState {
    NotProvisioned,
    Provisioned,
    Deprovisioning,
}

impl ProvisioningState {
    /// The ARM string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotProvisioned => "NotProvisioned",
            Self::Provisioned => "Provisioned",
            Self::Deprovisioning => "Deprovisioning",
        }
    }
}

impl std::fmt::Display for ProvisioningState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The AzurePrivatePeering the partner wants on a cross-connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringRequest {
    pub peer_asn: u32,
    /// The primary link's /30; the provider takes the first usable address,
    /// Microsoft the second.
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    /// The C-tag (inner VLAN) under Microsoft's S-tag.
    pub vlan_id: u16,
    /// BGP MD5 key; never logged.
    pub shared_key: Option<String>,
}

impl std::fmt::Debug for PeeringRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeeringRequest")
            .field("peer_asn", &self.peer_asn)
            .field(
                "primary_peer_address_prefix",
                &self.primary_peer_address_prefix,
            )
            .field(
                "secondary_peer_address_prefix",
                &self.secondary_peer_address_prefix,
            )
            .field("vlan_id", &self.vlan_id)
            .field(
                "shared_key",
                &self.shared_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl PeeringRequest {
    /// The ARM PUT body.
    pub(crate) fn to_arm(&self) -> Value {
        let mut props = json!({
            "peeringType": PRIVATE_PEERING,
            "state": "Enabled",
            "peerASN": self.peer_asn,
            "primaryPeerAddressPrefix": self.primary_peer_address_prefix,
            "secondaryPeerAddressPrefix": self.secondary_peer_address_prefix,
            "vlanId": self.vlan_id,
        });
        if let Some(k) = &self.shared_key {
            props["sharedKey"] = json!(k);
        }
        json!({ "properties": props })
    }

    /// Whether an existing peering (ARM `properties`) already has these
    /// settings and is enabled. A wanted key must be echoed back equal; a
    /// peering that has a key when none is wanted differs too.
    pub(crate) fn matches(&self, props: &Value) -> bool {
        let s = |k: &str| props.get(k).and_then(Value::as_str);
        let n = |k: &str| props.get(k).and_then(Value::as_u64);
        n("peerASN") == Some(u64::from(self.peer_asn))
            && s("primaryPeerAddressPrefix") == Some(self.primary_peer_address_prefix.as_str())
            && s("secondaryPeerAddressPrefix") == Some(self.secondary_peer_address_prefix.as_str())
            && n("vlanId") == Some(u64::from(self.vlan_id))
            && s("sharedKey").filter(|k| !k.is_empty()) == self.shared_key.as_deref()
            && s("state") == Some("Enabled")
    }
}

/// The AzurePrivatePeering as ARM reports it (without the shared key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivatePeering {
    pub peer_asn: u32,
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    pub vlan_id: u16,
    /// Microsoft's ASN, 12076.
    pub azure_asn: Option<u32>,
    /// `Enabled` or `Disabled`.
    pub state: String,
    /// `Succeeded`, `Updating`, `Deleting`, `Failed`.
    pub provisioning_state: String,
    /// `ServiceProvider` or `Customer` (configured from the circuit), when
    /// ARM says.
    pub last_modified_by: Option<String>,
}

impl PrivatePeering {
    pub(crate) fn from_arm(v: &Value) -> Result<Self, Error> {
        let bad = |what: &str| {
            Error::Protocol(format!(
                "{PRIVATE_PEERING} without a valid {what} in its properties"
            ))
        };
        let props = v
            .get("properties")
            .ok_or_else(|| bad("properties object"))?;
        let s = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_owned);
        let n = |k: &str| props.get(k).and_then(Value::as_u64);
        Ok(Self {
            peer_asn: n("peerASN")
                .and_then(|a| u32::try_from(a).ok())
                .ok_or_else(|| bad("peerASN"))?,
            primary_peer_address_prefix: s("primaryPeerAddressPrefix")
                .ok_or_else(|| bad("primaryPeerAddressPrefix"))?,
            secondary_peer_address_prefix: s("secondaryPeerAddressPrefix")
                .ok_or_else(|| bad("secondaryPeerAddressPrefix"))?,
            vlan_id: n("vlanId")
                .and_then(|a| u16::try_from(a).ok())
                .ok_or_else(|| bad("vlanId"))?,
            azure_asn: n("azureASN").and_then(|a| u32::try_from(a).ok()),
            state: s("state").unwrap_or_default(),
            provisioning_state: s("provisioningState").unwrap_or_default(),
            last_modified_by: s("lastModifiedBy"),
        })
    }
}

/// One of the two links of a cross-connection (an MSEE device path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DevicePath {
    Primary,
    Secondary,
}

impl DevicePath {
    /// `primary` / `secondary`, as in the ARM path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

/// The BGP session of the private peering on one link, as the MSEE sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegStatus {
    /// Established: `stateOrPrefixesReceived` is a prefix count.
    pub bgp_up: bool,
    /// The `neighbor` ARM reports; `None` when the table has no session.
    pub neighbor: Option<String>,
    /// `stateOrPrefixesReceived` as given (`3`, `Idle`, `Active`, ...), or
    /// `NoSession` when the table is empty.
    pub state: String,
    /// `upDown` as given: time in the current state, or `never`.
    pub up_down: Option<String>,
}

impl LegStatus {
    /// From a `routeTablesSummary` result (`{"value":[{...}]}`).
    pub(crate) fn from_summary(v: &Value) -> Result<Self, Error> {
        let rows = v
            .get("value")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Protocol(format!("routeTablesSummary without value: {v}")))?;
        let Some(row) = rows.first() else {
            return Ok(Self {
                bgp_up: false,
                neighbor: None,
                state: "NoSession".to_owned(),
                up_down: None,
            });
        };
        let s = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_owned);
        let state = s("stateOrPrefixesReceived").unwrap_or_default();
        Ok(Self {
            // IOS-style: a number means Established; anything else (Idle,
            // Active, Connect, OpenSent, ...) means not.
            bgp_up: state.trim().parse::<u64>().is_ok(),
            neighbor: s("neighbor"),
            state,
            up_down: s("upDown"),
        })
    }
}

/// Where an idempotent operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Azure is in the wanted state.
    Done,
    /// An operation is still running at Azure; call again after `retry_after`.
    InProgress { retry_after: Duration },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_the_shared_key() {
        let p = PeeringRequest {
            peer_asn: 65001,
            primary_peer_address_prefix: "10.0.0.0/30".into(),
            secondary_peer_address_prefix: "10.0.0.4/30".into(),
            vlan_id: 100,
            shared_key: Some("hunter2-md5".into()),
        };
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn leg_status_reads_ios_states() {
        let up = LegStatus::from_summary(&json!({"value":[{
            "neighbor":"10.0.0.2","asn":12076,"upDown":"00:01:02","stateOrPrefixesReceived":"4"}]}))
        .unwrap();
        assert!(up.bgp_up);
        assert_eq!(up.neighbor.as_deref(), Some("10.0.0.2"));
        for state in ["Idle", "Active", "Idle (Admin)", ""] {
            let down = LegStatus::from_summary(&json!({"value":[{
                "neighbor":"10.0.0.2","asn":12076,"upDown":"never","stateOrPrefixesReceived": state}]}))
            .unwrap();
            assert!(!down.bgp_up, "{state}");
        }
        let none = LegStatus::from_summary(&json!({"value":[]})).unwrap();
        assert!(!none.bgp_up && none.neighbor.is_none());
        assert!(LegStatus::from_summary(&json!({})).is_err());
    }

    #[test]
    fn resource_group_comes_from_the_id() {
        assert_eq!(
            resource_group_of(
                "/subscriptions/s/resourceGroups/CrossConnection-SiliconValley/providers/Microsoft.Network/expressRouteCrossConnections/k"
            )
            .as_deref(),
            Some("CrossConnection-SiliconValley")
        );
        assert_eq!(resource_group_of("/subscriptions/s"), None);
    }
}
