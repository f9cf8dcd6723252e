//! What the runner needs from a connector kind: its pure machine, and the
//! executor of its actions. The runner's job loop (stale check, lease,
//! commit, ack) is written once, over this trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use onramp_state_machines::{
    aws_hosted_connection as hc, aws_hosted_vif as vif, azure_expressroute as er,
    gcp_partner_interconnect as gpi, ticket_csp as tc,
};
use onramp_store::entity::connector;

use crate::actions::{Actions, Step};
use crate::aws_hc::HostedConnectionActions;
use crate::azure::AzureActions;
use crate::gcp::GcpActions;
use crate::router_push::RouterOutcome;
use crate::ticket::TicketActions;

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
    /// The action a job names (`job.action`, the action's snake_case
    /// name), or None if this kind has no such action. The default reads
    /// the name as a unit variant; a kind whose actions carry data maps the
    /// name onto what `state` stands for (a stale job then compares unequal
    /// to the standing action and is dropped).
    fn parse_action(name: &str, _state: &Self::State) -> Option<Self::Action> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
    fn action_name(action: Self::Action) -> &'static str;
    /// The action whose commit hands the connector's allocations back.
    fn releases(action: Self::Action) -> bool;
    fn event_name(event: &Self::Event) -> &'static str;
    fn handle(state: &Self::State, event: &Self::Event) -> Stepped<Self::State>;
    fn state_name(state: &Self::State) -> &'static str;
    fn waiting_on(state: &Self::State) -> &'static str;
    /// The event a settled router change of `action` is to the machine.
    /// None when `action` changes no router, or when the machine has no
    /// exit for the outcome (a refused teardown is retried).
    fn router_event(action: Self::Action, outcome: &RouterOutcome) -> Option<Self::Event>;

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

/// The `Kind` impl of an executor over machine module `$m`: every machine
/// exposes the same functions, so only the executor and the module differ.
/// `$resources` is the function that stores values learnt on the way, if
/// the kind has one.
macro_rules! kind {
    ($executor:ty, $m:ident, router = $router:path $(, resources = $resources:path)?) => {
        impl Kind for $executor {
            type State = $m::State;
            type Action = $m::Action;
            type Event = $m::Event;

            fn current_action(state: &$m::State) -> Option<$m::Action> {
                $m::current_action(state)
            }
            fn action_name(action: $m::Action) -> &'static str {
                action.as_str()
            }
            fn releases(action: $m::Action) -> bool {
                action == $m::Action::ReleaseResources
            }
            fn event_name(event: &$m::Event) -> &'static str {
                event.name()
            }
            fn handle(state: &$m::State, event: &$m::Event) -> Stepped<$m::State> {
                let out = $m::handle(state, event);
                Stepped {
                    first_action: out.actions.first().map(|a| a.as_str()),
                    has_actions: !out.actions.is_empty(),
                    changed: out.changed,
                    note: out.note,
                    state: out.state,
                }
            }
            fn state_name(state: &$m::State) -> &'static str {
                $m::state_name(state)
            }
            fn waiting_on(state: &$m::State) -> &'static str {
                $m::waiting_on(state).as_str()
            }
            fn router_event(action: $m::Action, outcome: &RouterOutcome) -> Option<$m::Event> {
                $router(action, outcome)
            }
            $(
                fn resources_after(
                    row: &connector::Model,
                    event: &$m::Event,
                ) -> Result<Option<String>, onramp_store::Error> {
                    $resources(row, event)
                }
            )?
            fn execute(
                &self,
                action: $m::Action,
                row: &connector::Model,
            ) -> impl Future<Output = Result<Step<$m::Event>, onramp_store::Error>> + Send {
                <$executor>::execute(self, action, row)
            }
        }
    };
}

