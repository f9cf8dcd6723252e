//! The simulated Direct Connect account data and the operations on it.
//!
//! Time-driven transitions (pending → available → BGP up, deleting → deleted;
//! the same for hosted connections, see [`connections`]) are applied lazily: every access first calls [`SimState::advance`] with the
//! current instant, so there are no timer tasks and a zero delay is exact.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::time::Instant;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use self::connections::HostedRecord;
use super::error::ApiError;
use super::{Fault, SimConfig, SimVif, validate, wire};

mod connections;

/// Largest page DescribeVirtualInterfaces returns.
const MAX_PAGE: usize = 100;
/// The ASN of the (implicit) virtual private gateway or DX gateway.
const AMAZON_SIDE_ASN: u32 = 64512;

/// Who signed the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The partner: owner of the interconnects.
    Partner,
    /// A customer AWS account (12-digit access key id in the simulator).
    Customer(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VifState {
    Confirming,
    Pending,
    Available,
    Down,
    Deleting,
    Deleted,
    Rejected,
}

impl VifState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Confirming => "confirming",
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Down => "down",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
        }
    }

    /// Still holds its VLAN and can be acted on.
    fn is_live(self) -> bool {
        !matches!(self, Self::Deleted | Self::Rejected)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct VifRecord {
    id: String,
    name: String,
    owner_account: String,
    connection_id: String,
    location: String,
    region: String,
    aws_device: String,
    vlan: u16,
    asn: u32,
    /// The ASN arrived in `asn` (not `asnLong`); decides what `asn` echoes.
    asn_in_legacy_member: bool,
    auth_key: String,
    amazon_address: String,
    customer_address: String,
    address_family: String,
    mtu: u32,
    tags: Vec<wire::Tag>,
    created_at: chrono::DateTime<chrono::Utc>,
    virtual_gateway_id: Option<String>,
    direct_connect_gateway_id: Option<String>,
    bgp_peer_id: String,
    state: VifState,
    /// When `state` (or, while available, the BGP session) last changed.
    since: Instant,
    bgp_up: bool,
    /// Set by the control plane: BGP stays down until told otherwise.
    bgp_held_down: bool,
}

impl VifRecord {
    fn advance(&mut self, now: Instant, cfg: &SimConfig) {
        loop {
            let elapsed = now.saturating_duration_since(self.since);
            let step = match self.state {
                VifState::Pending if elapsed >= cfg.available_after => {
                    self.state = VifState::Available;
                    cfg.available_after
                }
                VifState::Available
                    if !self.bgp_up && !self.bgp_held_down && elapsed >= cfg.bgp_up_after =>
                {
                    self.bgp_up = true;
                    cfg.bgp_up_after
                }
                VifState::Deleting if elapsed >= cfg.deleted_after => {
                    self.state = VifState::Deleted;
                    self.bgp_up = false;
                    cfg.deleted_after
                }
                _ => break,
            };
            // Measure the next delay from when this transition was due, not from
            // when somebody happened to look.
            self.since = self.since.checked_add(step).unwrap_or(now);
        }
    }

    fn set_state(&mut self, state: VifState, now: Instant) {
        self.state = state;
        self.since = now;
        if !matches!(state, VifState::Available) {
            self.bgp_up = false;
        }
    }

    fn bgp_peer_state(&self) -> &'static str {
        match self.state {
            VifState::Confirming | VifState::Pending => "pending",
            VifState::Available if self.bgp_up => "available",
            VifState::Available => "pending",
            VifState::Down => "available",
            VifState::Deleting => "deleting",
            VifState::Deleted | VifState::Rejected => "deleted",
        }
    }

    fn bgp_status(&self) -> &'static str {
        if self.bgp_up { "up" } else { "down" }
    }

    /// What the legacy `asn` member echoes: 0 for a 4-byte ASN sent as `asnLong`.
    fn wire_asn(&self) -> i64 {
        if self.asn <= u32::from(u16::MAX) || self.asn_in_legacy_member {
            i64::from(self.asn)
        } else {
            0
        }
    }

    fn to_wire(&self) -> wire::VirtualInterface {
        let device = format!("{}-{}", self.location, self.aws_device);
        let logical = format!("{device}-lg");
        wire::VirtualInterface {
            owner_account: self.owner_account.clone(),
            virtual_interface_id: self.id.clone(),
            location: self.location.clone(),
            connection_id: self.connection_id.clone(),
            virtual_interface_type: "private",
            virtual_interface_name: self.name.clone(),
            vlan: self.vlan,
            asn: self.wire_asn(),
            asn_long: i64::from(self.asn),
            amazon_side_asn: i64::from(AMAZON_SIDE_ASN),
            auth_key: self.auth_key.clone(),
            amazon_address: self.amazon_address.clone(),
            customer_address: self.customer_address.clone(),
            address_family: self.address_family.clone(),
            virtual_interface_state: self.state.as_str(),
            mtu: self.mtu,
            jumbo_frame_capable: true,
            virtual_gateway_id: self.virtual_gateway_id.clone(),
            direct_connect_gateway_id: self.direct_connect_gateway_id.clone(),
            route_filter_prefixes: Vec::new(),
            bgp_peers: vec![wire::BgpPeer {
                bgp_peer_id: self.bgp_peer_id.clone(),
                asn: self.wire_asn(),
                asn_long: i64::from(self.asn),
                auth_key: self.auth_key.clone(),
                address_family: self.address_family.clone(),
                amazon_address: self.amazon_address.clone(),
                customer_address: self.customer_address.clone(),
                bgp_peer_state: self.bgp_peer_state(),
                bgp_status: self.bgp_status(),
                aws_device_v2: device.clone(),
                aws_logical_device_id: logical.clone(),
            }],
            region: self.region.clone(),
            aws_device_v2: device,
            aws_logical_device_id: logical,
            tags: self.tags.clone(),
            site_link_enabled: false,
        }
    }

    fn to_sim(&self) -> SimVif {
        SimVif {
            virtual_interface_id: self.id.clone(),
            virtual_interface_name: self.name.clone(),
            virtual_interface_type: "private".to_owned(),
            owner_account: self.owner_account.clone(),
            connection_id: self.connection_id.clone(),
            location: self.location.clone(),
            region: self.region.clone(),
            vlan: self.vlan,
            asn: self.asn,
            amazon_side_asn: AMAZON_SIDE_ASN,
            auth_key: self.auth_key.clone(),
            amazon_address: self.amazon_address.clone(),
            customer_address: self.customer_address.clone(),
            address_family: self.address_family.clone(),
            mtu: self.mtu,
            state: self.state.as_str().to_owned(),
            bgp_peer_id: self.bgp_peer_id.clone(),
            bgp_peer_state: self.bgp_peer_state().to_owned(),
            bgp_status: self.bgp_status().to_owned(),
            virtual_gateway_id: self.virtual_gateway_id.clone(),
            direct_connect_gateway_id: self.direct_connect_gateway_id.clone(),
            tags: self.tags.clone(),
            created_at: self.created_at,
        }
    }
}

