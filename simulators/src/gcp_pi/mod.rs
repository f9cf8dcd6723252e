//! Google Cloud Partner Interconnect, partner side: the Compute v1
//! `interconnectAttachments` API of a partner project (type
//! `PARTNER_PROVIDER`), regional operations, and a GCE-metadata-compatible
//! token endpoint.
//!
//! The simulator speaks Compute JSON over HTTP (camelCase, `int64`/`uint64`
//! fields as strings), so a plain `reqwest` client built for
//! `compute.googleapis.com` and `metadata.google.internal` works against it
//! by swapping the base URL.
//!
//! Compute surface (under `/compute/v1/projects/{project}/regions/{region}/`;
//! every call needs `Authorization: Bearer <token>`):
//!
//! | Method | Path | Operation (stats key) |
//! |---|---|---|
//! | POST | `interconnectAttachments[?requestId=<uuid>]` | `compute.interconnectAttachments.insert` → `compute#operation` |
//! | GET | `interconnectAttachments` | `compute.interconnectAttachments.list` |
//! | GET | `interconnectAttachments/{name}` | `compute.interconnectAttachments.get` |
//! | DELETE | `interconnectAttachments/{name}[?requestId=<uuid>]` | `compute.interconnectAttachments.delete` → `compute#operation` |
//! | GET | `operations/{operation}` | `compute.regionOperations.get` |
//! | POST | `operations/{operation}/wait` | `compute.regionOperations.wait`: returns once the operation is `DONE`, or after [`GcpSimConfig::wait_max`] |
//!
//! Token endpoint: `GET /computeMetadata/v1/instance/service-accounts/default/token`
//! with `Metadata-Flavor: Google` (403 without it) →
//! `{"access_token", "expires_in", "token_type": "Bearer"}` (stats key
//! `metadata.token`); `GET /computeMetadata/v1/project/project-id` answers the
//! partner project. An unknown, revoked or expired token gets a 401 Google
//! error (`UNAUTHENTICATED`).
//!
//! Errors use Google's body: `{"error": {"code", "message", "errors":
//! [{"message", "domain", "reason"}], "status"}}`, `reason` one of
//! `required`, `invalid`, `notFound`, `alreadyExists`, `conflict`,
//! `resourceNotReady`, `forbidden`, `authError`, `rateLimitExceeded`.
//!
//! Insert checks, in order: `requestId` (a UUID; one seen before returns
//! that request's operation and changes nothing, whatever the body), the body
//! (known fields only), `name` (RFC 1035, unique among attachments and
//! pending inserts: `alreadyExists`), `type` `PARTNER_PROVIDER`,
//! `interconnect` (one of [`GcpSimConfig::interconnects`], in the URL's
//! region: `notFound` / `invalid`), `vlanTag8021q` (2..=4094, free on that
//! interconnect: `conflict`), `bandwidth` (`BPS_50M`..`BPS_50G`),
//! `partnerMetadata` (all three fields), `partnerAsn`, `subnetLength` (29 or
//! 30), `candidateSubnets`, and the pairing key: `<uuid>/<region>/<1|2>`,
//! region equal to the URL's, created by a customer (`notFound`), not paired
//! nor defunct (`conflict`), same edge availability domain as the
//! interconnect (`invalid`).
//!
//! Life cycle. An operation is `PENDING`, then `RUNNING`, then `DONE` after
//! [`GcpSimConfig::op_delay`]; its effect applies when it is done. An insert
//! reserves the name, VLAN, pairing key and a free /29 (`cloudRouterIpAddress`
//! `.1`, `customerRouterIpAddress` `.2`) from `169.254.0.0/16` at once; the
//! attachment exists (GET) once the operation is done, in state
//! `PENDING_CUSTOMER` (`ACTIVE` if the customer pre-activated). The customer
//! attachment goes `PENDING_PARTNER` → `PARTNER_REQUEST_RECEIVED` (insert
//! running) → `PENDING_CUSTOMER` → `ACTIVE` (customer activates: the partner
//! side turns `ACTIVE`, `OS_ACTIVE`). When the customer deletes theirs, the
//! partner attachment becomes `DEFUNCT`. When the partner's delete is done,
//! the attachment is gone and the customer's goes back to `PENDING_PARTNER`
//! (the key can be paired again) if it was never active, or to `DEFUNCT` if
//! it was. A failed operation (see [`GcpFault::OperationFailure`]) changes
//! nothing and releases what the insert reserved.
//!
//! Control plane (plain JSON, plays the customer and injects faults):
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | POST | `/_sim/pairing-keys` | customer creates a `PARTNER` attachment ([`CreatePairingKey`]) → 201 [`SimCustomerAttachment`] with its `pairingKey` |
//! | POST | `/_sim/customer-attachments/{key}/activate` | customer sets `adminEnabled` ([`GcpPiSim::activate`]); `{key}` is the url-encoded pairing key or its UUID |
//! | DELETE | `/_sim/customer-attachments/{key}` | customer deletes their attachment ([`GcpPiSim::customer_delete`]) |
//! | GET | `/_sim/attachments` | [`SimAttachments`]: both sides |
//! | GET | `/_sim/operations` | every operation ([`SimOperation`]), oldest first |
//! | DELETE | `/_sim/tokens` | revoke every issued access token |
//! | GET / POST / DELETE | `/_sim/faults` | list / arm ([`GcpFault`]) / disarm |
//! | GET | `/_sim/stats` | `{"<method id>": calls}` (refused calls included) |
//! | GET / POST | `/_sim/clock`, `/_sim/clock/advance` | the simulator's time; `{"ms": n}` moves a manual clock (see `clock` in the config) |
//!
//! Control-plane errors are 4xx with `{"message": "...", "error": "..."}`
//! (both keys carry the same text).

