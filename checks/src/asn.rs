//! BGP autonomous system numbers, as a peer's ASN (a customer's, a CSP's
//! side of an NNI, a ticket provider's) or as the administrator subfield of
//! a route target: the same numbers can never be either.

use crate::Coded;

/// The largest 4-byte ASN; itself reserved (RFC 7300).
const ASN_MAX: i64 = 4_294_967_295;

/// Numbers that fit in 4 bytes but never identify an AS, and why.
const RESERVED: &[(u32, &str)] = &[
    (0, "RFC 7607"),
    (23_456, "AS_TRANS, RFC 6793"),
    (65_535, "RFC 7300"),
    (4_294_967_295, "RFC 7300"),
];

/// Why an ASN was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsnError {
    #[error("ASN {0} is not a 4-byte AS number; use 1-4294967294")]
    OutOfRange(i64),
    #[error("ASN {asn} is reserved ({why}) and never identifies an AS")]
    Reserved { asn: u32, why: &'static str },
}

impl Coded for AsnError {
    fn code(&self) -> &'static str {
        match self {
            AsnError::OutOfRange(_) => "out_of_range",
            AsnError::Reserved { .. } => "reserved_asn",
        }
    }
}

/// `asn` if it can identify an AS: 1-4294967294 without AS_TRANS (23456)
/// and 65535. Private ASNs (RFC 6996) are allowed: customers peer with
/// them, and operators run route targets on them.
pub fn usable(asn: i64) -> Result<u32, AsnError> {
    if !(0..=ASN_MAX).contains(&asn) {
        return Err(AsnError::OutOfRange(asn));
    }
    let asn = asn as u32;
    match RESERVED.iter().find(|(r, _)| *r == asn) {
        Some((_, why)) => Err(AsnError::Reserved { asn, why }),
        None => Ok(asn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_asns_are_usable() {
        for ok in [
            1,
            7_224,
            23_455,
            23_457,
            64_511,
            64_512,
            65_534,
            65_536,
            4_200_000_000,
            4_294_967_294,
        ] {
            assert_eq!(usable(ok), Ok(ok as u32), "{ok}");
        }
    }

    #[test]
    fn reserved_asns_are_refused_with_reserved_asn() {
        for bad in [0, 23_456, 65_535, 4_294_967_295] {
            let e = usable(bad).unwrap_err();
            assert_eq!(e.code(), "reserved_asn", "{bad}");
            assert!(e.to_string().contains(&bad.to_string()), "{e}");
        }
    }

    #[test]
    fn numbers_beyond_four_bytes_are_out_of_range() {
        for bad in [-1, -65_535, 4_294_967_296, i64::MAX, i64::MIN] {
            assert_eq!(usable(bad).unwrap_err().code(), "out_of_range", "{bad}");
        }
    }
}
