//! IPv6 interface and management addresses, by the same rules as
//! [`crate::ipv4`]: no unspecified, loopback or multicast address numbers
//! an interface. Link-local stays allowed, as it is for IPv4.

use std::net::Ipv6Addr;

use crate::Coded;

/// Why an address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ipv6Error {
    #[error("{addr} is {what}, which no interface may use")]
    Reserved { addr: Ipv6Addr, what: &'static str },
}

impl Coded for Ipv6Error {
    fn code(&self) -> &'static str {
        match self {
            Ipv6Error::Reserved { .. } => "reserved_address",
        }
    }
}

/// `addr` if it may number an interface.
pub fn unicast(addr: Ipv6Addr) -> Result<Ipv6Addr, Ipv6Error> {
    let what = if addr.is_unspecified() {
        "the unspecified address ::"
    } else if addr.is_loopback() {
        "the loopback address ::1"
    } else if addr.is_multicast() {
        "multicast (ff00::/8)"
    } else {
        return Ok(addr);
    };
    Err(Ipv6Error::Reserved { addr, what })
}

/// `addr` if a management connection may be made to it: a [`unicast`]
/// address, or loopback.
pub fn reachable(addr: Ipv6Addr) -> Result<Ipv6Addr, Ipv6Error> {
    if addr.is_loopback() {
        return Ok(addr);
    }
    unicast(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<Ipv6Addr, Ipv6Error>) -> &'static str {
        r.map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn unspecified_loopback_and_multicast_number_no_interface() {
        for bad in ["::", "::1", "ff02::1", "ff0e::5"] {
            assert_eq!(
                code(unicast(bad.parse().unwrap())),
                "reserved_address",
                "{bad}"
            );
        }
        for ok in ["2001:db8::1", "fe80::1", "fd00::2"] {
            assert_eq!(code(unicast(ok.parse().unwrap())), "ok", "{ok}");
        }
    }

    #[test]
    fn a_management_address_may_be_loopback() {
        assert_eq!(code(reachable(Ipv6Addr::LOCALHOST)), "ok");
        assert_eq!(code(reachable(Ipv6Addr::UNSPECIFIED)), "reserved_address");
        assert_eq!(
            code(reachable("ff02::1".parse().unwrap())),
            "reserved_address"
        );
    }
}
