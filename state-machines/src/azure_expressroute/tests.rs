use super::docs::{SAMPLE_PROBLEM, SPEC, sample_events, sample_states};
use super::*;
use crate::ChangeEnd;
use crate::testing::{Kind, Row, assert_json_shapes, failed_with, rejected_with};

const NO_PEERING: &str = "no private peering yet";
const VLAN_MISMATCH: &str = "vlanId is 200, onramp allocated 100";

fn legs(primary_up: bool, secondary_up: bool) -> Event {
    Event::LegsObserved {
        primary_up,
        secondary_up,
    }
}

fn peering(problem: Option<&str>) -> Event {
    Event::PeeringObserved {
        problem: problem.map(str::to_string),
    }
}

const KIND: Kind<State, Event, Action> = Kind {
    spec: SPEC,
    event_name: Event::name,
    delete_requested: Event::DeleteRequested,
    restart: |event| match event {
        Event::RetryRequested { managed_peering } => {
            Some(State::provisioning_circuit(*managed_peering))
        }
        _ => None,
    },
    current_action,
    is_terminal,
    next_step,
    failure_reason,
    state_names: STATE_NAMES,
    teardown: &TEARDOWN,
    ends: ENDS,
};

/// Feeds `event` and checks the three things the worker acts on.
#[track_caller]
fn step(from: &State, event: Event, to: State, actions: &[Action], changed: bool) -> Outcome {
    KIND.step(from, event, to, actions, changed)
}

/// Runs the rest of a teardown from `removing_secondary_pe` and returns the
/// terminal.
#[track_caller]
fn finish_teardown(then: Terminal) -> State {
    KIND.finish_teardown(
        then,
        &[
            Event::PeConfigRemoved {
                leg: Leg::Secondary,
            },
            Event::PeConfigRemoved { leg: Leg::Primary },
            Event::PeeringDeleted,
            Event::CircuitDeprovisioned,
            Event::ResourcesReleased,
        ],
    )
}

/// Where a teardown state is heading; `None` outside teardown.
fn teardown_then(state: &State) -> Option<&Terminal> {
    match state {
        State::RemovingSecondaryPe { then }
        | State::RemovingPrimaryPe { then }
        | State::DeletingPeering { then }
        | State::DeprovisioningCircuit { then }
        | State::ReleasingResources { then } => Some(then),
        _ => None,
    }
}

fn watched_states() -> [State; 5] {
    [
        State::waiting_bgp(),
        State::active(),
        State::degraded(Leg::Primary),
        State::degraded(Leg::Secondary),
        State::down(),
    ]
}

// ----- start -----

#[test]
fn start_provisions_the_circuit_in_both_peering_modes() {
    for managed_peering in [true, false] {
        let out = start(managed_peering);
        assert_eq!(out.state, State::provisioning_circuit(managed_peering));
        assert_eq!(out.actions, [Action::ProvisionCircuit]);
        assert!(out.changed);
        assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
        assert_eq!(current_action(&out.state), Some(Action::ProvisionCircuit));
    }
    assert!(
        start(true)
            .note
            .contains("onramp will configure private peering")
    );
    assert!(
        start(false)
            .note
            .contains("the customer will configure private peering")
    );
}

// ----- the happy paths -----

#[test]
fn managed_peering_path_reaches_active_and_keeps_watching() {
    let provisioning = start(true).state;
    step(
        &provisioning,
        Event::CircuitProvisioned,
        State::configuring_primary_pe(true),
        &[Action::PushPrimaryPe],
        true,
    );
    step(
        &State::configuring_primary_pe(true),
        Event::PeConfigured { leg: Leg::Primary },
        State::configuring_secondary_pe(true),
        &[Action::PushSecondaryPe],
        true,
    );
    step(
        &State::configuring_secondary_pe(true),
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        State::configuring_peering(),
        &[Action::ConfigurePeering],
        true,
    );
    step(
        &State::configuring_peering(),
        Event::PeeringConfigured,
        State::waiting_bgp(),
        &[Action::PollLegs],
        true,
    );
    step(
        &State::waiting_bgp(),
        legs(true, true),
        State::active(),
        &[Action::PollLegs],
        true,
    );
    let out = step(
        &State::active(),
        legs(true, true),
        State::active(),
        &[Action::PollLegs],
        false,
    );
    assert!(out.is_still_waiting());
}