/// Everything behind the simulator's lock.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) cfg: SimConfig,
    vifs: Vec<VifRecord>,
    /// Hosted connections on the partner's interconnects, oldest first.
    hosted: Vec<HostedRecord>,
    faults: Vec<Fault>,
    stats: BTreeMap<String, u64>,
}

/// A refusal of the `/_sim/` control plane: HTTP status and message.
pub(crate) type ControlError = (StatusCode, String);

impl SimState {
    pub(crate) fn new(cfg: SimConfig) -> Self {
        Self {
            cfg,
            vifs: Vec::new(),
            hosted: Vec::new(),
            faults: Vec::new(),
            stats: BTreeMap::new(),
        }
    }

    /// Applies every transition that is due at `now`.
    pub(crate) fn advance(&mut self, now: Instant) {
        for vif in &mut self.vifs {
            vif.advance(now, &self.cfg);
        }
        for conn in &mut self.hosted {
            conn.advance(now, &self.cfg);
        }
    }

    /// Maps an access key id to an account: the partner's key, or any 12-digit id.
    pub(crate) fn identify(&self, access_key_id: &str) -> Option<Caller> {
        if access_key_id == self.cfg.partner_access_key_id
            || access_key_id == self.cfg.partner_account
        {
            Some(Caller::Partner)
        } else if validate::is_account_id(access_key_id) {
            Some(Caller::Customer(access_key_id.to_owned()))
        } else {
            None
        }
    }

    pub(crate) fn record_call(&mut self, operation: &str) {
        *self.stats.entry(operation.to_owned()).or_default() += 1;
    }

