//! Inventory administration: create, read, update and delete PE routers,
//! their ports, NNIs and the resource pools (link-net, ASN, route-target).
//!
//! Every write validates the whole resulting object first (a PATCH is merged
//! onto the stored row, then validated like a create) and reports every field
//! at fault at once. Writes that would strand something are refused and say
//! what they would strand:
//!
//! - deleting a PE with ports, a port carrying NNIs or allocated VLANs, an
//!   NNI that connectors reference, a pool with allocations or NNIs;
//! - shrinking a port's VLAN range, an ASN or route-target range or a
//!   link-net pool so that an allocated value falls outside;
//! - moving a live NNI to another port, pool, CSP or peer ASN, or lowering
//!   its capacity below a live connector's bandwidth.
//!
//! Names are unique where the schema says so (PE, pool names; port name per
//! PE; one NNI per CSP object, while NNIs at one location form a group); a
//! clash is a [`AdminError::Conflict`]
//! naming the field, as is a pool that overlaps another one.
//!
//! One module per object (`pes`, `ports`, `nnis`, `pools`); `error` is how
//! a write is refused, `checks` the field rules they share, `usage` what
//! holds an allocation and how a refusal lists it. Everything callers use
//! is re-exported here, so `onramp_store::admin::create_pe` and the like
//! keep their paths.

mod checks;
mod error;
mod nnis;
mod pes;
pub mod pools;
mod ports;
mod usage;

pub use checks::{valid_fingerprint, valid_host, valid_name};
pub use error::{AdminError, AdminResult, Issue};
pub use nnis::{
    CSPS, FINISHED_STATES, NniPatch, NniSpec, create_nni, delete_nni, get_nni, list_nnis,
    update_nni,
};
pub use pes::{
    PePatch, PeSpec, create_pe, delete_pe, end_maintenance, get_pe, held_changes, list_pes,
    start_maintenance, update_pe,
};
pub use pools::RangePool;
pub use pools::asn::{
    AsnPoolPatch, AsnPoolSpec, PRIVATE_ASN_RANGES, create_asn_pool, delete_asn_pool, get_asn_pool,
    list_asn_pools, update_asn_pool,
};
pub use pools::linknet::{
    LINKNET_MAX_PREFIX, LINKNET_SUPERNET, LinknetPoolPatch, LinknetPoolSpec, create_linknet_pool,
    delete_linknet_pool, get_linknet_pool, list_linknet_pools, update_linknet_pool,
};
pub use pools::route_target::{
    RouteTargetPoolPatch, RouteTargetPoolSpec, create_route_target_pool, delete_route_target_pool,
    get_route_target_pool, list_route_target_pools, update_route_target_pool,
};
pub use ports::{PortPatch, PortSpec, create_port, delete_port, get_port, list_ports, update_port};
pub use usage::allocated_count;
