//! Hosted connections: the partner allocates them on its interconnects, the
//! customer (their owner) confirms or declines them, either side deletes them.
//!
//! connectionState as the simulator moves it:
//!
//! ```text
//! (state, event)                                    -> new state
//! (-, AllocateHostedConnection by the partner)      -> ordering
//! (ordering, ConfirmConnection by the owner)        -> pending
//! (ordering, DeleteConnection by the owner)         -> rejected (declined)
//! (ordering, DeleteConnection by the partner)       -> deleting (offer withdrawn)
//! (pending, available_after elapsed)                -> available
//! (pending | available, DeleteConnection by either) -> deleting (its VIF too)
//! (deleting, deleted_after elapsed)                 -> deleted
//! ```

use std::time::Instant;

use super::{
    ApiError, Caller, SimState, VifState, check_tags, device_suffix, paginate, validate, wire,
};
use crate::aws_dx::{SimConfig, SimConnection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    Ordering,
    Pending,
    Available,
    Deleting,
    Deleted,
    Rejected,
}

impl ConnState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ordering => "ordering",
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
        }
    }

    /// Still holds its VLAN on the interconnect.
    pub(crate) fn is_live(self) -> bool {
        !matches!(self, Self::Deleted | Self::Rejected)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct HostedRecord {
    pub(super) id: String,
    name: String,
    /// The partner interconnect it sits on.
    pub(super) interconnect_id: String,
    pub(super) owner_account: String,
    partner_name: String,
    pub(super) location: String,
    pub(super) region: String,
    bandwidth: String,
    pub(super) vlan: u16,
    tags: Vec<wire::Tag>,
    created_at: chrono::DateTime<chrono::Utc>,
    pub(super) state: ConnState,
    /// When `state` last changed.
    since: Instant,
}

impl HostedRecord {
    pub(super) fn advance(&mut self, now: Instant, cfg: &SimConfig) {
        loop {
            let elapsed = now.saturating_duration_since(self.since);
            let step = match self.state {
                ConnState::Pending if elapsed >= cfg.available_after => {
                    self.state = ConnState::Available;
                    cfg.available_after
                }
                ConnState::Deleting if elapsed >= cfg.deleted_after => {
                    self.state = ConnState::Deleted;
                    cfg.deleted_after
                }
                _ => break,
            };
            // As for VIFs: the next delay runs from when this one was due.
            self.since = self.since.checked_add(step).unwrap_or(now);
        }
    }

    fn set_state(&mut self, state: ConnState, now: Instant) {
        self.state = state;
        self.since = now;
    }

    fn to_wire(&self) -> wire::Connection {
        let device = format!("{}-{}", self.location, device_suffix(&self.interconnect_id));
        wire::Connection {
            owner_account: self.owner_account.clone(),
            connection_id: self.id.clone(),
            connection_name: self.name.clone(),
            connection_state: self.state.as_str(),
            region: self.region.clone(),
            location: self.location.clone(),
            bandwidth: self.bandwidth.clone(),
            aws_device: device.clone(),
            aws_device_v2: device.clone(),
            aws_logical_device_id: format!("{device}-lg"),
            jumbo_frame_capable: true,
            has_logical_redundancy: "no",
            tags: self.tags.clone(),
            mac_sec_capable: false,
            vlan: Some(self.vlan),
            partner_name: Some(self.partner_name.clone()),
        }
    }

    fn to_sim(&self) -> SimConnection {
        SimConnection {
            connection_id: self.id.clone(),
            connection_name: self.name.clone(),
            interconnect_id: self.interconnect_id.clone(),
            owner_account: self.owner_account.clone(),
            partner_name: self.partner_name.clone(),
            location: self.location.clone(),
            region: self.region.clone(),
            bandwidth: self.bandwidth.clone(),
            vlan: self.vlan,
            state: self.state.as_str().to_owned(),
            tags: self.tags.clone(),
            created_at: self.created_at,
        }
    }
}

impl SimState {
    pub(crate) fn hosted_snapshot(&self) -> Vec<SimConnection> {
        self.hosted.iter().map(HostedRecord::to_sim).collect()
    }

    pub(crate) fn hosted(&self, connection_id: &str) -> Option<SimConnection> {
        self.hosted
            .iter()
            .find(|h| h.id == connection_id)
            .map(HostedRecord::to_sim)
    }

    /// The partner sees the hosted connections on its interconnects, a
    /// customer the ones it owns.
    fn hosted_visible(&self, caller: &Caller, h: &HostedRecord) -> bool {
        match caller {
            Caller::Partner => self.interconnect(&h.interconnect_id).is_some(),
            Caller::Customer(account) => h.owner_account == *account,
        }
    }

    /// The index of a hosted connection `caller` can see; AWS's "could not
    /// find" otherwise.
    pub(super) fn find_hosted(
        &self,
        caller: &Caller,
        connection_id: &str,
    ) -> Result<usize, ApiError> {
        self.hosted
            .iter()
            .position(|h| h.id == connection_id && self.hosted_visible(caller, h))
            .ok_or_else(|| ApiError::connection_not_found(connection_id))
    }

    pub(super) fn allocate_hosted_connection(
        &mut self,
        caller: &Caller,
        input: wire::AllocateHostedConnectionInput,
        now: Instant,
    ) -> Result<wire::Connection, ApiError> {
        let interconnect_id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        let owner_account = input
            .owner_account
            .ok_or_else(|| ApiError::missing_member("ownerAccount"))?;
        let bandwidth = input
            .bandwidth
            .ok_or_else(|| ApiError::missing_member("bandwidth"))?;
        let name = input
            .connection_name
            .ok_or_else(|| ApiError::missing_member("connectionName"))?;
        let vlan = input.vlan.ok_or_else(|| ApiError::missing_member("vlan"))?;

        // Only the interconnect's owner may allocate on it.
        let interconnect = match caller {
            Caller::Partner => self.interconnect(&interconnect_id),
            Caller::Customer(_) => None,
        }
        .ok_or_else(|| ApiError::connection_not_found(&interconnect_id))?
        .clone();

        if !validate::is_account_id(&owner_account) {
            return Err(ApiError::client(format!(
                "Account ID {owner_account} is invalid. It must be a 12-digit AWS account ID."
            )));
        }
        if owner_account == self.cfg.partner_account {
            return Err(ApiError::client(
                "Cannot allocate HostedConnection for the connection owner.",
            ));
        }
        validate::connection_name(&name).map_err(ApiError::client)?;
        validate::hosted_bandwidth(&bandwidth).map_err(ApiError::client)?;
        if let (Some(want), Some(have)) = (
            validate::bandwidth_mbps(&bandwidth),
            validate::bandwidth_mbps(&interconnect.bandwidth),
        ) && want > have
        {
            return Err(ApiError::client(format!(
                "Bandwidth {bandwidth} exceeds the bandwidth {} of interconnect {interconnect_id}.",
                interconnect.bandwidth
            )));
        }
        let vlan = validate::vlan(vlan).map_err(ApiError::client)?;
        if self.vlan_in_use(&interconnect_id, vlan) {
            return Err(ApiError::client(format!(
                "VLAN {vlan} is already in use on connection {interconnect_id}."
            )));
        }
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;

        let record = HostedRecord {
            id: self.fresh_id("dxcon-"),
            name,
            interconnect_id,
            owner_account,
            partner_name: self.cfg.partner_name.clone(),
            location: interconnect.location,
            region: interconnect.region,
            bandwidth,
            vlan,
            tags,
            created_at: self.cfg.clock.utc(),
            state: ConnState::Ordering,
            since: now,
        };
        tracing::info!(
            connection = %record.id, name = %record.name, owner = %record.owner_account,
            vlan = record.vlan, bandwidth = %record.bandwidth, "simulated hosted connection allocated"
        );
        let out = record.to_wire();
        self.hosted.push(record);
        Ok(out)
    }

    pub(super) fn describe_hosted_connections(
        &self,
        caller: &Caller,
        input: wire::DescribeHostedConnectionsInput,
    ) -> Result<wire::Connections, ApiError> {
        let interconnect_id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        // Customers own no interconnect.
        if *caller != Caller::Partner || self.interconnect(&interconnect_id).is_none() {
            return Err(ApiError::connection_not_found(&interconnect_id));
        }
        let on_it: Vec<&HostedRecord> = self
            .hosted
            .iter()
            .filter(|h| h.interconnect_id == interconnect_id)
            .collect();
        let (page, next_token) = paginate(on_it, input.max_results, input.next_token.as_deref())?;
        Ok(wire::Connections {
            connections: page.into_iter().map(HostedRecord::to_wire).collect(),
            next_token,
        })
    }

    /// DescribeConnections for a customer: its hosted connections.
    pub(super) fn customer_connections(
        &self,
        account: &str,
        connection_id: Option<&str>,
    ) -> Result<wire::Connections, ApiError> {
        let connections: Vec<wire::Connection> = self
            .hosted
            .iter()
            .filter(|h| h.owner_account == account)
            .filter(|h| connection_id.is_none_or(|id| h.id == id))
            .map(HostedRecord::to_wire)
            .collect();
        if let Some(id) = connection_id
            && connections.is_empty()
        {
            return Err(ApiError::connection_not_found(id));
        }
        Ok(wire::Connections {
            connections,
            next_token: None,
        })
    }

    pub(super) fn confirm_connection(
        &mut self,
        caller: &Caller,
        input: wire::ConnectionIdInput,
        now: Instant,
    ) -> Result<wire::ConnectionStateOutput, ApiError> {
        let id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        let idx = self.find_hosted(caller, &id)?;
        let h = &mut self.hosted[idx];
        if *caller != Caller::Customer(h.owner_account.clone()) {
            return Err(ApiError::client(format!(
                "Connection {id} can only be confirmed by its owner account {}.",
                h.owner_account
            )));
        }
        if h.state != ConnState::Ordering {
            return Err(ApiError::client(format!(
                "Connection {id} is in state {} and cannot be confirmed.",
                h.state.as_str()
            )));
        }
        h.set_state(ConnState::Pending, now);
        tracing::info!(connection = %id, "simulated hosted connection confirmed by its owner");
        Ok(wire::ConnectionStateOutput {
            connection_state: ConnState::Pending.as_str(),
        })
    }

    /// The owner deleting a connection still `ordering` declines it
    /// (`rejected`); any other deletion goes through `deleting` and takes the
    /// connection's VIF with it.
    pub(super) fn delete_connection(
        &mut self,
        caller: &Caller,
        input: wire::ConnectionIdInput,
        now: Instant,
    ) -> Result<wire::Connection, ApiError> {
        let id = input
            .connection_id
            .ok_or_else(|| ApiError::missing_member("connectionId"))?;
        if *caller == Caller::Partner && self.interconnect(&id).is_some() {
            return Err(ApiError::client(format!(
                "Connection {id} is an interconnect and cannot be deleted with DeleteConnection."
            )));
        }
        let idx = self.find_hosted(caller, &id)?;
        let h = &mut self.hosted[idx];
        let new_state = match (h.state, caller) {
            (ConnState::Ordering, Caller::Customer(_)) => ConnState::Rejected,
            (ConnState::Deleting, _) => ConnState::Deleting,
            (ConnState::Deleted | ConnState::Rejected, _) => {
                return Err(ApiError::client(format!(
                    "Connection {id} is in state {} and cannot be deleted.",
                    h.state.as_str()
                )));
            }
            _ => ConnState::Deleting,
        };
        if new_state != h.state {
            h.set_state(new_state, now);
            tracing::info!(
                connection = %id, state = new_state.as_str(), "simulated hosted connection deletion"
            );
            for vif in self
                .vifs
                .iter_mut()
                .filter(|v| v.connection_id == id && v.state.is_live())
                .filter(|v| v.state != VifState::Deleting)
            {
                vif.set_state(VifState::Deleting, now);
                vif.bgp_held_down = false;
                tracing::info!(vif = %vif.id, connection = %id, "VIF deleted with its connection");
            }
        }
        Ok(self.hosted[idx].to_wire())
    }
}