mod http;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use onramp_clock::Clock;

use serde::{Deserialize, Deserializer, Serialize};

use self::state::SimState;

/// One of the partner's interconnects (a port pair in a colocation facility
/// that Google connected to one edge availability domain of a metro).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimInterconnect {
    /// Resource name, e.g. `onramp-sjc-zone1`.
    pub name: String,
    /// The region whose attachments may use it, e.g. `us-west1`.
    pub region: String,
    /// 1 or 2.
    pub edge_availability_domain: u8,
}

impl SimInterconnect {
    pub fn new(name: &str, region: &str, edge_availability_domain: u8) -> Self {
        Self {
            name: name.to_owned(),
            region: region.to_owned(),
            edge_availability_domain,
        }
    }
}

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct GcpSimConfig {
    /// The partner project, which owns the interconnects and the
    /// `PARTNER_PROVIDER` attachments.
    pub project: String,
    /// The partner's name as customers see it.
    pub partner_name: String,
    pub interconnects: Vec<SimInterconnect>,
    /// Regions Compute knows, besides those of the interconnects.
    pub regions: Vec<String>,
    /// Time from an operation's creation to `DONE` (it is `PENDING` for the
    /// first quarter, then `RUNNING`).
    pub op_delay: Duration,
    /// The longest `operations/{op}/wait` holds the call (Google: about 2
    /// minutes).
    pub wait_max: Duration,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: Duration,
    /// The simulator's time: [`Clock::system`] by default; tests pass
    /// [`Clock::manual`] and advance it (or `POST /_sim/clock/advance`).
    pub clock: Clock,
}

impl Default for GcpSimConfig {
    fn default() -> Self {
        Self {
            project: "onramp-partner".to_owned(),
            partner_name: "Onramp".to_owned(),
            interconnects: vec![
                SimInterconnect::new("onramp-sjc-zone1", "us-west1", 1),
                SimInterconnect::new("onramp-sjc-zone2", "us-west1", 2),
                SimInterconnect::new("onramp-iad-zone1", "us-east4", 1),
                SimInterconnect::new("onramp-iad-zone2", "us-east4", 2),
            ],
            regions: [
                "us-central1",
                "us-east1",
                "us-east4",
                "us-west1",
                "us-west2",
                "europe-west1",
                "europe-west3",
                "asia-southeast1",
            ]
            .map(str::to_owned)
            .to_vec(),
            op_delay: Duration::from_secs(2),
            wait_max: Duration::from_secs(120),
            token_ttl: Duration::from_secs(3599),
            clock: Clock::system(),
        }
    }
}

/// The customer creates a Partner Interconnect attachment (type `PARTNER`)
/// in their project (`POST /_sim/pairing-keys`); Google hands them the
/// pairing key they give to the partner.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatePairingKey {
    pub region: String,
    /// 1 or 2; the JSON may also say `"AVAILABILITY_DOMAIN_1"`.
    #[serde(deserialize_with = "de_domain")]
    pub edge_availability_domain: u8,
    /// `customer-project` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_project: Option<String>,
    /// Attachment name in the customer project; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Pre-activation: the attachment turns `ACTIVE` as soon as the partner
    /// has provisioned it.
    #[serde(default)]
    pub admin_enabled: bool,
}