    pub(crate) fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.clone()
    }

    pub(crate) fn add_fault(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.faults.push(fault);
        }
    }

    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.faults.clone()
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Consumes one armed fault for `operation`, if any.
    pub(crate) fn take_fault(&mut self, operation: &str) -> Option<ApiError> {
        let idx = self.faults.iter().position(|f| f.operation == operation)?;
        let fault = &mut self.faults[idx];
        fault.count -= 1;
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error_type = fault.error_type.clone().unwrap_or_else(|| {
            if status.is_server_error() {
                "DirectConnectServerException".to_owned()
            } else {
                "DirectConnectClientException".to_owned()
            }
        });
        let err = ApiError::new(status, &error_type, fault.message.clone());
        if fault.count == 0 {
            self.faults.remove(idx);
        }
        Some(err)
    }

    pub(crate) fn snapshot(&self) -> Vec<SimVif> {
        self.vifs.iter().map(VifRecord::to_sim).collect()
    }

    pub(crate) fn vif(&self, vif_id: &str) -> Option<SimVif> {
        self.vifs
            .iter()
            .find(|v| v.id == vif_id)
            .map(VifRecord::to_sim)
    }

    /// Control plane: force the BGP session of an active VIF up or down.
    pub(crate) fn set_bgp(
        &mut self,
        vif_id: &str,
        up: bool,
        now: Instant,
    ) -> Result<SimVif, ControlError> {
        let vif = self
            .vifs
            .iter_mut()
            .find(|v| v.id == vif_id)
            .ok_or_else(|| {
                (
                    StatusCode::NOT_FOUND,
                    format!("no virtual interface {vif_id}"),
                )
            })?;
        if !matches!(vif.state, VifState::Available | VifState::Down) {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "virtual interface {vif_id} is {}; BGP can only be set on an available or down one",
                    vif.state.as_str()
                ),
            ));
        }
        if up {
            vif.set_state(VifState::Available, now);
            vif.bgp_up = true;
            vif.bgp_held_down = false;
        } else {
            vif.set_state(VifState::Down, now);
            vif.bgp_held_down = true;
        }
        Ok(vif.to_sim())
    }

    /// Runs one AWS operation for `caller`.
    pub(crate) fn dispatch(
        &mut self,
        operation: &str,
        caller: &Caller,
        body: &[u8],
        now: Instant,
    ) -> Result<Value, ApiError> {
        match operation {
            "AllocatePrivateVirtualInterface" => {
                to_json(self.allocate_private_vif(caller, parse(body)?, now)?)
            }
            "ConfirmPrivateVirtualInterface" => {
                to_json(self.confirm_private_vif(caller, parse(body)?, now)?)
            }
            "DescribeVirtualInterfaces" => to_json(self.describe_vifs(caller, parse(body)?)?),
            "DeleteVirtualInterface" => to_json(self.delete_vif(caller, parse(body)?, now)?),
            "CreatePrivateVirtualInterface" => {
                to_json(self.create_private_vif(caller, parse(body)?, now)?)
            }
            "AllocateHostedConnection" => {
                to_json(self.allocate_hosted_connection(caller, parse(body)?, now)?)
            }
            "DescribeHostedConnections" => {
                to_json(self.describe_hosted_connections(caller, parse(body)?)?)
            }
            "ConfirmConnection" => to_json(self.confirm_connection(caller, parse(body)?, now)?),
            "DeleteConnection" => to_json(self.delete_connection(caller, parse(body)?, now)?),
            "DescribeConnections" => to_json(self.describe_connections(caller, parse(body)?)?),
            "DescribeInterconnects" => to_json(self.describe_interconnects(caller, parse(body)?)?),
            "DescribeLocations" => to_json(self.describe_locations()),
            other => Err(ApiError::unknown_operation(other)),
        }
    }

    fn interconnect(&self, connection_id: &str) -> Option<&super::Interconnect> {
        self.cfg
            .interconnects
            .iter()
            .find(|i| i.connection_id == connection_id)
    }

    /// The partner sees the VIFs on its interconnects and on the hosted
    /// connections there; a customer the VIFs it owns.
    fn visible(&self, caller: &Caller, vif: &VifRecord) -> bool {
        match caller {
            Caller::Partner => {
                self.interconnect(&vif.connection_id).is_some()
                    || self.find_hosted(caller, &vif.connection_id).is_ok()
            }
            Caller::Customer(account) => vif.owner_account == *account,
        }
    }

    /// A VLAN is taken on an interconnect by a live hosted VIF on it or a live
    /// hosted connection on it (whose own VIF uses the connection's VLAN).
    fn vlan_in_use(&self, interconnect_id: &str, vlan: u16) -> bool {
        self.vifs
            .iter()
            .any(|v| v.connection_id == interconnect_id && v.vlan == vlan && v.state.is_live())
            || self.hosted.iter().any(|h| {
                h.interconnect_id == interconnect_id && h.vlan == vlan && h.state.is_live()
            })
    }

    fn allocate_private_vif(
        &mut self,
        caller: &Caller,
        input: wire::AllocatePrivateVirtualInterfaceInput,
        now: Instant,
    ) -> Result<wire::VirtualInterface, ApiError> {
        let connection_id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        let owner_account = input
            .owner_account
            .ok_or_else(|| ApiError::missing_member("ownerAccount"))?;
        let mut alloc = input
            .new_private_virtual_interface_allocation
            .ok_or_else(|| ApiError::missing_member("newPrivateVirtualInterfaceAllocation"))?;
        let name = alloc.virtual_interface_name.take().ok_or_else(|| {
            ApiError::missing_member("newPrivateVirtualInterfaceAllocation.virtualInterfaceName")
        })?;
        let vlan = alloc
            .vlan
            .take()
            .ok_or_else(|| ApiError::missing_member("newPrivateVirtualInterfaceAllocation.vlan"))?;

        // Only the interconnect's owner may allocate on it; to anybody else it
        // does not exist.
        let interconnect = match caller {
            Caller::Partner => self.interconnect(&connection_id),
            Caller::Customer(_) => None,
        }
        .ok_or_else(|| ApiError::connection_not_found(&connection_id))?
        .clone();

        if !validate::is_account_id(&owner_account) {
            return Err(ApiError::client(format!(
                "Account ID {owner_account} is invalid. It must be a 12-digit AWS account ID."
            )));
        }
        if owner_account == self.cfg.partner_account {
            return Err(ApiError::client(
                "Cannot allocate VirtualInterface for the connection owner.",
            ));
        }
        validate::vif_name(&name).map_err(ApiError::client)?;
        let vlan = validate::vlan(vlan).map_err(ApiError::client)?;
        if self.vlan_in_use(&connection_id, vlan) {
            return Err(ApiError::client(format!(
                "VLAN {vlan} is already in use on connection {connection_id}."
            )));
        }
        let peering = self.peering(alloc)?;

        let record = self.new_vif(
            name,
            vlan,
            Placement {
                owner_account,
                aws_device: device_suffix(&interconnect.connection_id),
                connection_id,
                location: interconnect.location,
                region: interconnect.region,
            },
            peering,
            now,
        );
        tracing::info!(
            vif = %record.id, name = %record.name, owner = %record.owner_account,
            vlan = record.vlan, "simulated hosted VIF allocated"
        );
        let out = record.to_wire();
        self.vifs.push(record);
        Ok(out)
    }

    /// The customer's own private VIF on its hosted connection: only once the
    /// connection is available, on the connection's VLAN, and only one.
    fn create_private_vif(
        &mut self,
        caller: &Caller,
        input: wire::CreatePrivateVirtualInterfaceInput,
        now: Instant,
    ) -> Result<wire::VirtualInterface, ApiError> {
        let connection_id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        let new = input
            .new_private_virtual_interface
            .ok_or_else(|| ApiError::missing_member("newPrivateVirtualInterface"))?;
        let mut peering = new.peering;
        let name = peering.virtual_interface_name.take().ok_or_else(|| {
            ApiError::missing_member("newPrivateVirtualInterface.virtualInterfaceName")
        })?;
        let vlan = peering
            .vlan
            .take()
            .ok_or_else(|| ApiError::missing_member("newPrivateVirtualInterface.vlan"))?;

        if *caller == Caller::Partner && self.interconnect(&connection_id).is_some() {
            return Err(ApiError::client(format!(
                "Connection {connection_id} is an interconnect. Use AllocatePrivateVirtualInterface \
                 to provision hosted virtual interfaces on it."
            )));
        }
        let conn = &self.hosted[self.find_hosted(caller, &connection_id)?];
        if *caller != Caller::Customer(conn.owner_account.clone()) {
            return Err(ApiError::client(format!(
                "Only the owner account {} of connection {connection_id} can create virtual \
                 interfaces on it.",
                conn.owner_account
            )));
        }
        validate::vif_name(&name).map_err(ApiError::client)?;
        let vlan = validate::vlan(vlan).map_err(ApiError::client)?;
        if conn.state != connections::ConnState::Available {
            return Err(ApiError::client(format!(
                "Connection {connection_id} is in state {}. Virtual interfaces can only be \
                 created on an available connection.",
                conn.state.as_str()
            )));
        }
        if vlan != conn.vlan {
            return Err(ApiError::client(format!(
                "VLAN {vlan} does not match VLAN {} of hosted connection {connection_id}.",
                conn.vlan
            )));
        }
        if let Some(existing) = self
            .vifs
            .iter()
            .find(|v| v.connection_id == connection_id && v.state.is_live())
        {
            return Err(ApiError::client(format!(
                "Hosted connection {connection_id} already has virtual interface {}. A hosted \
                 connection supports only one virtual interface.",
                existing.id
            )));
        }
        let placement = Placement {
            owner_account: conn.owner_account.clone(),
            aws_device: device_suffix(&conn.interconnect_id),
            connection_id,
            location: conn.location.clone(),
            region: conn.region.clone(),
        };
        let (vgw, dxgw) = gateway(new.virtual_gateway_id, new.direct_connect_gateway_id)?;
        let peering = self.peering(peering)?;

        let mut record = self.new_vif(name, vlan, placement, peering, now);
        record.virtual_gateway_id = vgw;
        record.direct_connect_gateway_id = dxgw;
        record.state = VifState::Pending;
        tracing::info!(
            vif = %record.id, name = %record.name, owner = %record.owner_account,
            connection = %record.connection_id, vlan = record.vlan,
            "simulated VIF created by the customer on its hosted connection"
        );
        let out = record.to_wire();
        self.vifs.push(record);
        Ok(out)
    }

    /// Checks the BGP peering members every new private VIF carries and fills
    /// in what AWS generates (auth key, link-local /30).
    fn peering(&self, p: wire::NewPrivateVirtualInterfaceAllocation) -> Result<Peering, ApiError> {
        let asn = validate::asn(p.asn, p.asn_long).map_err(ApiError::client)?;
        let mtu = validate::mtu(p.mtu).map_err(ApiError::client)?;
        let auth_key = match p.auth_key {
            Some(key) => {
                validate::auth_key(&key).map_err(ApiError::client)?;
                key
            }
            None => random_string(24, ALNUM_MIXED),
        };
        match p.address_family.as_deref() {
            None | Some("ipv4") => {}
            Some("ipv6") => {
                return Err(ApiError::client(
                    "The simulator supports only the ipv4 address family.",
                ));
            }
            Some(other) => {
                return Err(ApiError::serialization(format!(
                    "Value {other} at 'addressFamily' failed to satisfy constraint: \
                     Member must satisfy enum value set: [ipv4, ipv6]"
                )));
            }
        }
        let (amazon_address, customer_address) = match (p.amazon_address, p.customer_address) {
            (Some(a), Some(c)) => {
                validate::peer_addresses(&a, &c).map_err(ApiError::client)?;
                (a, c)
            }
            (None, None) => self.assign_link_local_pair(),
            _ => {
                return Err(ApiError::client(
                    "amazonAddress and customerAddress must both be specified or both omitted.",
                ));
            }
        };
        let tags = p.tags.unwrap_or_default();
        check_tags(&tags)?;
        Ok(Peering {
            asn,
            asn_in_legacy_member: p.asn_long.is_none(),
            auth_key,
            amazon_address,
            customer_address,
            mtu,
            tags,
        })
    }

    /// A fresh VIF record, `confirming`, with its BGP peer pending and down.
    fn new_vif(
        &self,
        name: String,
        vlan: u16,
        at: Placement,
        peering: Peering,
        now: Instant,
    ) -> VifRecord {
        VifRecord {
            id: self.fresh_id("dxvif-"),
            name,
            owner_account: at.owner_account,
            connection_id: at.connection_id,
            location: at.location,
            region: at.region,
            aws_device: at.aws_device,
            vlan,
            asn: peering.asn,
            asn_in_legacy_member: peering.asn_in_legacy_member,
            auth_key: peering.auth_key,
            amazon_address: peering.amazon_address,
            customer_address: peering.customer_address,
            address_family: "ipv4".to_owned(),
            mtu: peering.mtu,
            tags: peering.tags,
            created_at: self.cfg.clock.utc(),
            virtual_gateway_id: None,
            direct_connect_gateway_id: None,
            bgp_peer_id: self.fresh_id("dxpeer-"),
            state: VifState::Confirming,
            since: now,
            bgp_up: false,
            bgp_held_down: false,
        }
    }

    fn confirm_private_vif(
        &mut self,
        caller: &Caller,
        input: wire::ConfirmPrivateVirtualInterfaceInput,
        now: Instant,
    ) -> Result<wire::VirtualInterfaceStateOutput, ApiError> {
        let vif_id = input
            .virtual_interface_id
            .ok_or_else(|| ApiError::missing_member("virtualInterfaceId"))?;
        let idx = self.find_visible(caller, &vif_id)?;
        let vif = &mut self.vifs[idx];
        if *caller != Caller::Customer(vif.owner_account.clone()) {
            return Err(ApiError::client(format!(
                "Virtual interface {vif_id} can only be confirmed by its owner account {}.",
                vif.owner_account
            )));
        }
        let (vgw, dxgw) = gateway(input.virtual_gateway_id, input.direct_connect_gateway_id)?;
        if vif.state != VifState::Confirming {
            return Err(ApiError::client(format!(
                "Virtual interface {vif_id} is in state {} and cannot be confirmed.",
                vif.state.as_str()
            )));
        }
        vif.virtual_gateway_id = vgw;
        vif.direct_connect_gateway_id = dxgw;
        vif.set_state(VifState::Pending, now);
        tracing::info!(vif = %vif_id, "simulated hosted VIF confirmed by its owner");
        Ok(wire::VirtualInterfaceStateOutput {
            virtual_interface_state: VifState::Pending.as_str(),
        })
    }

    fn describe_vifs(
        &self,
        caller: &Caller,
        input: wire::DescribeVirtualInterfacesInput,
    ) -> Result<wire::DescribeVirtualInterfacesOutput, ApiError> {
        if let Some(connection_id) = &input.connection_id
            && self.interconnect(connection_id).is_none()
            && self.find_hosted(caller, connection_id).is_err()
        {
            return Err(ApiError::connection_not_found(connection_id));
        }
        let matches: Vec<&VifRecord> = match &input.virtual_interface_id {
            Some(vif_id) => vec![&self.vifs[self.find_visible(caller, vif_id)?]],
            None => self
                .vifs
                .iter()
                .filter(|v| self.visible(caller, v))
                .collect(),
        };
        let matches: Vec<&VifRecord> = matches
            .into_iter()
            .filter(|v| {
                input
                    .connection_id
                    .as_ref()
                    .is_none_or(|c| *c == v.connection_id)
            })
            .collect();
        let (page, next_token) = paginate(matches, input.max_results, input.next_token.as_deref())?;
        Ok(wire::DescribeVirtualInterfacesOutput {
            virtual_interfaces: page.into_iter().map(VifRecord::to_wire).collect(),
            next_token,
        })
    }
    fn delete_vif(
        &mut self,
        caller: &Caller,
        input: wire::DeleteVirtualInterfaceInput,
        now: Instant,
    ) -> Result<wire::VirtualInterfaceStateOutput, ApiError> {
        let vif_id = input
            .virtual_interface_id
            .ok_or_else(|| ApiError::missing_member("virtualInterfaceId"))?;
        let idx = self.find_visible(caller, &vif_id)?;
        let vif = &mut self.vifs[idx];
        let new_state = match (vif.state, caller) {
            // The owner declining a hosted VIF it never accepted.
            (VifState::Confirming, Caller::Customer(_)) => VifState::Rejected,
            (VifState::Deleting, _) => VifState::Deleting,
            (VifState::Deleted | VifState::Rejected, _) => {
                return Err(ApiError::client(format!(
                    "Virtual interface {vif_id} is in state {} and cannot be deleted.",
                    vif.state.as_str()
                )));
            }
            _ => VifState::Deleting,
        };
        if new_state != vif.state {
            vif.set_state(new_state, now);
            vif.bgp_held_down = false;
            tracing::info!(vif = %vif_id, state = new_state.as_str(), "simulated VIF deletion");
        }
        Ok(wire::VirtualInterfaceStateOutput {
            virtual_interface_state: new_state.as_str(),
        })
    }

    /// The partner's connections are its interconnects; a customer's are its
    /// hosted connections.
    fn describe_connections(
        &self,
        caller: &Caller,
        input: wire::DescribeConnectionsInput,
    ) -> Result<wire::Connections, ApiError> {
        if let Caller::Customer(account) = caller {
            return self.customer_connections(account, input.connection_id.as_deref());
        }
        let connections = self
            .owned_interconnects(caller, input.connection_id.as_deref())?
            .into_iter()
            .map(|i| wire::Connection {
                owner_account: self.cfg.partner_account.clone(),
                connection_id: i.connection_id.clone(),
                connection_name: i.name.clone(),
                connection_state: "available",
                region: i.region.clone(),
                location: i.location.clone(),
                bandwidth: i.bandwidth.clone(),
                aws_device: format!("{}-{}", i.location, device_suffix(&i.connection_id)),
                aws_device_v2: format!("{}-{}", i.location, device_suffix(&i.connection_id)),
                aws_logical_device_id: format!(
                    "{}-{}-lg",
                    i.location,
                    device_suffix(&i.connection_id)
                ),
                jumbo_frame_capable: true,
                has_logical_redundancy: "no",
                tags: Vec::new(),
                mac_sec_capable: false,
                vlan: None,
                partner_name: None,
            })
            .collect();
        Ok(wire::Connections {
            connections,
            next_token: None,
        })
    }

    fn describe_interconnects(
        &self,
        caller: &Caller,
        input: wire::DescribeInterconnectsInput,
    ) -> Result<wire::Interconnects, ApiError> {
        let interconnects = self
            .owned_interconnects(caller, input.interconnect_id.as_deref())?
            .into_iter()
            .map(|i| wire::Interconnect {
                interconnect_id: i.connection_id.clone(),
                interconnect_name: i.name.clone(),
                interconnect_state: "available",
                region: i.region.clone(),
                location: i.location.clone(),
                bandwidth: i.bandwidth.clone(),
                aws_device: format!("{}-{}", i.location, device_suffix(&i.connection_id)),
                aws_device_v2: format!("{}-{}", i.location, device_suffix(&i.connection_id)),
                aws_logical_device_id: format!(
                    "{}-{}-lg",
                    i.location,
                    device_suffix(&i.connection_id)
                ),
                jumbo_frame_capable: true,
                has_logical_redundancy: "no",
                tags: Vec::new(),
                mac_sec_capable: false,
            })
            .collect();
        Ok(wire::Interconnects { interconnects })
    }

    fn describe_locations(&self) -> wire::Locations {
        let mut seen = BTreeSet::new();
        let locations = self
            .cfg
            .interconnects
            .iter()
            .filter(|i| seen.insert(i.location.clone()))
            .map(|i| wire::Location {
                location_code: i.location.clone(),
                location_name: location_name(&i.location),
                region: i.region.clone(),
                available_port_speeds: vec!["1Gbps", "10Gbps", "100Gbps"],
                available_providers: vec!["Onramp"],
            })
            .collect();
        wire::Locations { locations }
    }

    /// The partner's interconnects, optionally one of them; customers own none.
    fn owned_interconnects(
        &self,
        caller: &Caller,
        id: Option<&str>,
    ) -> Result<Vec<&super::Interconnect>, ApiError> {
        let owned: Vec<_> = match caller {
            Caller::Partner => self.cfg.interconnects.iter().collect(),
            Caller::Customer(_) => Vec::new(),
        };
        match id {
            None => Ok(owned),
            Some(id) => owned
                .into_iter()
                .find(|i| i.connection_id == id)
                .map(|i| vec![i])
                .ok_or_else(|| ApiError::connection_not_found(id)),
        }
    }

    fn find_visible(&self, caller: &Caller, vif_id: &str) -> Result<usize, ApiError> {
        self.vifs
            .iter()
            .position(|v| v.id == vif_id && self.visible(caller, v))
            .ok_or_else(|| ApiError::vif_not_found(vif_id))
    }

    fn fresh_id(&self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}{}", random_string(8, ALNUM_LOWER));
            let taken = self.vifs.iter().any(|v| v.id == id || v.bgp_peer_id == id)
                || self.hosted.iter().any(|h| h.id == id)
                || self.interconnect(&id).is_some();
            if !taken {
                return id;
            }
        }
    }

    /// A free /30 out of 169.254.0.0/16, as AWS assigns when the partner sends
    /// no peer addresses: Amazon takes the first host, the customer the second.
    fn assign_link_local_pair(&self) -> (String, String) {
        let used: HashSet<u32> = self
            .vifs
            .iter()
            .filter(|v| v.state.is_live())
            .flat_map(|v| [&v.amazon_address, &v.customer_address])
            .filter_map(|a| validate::parse_ipv4_cidr(a))
            .map(|(ip, _)| u32::from(ip) & !0b11)
            .collect();
        let base = u32::from(Ipv4Addr::new(169, 254, 0, 0));
        // Skip the first and last /24 (reserved-looking), then try random blocks.
        let block = loop {
            let candidate = base + (rand::random_range(64u32..16320) << 2);
            if !used.contains(&candidate) {
                break candidate;
            }
        };
        (
            format!("{}/30", Ipv4Addr::from(block + 1)),
            format!("{}/30", Ipv4Addr::from(block + 2)),
        )
    }
}

