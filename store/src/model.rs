//! Typed views of the JSON columns of `connectors`.

use serde::{Deserialize, Serialize};

/// What the customer ordered for an `aws-hosted-vif` connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsHostedVifParams {
    pub aws_account_id: String,
    pub bandwidth: String,
    /// The customer's own ASN, when they brought one.
    pub customer_asn: Option<u32>,
    pub requested_vlan: Option<u16>,
}

/// Where the customer's ASN came from: theirs, or allocated from our pool
/// (and so released on deprovision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsnSource {
    Customer,
    Allocated,
}

/// Everything allocated for a connector in the order transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub pe_id: uuid::Uuid,
    pub pe_name: String,
    pub port_id: uuid::Uuid,
    pub port_name: String,
    pub vlan: u16,
    /// The peering subnet, e.g. `169.254.0.0/31`.
    pub subnet: String,
    /// Our PE's address in the subnet, CIDR form.
    pub pe_address: String,
    /// The CSP's address in the subnet, CIDR form.
    pub csp_address: String,
    pub asn: u32,
    pub asn_source: AsnSource,
    /// The CSP side's ASN (Amazon's side for AWS).
    pub csp_asn: u32,
    /// BGP MD5 key shared with the CSP, sealed with `secrets::SecretBox`.
    /// Never returned by the API.
    pub auth_key_sealed: String,
    /// The name we give the CSP object, so we can find it again after a crash.
    pub csp_object_name: String,
}

impl Resources {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector resources"))
    }
}

impl AwsHostedVifParams {
    pub fn from_json(s: &str) -> crate::Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("connector params"))
    }
}
