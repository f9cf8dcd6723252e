//! Request and response bodies of the admin API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{nullable, present};

fn default_netconf_port() -> i64 {
    830
}

// ===== PE routers =====

/// A PE router to add.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPe {
    /// Unique; 1-63 of a-z, 0-9 and `-`.
    #[schema(example = "pe1", pattern = "^[a-z0-9-]{1,63}$")]
    pub name: String,
    /// NETCONF address: an IP address or hostname. An address may be
    /// loopback, but not unspecified, multicast or from 240.0.0.0/4.
    #[schema(example = "192.0.2.10")]
    pub host: String,
    /// NETCONF-over-SSH port.
    #[serde(default = "default_netconf_port")]
    #[schema(default = 830, minimum = 1, maximum = 65535)]
    pub netconf_port: i64,
    /// SSH user onramp logs in as.
    #[schema(example = "onramp")]
    pub username: String,
    /// SSH password. Stored, never returned (`has_password` says it is set).
    #[schema(write_only, format = Password)]
    pub password: String,
    /// The SSH host key onramp pins, as `ssh-keygen -lf` prints it. Without
    /// one onramp trusts no key and refuses to connect; `POST .../check`
    /// reports the key the PE presents.
    #[schema(example = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")]
    pub host_key_fingerprint: Option<String>,
    /// A template folder of `router-templates`, e.g. `reference-pe`.
    #[schema(example = "reference-pe")]
    pub platform: String,
    /// `host:port` of the PE's SNMP agent (UDP): onramp makes it a
    /// Prometheus scrape target for the customer KPIs. Absent: not
    /// monitored.
    #[serde(default)]
    #[schema(example = "192.0.2.10:161")]
    pub snmp_target: Option<String>,
}

/// Fields to change; the others stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PeUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, pattern = "^[a-z0-9-]{1,63}$")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub host: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 65535)]
    pub netconf_port: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// Write-only.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, write_only, format = Password)]
    pub password: Option<String>,
    /// `null` unpins the key (onramp then refuses to connect).
    #[serde(default, deserialize_with = "nullable")]
    pub host_key_fingerprint: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub platform: Option<String>,
    /// `null` stops monitoring the PE.
    #[serde(default, deserialize_with = "nullable")]
    pub snmp_target: Option<Option<String>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub ports: String,
    pub check: String,
}

/// A PE router. The password is never returned.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct Pe {
    pub id: Uuid,
    pub name: String,
    pub host: String,
    pub netconf_port: u16,
    pub username: String,
    /// Whether a password is stored.
    pub has_password: bool,
    pub host_key_fingerprint: Option<String>,
    pub platform: String,
    /// Where its SNMP agent answers, when it is monitored.
    pub snmp_target: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Present while the PE is in maintenance: nothing is pushed to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Maintenance>,
    pub links: PeLinks,
}

/// A PE's maintenance: while it lasts onramp pushes nothing to the PE, and
/// the changes queued for it wait (in order) until it ends. Orders are
/// still taken; their connectors wait in `configuring_pe` with `waiting_on`
/// `ops`, told that the PE is in planned maintenance (the reason is not
/// shown to customers).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct Maintenance {
    pub since: DateTime<Utc>,
    /// The operator's reason.
    #[schema(example = "line card swap, CHG-1234")]
    pub reason: String,
    /// Changes queued for the PE and held (only in the answers of the
    /// maintenance resource itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_changes: Option<u64>,
}