/// The router events of the kinds with one attachment: a push that
/// configures, a removal, and a refusal of the push that fails it.
macro_rules! single_attachment_router {
    ($name:ident, $m:ident, push = $push:ident, remove = $remove:ident, removed = $removed:ident) => {
        fn $name(action: $m::Action, outcome: &RouterOutcome) -> Option<$m::Event> {
            match (action, outcome) {
                ($m::Action::$push, RouterOutcome::Done) => Some($m::Event::PeConfigured),
                ($m::Action::$push, RouterOutcome::Refused(reason)) => Some($m::Event::PeFailed {
                    reason: reason.clone(),
                }),
                ($m::Action::$remove, RouterOutcome::Done) => Some($m::Event::$removed),
                _ => None,
            }
        }
    };
}

single_attachment_router!(
    vif_router,
    vif,
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
single_attachment_router!(
    hc_router,
    hc,
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
single_attachment_router!(
    gpi_router,
    gpi,
    push = PushPeConfig,
    remove = RemovePeConfig,
    removed = PeConfigRemoved
);
single_attachment_router!(
    tc_router,
    tc,
    push = PushPe,
    remove = RemovePe,
    removed = PeRemoved
);

/// ExpressRoute has two legs, each with its own push and removal.
fn er_router(action: er::Action, outcome: &RouterOutcome) -> Option<er::Event> {
    use er::{Action as A, Event as E, Leg};
    let (leg, push) = match action {
        A::PushPrimaryPe => (Leg::Primary, true),
        A::PushSecondaryPe => (Leg::Secondary, true),
        A::RemovePrimaryPe => (Leg::Primary, false),
        A::RemoveSecondaryPe => (Leg::Secondary, false),
        _ => return None,
    };
    match (push, outcome) {
        (true, RouterOutcome::Done) => Some(E::PeConfigured { leg }),
        (true, RouterOutcome::Refused(reason)) => Some(E::PeFailed {
            leg,
            reason: reason.clone(),
        }),
        (false, RouterOutcome::Done) => Some(E::PeConfigRemoved { leg }),
        (false, RouterOutcome::Refused(_)) => None,
    }
}

kind!(Actions, vif, router = vif_router);
kind!(AzureActions, er, router = er_router);
kind!(
    GcpActions,
    gpi,
    router = gpi_router,
    resources = crate::gcp::resources_after
);
kind!(HostedConnectionActions, hc, router = hc_router);

// `ticket-csp` by hand: its `open_task` action carries the step, so a job
// (which names only the action) is read against the connector's state, and
// its release action is called `release`.
impl Kind for TicketActions {
    type State = tc::State;
    type Action = tc::Action;
    type Event = tc::Event;

    fn current_action(state: &tc::State) -> Option<tc::Action> {
        tc::current_action(state)
    }
    fn parse_action(name: &str, state: &tc::State) -> Option<tc::Action> {
        match name {
            // The standing open_task, if the state has one; otherwise one
            // no state stands for, so the job is dropped as stale.
            "open_task" => Some(match tc::current_action(state) {
                Some(a @ tc::Action::OpenTask { .. }) => a,
                _ => tc::Action::OpenTask {
                    step_index: usize::MAX,
                },
            }),
            other => serde_json::from_value(serde_json::Value::String(other.to_string())).ok(),
        }
    }
    fn action_name(action: tc::Action) -> &'static str {
        action.as_str()
    }
    fn releases(action: tc::Action) -> bool {
        action == tc::Action::Release
    }
    fn event_name(event: &tc::Event) -> &'static str {
        event.name()
    }
    fn handle(state: &tc::State, event: &tc::Event) -> Stepped<tc::State> {
        let out = tc::handle(state, event);
        Stepped {
            first_action: out.actions.first().map(|a| a.as_str()),
            has_actions: !out.actions.is_empty(),
            changed: out.changed,
            note: out.note,
            state: out.state,
        }
    }
    fn state_name(state: &tc::State) -> &'static str {
        tc::state_name(state)
    }
    fn waiting_on(state: &tc::State) -> &'static str {
        tc::waiting_on(state).as_str()
    }
    fn router_event(action: tc::Action, outcome: &RouterOutcome) -> Option<tc::Event> {
        tc_router(action, outcome)
    }
    fn execute(
        &self,
        action: tc::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<tc::Event>, onramp_store::Error>> + Send {
        TicketActions::execute(self, action, row)
    }
}
