//! Layer (a) of DESIGN.md rule 5: one attachment change checked against
//! itself and against what the PE carries now.
//!
//! The database allocates VLANs, subnets and RDs without clashes (rule 4),
//! but it only knows what onramp allocated: a PE also carries hand-made
//! config, leftovers of failed changes and other systems' units. These checks
//! catch those before a merge silently overwrites someone else's unit or a
//! remove cuts someone else's session.
//!
//! "This attachment" on the PE is recognised by its connector id in the
//! description: every template writes `onramp <connector id>` into the
//! descriptions of the unit and the BGP neighbor. An object carrying the
//! same connector id is the same attachment, so re-applying a create (a
//! redelivered job, rule 2) passes.

use std::net::IpAddr;

use onramp_router_templates::{AttachmentIntent, Operation, Platform, VrfIntent};
use roxmltree::Node;

use crate::Error;

/// What the PE carries now, as far as attachments are concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeFacts {
    pub units: Vec<Unit>,
    pub vrfs: Vec<Vrf>,
    pub neighbors: Vec<Neighbor>,
}

/// A logical unit (sub-interface) on a port.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unit {
    pub interface: String,
    pub unit: u32,
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
    /// Address with prefix length, as configured, e.g. `169.254.10.1/31`.
    pub address: Option<String>,
    pub description: Option<String>,
}

/// A VRF (routing instance).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Vrf {
    pub name: String,
    pub route_distinguisher: Option<String>,
    /// Imported and exported route targets, each once, e.g.
    /// `target:65000:1001`.
    pub route_targets: Vec<String>,
    /// Member units: (interface, unit).
    pub members: Vec<(String, u32)>,
}

/// A BGP neighbor inside a VRF.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Neighbor {
    pub vrf: String,
    pub address: String,
    pub peer_as: Option<u32>,
    pub local_as: Option<u32>,
    pub description: Option<String>,
}

/// One reason a change is refused. `field` names the intent field at fault
/// (dotted like the intent: `neighbor.peer_as`), `code` is stable for
/// programs, `message` is for people and names the PE object that clashes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} [{}]", self.field, self.message, self.code)
    }
}

// ===== what a change leaves on the PE =====

impl PeFacts {
    /// The facts as they will be once `op` on `intent` is committed, as the
    /// reference templates write it (a merge for create, removes for delete
    /// and detach). The PE writer checks each change of a batch against
    /// running folded with the changes before it, so two changes that each
    /// pass alone but clash together never go in one commit.
    pub fn apply(&mut self, op: Operation, intent: &AttachmentIntent) {
        let unit = u32::from(intent.vlan);
        let iface = intent.interface.as_str();
        let vrf = intent.vrf.name.as_str();
        let neighbor: Option<IpAddr> = intent.neighbor.address.trim().parse().ok();
        let is_neighbor =
            |n: &Neighbor| n.vrf == vrf && neighbor.is_some_and(|a| same_ip(&n.address, a));
        let is_unit = |u: &Unit| u.interface == iface && u.unit == unit;
        let is_member = |m: &(String, u32)| m.0 == iface && m.1 == unit;
        match op {
            Operation::Create => {
                let description = Some(format!("onramp {}", intent.connector_id));
                let neighbor_description = Some(format!(
                    "onramp {}: {}",
                    intent.connector_id, intent.neighbor.description
                ));
                self.units.retain(|u| !is_unit(u));
                self.units.push(Unit {
                    interface: iface.to_string(),
                    unit,
                    vlan: Some(intent.vlan),
                    inner_vlan: intent.inner_vlan,
                    address: Some(intent.local_address.clone()),
                    description: description.clone(),
                });
                let rt = intent.vrf.route_target.trim().to_string();
                match self.vrfs.iter_mut().find(|v| v.name == vrf) {
                    Some(v) => {
                        if !v.route_targets.contains(&rt) {
                            v.route_targets.push(rt);
                        }
                        if !v.members.iter().any(is_member) {
                            v.members.push((iface.to_string(), unit));
                        }
                    }
                    None => self.vrfs.push(Vrf {
                        name: vrf.to_string(),
                        route_distinguisher: Some(intent.vrf.route_distinguisher.clone()),
                        route_targets: vec![rt],
                        members: vec![(iface.to_string(), unit)],
                    }),
                }
                self.neighbors.retain(|n| !is_neighbor(n));
                self.neighbors.push(Neighbor {
                    vrf: vrf.to_string(),
                    address: intent.neighbor.address.trim().to_string(),
                    peer_as: Some(intent.neighbor.peer_as),
                    local_as: Some(intent.neighbor.local_as),
                    description: neighbor_description,
                });
            }
            Operation::Delete | Operation::Detach => {
                if op == Operation::Delete {
                    self.units.retain(|u| !is_unit(u));
                }
                for v in self.vrfs.iter_mut().filter(|v| v.name == vrf) {
                    v.members.retain(|m| !is_member(m));
                }
                self.neighbors.retain(|n| !is_neighbor(n));
            }
            Operation::VrfDelete => self.apply_vrf_delete(&intent.vrf),
        }
    }