impl CreatePairingKey {
    pub fn new(region: &str, edge_availability_domain: u8) -> Self {
        Self {
            region: region.to_owned(),
            edge_availability_domain,
            customer_project: None,
            name: None,
            admin_enabled: false,
        }
    }
}

fn de_domain<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let parsed = match &v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s
            .strip_prefix("AVAILABILITY_DOMAIN_")
            .unwrap_or(s)
            .parse()
            .ok(),
        _ => None,
    };
    match parsed {
        Some(n @ (1 | 2)) => Ok(n as u8),
        _ => Err(serde::de::Error::custom(format!(
            "edgeAvailabilityDomain must be 1 or 2, not {v}"
        ))),
    }
}

/// `partnerMetadata` of a `PARTNER_PROVIDER` attachment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimPartnerMetadata {
    pub partner_name: String,
    pub interconnect_name: String,
    pub portal_url: String,
}

/// The customer's `PARTNER` attachment (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimCustomerAttachment {
    pub name: String,
    pub customer_project: String,
    pub region: String,
    /// `AVAILABILITY_DOMAIN_1` or `AVAILABILITY_DOMAIN_2`.
    pub edge_availability_domain: String,
    /// `<uuid>/<region>/<1|2>`.
    pub pairing_key: String,
    /// `PENDING_PARTNER`, `PARTNER_REQUEST_RECEIVED`, `PENDING_CUSTOMER`,
    /// `ACTIVE` or `DEFUNCT`.
    pub state: String,
    pub admin_enabled: bool,
    /// Name of the partner attachment paired with it (also while its insert
    /// runs).
    pub partner_attachment: Option<String>,
    /// What the partner provisioned, once it is done.
    pub partner_metadata: Option<SimPartnerMetadata>,
    pub vlan_tag8021q: Option<u16>,
    pub bandwidth: Option<String>,
    pub cloud_router_ip_address: Option<String>,
    pub customer_router_ip_address: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The partner's `PARTNER_PROVIDER` attachment (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimPartnerAttachment {
    pub name: String,
    /// Google's numeric id (decimal string).
    pub id: String,
    pub region: String,
    /// Name of the partner interconnect.
    pub interconnect: String,
    pub pairing_key: String,
    pub vlan_tag8021q: u16,
    pub bandwidth: String,
    pub partner_metadata: SimPartnerMetadata,
    pub partner_asn: Option<u32>,
    pub description: Option<String>,
    /// `PENDING_CUSTOMER`, `ACTIVE` or `DEFUNCT`.
    pub state: String,
    /// `AVAILABILITY_DOMAIN_1` or `AVAILABILITY_DOMAIN_2`.
    pub edge_availability_domain: String,
    /// `169.254.x.y/29` (or `/30`).
    pub cloud_router_ip_address: String,
    pub customer_router_ip_address: String,
    pub google_reference_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Both sides (`GET /_sim/attachments`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimAttachments {
    /// Oldest first.
    pub customer: Vec<SimCustomerAttachment>,
    /// Oldest first.
    pub partner: Vec<SimPartnerAttachment>,
}

/// A Compute operation (snapshot, `GET /_sim/operations`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimOperation {
    pub name: String,
    pub region: String,
    /// `insert` or `delete`.
    pub operation_type: String,
    /// The attachment's name.
    pub target: String,
    pub request_id: Option<String>,
    /// `PENDING`, `RUNNING` or `DONE`.
    pub status: String,
    /// `(code, message)` of a failed operation.
    pub error: Option<(String, String)>,
    pub insert_time: chrono::DateTime<chrono::Utc>,
}

/// An injected fault (`POST /_sim/faults`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GcpFault {
    /// The next `count` Compute calls get 429 `rateLimitExceeded`
    /// (`RESOURCE_EXHAUSTED`) with `Retry-After: retry_after` (seconds).
    RateLimit {
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "one_u64")]
        retry_after: u64,
    },
    /// The next `count` operations end `DONE` with `error.errors[{code,
    /// message}]` and `httpErrorStatusCode: http_status`.
    OperationFailure {
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "default_op_code")]
        code: String,
        #[serde(default = "default_op_message")]
        message: String,
        #[serde(default = "default_op_status")]
        http_status: u16,
    },
}