/// Where a new VIF sits and whose it is.
struct Placement {
    owner_account: String,
    /// The interconnect (hosted VIF) or the hosted connection (customer VIF).
    connection_id: String,
    location: String,
    region: String,
    aws_device: String,
}

/// The checked BGP peering of a new VIF.
struct Peering {
    asn: u32,
    /// The ASN arrived in `asn` (not `asnLong`).
    asn_in_legacy_member: bool,
    auth_key: String,
    amazon_address: String,
    customer_address: String,
    mtu: u32,
    tags: Vec<wire::Tag>,
}

/// Exactly one of the two gateways, as ConfirmPrivateVirtualInterface and
/// CreatePrivateVirtualInterface require.
fn gateway(
    virtual_gateway_id: Option<String>,
    direct_connect_gateway_id: Option<String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    match (virtual_gateway_id, direct_connect_gateway_id) {
        (Some(v), None) if !v.is_empty() => {
            if !v.starts_with("vgw-") {
                return Err(ApiError::client(format!(
                    "Virtual private gateway {v} does not exist."
                )));
            }
            Ok((Some(v), None))
        }
        (None, Some(d)) if !d.is_empty() => Ok((None, Some(d))),
        (Some(_), Some(_)) => Err(ApiError::client(
            "Specify either virtualGatewayId or directConnectGatewayId, not both.",
        )),
        _ => Err(ApiError::client(
            "Either virtualGatewayId or directConnectGatewayId must be specified.",
        )),
    }
}

