//! URLs onramp will send to (webhooks): the raw string as given, and the
//! IP addresses behind it.

use std::net::{IpAddr, Ipv6Addr};

use crate::Coded;

/// Why a raw URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// URL parsers (WHATWG, the `url` crate) silently drop tabs and
    /// newlines and trim control characters and spaces, so without this
    /// check the URL stored would not be the one sent.
    #[error("character {position} of the URL is {what}; percent-encode it or leave it out")]
    Character { position: usize, what: &'static str },
}

impl Coded for UrlError {
    fn code(&self) -> &'static str {
        match self {
            UrlError::Character { .. } => "invalid_character",
        }
    }
}

/// `raw` unless it holds a control character or white space anywhere,
/// leading and trailing included.
pub fn raw(raw: &str) -> Result<&str, UrlError> {
    let found = raw.chars().enumerate().find_map(|(i, c)| {
        let what = if c.is_control() {
            "a control character"
        } else if c.is_whitespace() {
            "white space"
        } else {
            return None;
        };
        Some(UrlError::Character {
            position: i + 1,
            what,
        })
    });
    match found {
        Some(e) => Err(e),
        None => Ok(raw),
    }
}

/// AWS's IPv6 instance metadata address.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Why onramp never sends to `ip`, or `None` when it may: link-local
/// addresses (cloud metadata services live at 169.254.169.254), AWS's IPv6
/// metadata address, unspecified and multicast addresses, also behind an
/// IPv4-mapped IPv6 address. Private ranges stay allowed: a receiver on
/// the customer's own network is legitimate.
pub fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_link_local() {
                Some("a link-local address")
            } else if v4.is_unspecified() {
                Some("the unspecified address")
            } else if v4.is_multicast() || v4.is_broadcast() {
                Some("a multicast or broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                forbidden_ip(IpAddr::V4(v4))
            } else if v6.is_unicast_link_local() {
                Some("a link-local address")
            } else if v6 == AWS_METADATA_V6 {
                Some("a cloud metadata service address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_white_space_are_refused_anywhere() {
        for (bad, position) in [
            ("https://example.com/\0hook", 21),
            ("https://example.com/\thook", 21),
            ("https://exa\nmple.com/", 12),
            ("https://example.com/\r", 21),
            (" https://example.com/", 1),
            ("https://example.com/ ", 21),
            ("https://example.com/\u{85}", 21),
            ("https://example.com/\u{2003}", 21),
            ("https://example.com/\u{7f}", 21),
        ] {
            match raw(bad) {
                Err(e @ UrlError::Character { position: p, .. }) => {
                    assert_eq!(p, position, "{bad:?}");
                    assert_eq!(e.code(), "invalid_character");
                }
                Ok(_) => panic!("{bad:?} accepted"),
            }
        }
        for ok in [
            "https://example.com/hook?a=%00",
            "https://ci.example.com/hooks/onramp",
            "https://例え.jp/フック",
        ] {
            assert_eq!(raw(ok), Ok(ok));
        }
    }

    #[test]
    fn metadata_and_other_odd_addresses_are_forbidden() {
        for bad in [
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "::",
            "ff02::1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
        ] {
            assert!(forbidden_ip(bad.parse().unwrap()).is_some(), "{bad}");
        }
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "93.184.215.14",
            "::1",
            "2001:db8::1",
        ] {
            assert!(forbidden_ip(ok.parse().unwrap()).is_none(), "{ok}");
        }
    }
}
