//! IPv4 peering addresses: the two ends of a BGP session's point-to-point
//! subnet, each given with its prefix length (`169.254.10.2/30`).
//!
//! Link-local 169.254.0.0/16 is allowed on purpose: AWS and Google assign
//! peering subnets from it. What is refused can never be a router's
//! interface address: "this network" 0.0.0.0/8, loopback 127.0.0.0/8,
//! multicast 224.0.0.0/4 and the reserved 240.0.0.0/4 (which holds the
//! limited broadcast 255.255.255.255), and the network and broadcast
//! addresses of a /30 or larger. A /31 has no such addresses (RFC 3021).

use std::net::Ipv4Addr;

use crate::Coded;

/// Blocks no interface may be numbered from, with what they are.
const RESERVED: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "0.0.0.0/8, \"this network\""),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback 127.0.0.0/8"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast 224.0.0.0/4"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved 240.0.0.0/4 (with broadcast 255.255.255.255)",
    ),
];

/// An address with its prefix length: one end of a peering subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interface {
    pub addr: Ipv4Addr,
    /// 1-32.
    pub len: u8,
}

/// Why an address or a pair of them was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeeringError {
    #[error("`{0}` is not an IPv4 address with its prefix length, e.g. 169.254.10.2/30")]
    InvalidFormat(String),
    #[error("{addr} is in {block}, which no interface may use")]
    Reserved { addr: Ipv4Addr, block: &'static str },
    #[error("{0} is the network address of its subnet; use an address inside it")]
    NetworkAddress(Interface),
    #[error("{0} is the broadcast address of its subnet; use an address inside it")]
    BroadcastAddress(Interface),
    #[error("{0} and {1} are not in the same subnet")]
    DifferentSubnet(Interface, Interface),
    #[error("both ends are {0}; the two peer addresses must differ")]
    SameAddress(Interface),
}

impl Coded for PeeringError {
    fn code(&self) -> &'static str {
        match self {
            PeeringError::InvalidFormat(_) => "invalid_format",
            PeeringError::Reserved { .. } => "reserved_address",
            PeeringError::NetworkAddress(_) => "network_address",
            PeeringError::BroadcastAddress(_) => "broadcast_address",
            PeeringError::DifferentSubnet(..) => "different_subnet",
            PeeringError::SameAddress(_) => "same_address",
        }
    }
}

impl std::fmt::Display for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

impl Interface {
    /// `a.b.c.d/len` with len 1-32; nothing else (no spaces, no leading
    /// zeros, which some parsers read as octal).
    pub fn parse(s: &str) -> Result<Self, PeeringError> {
        let bad = || PeeringError::InvalidFormat(s.to_string());
        let (addr, raw_len) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let len: u8 = raw_len.parse().map_err(|_| bad())?;
        // `+30` and `030` parse as 30; only the plain form is a prefix length.
        if !(1..=32).contains(&len) || len.to_string() != raw_len {
            return Err(bad());
        }
        Ok(Self { addr, len })
    }

    /// The subnet's network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & mask(self.len))
    }
}

/// `addr` if it may number an interface (see the module's list).
pub fn unicast(addr: Ipv4Addr) -> Result<Ipv4Addr, PeeringError> {
    match RESERVED
        .iter()
        .find(|(net, len, _)| u32::from(addr) & mask(*len) == u32::from(*net))
    {
        Some((_, _, block)) => Err(PeeringError::Reserved { addr, block }),
        None => Ok(addr),
    }
}

/// `addr` if a management connection (NETCONF) may be made to it: a
/// [`unicast`] address, or loopback (a lab PE, a local jump proxy).
pub fn reachable(addr: Ipv4Addr) -> Result<Ipv4Addr, PeeringError> {
    if addr.is_loopback() {
        return Ok(addr);
    }
    unicast(addr)
}

/// `iface` if it may be one end of a peering subnet: a [`unicast`]
/// address, and in a /30 or larger neither the network nor the broadcast
/// address.
pub fn peer(iface: Interface) -> Result<Interface, PeeringError> {
    unicast(iface.addr)?;
    if iface.len <= 30 {
        let host = u32::from(iface.addr) & !mask(iface.len);
        if host == 0 {
            return Err(PeeringError::NetworkAddress(iface));
        }
        if host == !mask(iface.len) {
            return Err(PeeringError::BroadcastAddress(iface));
        }
    }
    Ok(iface)
}