/// One page of `items` for a Describe call with `maxResults`/`nextToken`
/// (the token is the index of the next item), and the token of the next page.
fn paginate<T>(
    items: Vec<T>,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let total = items.len();
    let start = match next_token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= total)
            .ok_or_else(|| ApiError::client("The nextToken is invalid."))?,
    };
    let page = match max_results {
        None => total,
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
        Some(n) => {
            return Err(ApiError::client(format!(
                "maxResults {n} is invalid. It must be at least 1."
            )));
        }
    };
    let end = start.saturating_add(page).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::serialization(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::server(e.to_string()))
}

fn check_tags(tags: &[wire::Tag]) -> Result<(), ApiError> {
    if tags.len() > 50 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "TooManyTagsException",
            "A resource can have at most 50 tags.",
        ));
    }
    let mut keys = HashSet::new();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(ApiError::client(
                "Tag keys must be 1 to 128 characters long.",
            ));
        }
        if !keys.insert(tag.key.as_str()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "DuplicateTagKeysException",
                format!("Duplicate tag key {}.", tag.key),
            ));
        }
    }
    Ok(())
}

const ALNUM_LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM_MIXED: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_string(len: usize, charset: &[u8]) -> String {
    (0..len)
        .map(|_| char::from(charset[rand::random_range(0..charset.len())]))
        .collect()
}

/// A stable pseudo device name per interconnect.
fn device_suffix(connection_id: &str) -> String {
    let tail = connection_id
        .strip_prefix("dxcon-")
        .unwrap_or(connection_id);
    tail.chars().take(12).collect()
}

fn location_name(code: &str) -> String {
    match code {
        "EqDC2" => "Equinix DC1-DC6, DC10-DC11, Ashburn, VA".to_owned(),
        "EqSV5" => "Equinix SV5, San Jose, CA".to_owned(),
        "EqFA5" => "Equinix FR5, Frankfurt".to_owned(),
        "EqLD5" => "Equinix LD5, London".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests;
