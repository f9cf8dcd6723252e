//! The checks behind every field that takes an address, an ASN, a BGP key, a
//! VLAN, a bandwidth or a URL, and behind every JSON request body. Pure: no I/O, no
//! clock, so the API, the workers and the state machines can share them.
//!
//! Each check returns a typed error whose [`Coded::code`] is the stable,
//! snake_case reason an API caller sees (`reserved_asn`) and whose `Display`
//! is the detail for people. The caller knows which field it checked, so
//! the errors never name one.

pub mod asn;
pub mod bandwidth;
pub mod bgp_key;
pub mod ipv4;
pub mod ipv6;
pub mod json;
pub mod url;
pub mod vlan;

/// A refusal with a stable machine-readable reason.
pub trait Coded: std::fmt::Display {
    /// snake_case, e.g. `reserved_asn`; never changes once published.
    fn code(&self) -> &'static str;
}
