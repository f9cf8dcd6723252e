//! Azure ExpressRoute, partner side: the ARM `expressRouteCrossConnections`
//! API of a connectivity provider, plus the AAD token endpoint.
//!
//! The simulator speaks ARM JSON over HTTP so a plain `reqwest` client built
//! for `management.azure.com` and `login.microsoftonline.com` works against it
//! by swapping the base URL. Every ARM call needs a bearer token from
//! `POST /{tenant}/oauth2/v2.0/token` (client credentials) and an
//! `api-version` between 2024-05-01 and 2025-05-01.
//!
//! ARM surface (under `/subscriptions/{sub}/`):
//!
//! | Method | Path | Operation |
//! |---|---|---|
//! | GET | `providers/Microsoft.Network/expressRouteCrossConnections[?$filter=name eq '<key>']` | list / look up by service key |
//! | GET, PUT | `resourceGroups/{rg}/providers/Microsoft.Network/expressRouteCrossConnections/{key}` | read / set `serviceProviderProvisioningState` (LRO) |
//! | GET, PUT, DELETE | `.../expressRouteCrossConnections/{key}/peerings/AzurePrivatePeering` | private peering (PUT and DELETE are LROs) |
//! | POST | `.../peerings/AzurePrivatePeering/routeTablesSummary/{primary\|secondary}` | BGP session of one leg, as seen by the MSEE (see below) |
//! | GET | `providers/Microsoft.Network/locations/{loc}/azureAsyncOperations/{id}` | LRO status |
//! | GET | `providers/Microsoft.Network/locations/{loc}/operationResults/{id}` | LRO result (`Location`): 202 while running, then the result |
//!
//! `routeTablesSummary` is an ARM long-running POST. The simulator answers it
//! synchronously (200, `{"value":[{neighbor, asn, upDown,
//! stateOrPrefixesReceived}]}`) unless an [`AzureFault::AsyncRouteSummary`] is
//! armed, in which case it answers 202 with `Azure-AsyncOperation` and
//! `Location`, and the summary is the body of the `Location` URL once the
//! operation succeeded. `neighbor` is Microsoft's address in the leg's /30
//! (the second usable one), `asn` is 12076. A leg is Established (a prefix
//! count in `stateOrPrefixesReceived`) while the cross-connection is
//! `Provisioned` with `provisioningState` `Succeeded`, the private peering is
//! `Succeeded` and `Enabled`, and the leg was not forced down; otherwise it
//! reads `Idle` (not provisioned or peering not ready), `Idle (Admin)`
//! (peering `Disabled`) or `Active` (forced down: the MSEE keeps trying).
//! A device path other than `primary`/`secondary` is a 400; no peering is a
//! 404 `NotFound`.
//!
//! Control plane (plain JSON, plays the customer and injects faults):
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | POST | `/_sim/circuits` | customer creates a circuit ([`CreateCircuit`]) → [`SimCrossConnection`] |
//! | GET | `/_sim/cross-connections[/{key}]` | the shadow cross-connections |
//! | POST | `/_sim/cross-connections/{key}/legs/{primary\|secondary}` | `{"up": false\|true}`: force that leg's BGP session down / let it come up ([`AzureErSim::set_leg_up`]) |
//! | PUT | `/_sim/cross-connections/{key}/private-peering` | the customer configures the private peering from their circuit ([`CustomerPeering`], applies at once; [`AzureErSim::customer_private_peering`]) |
//! | DELETE | `/_sim/tokens` | revoke every issued access token (ARM then answers 401) |
//! | GET / POST / DELETE | `/_sim/faults` | list / arm ([`AzureFault`]) / disarm |
//! | GET | `/_sim/stats` | `{"<operationId>": calls}` |
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

use serde::{Deserialize, Serialize};

use self::state::SimState;

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct AzureSimConfig {
    /// AAD tenant of the partner's app registration.
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The partner's subscription, which holds the cross-connections.
    pub subscription_id: String,
    /// Service provider name as customers pick it (e.g. `Onramp`).
    pub provider_name: String,
    /// Peering locations the provider serves, e.g. `Silicon Valley`.
    pub peering_locations: Vec<String>,
    /// Time a long-running operation stays `InProgress`.
    pub lro_delay: Duration,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// The simulator's time: [`Clock::system`] by default; tests pass
    /// [`Clock::manual`] and advance it (or `POST /_sim/clock/advance`).
    pub clock: Clock,
}