/// A change queued for a PE and not yet pushed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeChange {
    pub id: i64,
    /// `create`, `delete`, or a link's `move…`/`vrf-delete…`.
    pub op: String,
    /// The connector the change is for, or the link for a link's op.
    pub owner_id: Uuid,
    pub queued_at: DateTime<Utc>,
    /// Times the router refused it (a teardown is put back and tried again).
    pub attempts: i32,
    /// When a refused change is tried again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    /// The router's last refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeChangeList {
    /// Oldest first: the order the PE's writer takes them in.
    pub items: Vec<PeChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One commit a PE's writer made: a batch of changes.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeCommit {
    pub at: DateTime<Utc>,
    /// The worker that pushed it.
    pub writer: String,
    pub changes: i32,
    /// Units on the PE before the batch.
    pub attachments_before: i32,
    /// The NETCONF part: edits, commit, read-back.
    pub push_ms: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeCommitList {
    /// Newest first.
    pub items: Vec<PeCommit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Starts a maintenance, or changes the reason of the one under way.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewMaintenance {
    /// Why; 1-200 characters, for operators.
    #[schema(example = "line card swap, CHG-1234", min_length = 1, max_length = 200)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeList {
    pub items: Vec<Pe>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What `POST /v1/admin/pes/{id}/check` found.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PeCheck {
    pub pe: String,
    /// Everything worked: reached, host key verified, logged in, running
    /// configuration read over NETCONF.
    pub ok: bool,
    /// An SSH server answered at host:netconf_port.
    pub reachable: bool,
    /// `verified` (matches the pinned fingerprint), `not_pinned` (none is
    /// pinned, so onramp refused the key; see `presented_fingerprint`) or
    /// `unknown` (not reached). A mismatch is a 502 `host_key_mismatch`.
    #[schema(example = "verified")]
    pub host_key: String,
    /// The key the PE presented, when none is pinned: verify it out of band,
    /// then PATCH it into `host_key_fingerprint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_fingerprint: Option<String>,
    /// What failed, if anything.
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

// ===== ports =====

/// A port of a PE, with the VLANs onramp may allocate on it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPort {
    /// Interface name, unique on the PE.
    #[schema(example = "ge-0/0/1")]
    pub name: String,
    #[schema(example = 100, minimum = 1, maximum = 4094)]
    pub vlan_min: i64,
    #[schema(example = 3999, minimum = 1, maximum = 4094)]
    pub vlan_max: i64,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PortUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 4094)]
    pub vlan_min: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 4094)]
    pub vlan_max: Option<i64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PortLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub pe: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct Port {
    pub id: Uuid,
    pub pe_id: Uuid,
    /// The PE's name.
    pub pe: String,
    pub name: String,
    pub vlan_min: i32,
    pub vlan_max: i32,
    /// VLANs allocated on the port now.
    pub vlans_allocated: u64,
    pub links: PortLinks,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct PortList {
    pub items: Vec<Port>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

// ===== NNIs =====

/// A network-to-network interface with a CSP at one location.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewNni {
    /// `aws`, `azure` or `gcp`.
    #[schema(example = "aws")]
    pub csp: String,
    /// Unique per CSP; what customers order at.
    #[schema(example = "EqDC2")]
    pub location_code: String,
    #[schema(example = "Equinix DC2")]
    pub name: String,
    /// The CSP's region name, e.g. `us-east-1` (aws), `eastus2` (azure), `us-east4` (gcp).
    #[schema(example = "us-east-1")]
    pub region: String,
    /// The CSP's id for it: AWS interconnect/LAG (`dxcon-…`), Azure
    /// ExpressRoute port (pair), Google interconnect name.
    #[schema(example = "dxcon-fgq5f0tz")]
    pub csp_ref: String,
    /// The PE port it sits on.
    pub port_id: Uuid,
    /// The link-net pool its peering subnets come from.
    pub linknet_pool_id: Uuid,
    /// The CSP side's BGP ASN: 1-4294967294, not the reserved 23456
    /// (AS_TRANS) or 65535.
    #[schema(example = 64512, minimum = 1, maximum = 4294967294u64)]
    pub csp_asn: i64,
    #[schema(example = 10000, minimum = 1)]
    pub capacity_mbps: i64,
    /// CSP-specific facts. aws: none. azure: `secondary_port_id` (optional;
    /// the pair's second port, on another PE). gcp: `edge_availability_domain`
    /// (1 or 2, required).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object, example = json!({}))]
    pub attributes: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Fields to change; `attributes`, when given, replaces the whole object.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NniUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub csp: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub location_code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub csp_ref: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub port_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub linknet_pool_id: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1, maximum = 4294967294u64)]
    pub csp_asn: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, minimum = 1)]
    pub capacity_mbps: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Option<Object>)]
    pub attributes: Option<Value>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct SelfLink {
    #[serde(rename = "self")]
    pub self_: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct Nni {
    pub id: Uuid,
    pub csp: String,
    pub location_code: String,
    pub name: String,
    pub region: String,
    pub csp_ref: String,
    pub port_id: Uuid,
    pub linknet_pool_id: Uuid,
    pub csp_asn: i64,
    pub capacity_mbps: i32,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub links: SelfLink,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct NniList {
    pub items: Vec<Nni>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

// ===== pools =====

/// A block of 169.254.0.0/16 that peering subnets are carved from.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLinknetPool {
    #[schema(example = "aws-linknets", pattern = "^[a-z0-9-]{1,63}$")]
    pub name: String,
    /// Inside 169.254.0.0/16, a /29 or larger, overlapping no other pool.
    #[schema(example = "169.254.0.0/20")]
    pub cidr: String,
}

/// While subnets are allocated the pool may grow or shrink at the same base
/// address, never move.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinknetPoolUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub cidr: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct LinknetPool {
    pub id: Uuid,
    pub name: String,
    pub cidr: String,
    /// How many /31s the pool holds.
    pub size_31: u64,
    /// How many /31s are allocated (a /29 counts 4).
    pub allocated_31: u64,
    pub links: SelfLink,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct LinknetPoolList {
    pub items: Vec<LinknetPool>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Private ASNs handed to customers who bring none.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAsnPool {
    #[schema(example = "private-2byte", pattern = "^[a-z0-9-]{1,63}$")]
    pub name: String,
    /// Within 64512-65534 or 4200000000-4294967294, like `last`.
    #[schema(example = 65001)]
    pub first: i64,
    #[schema(example = 65100)]
    pub last: i64,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AsnPoolUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub first: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub last: Option<i64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct AsnPool {
    pub id: Uuid,
    pub name: String,
    pub first: i64,
    pub last: i64,
    pub size: u64,
    pub allocated: u64,
    pub links: SelfLink,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct AsnPoolList {
    pub items: Vec<AsnPool>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Route distinguishers / targets `<admin_asn>:<n>`, one per tenant VRF.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRouteTargetPool {
    #[schema(example = "default", pattern = "^[a-z0-9-]{1,63}$")]
    pub name: String,
    /// The administrator ASN: 1-4294967294, not the reserved 23456
    /// (AS_TRANS) or 65535.
    #[schema(example = 65000, minimum = 1, maximum = 4294967294u64)]
    pub admin_asn: i64,
    /// 0-4294967295 with a 2-byte `admin_asn`, 0-65535 with a 4-byte one.
    #[schema(example = 1000)]
    pub first: i64,
    #[schema(example = 65535)]
    pub last: i64,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteTargetPoolUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub admin_asn: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub first: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub last: Option<i64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct RouteTargetPool {
    pub id: Uuid,
    pub name: String,
    pub admin_asn: i64,
    pub first: i64,
    pub last: i64,
    pub size: u64,
    pub allocated: u64,
    pub links: SelfLink,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(super) struct RouteTargetPoolList {
    pub items: Vec<RouteTargetPool>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
