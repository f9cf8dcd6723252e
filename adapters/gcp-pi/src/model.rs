//! The attachment as the orchestrator asks for it and sees it, pairing keys,
//! and the deterministic request ids.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::Error;

/// `bandwidth` values of an attachment, slowest first.
pub const BANDWIDTHS: &[&str] = &[
    "BPS_50M", "BPS_100M", "BPS_200M", "BPS_300M", "BPS_400M", "BPS_500M", "BPS_1G", "BPS_2G",
    "BPS_5G", "BPS_10G", "BPS_20G", "BPS_50G",
];

/// Where an idempotent operation stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<T> {
    /// Google is in the wanted state.
    Done(T),
    /// An operation is still running at Google; call again after
    /// `retry_after`.
    InProgress { retry_after: Duration },
}

/// A `PARTNER_PROVIDER` attachment to create for a customer's pairing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRequest {
    /// Attachment name in the partner project (RFC 1035, at most 63
    /// characters); also the idempotency key.
    pub name: String,
    /// Compute region, e.g. `us-west1`; must be the pairing key's.
    pub region: String,
    /// Name of our interconnect (`projects/{p}/global/interconnects/{name}`
    /// is built from it; a value with `/` is sent as is).
    pub interconnect: String,
    /// The customer's `<uuid>/<region>/<1|2>`.
    pub pairing_key: String,
    /// 802.1Q tag on our interconnect, 2..=4094.
    pub vlan: u16,
    /// One of [`BANDWIDTHS`], e.g. `BPS_1G`.
    pub bandwidth: String,
    /// `partnerMetadata.partnerName`: our name as Google lists it.
    pub partner_name: String,
    /// `partnerMetadata.interconnectName`: what the customer sees, e.g.
    /// `San Jose zone 1`.
    pub interconnect_name: String,
    /// `partnerMetadata.portalUrl`: where the customer follows the order.
    pub portal_url: String,
    /// Our ASN, when we run the BGP session for the customer (layer 3).
    pub partner_asn: Option<u32>,
}

impl AttachmentRequest {
    /// What Google would refuse anyway, checked before the first call.
    pub(crate) fn validate(&self) -> Result<PairingKey, Error> {
        if !is_rfc1035(&self.name) {
            return Err(Error::invalid(format!(
                "attachment name {:?} is not an RFC 1035 name ([a-z][-a-z0-9]*, at most 63 characters)",
                self.name
            )));
        }
        if !is_rfc1035(&self.region) {
            return Err(Error::invalid(format!(
                "region {:?} is not a region name",
                self.region
            )));
        }
        let key = parse_pairing_key(&self.pairing_key)
            .map_err(|why| Error::invalid(format!("pairingKey: {why}")))?;
        if key.region != self.region {
            return Err(Error::invalid(format!(
                "pairing key is for region {}, the attachment is requested in {}",
                key.region, self.region
            )));
        }
        if !(2..=4094).contains(&self.vlan) {
            return Err(Error::invalid(format!(
                "vlanTag8021q {} is outside 2..4094",
                self.vlan
            )));
        }
        if !BANDWIDTHS.contains(&self.bandwidth.as_str()) {
            return Err(Error::invalid(format!(
                "bandwidth {:?} is not one of {}",
                self.bandwidth,
                BANDWIDTHS.join(", ")
            )));
        }
        if self.interconnect.trim().is_empty() {
            return Err(Error::invalid("interconnect is empty"));
        }
        for (field, v) in [
            ("partnerName", &self.partner_name),
            ("interconnectName", &self.interconnect_name),
            ("portalUrl", &self.portal_url),
        ] {
            if v.trim().is_empty() {
                return Err(Error::invalid(format!("partnerMetadata.{field} is empty")));
            }
        }
        if self.partner_asn == Some(0) || self.partner_asn == Some(u32::MAX) {
            return Err(Error::invalid("partnerAsn must be 1..4294967294"));
        }
        Ok(key)
    }

    /// `projects/{p}/global/interconnects/{name}`, or the value as given
    /// when it already is a (partial) URL.
    pub(crate) fn interconnect_ref(&self, project: &str) -> String {
        if self.interconnect.contains('/') {
            self.interconnect.clone()
        } else {
            format!(
                "projects/{project}/global/interconnects/{}",
                self.interconnect
            )
        }
    }

