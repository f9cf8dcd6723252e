//! Pure request checks, kept apart from the state so that they can be unit
//! tested one rule at a time. Messages imitate AWS's wording where it is known.

use std::net::Ipv4Addr;

/// `asn` takes 1..=2147483646 (a signed 32-bit member, max excluded).
pub(crate) const ASN_MAX: i64 = 2_147_483_646;
/// `asnLong` takes 1..=4294967294.
pub(crate) const ASN_LONG_MAX: i64 = 4_294_967_294;

/// The access key id out of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/directconnect/aws4_request, ...`).
pub(crate) fn access_key_from_authorization(header: &str) -> Option<&str> {
    let start = header.find("Credential=")? + "Credential=".len();
    let rest = &header[start..];
    let end = rest.find('/')?;
    let key = rest[..end].trim();
    (!key.is_empty()).then_some(key)
}

/// A 12-digit AWS account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn vlan(v: i64) -> Result<u16, String> {
    match u16::try_from(v) {
        Ok(v @ 1..=4094) => Ok(v),
        _ => Err(format!(
            "VLAN {v} is invalid. The VLAN must be between 1 and 4094."
        )),
    }
}

/// The effective BGP ASN: `asnLong` wins when both are sent.
pub(crate) fn asn(asn: Option<i64>, asn_long: Option<i64>) -> Result<u32, String> {
    match (asn, asn_long) {
        (_, Some(long)) if (1..=ASN_LONG_MAX).contains(&long) => Ok(long as u32),
        (_, Some(long)) => Err(format!(
            "asnLong {long} is invalid. The valid range is from 1 to {ASN_LONG_MAX}."
        )),
        (Some(a), None) if (1..=ASN_MAX).contains(&a) => Ok(a as u32),
        (Some(a), None) => Err(format!(
            "ASN {a} is invalid. The valid range for asn is from 1 to {ASN_MAX}; \
             use asnLong for 4-byte ASNs."
        )),
        (None, None) => Err("Either asn or asnLong must be specified.".to_owned()),
    }
}

pub(crate) fn mtu(mtu: Option<i64>) -> Result<u32, String> {
    match mtu {
        None => Ok(1500),
        // The model's docs name 8500 for this shape and 9001 elsewhere.
        Some(m @ (1500 | 8500 | 9001)) => Ok(m as u32),
        Some(m) => Err(format!(
            "MTU {m} is invalid. Supported values are 1500 and 9001."
        )),
    }
}

pub(crate) fn auth_key(key: &str) -> Result<(), String> {
    let n = key.chars().count();
    if (6..=80).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "BGP authentication key must be between 6 and 80 characters (got {n})."
        ))
    }
}

pub(crate) fn vif_name(name: &str) -> Result<(), String> {
    match name.chars().count() {
        0 => Err("virtualInterfaceName must not be empty.".to_owned()),
        1..=100 => Ok(()),
        _ => Err("virtualInterfaceName must be at most 100 characters.".to_owned()),
    }
}

/// What AWS accepts as the bandwidth of a hosted connection (1Gbps and up
/// only for qualified partners, which the simulator's partner is).
pub(crate) const HOSTED_BANDWIDTHS: &[&str] = &[
    "50Mbps", "100Mbps", "200Mbps", "300Mbps", "400Mbps", "500Mbps", "1Gbps", "2Gbps", "5Gbps",
    "10Gbps", "25Gbps",
];

/// A hosted connection bandwidth, exactly as AWS spells it.
pub(crate) fn hosted_bandwidth(bandwidth: &str) -> Result<(), String> {
    if HOSTED_BANDWIDTHS.contains(&bandwidth) {
        Ok(())
    } else {
        Err(format!(
            "Bandwidth {bandwidth} is invalid for a hosted connection. Valid values are {}.",
            HOSTED_BANDWIDTHS.join(", ")
        ))
    }
}

