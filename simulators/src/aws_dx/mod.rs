//! AWS Direct Connect, partner side: hosted private virtual interfaces and
//! hosted connections on the partner's interconnects.
//!
//! The simulator speaks AWS JSON 1.1 (`POST /`, `X-Amz-Target:
//! OvertureService.<Op>`) so the unmodified `aws-sdk-directconnect` client
//! works against it with `endpoint_url`. The caller is identified by the access
//! key id in the SigV4 `Authorization` header (the signature is not checked):
//! the configured partner key acts as the partner account, and any access key
//! id of exactly 12 digits acts as that customer AWS account, which is how
//! tests and the demo play the customer "in their AWS console".
//!
//! Implemented operations: AllocatePrivateVirtualInterface,
//! ConfirmPrivateVirtualInterface, DescribeVirtualInterfaces,
//! DeleteVirtualInterface, AllocateHostedConnection, DescribeHostedConnections,
//! ConfirmConnection, DeleteConnection, CreatePrivateVirtualInterface,
//! DescribeConnections, DescribeInterconnects, DescribeLocations.
//!
//! Hosted connections, as each side sees them:
//! - The partner allocates one on its interconnect (AllocateHostedConnection):
//!   state `ordering`, its VLAN reserved on the interconnect (VLANs are unique
//!   per interconnect across hosted connections and hosted VIFs).
//! - The customer accepts with ConfirmConnection: `pending`, then `available`
//!   after [`SimConfig::available_after`]. The customer **declines** by calling
//!   DeleteConnection while it is still `ordering`: `rejected` at once, as AWS
//!   documents.
//! - DeleteConnection otherwise (partner or customer): `deleting`, then
//!   `deleted` after [`SimConfig::deleted_after`]; the VIF on it goes with it.
//!   Deleted and rejected connections stay listed, and free their VLAN.
//! - On an available hosted connection the customer creates its one VIF with
//!   CreatePrivateVirtualInterface (the connection's VLAN, a gateway named at
//!   once): `pending`, `available` with BGP down, then BGP up, like hosted
//!   VIFs. The partner sees it with DescribeVirtualInterfaces.
//! - The customer lists its hosted connections with DescribeConnections, the
//!   partner with DescribeHostedConnections (connectionId = the interconnect).
//!
//! Control plane (plain JSON, not AWS):
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | GET | `/_sim/virtual-interfaces` | every VIF, deleted ones included ([`SimVif`]) |
//! | GET | `/_sim/virtual-interfaces/{id}` | one VIF |
//! | POST | `/_sim/virtual-interfaces/{id}/bgp` | `{"status":"down"\|"up"}` on an available/down VIF |
//! | GET | `/_sim/connections` | every hosted connection, deleted ones included ([`SimConnection`]) |
//! | GET | `/_sim/connections/{id}` | one hosted connection |
//! | GET / POST / DELETE | `/_sim/faults` | list / arm ([`Fault`]) / disarm injected faults |
//! | GET | `/_sim/stats` | `{"<Operation>": calls}` for every AWS call received |
//! | GET / POST | `/_sim/clock`, `/_sim/clock/advance` | the simulator's time; `{"ms": n}` moves a manual clock (see [`SimConfig::clock`]) |

mod error;
mod http;
mod state;
mod validate;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use onramp_clock::Clock;

use serde::{Deserialize, Serialize};

use self::state::SimState;

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The partner's AWS account id; owner of the interconnects.
    pub partner_account: String,
    /// Access key id that authenticates as the partner.
    pub partner_access_key_id: String,
    /// The partner's name as AWS shows it on hosted connections
    /// (`partnerName`).
    pub partner_name: String,
    /// The partner's interconnects, on which hosted VIFs and hosted
    /// connections are allocated.
    pub interconnects: Vec<Interconnect>,
    /// From the customer's confirmation (state `pending`) to `available`; for
    /// hosted VIFs, the customer's own VIFs and hosted connections alike.
    pub available_after: Duration,
    /// From `available` to the BGP session coming up.
    pub bgp_up_after: Duration,
    /// From `deleting` to `deleted` (VIFs and hosted connections).
    pub deleted_after: Duration,
    /// The simulator's time: [`Clock::system`] by default; tests pass
    /// [`Clock::manual`] and advance it (or `POST /_sim/clock/advance`).
    pub clock: Clock,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            partner_account: "111122223333".to_owned(),
            partner_access_key_id: "AKIAONRAMPPARTNER".to_owned(),
            partner_name: "Onramp".to_owned(),
            interconnects: vec![Interconnect {
                connection_id: "dxcon-onramp01".to_owned(),
                name: "onramp-eqdc2-interconnect-1".to_owned(),
                location: "EqDC2".to_owned(),
                region: "us-east-1".to_owned(),
                bandwidth: "10Gbps".to_owned(),
            }],
            available_after: Duration::from_secs(1),
            bgp_up_after: Duration::from_secs(1),
            deleted_after: Duration::from_secs(1),
            clock: Clock::system(),
        }
    }
}

/// One of the partner's interconnects.
#[derive(Clone, Debug)]
pub struct Interconnect {
    /// `dxcon-...`
    pub connection_id: String,
    pub name: String,
    /// AWS location code, e.g. `EqDC2`.
    pub location: String,
    pub region: String,
    /// e.g. `10Gbps`.
    pub bandwidth: String,
}

