//! What the runner needs from a connector kind: its pure machine, and the
//! executor of its actions. The runner's job loop (stale check, lease,
//! commit, ack) is written once, over this trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use onramp_state_machines::{
    aws_hosted_connection as hc, aws_hosted_vif as vif, azure_expressroute as er,
    gcp_partner_interconnect as gpi,
};
use onramp_store::entity::connector;

use crate::actions::{Actions, Step};
use crate::aws_hc::HostedConnectionActions;
use crate::azure::AzureActions;
use crate::gcp::GcpActions;

/// One machine step, in the terms the runner persists.
pub(crate) struct Stepped<S> {
    pub state: S,
    pub first_action: Option<&'static str>,
    pub changed: bool,
    pub has_actions: bool,
    pub note: String,
}

impl<S> Stepped<S> {
    /// A poll that saw nothing new: nak and look again later.
    pub fn is_still_waiting(&self) -> bool {
        !self.changed && self.has_actions
    }

    /// A stale or duplicate event: ack and drop.
    pub fn is_ignored(&self) -> bool {
        !self.changed && !self.has_actions
    }
}

pub(crate) trait Kind: Send + Sync {
    type State: Serialize + DeserializeOwned + Send + Sync;
    type Action: Copy + PartialEq + DeserializeOwned + Send + Sync;
    type Event: Send + Sync;

    fn current_action(state: &Self::State) -> Option<Self::Action>;
    fn action_name(action: Self::Action) -> &'static str;
    /// The action whose commit hands the connector's allocations back.
    fn releases(action: Self::Action) -> bool;
    fn event_name(event: &Self::Event) -> &'static str;
    fn handle(state: &Self::State, event: &Self::Event) -> Stepped<Self::State>;
    fn state_name(state: &Self::State) -> &'static str;
    fn waiting_on(state: &Self::State) -> &'static str;

    /// New resources to store with the transition `event` causes, for
    /// kinds that learn values on the way (Google's addresses).
    fn resources_after(
        _row: &connector::Model,
        _event: &Self::Event,
    ) -> Result<Option<String>, onramp_store::Error> {
        Ok(None)
    }

    fn execute(
        &self,
        action: Self::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<Self::Event>, onramp_store::Error>> + Send;
}

impl Kind for Actions {
    type State = vif::State;
    type Action = vif::Action;
    type Event = vif::Event;

    fn current_action(state: &vif::State) -> Option<vif::Action> {
        vif::current_action(state)
    }
    fn action_name(action: vif::Action) -> &'static str {
        action.as_str()
    }
    fn releases(action: vif::Action) -> bool {
        action == vif::Action::ReleaseResources
    }
    fn event_name(event: &vif::Event) -> &'static str {
        event.name()
    }
    fn handle(state: &vif::State, event: &vif::Event) -> Stepped<vif::State> {
        let out = vif::handle(state, event);
        Stepped {
            first_action: out.actions.first().map(|a| a.as_str()),
            has_actions: !out.actions.is_empty(),
            changed: out.changed,
            note: out.note,
            state: out.state,
        }
    }
    fn state_name(state: &vif::State) -> &'static str {
        vif::state_name(state)
    }
    fn waiting_on(state: &vif::State) -> &'static str {
        vif::waiting_on(state).as_str()
    }
    fn execute(
        &self,
        action: vif::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<vif::Event>, onramp_store::Error>> + Send {
        Actions::execute(self, action, row)
    }
}

impl Kind for AzureActions {
    type State = er::State;
    type Action = er::Action;
    type Event = er::Event;

    fn current_action(state: &er::State) -> Option<er::Action> {
        er::current_action(state)
    }
    fn action_name(action: er::Action) -> &'static str {
        action.as_str()
    }
    fn releases(action: er::Action) -> bool {
        action == er::Action::ReleaseResources
    }
    fn event_name(event: &er::Event) -> &'static str {
        event.name()
    }
    fn handle(state: &er::State, event: &er::Event) -> Stepped<er::State> {
        let out = er::handle(state, event);
        Stepped {
            first_action: out.actions.first().map(|a| a.as_str()),
            has_actions: !out.actions.is_empty(),
            changed: out.changed,
            note: out.note,
            state: out.state,
        }
    }
    fn state_name(state: &er::State) -> &'static str {
        er::state_name(state)
    }
    fn waiting_on(state: &er::State) -> &'static str {
        er::waiting_on(state).as_str()
    }
    fn execute(
        &self,
        action: er::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<er::Event>, onramp_store::Error>> + Send {
        AzureActions::execute(self, action, row)
    }
}

impl Kind for GcpActions {
    type State = gpi::State;
    type Action = gpi::Action;
    type Event = gpi::Event;

    fn current_action(state: &gpi::State) -> Option<gpi::Action> {
        gpi::current_action(state)
    }
    fn action_name(action: gpi::Action) -> &'static str {
        action.as_str()
    }
    fn releases(action: gpi::Action) -> bool {
        action == gpi::Action::ReleaseResources
    }
    fn event_name(event: &gpi::Event) -> &'static str {
        event.name()
    }
    fn handle(state: &gpi::State, event: &gpi::Event) -> Stepped<gpi::State> {
        let out = gpi::handle(state, event);
        Stepped {
            first_action: out.actions.first().map(|a| a.as_str()),
            has_actions: !out.actions.is_empty(),
            changed: out.changed,
            note: out.note,
            state: out.state,
        }
    }
    fn state_name(state: &gpi::State) -> &'static str {
        gpi::state_name(state)
    }
    fn waiting_on(state: &gpi::State) -> &'static str {
        gpi::waiting_on(state).as_str()
    }
    fn resources_after(
        row: &connector::Model,
        event: &gpi::Event,
    ) -> Result<Option<String>, onramp_store::Error> {
        crate::gcp::resources_after(row, event)
    }
    fn execute(
        &self,
        action: gpi::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<gpi::Event>, onramp_store::Error>> + Send {
        GcpActions::execute(self, action, row)
    }
}

impl Kind for HostedConnectionActions {
    type State = hc::State;
    type Action = hc::Action;
    type Event = hc::Event;

    fn current_action(state: &hc::State) -> Option<hc::Action> {
        hc::current_action(state)
    }
    fn action_name(action: hc::Action) -> &'static str {
        action.as_str()
    }
    fn releases(action: hc::Action) -> bool {
        action == hc::Action::ReleaseResources
    }
    fn event_name(event: &hc::Event) -> &'static str {
        event.name()
    }
    fn handle(state: &hc::State, event: &hc::Event) -> Stepped<hc::State> {
        let out = hc::handle(state, event);
        Stepped {
            first_action: out.actions.first().map(|a| a.as_str()),
            has_actions: !out.actions.is_empty(),
            changed: out.changed,
            note: out.note,
            state: out.state,
        }
    }
    fn state_name(state: &hc::State) -> &'static str {
        hc::state_name(state)
    }
    fn waiting_on(state: &hc::State) -> &'static str {
        hc::waiting_on(state).as_str()
    }
    fn execute(
        &self,
        action: hc::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<hc::Event>, onramp_store::Error>> + Send {
        HostedConnectionActions::execute(self, action, row)
    }
}