    /// The `interconnectAttachments.insert` body.
    pub(crate) fn to_insert_body(&self, project: &str) -> Value {
        let mut body = json!({
            "name": self.name,
            "type": "PARTNER_PROVIDER",
            "interconnect": self.interconnect_ref(project),
            "pairingKey": self.pairing_key,
            "vlanTag8021q": self.vlan,
            "bandwidth": self.bandwidth,
            "partnerMetadata": {
                "partnerName": self.partner_name,
                "interconnectName": self.interconnect_name,
                "portalUrl": self.portal_url,
            },
        });
        if let Some(asn) = self.partner_asn {
            // int64 in Compute: a string in canonical JSON.
            body["partnerAsn"] = json!(asn.to_string());
        }
        body
    }
}

/// A partner attachment as Google reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    /// `PENDING_CUSTOMER` (waiting for the customer to activate), `ACTIVE`,
    /// `DEFUNCT` (the customer deleted theirs), or another Compute state.
    pub state: String,
    /// Google's Cloud Router side, CIDR (`169.254.x.1/29`).
    pub cloud_router_ip: Option<String>,
    /// The customer router's side, CIDR (`169.254.x.2/29`): ours when we
    /// run BGP for the customer.
    pub customer_router_ip: Option<String>,
    pub vlan: Option<u16>,
    pub pairing_key: Option<String>,
    /// `AVAILABILITY_DOMAIN_1` or `AVAILABILITY_DOMAIN_2`.
    pub edge_availability_domain: Option<String>,
    pub bandwidth: Option<String>,
}

impl Attachment {
    pub(crate) fn from_google(v: &Value) -> Result<Self, Error> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let name = s("name")
            .ok_or_else(|| Error::Protocol("interconnectAttachment without a name".into()))?;
        let vlan = match v.get("vlanTag8021q") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(t)) => t.parse().ok(),
            Some(_) => None,
        };
        Ok(Self {
            name,
            state: s("state").unwrap_or_else(|| "STATE_UNSPECIFIED".to_owned()),
            cloud_router_ip: s("cloudRouterIpAddress"),
            customer_router_ip: s("customerRouterIpAddress"),
            vlan,
            pairing_key: s("pairingKey"),
            edge_availability_domain: s("edgeAvailabilityDomain"),
            bandwidth: s("bandwidth"),
        })
    }
}

/// A customer's pairing key, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingKey {
    /// Lower-case hyphenated UUID.
    pub uuid: String,
    pub region: String,
    /// Edge availability domain, 1 or 2.
    pub domain: u8,
}

/// Splits `<uuid>/<region>/<1|2>` (e.g.
/// `2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1`); the error says what
/// is wrong with it.
pub fn parse_pairing_key(key: &str) -> Result<PairingKey, String> {
    let key = key.trim();
    let parts: Vec<&str> = key.split('/').collect();
    let [id, region, domain] = parts[..] else {
        return Err(format!(
            "a pairing key is <uuid>/<region>/<1|2>; {key:?} has {} part(s)",
            parts.len()
        ));
    };
    let uuid = uuid::Uuid::try_parse(id)
        .ok()
        .filter(|_| id.len() == 36)
        .ok_or_else(|| format!("{id:?} at the start of the pairing key is not a UUID"))?;
    if !is_rfc1035(region) {
        return Err(format!(
            "{region:?} in the pairing key is not a region name (like us-west1)"
        ));
    }
    let domain = match domain {
        "1" => 1,
        "2" => 2,
        _ => {
            return Err(format!(
                "the pairing key ends with {domain:?}; the edge availability domain is 1 or 2"
            ));
        }
    };
    Ok(PairingKey {
        uuid: uuid.to_string(),
        region: region.to_owned(),
        domain,
    })
}