impl Default for AzureSimConfig {
    fn default() -> Self {
        Self {
            tenant_id: "72f988bf-0000-4000-8000-0000000000aa".to_owned(),
            client_id: "0a1b2c3d-0000-4000-8000-0000000000bb".to_owned(),
            client_secret: "onramp-sim-secret".to_owned(),
            subscription_id: "5f1c2d3e-0000-4000-8000-0000000000cc".to_owned(),
            provider_name: "Onramp".to_owned(),
            peering_locations: vec!["Silicon Valley".to_owned(), "Washington DC".to_owned()],
            lro_delay: Duration::from_secs(1),
            token_ttl: Duration::from_secs(3600),
            clock: Clock::system(),
        }
    }
}

/// The customer's circuit order (`POST /_sim/circuits`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreateCircuit {
    pub peering_location: String,
    pub bandwidth_in_mbps: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_name: Option<String>,
    /// Azure region of the circuit; `westus` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The private peering of a cross-connection (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimPeering {
    #[serde(rename = "peerASN")]
    pub peer_asn: u32,
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    pub vlan_id: u16,
    pub shared_key: Option<String>,
    #[serde(rename = "azureASN")]
    pub azure_asn: u32,
    /// `Enabled` or `Disabled`.
    pub state: String,
    /// `Updating`, `Succeeded`, `Deleting`, `Failed`.
    pub provisioning_state: String,
    /// `ServiceProvider` (ARM PUT) or `Customer` (configured from the circuit).
    #[serde(default = "service_provider")]
    pub last_modified_by: String,
}

fn service_provider() -> String {
    "ServiceProvider".to_owned()
}

/// One of the two links (MSEE device paths) of a cross-connection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SimLeg {
    Primary,
    Secondary,
}

impl SimLeg {
    /// The ARM device path: `primary` or `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

impl std::str::FromStr for SimLeg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "primary" => Ok(Self::Primary),
            "secondary" => Ok(Self::Secondary),
            _ => Err(format!(
                "device path {s:?} is invalid; use primary or secondary"
            )),
        }
    }
}

/// The private peering's BGP session on one leg (snapshot).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimBgpSession {
    /// Forced down through the control plane (the provider's router stops
    /// answering on that link).
    #[serde(default)]
    pub forced_down: bool,
    /// Whether the session is Established right now.
    #[serde(default)]
    pub established: bool,
    /// When `established` last changed; `None` while it never came up.
    #[serde(default)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// The customer's own private-peering settings
/// (`PUT /_sim/cross-connections/{key}/private-peering`): the ARM peering
/// properties, flat or under `properties`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPeering {
    #[serde(rename = "peerASN")]
    pub peer_asn: u32,
    pub primary_peer_address_prefix: String,
    pub secondary_peer_address_prefix: String,
    pub vlan_id: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
}

impl std::fmt::Debug for CustomerPeering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerPeering")
            .field("peer_asn", &self.peer_asn)
            .field(
                "primary_peer_address_prefix",
                &self.primary_peer_address_prefix,
            )
            .field(
                "secondary_peer_address_prefix",
                &self.secondary_peer_address_prefix,
            )
            .field("vlan_id", &self.vlan_id)
            .field(
                "shared_key",
                &self.shared_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A shadow cross-connection in the partner subscription (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimCrossConnection {
    /// Lower-case GUID; also the resource name.
    pub service_key: String,
    /// `CrossConnection-<PeeringLocation>` (spaces removed).
    pub resource_group: String,
    pub location: String,
    pub peering_location: String,
    pub bandwidth_in_mbps: u32,
    pub s_tag: u32,
    pub primary_azure_port: String,
    pub secondary_azure_port: String,
    /// ARM id of the customer's circuit.
    pub circuit_id: String,
    /// `NotProvisioned`, `Provisioned`, `Deprovisioning`.
    pub service_provider_provisioning_state: String,
    pub service_provider_notes: Option<String>,
    /// `Succeeded`, `Updating`, `Failed`.
    pub provisioning_state: String,
    pub private_peering: Option<SimPeering>,
    /// BGP session of the private peering on the primary link.
    #[serde(default)]
    pub primary_bgp: SimBgpSession,
    /// BGP session of the private peering on the secondary link.
    #[serde(default)]
    pub secondary_bgp: SimBgpSession,
    pub etag: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An injected fault (`POST /_sim/faults`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AzureFault {
    /// The next `count` ARM calls get 429 with `Retry-After: retry_after`.
    Throttle {
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "one_u64")]
        retry_after: u64,
    },
    /// The next `count` long-running operations end `Failed`.
    LroFailure {
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "default_lro_code")]
        code: String,
        #[serde(default = "default_lro_message")]
        message: String,
    },
    /// The next `count` `routeTablesSummary` calls answer like a busy ARM
    /// does: 202 with `Azure-AsyncOperation` and `Location`; the summary is
    /// the `Location` body once the operation succeeded (after `lro_delay`).
    AsyncRouteSummary {
        #[serde(default = "one")]
        count: u32,
    },
}