    /// The facts once the VRF `vrf` is removed.
    pub fn apply_vrf_delete(&mut self, vrf: &VrfIntent) {
        self.vrfs.retain(|v| v.name != vrf.name);
        self.neighbors.retain(|n| n.vrf != vrf.name);
    }
}

// ===== reading facts from running =====

/// A reader of one platform's running configuration.
type FactReader = fn(Node<'_, '_>) -> Result<PeFacts, Error>;

/// Platforms whose running configuration can be read into facts. The
/// templates of a platform are data, but reading a device's tree back is
/// code: one function per device model.
const FACT_READERS: &[(&str, FactReader)] = &[("reference-pe", reference_pe::read)];

impl PeFacts {
    /// Reads the facts from the PE's running configuration: the content of
    /// a `<get-config>` reply's `<data>` (what `onramp_pe_netconf::get_running`
    /// returns), or the same wrapped in `<data>` / `<rpc-reply>`.
    pub fn from_running(platform: &Platform, running_xml: &str) -> Result<PeFacts, Error> {
        let reader = FACT_READERS
            .iter()
            .find(|(name, _)| *name == platform.name())
            .map(|(_, r)| *r)
            .ok_or_else(|| Error::Unsupported {
                platform: platform.name().to_string(),
                supported: FACT_READERS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let wrapped = format!("<data>{}</data>", strip_xml_decl(running_xml));
        let doc = roxmltree::Document::parse(&wrapped).map_err(|e| Error::RunningXml {
            detail: e.to_string(),
        })?;
        reader(data_root(doc.root_element()))
    }
}

const NETCONF_BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

fn strip_xml_decl(xml: &str) -> &str {
    let t = xml.trim_start();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return &t[end + 2..];
    }
    xml
}

/// Descends through a lone `<rpc-reply>` / `<data>` envelope, so a whole
/// reply and its `<data>` content read the same.
fn data_root<'a, 'i>(mut root: Node<'a, 'i>) -> Node<'a, 'i> {
    loop {
        let mut kids = root.children().filter(Node::is_element);
        let (Some(only), None) = (kids.next(), kids.next()) else {
            return root;
        };
        let envelope = matches!(only.tag_name().name(), "data" | "rpc-reply")
            && matches!(only.tag_name().namespace(), None | Some(NETCONF_BASE_NS));
        if !envelope {
            return root;
        }
        root = only;
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
}

fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    let ns = ns.to_string();
    let name = name.to_string();
    node.children().filter(move |c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(&ns)
    })
}

fn text_of(node: Node<'_, '_>) -> String {
    node.text().unwrap_or("").trim().to_string()
}

fn leaf(node: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    child(node, ns, name).map(text_of)
}

fn number<T: std::str::FromStr>(
    node: Node<'_, '_>,
    ns: &str,
    name: &str,
    where_: &dyn Fn() -> String,
) -> Result<Option<T>, Error>
where
    T::Err: std::fmt::Display,
{
    match leaf(node, ns, name) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|e| Error::RunningValue {
            path: format!("{}/{name}", where_()),
            value: v.clone(),
            detail: e.to_string(),
        }),
    }
}

