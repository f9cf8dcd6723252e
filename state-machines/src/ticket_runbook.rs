//! A ticket-based provider's runbook, as data: the ordered manual steps a
//! person in the ops console does for a `ticket-csp` connector, each with its
//! instructions, the fields they fill in and an SLA. The machine in
//! [`crate::ticket_csp`] only counts the steps; this module checks what a
//! person submits for one of them ([`validate`]), so the API can refuse a
//! completion naming the field before any event reaches the machine.
//!
//! Pure like the machines: no I/O, no clock (the SLA is a duration; when it
//! runs out is the ops console's business).

use std::collections::BTreeMap;
use std::net::IpAddr;

use onramp_checks::{Coded, asn, ipv4, ipv6};
use serde::{Deserialize, Serialize};

/// One provider's runbook. Snapshotted with the connector at order time, so
/// editing a runbook never changes the steps of a connector in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runbook {
    /// Manual steps, in the order they are done. All of them come before the
    /// PE push: the fields they collect (provider VLAN, peer IP and ASN) are
    /// what the push needs.
    pub steps: Vec<ManualStep>,
}

/// One manual step: an ops task per connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// Stable identifier, e.g. `order_circuit`.
    pub key: String,
    pub title: String,
    /// What the person does, for the ops console (Markdown).
    pub instructions: String,
    /// What they fill in to complete the task.
    pub fields: Vec<FieldSpec>,
    /// How long the task may stay open before it is overdue.
    pub sla_hours: u32,
}

/// One field of a manual step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Key in the submitted values, e.g. `provider_vlan`.
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
}

/// What a field holds, and so how it is checked and normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text such as a provider ticket or circuit id, at most `max_len`
    /// characters, no control characters.
    Text { max_len: usize },
    /// An 802.1Q VLAN id, 1–4094.
    Vlan,
    /// An IPv4 or IPv6 address without prefix length, not from a block no
    /// interface may use ([`onramp_checks::ipv4::unicast`],
    /// [`onramp_checks::ipv6::unicast`]).
    IpAddress,
    /// An address with its prefix length, e.g. `169.254.10.1/30`: the
    /// provider-side peer on a point-to-point subnet. An IPv4 one must be
    /// usable by a router ([`onramp_checks::ipv4::peer`]), an IPv6 one
    /// unicast.
    IpInterface,
    /// A BGP ASN usable as a peer (not 0, 23456 (AS_TRANS), 65535 or
    /// 4294967295).
    Asn,
}

/// Why a submitted field was refused. `code` is stable (for the API's
/// error body), `detail` is for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub detail: String,
}

impl FieldError {
    fn new(field: &str, code: &'static str, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            code,
            detail: detail.into(),
        }
    }
}

