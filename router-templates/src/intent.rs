use serde::{Deserialize, Serialize};

/// One connector's attachment on a PE: a VLAN unit on a port, its membership
/// of the customer's VRF, and the BGP session to the cloud or customer.
///
/// Values are assumed checked by the caller (ranges, overlaps with what the PE
/// carries: DESIGN.md rule 5a); the router's YANG checks them again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentIntent {
    /// Written into descriptions, so config on the box traces back to onramp.
    pub connector_id: String,
    /// PE port, e.g. `ge-0/0/1`.
    pub interface: String,
    /// Outer VLAN (S-tag); also the unit id.
    pub vlan: u16,
    /// Inner VLAN (C-tag) of a QinQ attachment.
    pub inner_vlan: Option<u16>,
    /// PE side address with prefix length, e.g. `169.254.10.1/31`.
    pub local_address: String,
    pub vrf: VrfIntent,
    pub neighbor: NeighborIntent,
    /// The rate sold with the connector, enforced on the unit. None only in
    /// changes queued before the PE enforced it (they render without one).
    #[serde(default)]
    pub policer: Option<Policer>,
}

/// The connector's bandwidth as the PE enforces it: traffic above the rate
/// is dropped in both directions, so one customer cannot take another's
/// share of the NNI and the rate sold is the rate guaranteed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policer {
    pub bandwidth_limit_bps: u64,
    /// The burst the policer lets through at line rate: 5 ms of the rate
    /// (the usual sizing: enough for TCP to reach the rate, too little to
    /// starve the other units of the port), never under one full frame.
    pub burst_size_limit_bytes: u64,
}

impl Policer {
    /// Burst time the policer allows, in microseconds.
    const BURST_US: u64 = 5_000;
    /// One 1500-byte IP packet in its Ethernet frame.
    const MIN_BURST: u64 = 1_518;

    pub fn for_mbps(mbps: u32) -> Policer {
        let bps = u64::from(mbps) * 1_000_000;
        Policer {
            bandwidth_limit_bps: bps,
            burst_size_limit_bytes: (bps / 8 * Self::BURST_US / 1_000_000).max(Self::MIN_BURST),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrfIntent {
    pub name: String,
    /// e.g. `65000:1001`.
    pub route_distinguisher: String,
    /// Imported and exported, e.g. `target:65000:1001`.
    pub route_target: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborIntent {
    /// Plain IP, no prefix length.
    pub address: String,
    pub peer_as: u32,
    pub local_as: u32,
    /// TCP MD5 key; empty for a session without one (Google Partner
    /// Interconnect). Never printed by `Debug` (DESIGN.md rule 8).
    pub auth_key: String,
    pub prefix_limit: u32,
    /// Bidirectional Forwarding Detection on the session, so a dead link
    /// is noticed in about a second rather than at the hold timer's expiry.
    /// Absent in changes queued before it existed: off.
    #[serde(default)]
    pub bfd: bool,
    pub description: String,
}

impl std::fmt::Debug for NeighborIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeighborIntent")
            .field("address", &self.address)
            .field("peer_as", &self.peer_as)
            .field("local_as", &self.local_as)
            .field("auth_key", &"<redacted>")
            .field("prefix_limit", &self.prefix_limit)
            .field("bfd", &self.bfd)
            .field("description", &self.description)
            .finish()
    }
}

/// What to do with an attachment. Each platform has one template per
/// operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Delete,
    /// Takes an attachment out of its VRF (the VRF's membership of the
    /// unit and the BGP neighbor) and leaves the unit itself: the first half
    /// of a link move, whose second half is a `Create` in the other VRF.
    /// Removing the unit instead would fail on a re-run, where the other
    /// VRF already references it.
    Detach,
    /// Removes a whole VRF (a link's, once no unit on the PE uses it). The
    /// template renders from a [`VrfIntent`], not an attachment.
    VrfDelete,
}

impl Operation {
    /// The operations every platform must have a template for.
    pub const ALL: [Operation; 2] = [Operation::Create, Operation::Delete];
    /// Operations a platform may add; using one it lacks is an error at
    /// render time, not at load time, so a platform without links loads.
    pub const OPTIONAL: [Operation; 2] = [Operation::Detach, Operation::VrfDelete];

    /// The key of this operation in `platform.json` (`create`, `delete`,
    /// `detach`, `vrf-delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Delete => "delete",
            Operation::Detach => "detach",
            Operation::VrfDelete => "vrf-delete",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Policer;

    #[test]
    fn the_policer_allows_five_milliseconds_of_burst_and_at_least_a_frame() {
        let p = Policer::for_mbps(50);
        assert_eq!(p.bandwidth_limit_bps, 50_000_000);
        assert_eq!(p.burst_size_limit_bytes, 31_250);
        assert_eq!(Policer::for_mbps(10_000).burst_size_limit_bytes, 6_250_000);
        assert_eq!(Policer::for_mbps(1).burst_size_limit_bytes, 1_518);
    }
}