/// onramp's reference PE: `router-templates/reference-pe/yang/onramp-pe*.yang`.
mod reference_pe {
    use super::*;

    const NS: &str = "urn:onramp:yang:onramp-pe";

    pub(super) fn read(data: Node<'_, '_>) -> Result<PeFacts, Error> {
        let mut facts = PeFacts::default();
        // Other top-level elements (NACM, the server's own modules) are not
        // attachments' business.
        for ifs in children(data, NS, "interfaces") {
            for iface in children(ifs, NS, "interface") {
                let name = leaf(iface, NS, "name").unwrap_or_default();
                for unit in children(iface, NS, "unit") {
                    let at = || format!("/interfaces/interface[name={name:?}]/unit");
                    let Some(id) = number::<u32>(unit, NS, "id", &at)? else {
                        continue;
                    };
                    let at = || format!("/interfaces/interface[name={name:?}]/unit[id=\"{id}\"]");
                    facts.units.push(Unit {
                        interface: name.clone(),
                        unit: id,
                        vlan: number(unit, NS, "vlan-id", &at)?,
                        inner_vlan: number(unit, NS, "inner-vlan-id", &at)?,
                        address: child(unit, NS, "family")
                            .and_then(|f| child(f, NS, "inet"))
                            .and_then(|i| leaf(i, NS, "address")),
                        description: leaf(unit, NS, "description"),
                    });
                }
            }
        }
        for ris in children(data, NS, "routing-instances") {
            for inst in children(ris, NS, "instance") {
                let name = leaf(inst, NS, "name").unwrap_or_default();
                let at = || format!("/routing-instances/instance[name={name:?}]");
                let mut route_targets: Vec<String> = Vec::new();
                if let Some(t) = child(inst, NS, "vrf-target") {
                    for rt in children(t, NS, "import").chain(children(t, NS, "export")) {
                        let rt = text_of(rt);
                        if !route_targets.contains(&rt) {
                            route_targets.push(rt);
                        }
                    }
                }
                let mut members = Vec::new();
                for m in children(inst, NS, "interface") {
                    let at = || format!("{}/interface", at());
                    if let (Some(ifname), Some(unit)) =
                        (leaf(m, NS, "name"), number::<u32>(m, NS, "unit", &at)?)
                    {
                        members.push((ifname, unit));
                    }
                }
                let neighbors = child(inst, NS, "protocols")
                    .and_then(|p| child(p, NS, "bgp"))
                    .into_iter()
                    .flat_map(|bgp| children(bgp, NS, "neighbor"));
                for n in neighbors {
                    let address = leaf(n, NS, "address").unwrap_or_default();
                    let at = || format!("{}/protocols/bgp/neighbor[address={address:?}]", at());
                    facts.neighbors.push(Neighbor {
                        vrf: name.clone(),
                        address: address.clone(),
                        peer_as: number(n, NS, "peer-as", &at)?,
                        local_as: number(n, NS, "local-as", &at)?,
                        description: leaf(n, NS, "description"),
                    });
                }
                facts.vrfs.push(Vrf {
                    name,
                    route_distinguisher: leaf(inst, NS, "route-distinguisher"),
                    route_targets,
                    members,
                });
            }
        }
        Ok(facts)
    }
}

// ===== addresses =====

