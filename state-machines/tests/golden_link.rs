//! Golden traces of the link reconciler: scripted runs where every step
//! succeeds (or is refused), one JSON line per step with the state it was
//! taken in. `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines`
//! rewrites them.

// Shared with the connector kinds' golden tests; this one needs only
// `check_golden`.
#[allow(dead_code)]
mod common;

use onramp_state_machines::link::{LinkState, Member, MemberState, Step, next};

use common::check_golden;

fn m(c: &str, state: MemberState, pes: &[&str]) -> Member {
    Member {
        connector: c.into(),
        state,
        pes: pes.iter().map(std::string::ToString::to_string).collect(),
    }
}

/// Runs the reconciler to quiescence, refusing the steps `refuse` names
/// once each, and records every step.
fn run(
    mut state: LinkState,
    members: &mut [Member],
    mut refuse: Vec<Step>,
    out: &mut String,
) -> LinkState {
    for _ in 0..50 {
        let Some(step) = next(state, members) else {
            break;
        };
        let refused = refuse
            .iter()
            .position(|r| *r == step)
            .map(|i| refuse.remove(i));
        let outcome = match refused {
            Some(_) => step.on_refused(),
            None => Some(step.outcome()),
        };
        out.push_str(
            &serde_json::json!({
                "link": state,
                "members": members.iter().map(|m| format!("{}:{}", m.connector, m.state.as_str())).collect::<Vec<_>>(),
                "step": step,
                "refused": refused.is_some(),
                "event": outcome.as_ref().map(|o| o.event),
            })
            .to_string(),
        );
        out.push('\n');
        if let Some(o) = outcome {
            if let Some((c, s)) = o.member {
                members.iter_mut().find(|m| m.connector == c).unwrap().state = s;
            }
            if let Some(l) = o.link {
                state = l;
            }
        }
    }
    state
}

fn set(members: &mut [Member], c: &str, s: MemberState) {
    members.iter_mut().find(|m| m.connector == c).unwrap().state = s;
}

#[test]
fn create_add_remove_delete() {
    let mut out = String::new();
    let mut members = vec![
        m("a-pe1", MemberState::Joining, &["pe1"]),
        m("b-pe2", MemberState::Joining, &["pe2"]),
        m("c-pe1", MemberState::Joining, &["pe1"]),
    ];
    let s = run(LinkState::Configuring, &mut members, vec![], &mut out);
    assert_eq!(s, LinkState::Active);
    // Remove c: a still uses the VRF on pe1, so only c's attachment moves.
    set(&mut members, "c-pe1", MemberState::Leaving);
    let s = run(s, &mut members, vec![], &mut out);
    assert_eq!(s, LinkState::Active);
    // Remove b: the last member on pe2 takes the VRF with it.
    set(&mut members, "b-pe2", MemberState::Leaving);
    let s = run(s, &mut members, vec![], &mut out);
    assert_eq!(s, LinkState::Active);
    // Delete: a goes back, the VRF leaves pe1.
    set(&mut members, "a-pe1", MemberState::Leaving);
    let s = run(LinkState::Deleting, &mut members, vec![], &mut out);
    assert_eq!(s, LinkState::Deleted);
    check_golden("tests/golden/link_create_add_remove_delete.jsonl", &out);
}

#[test]
fn refused_join_is_undone() {
    let mut out = String::new();
    let mut members = vec![
        m("a-pe1", MemberState::Joining, &["pe1"]),
        m("az-pe1-pe2", MemberState::Joining, &["pe1", "pe2"]),
    ];
    let refuse = vec![Step::Move {
        connector: "az-pe1-pe2".into(),
        to: onramp_state_machines::link::Vrf::Link,
    }];
    let s = run(LinkState::Configuring, &mut members, refuse, &mut out);
    assert_eq!(s, LinkState::Active);
    assert_eq!(members[1].state, MemberState::Removed);
    check_golden("tests/golden/link_refused_join.jsonl", &out);
}
