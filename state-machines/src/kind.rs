//! The connector kinds onramp sells: one registry, and the pure half every
//! kind has in common (its machine, its states and who they wait on, how a
//! settled router change reads to it).
//!
//! Every layer dispatches on a kind through [`with_kind!`]: it names the
//! kind's [`Machine`] type, and the layer's own per-kind trait (the API's
//! order handling, the worker's executor, the intent) is a bound on that
//! type. A layer that forgets a kind therefore fails to compile, and adding a
//! kind is one line in [`registry!`] plus one module per layer.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Outcome, WaitingOn};

/// How a router change a connector queued was settled by its PE's writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterOutcome {
    /// The PE took the change and it read back as intended.
    Done,
    /// The PE (or the pre-push validation) refused it; the reason says why.
    Refused(String),
}

/// The pure half of a connector kind.
pub trait Machine: Send + Sync + 'static {
    /// The kind this machine drives.
    const KIND: ConnectorKind;
    /// Every state's name, in lifecycle order.
    const STATE_NAMES: &'static [&'static str];

    type State: Clone + Serialize + DeserializeOwned + Send + Sync;
    type Action: Copy + PartialEq + DeserializeOwned + Send + Sync;
    type Event: Send + Sync;

    fn handle(state: &Self::State, event: &Self::Event) -> Outcome<Self::State, Self::Action>;
    fn current_action(state: &Self::State) -> Option<Self::Action>;
    /// The action a job names (`job.action`, the action's snake_case name),
    /// or None if this kind has no such action. The default reads the name
    /// as a unit variant; a kind whose actions carry data maps the name onto
    /// what `state` stands for (a stale job then compares unequal to the
    /// standing action and is dropped).
    fn parse_action(name: &str, _state: &Self::State) -> Option<Self::Action> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
    fn action_name(action: Self::Action) -> &'static str;
    /// The action whose commit hands the connector's allocations back.
    fn releases(action: Self::Action) -> bool;
    fn event_name(event: &Self::Event) -> &'static str;
    fn state_name(state: &Self::State) -> &'static str;
    fn waiting_on(state: &Self::State) -> WaitingOn;
    /// What happens next, in a sentence for the customer.
    fn next_step(state: &Self::State) -> &'static str;
    fn failure_reason(state: &Self::State) -> Option<&str>;
    /// The customer's (or an operator's) delete request.
    fn delete_requested() -> Self::Event;
    /// The customer's (or an operator's) request to apply the connector's
    /// new settings; the machine ignores it where a change cannot start
    /// (the API then answers 409).
    fn change_requested() -> Self::Event;
    /// The event a settled router change of `action` is to the machine.
    /// None when `action` changes no router, or when the machine has no
    /// exit for the outcome (a refused teardown is retried).
    fn router_event(action: Self::Action, outcome: &RouterOutcome) -> Option<Self::Event>;
}

/// A machine state read back from its stored JSON.
pub fn restore<M: Machine>(machine_state: &str) -> Result<M::State, serde_json::Error> {
    serde_json::from_str(machine_state)
}

/// Defines [`ConnectorKind`] and [`with_kind!`] from one list, so that a
/// kind is registered in exactly one place: `Variant = "wire-name" =>
/// module::MachineType`.
macro_rules! registry {
    ($d:tt $( $variant:ident = $name:literal => $module:ident :: $machine:ident ),+ $(,)?) => {
        /// A connector kind, as ordered (`kind` in the API) and stored.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ConnectorKind {
            $( #[serde(rename = $name)] $variant, )+
        }

        impl ConnectorKind {
            /// Every kind, in the order the API lists them.
            pub const ALL: &'static [ConnectorKind] = &[ $( ConnectorKind::$variant ),+ ];

            /// The wire name (`aws-hosted-vif`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ConnectorKind::$variant => $name, )+
                }
            }
        }

        /// Runs `$body` with `$K` naming the [`Machine`] type of `$kind`:
        /// `with_kind!(kind, |K| run::<K>(row))`. The body is instantiated
        /// once per kind, so every bound it puts on `K` must hold for every
        /// kind.
        #[macro_export]
        macro_rules! with_kind {
            ($d kind:expr, |$d K:ident| $d body:expr) => {
                match $d kind {
                    $(
                        $crate::ConnectorKind::$variant => {
                            #[allow(unused_imports)]
                            use $crate::kind::Machine as _;
                            type $d K = $crate::$module::$machine;
                            $d body
                        }
                    )+
                }
            };
        }
    };
}