/// An address with its prefix length, both families as 128-bit numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (ip, len) = s.trim().split_once('/')?;
        let addr: IpAddr = ip.parse().ok()?;
        // Digits only: `u8::from_str` would also take "+31".
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let len: u8 = len.parse().ok()?;
        (len <= width(addr)).then_some(Cidr { addr, len })
    }

    fn mask(&self) -> u128 {
        prefix_mask(width(self.addr), self.len)
    }

    fn network(&self) -> u128 {
        bits(self.addr) & self.mask()
    }

    fn broadcast(&self) -> u128 {
        self.network() | (!self.mask() & host_mask(width(self.addr)))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && bits(ip) & self.mask() == self.network()
    }

    fn overlaps(&self, other: &Cidr) -> bool {
        if self.addr.is_ipv4() != other.addr.is_ipv4() {
            return false;
        }
        // Two prefixes overlap when the shorter one contains the longer one.
        let mask = prefix_mask(width(self.addr), self.len.min(other.len));
        bits(self.addr) & mask == bits(other.addr) & mask
    }

    /// The subnet, e.g. `169.254.10.0/31`.
    fn subnet(&self) -> String {
        let net = self.network();
        let ip = match self.addr {
            IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(net as u32)),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(net)),
        };
        format!("{ip}/{}", self.len)
    }

    /// In IPv4 subnets larger than a /31, the first and last addresses are
    /// the network and broadcast addresses, not usable by a host. (A /31
    /// has neither, RFC 3021; IPv6 has no broadcast.)
    fn is_reserved(&self, ip: IpAddr) -> bool {
        ip.is_ipv4()
            && self.len < 31
            && (bits(ip) == self.network() || bits(ip) == self.broadcast())
    }
}