/// `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`
pub(crate) fn is_rfc1035(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

/// A `requestId` that is the same for the same `parts` and `generation` on
/// every run and every build: a UUID (version 8) holding the 128-bit
/// FNV-1a hash of the parts. Google deduplicates a retried request by it,
/// so a worker that died after sending an insert and sends it again gets the
/// original operation back instead of a second attachment.
pub(crate) fn request_id(parts: &[&str], generation: u32) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u128::from(*b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    feed(b"onramp-gcp-pi/request-id/v1");
    for p in parts {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        feed(&(p.len() as u64).to_be_bytes());
        feed(p.as_bytes());
    }
    feed(&generation.to_be_bytes());
    uuid::Builder::from_custom_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AttachmentRequest {
        AttachmentRequest {
            name: "pi-order-1".into(),
            region: "us-west1".into(),
            interconnect: "onramp-sjc-zone1".into(),
            pairing_key: "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1".into(),
            vlan: 100,
            bandwidth: "BPS_1G".into(),
            partner_name: "Onramp".into(),
            interconnect_name: "San Jose zone 1".into(),
            portal_url: "https://portal.onramp.example/orders/1".into(),
            partner_asn: Some(65010),
        }
    }

    #[test]
    fn pairing_keys_split_and_explain() {
        assert_eq!(
            parse_pairing_key("2DFCDEE7-B6F9-41D0-B98F-639151097693/us-west1/2"),
            Ok(PairingKey {
                uuid: "2dfcdee7-b6f9-41d0-b98f-639151097693".into(),
                region: "us-west1".into(),
                domain: 2
            })
        );
        for (key, why) in [
            ("", "1 part"),
            ("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1", "2 part"),
            ("2dfcdee7b6f941d0b98f639151097693/us-west1/1", "not a UUID"),
            (
                "2dfcdee7-b6f9-41d0-b98f-639151097693/US-WEST1/1",
                "region name",
            ),
            ("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/0", "1 or 2"),
            (
                "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1/x",
                "4 part",
            ),
        ] {
            let e = parse_pairing_key(key).unwrap_err();
            assert!(e.contains(why), "{key:?}: {e}");
        }
    }

    #[test]
    fn requests_are_checked_before_sending() {
        assert!(request().validate().is_ok());
        type Change = fn(&mut AttachmentRequest);
        let cases: [(Change, &str); 6] = [
            (|r| r.name = "Order_1".into(), "RFC 1035"),
            (|r| r.region = "us-east4".into(), "region us-west1"),
            (|r| r.vlan = 4095, "2..4094"),
            (|r| r.bandwidth = "1G".into(), "BPS_50M"),
            (|r| r.portal_url = " ".into(), "portalUrl"),
            (|r| r.pairing_key = "nope".into(), "pairingKey"),
        ];
        for (change, why) in cases {
            let mut r = request();
            change(&mut r);
            match r.validate() {
                Err(Error::Google {
                    status: 400,
                    reason,
                    message,
                }) => {
                    assert_eq!(reason, "invalid");
                    assert!(message.contains(why), "{message}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn insert_body_has_the_compute_shape() {
        let b = request().to_insert_body("onramp-partner");
        assert_eq!(b["type"], "PARTNER_PROVIDER");
        assert_eq!(
            b["interconnect"],
            "projects/onramp-partner/global/interconnects/onramp-sjc-zone1"
        );
        assert_eq!(b["vlanTag8021q"], 100);
        assert_eq!(b["partnerAsn"], "65010");
        assert_eq!(
            b["partnerMetadata"]["portalUrl"],
            "https://portal.onramp.example/orders/1"
        );
        let mut r = request();
        r.partner_asn = None;
        r.interconnect =
            "https://www.googleapis.com/compute/v1/projects/x/global/interconnects/y".into();
        let b = r.to_insert_body("onramp-partner");
        assert!(b.get("partnerAsn").is_none());
        assert_eq!(b["interconnect"], r.interconnect.as_str());
    }

    #[test]
    fn request_ids_are_stable_uuids() {
        let a = request_id(&["p", "us-west1", "pi-1"], 0);
        assert_eq!(a, request_id(&["p", "us-west1", "pi-1"], 0));
        assert_ne!(a, request_id(&["p", "us-west1", "pi-1"], 1));
        assert_ne!(a, request_id(&["p", "us-west1", "pi-2"], 0));
        assert_ne!(request_id(&["ab", "c"], 0), request_id(&["a", "bc"], 0));
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 8);
        assert!(!u.is_nil());
        // Pinned: a new build must derive the same id for the same request,
        // or a retry after an upgrade would create a second attachment.
        assert_eq!(a, "0d993b7d-7088-8f4f-96c2-61f4cf92b4d0");
    }

    #[test]
    fn attachments_read_from_compute_json() {
        let v = json!({
            "name": "pi-1", "state": "PENDING_CUSTOMER", "vlanTag8021q": 100,
            "cloudRouterIpAddress": "169.254.1.1/29", "customerRouterIpAddress": "169.254.1.2/29",
            "pairingKey": "k", "edgeAvailabilityDomain": "AVAILABILITY_DOMAIN_1", "bandwidth": "BPS_1G"
        });
        let a = Attachment::from_google(&v).unwrap();
        assert_eq!(a.vlan, Some(100));
        assert_eq!(a.cloud_router_ip.as_deref(), Some("169.254.1.1/29"));
        assert!(Attachment::from_google(&json!({"state": "ACTIVE"})).is_err());
        let a = Attachment::from_google(&json!({"name": "x", "vlanTag8021q": "7"})).unwrap();
        assert_eq!((a.vlan, a.state.as_str()), (Some(7), "STATE_UNSPECIFIED"));
    }
}