registry! {$
    AwsHostedVif = "aws-hosted-vif" => aws_hosted_vif::AwsHostedVif,
    AwsHostedConnection = "aws-hosted-connection" => aws_hosted_connection::AwsHostedConnection,
    AzureExpressroute = "azure-expressroute" => azure_expressroute::AzureExpressroute,
    GcpPartnerInterconnect = "gcp-partner-interconnect" => gcp_partner_interconnect::GcpPartnerInterconnect,
    TicketCsp = "ticket-csp" => ticket_csp::TicketCsp,
}

impl ConnectorKind {
    /// Every state this kind's connectors can be in.
    pub fn state_names(self) -> &'static [&'static str] {
        with_kind!(self, |K| K::STATE_NAMES)
    }

    /// Every state of every kind, once each, sorted: for filters that take
    /// any kind's state.
    pub fn all_state_names() -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Self::ALL
            .iter()
            .flat_map(|k| k.state_names().iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The supported kinds, for error messages: `a, b, c`.
    pub fn list() -> String {
        Self::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name onramp does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown connector kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for ConnectorKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, UnknownKind> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// The [`Machine`] impl of a machine module whose functions have the
/// common names (`handle`, `current_action`, `state_name`, ...).
macro_rules! machine {
    ($machine:ident, $variant:ident, release = $release:ident, router = $router:path
        $(, parse_action = $parse:path)?) => {
        /// This kind's [`Machine`](crate::kind::Machine).
        pub struct $machine;

        impl crate::kind::Machine for $machine {
            const KIND: crate::ConnectorKind = crate::ConnectorKind::$variant;
            const STATE_NAMES: &'static [&'static str] = STATE_NAMES;
            type State = State;
            type Action = Action;
            type Event = Event;

            fn handle(state: &State, event: &Event) -> Outcome {
                handle(state, event)
            }
            fn current_action(state: &State) -> Option<Action> {
                current_action(state)
            }
            $(
                fn parse_action(name: &str, state: &State) -> Option<Action> {
                    $parse(name, state)
                }
            )?
            fn action_name(action: Action) -> &'static str {
                action.as_str()
            }
            fn releases(action: Action) -> bool {
                action == Action::$release
            }
            fn event_name(event: &Event) -> &'static str {
                event.name()
            }
            fn state_name(state: &State) -> &'static str {
                state_name(state)
            }
            fn waiting_on(state: &State) -> crate::WaitingOn {
                waiting_on(state)
            }
            fn next_step(state: &State) -> &'static str {
                next_step(state)
            }
            fn failure_reason(state: &State) -> Option<&str> {
                failure_reason(state)
            }
            fn delete_requested() -> Event {
                Event::DeleteRequested
            }
            fn change_requested() -> Event {
                Event::ChangeRequested
            }
            fn router_event(
                action: Action,
                outcome: &crate::kind::RouterOutcome,
            ) -> Option<Event> {
                $router(action, outcome)
            }
        }
    };
}
pub(crate) use machine;

/// The router events of the kinds with one attachment: a push that
/// configures, a removal, and a refusal of the push that fails it.
macro_rules! single_attachment_router {
    (push = $push:ident, remove = $remove:ident, removed = $removed:ident) => {
        fn router_event(action: Action, outcome: &crate::kind::RouterOutcome) -> Option<Event> {
            use crate::kind::RouterOutcome;
            match (action, outcome) {
                (Action::$push, RouterOutcome::Done) => Some(Event::PeConfigured),
                (Action::$push, RouterOutcome::Refused(reason)) => Some(Event::PeFailed {
                    reason: reason.clone(),
                }),
                (Action::$remove, RouterOutcome::Done) => Some(Event::$removed),
                _ => None,
            }
        }
    };
}
pub(crate) use single_attachment_router;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for &k in ConnectorKind::ALL {
            assert_eq!(k.as_str().parse::<ConnectorKind>(), Ok(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert!("aws-dx".parse::<ConnectorKind>().is_err());
    }

    #[test]
    fn each_machine_names_its_own_kind() {
        for &k in ConnectorKind::ALL {
            assert_eq!(with_kind!(k, |K| K::KIND), k);
        }
    }

    #[test]
    fn the_state_list_holds_every_kind_s_states_once() {
        let all = ConnectorKind::all_state_names();
        for &k in ConnectorKind::ALL {
            for s in k.state_names() {
                assert!(all.contains(s), "{k}: {s}");
            }
        }
        let mut sorted = all.clone();
        sorted.dedup();
        assert_eq!(sorted, all);
        // The ticket kind's own states (once missing from the portal filter).
        assert!(all.contains(&"waiting_ops") && all.contains(&"removing_pe"));
    }
}