fn width(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn host_mask(width: u8) -> u128 {
    if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

fn prefix_mask(width: u8, len: u8) -> u128 {
    let hosts = width - len;
    let low = if hosts == 128 {
        u128::MAX
    } else {
        (1u128 << hosts) - 1
    };
    host_mask(width) & !low
}

/// Point-to-point peering subnets: AWS uses /31 (or /30), Azure /30,
/// Google /29 (DESIGN.md rule 4). Wider would waste the 169.254/16 pools and
/// suggests a unit mistaken for a LAN; IPv6 peerings use /64 to /127.
fn allowed_prefix(cidr: &Cidr) -> std::ops::RangeInclusive<u8> {
    if cidr.addr.is_ipv4() {
        29..=31
    } else {
        64..=127
    }
}

// ===== the checks =====

const ASN_MAX: u32 = 4_294_967_294;

/// Checks one attachment change against what the PE carries and against
/// itself. Every violation is reported, not only the first.
///
/// Create: ranges, prefix and address sanity, ASNs, and no clash with a
/// unit, subnet, BGP neighbor or VRF of another attachment; re-applying the
/// same attachment passes.
/// Delete: the intent must be well-formed; what is absent is fine to delete,
/// but a unit or neighbor that is present and belongs to another attachment
/// is refused (a `remove` would cut someone else's service).
pub fn check(
    op: Operation,
    intent: &AttachmentIntent,
    facts: &PeFacts,
) -> Result<(), Vec<Violation>> {
    let mut v = Checks::default();
    let ours = |desc: &Option<String>| carries_connector(desc.as_deref(), &intent.connector_id);

    if intent.connector_id.trim().is_empty() {
        v.add(
            "connector_id",
            "required",
            "the connector id is empty: nothing on the PE could be traced back to it",
        );
    }
    if intent.interface.trim().is_empty() {
        v.add("interface", "required", "the PE interface is empty");
    }
    if intent.vrf.name.trim().is_empty() {
        v.add("vrf.name", "required", "the VRF name is empty");
    }
    check_vlan(&mut v, "vlan", intent.vlan);
    if let Some(inner) = intent.inner_vlan {
        check_vlan(&mut v, "inner_vlan", inner);
    }
    let local = Cidr::parse(&intent.local_address);
    if local.is_none() {
        v.add(
            "local_address",
            "invalid_cidr",
            format!(
                "{:?} is not an address with a prefix length (e.g. 169.254.10.1/31)",
                intent.local_address
            ),
        );
    }
    let neighbor: Option<IpAddr> = intent.neighbor.address.trim().parse().ok();
    if neighbor.is_none() {
        v.add(
            "neighbor.address",
            "invalid_address",
            format!(
                "{:?} is not an IP address (the neighbor address has no prefix length)",
                intent.neighbor.address
            ),
        );
    }

    let this_unit = |u: &Unit| u.interface == intent.interface && u.unit == u32::from(intent.vlan);

    // A detach removes a subset of what a delete removes (not the unit),
    // so the same ownership rules apply.
    if matches!(op, Operation::Delete | Operation::Detach) {
        for u in facts
            .units
            .iter()
            .filter(|u| this_unit(u) && !ours(&u.description))
        {
            v.add(
                "vlan",
                "not_owned",
                format!(
                    "unit {} on {} belongs to another attachment ({}): deleting it would cut that service",
                    u.unit,
                    u.interface,
                    owner(&u.description)
                ),
            );
        }
        if let Some(addr) = neighbor {
            for n in facts.neighbors.iter().filter(|n| {
                n.vrf == intent.vrf.name && same_ip(&n.address, addr) && !ours(&n.description)
            }) {
                v.add(
                    "neighbor.address",
                    "not_owned",
                    format!(
                        "BGP neighbor {} in VRF {} belongs to another attachment ({}): deleting it would cut that session",
                        n.address,
                        n.vrf,
                        owner(&n.description)
                    ),
                );
            }
        }
        return v.finish();
    }

    // ----- Create -----

    // The unit and its VLAN tags on the port. The templates use the outer
    // VLAN as the unit number, so another attachment holding that unit is a
    // clash even with other tags: the merge would rewrite its unit.
    for u in facts
        .units
        .iter()
        .filter(|u| u.interface == intent.interface && !(this_unit(u) && ours(&u.description)))
    {
        let same_tags = u.vlan == Some(intent.vlan) && u.inner_vlan == intent.inner_vlan;
        if same_tags {
            v.add(
                "vlan",
                "vlan_in_use",
                format!(
                    "{} on {} is already carried by unit {} ({})",
                    tags(intent.vlan, intent.inner_vlan),
                    u.interface,
                    u.unit,
                    owner(&u.description)
                ),
            );
        } else if this_unit(u) {
            v.add(
                "vlan",
                "unit_in_use",
                format!(
                    "unit {} on {} already exists for another attachment ({}, {}): \
                     this attachment would rewrite it",
                    u.unit,
                    u.interface,
                    owner(&u.description),
                    match u.vlan {
                        Some(outer) => tags(outer, u.inner_vlan),
                        None => "no VLAN".to_string(),
                    }
                ),
            );
        }
    }

    if let Some(local) = local {
        let prefixes = allowed_prefix(&local);
        if !prefixes.contains(&local.len) {
            v.add(
                "local_address",
                "prefix_length",
                format!(
                    "{} has a /{} prefix; a peering subnet is /{} to /{}",
                    intent.local_address,
                    local.len,
                    prefixes.start(),
                    prefixes.end()
                ),
            );
        }
        if local.is_reserved(local.addr) {
            v.add(
                "local_address",
                "network_or_broadcast",
                format!(
                    "{} is the network or broadcast address of {}",
                    local.addr,
                    local.subnet()
                ),
            );
        }
        for u in facts
            .units
            .iter()
            .filter(|u| !(this_unit(u) && ours(&u.description)))
        {
            let Some(theirs) = u.address.as_deref().and_then(Cidr::parse) else {
                continue;
            };
            if local.overlaps(&theirs) {
                v.add(
                    "local_address",
                    "subnet_overlap",
                    format!(
                        "{} overlaps {} on {} unit {} ({})",
                        local.subnet(),
                        u.address.as_deref().unwrap_or_default(),
                        u.interface,
                        u.unit,
                        owner(&u.description)
                    ),
                );
            }
        }
        if let Some(addr) = neighbor {
            if addr.is_ipv4() != local.addr.is_ipv4() {
                v.add(
                    "neighbor.address",
                    "address_family",
                    format!(
                        "neighbor {addr} and local address {} are of different IP families",
                        intent.local_address
                    ),
                );
            } else if !local.contains(addr) {
                v.add(
                    "neighbor.address",
                    "outside_subnet",
                    format!(
                        "neighbor {addr} is outside the local subnet {}",
                        local.subnet()
                    ),
                );
            } else if addr == local.addr {
                v.add(
                    "neighbor.address",
                    "same_as_local",
                    format!("neighbor {addr} is the PE's own address"),
                );
            } else if local.is_reserved(addr) {
                v.add(
                    "neighbor.address",
                    "network_or_broadcast",
                    format!(
                        "neighbor {addr} is the network or broadcast address of {}",
                        local.subnet()
                    ),
                );
            }
        }
    }

    if let Some(addr) = neighbor {
        for n in facts.neighbors.iter().filter(|n| {
            n.vrf == intent.vrf.name && same_ip(&n.address, addr) && !ours(&n.description)
        }) {
            v.add(
                "neighbor.address",
                "neighbor_in_use",
                format!(
                    "{} is already a BGP neighbor in VRF {} ({})",
                    n.address,
                    n.vrf,
                    owner(&n.description)
                ),
            );
        }
    }

    let (peer, local_as) = (intent.neighbor.peer_as, intent.neighbor.local_as);
    for (field, asn) in [("neighbor.peer_as", peer), ("neighbor.local_as", local_as)] {
        if !(1..=ASN_MAX).contains(&asn) {
            v.add(
                field,
                "asn_out_of_range",
                format!("AS {asn} is reserved; an AS number is 1..{ASN_MAX}"),
            );
        }
    }
    if peer == local_as {
        v.add(
            "neighbor.peer_as",
            "same_as_local_as",
            format!("peer AS {peer} equals the local AS: the session would be iBGP, an attachment is eBGP"),
        );
    }

    // The VRF may be shared with other attachments of the customer: the
    // merge must not change its identity.
    let rd = intent.vrf.route_distinguisher.trim();
    if let Some(vrf) = facts.vrfs.iter().find(|f| f.name == intent.vrf.name) {
        if let Some(theirs) = vrf.route_distinguisher.as_deref().map(str::trim)
            && theirs != rd
        {
            v.add(
                "vrf.route_distinguisher",
                "rd_mismatch",
                format!(
                    "VRF {} on the PE has route distinguisher {theirs}, the attachment says {rd}: \
                     a shared VRF must agree",
                    vrf.name
                ),
            );
        }
        // Merging another route target into a shared VRF would import that
        // target's routes for every attachment already in it.
        let rt = intent.vrf.route_target.trim();
        if !vrf.route_targets.is_empty() && !vrf.route_targets.iter().any(|t| t.trim() == rt) {
            v.add(
                "vrf.route_target",
                "rt_mismatch",
                format!(
                    "VRF {} on the PE uses route target(s) {}, the attachment says {rt}: \
                     a shared VRF must agree",
                    vrf.name,
                    vrf.route_targets.join(", ")
                ),
            );
        }
    }
    if !rd.is_empty() {
        for other in facts.vrfs.iter().filter(|f| {
            f.name != intent.vrf.name && f.route_distinguisher.as_deref().map(str::trim) == Some(rd)
        }) {
            v.add(
                "vrf.route_distinguisher",
                "rd_in_use",
                format!(
                    "route distinguisher {rd} is already used by VRF {} on the PE",
                    other.name
                ),
            );
        }
    }

    v.finish()
}

#[derive(Default)]
struct Checks(Vec<Violation>);

impl Checks {
    fn add(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.0.push(Violation {
            field,
            code,
            message: message.into(),
        });
    }

    fn finish(self) -> Result<(), Vec<Violation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

fn check_vlan(v: &mut Checks, field: &'static str, vlan: u16) {
    if !(1..=4094).contains(&vlan) {
        v.add(
            field,
            "vlan_out_of_range",
            format!("VLAN {vlan} is outside 1..4094 (0 and 4095 are reserved)"),
        );
    }
}

fn tags(outer: u16, inner: Option<u16>) -> String {
    match inner {
        Some(inner) => format!("VLAN pair {outer}/{inner} (S-tag/C-tag)"),
        None => format!("VLAN {outer}"),
    }
}

/// Whether a description names the connector as a whole word, so that
/// `conn-1` is not mistaken for `conn-10`.
fn carries_connector(description: Option<&str>, connector_id: &str) -> bool {
    let id = connector_id.trim();
    !id.is_empty()
        && description.is_some_and(|d| {
            d.split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ';' | '(' | ')'))
                .any(|word| word == id)
        })
}

/// Who holds a PE object, for messages: its description says it.
fn owner(description: &Option<String>) -> String {
    match description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => "no description: not configured by onramp".to_string(),
    }
}

