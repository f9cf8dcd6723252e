use super::docs::SPEC;
use super::*;
use crate::ChangeEnd;
use crate::testing::{Kind, Row, assert_json_shapes, check_wire_names, failed_with, rejected_with};

const CONN: &str = "dxcon-ffx1k2zq";

fn conn() -> String {
    CONN.to_string()
}

fn conn_seen(status: ConnectionStatus) -> Event {
    Event::ConnectionObserved { status }
}

fn vif_seen(vif_state: VifStatus, bgp_up: bool) -> Event {
    Event::VifObserved { vif_state, bgp_up }
}

const KIND: Kind<State, Event, Action> = Kind {
    spec: SPEC,
    event_name: Event::name,
    delete_requested: Event::DeleteRequested,
    restart: |event| matches!(event, Event::RetryRequested).then(State::allocating_connection),
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

/// Runs the rest of a teardown from `deleting_connection` and returns the
/// terminal.
#[track_caller]
fn finish_teardown(then: Terminal) -> State {
    KIND.finish_teardown(
        then,
        &[
            Event::ConnectionDeleted,
            Event::PeConfigRemoved,
            Event::ResourcesReleased,
        ],
    )
}

fn watched_states() -> [State; 3] {
    [
        State::waiting_bgp(conn()),
        State::active(conn()),
        State::down(conn()),
    ]
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

const VIF_GONE: [VifStatus; 3] = [VifStatus::Deleting, VifStatus::Deleted, VifStatus::Rejected];

// ----- the happy path -----

#[test]
fn start_allocates_the_connection() {
    let out = start();
    assert_eq!(out.state, State::allocating_connection());
    assert_eq!(out.actions, [Action::AllocateConnection]);
    assert!(out.changed);
    assert!(!out.note.is_empty());
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
}

#[test]
fn happy_path_reaches_active_and_keeps_watching() {
    let allocating = start().state;
    let out = step(
        &allocating,
        Event::ConnectionAllocated {
            connection_id: conn(),
        },
        State::waiting_customer_confirmation(conn()),
        &[Action::PollConnection],
        true,
    );
    assert!(out.note.contains(CONN), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
    let out = step(
        &out.state,
        conn_seen(ConnectionStatus::Available),
        State::waiting_vif_details(conn()),
        &[Action::PollConnection],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
    let out = step(
        &out.state,
        Event::VifDetailsProvided,
        State::configuring_pe(conn()),
        &[Action::PushPeConfig],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
    let out = step(
        &out.state,
        Event::PeConfigured,
        State::waiting_bgp(conn()),
        &[Action::PollVif],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Csp);
    step(
        &out.state,
        vif_seen(VifStatus::Available, true),
        State::active(conn()),
        &[Action::PollVif],
        true,
    );
    let out = step(
        &State::active(conn()),
        vif_seen(VifStatus::Available, true),
        State::active(conn()),
        &[Action::PollVif],
        false,
    );
    assert!(out.is_still_waiting());
}

#[test]
fn unconfirmed_connection_keeps_polling_without_change() {
    let waiting = State::waiting_customer_confirmation(conn());
    for status in [
        ConnectionStatus::Ordering,
        ConnectionStatus::Requested,
        ConnectionStatus::Unknown,
    ] {
        let out = step(
            &waiting,
            conn_seen(status),
            waiting.clone(),
            &[Action::PollConnection],
            false,
        );
        assert!(out.is_still_waiting());
        assert!(out.note.contains(status.as_str()), "{}", out.note);
    }
}

#[test]
fn every_confirmed_status_moves_on_to_the_vif_details() {
    for status in [
        ConnectionStatus::Pending,
        ConnectionStatus::Available,
        ConnectionStatus::Down,
    ] {
        step(
            &State::waiting_customer_confirmation(conn()),
            conn_seen(status),
            State::waiting_vif_details(conn()),
            &[Action::PollConnection],
            true,
        );
    }
}

#[test]
fn waiting_for_vif_details_watches_the_connection() {
    let waiting = State::waiting_vif_details(conn());
    for status in [
        ConnectionStatus::Ordering,
        ConnectionStatus::Requested,
        ConnectionStatus::Pending,
        ConnectionStatus::Available,
        ConnectionStatus::Down,
        ConnectionStatus::Unknown,
    ] {
        step(
            &waiting,
            conn_seen(status),
            waiting.clone(),
            &[Action::PollConnection],
            false,
        );
    }
    // VIF polls belong to the states after the PE push.
    assert!(handle(&waiting, &vif_seen(VifStatus::Available, true)).is_ignored());
}

#[test]
fn waiting_bgp_stays_until_available_with_bgp_up() {
    let waiting = State::waiting_bgp(conn());
    for (vif_state, bgp_up) in NOT_UP
        .into_iter()
        .chain([(VifStatus::Confirming, false), (VifStatus::Unknown, true)])
    {
        step(
            &waiting,
            vif_seen(vif_state, bgp_up),
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
            &State::active(conn()),
            vif_seen(vif_state, bgp_up),
            State::down(conn()),
            &[Action::PollVif],
            true,
        );
        assert!(out.note.contains(vif_state.as_str()), "{}", out.note);
    }
}

#[test]
fn down_stays_down_until_it_recovers() {
    let down = State::down(conn());
    for (vif_state, bgp_up) in NOT_UP {
        step(
            &down,
            vif_seen(vif_state, bgp_up),
            down.clone(),
            &[Action::PollVif],
            false,
        );
    }
    let out = step(
        &down,
        vif_seen(VifStatus::Available, true),
        State::active(conn()),
        &[Action::PollVif],
        true,
    );
    assert!(out.note.contains("recovered"), "{}", out.note);
}

#[test]
fn unrecognised_vif_state_keeps_watching_everywhere() {
    for state in watched_states() {
        for bgp_up in [false, true] {
            step(
                &state,
                vif_seen(VifStatus::Unknown, bgp_up),
                state.clone(),
                &[Action::PollVif],
                false,
            );
        }
    }
}

// ----- the customer's VIF goes away -----

#[test]
fn customer_deleting_their_vif_waits_for_new_details() {
    for state in watched_states() {
        for vif_state in VIF_GONE {
            for bgp_up in [false, true] {
                let out = step(
                    &state,
                    vif_seen(vif_state, bgp_up),
                    State::waiting_vif_details(conn()),
                    &[Action::PollConnection],
                    true,
                );
                assert!(out.note.contains("new one"), "{}", out.note);
                assert_eq!(failure_reason(&out.state), None);
                assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
            }
        }
    }
}

#[test]
fn a_new_vif_after_a_deleted_one_is_configured_again() {
    let waiting = handle(&State::active(conn()), &vif_seen(VifStatus::Deleted, false)).state;
    let configuring = handle(&waiting, &Event::VifDetailsProvided).state;
    assert_eq!(configuring, State::configuring_pe(conn()));
    assert_eq!(current_action(&configuring), Some(Action::PushPeConfig));
    let bgp = handle(&configuring, &Event::PeConfigured).state;
    let out = handle(&bgp, &vif_seen(VifStatus::Available, true));
    assert_eq!(out.state, State::active(conn()));
}

// ----- failures and rollbacks -----

#[test]
fn aws_rejecting_the_allocation_rolls_back_to_failed() {
    let reason = "AWS rejected the hosted connection: VLAN 812 already in use";
    let out = step(
        &State::allocating_connection(),
        Event::ConnectionAllocationRejected {
            reason: "VLAN 812 already in use".to_string(),
        },
        State::deleting_connection(failed_with(reason)),
        &[Action::DeleteConnection],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(failure_reason(&out.state), Some(reason));
    let end = finish_teardown(failed_with(reason));
    assert_eq!(end, State::failed(reason.to_string()));
    assert!(is_terminal(&end));
}

#[test]
fn customer_declining_the_connection_ends_rejected() {
    let reason = format!("the customer declined the hosted connection {CONN}");
    let out = step(
        &State::waiting_customer_confirmation(conn()),
        conn_seen(ConnectionStatus::Rejected),
        State::deleting_connection(rejected_with(&reason)),
        &[Action::DeleteConnection],
        true,
    );
    assert!(out.note.contains("end as rejected"), "{}", out.note);
    assert_eq!(
        finish_teardown(rejected_with(&reason)),
        State::rejected(reason)
    );
}

#[test]
fn connection_deleted_outside_onramp_ends_failed() {
    let cases = [
        (
            State::waiting_customer_confirmation(conn()),
            ConnectionStatus::Deleting,
        ),
        (
            State::waiting_customer_confirmation(conn()),
            ConnectionStatus::Deleted,
        ),
        (
            State::waiting_vif_details(conn()),
            ConnectionStatus::Deleting,
        ),
        (
            State::waiting_vif_details(conn()),
            ConnectionStatus::Deleted,
        ),
        (
            State::waiting_vif_details(conn()),
            ConnectionStatus::Rejected,
        ),
    ];
    for (state, status) in cases {
        let out = handle(&state, &conn_seen(status));
        let State::DeletingConnection {
            then: Terminal::Failed { reason },
        } = &out.state
        else {
            panic!("{status:?} in {state:?} gave {:?}", out.state);
        };
        assert!(reason.contains("deleted outside onramp"), "{reason}");
        assert!(reason.contains(CONN), "{reason}");
        assert!(reason.contains(status.as_str()), "{reason}");
        assert_eq!(out.actions, [Action::DeleteConnection]);
    }
}

#[test]
fn router_refusing_the_config_rolls_back_to_failed() {
    let reason = "the PE router refused the configuration: commit check failed";
    step(
        &State::configuring_pe(conn()),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::deleting_connection(failed_with(reason)),
        &[Action::DeleteConnection],
        true,
    );
    assert_eq!(
        finish_teardown(failed_with(reason)),
        State::failed(reason.to_string())
    );
}

// ----- delete requests -----

#[test]
fn delete_is_accepted_in_every_live_state() {
    KIND.check_delete_in_live_states(8, Action::DeleteConnection);
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn order_cancelled_before_confirmation_ends_deleted() {
    let out = step(
        &State::waiting_customer_confirmation(conn()),
        Event::DeleteRequested,
        State::deleting_connection(Terminal::Deleted),
        &[Action::DeleteConnection],
        true,
    );
    // The poll queued before the delete is stale, and its result is ignored.
    assert!(handle(&out.state, &conn_seen(ConnectionStatus::Ordering)).is_ignored());
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn delete_during_a_rollback_switches_the_ending_without_new_jobs() {
    KIND.check_delete_during_rollback();
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
fn retry_allocates_a_new_hosted_connection() {
    KIND.check_retry_restarts_failed(
        Event::RetryRequested,
        State::allocating_connection(),
        Action::AllocateConnection,
        "retry requested after the failure (boom); allocating the hosted connection again \
         with the resources the connector held",
    );
    let out = handle(&State::failed("boom".to_string()), &Event::RetryRequested);
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    // The connection the failure rolled back is gone; a new one gets its own id.
    assert_eq!(connection_id(&out.state), None);
}

#[test]
fn retry_is_ignored_unless_failed() {
    KIND.check_retry_ignored_outside_failed(Event::RetryRequested);
    // Named, for the cases the API answers with a 409.
    for state in [
        State::rejected(format!(
            "the customer declined the hosted connection {CONN}"
        )),
        State::deleted(),
        State::allocating_connection(),
        State::waiting_vif_details(conn()),
        State::active(conn()),
        State::deleting_connection(failed_with("boom")),
        State::releasing_resources(failed_with("boom")),
        State::releasing_resources(Terminal::Deleted),
    ] {
        let out = step(&state, Event::RetryRequested, state.clone(), &[], false);
        assert!(out.is_ignored(), "{state:?}");
    }
}

#[test]
fn deleting_a_failed_connector_releases_then_ends_deleted() {
    let reason = "AWS rejected the hosted connection: VLAN 812 already in use";
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
    for event in [Event::DeleteRequested, Event::RetryRequested] {
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

// ----- changing a live connector's settings -----

#[test]
fn a_change_from_active_or_down_pushes_the_new_settings() {
    for from in [State::active(conn()), State::down(conn())] {
        let out = step(
            &from,
            Event::ChangeRequested,
            State::changing_pe(conn()),
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
        assert_eq!(failure_reason(&out.state), None);
    }
}

#[test]
fn a_change_the_pe_takes_is_kept_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(conn()),
        Event::PeConfigured,
        State::active(conn()),
        &[Action::PollVif],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Kept));
    assert!(out.note.contains("new settings"), "{}", out.note);
}

#[test]
fn a_change_the_pe_refuses_is_reverted_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(conn()),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::active(conn()),
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
        if let State::Active { connection_id } | State::Down { connection_id } = &state {
            assert_eq!(
                out.state,
                State::changing_pe(connection_id.clone()),
                "{state:?}"
            );
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
        State::waiting_vif_details(conn()),
        State::configuring_pe(conn()),
        State::waiting_bgp(conn()),
        State::deleting_connection(Terminal::Deleted),
        State::removing_pe_config(failed_with("boom")),
        State::deleted(),
        State::rejected("no".to_string()),
    ] {
        step(&state, Event::ChangeRequested, state.clone(), &[], false);
    }
}

#[test]
fn a_change_during_a_change_is_ignored() {
    let changing = State::changing_pe(conn());
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
    let changing = State::changing_pe(conn());
    assert_eq!(current_action(&changing), Some(Action::PushPeConfig));
    for event in [
        vif_seen(VifStatus::Available, true),
        vif_seen(VifStatus::Down, false),
        vif_seen(VifStatus::Deleted, false),
        conn_seen(ConnectionStatus::Deleted),
        Event::VifDetailsProvided,
    ] {
        assert!(handle(&changing, &event).is_ignored(), "{event:?}");
    }
}

#[test]
fn delete_during_a_change_starts_the_teardown() {
    let out = step(
        &State::changing_pe(conn()),
        Event::DeleteRequested,
        State::deleting_connection(Terminal::Deleted),
        &[Action::DeleteConnection],
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
    let changing = handle(&State::down(conn()), &Event::ChangeRequested).state;
    let active = handle(&changing, &Event::PeConfigured).state;
    assert_eq!(active, State::active(conn()));
    // Back in active, the first poll says whether the VIF is still up.
    step(
        &active,
        vif_seen(VifStatus::Down, false),
        State::down(conn()),
        &[Action::PollVif],
        true,
    );
}

// ----- ignored events -----

#[test]
fn out_of_place_events_are_ignored_with_a_reason() {
    let out = step(
        &State::active(conn()),
        Event::ConnectionDeleted,
        State::active(conn()),
        &[],
        false,
    );
    assert_eq!(
        out.note,
        "unexpected event connection_deleted in state active"
    );

    for (state, event) in [
        // Details only count while onramp waits for them.
        (
            State::waiting_customer_confirmation(conn()),
            Event::VifDetailsProvided,
        ),
        (State::configuring_pe(conn()), Event::VifDetailsProvided),
        (State::active(conn()), Event::VifDetailsProvided),
        // A late connection poll after the PE push.
        (
            State::waiting_bgp(conn()),
            conn_seen(ConnectionStatus::Deleted),
        ),
        // A redelivered job result must not re-run the step after it.
        (
            State::waiting_customer_confirmation(conn()),
            Event::ConnectionAllocated {
                connection_id: conn(),
            },
        ),
        (State::waiting_bgp(conn()), Event::PeConfigured),
        (
            State::removing_pe_config(Terminal::Deleted),
            Event::ConnectionDeleted,
        ),
    ] {
        let out = handle(&state, &event);
        assert!(out.is_ignored(), "{event:?} in {state:?}");
        assert!(out.note.starts_with("unexpected event"), "{}", out.note);
    }
}

/// Every (state, event) pair, checked against the rules the worker relies on.
#[test]
fn every_pair_keeps_the_worker_contract() {
    KIND.check_worker_contract(|state, event, out, ctx| {
        // Only polls may stay put and still ask for work.
        if !out.changed && !out.actions.is_empty() {
            assert!(
                matches!(
                    event,
                    Event::ConnectionObserved { .. } | Event::VifObserved { .. }
                ),
                "{ctx}"
            );
        }
        // A state that polls never drops its own poll's result: it moves
        // on or polls again.
        let own_poll = match current_action(state) {
            Some(Action::PollConnection) => {
                matches!(event, Event::ConnectionObserved { .. })
            }
            Some(Action::PollVif) => matches!(event, Event::VifObserved { .. }),
            _ => false,
        };
        if own_poll {
            assert!(!out.is_ignored(), "{ctx}");
        }
        // The connection id is kept from allocation until teardown.
        if connection_id(state).is_some() && connection_id(&out.state).is_some() {
            assert_eq!(connection_id(&out.state), connection_id(state), "{ctx}");
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
        "allocating_connection",
        "waiting_customer_confirmation",
        "waiting_vif_details",
        "configuring_pe",
        "waiting_bgp",
        "active",
        "down",
        "changing_pe",
    ];
    let mut expected: Vec<Row> = Vec::new();
    let mut row = |from: &str, trigger: &str, to: &str, action: &str| {
        expected.push((from.into(), trigger.into(), to.into(), action.into()));
    };
    let del = "deleting_connection";
    let failed = format!("{del}{{failed}}");
    row(
        "allocating_connection",
        "connection_allocated",
        "waiting_customer_confirmation",
        "poll_connection",
    );
    row(
        "allocating_connection",
        "connection_allocation_rejected",
        &failed,
        "delete_connection",
    );

    let wcc = "waiting_customer_confirmation";
    row(
        wcc,
        "connection_observed [ordering or requested]",
        "stays",
        "poll_connection",
    );
    row(
        wcc,
        "connection_observed [unknown]",
        "stays",
        "poll_connection",
    );
    row(
        wcc,
        "connection_observed [pending, available or down]",
        "waiting_vif_details",
        "poll_connection",
    );
    row(
        wcc,
        "connection_observed [rejected]",
        &format!("{del}{{rejected}}"),
        "delete_connection",
    );
    row(
        wcc,
        "connection_observed [deleting or deleted]",
        &failed,
        "delete_connection",
    );

    let wvd = "waiting_vif_details";
    for class in [
        "ordering or requested",
        "pending, available or down",
        "unknown",
    ] {
        row(
            wvd,
            &format!("connection_observed [{class}]"),
            "stays",
            "poll_connection",
        );
    }
    for class in ["rejected", "deleting or deleted"] {
        row(
            wvd,
            &format!("connection_observed [{class}]"),
            &failed,
            "delete_connection",
        );
    }
    row(
        wvd,
        "vif_details_provided",
        "configuring_pe",
        "push_pe_config",
    );

    row("configuring_pe", "pe_configured", "waiting_bgp", "poll_vif");
    row("configuring_pe", "pe_failed", &failed, "delete_connection");

    row(
        "waiting_bgp",
        "vif_observed [available, BGP up]",
        "active",
        "poll_vif",
    );
    row("waiting_bgp", "vif_observed [not up]", "stays", "poll_vif");
    row(
        "waiting_bgp",
        "vif_observed [confirming]",
        "stays",
        "poll_vif",
    );
    row(
        "active",
        "vif_observed [available, BGP up]",
        "stays",
        "poll_vif",
    );
    row("active", "vif_observed [not up]", "down", "poll_vif");
    row("active", "vif_observed [confirming]", "down", "poll_vif");
    row(
        "down",
        "vif_observed [available, BGP up]",
        "active",
        "poll_vif",
    );
    row("down", "vif_observed [not up]", "stays", "poll_vif");
    row("down", "vif_observed [confirming]", "stays", "poll_vif");
    for from in ["waiting_bgp", "active", "down"] {
        row(
            from,
            "vif_observed [deleting, deleted or rejected]",
            wvd,
            "poll_connection",
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
            &format!("{del}{{deleted}}"),
            "delete_connection",
        );
    }
    for ending in ["deleted", "failed", "rejected"] {
        row(
            &format!("deleting_connection{{{ending}}}"),
            "connection_deleted",
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
            for step in [
                "deleting_connection",
                "removing_pe_config",
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
        "allocating_connection",
        "allocate_connection",
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
        &State::waiting_customer_confirmation(conn()),
        &conn_seen(ConnectionStatus::Rejected),
    )
    .state;
    let removing = handle(&rolling_back, &Event::ConnectionDeleted).state;
    // What the worker committed before it died.
    let row = serde_json::to_value(&removing).unwrap();

    let restored: State = serde_json::from_value(row).unwrap();
    // Redelivery of the job that was already done must not move it on twice.
    assert!(handle(&restored, &Event::ConnectionDeleted).is_ignored());
    let releasing = handle(&restored, &Event::PeConfigRemoved).state;
    let end = handle(&releasing, &Event::ResourcesReleased).state;
    assert_eq!(
        end,
        State::rejected(format!(
            "the customer declined the hosted connection {CONN}"
        ))
    );
}

/// Rows already in the database must keep deserialising: changing these
/// shapes needs a data migration.
#[test]
fn persisted_json_shape_is_stable() {
    let cases = [
        (
            State::allocating_connection(),
            r#"{"AllocatingConnection":{}}"#,
        ),
        (
            State::waiting_customer_confirmation(conn()),
            r#"{"WaitingCustomerConfirmation":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::waiting_vif_details(conn()),
            r#"{"WaitingVifDetails":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::configuring_pe(conn()),
            r#"{"ConfiguringPe":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::waiting_bgp(conn()),
            r#"{"WaitingBgp":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::active(conn()),
            r#"{"Active":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::down(conn()),
            r#"{"Down":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::changing_pe(conn()),
            r#"{"ChangingPe":{"connection_id":"dxcon-ffx1k2zq"}}"#,
        ),
        (
            State::deleting_connection(failed_with("boom")),
            r#"{"DeletingConnection":{"then":{"kind":"failed","reason":"boom"}}}"#,
        ),
        (
            State::removing_pe_config(rejected_with("no")),
            r#"{"RemovingPeConfig":{"then":{"kind":"rejected","reason":"no"}}}"#,
        ),
        (
            State::releasing_resources(Terminal::Deleted),
            r#"{"ReleasingResources":{"then":{"kind":"deleted"}}}"#,
        ),
        (
            State::failed("boom".to_string()),
            r#"{"Failed":{"reason":"boom"}}"#,
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
            Event::ConnectionAllocated {
                connection_id: conn(),
            },
            r#"{"type":"connection_allocated","connection_id":"dxcon-ffx1k2zq"}"#,
        ),
        (
            conn_seen(ConnectionStatus::Ordering),
            r#"{"type":"connection_observed","status":"ordering"}"#,
        ),
        (
            Event::VifDetailsProvided,
            r#"{"type":"vif_details_provided"}"#,
        ),
        (
            vif_seen(VifStatus::Available, true),
            r#"{"type":"vif_observed","vif_state":"available","bgp_up":true}"#,
        ),
        (
            Event::ConnectionAllocationRejected {
                reason: "x".to_string(),
            },
            r#"{"type":"connection_allocation_rejected","reason":"x"}"#,
        ),
        (Event::DeleteRequested, r#"{"type":"delete_requested"}"#),
        (Event::ChangeRequested, r#"{"type":"change_requested"}"#),
        (Event::RetryRequested, r#"{"type":"retry_requested"}"#),
    ];
    assert_json_shapes(&cases);
    KIND.check_event_and_action_names(&Action::ALL);
}

// ----- helpers and introspection -----

#[test]
fn connection_status_parses_aws_wire_strings() {
    check_wire_names(
        &ConnectionStatus::ALL,
        ConnectionStatus::as_str,
        ConnectionStatus::parse,
    );
    assert_eq!(
        ConnectionStatus::parse("ordering"),
        ConnectionStatus::Ordering
    );
    assert_eq!(
        ConnectionStatus::parse(" Available "),
        ConnectionStatus::Available
    );
    assert_eq!(
        ConnectionStatus::parse("migrating"),
        ConnectionStatus::Unknown
    );
    assert_eq!(ConnectionStatus::parse(""), ConnectionStatus::Unknown);
}

#[test]
fn action_all_lists_every_standing_action_once() {
    KIND.check_action_list(&Action::ALL);
}

#[test]
fn state_names_follow_the_lifecycle_order() {
    KIND.check_state_name_order();
}

#[test]
fn each_state_says_who_it_waits_on() {
    KIND.check_waiting_on(&[
        ("allocating_connection", WaitingOn::Onramp),
        ("waiting_customer_confirmation", WaitingOn::Customer),
        ("waiting_vif_details", WaitingOn::Customer),
        ("configuring_pe", WaitingOn::Router),
        ("waiting_bgp", WaitingOn::Csp),
        ("active", WaitingOn::Nobody),
        ("down", WaitingOn::Csp),
        ("changing_pe", WaitingOn::Router),
        ("deleting_connection", WaitingOn::Onramp),
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
        ("allocating_connection", Some(Action::AllocateConnection)),
        (
            "waiting_customer_confirmation",
            Some(Action::PollConnection),
        ),
        ("waiting_vif_details", Some(Action::PollConnection)),
        ("configuring_pe", Some(Action::PushPeConfig)),
        ("waiting_bgp", Some(Action::PollVif)),
        ("active", Some(Action::PollVif)),
        ("down", Some(Action::PollVif)),
        ("changing_pe", Some(Action::PushPeConfig)),
        ("deleting_connection", Some(Action::DeleteConnection)),
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
        next_step(&State::waiting_customer_confirmation(conn()))
            .contains("Direct Connect → Connections")
    );
    assert!(next_step(&State::waiting_vif_details(conn())).contains("authentication key"));
    let failed = next_step(&State::failed("boom".to_string()));
    assert!(failed.contains("retry"), "{failed}");
    assert!(failed.contains("delete it to release them"), "{failed}");
}

#[test]
fn failure_reason_only_where_something_went_wrong() {
    KIND.check_failure_reasons();
}

#[test]
fn connection_id_is_exposed_from_allocation_until_teardown() {
    assert_eq!(connection_id(&State::allocating_connection()), None);
    for state in KIND
        .live_states()
        .into_iter()
        .filter(|s| *s != State::allocating_connection())
    {
        assert_eq!(connection_id(&state), Some(CONN), "{state:?}");
    }
    for build in KIND.teardown {
        assert_eq!(connection_id(&build(Terminal::Deleted)), None);
    }
    assert_eq!(connection_id(&State::deleted()), None);
}
