//! What a lab PE carries, read from its running configuration (the
//! reference PE model): the units, the BGP neighbors and the VRFs that hold
//! them. The agent's counters, sessions and probes all follow this.

use std::net::Ipv4Addr;

use crate::Error;

/// One logical unit of a physical interface: a connector's attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    /// `ge-0/0/1.200`, as IF-MIB's `ifName` reads on real PEs.
    pub(crate) if_name: String,
    pub(crate) description: String,
    /// The PE's own address and prefix length on the unit.
    pub(crate) address: Option<(Ipv4Addr, u8)>,
    /// The policer's rate in bit/s, when the unit has one.
    pub(crate) bandwidth_bps: Option<u64>,
}

/// One BGP session configured in a VRF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Neighbor {
    pub(crate) vrf: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) peer_as: u32,
    pub(crate) prefix_limit: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeView {
    pub(crate) units: Vec<Unit>,
    pub(crate) neighbors: Vec<Neighbor>,
    /// Every routing instance's name.
    pub(crate) vrfs: Vec<String>,
}

impl PeView {
    /// Reads `running` (the content of `<data>` of a `get-config`).
    pub(crate) fn parse(running: &str) -> Result<PeView, Error> {
        let xml = format!("<root>{running}</root>");
        let doc = roxmltree::Document::parse(&xml)
            .map_err(|e| Error::RunningConfig(format!("not XML: {e}")))?;
        let child = |n: roxmltree::Node, name: &str| -> Option<String> {
            n.children()
                .find(|c| c.tag_name().name() == name)
                .and_then(|c| c.text())
                .map(|t| t.trim().to_string())
        };
        let mut view = PeView::default();
        for unit in doc.descendants().filter(|n| n.tag_name().name() == "unit") {
            let Some(interface) = unit
                .parent()
                .filter(|p| p.tag_name().name() == "interface")
                .and_then(|p| child(p, "name"))
            else {
                continue;
            };
            let Some(id) = child(unit, "id") else {
                continue;
            };
            let address = unit
                .descendants()
                .find(|n| n.tag_name().name() == "address")
                .and_then(|n| n.text())
                .and_then(parse_cidr);
            let bandwidth_bps = unit
                .children()
                .find(|n| n.tag_name().name() == "policer")
                .and_then(|p| child(p, "bandwidth-limit"))
                .and_then(|b| b.parse().ok());
            view.units.push(Unit {
                if_name: format!("{interface}.{id}"),
                description: child(unit, "description").unwrap_or_default(),
                address,
                bandwidth_bps,
            });
        }
        for instance in doc
            .descendants()
            .filter(|n| n.tag_name().name() == "instance")
        {
            let Some(vrf) = child(instance, "name") else {
                continue;
            };
            for nb in instance
                .descendants()
                .filter(|n| n.tag_name().name() == "neighbor")
            {
                let Some(address) = child(nb, "address").and_then(|a| a.parse().ok()) else {
                    continue;
                };
                view.neighbors.push(Neighbor {
                    vrf: vrf.clone(),
                    address,
                    peer_as: child(nb, "peer-as")
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(0),
                    prefix_limit: child(nb, "prefix-limit").and_then(|l| l.parse().ok()),
                });
            }
            view.vrfs.push(vrf);
        }
        Ok(view)
    }

    /// The unit whose subnet holds `neighbor`: the attachment the session
    /// runs over.
    pub(crate) fn unit_towards(&self, neighbor: Ipv4Addr) -> Option<&Unit> {
        self.units.iter().find(|u| {
            u.address
                .is_some_and(|(addr, len)| same_subnet(addr, neighbor, len))
        })
    }
}

/// `a.b.c.d/len`, or `a.b.c.d` as a /32.
pub(crate) fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let s = s.trim();
    match s.split_once('/') {
        Some((a, l)) => Some((a.parse().ok()?, l.parse().ok().filter(|l| *l <= 32)?)),
        None => Some((s.parse().ok()?, 32)),
    }
}

pub(crate) fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    u32::from(a) & mask == u32::from(b) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = r#"
<interfaces xmlns="urn:onramp:reference-pe">
  <interface><name>ge-0/0/1</name>
    <unit><id>200</id><description>onramp 7c1</description><vlan-id>200</vlan-id>
      <family><inet><address>169.254.20.1/30</address></inet></family>
      <policer><bandwidth-limit>50000000</bandwidth-limit><burst-size-limit>31250</burst-size-limit></policer>
    </unit>
  </interface>
</interfaces>
<routing-instances xmlns="urn:onramp:reference-pe">
  <instance><name>lnk-0001</name>
    <interface><name>ge-0/0/1</name><unit>200</unit></interface>
    <protocols><bgp><neighbor><address>169.254.20.2</address><peer-as>64512</peer-as>
      <prefix-limit>100</prefix-limit></neighbor></bgp></protocols>
  </instance>
  <instance><name>cust-acme</name></instance>
</routing-instances>"#;

    #[test]
    fn reads_units_neighbors_and_vrfs() {
        let v = PeView::parse(RUNNING).unwrap();
        assert_eq!(
            v.units,
            [Unit {
                if_name: "ge-0/0/1.200".into(),
                description: "onramp 7c1".into(),
                address: Some((Ipv4Addr::new(169, 254, 20, 1), 30)),
                bandwidth_bps: Some(50_000_000),
            }]
        );
        assert_eq!(
            v.neighbors,
            [Neighbor {
                vrf: "lnk-0001".into(),
                address: Ipv4Addr::new(169, 254, 20, 2),
                peer_as: 64512,
                prefix_limit: Some(100),
            }]
        );
        assert_eq!(v.vrfs, ["lnk-0001", "cust-acme"]);
        let u = v.unit_towards(Ipv4Addr::new(169, 254, 20, 2)).unwrap();
        assert_eq!(u.if_name, "ge-0/0/1.200");
        assert!(v.unit_towards(Ipv4Addr::new(169, 254, 20, 6)).is_none());
    }

    #[test]
    fn an_empty_pe_has_nothing_and_garbage_is_an_error() {
        assert_eq!(PeView::parse("").unwrap(), PeView::default());
        assert!(PeView::parse("<a>").is_err());
    }
}