/// A tag as AWS carries it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SimTag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Everything the simulator knows about a virtual interface (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SimVif {
    pub virtual_interface_id: String,
    pub virtual_interface_name: String,
    /// Always `private` for now.
    pub virtual_interface_type: String,
    pub owner_account: String,
    pub connection_id: String,
    pub location: String,
    pub region: String,
    pub vlan: u16,
    /// The effective customer ASN (`asnLong` when it was sent, else `asn`).
    pub asn: u32,
    pub amazon_side_asn: u32,
    pub auth_key: String,
    pub amazon_address: String,
    pub customer_address: String,
    pub address_family: String,
    pub mtu: u32,
    /// AWS `virtualInterfaceState` wire string (`confirming`, `pending`, ...).
    pub state: String,
    pub bgp_peer_id: String,
    /// `pending`, `available`, `deleting`, `deleted`.
    pub bgp_peer_state: String,
    /// `up` or `down`.
    pub bgp_status: String,
    pub virtual_gateway_id: Option<String>,
    pub direct_connect_gateway_id: Option<String>,
    pub tags: Vec<SimTag>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Everything the simulator knows about a hosted connection (snapshot).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SimConnection {
    /// `dxcon-...`
    pub connection_id: String,
    pub connection_name: String,
    /// The partner interconnect it was allocated on.
    pub interconnect_id: String,
    /// The customer's account.
    pub owner_account: String,
    pub partner_name: String,
    pub location: String,
    pub region: String,
    pub bandwidth: String,
    pub vlan: u16,
    /// AWS `connectionState` wire string (`ordering`, `pending`, ...).
    pub state: String,
    pub tags: Vec<SimTag>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An injected failure: the next `count` calls of `operation` (from anybody)
/// fail with `status` and `message` instead of running.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fault {
    /// AWS operation name, e.g. `AllocatePrivateVirtualInterface`.
    pub operation: String,
    #[serde(default = "Fault::default_message")]
    pub message: String,
    #[serde(default = "Fault::default_count")]
    pub count: u32,
    /// HTTP status: 400 (default) or 5xx.
    #[serde(default = "Fault::default_status")]
    pub status: u16,
    /// `__type` to send; defaults to `DirectConnectClientException` for 4xx and
    /// `DirectConnectServerException` for 5xx. `ThrottlingException` is handy.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

impl Fault {
    /// The next `count` calls fail with a 400 `DirectConnectClientException`.
    pub fn client(operation: &str, message: &str, count: u32) -> Self {
        Self {
            operation: operation.to_owned(),
            message: message.to_owned(),
            count,
            status: 400,
            error_type: None,
        }
    }

    /// The next `count` calls fail with a 500 `DirectConnectServerException`.
    pub fn server(operation: &str, message: &str, count: u32) -> Self {
        Self {
            status: 500,
            ..Self::client(operation, message, count)
        }
    }

    fn default_message() -> String {
        "Simulated failure.".to_owned()
    }

    fn default_count() -> u32 {
        1
    }

    fn default_status() -> u16 {
        400
    }
}

/// The simulator: shared state behind a lock, cheap to clone.
#[derive(Clone, Debug)]
pub struct AwsDxSim {
    state: Arc<Mutex<SimState>>,
}

impl AwsDxSim {
    pub fn new(cfg: SimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(SimState::new(cfg))),
        }
    }

    /// The AWS endpoint (`POST /`) plus the `/_sim/` control plane.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves in a tokio task
    /// until the returned handle drops.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<RunningSim> {
        let router = self.router();
        crate::running::serve(self, router, addr, "AWS Direct Connect").await
    }

    /// Every virtual interface, deleted ones included, oldest first.
    pub fn virtual_interfaces(&self) -> Vec<SimVif> {
        self.lock_now().snapshot()
    }

    pub fn virtual_interface(&self, vif_id: &str) -> Option<SimVif> {
        self.lock_now().vif(vif_id)
    }

    /// Every hosted connection, deleted and rejected ones included, oldest
    /// first.
    pub fn hosted_connections(&self) -> Vec<SimConnection> {
        self.lock_now().hosted_snapshot()
    }

    pub fn hosted_connection(&self, connection_id: &str) -> Option<SimConnection> {
        self.lock_now().hosted(connection_id)
    }

    /// Forces the BGP session of an available or down VIF up or down (as
    /// `POST /_sim/virtual-interfaces/{id}/bgp`).
    pub fn set_bgp(&self, vif_id: &str, up: bool) -> Result<SimVif, String> {
        let mut state = self.lock_now();
        let now = state.cfg.clock.now();
        state.set_bgp(vif_id, up, now).map_err(|(_, msg)| msg)
    }

    /// The simulator's time source (shared: advancing it moves the
    /// simulator).
    pub fn clock(&self) -> Clock {
        self.lock().cfg.clock.clone()
    }

    pub fn inject_fault(&self, fault: Fault) {
        self.lock().add_fault(fault);
    }

    pub fn clear_faults(&self) {
        self.lock().clear_faults();
    }

    /// AWS calls received per operation (every call, failed ones included).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.lock().stats()
    }

    pub fn config(&self) -> SimConfig {
        self.lock().cfg.clone()
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state with every transition due by now applied.
    fn lock_now(&self) -> MutexGuard<'_, SimState> {
        let mut state = self.lock();
        let now = state.cfg.clock.now();
        state.advance(now);
        state
    }
}

/// The AwsDxSim simulator serving on a socket; dropping it stops the server.
pub type RunningSim = crate::running::Running<AwsDxSim>;