#[test]
fn customer_peering_path_waits_for_the_customer() {
    let provisioning = start(false).state;
    let primary = handle(&provisioning, &Event::CircuitProvisioned).state;
    assert_eq!(primary, State::configuring_primary_pe(false));
    let secondary = handle(&primary, &Event::PeConfigured { leg: Leg::Primary }).state;
    assert_eq!(secondary, State::configuring_secondary_pe(false));
    let out = step(
        &secondary,
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        State::waiting_customer_peering(None),
        &[Action::PollPeering],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
    assert_eq!(peering_problem(&out.state), None);
    let out = step(
        &out.state,
        peering(None),
        State::waiting_bgp(),
        &[Action::PollLegs],
        true,
    );
    assert!(out.note.contains("matches"), "{}", out.note);
}

#[test]
fn a_customer_peering_problem_is_recorded_once_then_polled() {
    let waiting = State::waiting_customer_peering(None);
    let out = step(
        &waiting,
        peering(Some(NO_PEERING)),
        State::waiting_customer_peering(Some(NO_PEERING.to_string())),
        &[Action::PollPeering],
        true,
    );
    assert!(out.note.contains(NO_PEERING), "{}", out.note);
    assert_eq!(peering_problem(&out.state), Some(NO_PEERING));

    // The same answer again: nothing for the timeline, poll again.
    let out = step(
        &out.state.clone(),
        peering(Some(NO_PEERING)),
        out.state,
        &[Action::PollPeering],
        false,
    );
    assert!(out.is_still_waiting());

    // A different answer is news.
    let out = step(
        &out.state.clone(),
        peering(Some(VLAN_MISMATCH)),
        State::waiting_customer_peering(Some(VLAN_MISMATCH.to_string())),
        &[Action::PollPeering],
        true,
    );
    assert!(out.note.contains(VLAN_MISMATCH), "{}", out.note);

    // The fix.
    step(
        &out.state,
        peering(None),
        State::waiting_bgp(),
        &[Action::PollLegs],
        true,
    );
}

#[test]
fn waiting_bgp_stays_until_both_legs_are_up() {
    for (primary_up, secondary_up) in [(false, false), (true, false), (false, true)] {
        let out = step(
            &State::waiting_bgp(),
            legs(primary_up, secondary_up),
            State::waiting_bgp(),
            &[Action::PollLegs],
            false,
        );
        assert!(
            out.note.contains(&describe(primary_up, secondary_up)),
            "{}",
            out.note
        );
    }
}

// ----- degraded, down and recovery -----

#[test]
fn one_leg_down_degrades_and_recovers_for_either_leg() {
    for leg in Leg::ALL {
        let (p, s) = (leg != Leg::Primary, leg != Leg::Secondary);
        let out = step(
            &State::active(),
            legs(p, s),
            State::degraded(leg),
            &[Action::PollLegs],
            true,
        );
        assert_eq!(degraded_leg(&out.state), Some(leg));
        assert_eq!(waiting_on(&out.state), WaitingOn::Csp);
        assert!(out.note.contains(leg.as_str()), "{}", out.note);

        step(
            &out.state,
            legs(p, s),
            State::degraded(leg),
            &[Action::PollLegs],
            false,
        );
        let out = step(
            &State::degraded(leg),
            legs(true, true),
            State::active(),
            &[Action::PollLegs],
            true,
        );
        assert!(out.note.contains("recovered"), "{}", out.note);
        assert_eq!(degraded_leg(&out.state), None);
        assert_eq!(waiting_on(&out.state), WaitingOn::Nobody);
    }
}

#[test]
fn degraded_follows_the_leg_that_is_down() {
    let out = step(
        &State::degraded(Leg::Primary),
        legs(true, false),
        State::degraded(Leg::Secondary),
        &[Action::PollLegs],
        true,
    );
    assert!(out.note.contains("still degraded"), "{}", out.note);
    step(
        &State::degraded(Leg::Secondary),
        legs(false, true),
        State::degraded(Leg::Primary),
        &[Action::PollLegs],
        true,
    );
}

#[test]
fn both_legs_down_and_back_through_degraded() {
    for from in [
        State::active(),
        State::degraded(Leg::Primary),
        State::degraded(Leg::Secondary),
    ] {
        step(
            &from,
            legs(false, false),
            State::down(),
            &[Action::PollLegs],
            true,
        );
    }
    step(
        &State::down(),
        legs(false, false),
        State::down(),
        &[Action::PollLegs],
        false,
    );
    for leg in Leg::ALL {
        let (p, s) = (leg != Leg::Primary, leg != Leg::Secondary);
        step(
            &State::down(),
            legs(p, s),
            State::degraded(leg),
            &[Action::PollLegs],
            true,
        );
    }
    step(
        &State::down(),
        legs(true, true),
        State::active(),
        &[Action::PollLegs],
        true,
    );
}

// ----- failures and rollbacks -----

#[test]
fn azure_refusing_the_circuit_rolls_back_to_failed() {
    let reason = "Azure refused to provision the circuit: ServiceKeyNotFound";
    for managed_peering in [true, false] {
        let out = step(
            &State::provisioning_circuit(managed_peering),
            Event::CircuitProvisionFailed {
                reason: "ServiceKeyNotFound".to_string(),
            },
            State::removing_secondary_pe(failed_with(reason)),
            &[Action::RemoveSecondaryPe],
            true,
        );
        assert_eq!(waiting_on(&out.state), WaitingOn::Router);
        assert_eq!(failure_reason(&out.state), Some(reason));
    }
    let end = finish_teardown(failed_with(reason));
    assert_eq!(end, State::failed(reason.to_string()));
    assert!(is_terminal(&end));
    assert_eq!(failure_reason(&end), Some(reason));
}

#[test]
fn a_pe_refusing_the_config_rolls_back_to_failed() {
    for managed_peering in [true, false] {
        for (leg, from) in [
            (Leg::Primary, State::configuring_primary_pe(managed_peering)),
            (
                Leg::Secondary,
                State::configuring_secondary_pe(managed_peering),
            ),
        ] {
            let reason = format!(
                "the {} PE router refused the configuration: commit check failed",
                leg.as_str()
            );
            step(
                &from,
                Event::PeFailed {
                    leg,
                    reason: "commit check failed".to_string(),
                },
                State::removing_secondary_pe(failed_with(&reason)),
                &[Action::RemoveSecondaryPe],
                true,
            );
            assert_eq!(
                finish_teardown(failed_with(&reason)),
                State::failed(reason.clone())
            );
        }
    }
}

#[test]
fn results_for_the_other_leg_are_ignored() {
    for managed_peering in [true, false] {
        for (from, other) in [
            (
                State::configuring_primary_pe(managed_peering),
                Leg::Secondary,
            ),
            (
                State::configuring_secondary_pe(managed_peering),
                Leg::Primary,
            ),
        ] {
            for event in [
                Event::PeConfigured { leg: other },
                Event::PeFailed {
                    leg: other,
                    reason: "x".to_string(),
                },
            ] {
                let out = step(&from, event, from.clone(), &[], false);
                assert!(out.is_ignored());
            }
        }
    }
    for (from, other) in [
        (
            State::removing_secondary_pe(Terminal::Deleted),
            Leg::Primary,
        ),
        (
            State::removing_primary_pe(Terminal::Deleted),
            Leg::Secondary,
        ),
    ] {
        let out = step(
            &from,
            Event::PeConfigRemoved { leg: other },
            from.clone(),
            &[],
            false,
        );
        assert!(out.is_ignored());
    }
}

#[test]
fn azure_refusing_the_managed_peering_rolls_back_to_failed() {
    let reason = "Azure refused the private peering: InvalidVlanId";
    step(
        &State::configuring_peering(),
        Event::PeeringFailed {
            reason: "InvalidVlanId".to_string(),
        },
        State::removing_secondary_pe(failed_with(reason)),
        &[Action::RemoveSecondaryPe],
        true,
    );
    assert_eq!(
        finish_teardown(failed_with(reason)),
        State::failed(reason.to_string())
    );
}

#[test]
fn circuit_lost_after_provisioning_ends_failed() {
    let mut from: Vec<State> = watched_states().into();
    from.push(State::waiting_customer_peering(None));
    from.push(State::waiting_customer_peering(Some(
        NO_PEERING.to_string(),
    )));
    for state in from {
        let out = handle(
            &state,
            &Event::CircuitLost {
                reason: "cross-connection not found".to_string(),
            },
        );
        let State::RemovingSecondaryPe {
            then: Terminal::Failed { reason },
        } = &out.state
        else {
            panic!("circuit_lost in {state:?} gave {:?}", out.state);
        };
        assert!(reason.contains("removed outside onramp"), "{reason}");
        assert!(reason.contains("cross-connection not found"), "{reason}");
        assert_eq!(out.actions, [Action::RemoveSecondaryPe]);
        assert!(out.changed);
    }
}

// ----- delete requests -----

#[test]
fn delete_is_accepted_in_every_live_state() {
    KIND.check_delete_in_live_states(22, Action::RemoveSecondaryPe);
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn delete_during_a_rollback_switches_the_ending_without_new_jobs() {
    KIND.check_delete_during_rollback();
}

#[test]
fn delete_during_a_rollback_then_finishes_as_deleted() {
    let rolling_back = handle(
        &State::configuring_secondary_pe(true),
        &Event::PeFailed {
            leg: Leg::Secondary,
            reason: "timeout".to_string(),
        },
    )
    .state;
    let primary = handle(
        &rolling_back,
        &Event::PeConfigRemoved {
            leg: Leg::Secondary,
        },
    )
    .state;
    let primary = handle(&primary, &Event::DeleteRequested).state;
    assert_eq!(primary, State::removing_primary_pe(Terminal::Deleted));
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn repeated_delete_while_deleting_is_ignored() {
    KIND.check_repeated_delete_ignored();
}

#[test]
fn delete_releases_what_a_failed_connector_holds_and_closes_a_rejected_one() {
    KIND.check_delete_releases_failed_and_closes_rejected(
        Action::ReleaseResources,
        Event::ResourcesReleased,
    );
}

#[test]
fn delete_of_a_deleted_connector_is_ignored() {
    KIND.check_delete_of_deleted_ignored();
}

// ----- a failed connector keeps its allocations: retry or delete -----

#[test]
fn a_failure_rollback_ends_failed_keeping_the_allocations() {
    KIND.check_teardown_end_notes(Event::ResourcesReleased);
}

#[test]
fn retry_provisions_the_circuit_again_in_either_peering_mode() {
    for managed_peering in [true, false] {
        KIND.check_retry_restarts_failed(
            Event::RetryRequested { managed_peering },
            State::provisioning_circuit(managed_peering),
            Action::ProvisionCircuit,
            "retry requested after the failure (boom); provisioning the circuit again with the \
             resources the connector held",
        );
        let out = handle(
            &State::failed("boom".to_string()),
            &Event::RetryRequested { managed_peering },
        );
        assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    }
}

#[test]
fn retry_is_ignored_unless_failed() {
    for managed_peering in [true, false] {
        let retry = Event::RetryRequested { managed_peering };
        KIND.check_retry_ignored_outside_failed(retry.clone());
        // Named, for the cases the API answers with a 409.
        for state in [
            State::rejected("declined".to_string()),
            State::deleted(),
            State::provisioning_circuit(!managed_peering),
            State::waiting_customer_peering(Some(VLAN_MISMATCH.to_string())),
            State::active(),
            State::down(),
            State::removing_secondary_pe(failed_with("boom")),
            State::releasing_resources(failed_with("boom")),
            State::releasing_resources(Terminal::Deleted),
        ] {
            let out = step(&state, retry.clone(), state.clone(), &[], false);
            assert!(out.is_ignored(), "{state:?}");
        }
    }
}

#[test]
fn deleting_a_failed_connector_releases_then_ends_deleted() {
    let reason = "Azure refused to provision the circuit: ServiceKeyNotFound";
    let out = step(
        &State::failed(reason.to_string()),
        Event::DeleteRequested,
        State::releasing_resources(Terminal::Deleted),
        &[Action::ReleaseResources],
        true,
    );
    assert_eq!(
        out.note,
        format!("failed connector deleted ({reason}); releasing the resources it held")
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    let releasing = out.state;
    for event in [
        Event::DeleteRequested,
        Event::RetryRequested {
            managed_peering: true,
        },
    ] {
        step(&releasing, event, releasing.clone(), &[], false);
    }
    step(
        &releasing,
        Event::ResourcesReleased,
        State::deleted(),
        &[],
        true,
    );
}

#[test]
fn rejected_ending_is_reachable_only_from_a_persisted_teardown() {
    let heads_to_rejected = |s: &State| {
        matches!(s, State::Rejected { .. })
            || matches!(teardown_then(s), Some(Terminal::Rejected { .. }))
    };
    // No event leads there today...
    for state in sample_states().iter().filter(|s| !heads_to_rejected(s)) {
        for event in sample_events() {
            let out = handle(state, &event);
            assert!(
                !heads_to_rejected(&out.state),
                "{event:?} in {state:?} → {:?}",
                out.state
            );
        }
    }
    // ...but a row that carries it still finishes.
    assert_eq!(
        finish_teardown(rejected_with("declined")),
        State::rejected("declined".to_string())
    );
}

// ----- changing a live connector's settings -----

fn pe_failed(leg: Leg, reason: &str) -> Event {
    Event::PeFailed {
        leg,
        reason: reason.to_string(),
    }
}

#[test]
fn a_change_from_any_watched_state_after_bgp_pushes_the_primary_first() {
    for from in [
        State::active(),
        State::degraded(Leg::Primary),
        State::degraded(Leg::Secondary),
        State::down(),
    ] {
        let out = step(
            &from,
            Event::ChangeRequested,
            State::changing_primary_pe(),
            &[Action::PushPrimaryPe],
            true,
        );
        assert_eq!(out.change, None);
        assert!(
            out.note.contains("settings change requested"),
            "{}",
            out.note
        );
        assert_eq!(waiting_on(&out.state), WaitingOn::Router);
        assert_eq!(failure_reason(&out.state), None);
        assert_eq!(degraded_leg(&out.state), None);
    }
}

#[test]
fn the_primary_taking_the_change_moves_on_to_the_secondary() {
    let out = step(
        &State::changing_primary_pe(),
        Event::PeConfigured { leg: Leg::Primary },
        State::changing_secondary_pe(),
        &[Action::PushSecondaryPe],
        true,
    );
    // Half a change is no end of it.
    assert_eq!(out.change, None);
    assert!(out.note.contains("secondary"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
}

#[test]
fn a_change_both_pes_take_is_kept_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_secondary_pe(),
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        State::active(),
        &[Action::PollLegs],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Kept));
    assert!(out.note.contains("both PEs"), "{}", out.note);
}

#[test]
fn a_change_the_primary_refuses_is_reverted_without_touching_the_secondary() {
    let out = step(
        &State::changing_primary_pe(),
        pe_failed(Leg::Primary, "commit check failed"),
        State::active(),
        &[Action::PollLegs],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Reverted));
    assert!(out.note.contains("commit check failed"), "{}", out.note);
    assert!(out.note.contains("previous settings"), "{}", out.note);
    // A refused change is not a failure of the connector.
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn a_change_the_secondary_refuses_is_reverted_and_the_primary_put_back() {
    let out = step(
        &State::changing_secondary_pe(),
        pe_failed(Leg::Secondary, "commit check failed"),
        State::restoring_primary_pe(),
        &[Action::PushPrimaryPe],
        true,
    );
    // Reverted now, in the same commit, so the push that follows renders
    // the settings from before the change.
    assert_eq!(out.change, Some(ChangeEnd::Reverted));
    assert!(out.note.contains("commit check failed"), "{}", out.note);
    assert!(out.note.contains("primary"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
    assert_eq!(failure_reason(&out.state), None);
    assert!(next_step(&out.state).contains("previous"));
}

#[test]
fn restoring_the_primary_ends_active_either_way() {
    let out = step(
        &State::restoring_primary_pe(),
        Event::PeConfigured { leg: Leg::Primary },
        State::active(),
        &[Action::PollLegs],
        true,
    );
    // The change already ended when the secondary refused it.
    assert_eq!(out.change, None);
    assert!(out.note.contains("both legs agree"), "{}", out.note);

    let out = step(
        &State::restoring_primary_pe(),
        pe_failed(Leg::Primary, "NETCONF session timed out"),
        State::active(),
        &[Action::PollLegs],
        true,
    );
    assert_eq!(out.change, None);
    assert!(
        out.note.contains("NETCONF session timed out"),
        "{}",
        out.note
    );
    assert!(out.note.contains("ops"), "{}", out.note);
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn a_change_refused_by_the_secondary_round_trip() {
    let mut state = State::degraded(Leg::Secondary);
    let mut ends = Vec::new();
    for event in [
        Event::ChangeRequested,
        Event::PeConfigured { leg: Leg::Primary },
        pe_failed(Leg::Secondary, "x"),
        Event::PeConfigured { leg: Leg::Primary },
    ] {
        let out = handle(&state, &event);
        assert!(out.changed, "{event:?} in {state:?}");
        ends.extend(out.change);
        state = out.state;
    }
    assert_eq!(state, State::active());
    assert_eq!(ends, [ChangeEnd::Reverted]);
    // Back in active, the first poll says whether the legs are up.
    step(
        &state,
        legs(true, false),
        State::degraded(Leg::Secondary),
        &[Action::PollLegs],
        true,
    );
}

#[test]
fn results_for_the_other_leg_are_ignored_during_a_change() {
    for (from, other) in [
        (State::changing_primary_pe(), Leg::Secondary),
        (State::changing_secondary_pe(), Leg::Primary),
        (State::restoring_primary_pe(), Leg::Secondary),
    ] {
        for event in [Event::PeConfigured { leg: other }, pe_failed(other, "x")] {
            let out = step(&from, event, from.clone(), &[], false);
            assert!(out.is_ignored());
            assert_eq!(out.change, None);
        }
    }
}

#[test]
fn a_change_is_ignored_where_it_cannot_start() {
    for state in sample_states() {
        let out = handle(&state, &Event::ChangeRequested);
        if matches!(
            state,
            State::Active {} | State::Degraded { .. } | State::Down {}
        ) {
            assert_eq!(out.state, State::changing_primary_pe(), "{state:?}");
            assert_eq!(out.actions, [Action::PushPrimaryPe]);
            continue;
        }
        assert!(out.is_ignored(), "{state:?}");
        assert_eq!(out.state, state);
        assert_eq!(out.change, None, "{state:?}");
        assert_eq!(
            out.note,
            format!(
                "unexpected event change_requested in state {}",
                state_name(&state)
            )
        );
    }
    // Named, for the cases the API answers with a 409.
    for state in [
        State::configuring_primary_pe(true),
        State::waiting_customer_peering(None),
        State::waiting_bgp(),
        State::removing_secondary_pe(Terminal::Deleted),
        State::deprovisioning_circuit(failed_with("boom")),
        State::deleted(),
        State::failed("boom".to_string()),
    ] {
        step(&state, Event::ChangeRequested, state.clone(), &[], false);
    }
}

#[test]
fn a_change_during_a_change_is_ignored() {
    for changing in [
        State::changing_primary_pe(),
        State::changing_secondary_pe(),
        State::restoring_primary_pe(),
    ] {
        let out = step(
            &changing,
            Event::ChangeRequested,
            changing.clone(),
            &[],
            false,
        );
        assert!(out.is_ignored());
        assert_eq!(out.change, None);
    }
}

#[test]
fn polls_queued_before_a_change_are_stale_during_it() {
    for changing in [
        State::changing_primary_pe(),
        State::changing_secondary_pe(),
        State::restoring_primary_pe(),
    ] {
        for event in [
            legs(true, true),
            legs(false, false),
            peering(None),
            Event::CircuitLost {
                reason: "x".to_string(),
            },
        ] {
            assert!(
                handle(&changing, &event).is_ignored(),
                "{event:?} in {changing:?}"
            );
        }
    }
}

#[test]
fn delete_during_a_change_starts_the_teardown() {
    for changing in [
        State::changing_primary_pe(),
        State::changing_secondary_pe(),
        State::restoring_primary_pe(),
    ] {
        let out = step(
            &changing,
            Event::DeleteRequested,
            State::removing_secondary_pe(Terminal::Deleted),
            &[Action::RemoveSecondaryPe],
            true,
        );
        assert_eq!(out.change, None);
        // The PEs' answers to the change come too late to matter.
        for leg in Leg::ALL {
            for event in [Event::PeConfigured { leg }, pe_failed(leg, "x")] {
                assert!(handle(&out.state, &event).is_ignored(), "{event:?}");
            }
        }
    }
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

// ----- ignored events -----

#[test]
fn out_of_place_events_are_ignored_with_a_reason() {
    let out = step(
        &State::active(),
        Event::PeeringDeleted,
        State::active(),
        &[],
        false,
    );
    assert_eq!(out.note, "unexpected event peering_deleted in state active");

    // A poll result that lands after a delete started must not resurrect the
    // connector.
    let removing = State::removing_secondary_pe(Terminal::Deleted);
    let out = step(&removing, legs(true, true), removing.clone(), &[], false);
    assert_eq!(
        out.note,
        "unexpected event legs_observed in state removing_secondary_pe"
    );

    // A redelivered job result must not re-run the step after it.
    let out = step(
        &State::configuring_secondary_pe(true),
        Event::PeConfigured { leg: Leg::Primary },
        State::configuring_secondary_pe(true),
        &[],
        false,
    );
    assert!(out.is_ignored());

    // Managed peering is never polled; a customer's peering is never PUT.
    for (state, event) in [
        (State::configuring_peering(), peering(None)),
        (
            State::waiting_customer_peering(None),
            Event::PeeringConfigured,
        ),
        (State::configuring_peering(), legs(true, true)),
        (
            State::configuring_peering(),
            Event::CircuitLost {
                reason: "x".to_string(),
            },
        ),
    ] {
        assert!(
            handle(&state, &event).is_ignored(),
            "{event:?} in {state:?}"
        );
    }
}

/// Every (state, event) pair, checked against the rules the worker relies on.
#[test]
fn every_pair_keeps_the_worker_contract() {
    KIND.check_worker_contract(|state, event, out, ctx| {
        // Entering a new state (or the same kind with a new problem or
        // leg) always queues its job, except when only a teardown's
        // ending changes.
        if out.changed && !matches!(event, Event::DeleteRequested) {
            assert_eq!(
                out.actions,
                current_action(&out.state).into_iter().collect::<Vec<_>>(),
                "{ctx}"
            );
        }
        // Only polls may stay put and still ask for work.
        if !out.changed && !out.actions.is_empty() {
            assert!(
                matches!(
                    event,
                    Event::PeeringObserved { .. } | Event::LegsObserved { .. }
                ),
                "{ctx}"
            );
            assert!(
                matches!(out.actions[0], Action::PollPeering | Action::PollLegs),
                "{ctx}"
            );
        }
        // Only a PE's answer to a change ends one: the primary's refusal,
        // or the secondary's answer either way. Putting the primary back
        // after that ends nothing more.
        let change = match (state, event) {
            (
                State::ChangingPrimaryPe {},
                Event::PeFailed {
                    leg: Leg::Primary, ..
                },
            ) => Some(ChangeEnd::Reverted),
            (
                State::ChangingSecondaryPe {},
                Event::PeConfigured {
                    leg: Leg::Secondary,
                },
            ) => Some(ChangeEnd::Kept),
            (
                State::ChangingSecondaryPe {},
                Event::PeFailed {
                    leg: Leg::Secondary,
                    ..
                },
            ) => Some(ChangeEnd::Reverted),
            // A new key: a PE's refusal ends it, and so does Microsoft's
            // answer either way; restoring the PEs after that ends nothing.
            (
                State::RotatingKeyPrimaryPe {},
                Event::PeFailed {
                    leg: Leg::Primary, ..
                },
            )
            | (
                State::RotatingKeySecondaryPe {},
                Event::PeFailed {
                    leg: Leg::Secondary,
                    ..
                },
            )
            | (State::RotatingPeeringKey {}, Event::PeeringFailed { .. }) => {
                Some(ChangeEnd::Reverted)
            }
            (State::RotatingPeeringKey {}, Event::PeeringConfigured) => Some(ChangeEnd::Kept),
            _ => None,
        };
        assert_eq!(out.change, change, "{ctx}");
    });
}

/// The whole transition table, written out by hand from the spec. Any change
/// in behaviour has to be made here too, on purpose.
#[test]
fn transition_table_matches_the_spec() {
    let mut expected: Vec<Row> = Vec::new();
    let mut row = |from: &str, trigger: &str, to: &str, action: &str| {
        expected.push((from.into(), trigger.into(), to.into(), action.into()));
    };
    let rm2 = "removing_secondary_pe";

    for mode in ["managed_peering", "customer_peering"] {
        let pc = format!("provisioning_circuit{{{mode}}}");
        let p1 = format!("configuring_primary_pe{{{mode}}}");
        let p2 = format!("configuring_secondary_pe{{{mode}}}");
        row(&pc, "circuit_provisioned", &p1, "push_primary_pe");
        row(
            &pc,
            "circuit_provision_failed",
            &format!("{rm2}{{failed}}"),
            "remove_secondary_pe",
        );
        row(&p1, "pe_configured [primary]", &p2, "push_secondary_pe");
        row(
            &p1,
            "pe_failed [primary]",
            &format!("{rm2}{{failed}}"),
            "remove_secondary_pe",
        );
        row(
            &p2,
            "pe_failed [secondary]",
            &format!("{rm2}{{failed}}"),
            "remove_secondary_pe",
        );
        for from in [&pc, &p1, &p2] {
            row(
                from,
                "delete_requested",
                &format!("{rm2}{{deleted}}"),
                "remove_secondary_pe",
            );
        }
    }
    row(
        "configuring_secondary_pe{managed_peering}",
        "pe_configured [secondary]",
        "configuring_peering",
        "configure_peering",
    );
    row(
        "configuring_secondary_pe{customer_peering}",
        "pe_configured [secondary]",
        "waiting_customer_peering",
        "poll_peering",
    );

    row(
        "configuring_peering",
        "peering_configured",
        "waiting_bgp",
        "poll_legs",
    );
    row(
        "configuring_peering",
        "peering_failed",
        &format!("{rm2}{{failed}}"),
        "remove_secondary_pe",
    );

    for wcp in [
        "waiting_customer_peering",
        "waiting_customer_peering{problem}",
    ] {
        row(
            wcp,
            "peering_observed [matches]",
            "waiting_bgp",
            "poll_legs",
        );
        row(
            wcp,
            "peering_observed [new problem]",
            "waiting_customer_peering{problem}",
            "poll_peering",
        );
    }
    row(
        "waiting_customer_peering{problem}",
        "peering_observed [same problem]",
        "stays",
        "poll_peering",
    );

    row(
        "waiting_bgp",
        "legs_observed [both up]",
        "active",
        "poll_legs",
    );
    for class in ["both down", "primary down", "secondary down"] {
        row(
            "waiting_bgp",
            &format!("legs_observed [{class}]"),
            "stays",
            "poll_legs",
        );
    }

    row("active", "legs_observed [both up]", "stays", "poll_legs");
    row(
        "active",
        "legs_observed [primary down]",
        "degraded{primary}",
        "poll_legs",
    );
    row(
        "active",
        "legs_observed [secondary down]",
        "degraded{secondary}",
        "poll_legs",
    );
    row("active", "legs_observed [both down]", "down", "poll_legs");

    for leg in ["primary", "secondary"] {
        let other = if leg == "primary" {
            "secondary"
        } else {
            "primary"
        };
        let from = format!("degraded{{{leg}}}");
        row(&from, "legs_observed [both up]", "active", "poll_legs");
        row(
            &from,
            &format!("legs_observed [{leg} down]"),
            "stays",
            "poll_legs",
        );
        row(
            &from,
            &format!("legs_observed [{other} down]"),
            &format!("degraded{{{other}}}"),
            "poll_legs",
        );
        row(&from, "legs_observed [both down]", "down", "poll_legs");
    }

    row("down", "legs_observed [both up]", "active", "poll_legs");
    row(
        "down",
        "legs_observed [primary down]",
        "degraded{primary}",
        "poll_legs",
    );
    row(
        "down",
        "legs_observed [secondary down]",
        "degraded{secondary}",
        "poll_legs",
    );
    row("down", "legs_observed [both down]", "stays", "poll_legs");

    for from in ["active", "degraded{primary}", "degraded{secondary}", "down"] {
        for trigger in ["change_requested", "circuit_bandwidth_changed"] {
            row(from, trigger, "changing_primary_pe", "push_primary_pe");
        }
        row(
            from,
            "key_rotation_requested",
            "rotating_key_primary_pe",
            "push_primary_pe",
        );
    }
    row(
        "rotating_key_primary_pe",
        "pe_configured [primary]",
        "rotating_key_secondary_pe",
        "push_secondary_pe",
    );
    row(
        "rotating_key_primary_pe",
        "pe_failed [primary]",
        "active",
        "poll_legs",
    );
    row(
        "rotating_key_secondary_pe",
        "pe_configured [secondary]",
        "rotating_peering_key",
        "configure_peering",
    );
    row(
        "rotating_key_secondary_pe",
        "pe_failed [secondary]",
        "restoring_primary_pe",
        "push_primary_pe",
    );
    row(
        "rotating_peering_key",
        "peering_configured",
        "active",
        "poll_legs",
    );
    row(
        "rotating_peering_key",
        "peering_failed",
        "restoring_peering_key",
        "configure_peering",
    );
    for outcome in ["peering_configured", "peering_failed"] {
        row(
            "restoring_peering_key",
            outcome,
            "restoring_secondary_pe",
            "push_secondary_pe",
        );
    }
    for outcome in ["pe_configured [secondary]", "pe_failed [secondary]"] {
        row(
            "restoring_secondary_pe",
            outcome,
            "restoring_primary_pe",
            "push_primary_pe",
        );
    }
    row(
        "changing_primary_pe",
        "pe_configured [primary]",
        "changing_secondary_pe",
        "push_secondary_pe",
    );
    row(
        "changing_primary_pe",
        "pe_failed [primary]",
        "active",
        "poll_legs",
    );
    row(
        "changing_secondary_pe",
        "pe_configured [secondary]",
        "active",
        "poll_legs",
    );
    row(
        "changing_secondary_pe",
        "pe_failed [secondary]",
        "restoring_primary_pe",
        "push_primary_pe",
    );
    row(
        "restoring_primary_pe",
        "pe_configured [primary]",
        "active",
        "poll_legs",
    );
    row(
        "restoring_primary_pe",
        "pe_failed [primary]",
        "active",
        "poll_legs",
    );

    for from in [
        "configuring_peering",
        "waiting_customer_peering",
        "waiting_customer_peering{problem}",
        "waiting_bgp",
        "active",
        "degraded{primary}",
        "degraded{secondary}",
        "down",
        "changing_primary_pe",
        "changing_secondary_pe",
        "restoring_primary_pe",
        "rotating_key_primary_pe",
        "rotating_key_secondary_pe",
        "rotating_peering_key",
        "restoring_peering_key",
        "restoring_secondary_pe",
    ] {
        row(
            from,
            "delete_requested",
            &format!("{rm2}{{deleted}}"),
            "remove_secondary_pe",
        );
        // The cross-connection is polled with the peering or the legs, and
        // neither is polled while a PE is configured or changed.
        if ![
            "configuring_peering",
            "changing_primary_pe",
            "changing_secondary_pe",
            "restoring_primary_pe",
            "rotating_key_primary_pe",
            "rotating_key_secondary_pe",
            "rotating_peering_key",
            "restoring_peering_key",
            "restoring_secondary_pe",
        ]
        .contains(&from)
        {
            row(
                from,
                "circuit_lost",
                &format!("{rm2}{{failed}}"),
                "remove_secondary_pe",
            );
        }
    }

    for ending in ["deleted", "failed", "rejected"] {
        row(
            &format!("removing_secondary_pe{{{ending}}}"),
            "pe_config_removed [secondary]",
            &format!("removing_primary_pe{{{ending}}}"),
            "remove_primary_pe",
        );
        row(
            &format!("removing_primary_pe{{{ending}}}"),
            "pe_config_removed [primary]",
            &format!("deleting_peering{{{ending}}}"),
            "delete_peering",
        );
        row(
            &format!("deleting_peering{{{ending}}}"),
            "peering_deleted",
            &format!("deprovisioning_circuit{{{ending}}}"),
            "deprovision_circuit",
        );
        row(
            &format!("deprovisioning_circuit{{{ending}}}"),
            "circuit_deprovisioned",
            &format!("releasing_resources{{{ending}}}"),
            "release_resources",
        );
        row(
            &format!("releasing_resources{{{ending}}}"),
            "resources_released",
            ending,
            "",
        );
        if ending != "deleted" {
            for step in [
                "removing_secondary_pe",
                "removing_primary_pe",
                "deleting_peering",
                "deprovisioning_circuit",
                "releasing_resources",
            ] {
                row(
                    &format!("{step}{{{ending}}}"),
                    "delete_requested",
                    &format!("{step}{{deleted}}"),
                    "",
                );
            }
        }
    }
    row(
        "failed",
        "delete_requested",
        "releasing_resources{deleted}",
        "release_resources",
    );
    row(
        "failed",
        "retry_requested",
        "provisioning_circuit{managed_peering}",
        "provision_circuit",
    );
    row("rejected", "delete_requested", "deleted", "");

    KIND.check_transition_table(transitions(), expected);
}

// ----- persistence -----

#[test]
fn every_state_survives_a_json_round_trip_and_continues() {
    KIND.check_json_round_trip();
}

#[test]
fn crash_mid_teardown_resumes_from_the_persisted_row() {
    let rolling_back = handle(
        &State::active(),
        &Event::CircuitLost {
            reason: "serviceProviderProvisioningState is NotProvisioned".to_string(),
        },
    )
    .state;
    let primary = handle(
        &rolling_back,
        &Event::PeConfigRemoved {
            leg: Leg::Secondary,
        },
    )
    .state;
    // What the worker committed before it died.
    let row = serde_json::to_value(&primary).unwrap();

    let restored: State = serde_json::from_value(row).unwrap();
    // Redelivery of the job that was already done must not move it on twice.
    assert!(
        handle(
            &restored,
            &Event::PeConfigRemoved {
                leg: Leg::Secondary
            }
        )
        .is_ignored()
    );
    let mut state = restored;
    for event in [
        Event::PeConfigRemoved { leg: Leg::Primary },
        Event::PeeringDeleted,
        Event::CircuitDeprovisioned,
        Event::ResourcesReleased,
    ] {
        state = handle(&state, &event).state;
    }
    assert_eq!(
        state,
        State::failed(
            "the ExpressRoute circuit was removed outside onramp: \
             serviceProviderProvisioningState is NotProvisioned"
                .to_string()
        )
    );
}

/// Rows already in the database must keep deserialising: changing these
/// shapes needs a data migration.
#[test]
fn persisted_json_shape_is_stable() {
    let cases = [
        (
            State::provisioning_circuit(true),
            r#"{"ProvisioningCircuit":{"managed_peering":true}}"#,
        ),
        (
            State::configuring_secondary_pe(false),
            r#"{"ConfiguringSecondaryPe":{"managed_peering":false}}"#,
        ),
        (State::configuring_peering(), r#"{"ConfiguringPeering":{}}"#),
        (
            State::waiting_customer_peering(None),
            r#"{"WaitingCustomerPeering":{"problem":null}}"#,
        ),
        (
            State::waiting_customer_peering(Some(NO_PEERING.to_string())),
            r#"{"WaitingCustomerPeering":{"problem":"no private peering yet"}}"#,
        ),
        (State::active(), r#"{"Active":{}}"#),
        (
            State::degraded(Leg::Secondary),
            r#"{"Degraded":{"down":"secondary"}}"#,
        ),
        (State::changing_primary_pe(), r#"{"ChangingPrimaryPe":{}}"#),
        (
            State::changing_secondary_pe(),
            r#"{"ChangingSecondaryPe":{}}"#,
        ),
        (
            State::restoring_primary_pe(),
            r#"{"RestoringPrimaryPe":{}}"#,
        ),
        (
            State::removing_secondary_pe(failed_with("boom")),
            r#"{"RemovingSecondaryPe":{"then":{"kind":"failed","reason":"boom"}}}"#,
        ),
        (
            State::deprovisioning_circuit(Terminal::Deleted),
            r#"{"DeprovisioningCircuit":{"then":{"kind":"deleted"}}}"#,
        ),
        (
            State::failed("no".to_string()),
            r#"{"Failed":{"reason":"no"}}"#,
        ),
        (State::deleted(), r#"{"Deleted":{}}"#),
    ];
    assert_json_shapes(&cases);
}

#[test]
fn event_json_shape_is_stable() {
    let cases = [
        (
            legs(true, false),
            r#"{"type":"legs_observed","primary_up":true,"secondary_up":false}"#,
        ),
        (
            Event::PeFailed {
                leg: Leg::Secondary,
                reason: "x".to_string(),
            },
            r#"{"type":"pe_failed","leg":"secondary","reason":"x"}"#,
        ),
        (
            peering(Some(NO_PEERING)),
            r#"{"type":"peering_observed","problem":"no private peering yet"}"#,
        ),
        (
            peering(None),
            r#"{"type":"peering_observed","problem":null}"#,
        ),
        (
            Event::PeConfigRemoved { leg: Leg::Primary },
            r#"{"type":"pe_config_removed","leg":"primary"}"#,
        ),
        (Event::DeleteRequested, r#"{"type":"delete_requested"}"#),
        (Event::ChangeRequested, r#"{"type":"change_requested"}"#),
        (
            Event::KeyRotationRequested,
            r#"{"type":"key_rotation_requested"}"#,
        ),
        (
            Event::RetryRequested {
                managed_peering: false,
            },
            r#"{"type":"retry_requested","managed_peering":false}"#,
        ),
        (
            Event::CircuitBandwidthChanged { mbps: 2000 },
            r#"{"type":"circuit_bandwidth_changed","mbps":2000}"#,
        ),
    ];
    assert_json_shapes(&cases);
    KIND.check_event_and_action_names(&Action::ALL);
    for leg in Leg::ALL {
        assert_eq!(
            serde_json::to_string(&leg).unwrap(),
            format!("\"{}\"", leg.as_str())
        );
        assert_eq!(leg.other().other(), leg);
        assert_ne!(leg.other(), leg);
    }
}

// ----- helpers and introspection -----

#[test]
fn state_names_follow_the_lifecycle_order() {
    KIND.check_state_name_order();
}

#[test]
fn each_state_says_who_it_waits_on() {
    KIND.check_waiting_on(&[
        ("provisioning_circuit", WaitingOn::Onramp),
        ("configuring_primary_pe", WaitingOn::Router),
        ("configuring_secondary_pe", WaitingOn::Router),
        ("configuring_peering", WaitingOn::Onramp),
        ("waiting_customer_peering", WaitingOn::Customer),
        ("waiting_bgp", WaitingOn::Csp),
        ("active", WaitingOn::Nobody),
        ("degraded", WaitingOn::Csp),
        ("down", WaitingOn::Csp),
        ("changing_primary_pe", WaitingOn::Router),
        ("changing_secondary_pe", WaitingOn::Router),
        ("restoring_primary_pe", WaitingOn::Router),
        ("rotating_key_primary_pe", WaitingOn::Router),
        ("rotating_key_secondary_pe", WaitingOn::Router),
        ("rotating_peering_key", WaitingOn::Onramp),
        ("restoring_peering_key", WaitingOn::Onramp),
        ("restoring_secondary_pe", WaitingOn::Router),
        ("removing_secondary_pe", WaitingOn::Router),
        ("removing_primary_pe", WaitingOn::Router),
        ("deleting_peering", WaitingOn::Onramp),
        ("deprovisioning_circuit", WaitingOn::Onramp),
        ("releasing_resources", WaitingOn::Onramp),
        ("deleted", WaitingOn::Nobody),
        ("failed", WaitingOn::Nobody),
        ("rejected", WaitingOn::Nobody),
    ]);
}

#[test]
fn terminal_states_are_exactly_deleted_failed_rejected() {
    KIND.check_terminals();
}

#[test]
fn standing_action_per_state() {
    KIND.check_standing_actions(&[
        ("provisioning_circuit", Some(Action::ProvisionCircuit)),
        ("configuring_primary_pe", Some(Action::PushPrimaryPe)),
        ("configuring_secondary_pe", Some(Action::PushSecondaryPe)),
        ("configuring_peering", Some(Action::ConfigurePeering)),
        ("waiting_customer_peering", Some(Action::PollPeering)),
        ("waiting_bgp", Some(Action::PollLegs)),
        ("active", Some(Action::PollLegs)),
        ("degraded", Some(Action::PollLegs)),
        ("down", Some(Action::PollLegs)),
        ("changing_primary_pe", Some(Action::PushPrimaryPe)),
        ("changing_secondary_pe", Some(Action::PushSecondaryPe)),
        ("restoring_primary_pe", Some(Action::PushPrimaryPe)),
        ("rotating_key_primary_pe", Some(Action::PushPrimaryPe)),
        ("rotating_key_secondary_pe", Some(Action::PushSecondaryPe)),
        ("rotating_peering_key", Some(Action::ConfigurePeering)),
        ("restoring_peering_key", Some(Action::ConfigurePeering)),
        ("restoring_secondary_pe", Some(Action::PushSecondaryPe)),
        ("removing_secondary_pe", Some(Action::RemoveSecondaryPe)),
        ("removing_primary_pe", Some(Action::RemovePrimaryPe)),
        ("deleting_peering", Some(Action::DeletePeering)),
        ("deprovisioning_circuit", Some(Action::DeprovisionCircuit)),
        ("releasing_resources", Some(Action::ReleaseResources)),
        ("deleted", None),
        ("failed", None),
        ("rejected", None),
    ]);
}

#[test]
fn next_step_is_specific_to_each_state() {
    KIND.check_next_steps();
    assert!(
        next_step(&State::waiting_customer_peering(None))
            .contains("ExpressRoute circuits → Peerings")
    );
    let failed = next_step(&State::failed("boom".to_string()));
    assert!(failed.contains("retry"), "{failed}");
    assert!(failed.contains("delete it to release them"), "{failed}");
}

#[test]
fn failure_reason_only_where_something_went_wrong() {
    KIND.check_failure_reasons();
}

#[test]
fn degraded_leg_and_peering_problem_only_where_they_apply() {
    for state in sample_states() {
        let want_leg = match &state {
            State::Degraded { down } => Some(*down),
            _ => None,
        };
        assert_eq!(degraded_leg(&state), want_leg, "{state:?}");
        let want_problem = match &state {
            State::WaitingCustomerPeering { problem } => problem.as_deref(),
            _ => None,
        };
        assert_eq!(peering_problem(&state), want_problem, "{state:?}");
    }
    assert_eq!(
        peering_problem(&State::waiting_customer_peering(Some(
            SAMPLE_PROBLEM.to_string()
        ))),
        Some(SAMPLE_PROBLEM)
    );
}

#[test]
fn a_circuit_bandwidth_changed_at_azure_is_followed_like_a_change() {
    for from in [
        State::active(),
        State::degraded(Leg::Secondary),
        State::down(),
    ] {
        let out = handle(&from, &Event::CircuitBandwidthChanged { mbps: 2000 });
        assert_eq!(out.state, State::changing_primary_pe(), "from {from:?}");
        assert_eq!(out.actions, [Action::PushPrimaryPe]);
        assert!(out.note.contains("2000 Mbps"), "{}", out.note);
    }
    // Not while the connector is still being ordered.
    let out = handle(
        &State::waiting_bgp(),
        &Event::CircuitBandwidthChanged { mbps: 2000 },
    );
    assert!(out.is_ignored(), "{out:?}");
}