fn one() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

fn default_lro_code() -> String {
    "InternalServerError".to_owned()
}

fn default_lro_message() -> String {
    "Simulated operation failure.".to_owned()
}

/// The simulator: shared state behind a lock, cheap to clone.
#[derive(Clone, Debug)]
pub struct AzureErSim {
    state: Arc<Mutex<SimState>>,
}

impl AzureErSim {
    pub fn new(cfg: AzureSimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(SimState::new(cfg))),
        }
    }

    /// Token endpoint, ARM endpoints and the `/_sim/` control plane.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves in a tokio task
    /// until the returned handle drops.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<RunningAzureSim> {
        let router = self.router();
        crate::running::serve(self, router, addr, "Azure ExpressRoute").await
    }

    /// The customer orders a circuit; returns the shadow cross-connection.
    pub fn create_circuit(&self, req: CreateCircuit) -> Result<SimCrossConnection, String> {
        self.lock_now().create_circuit(req)
    }

    /// Every cross-connection, oldest first.
    pub fn cross_connections(&self) -> Vec<SimCrossConnection> {
        self.lock_now().snapshot()
    }

    pub fn cross_connection(&self, service_key: &str) -> Option<SimCrossConnection> {
        self.lock_now().cross_connection(service_key)
    }

    /// Forces one leg's BGP session down (`up: false`) or lets it come back
    /// (`up: true`; it is Established again if everything else is in place),
    /// as `POST /_sim/cross-connections/{key}/legs/{leg}`.
    pub fn set_leg_up(
        &self,
        service_key: &str,
        leg: SimLeg,
        up: bool,
    ) -> Result<SimCrossConnection, String> {
        self.lock_now()
            .set_leg_up(service_key, leg, up)
            .map_err(|(_, msg)| msg)
    }

    /// The circuit's owner upgrades its bandwidth in Azure, as
    /// `POST /_sim/cross-connections/{key}/bandwidth` `{"mbps": N}`.
    pub fn set_circuit_bandwidth(
        &self,
        service_key: &str,
        mbps: u32,
    ) -> Result<SimCrossConnection, String> {
        self.lock_now()
            .set_circuit_bandwidth(service_key, mbps)
            .map_err(|(_, msg)| msg)
    }

    /// The customer configures the private peering from their circuit; it
    /// applies at once (`Succeeded`, `lastModifiedBy: Customer`). Needs the
    /// cross-connection `Provisioned` and idle. As
    /// `PUT /_sim/cross-connections/{key}/private-peering`.
    pub fn customer_private_peering(
        &self,
        service_key: &str,
        req: CustomerPeering,
    ) -> Result<SimCrossConnection, String> {
        self.lock_now()
            .customer_private_peering(service_key, &req)
            .map(|(xc, _)| xc)
            .map_err(|(_, msg)| msg)
    }

    /// Revokes every access token issued so far (as `DELETE /_sim/tokens`):
    /// the next ARM call with one of them gets 401.
    pub fn revoke_tokens(&self) {
        self.lock().revoke_tokens();
    }

    /// Issues a valid access token without the OAuth2 round trip.
    pub fn issue_token(&self) -> String {
        let mut state = self.lock();
        let now = state.cfg.clock.now();
        state.issue_token(now)
    }

    pub fn inject_fault(&self, fault: AzureFault) {
        self.lock().add_fault(fault);
    }

    pub fn faults(&self) -> Vec<AzureFault> {
        self.lock().faults()
    }

    pub fn clear_faults(&self) {
        self.lock().clear_faults();
    }

    /// Calls received per operation id (failed ones included).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.lock().stats()
    }

    pub fn config(&self) -> AzureSimConfig {
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

/// The AzureErSim simulator serving on a socket; dropping it stops the server.
pub type RunningAzureSim = crate::running::Running<AzureErSim>;
