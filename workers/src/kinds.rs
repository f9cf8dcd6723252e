//! What the runner needs from a connector kind: its pure machine, and the
//! executor of its actions. The runner's job loop (stale check, lease,
//! commit, ack) is written once, over this trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use onramp_state_machines::{aws_hosted_vif as vif, azure_expressroute as er};
use onramp_store::entity::connector;

use crate::actions::{Actions, Step};
use crate::azure::AzureActions;

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
