use super::docs::SPEC;
use super::*;
use crate::ChangeEnd;
use crate::testing::{Kind, Row, assert_json_shapes, failed_with, rejected_with};

const REJECT_REASON: &str = "provider has no capacity at that site";

fn completed(step_index: usize) -> Event {
    Event::TaskCompleted { step_index }
}

fn rejected(step_index: usize) -> Event {
    Event::TaskRejected {
        step_index,
        reason: REJECT_REASON.to_string(),
    }
}

fn bgp(up: bool) -> Event {
    Event::BgpObserved { up }
}

const KIND: Kind<State, Event, Action> = Kind {
    spec: SPEC,
    event_name: Event::name,
    delete_requested: Event::DeleteRequested,
    // No retry: a failed ticket connector is deleted and ordered again.
    restart: |_| None,
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

/// Runs the rest of a teardown from `removing_pe` and returns the terminal.
#[track_caller]
fn finish_teardown(then: Terminal) -> State {
    KIND.finish_teardown(then, &[Event::PeRemoved, Event::ResourcesReleased])
}

// ----- the happy path -----

#[test]
fn start_opens_the_first_task() {
    let out = start(3);
    assert_eq!(out.state, State::waiting_ops(0, 3));
    assert_eq!(out.actions, [Action::OpenTask { step_index: 0 }]);
    assert!(out.changed);
    assert!(out.note.contains("step 1 of 3"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Ops);
    assert_eq!(open_step(&out.state), Some((0, 3)));
    assert_eq!(
        current_action(&out.state),
        Some(Action::OpenTask { step_index: 0 })
    );
}

#[test]
fn a_runbook_without_manual_steps_starts_at_the_pe() {
    let out = start(0);
    assert_eq!(out.state, State::configuring_pe());
    assert_eq!(out.actions, [Action::PushPe]);
    assert!(out.note.contains("no manual steps"), "{}", out.note);
    assert_eq!(open_step(&out.state), None);
}

#[test]
fn happy_path_walks_every_task_then_the_pe_and_bgp() {
    let mut state = start(3).state;
    for step_index in 0..2 {
        let next = State::waiting_ops(step_index + 1, 3);
        let out = step(
            &state,
            completed(step_index),
            next.clone(),
            &[Action::OpenTask {
                step_index: step_index + 1,
            }],
            true,
        );
        assert_eq!(waiting_on(&out.state), WaitingOn::Ops);
        state = next;
    }
    let out = step(
        &state,
        completed(2),
        State::configuring_pe(),
        &[Action::PushPe],
        true,
    );
    assert!(out.note.contains("the last"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
    let out = step(
        &State::configuring_pe(),
        Event::PeConfigured,
        State::waiting_bgp(),
        &[Action::CheckBgp],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Csp);
    let out = step(
        &State::waiting_bgp(),
        bgp(false),
        State::waiting_bgp(),
        &[Action::CheckBgp],
        false,
    );
    assert!(out.is_still_waiting());
    step(
        &State::waiting_bgp(),
        bgp(true),
        State::active(),
        &[Action::CheckBgp],
        true,
    );
    let out = step(
        &State::active(),
        bgp(true),
        State::active(),
        &[Action::CheckBgp],
        false,
    );
    assert!(out.is_still_waiting());
    assert_eq!(waiting_on(&out.state), WaitingOn::Nobody);
}

#[test]
fn bgp_down_while_active_waits_for_it_again() {
    let out = step(
        &State::active(),
        bgp(false),
        State::waiting_bgp(),
        &[Action::CheckBgp],
        true,
    );
    assert!(out.note.contains("went down"), "{}", out.note);
    step(
        &out.state,
        bgp(true),
        State::active(),
        &[Action::CheckBgp],
        true,
    );
}

#[test]
fn a_result_for_another_step_is_ignored() {
    let waiting = State::waiting_ops(1, 3);
    for event in [completed(0), completed(2), rejected(0), rejected(2)] {
        let out = handle(&waiting, &event);
        assert!(out.is_ignored(), "{event:?}");
        assert_eq!(
            out.note,
            format!("unexpected event {} in state waiting_ops", event.name())
        );
    }
}

// ----- failures and rollbacks -----

#[test]
fn the_provider_refusing_rolls_back_and_fails_the_connector() {
    let reason = "ops rejected manual step 2 of 3: provider has no capacity at that site";
    let out = step(
        &State::waiting_ops(1, 3),
        rejected(1),
        State::removing_pe(failed_with(reason)),
        &[Action::RemovePe],
        true,
    );
    assert!(out.note.contains("end as failed"), "{}", out.note);
    assert_eq!(failure_reason(&out.state), Some(reason));
    let end = finish_teardown(failed_with(reason));
    assert_eq!(end, State::failed(reason.to_string()));
    assert!(is_terminal(&end));
}

#[test]
fn router_refusing_the_config_rolls_back_to_failed() {
    let reason = "the PE router refused the configuration: commit check failed";
    step(
        &State::configuring_pe(),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::removing_pe(failed_with(reason)),
        &[Action::RemovePe],
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
    KIND.check_delete_in_live_states(6, Action::RemovePe);
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn delete_while_a_task_is_open_makes_its_result_stale() {
    let out = step(
        &State::waiting_ops(0, 2),
        Event::DeleteRequested,
        State::removing_pe(Terminal::Deleted),
        &[Action::RemovePe],
        true,
    );
    assert_ne!(
        current_action(&out.state),
        Some(Action::OpenTask { step_index: 0 })
    );
    assert_eq!(open_step(&out.state), None);
    let late = handle(&out.state, &completed(0));
    assert!(late.is_ignored());
    assert_eq!(
        late.note,
        "unexpected event task_completed in state removing_pe"
    );
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
        Action::Release,
        Event::ResourcesReleased,
    );
}

#[test]
fn delete_of_a_deleted_connector_is_ignored() {
    KIND.check_delete_of_deleted_ignored();
}

// ----- a failed connector keeps its allocations until deleted -----

#[test]
fn a_failure_rollback_ends_failed_keeping_the_allocations() {
    KIND.check_teardown_end_notes(Event::ResourcesReleased);
}

#[test]
fn deleting_a_failed_connector_releases_then_ends_deleted() {
    let reason = "ops rejected manual step 2 of 3: provider has no capacity at that site";
    let out = step(
        &State::failed(reason.to_string()),
        Event::DeleteRequested,
        State::releasing_resources(Terminal::Deleted),
        &[Action::Release],
        true,
    );
    assert_eq!(
        out.note,
        format!("failed connector deleted ({reason}); releasing the resources it held")
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(failure_reason(&out.state), None);
    let releasing = out.state;
    step(
        &releasing,
        Event::DeleteRequested,
        releasing.clone(),
        &[],
        false,
    );
    step(
        &releasing,
        Event::ResourcesReleased,
        State::deleted(),
        &[],
        true,
    );
}

/// This kind has no retry: a failed connector moves only when deleted.
#[test]
fn a_failed_connector_can_only_be_deleted() {
    assert!(serde_json::from_str::<Event>(r#"{"type":"retry_requested"}"#).is_err());
    let failed = State::failed("boom".to_string());
    for event in (SPEC.sample_events)() {
        let out = handle(&failed, &event);
        if event == Event::DeleteRequested {
            assert_eq!(out.state, State::releasing_resources(Terminal::Deleted));
            continue;
        }
        assert!(out.is_ignored(), "{event:?}");
        assert_eq!(
            out.note,
            format!("unexpected event {} in state failed", event.name())
        );
    }
}

// ----- changing a live connector's settings -----

#[test]
fn a_change_while_active_pushes_the_new_settings() {
    let out = step(
        &State::active(),
        Event::ChangeRequested,
        State::changing_pe(),
        &[Action::PushPe],
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
    assert_eq!(open_step(&out.state), None);
}

#[test]
fn a_change_the_pe_takes_is_kept_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(),
        Event::PeConfigured,
        State::active(),
        &[Action::CheckBgp],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Kept));
    assert!(out.note.contains("new settings"), "{}", out.note);
}

#[test]
fn a_change_the_pe_refuses_is_reverted_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::active(),
        &[Action::CheckBgp],
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
        if state == State::active() {
            assert_eq!(out.state, State::changing_pe());
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
        State::waiting_ops(0, 2),
        State::configuring_pe(),
        State::waiting_bgp(),
        State::removing_pe(Terminal::Deleted),
        State::releasing_resources(failed_with("boom")),
        State::deleted(),
        State::failed("boom".to_string()),
    ] {
        step(&state, Event::ChangeRequested, state.clone(), &[], false);
    }
}

#[test]
fn a_change_during_a_change_is_ignored() {
    let changing = State::changing_pe();
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
fn bgp_checks_queued_before_a_change_are_stale_during_it() {
    let changing = State::changing_pe();
    assert_eq!(current_action(&changing), Some(Action::PushPe));
    for up in [true, false] {
        assert!(handle(&changing, &bgp(up)).is_ignored(), "up: {up}");
    }
}

#[test]
fn delete_during_a_change_starts_the_teardown() {
    let out = step(
        &State::changing_pe(),
        Event::DeleteRequested,
        State::removing_pe(Terminal::Deleted),
        &[Action::RemovePe],
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

// ----- ignored events -----

#[test]
fn out_of_place_events_are_ignored_with_a_reason() {
    // A redelivered job result must not re-run the step after it.
    for (state, event) in [
        (State::configuring_pe(), completed(1)),
        (State::waiting_bgp(), Event::PeConfigured),
        (State::waiting_ops(0, 2), bgp(true)),
        (State::configuring_pe(), bgp(true)),
        (State::active(), Event::PeRemoved),
        (
            State::releasing_resources(Terminal::Deleted),
            Event::PeRemoved,
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
        // Only BGP checks may stay put and still ask for work.
        if !out.changed && !out.actions.is_empty() {
            assert!(matches!(event, Event::BgpObserved { .. }), "{ctx}");
            assert_eq!(out.actions, [Action::CheckBgp], "{ctx}");
        }
        // A watched session never stops being checked by accident.
        if matches!(event, Event::BgpObserved { .. })
            && matches!(state, State::WaitingBgp {} | State::Active {})
        {
            assert!(!out.is_ignored(), "{ctx}");
        }
        // A task's result only counts for the step whose task is open.
        if let (
            State::WaitingOps { step, .. },
            Event::TaskCompleted { step_index } | Event::TaskRejected { step_index, .. },
        ) = (state, event)
        {
            assert_eq!(out.changed, step == step_index, "{ctx}");
        }
        // Only the PE's answer to a change ends one.
        let ends_a_change = matches!(state, State::ChangingPe {})
            && matches!(event, Event::PeConfigured | Event::PeFailed { .. });
        assert_eq!(out.change.is_some(), ends_a_change, "{ctx}");
    });
}

/// The whole transition table, written out by hand from the spec. Any change
/// in behaviour has to be made here too, on purpose.
#[test]
fn transition_table_matches_the_spec() {
    let live = [
        "waiting_ops{step}",
        "waiting_ops{last}",
        "configuring_pe",
        "waiting_bgp",
        "active",
        "changing_pe",
    ];
    let mut expected: Vec<Row> = Vec::new();
    let mut row = |from: &str, trigger: &str, to: &str, action: &str| {
        expected.push((from.into(), trigger.into(), to.into(), action.into()));
    };
    row(
        "waiting_ops{step}",
        "task_completed",
        "waiting_ops{last}",
        "open_task",
    );
    row(
        "waiting_ops{last}",
        "task_completed",
        "configuring_pe",
        "push_pe",
    );
    for from in ["waiting_ops{step}", "waiting_ops{last}"] {
        row(from, "task_rejected", "removing_pe{failed}", "remove_pe");
    }
    row(
        "configuring_pe",
        "pe_configured",
        "waiting_bgp",
        "check_bgp",
    );
    row(
        "configuring_pe",
        "pe_failed",
        "removing_pe{failed}",
        "remove_pe",
    );
    row("waiting_bgp", "bgp_observed [up]", "active", "check_bgp");
    row("waiting_bgp", "bgp_observed [down]", "stays", "check_bgp");
    row("active", "bgp_observed [up]", "stays", "check_bgp");
    row("active", "bgp_observed [down]", "waiting_bgp", "check_bgp");
    row("active", "change_requested", "changing_pe", "push_pe");
    row("changing_pe", "pe_configured", "active", "check_bgp");
    row("changing_pe", "pe_failed", "active", "check_bgp");
    for from in live {
        row(
            from,
            "delete_requested",
            "removing_pe{deleted}",
            "remove_pe",
        );
    }
    for ending in ["deleted", "failed", "rejected"] {
        row(
            &format!("removing_pe{{{ending}}}"),
            "pe_removed",
            &format!("releasing_resources{{{ending}}}"),
            "release",
        );
        row(
            &format!("releasing_resources{{{ending}}}"),
            "resources_released",
            ending,
            "",
        );
        if ending != "deleted" {
            for step in ["removing_pe", "releasing_resources"] {
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
        "release",
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
fn crash_while_waiting_on_ops_resumes_at_the_same_step() {
    let second = handle(&start(3).state, &completed(0)).state;
    // What the worker committed before it died.
    let row = serde_json::to_value(&second).unwrap();
    let restored: State = serde_json::from_value(row).unwrap();
    assert_eq!(
        current_action(&restored),
        Some(Action::OpenTask { step_index: 1 })
    );
    // Redelivery of the completion already applied must not skip a step.
    assert!(handle(&restored, &completed(0)).is_ignored());
    assert_eq!(
        handle(&restored, &completed(1)).state,
        State::waiting_ops(2, 3)
    );
}

/// Rows already in the database must keep deserialising: changing these
/// shapes needs a data migration.
#[test]
fn persisted_json_shape_is_stable() {
    let cases = [
        (
            State::waiting_ops(1, 3),
            r#"{"WaitingOps":{"step":1,"steps":3}}"#,
        ),
        (State::configuring_pe(), r#"{"ConfiguringPe":{}}"#),
        (State::waiting_bgp(), r#"{"WaitingBgp":{}}"#),
        (State::active(), r#"{"Active":{}}"#),
        (State::changing_pe(), r#"{"ChangingPe":{}}"#),
        (
            State::removing_pe(failed_with("boom")),
            r#"{"RemovingPe":{"then":{"kind":"failed","reason":"boom"}}}"#,
        ),
        (
            State::releasing_resources(rejected_with("no")),
            r#"{"ReleasingResources":{"then":{"kind":"rejected","reason":"no"}}}"#,
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
fn event_and_action_json_shape_is_stable() {
    assert_json_shapes(&[
        (completed(2), r#"{"type":"task_completed","step_index":2}"#),
        (
            Event::TaskRejected {
                step_index: 0,
                reason: "x".to_string(),
            },
            r#"{"type":"task_rejected","step_index":0,"reason":"x"}"#,
        ),
        (bgp(true), r#"{"type":"bgp_observed","up":true}"#),
        (Event::DeleteRequested, r#"{"type":"delete_requested"}"#),
        (Event::ChangeRequested, r#"{"type":"change_requested"}"#),
    ]);
    assert_json_shapes(&[
        (
            Action::OpenTask { step_index: 1 },
            r#"{"open_task":{"step_index":1}}"#,
        ),
        (Action::PushPe, r#""push_pe""#),
    ]);
    KIND.check_event_and_action_names(&[
        Action::PushPe,
        Action::CheckBgp,
        Action::RemovePe,
        Action::Release,
    ]);
}

// ----- helpers and introspection -----

#[test]
fn standing_actions_in_lifecycle_order() {
    KIND.check_action_list(&[
        Action::OpenTask { step_index: 0 },
        Action::OpenTask { step_index: 1 },
        Action::PushPe,
        Action::CheckBgp,
        Action::RemovePe,
        Action::Release,
    ]);
}

#[test]
fn state_names_follow_the_lifecycle_order() {
    KIND.check_state_name_order();
}

#[test]
fn each_state_says_who_it_waits_on() {
    KIND.check_waiting_on(&[
        ("waiting_ops", WaitingOn::Ops),
        ("configuring_pe", WaitingOn::Router),
        ("waiting_bgp", WaitingOn::Csp),
        ("active", WaitingOn::Nobody),
        ("changing_pe", WaitingOn::Router),
        ("removing_pe", WaitingOn::Router),
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

/// Per state rather than per name: each `waiting_ops` step has its own
/// task to open.
#[test]
fn standing_action_per_state() {
    let expected = |state: &State| match state {
        State::WaitingOps { step, .. } => Some(Action::OpenTask { step_index: *step }),
        State::ConfiguringPe {} | State::ChangingPe {} => Some(Action::PushPe),
        State::WaitingBgp {} | State::Active {} => Some(Action::CheckBgp),
        State::RemovingPe { .. } => Some(Action::RemovePe),
        State::ReleasingResources { .. } => Some(Action::Release),
        State::Deleted {} | State::Failed { .. } | State::Rejected { .. } => None,
    };
    for state in (SPEC.sample_states)() {
        assert_eq!(current_action(&state), expected(&state), "{state:?}");
    }
}

#[test]
fn next_step_is_specific_to_each_state() {
    KIND.check_next_steps();
    let failed = next_step(&State::failed("boom".to_string()));
    assert!(failed.contains("Delete it to release them"), "{failed}");
    assert!(!failed.contains("retry"), "{failed}");
}

#[test]
fn failure_reason_only_where_something_went_wrong() {
    KIND.check_failure_reasons();
}
