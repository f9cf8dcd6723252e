//! A link's reconciler: pure, like the connector machines, but shaped as
//! "what is the next step" over the link's state and its members, because a
//! link is a set whose members come and go independently (a `statig` machine
//! per link would have to encode the member set in its state anyway).
//!
//! The API only records intent (a member `joining`, a member `leaving`, the
//! link `deleting`); the worker asks [`next`] for one step, runs its router
//! work, and commits [`Step::outcome`] with the next job. Every step is one
//! idempotent router change (a declarative move or remove), so a worker
//! killed anywhere simply runs the same step again.
//!
//! ```text
//!  member:  joining ──move to link VRF──> joined ──(remove requested)──> leaving
//!              │ refused: move back                                     │ move to tenant VRF
//!              └──────────────────────────────> leaving ────────────────┴──> left
//!  left ──remove the link VRF on its PEs that no live member uses──> removed
//!  link:    configuring ─(nothing left to do)─> active
//!           deleting ─(every member removed)─> deleted  (RD/RT released)
//! ```

use serde::{Deserialize, Serialize};

use crate::WaitingOn;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Configuring,
    Active,
    Deleting,
    Deleted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Asked for; its attachments are still in the tenant's VRF.
    Joining,
    /// Its attachments are in the link's VRF.
    Joined,
    /// On its way back to the tenant's VRF.
    Leaving,
    /// Back in the tenant's VRF; the link's VRF may still need removing
    /// from its PEs.
    Left,
    /// Over. Kept for the history.
    Removed,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Configuring => "configuring",
            LinkState::Active => "active",
            LinkState::Deleting => "deleting",
            LinkState::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<LinkState> {
        [
            LinkState::Configuring,
            LinkState::Active,
            LinkState::Deleting,
            LinkState::Deleted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    pub fn waiting_on(self) -> WaitingOn {
        match self {
            LinkState::Configuring | LinkState::Deleting => WaitingOn::Onramp,
            LinkState::Active | LinkState::Deleted => WaitingOn::Nobody,
        }
    }
}

impl MemberState {
    pub const ALL: [MemberState; 5] = [
        MemberState::Joining,
        MemberState::Joined,
        MemberState::Leaving,
        MemberState::Left,
        MemberState::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Joining => "joining",
            MemberState::Joined => "joined",
            MemberState::Leaving => "leaving",
            MemberState::Left => "left",
            MemberState::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<MemberState> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Its attachments are (or are about to be, or still are) in the
    /// link's VRF, so the VRF must stay on its PEs.
    pub fn uses_vrf(self) -> bool {
        matches!(
            self,
            MemberState::Joining | MemberState::Joined | MemberState::Leaving
        )
    }
}

/// One member as the reconciler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub connector: String,
    pub state: MemberState,
    /// The PEs its attachments are on (two for an Azure circuit).
    pub pes: Vec<String>,
}

/// Where a move takes a member's attachments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vrf {
    Link,
    Tenant,
}

/// The one thing to do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// On each of the member's PEs, in one commit per PE: detach its
    /// attachment from one VRF and create it in the other.
    Move { connector: String, to: Vrf },
    /// Remove the link's VRF from these PEs (none of the link's live
    /// members is on them), then the member is over.
    RemoveVrf { connector: String, pes: Vec<String> },
    /// No router work: the member is over (another live member still uses
    /// the VRF on its PEs).
    Forget { connector: String },
    /// Nothing left to do: the link settles in this state.
    Settle { state: LinkState },
}

/// What a step's success changes, for the worker to commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// (connector, its new member state)
    pub member: Option<(String, MemberState)>,
    pub link: Option<LinkState>,
    /// For the link's timeline.
    pub event: &'static str,
}

/// The next step for a link in `state` with `members` (in the order they
/// were added), or `None` when there is nothing to do.
pub fn next(state: LinkState, members: &[Member]) -> Option<Step> {
    if state == LinkState::Deleted {
        return None;
    }
    // Leaving first: while a link is deleted, members go back to the
    // tenant before anything else happens.
    if let Some(m) = members.iter().find(|m| m.state == MemberState::Leaving) {
        return Some(Step::Move {
            connector: m.connector.clone(),
            to: Vrf::Tenant,
        });
    }
    if state != LinkState::Deleting
        && let Some(m) = members.iter().find(|m| m.state == MemberState::Joining)
    {
        return Some(Step::Move {
            connector: m.connector.clone(),
            to: Vrf::Link,
        });
    }
    if let Some(m) = members.iter().find(|m| m.state == MemberState::Left) {
        let unused: Vec<String> = m
            .pes
            .iter()
            .filter(|pe| {
                !members
                    .iter()
                    .any(|o| o.state.uses_vrf() && o.pes.contains(pe))
            })
            .cloned()
            .collect();
        return Some(if unused.is_empty() {
            Step::Forget {
                connector: m.connector.clone(),
            }
        } else {
            Step::RemoveVrf {
                connector: m.connector.clone(),
                pes: unused,
            }
        });
    }
    match state {
        LinkState::Configuring => Some(Step::Settle {
            state: LinkState::Active,
        }),
        // Every member is removed (a joining one was made leaving by the
        // delete request).
        LinkState::Deleting => Some(Step::Settle {
            state: LinkState::Deleted,
        }),
        LinkState::Active | LinkState::Deleted => None,
    }
}

impl Step {
    /// What committing this step after its router work succeeded changes.
    pub fn outcome(&self) -> Outcome {
        match self {
            Step::Move {
                connector,
                to: Vrf::Link,
            } => Outcome {
                member: Some((connector.clone(), MemberState::Joined)),
                link: None,
                event: "member_joined",
            },
            Step::Move {
                connector,
                to: Vrf::Tenant,
            } => Outcome {
                member: Some((connector.clone(), MemberState::Left)),
                link: None,
                event: "member_left",
            },
            Step::RemoveVrf { connector, .. } => Outcome {
                member: Some((connector.clone(), MemberState::Removed)),
                link: None,
                event: "vrf_removed",
            },
            Step::Forget { connector } => Outcome {
                member: Some((connector.clone(), MemberState::Removed)),
                link: None,
                event: "member_removed",
            },
            Step::Settle { state } => Outcome {
                member: None,
                link: Some(*state),
                event: match state {
                    LinkState::Deleted => "deleted",
                    _ => "configured",
                },
            },
        }
    }

    /// What a refusal by validation or the router changes: a refused join
    /// is undone (the member moves back: on another PE of the same member
    /// the move may have gone through); a refused leave or removal has no
    /// way out but retrying, so `None`.
    pub fn on_refused(&self) -> Option<Outcome> {
        match self {
            Step::Move {
                connector,
                to: Vrf::Link,
            } => Some(Outcome {
                member: Some((connector.clone(), MemberState::Leaving)),
                link: None,
                event: "join_refused",
            }),
            _ => None,
        }
    }

    /// The member the step is about, if any.
    pub fn connector(&self) -> Option<&str> {
        match self {
            Step::Move { connector, .. }
            | Step::RemoveVrf { connector, .. }
            | Step::Forget { connector } => Some(connector),
            Step::Settle { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests;