/// `50Mbps` → 50, `10Gbps` → 10000; `None` for anything else.
pub(crate) fn bandwidth_mbps(bandwidth: &str) -> Option<u64> {
    let (digits, factor) = if let Some(d) = bandwidth.strip_suffix("Mbps") {
        (d, 1)
    } else if let Some(d) = bandwidth.strip_suffix("Gbps") {
        (d, 1000)
    } else {
        return None;
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

pub(crate) fn connection_name(name: &str) -> Result<(), String> {
    match name.chars().count() {
        0 => Err("connectionName must not be empty.".to_owned()),
        1..=100 => Ok(()),
        _ => Err("connectionName must be at most 100 characters.".to_owned()),
    }
}

/// `a.b.c.d/len` with a strict dotted quad and 0 <= len <= 32.
pub(crate) fn parse_ipv4_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some((addr, len))
}

/// Both peer addresses of a point-to-point link: valid IPv4 CIDRs, one subnet
/// of /31 or shorter, two different usable hosts.
pub(crate) fn peer_addresses(amazon: &str, customer: &str) -> Result<(), String> {
    let (a, a_len) = parse_ipv4_cidr(amazon)
        .ok_or_else(|| format!("amazonAddress {amazon} is not a valid IPv4 CIDR."))?;
    let (c, c_len) = parse_ipv4_cidr(customer)
        .ok_or_else(|| format!("customerAddress {customer} is not a valid IPv4 CIDR."))?;
    if a_len != c_len {
        return Err(format!(
            "amazonAddress {amazon} and customerAddress {customer} must have the same prefix length."
        ));
    }
    if a_len > 31 {
        return Err(format!(
            "Peer addresses must be in a /31 or larger subnet (got /{a_len})."
        ));
    }
    let mask = if a_len == 0 {
        0
    } else {
        u32::MAX << (32 - a_len)
    };
    let (a, c) = (u32::from(a), u32::from(c));
    if a & mask != c & mask {
        return Err(format!(
            "amazonAddress {amazon} and customerAddress {customer} must be in the same subnet."
        ));
    }
    if a == c {
        return Err("amazonAddress and customerAddress must be different.".to_owned());
    }
    if a_len <= 30 {
        let host = !mask;
        for (name, ip) in [("amazonAddress", a), ("customerAddress", c)] {
            if ip & host == 0 || ip & host == host {
                return Err(format!(
                    "{name} {} is the network or broadcast address of its subnet.",
                    Ipv4Addr::from(ip)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_is_taken_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIAONRAMPPARTNER/20250101/us-east-1/directconnect/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(access_key_from_authorization(h), Some("AKIAONRAMPPARTNER"));
        let h = "AWS4-HMAC-SHA256 Credential=444455556666/20250101/us-east-1/directconnect/aws4_request";
        assert_eq!(access_key_from_authorization(h), Some("444455556666"));
        assert_eq!(access_key_from_authorization("Bearer xyz"), None);
        assert_eq!(
            access_key_from_authorization("AWS4-HMAC-SHA256 Credential=/x"),
            None
        );
        assert_eq!(
            access_key_from_authorization("AWS4-HMAC-SHA256 Credential=AKID"),
            None
        );
    }

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert!(is_account_id("444455556666"));
        assert!(!is_account_id("44445555666"));
        assert!(!is_account_id("4444555566667"));
        assert!(!is_account_id("44445555666a"));
        assert!(!is_account_id("AKIAONRAMPPA"));
    }

    #[test]
    fn vlan_range() {
        assert_eq!(vlan(1), Ok(1));
        assert_eq!(vlan(4094), Ok(4094));
        assert!(vlan(0).is_err());
        assert!(vlan(4095).is_err());
        assert!(vlan(-1).is_err());
        assert!(vlan(70_000).unwrap_err().contains("between 1 and 4094"));
    }

    #[test]
    fn asn_long_wins_and_ranges_hold() {
        assert_eq!(asn(Some(65000), None), Ok(65000));
        assert_eq!(asn(Some(65000), Some(4_200_000_000)), Ok(4_200_000_000));
        assert_eq!(asn(None, Some(4_294_967_294)), Ok(4_294_967_294));
        assert_eq!(asn(Some(ASN_MAX), None), Ok(2_147_483_646));
        assert!(asn(Some(ASN_MAX + 1), None).is_err());
        assert!(asn(Some(0), None).is_err());
        assert!(asn(None, Some(4_294_967_295)).is_err());
        assert!(asn(None, Some(0)).is_err());
        // A valid asnLong does not rescue an invalid asn and vice versa: asnLong decides.
        assert_eq!(asn(Some(-5), Some(64_512)), Ok(64_512));
        assert!(asn(Some(64_512), Some(-5)).is_err());
        assert!(asn(None, None).unwrap_err().contains("asnLong"));
    }

    #[test]
    fn mtu_values() {
        assert_eq!(mtu(None), Ok(1500));
        assert_eq!(mtu(Some(9001)), Ok(9001));
        assert!(mtu(Some(9000)).is_err());
    }

    #[test]
    fn auth_key_length() {
        assert!(auth_key("12345").is_err());
        assert!(auth_key("123456").is_ok());
        assert!(auth_key(&"k".repeat(80)).is_ok());
        assert!(auth_key(&"k".repeat(81)).is_err());
    }

    #[test]
    fn vif_names() {
        assert!(vif_name("").is_err());
        assert!(vif_name("onramp-svc-1").is_ok());
        assert!(vif_name(&"n".repeat(101)).is_err());
    }

    #[test]
    fn hosted_bandwidths() {
        for ok in HOSTED_BANDWIDTHS {
            assert!(hosted_bandwidth(ok).is_ok(), "{ok}");
            assert!(bandwidth_mbps(ok).is_some(), "{ok}");
        }
        for bad in ["3Gbps", "1gbps", "1 Gbps", "100Gbps", "", "1000Mbps"] {
            let e = hosted_bandwidth(bad).unwrap_err();
            assert!(e.contains(&format!("Bandwidth {bad} ")), "{e}");
            assert!(e.contains("50Mbps") && e.contains("25Gbps"), "{e}");
        }
        assert_eq!(bandwidth_mbps("50Mbps"), Some(50));
        assert_eq!(bandwidth_mbps("10Gbps"), Some(10_000));
        assert_eq!(bandwidth_mbps("100Gbps"), Some(100_000));
        assert_eq!(bandwidth_mbps("Gbps"), None);
        assert_eq!(bandwidth_mbps("+1Gbps"), None);
        assert_eq!(bandwidth_mbps("1Tbps"), None);
    }

    #[test]
    fn connection_names() {
        assert!(connection_name("").is_err());
        assert!(connection_name("onramp-hc-1").is_ok());
        assert!(connection_name(&"n".repeat(101)).is_err());
    }

    #[test]
    fn cidr_parsing_is_strict() {
        assert_eq!(
            parse_ipv4_cidr("169.254.10.0/31"),
            Some((Ipv4Addr::new(169, 254, 10, 0), 31))
        );
        for bad in [
            "169.254.10.0",
            "169.254.10.0/",
            "169.254.10.0/33",
            "169.254.10/31",
            "169.254.10.256/31",
            "169.254.10.1/+3",
            "x/30",
            "169.254.10.1/030",
        ] {
            assert_eq!(parse_ipv4_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn peer_address_pairs() {
        assert!(peer_addresses("169.254.10.0/31", "169.254.10.1/31").is_ok());
        assert!(peer_addresses("169.254.10.1/30", "169.254.10.2/30").is_ok());
        assert!(peer_addresses("10.0.0.1/29", "10.0.0.6/29").is_ok());

        let e = peer_addresses("169.254.10.0/31", "169.254.10.2/31").unwrap_err();
        assert!(e.contains("same subnet"), "{e}");
        let e = peer_addresses("169.254.10.1/30", "169.254.10.1/30").unwrap_err();
        assert!(e.contains("different"), "{e}");
        let e = peer_addresses("169.254.10.0/30", "169.254.10.1/30").unwrap_err();
        assert!(e.contains("network or broadcast"), "{e}");
        let e = peer_addresses("169.254.10.1/30", "169.254.10.3/30").unwrap_err();
        assert!(e.contains("network or broadcast"), "{e}");
        let e = peer_addresses("169.254.10.1/30", "169.254.10.2/31").unwrap_err();
        assert!(e.contains("prefix length"), "{e}");
        let e = peer_addresses("169.254.10.1/32", "169.254.10.1/32").unwrap_err();
        assert!(e.contains("/31"), "{e}");
        let e = peer_addresses("banana", "169.254.10.1/31").unwrap_err();
        assert!(e.starts_with("amazonAddress banana"), "{e}");
        let e = peer_addresses("169.254.10.0/31", "fe80::1/64").unwrap_err();
        assert!(e.starts_with("customerAddress"), "{e}");
    }
}
