//! The JSON of one connector state change, as every channel that carries
//! state changes sends it: the `data:` of `GET /v1/events` and the body of a
//! webhook delivery. One type, so the two cannot drift apart.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{connector, connector_event};

/// One state change of one connector: the `data:` of a
/// `connector.state_changed` event.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", schema(as = ConnectorStateChange))]
pub struct StateChange {
    /// The event's id, also its SSE `id:`. Ids only grow; resume after one
    /// with `Last-Event-ID` or `?after=`.
    pub id: i64,
    pub connector_id: Uuid,
    pub tenant_id: Uuid,
    /// Connector kind, e.g. `aws-hosted-vif`.
    pub kind: String,
    /// The connector's step after this change (0 is the order).
    pub step: i64,
    /// What happened, e.g. `ordered`, `vif_allocated`, `delete_requested`.
    pub event: String,
    /// Absent for the order, which starts the connector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_state: Option<String>,
    pub to_state: String,
    /// Who the connector waits on in `to_state` (`onramp`, `customer`,
    /// `ops`, `csp` or `nobody`). Present only while this is the
    /// connector's latest change; for older ones see the connector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    pub message: String,
    /// Who caused it: customer, onramp, aws, azure, gcp, router or ops.
    pub actor: String,
    pub at: DateTime<Utc>,
    /// Set when the event is about a link of the connector
    /// (`link_sla_breached`, `link_sla_recovered`): its state did not
    /// change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_id: Option<Uuid>,
}

impl StateChange {
    /// The SSE `event:` name: `connector.state_changed`, or for an SLA
    /// event of one of its links `link.sla_breached` / `link.sla_recovered`.
    pub fn channel_name(&self) -> &'static str {
        match self.event.as_str() {
            "link_sla_breached" => "link.sla_breached",
            "link_sla_recovered" => "link.sla_recovered",
            _ => "connector.state_changed",
        }
    }
}

impl StateChange {
    /// `c` is the connector as it is now, read with the event.
    pub fn new(e: connector_event::Model, c: &connector::Model) -> Self {
        // The connector row only knows who it waits on now, which is who
        // it waited on after this event only if nothing happened since.
        let waiting_on = (c.step == e.step).then(|| c.waiting_on.clone());
        Self {
            id: e.id,
            connector_id: e.connector_id,
            tenant_id: c.tenant_id,
            kind: c.kind.clone(),
            step: e.step,
            event: e.event,
            from_state: e.from_state,
            to_state: e.to_state,
            waiting_on,
            message: e.message,
            actor: e.actor,
            at: e.at,
            link_id: e.link_id,
        }
    }
}