/// Checks `submitted` against a step's `fields`. Returns the values to
/// store, trimmed and normalised (`0812` → `812`, addresses in canonical
/// form), or every problem found, one per field, in the order of `fields`
/// and then of unknown names.
pub fn validate(
    fields: &[FieldSpec],
    submitted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for spec in fields {
        let raw = submitted.get(&spec.name).map(|v| v.trim()).unwrap_or("");
        if raw.is_empty() {
            if spec.required {
                errors.push(FieldError::new(
                    &spec.name,
                    "required",
                    format!("{} is required", spec.label),
                ));
            }
            continue;
        }
        match normalise(spec.kind, raw) {
            Ok(value) => {
                values.insert(spec.name.clone(), value);
            }
            Err((code, detail)) => {
                errors.push(FieldError::new(
                    &spec.name,
                    code,
                    format!("{}: {detail}", spec.label),
                ));
            }
        }
    }
    for name in submitted.keys() {
        if !fields.iter().any(|f| &f.name == name) {
            errors.push(FieldError::new(
                name,
                "unknown_field",
                "this step has no such field",
            ));
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn normalise(kind: FieldKind, raw: &str) -> Result<String, (&'static str, String)> {
    match kind {
        FieldKind::Text { max_len } => {
            if raw.chars().count() > max_len {
                Err(("too_long", format!("at most {max_len} characters")))
            } else if raw.chars().any(char::is_control) {
                Err(("invalid_text", "contains control characters".to_string()))
            } else {
                Ok(raw.to_string())
            }
        }
        FieldKind::Vlan => match raw.parse::<u16>() {
            Ok(vlan @ 1..=4094) => Ok(vlan.to_string()),
            _ => Err(("not_a_vlan", format!("{raw:?} is not a VLAN id (1-4094)"))),
        },
        FieldKind::IpAddress => match raw.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => ipv4::unicast(v4)
                .map(|ip| ip.to_string())
                .map_err(|e| (e.code(), e.to_string())),
            Ok(IpAddr::V6(v6)) => ipv6::unicast(v6)
                .map(|ip| ip.to_string())
                .map_err(|e| (e.code(), e.to_string())),
            Err(_) => Err(("not_an_ip", format!("{raw:?} is not an IP address"))),
        },
        FieldKind::IpInterface => {
            let bad = || {
                (
                    "not_an_ip_interface",
                    format!(
                        "{raw:?} is not an address with its prefix length (e.g. 169.254.10.1/30)"
                    ),
                )
            };
            let (addr, len) = raw.split_once('/').ok_or_else(bad)?;
            let ip: IpAddr = addr.parse().map_err(|_| bad())?;
            let len: u8 = len.parse().map_err(|_| bad())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if len == 0 || len > max {
                return Err(bad());
            }
            match ip {
                IpAddr::V4(addr) => {
                    ipv4::peer(ipv4::Interface { addr, len })
                        .map_err(|e| (e.code(), e.to_string()))?;
                }
                IpAddr::V6(addr) => {
                    ipv6::unicast(addr).map_err(|e| (e.code(), e.to_string()))?;
                }
            }
            Ok(format!("{ip}/{len}"))
        }
        FieldKind::Asn => match raw
            .strip_prefix("AS")
            .or_else(|| raw.strip_prefix("as"))
            .unwrap_or(raw)
            .parse::<u32>()
        {
            Ok(asn) => asn::usable(i64::from(asn))
                .map(|asn| asn.to_string())
                .map_err(|e| (e.code(), e.to_string())),
            Err(_) => Err(("not_an_asn", format!("{raw:?} is not an ASN"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldKind, required: bool) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            label: name.replace('_', " "),
            kind,
            required,
        }
    }

    fn fields() -> Vec<FieldSpec> {
        vec![
            field("circuit_id", FieldKind::Text { max_len: 16 }, true),
            field("provider_vlan", FieldKind::Vlan, true),
            field("peer_ip", FieldKind::IpInterface, true),
            field("peer_asn", FieldKind::Asn, true),
            field("router_id", FieldKind::IpAddress, false),
        ]
    }

    fn submit(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn valid_values_are_trimmed_and_normalised() {
        let out = validate(
            &fields(),
            &submit(&[
                ("circuit_id", "  CKT-12345 "),
                ("provider_vlan", "0812"),
                ("peer_ip", "169.254.10.1/30"),
                ("peer_asn", "AS64512"),
                ("router_id", ""),
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            submit(&[
                ("circuit_id", "CKT-12345"),
                ("provider_vlan", "812"),
                ("peer_ip", "169.254.10.1/30"),
                ("peer_asn", "64512"),
            ])
        );
    }

    #[test]
    fn every_bad_field_is_named_with_a_code() {
        let err = validate(
            &fields(),
            &submit(&[
                ("circuit_id", "a-very-long-circuit-id"),
                ("provider_vlan", "4095"),
                ("peer_ip", "169.254.10.1"),
                ("peer_asn", "23456"),
                ("router_id", "not-an-ip"),
                ("colour", "blue"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            codes(&err),
            [
                ("circuit_id", "too_long"),
                ("provider_vlan", "not_a_vlan"),
                ("peer_ip", "not_an_ip_interface"),
                ("peer_asn", "reserved_asn"),
                ("router_id", "not_an_ip"),
                ("colour", "unknown_field"),
            ]
        );
        assert!(err[1].detail.contains("provider vlan"), "{}", err[1].detail);
    }

    #[test]
    fn missing_required_fields_are_refused_and_optional_ones_skipped() {
        let err = validate(&fields(), &submit(&[("peer_asn", " ")])).unwrap_err();
        assert_eq!(
            codes(&err),
            [
                ("circuit_id", "required"),
                ("provider_vlan", "required"),
                ("peer_ip", "required"),
                ("peer_asn", "required"),
            ]
        );
    }

    #[test]
    fn field_kinds_check_their_edges() {
        let ok = |kind, raw: &str| normalise(kind, raw).map_err(|(code, _)| code);
        assert_eq!(ok(FieldKind::Vlan, "1"), Ok("1".to_string()));
        assert_eq!(ok(FieldKind::Vlan, "4094"), Ok("4094".to_string()));
        assert_eq!(ok(FieldKind::Vlan, "0"), Err("not_a_vlan"));
        assert_eq!(ok(FieldKind::Vlan, "-1"), Err("not_a_vlan"));
        assert_eq!(
            ok(FieldKind::IpInterface, "2001:DB8::1/127"),
            Ok("2001:db8::1/127".to_string())
        );
        assert_eq!(
            ok(FieldKind::IpInterface, "10.0.0.1/33"),
            Err("not_an_ip_interface")
        );
        assert_eq!(
            ok(FieldKind::IpInterface, "10.0.0.1/0"),
            Err("not_an_ip_interface")
        );
        assert_eq!(ok(FieldKind::IpAddress, "10.0.0.1/30"), Err("not_an_ip"));
        assert_eq!(ok(FieldKind::IpAddress, "0.0.0.0"), Err("reserved_address"));
        assert_eq!(
            ok(FieldKind::IpAddress, "169.254.0.1"),
            Ok("169.254.0.1".to_string())
        );
        for (bad, code) in [
            ("0.0.0.1/30", "reserved_address"),
            ("224.0.0.1/30", "reserved_address"),
            ("127.0.0.1/8", "reserved_address"),
            ("169.254.10.0/30", "network_address"),
            ("169.254.10.3/30", "broadcast_address"),
        ] {
            assert_eq!(ok(FieldKind::IpInterface, bad), Err(code), "{bad}");
        }
        assert_eq!(ok(FieldKind::IpAddress, "::"), Err("reserved_address"));
        assert_eq!(
            ok(FieldKind::IpInterface, "ff02::1/127"),
            Err("reserved_address")
        );
        assert_eq!(
            ok(FieldKind::IpInterface, "169.254.10.0/31"),
            Ok("169.254.10.0/31".to_string())
        );
        assert_eq!(
            ok(FieldKind::Asn, "4200000000"),
            Ok("4200000000".to_string())
        );
        for reserved in ["0", "23456", "AS65535", "4294967295"] {
            assert_eq!(ok(FieldKind::Asn, reserved), Err("reserved_asn"));
        }
        assert_eq!(ok(FieldKind::Asn, "4294967296"), Err("not_an_asn"));
        assert_eq!(
            ok(FieldKind::Text { max_len: 8 }, "a\u{7}b"),
            Err("invalid_text")
        );
    }

    #[test]
    fn field_kind_json_shape_is_stable() {
        assert_eq!(
            serde_json::to_string(&FieldKind::Text { max_len: 32 }).unwrap(),
            r#"{"type":"text","max_len":32}"#
        );
        assert_eq!(
            serde_json::to_string(&FieldKind::IpInterface).unwrap(),
            r#"{"type":"ip_interface"}"#
        );
    }
}
