use super::docs::SPEC;
use super::*;
use crate::ChangeEnd;
use crate::testing::{Kind, Row, assert_json_shapes, check_wire_names, failed_with, rejected_with};

const VIF: &str = "dxvif-fgq3xm2b";

fn vif() -> String {
    VIF.to_string()
}

fn seen(vif_state: VifStatus, bgp_up: bool) -> Event {
    Event::VifObserved { vif_state, bgp_up }
}

const KIND: Kind<State, Event, Action> = Kind {
    spec: SPEC,
    event_name: Event::name,
    delete_requested: Event::DeleteRequested,
    restart: |event| matches!(event, Event::RetryRequested).then(State::configuring_pe),
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

/// Runs the rest of a teardown from `deleting_vif` and returns the terminal.
#[track_caller]
fn finish_teardown(then: Terminal) -> State {
    KIND.finish_teardown(
        then,
        &[
            Event::VifDeleted,
            Event::PeConfigRemoved,
            Event::ResourcesReleased,
        ],
    )
}

const NOT_UP: [(VifStatus, bool); 9] = [
    (VifStatus::Available, false),
    (VifStatus::Pending, false),
    (VifStatus::Pending, true),
    (VifStatus::Verifying, false),
    (VifStatus::Verifying, true),
    (VifStatus::Down, false),
    (VifStatus::Down, true),
    (VifStatus::Testing, false),
    (VifStatus::Testing, true),
];

// ----- the happy path -----

#[test]
fn start_configures_the_pe() {
    let out = start();
    assert_eq!(out.state, State::configuring_pe());
    assert_eq!(out.actions, [Action::PushPeConfig]);
    assert!(out.changed);
    assert!(!out.note.is_empty());
}

#[test]
fn happy_path_reaches_active_and_keeps_watching() {
    let configuring = start().state;
    step(
        &configuring,
        Event::PeConfigured,
        State::allocating_vif(),
        &[Action::AllocateVif],
        true,
    );
    let out = step(
        &State::allocating_vif(),
        Event::VifAllocated { vif_id: vif() },
        State::waiting_customer_acceptance(vif()),
        &[Action::PollVif],
        true,
    );
    assert!(out.note.contains(VIF), "{}", out.note);
    step(
        &State::waiting_customer_acceptance(vif()),
        seen(VifStatus::Pending, false),
        State::waiting_bgp(vif()),
        &[Action::PollVif],
        true,
    );
    step(
        &State::waiting_bgp(vif()),
        seen(VifStatus::Available, true),
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
    let out = step(
        &State::active(vif()),
        seen(VifStatus::Available, true),
        State::active(vif()),
        &[Action::PollVif],
        false,
    );
    assert!(out.is_still_waiting());
}

#[test]
fn confirming_vif_keeps_polling_without_change() {
    let waiting = State::waiting_customer_acceptance(vif());
    for bgp_up in [false, true] {
        let out = step(
            &waiting,
            seen(VifStatus::Confirming, bgp_up),
            waiting.clone(),
            &[Action::PollVif],
            false,
        );
        assert!(out.is_still_waiting());
        assert!(!out.is_ignored());
    }
}

#[test]
fn acceptance_with_bgp_already_up_goes_straight_to_active() {
    step(
        &State::waiting_customer_acceptance(vif()),
        seen(VifStatus::Available, true),
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
}

#[test]
fn every_accepted_but_not_up_status_means_waiting_bgp() {
    for (vif_state, bgp_up) in NOT_UP {
        step(
            &State::waiting_customer_acceptance(vif()),
            seen(vif_state, bgp_up),
            State::waiting_bgp(vif()),
            &[Action::PollVif],
            true,
        );
    }
}

#[test]
fn waiting_bgp_stays_until_available_with_bgp_up() {
    let waiting = State::waiting_bgp(vif());
    for (vif_state, bgp_up) in NOT_UP.into_iter().chain([(VifStatus::Confirming, false)]) {
        step(
            &waiting,
            seen(vif_state, bgp_up),
            waiting.clone(),
            &[Action::PollVif],
            false,
        );
    }
}

// ----- down and recovery -----

#[test]
fn active_goes_down_when_the_vif_or_bgp_drops() {
    for (vif_state, bgp_up) in NOT_UP.into_iter().chain([(VifStatus::Confirming, false)]) {
        let out = step(
            &State::active(vif()),
            seen(vif_state, bgp_up),
            State::down(vif()),
            &[Action::PollVif],
            true,
        );
        assert!(out.note.contains(vif_state.as_str()), "{}", out.note);
    }
}

#[test]
fn down_stays_down_until_it_recovers() {
    let down = State::down(vif());
    for (vif_state, bgp_up) in NOT_UP {
        step(
            &down,
            seen(vif_state, bgp_up),
            down.clone(),
            &[Action::PollVif],
            false,
        );
    }
    let out = step(
        &down,
        seen(VifStatus::Available, true),
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
    assert!(out.note.contains("recovered"), "{}", out.note);
}

#[test]
fn vif_down_and_recover_round_trip() {
    let active = State::active(vif());
    let down = handle(&active, &seen(VifStatus::Available, false)).state;
    assert_eq!(down, State::down(vif()));
    assert_eq!(waiting_on(&down), WaitingOn::Csp);
    let back = handle(&down, &seen(VifStatus::Available, true)).state;
    assert_eq!(back, active);
    assert_eq!(waiting_on(&back), WaitingOn::Nobody);
}

#[test]
fn unrecognised_vif_state_keeps_watching_everywhere() {
    for state in [
        State::waiting_customer_acceptance(vif()),
        State::waiting_bgp(vif()),
        State::active(vif()),
        State::down(vif()),
    ] {
        for bgp_up in [false, true] {
            step(
                &state,
                seen(VifStatus::Unknown, bgp_up),
                state.clone(),
                &[Action::PollVif],
                false,
            );
        }
    }
}

// ----- failures and rollbacks -----

#[test]
fn aws_rejecting_the_allocation_rolls_back_to_failed() {
    let out = step(
        &State::allocating_vif(),
        Event::VifAllocationRejected {
            reason: "VLAN 812 already in use".to_string(),
        },
        State::deleting_vif(failed_with(
            "AWS rejected the VIF allocation: VLAN 812 already in use",
        )),
        &[Action::DeleteVif],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(
        failure_reason(&out.state),
        Some("AWS rejected the VIF allocation: VLAN 812 already in use")
    );
    let end = finish_teardown(failed_with(
        "AWS rejected the VIF allocation: VLAN 812 already in use",
    ));
    assert_eq!(
        end,
        State::failed("AWS rejected the VIF allocation: VLAN 812 already in use".to_string())
    );
    assert!(is_terminal(&end));
    assert_eq!(
        failure_reason(&end),
        Some("AWS rejected the VIF allocation: VLAN 812 already in use")
    );
}

#[test]
fn router_refusing_the_config_rolls_back_to_failed() {
    let reason = "the PE router refused the configuration: commit check failed";
    step(
        &State::configuring_pe(),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::deleting_vif(failed_with(reason)),
        &[Action::DeleteVif],
        true,
    );
    assert_eq!(
        finish_teardown(failed_with(reason)),
        State::failed(reason.to_string())
    );
}

#[test]
fn customer_declining_the_vif_ends_rejected() {
    let reason = format!("the customer declined VIF {VIF}");
    for bgp_up in [false, true] {
        step(
            &State::waiting_customer_acceptance(vif()),
            seen(VifStatus::Rejected, bgp_up),
            State::deleting_vif(rejected_with(&reason)),
            &[Action::DeleteVif],
            true,
        );
    }
    let end = finish_teardown(rejected_with(&reason));
    assert_eq!(end, State::rejected(reason.clone()));
    assert_eq!(failure_reason(&end), Some(reason.as_str()));
}

#[test]
fn customer_deleting_the_vif_while_confirming_ends_rejected() {
    let reason = format!("the customer deleted VIF {VIF} instead of accepting it");
    for vif_state in [VifStatus::Deleting, VifStatus::Deleted] {
        step(
            &State::waiting_customer_acceptance(vif()),
            seen(vif_state, false),
            State::deleting_vif(rejected_with(&reason)),
            &[Action::DeleteVif],
            true,
        );
    }
    assert_eq!(
        finish_teardown(rejected_with(&reason)),
        State::rejected(reason)
    );
}

#[test]
fn vif_removed_at_aws_after_acceptance_ends_failed() {
    for state in [
        State::waiting_bgp(vif()),
        State::active(vif()),
        State::down(vif()),
    ] {
        for vif_state in [VifStatus::Deleting, VifStatus::Deleted, VifStatus::Rejected] {
            let out = handle(&state, &seen(vif_state, false));
            let State::DeletingVif {
                then: Terminal::Failed { reason },
            } = &out.state
            else {
                panic!("{vif_state:?} in {state:?} gave {:?}", out.state);
            };
            assert!(reason.contains(vif_state.as_str()), "{reason}");
            assert_eq!(out.actions, [Action::DeleteVif]);
            assert!(out.changed);
        }
    }
}

// ----- delete requests -----

#[test]
fn delete_is_accepted_in_every_live_state() {
    KIND.check_delete_in_live_states(7, Action::DeleteVif);
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn delete_during_a_rollback_switches_the_ending_without_new_jobs() {
    KIND.check_delete_during_rollback();
}

#[test]
fn delete_during_a_rollback_then_finishes_as_deleted() {
    let rolling_back = handle(
        &State::allocating_vif(),
        &Event::VifAllocationRejected {
            reason: "quota".to_string(),
        },
    )
    .state;
    let removing = handle(&rolling_back, &Event::VifDeleted).state;
    let removing = handle(&removing, &Event::DeleteRequested).state;
    assert_eq!(removing, State::removing_pe_config(Terminal::Deleted));
    let releasing = handle(&removing, &Event::PeConfigRemoved).state;
    let end = handle(&releasing, &Event::ResourcesReleased);
    assert_eq!(end.state, State::deleted());
    assert_eq!(end.actions, []);
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
    let reason = "AWS rejected the VIF allocation: quota";
    let out = step(
        &State::releasing_resources(failed_with(reason)),
        Event::ResourcesReleased,
        State::failed(reason.to_string()),
        &[],
        true,
    );
    assert_eq!(
        out.note,
        "rolled back; connector failed: AWS rejected the VIF allocation: quota (it keeps its \
         allocations until it is deleted)"
    );
}

#[test]
fn retry_starts_a_failed_connector_again_at_the_pe() {
    KIND.check_retry_restarts_failed(
        Event::RetryRequested,
        State::configuring_pe(),
        Action::PushPeConfig,
        "retry requested after the failure (boom); configuring the PE router with the \
         resources the connector held",
    );
    let out = handle(&State::failed("boom".to_string()), &Event::RetryRequested);
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
    assert_eq!(vif_id(&out.state), None);
}

#[test]
fn retry_is_ignored_unless_failed() {
    KIND.check_retry_ignored_outside_failed(Event::RetryRequested);
    // Named, for the cases the API answers with a 409.
    for state in [
        State::rejected("the customer declined VIF dxvif-fgq3xm2b".to_string()),
        State::deleted(),
        State::configuring_pe(),
        State::active(vif()),
        State::down(vif()),
        State::deleting_vif(failed_with("boom")),
        State::releasing_resources(failed_with("boom")),
        State::releasing_resources(Terminal::Deleted),
    ] {
        let out = step(&state, Event::RetryRequested, state.clone(), &[], false);
        assert!(out.is_ignored(), "{state:?}");
    }
}

#[test]
fn deleting_a_failed_connector_releases_then_ends_deleted() {
    let reason = "the PE router refused the configuration: commit check failed";
    let failed = State::failed(reason.to_string());
    let out = step(
        &failed,
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
    assert_eq!(failure_reason(&out.state), None);
    let releasing = out.state;
    // A second delete, or a retry, while releasing changes nothing.
    step(
        &releasing,
        Event::DeleteRequested,
        releasing.clone(),
        &[],
        false,
    );
    step(
        &releasing,
        Event::RetryRequested,
        releasing.clone(),
        &[],
        false,
    );
    let out = step(
        &releasing,
        Event::ResourcesReleased,
        State::deleted(),
        &[],
        true,
    );
    assert_eq!(out.note, "resources released; connector deleted");
}

#[test]
fn failed_then_retried_reaches_active() {
    let reason = "AWS rejected the VIF allocation: VLAN 812 already in use";
    let rolling_back = handle(
        &State::allocating_vif(),
        &Event::VifAllocationRejected {
            reason: "VLAN 812 already in use".to_string(),
        },
    )
    .state;
    assert_eq!(rolling_back, State::deleting_vif(failed_with(reason)));
    let failed = finish_teardown(failed_with(reason));
    assert_eq!(failed, State::failed(reason.to_string()));

    let out = step(
        &failed,
        Event::RetryRequested,
        State::configuring_pe(),
        &[Action::PushPeConfig],
        true,
    );
    assert!(out.note.contains(reason), "{}", out.note);
    step(
        &out.state,
        Event::PeConfigured,
        State::allocating_vif(),
        &[Action::AllocateVif],
        true,
    );
    step(
        &State::allocating_vif(),
        Event::VifAllocated { vif_id: vif() },
        State::waiting_customer_acceptance(vif()),
        &[Action::PollVif],
        true,
    );
    let out = step(
        &State::waiting_customer_acceptance(vif()),
        seen(VifStatus::Available, true),
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
    assert_eq!(failure_reason(&out.state), None);
    assert_eq!(waiting_on(&out.state), WaitingOn::Nobody);
    // Active again, it is a connector like any other: a second retry is
    // ignored.
    step(
        &out.state,
        Event::RetryRequested,
        out.state.clone(),
        &[],
        false,
    );
}

#[test]
fn a_retry_that_fails_again_ends_failed_with_the_new_reason() {
    let retried = handle(&State::failed("first".to_string()), &Event::RetryRequested).state;
    let reason = "the PE router refused the configuration: still broken";
    step(
        &retried,
        Event::PeFailed {
            reason: "still broken".to_string(),
        },
        State::deleting_vif(failed_with(reason)),
        &[Action::DeleteVif],
        true,
    );
    assert_eq!(
        finish_teardown(failed_with(reason)),
        State::failed(reason.to_string())
    );
}

// ----- changing a live connector's settings -----

#[test]
fn a_change_from_active_or_down_pushes_the_new_settings() {
    for from in [State::active(vif()), State::down(vif())] {
        let out = step(
            &from,
            Event::ChangeRequested,
            State::changing_pe(vif()),
            &[Action::PushPeConfig],
            true,
        );
        assert_eq!(out.change, None);
        assert!(
            out.note.contains("settings change requested"),
            "{}",
            out.note
        );
        assert_eq!(waiting_on(&out.state), WaitingOn::Router);
        assert_eq!(vif_id(&out.state), Some(VIF));
        assert_eq!(failure_reason(&out.state), None);
    }
}

#[test]
fn a_change_the_pe_takes_is_kept_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(vif()),
        Event::PeConfigured,
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Kept));
    assert!(out.note.contains("new settings"), "{}", out.note);
}

#[test]
fn a_change_the_pe_refuses_is_reverted_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(vif()),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::active(vif()),
        &[Action::PollVif],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Reverted));
    assert!(out.note.contains("commit check failed"), "{}", out.note);
    assert!(out.note.contains("previous settings"), "{}", out.note);
    // A refused change is not a failure of the connector.
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn a_change_is_ignored_where_it_cannot_start() {
    for state in (SPEC.sample_states)() {
        let out = handle(&state, &Event::ChangeRequested);
        if let State::Active { vif_id } | State::Down { vif_id } = &state {
            assert_eq!(out.state, State::changing_pe(vif_id.clone()), "{state:?}");
            assert_eq!(out.actions, [Action::PushPeConfig]);
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
        State::configuring_pe(),
        State::waiting_bgp(vif()),
        State::deleting_vif(Terminal::Deleted),
        State::removing_pe_config(failed_with("boom")),
        State::deleted(),
        State::failed("boom".to_string()),
    ] {
        step(&state, Event::ChangeRequested, state.clone(), &[], false);
    }
}

#[test]
fn a_change_during_a_change_is_ignored() {
    let changing = State::changing_pe(vif());
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

#[test]
fn polls_queued_before_a_change_are_stale_during_it() {
    let changing = State::changing_pe(vif());
    assert_eq!(current_action(&changing), Some(Action::PushPeConfig));
    for (vif_state, bgp_up) in [
        (VifStatus::Available, true),
        (VifStatus::Down, false),
        (VifStatus::Deleted, false),
    ] {
        let out = handle(&changing, &seen(vif_state, bgp_up));
        assert!(out.is_ignored(), "{vif_state:?}");
    }
}

#[test]
fn delete_during_a_change_starts_the_teardown() {
    let out = step(
        &State::changing_pe(vif()),
        Event::DeleteRequested,
        State::deleting_vif(Terminal::Deleted),
        &[Action::DeleteVif],
        true,
    );
    assert_eq!(out.change, None);
    // The PE's answer to the change comes too late to matter.
    for event in [
        Event::PeConfigured,
        Event::PeFailed {
            reason: "x".to_string(),
        },
    ] {
        assert!(handle(&out.state, &event).is_ignored(), "{event:?}");
    }
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn a_change_round_trip_keeps_watching_the_vif() {
    let changing = handle(&State::down(vif()), &Event::ChangeRequested).state;
    let active = handle(&changing, &Event::PeConfigured).state;
    assert_eq!(active, State::active(vif()));
    // Back in active, the first poll says whether the VIF is still up.
    step(
        &active,
        seen(VifStatus::Down, false),
        State::down(vif()),
        &[Action::PollVif],
        true,
    );
}

// ----- ignored events -----

#[test]
fn out_of_place_events_are_ignored_with_a_reason() {
    let out = step(
        &State::active(vif()),
        Event::VifDeleted,
        State::active(vif()),
        &[],
        false,
    );
    assert_eq!(out.note, "unexpected event vif_deleted in state active");

    // A poll result that lands after a delete started must not resurrect the VIF.
    let deleting = State::deleting_vif(Terminal::Deleted);
    let out = step(
        &deleting,
        seen(VifStatus::Available, true),
        deleting.clone(),
        &[],
        false,
    );
    assert_eq!(
        out.note,
        "unexpected event vif_observed in state deleting_vif"
    );

    // A redelivered job result must not re-run the step after it.
    let out = step(
        &State::allocating_vif(),
        Event::PeConfigured,
        State::allocating_vif(),
        &[],
        false,
    );
    assert!(out.is_ignored());
}

/// Every (state, event) pair, checked against the rules the worker relies on.
#[test]
fn every_pair_keeps_the_worker_contract() {
    KIND.check_worker_contract(|state, event, out, ctx| {
        // Only polls may stay put and still ask for work.
        if !out.changed && !out.actions.is_empty() {
            assert!(matches!(event, Event::VifObserved { .. }), "{ctx}");
            assert_eq!(out.actions, [Action::PollVif], "{ctx}");
        }
        // Only the PE's answer to a change ends one.
        let ends_a_change = matches!(state, State::ChangingPe { .. })
            && matches!(event, Event::PeConfigured | Event::PeFailed { .. });
        assert_eq!(out.change.is_some(), ends_a_change, "{ctx}");
    });
}

/// The whole transition table, written out by hand from the spec. Any change
/// in behaviour has to be made here too, on purpose.
#[test]
fn transition_table_matches_the_spec() {
    let live = [
        "configuring_pe",
        "allocating_vif",
        "waiting_customer_acceptance",
        "waiting_bgp",
        "active",
        "down",
        "changing_pe",
    ];
    let mut expected: Vec<Row> = Vec::new();
    let mut row = |from: &str, trigger: &str, to: &str, action: &str| {
        expected.push((from.into(), trigger.into(), to.into(), action.into()));
    };
    row(
        "configuring_pe",
        "pe_configured",
        "allocating_vif",
        "allocate_vif",
    );
    row(
        "configuring_pe",
        "pe_failed",
        "deleting_vif{failed}",
        "delete_vif",
    );
    row(
        "allocating_vif",
        "vif_allocated",
        "waiting_customer_acceptance",
        "poll_vif",
    );
    row(
        "allocating_vif",
        "vif_allocation_rejected",
        "deleting_vif{failed}",
        "delete_vif",
    );
    let wca = "waiting_customer_acceptance";
    row(wca, "vif_observed [confirming]", "stays", "poll_vif");
    row(
        wca,
        "vif_observed [accepted, not up]",
        "waiting_bgp",
        "poll_vif",
    );
    row(
        wca,
        "vif_observed [available, BGP up]",
        "active",
        "poll_vif",
    );
    row(
        wca,
        "vif_observed [deleting or deleted]",
        "deleting_vif{rejected}",
        "delete_vif",
    );
    row(
        wca,
        "vif_observed [rejected]",
        "deleting_vif{rejected}",
        "delete_vif",
    );
    row(wca, "vif_observed [unknown]", "stays", "poll_vif");
    row(
        "waiting_bgp",
        "vif_observed [confirming]",
        "stays",
        "poll_vif",
    );
    row(
        "waiting_bgp",
        "vif_observed [accepted, not up]",
        "stays",
        "poll_vif",
    );
    row(
        "waiting_bgp",
        "vif_observed [available, BGP up]",
        "active",
        "poll_vif",
    );
    row("active", "vif_observed [confirming]", "down", "poll_vif");
    row(
        "active",
        "vif_observed [accepted, not up]",
        "down",
        "poll_vif",
    );
    row(
        "active",
        "vif_observed [available, BGP up]",
        "stays",
        "poll_vif",
    );
    row("down", "vif_observed [confirming]", "stays", "poll_vif");
    row(
        "down",
        "vif_observed [accepted, not up]",
        "stays",
        "poll_vif",
    );
    row(
        "down",
        "vif_observed [available, BGP up]",
        "active",
        "poll_vif",
    );
    for from in ["waiting_bgp", "active", "down"] {
        row(
            from,
            "vif_observed [deleting or deleted]",
            "deleting_vif{failed}",
            "delete_vif",
        );
        row(
            from,
            "vif_observed [rejected]",
            "deleting_vif{failed}",
            "delete_vif",
        );
        row(from, "vif_observed [unknown]", "stays", "poll_vif");
    }
    for from in ["active", "down"] {
        row(from, "change_requested", "changing_pe", "push_pe_config");
    }
    row("changing_pe", "pe_configured", "active", "poll_vif");
    row("changing_pe", "pe_failed", "active", "poll_vif");
    for from in live {
        row(
            from,
            "delete_requested",
            "deleting_vif{deleted}",
            "delete_vif",
        );
    }
    for ending in ["deleted", "failed", "rejected"] {
        row(
            &format!("deleting_vif{{{ending}}}"),
            "vif_deleted",
            &format!("removing_pe_config{{{ending}}}"),
            "remove_pe_config",
        );
        row(
            &format!("removing_pe_config{{{ending}}}"),
            "pe_config_removed",
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
            for step in ["deleting_vif", "removing_pe_config", "releasing_resources"] {
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
        "configuring_pe",
        "push_pe_config",
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
        &State::waiting_customer_acceptance(vif()),
        &seen(VifStatus::Rejected, false),
    )
    .state;
    let removing = handle(&rolling_back, &Event::VifDeleted).state;
    // What the worker committed before it died.
    let row = serde_json::to_value(&removing).unwrap();

    let restored: State = serde_json::from_value(row).unwrap();
    // Redelivery of the job that was already done must not move it on twice.
    assert!(handle(&restored, &Event::VifDeleted).is_ignored());
    let releasing = handle(&restored, &Event::PeConfigRemoved).state;
    let end = handle(&releasing, &Event::ResourcesReleased).state;
    assert_eq!(
        end,
        State::rejected(format!("the customer declined VIF {VIF}"))
    );
}

/// Rows already in the database must keep deserialising: changing these
/// shapes needs a data migration.
#[test]
fn persisted_json_shape_is_stable() {
    let cases = [
        (State::configuring_pe(), r#"{"ConfiguringPe":{}}"#),
        (
            State::waiting_customer_acceptance(vif()),
            r#"{"WaitingCustomerAcceptance":{"vif_id":"dxvif-fgq3xm2b"}}"#,
        ),
        (
            State::changing_pe(vif()),
            r#"{"ChangingPe":{"vif_id":"dxvif-fgq3xm2b"}}"#,
        ),
        (
            State::deleting_vif(failed_with("boom")),
            r#"{"DeletingVif":{"then":{"kind":"failed","reason":"boom"}}}"#,
        ),
        (
            State::releasing_resources(Terminal::Deleted),
            r#"{"ReleasingResources":{"then":{"kind":"deleted"}}}"#,
        ),
        (
            State::rejected("no".to_string()),
            r#"{"Rejected":{"reason":"no"}}"#,
        ),
        (State::deleted(), r#"{"Deleted":{}}"#),
    ];
    assert_json_shapes(&cases);
}

#[test]
fn event_json_shape_is_stable() {
    let cases = [
        (
            seen(VifStatus::Available, true),
            r#"{"type":"vif_observed","vif_state":"available","bgp_up":true}"#,
        ),
        (
            Event::PeFailed {
                reason: "x".to_string(),
            },
            r#"{"type":"pe_failed","reason":"x"}"#,
        ),
        (Event::DeleteRequested, r#"{"type":"delete_requested"}"#),
        (Event::ChangeRequested, r#"{"type":"change_requested"}"#),
        (Event::RetryRequested, r#"{"type":"retry_requested"}"#),
    ];
    assert_json_shapes(&cases);
    KIND.check_event_and_action_names(&[
        Action::PushPeConfig,
        Action::AllocateVif,
        Action::PollVif,
        Action::DeleteVif,
        Action::RemovePeConfig,
        Action::ReleaseResources,
    ]);
}

// ----- helpers and introspection -----

#[test]
fn vif_status_parses_aws_wire_strings() {
    check_wire_names(&VifStatus::ALL, VifStatus::as_str, VifStatus::parse);
    assert_eq!(VifStatus::parse("available"), VifStatus::Available);
    assert_eq!(VifStatus::parse("Available"), VifStatus::Available);
    assert_eq!(VifStatus::parse("confirming"), VifStatus::Confirming);
    assert_eq!(VifStatus::parse("migrating"), VifStatus::Unknown);
    assert_eq!(VifStatus::parse(""), VifStatus::Unknown);
}

#[test]
fn state_names_follow_the_lifecycle_order() {
    KIND.check_state_name_order();
}

#[test]
fn each_state_says_who_it_waits_on() {
    KIND.check_waiting_on(&[
        ("configuring_pe", WaitingOn::Router),
        ("allocating_vif", WaitingOn::Onramp),
        ("waiting_customer_acceptance", WaitingOn::Customer),
        ("waiting_bgp", WaitingOn::Csp),
        ("active", WaitingOn::Nobody),
        ("down", WaitingOn::Csp),
        ("changing_pe", WaitingOn::Router),
        ("deleting_vif", WaitingOn::Onramp),
        ("removing_pe_config", WaitingOn::Router),
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
        ("configuring_pe", Some(Action::PushPeConfig)),
        ("allocating_vif", Some(Action::AllocateVif)),
        ("waiting_customer_acceptance", Some(Action::PollVif)),
        ("waiting_bgp", Some(Action::PollVif)),
        ("active", Some(Action::PollVif)),
        ("down", Some(Action::PollVif)),
        ("changing_pe", Some(Action::PushPeConfig)),
        ("deleting_vif", Some(Action::DeleteVif)),
        ("removing_pe_config", Some(Action::RemovePeConfig)),
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
        next_step(&State::waiting_customer_acceptance(vif()))
            .contains("Direct Connect → Virtual interfaces")
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
fn vif_id_is_exposed_while_the_vif_is_watched() {
    assert_eq!(vif_id(&State::allocating_vif()), None);
    for state in [
        State::waiting_customer_acceptance(vif()),
        State::waiting_bgp(vif()),
        State::active(vif()),
        State::down(vif()),
        State::changing_pe(vif()),
    ] {
        assert_eq!(vif_id(&state), Some(VIF));
    }
    assert_eq!(vif_id(&State::deleting_vif(Terminal::Deleted)), None);
}