fn same_ip(configured: &str, addr: IpAddr) -> bool {
    configured.trim().parse::<IpAddr>() == Ok(addr)
}

/// Every unit a VRF lists in `change` (a rendered payload, read as facts)
/// exists: on the PE (`facts`, running folded with the changes before it in
/// the batch) or in `change` itself. The device model used to check this
/// with a leafref on every VRF member, at a cost that grew with the square
/// of the PE's size (docs/decisions/0012); here it is a lookup, and it
/// catches the same template bug before anything is sent.
pub fn check_references(change: &PeFacts, facts: &PeFacts) -> Result<(), Vec<Violation>> {
    let mut v = Checks::default();
    let has = |f: &PeFacts, iface: &str, unit: u32| {
        f.units
            .iter()
            .any(|u| u.interface == iface && u.unit == unit)
    };
    for vrf in &change.vrfs {
        for (iface, unit) in &vrf.members {
            if !has(change, iface, *unit) && !has(facts, iface, *unit) {
                v.add(
                    "vrf.interface",
                    "unit_missing",
                    format!(
                        "VRF {} would list unit {unit} on {iface}, which neither the PE nor this change has (the template references a unit it does not create)",
                        vrf.name
                    ),
                );
            }
        }
    }
    v.finish()
}

/// A VRF removal (a link's VRF leaving a PE): refused while the VRF still
/// holds a unit or a BGP neighbor, whoever configured them, since removing
/// the instance would cut them. An absent VRF is fine: the remove is a no-op.
pub fn check_vrf_delete(vrf: &VrfIntent, facts: &PeFacts) -> Result<(), Vec<Violation>> {
    let mut v = Checks::default();
    if vrf.name.trim().is_empty() {
        v.add("vrf.name", "required", "the VRF name is empty");
    }
    if let Some(found) = facts.vrfs.iter().find(|f| f.name == vrf.name) {
        for (iface, unit) in &found.members {
            v.add(
                "vrf.name",
                "vrf_in_use",
                format!(
                    "VRF {} still holds unit {unit} of {iface}: removing it would cut that unit",
                    vrf.name
                ),
            );
        }
    }
    for n in facts.neighbors.iter().filter(|n| n.vrf == vrf.name) {
        v.add(
            "vrf.name",
            "vrf_in_use",
            format!(
                "VRF {} still holds BGP neighbor {} ({}): removing it would cut that session",
                vrf.name,
                n.address,
                owner(&n.description)
            ),
        );
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn cidr_arithmetic() {
        assert_eq!(cidr("169.254.10.1/31").subnet(), "169.254.10.0/31");
        assert_eq!(cidr("169.254.10.6/29").subnet(), "169.254.10.0/29");
        assert!(cidr("169.254.10.1/30").overlaps(&cidr("169.254.10.2/31")));
        assert!(!cidr("169.254.10.1/31").overlaps(&cidr("169.254.10.2/31")));
        assert!(cidr("169.254.10.1/30").is_reserved("169.254.10.3".parse().unwrap()));
        assert!(cidr("169.254.10.1/30").is_reserved("169.254.10.0".parse().unwrap()));
        assert!(!cidr("169.254.10.1/31").is_reserved("169.254.10.0".parse().unwrap()));
        assert!(cidr("2001:db8::1/127").contains("2001:db8::".parse().unwrap()));
        assert!(!cidr("2001:db8::1/127").contains("169.254.0.1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("10.0.0.1".parse().unwrap()));
        assert!(cidr("::/0").overlaps(&cidr("2001:db8::1/128")));
        for bad in [
            "169.254.10.1",
            "169.254.10.1/33",
            "x/31",
            "169.254.10.1/+31",
            "169.254.10.1/",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn connector_ids_match_whole_words() {
        assert!(carries_connector(Some("onramp conn-1"), "conn-1"));
        assert!(carries_connector(
            Some("onramp conn-1: aws dxvif"),
            "conn-1"
        ));
        assert!(!carries_connector(Some("onramp conn-10"), "conn-1"));
        assert!(!carries_connector(None, "conn-1"));
        assert!(!carries_connector(Some("onramp "), ""));
    }
}
