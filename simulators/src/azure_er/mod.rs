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
//! | GET | `providers/Microsoft.Network/locations/{loc}/azureAsyncOperations/{id}` | LRO status |
//!
//! Control plane (plain JSON, plays the customer and injects faults):
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | POST | `/_sim/circuits` | customer creates a circuit ([`CreateCircuit`]) → [`SimCrossConnection`] |
//! | GET | `/_sim/cross-connections[/{key}]` | the shadow cross-connections |
//! | GET / POST / DELETE | `/_sim/faults` | list / arm ([`AzureFault`]) / disarm |
//! | GET | `/_sim/stats` | `{"<operationId>": calls}` |

mod http;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "Azure ExpressRoute simulator stopped");
            }
        });
        tracing::info!(%addr, "Azure ExpressRoute simulator listening");
        Ok(RunningAzureSim {
            addr,
            sim: self,
            shutdown: Some(shutdown),
            task,
        })
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

    /// Issues a valid access token without the OAuth2 round trip.
    pub fn issue_token(&self) -> String {
        self.lock().issue_token(Instant::now())
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

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_now(&self) -> MutexGuard<'_, SimState> {
        let mut state = self.lock();
        state.advance(Instant::now());
        state
    }
}

/// A simulator serving on a socket; dropping it stops the server.
#[derive(Debug)]
pub struct RunningAzureSim {
    pub addr: SocketAddr,
    pub sim: AzureErSim,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningAzureSim {
    /// `http://127.0.0.1:<port>`: stands for both `management.azure.com` and
    /// `login.microsoftonline.com`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningAzureSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
