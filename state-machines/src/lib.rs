//! Pure provisioning state machines, one per connector kind.
//!
//! A machine takes a connector's persisted state and one event and returns the
//! next state plus the actions the worker must run. Nothing in here does I/O,
//! reads a clock or draws random numbers, so every transition can be tested
//! exhaustively and replayed from the audit trail (DESIGN.md, rule 1).

pub mod aws_hosted_connection;
pub mod aws_hosted_vif;
pub mod azure_expressroute;
pub mod gcp_partner_interconnect;
#[macro_use]
pub mod kind;
pub mod link;
pub mod ticket_csp;
pub mod ticket_runbook;

mod docs;
mod machine;
#[cfg(test)]
mod testing;

use serde::{Deserialize, Serialize};

pub use docs::TransitionRow;
pub use kind::{ConnectorKind, Machine, RouterOutcome, UnknownKind};
pub use machine::{ChangeEnd, Outcome, Terminal};

/// Who has to act before a connector can move on.
///
/// Shared by every connector kind so the portal and the ops console can say
/// "waiting on you" / "waiting on AWS" without knowing each machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingOn {
    /// onramp itself: a worker has an action queued or running.
    Onramp,
    /// The PE router: the connector's change is queued for its PE, and the
    /// PE's writer settles the connector once the router has taken it (or
    /// refused it) in one verified commit with the other queued changes.
    Router,
    /// The customer, e.g. accepting a VIF in their cloud console.
    Customer,
    /// The cloud provider, e.g. bringing a VIF or its BGP session up.
    Csp,
    /// A person in the operator's ops console.
    Ops,
    /// No one: the connector is up, or finished.
    Nobody,
}

impl WaitingOn {
    /// The snake_case name, as serialised.
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitingOn::Onramp => "onramp",
            WaitingOn::Router => "router",
            WaitingOn::Customer => "customer",
            WaitingOn::Csp => "csp",
            WaitingOn::Ops => "ops",
            WaitingOn::Nobody => "nobody",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WaitingOn;

    #[test]
    fn waiting_on_as_str_matches_serde() {
        for w in [
            WaitingOn::Onramp,
            WaitingOn::Customer,
            WaitingOn::Csp,
            WaitingOn::Ops,
            WaitingOn::Nobody,
        ] {
            let json = serde_json::to_string(&w).unwrap();
            assert_eq!(json, format!("\"{}\"", w.as_str()));
        }
    }
}