/// Both ends of one session: each a [`peer`], in the same subnet (same
/// prefix length and network), and not the same address. The error about
/// the pair concerns `theirs`, the end checked against `ours`.
pub fn pair(ours: Interface, theirs: Interface) -> Result<(), PeeringError> {
    peer(ours)?;
    peer(theirs)?;
    if ours.len != theirs.len || ours.network() != theirs.network() {
        return Err(PeeringError::DifferentSubnet(ours, theirs));
    }
    if ours.addr == theirs.addr {
        return Err(PeeringError::SameAddress(theirs));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(s: &str) -> Interface {
        Interface::parse(s).unwrap()
    }

    fn code(r: Result<impl Sized, PeeringError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn parse_takes_address_and_prefix_length_only() {
        assert_eq!(
            iface("169.254.10.2/30"),
            Interface {
                addr: Ipv4Addr::new(169, 254, 10, 2),
                len: 30
            }
        );
        assert_eq!(iface("10.0.0.1/32").len, 32);
        for bad in [
            "169.254.10.2",
            "169.254.10.2/",
            "169.254.10.2/0",
            "169.254.10.2/33",
            "169.254.10.2/030",
            "169.254.10.2/+3",
            "169.254.10.2 /30",
            "169.254.10.02/30",
            "2001:db8::1/127",
            "169.254.10.2/30/1",
        ] {
            assert_eq!(code(Interface::parse(bad)), "invalid_format", "{bad}");
        }
        assert_eq!(
            iface("169.254.10.6/30").network(),
            Ipv4Addr::new(169, 254, 10, 4)
        );
    }

    #[test]
    fn reserved_blocks_are_refused_link_local_and_private_are_not() {
        for bad in [
            "0.0.0.0",
            "0.0.0.1",
            "0.255.255.255",
            "127.0.0.1",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert_eq!(
                code(unicast(bad.parse().unwrap())),
                "reserved_address",
                "{bad}"
            );
        }
        for ok in [
            "1.0.0.1",
            "10.0.0.1",
            "126.255.255.254",
            "128.0.0.1",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "192.168.1.1",
            "223.255.255.254",
        ] {
            assert_eq!(code(unicast(ok.parse().unwrap())), "ok", "{ok}");
        }
    }

    #[test]
    fn a_management_address_may_be_loopback_but_not_unspecified_or_multicast() {
        assert_eq!(code(reachable(Ipv4Addr::LOCALHOST)), "ok");
        assert_eq!(code(reachable(Ipv4Addr::new(192, 0, 2, 10))), "ok");
        for bad in ["0.0.0.0", "224.0.0.5", "255.255.255.255"] {
            assert_eq!(
                code(reachable(bad.parse().unwrap())),
                "reserved_address",
                "{bad}"
            );
        }
    }

    #[test]
    fn network_and_broadcast_are_refused_from_a_30_but_not_a_31() {
        assert_eq!(code(peer(iface("169.254.10.0/30"))), "network_address");
        assert_eq!(code(peer(iface("169.254.10.3/30"))), "broadcast_address");
        assert_eq!(code(peer(iface("169.254.10.1/30"))), "ok");
        assert_eq!(code(peer(iface("169.254.10.2/30"))), "ok");
        assert_eq!(code(peer(iface("169.254.10.8/29"))), "network_address");
        assert_eq!(code(peer(iface("169.254.10.15/29"))), "broadcast_address");
        assert_eq!(code(peer(iface("169.254.10.14/29"))), "ok");
        // RFC 3021: both addresses of a /31 are hosts.
        assert_eq!(code(peer(iface("169.254.10.0/31"))), "ok");
        assert_eq!(code(peer(iface("169.254.10.1/31"))), "ok");
        assert_eq!(code(peer(iface("10.1.1.1/32"))), "ok");
        assert_eq!(code(peer(iface("0.0.0.1/30"))), "reserved_address");
        assert_eq!(code(peer(iface("224.0.0.1/30"))), "reserved_address");
    }

    #[test]
    fn a_pair_shares_its_subnet_and_differs() {
        for (ours, theirs, expected) in [
            ("169.254.10.2/30", "169.254.10.1/30", "ok"),
            ("169.254.10.0/31", "169.254.10.1/31", "ok"),
            ("169.254.10.2/30", "169.254.10.5/30", "different_subnet"),
            ("169.254.10.2/30", "169.254.10.1/29", "different_subnet"),
            ("169.254.10.2/30", "169.254.10.2/30", "same_address"),
            ("169.254.10.2/30", "169.254.10.3/30", "broadcast_address"),
        ] {
            assert_eq!(
                code(pair(iface(ours), iface(theirs))),
                expected,
                "{ours} {theirs}"
            );
        }
    }
}