impl GcpFault {
    /// A rate limit on the next `count` calls, `Retry-After: retry_after`.
    pub fn rate_limit(count: u32, retry_after: u64) -> Self {
        Self::RateLimit { count, retry_after }
    }

    /// `count` operations failing with `INTERNAL_ERROR` (HTTP 500).
    pub fn operation_failure(count: u32) -> Self {
        Self::OperationFailure {
            count,
            code: default_op_code(),
            message: default_op_message(),
            http_status: default_op_status(),
        }
    }
}

fn one() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

fn default_op_code() -> String {
    "INTERNAL_ERROR".to_owned()
}

fn default_op_message() -> String {
    "Internal error. Please try again or contact Google Support.".to_owned()
}

fn default_op_status() -> u16 {
    500
}

/// The simulator: shared state behind a lock, cheap to clone.
#[derive(Clone, Debug)]
pub struct GcpPiSim {
    state: Arc<Mutex<SimState>>,
}

impl GcpPiSim {
    pub fn new(cfg: GcpSimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(SimState::new(cfg))),
        }
    }

    /// Metadata token endpoint, Compute endpoints and the `/_sim/` control
    /// plane.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves in a tokio task
    /// until the returned handle drops.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<RunningGcpSim> {
        let router = self.router();
        crate::running::serve(self, router, addr, "GCP Partner Interconnect").await
    }

    /// The customer creates a `PARTNER` attachment; its `pairing_key` is
    /// what they hand to the partner.
    pub fn create_pairing_key(
        &self,
        req: CreatePairingKey,
    ) -> Result<SimCustomerAttachment, String> {
        self.lock_now().create_pairing_key(req)
    }

    /// The customer sets `adminEnabled` on their attachment (by pairing key
    /// or its UUID). Paired and provisioned: both sides turn `ACTIVE`; not
    /// yet: pre-activation. Refused for a `DEFUNCT` attachment.
    pub fn activate(&self, pairing_key: &str) -> Result<SimCustomerAttachment, String> {
        self.lock_now().activate(pairing_key).map_err(|(_, m)| m)
    }

    /// The customer deletes their attachment (by pairing key or its UUID);
    /// the partner attachment paired with it becomes `DEFUNCT`. Returns what
    /// was deleted.
    pub fn customer_delete(&self, pairing_key: &str) -> Result<SimCustomerAttachment, String> {
        self.lock_now()
            .customer_delete(pairing_key)
            .map_err(|(_, m)| m)
    }

    /// Both sides, oldest first.
    pub fn attachments(&self) -> SimAttachments {
        self.lock_now().snapshot()
    }

    /// The customer attachment of a pairing key (or its UUID).
    pub fn customer_attachment(&self, pairing_key: &str) -> Option<SimCustomerAttachment> {
        self.lock_now().customer_attachment(pairing_key)
    }

    pub fn partner_attachment(&self, region: &str, name: &str) -> Option<SimPartnerAttachment> {
        self.lock_now().partner_attachment(region, name)
    }

    /// Every operation, oldest first.
    pub fn operations(&self) -> Vec<SimOperation> {
        self.lock_now().operations()
    }

    /// Issues a valid access token without the metadata round trip.
    pub fn issue_token(&self) -> String {
        let mut state = self.lock();
        let now = state.cfg.clock.now();
        state.issue_token(now)
    }

    /// Revokes every access token issued so far (as `DELETE /_sim/tokens`):
    /// the next Compute call with one of them gets 401.
    pub fn revoke_tokens(&self) {
        self.lock().revoke_tokens();
    }

    pub fn inject_fault(&self, fault: GcpFault) {
        self.lock().add_fault(fault);
    }

    pub fn faults(&self) -> Vec<GcpFault> {
        self.lock().faults()
    }

    pub fn clear_faults(&self) {
        self.lock().clear_faults();
    }

    /// Calls received per method id (refused ones included), e.g.
    /// `compute.interconnectAttachments.insert`.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.lock().stats()
    }

    pub fn config(&self) -> GcpSimConfig {
        self.lock().cfg.clone()
    }

    /// The simulator's time source (shared: advancing it moves the
    /// simulator).
    pub fn clock(&self) -> Clock {
        self.lock().cfg.clock.clone()
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_now(&self) -> MutexGuard<'_, SimState> {
        let mut state = self.lock();
        let now = state.cfg.clock.now();
        state.advance(now);
        state
    }
}

/// The GcpPiSim simulator serving on a socket; dropping it stops the server.
pub type RunningGcpSim = crate::running::Running<GcpPiSim>;
