use super::docs::SPEC;
use super::*;
use crate::ChangeEnd;
use crate::testing::{Kind, Row, assert_json_shapes, check_wire_names, failed_with, rejected_with};

const CLOUD_ROUTER_IP: &str = "169.254.67.201/29";
const CUSTOMER_ROUTER_IP: &str = "169.254.67.202/29";
const REJECTED_REASON: &str = "the customer deleted their attachment before activating it";

fn created() -> Event {
    Event::AttachmentCreated {
        cloud_router_ip: CLOUD_ROUTER_IP.to_string(),
        customer_router_ip: CUSTOMER_ROUTER_IP.to_string(),
    }
}

fn seen(status: AttachmentStatus) -> Event {
    Event::AttachmentObserved { status }
}

const KIND: Kind<State, Event, Action> = Kind {
    spec: SPEC,
    event_name: Event::name,
    delete_requested: Event::DeleteRequested,
    restart: |event| matches!(event, Event::RetryRequested).then(State::creating_attachment),
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

/// Runs the rest of a teardown from `deleting_attachment` and returns the
/// terminal.
#[track_caller]
fn finish_teardown(then: Terminal) -> State {
    KIND.finish_teardown(
        then,
        &[
            Event::AttachmentDeleted,
            Event::PeConfigRemoved,
            Event::ResourcesReleased,
        ],
    )
}

const GONE: [AttachmentStatus; 3] = [
    AttachmentStatus::Defunct,
    AttachmentStatus::Gone,
    AttachmentStatus::Unprovisioned,
];

// ----- the happy path -----

#[test]
fn start_creates_the_attachment() {
    let out = start();
    assert_eq!(out.state, State::creating_attachment());
    assert_eq!(out.actions, [Action::CreateAttachment]);
    assert!(out.changed);
    assert!(out.note.contains("pairing key"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(current_action(&out.state), Some(Action::CreateAttachment));
}

#[test]
fn happy_path_reaches_active_and_keeps_watching() {
    let creating = start().state;
    let out = step(
        &creating,
        created(),
        State::configuring_pe(),
        &[Action::PushPeConfig],
        true,
    );
    assert!(out.note.contains(CLOUD_ROUTER_IP), "{}", out.note);
    assert!(out.note.contains(CUSTOMER_ROUTER_IP), "{}", out.note);
    assert!(out.note.contains("16550"), "{}", out.note);
    let out = step(
        &State::configuring_pe(),
        Event::PeConfigured,
        State::waiting_customer_activation(),
        &[Action::PollAttachment],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
    step(
        &State::waiting_customer_activation(),
        seen(AttachmentStatus::Active),
        State::active(),
        &[Action::PollAttachment],
        true,
    );
    let out = step(
        &State::active(),
        seen(AttachmentStatus::Active),
        State::active(),
        &[Action::PollAttachment],
        false,
    );
    assert!(out.is_still_waiting());
    assert_eq!(waiting_on(&out.state), WaitingOn::Nobody);
}

#[test]
fn waiting_for_activation_keeps_polling_until_active() {
    let waiting = State::waiting_customer_activation();
    for status in [
        AttachmentStatus::PendingCustomer,
        AttachmentStatus::PendingPartner,
        AttachmentStatus::PartnerRequestReceived,
        AttachmentStatus::Unknown,
    ] {
        let out = step(
            &waiting,
            seen(status),
            waiting.clone(),
            &[Action::PollAttachment],
            false,
        );
        assert!(out.is_still_waiting());
        assert!(!out.is_ignored());
    }
}

#[test]
fn active_keeps_polling_on_active_and_unreadable_states() {
    let active = State::active();
    for status in [
        AttachmentStatus::Active,
        AttachmentStatus::Unknown,
        AttachmentStatus::PendingPartner,
        AttachmentStatus::PartnerRequestReceived,
    ] {
        let out = step(
            &active,
            seen(status),
            active.clone(),
            &[Action::PollAttachment],
            false,
        );
        assert!(out.note.contains(status.as_str()) || status == AttachmentStatus::Active);
    }
}

#[test]
fn deactivation_waits_on_the_customer_again() {
    let out = step(
        &State::active(),
        seen(AttachmentStatus::PendingCustomer),
        State::waiting_customer_activation(),
        &[Action::PollAttachment],
        true,
    );
    assert!(out.note.contains("deactivated"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Customer);
    step(
        &out.state,
        seen(AttachmentStatus::Active),
        State::active(),
        &[Action::PollAttachment],
        true,
    );
}

// ----- failures and rollbacks -----

#[test]
fn google_refusing_the_attachment_rolls_back_to_failed() {
    let reason = "Google refused the attachment: pairing key not found";
    let out = step(
        &State::creating_attachment(),
        Event::AttachmentFailed {
            reason: "pairing key not found".to_string(),
        },
        State::deleting_attachment(failed_with(reason)),
        &[Action::DeleteAttachment],
        true,
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(failure_reason(&out.state), Some(reason));
    let end = finish_teardown(failed_with(reason));
    assert_eq!(end, State::failed(reason.to_string()));
    assert!(is_terminal(&end));
    assert_eq!(failure_reason(&end), Some(reason));
}

#[test]
fn router_refusing_the_config_rolls_back_to_failed() {
    let reason = "the PE router refused the configuration: commit check failed";
    step(
        &State::configuring_pe(),
        Event::PeFailed {
            reason: "commit check failed".to_string(),
        },
        State::deleting_attachment(failed_with(reason)),
        &[Action::DeleteAttachment],
        true,
    );
    assert_eq!(
        finish_teardown(failed_with(reason)),
        State::failed(reason.to_string())
    );
}

#[test]
fn customer_deleting_before_activation_ends_rejected() {
    for status in GONE {
        let out = step(
            &State::waiting_customer_activation(),
            seen(status),
            State::deleting_attachment(rejected_with(REJECTED_REASON)),
            &[Action::DeleteAttachment],
            true,
        );
        assert!(out.note.contains("end as rejected"), "{}", out.note);
    }
    let end = finish_teardown(rejected_with(REJECTED_REASON));
    assert_eq!(end, State::rejected(REJECTED_REASON.to_string()));
    assert_eq!(failure_reason(&end), Some(REJECTED_REASON));
}

#[test]
fn attachment_removed_while_active_ends_failed() {
    for status in GONE {
        let out = handle(&State::active(), &seen(status));
        let State::DeletingAttachment {
            then: Terminal::Failed { reason },
        } = &out.state
        else {
            panic!("{status:?} in active gave {:?}", out.state);
        };
        assert!(reason.contains("removed outside onramp"), "{reason}");
        if status == AttachmentStatus::Gone {
            assert!(reason.contains("no longer exists"), "{reason}");
        } else {
            assert!(reason.contains(status.as_str()), "{reason}");
        }
        assert_eq!(out.actions, [Action::DeleteAttachment]);
        assert!(out.changed);
    }
}

// ----- delete requests -----

#[test]
fn delete_is_accepted_in_every_live_state() {
    KIND.check_delete_in_live_states(7, Action::DeleteAttachment);
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

#[test]
fn cancel_while_waiting_for_activation_drops_the_queued_poll() {
    let out = step(
        &State::waiting_customer_activation(),
        Event::DeleteRequested,
        State::deleting_attachment(Terminal::Deleted),
        &[Action::DeleteAttachment],
        true,
    );
    // The poll job queued before the delete is stale...
    assert_ne!(current_action(&out.state), Some(Action::PollAttachment));
    // ...and if it ran anyway, its result changes nothing.
    let late = handle(&out.state, &seen(AttachmentStatus::PendingCustomer));
    assert!(late.is_ignored());
    assert_eq!(
        late.note,
        "unexpected event attachment_observed in state deleting_attachment"
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
fn retry_creates_the_attachment_again() {
    KIND.check_retry_restarts_failed(
        Event::RetryRequested,
        State::creating_attachment(),
        Action::CreateAttachment,
        "retry requested after the failure (boom); creating the partner attachment again \
         with the resources the connector held",
    );
    let out = handle(&State::failed("boom".to_string()), &Event::RetryRequested);
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
}

#[test]
fn retry_is_ignored_unless_failed() {
    KIND.check_retry_ignored_outside_failed(Event::RetryRequested);
    // Named, for the cases the API answers with a 409.
    for state in [
        State::rejected(REJECTED_REASON.to_string()),
        State::deleted(),
        State::creating_attachment(),
        State::waiting_customer_activation(),
        State::active(),
        State::changing_attachment(),
        State::restoring_attachment(),
        State::deleting_attachment(failed_with("boom")),
        State::releasing_resources(failed_with("boom")),
        State::releasing_resources(Terminal::Deleted),
    ] {
        let out = step(&state, Event::RetryRequested, state.clone(), &[], false);
        assert!(out.is_ignored(), "{state:?}");
    }
}

#[test]
fn deleting_a_failed_connector_releases_then_ends_deleted() {
    let reason = "Google refused the attachment: the pairing key is already in use";
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

fn update_failed(reason: &str) -> Event {
    Event::AttachmentUpdateFailed {
        reason: reason.to_string(),
    }
}

fn pe_failed(reason: &str) -> Event {
    Event::PeFailed {
        reason: reason.to_string(),
    }
}

/// The three states a change runs through, in order.
fn change_states() -> [State; 3] {
    [
        State::changing_attachment(),
        State::changing_pe(),
        State::restoring_attachment(),
    ]
}

#[test]
fn a_change_while_active_goes_to_google_first() {
    let out = step(
        &State::active(),
        Event::ChangeRequested,
        State::changing_attachment(),
        &[Action::UpdateAttachment],
        true,
    );
    assert_eq!(out.change, None);
    assert!(
        out.note.contains("settings change requested"),
        "{}",
        out.note
    );
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn google_taking_the_change_moves_on_to_the_pe() {
    let out = step(
        &State::changing_attachment(),
        Event::AttachmentUpdated,
        State::changing_pe(),
        &[Action::PushPeConfig],
        true,
    );
    // Half a change is no end of it.
    assert_eq!(out.change, None);
    assert!(out.note.contains("changing the PE"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Router);
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn a_change_google_refuses_is_reverted_without_touching_the_pe() {
    let out = step(
        &State::changing_attachment(),
        update_failed("capacity not available in this metro"),
        State::active(),
        &[Action::PollAttachment],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Reverted));
    assert!(
        out.note.contains("capacity not available in this metro"),
        "{}",
        out.note
    );
    assert!(out.note.contains("previous settings"), "{}", out.note);
    // A refused change is not a failure of the connector.
    assert_eq!(failure_reason(&out.state), None);
}

#[test]
fn a_change_the_pe_takes_is_kept_and_the_connector_is_active_again() {
    let out = step(
        &State::changing_pe(),
        Event::PeConfigured,
        State::active(),
        &[Action::PollAttachment],
        true,
    );
    assert_eq!(out.change, Some(ChangeEnd::Kept));
    assert!(out.note.contains("new settings"), "{}", out.note);
}

#[test]
fn a_change_the_pe_refuses_is_reverted_and_the_attachment_put_back() {
    let out = step(
        &State::changing_pe(),
        pe_failed("commit check failed"),
        State::restoring_attachment(),
        &[Action::UpdateAttachment],
        true,
    );
    // Reverted now, in the same commit, so the update that follows puts
    // back the capacity from before the change.
    assert_eq!(out.change, Some(ChangeEnd::Reverted));
    assert!(out.note.contains("commit check failed"), "{}", out.note);
    assert!(out.note.contains("previous capacity"), "{}", out.note);
    assert_eq!(waiting_on(&out.state), WaitingOn::Onramp);
    // A refused change is not a failure of the connector.
    assert_eq!(failure_reason(&out.state), None);
    assert!(next_step(&out.state).contains("previous capacity"));
}

#[test]
fn restoring_the_attachment_ends_active_either_way() {
    let out = step(
        &State::restoring_attachment(),
        Event::AttachmentUpdated,
        State::active(),
        &[Action::PollAttachment],
        true,
    );
    // The change already ended when the PE refused it.
    assert_eq!(out.change, None);
    assert!(out.note.contains("previous capacity"), "{}", out.note);
    assert!(out.note.contains("previous settings"), "{}", out.note);

    let out = step(
        &State::restoring_attachment(),
        update_failed("backend error"),
        State::active(),
        &[Action::PollAttachment],
        true,
    );
    assert_eq!(out.change, None);
    assert!(out.note.contains("backend error"), "{}", out.note);
    assert!(out.note.contains("ops"), "{}", out.note);
    assert_eq!(failure_reason(&out.state), None);
}

/// Runs `events` from `active`, each one moving the connector on, and
/// returns where it ends and the change ends reported on the way.
#[track_caller]
fn run_change(events: &[Event]) -> (State, Vec<ChangeEnd>) {
    let mut state = State::active();
    let mut ends = Vec::new();
    for event in events {
        let out = handle(&state, event);
        assert!(out.changed, "{event:?} in {state:?}");
        ends.extend(out.change);
        state = out.state;
    }
    (state, ends)
}

#[test]
fn a_change_kept_round_trip() {
    let (state, ends) = run_change(&[
        Event::ChangeRequested,
        Event::AttachmentUpdated,
        Event::PeConfigured,
    ]);
    assert_eq!(state, State::active());
    assert_eq!(ends, [ChangeEnd::Kept]);
}

#[test]
fn a_change_refused_by_google_round_trip() {
    let (state, ends) = run_change(&[Event::ChangeRequested, update_failed("x")]);
    assert_eq!(state, State::active());
    assert_eq!(ends, [ChangeEnd::Reverted]);
}

#[test]
fn a_change_refused_by_the_pe_round_trip() {
    for restored in [Event::AttachmentUpdated, update_failed("y")] {
        let (state, ends) = run_change(&[
            Event::ChangeRequested,
            Event::AttachmentUpdated,
            pe_failed("x"),
            restored,
        ]);
        assert_eq!(state, State::active());
        assert_eq!(ends, [ChangeEnd::Reverted]);
        // Back in active, the first poll says whether the service is up.
        step(
            &state,
            seen(AttachmentStatus::PendingCustomer),
            State::waiting_customer_activation(),
            &[Action::PollAttachment],
            true,
        );
    }
}

#[test]
fn attachment_update_results_are_ignored_outside_the_states_waiting_for_them() {
    for state in (SPEC.sample_states)() {
        if matches!(
            state,
            State::ChangingAttachment {} | State::RestoringAttachment {}
        ) {
            continue;
        }
        for event in [Event::AttachmentUpdated, update_failed("x")] {
            let out = step(&state, event.clone(), state.clone(), &[], false);
            assert!(out.is_ignored(), "{event:?} in {state:?}");
            assert_eq!(out.change, None, "{event:?} in {state:?}");
            assert_eq!(
                out.note,
                format!(
                    "unexpected event {} in state {}",
                    event.name(),
                    state_name(&state)
                )
            );
        }
    }
}

#[test]
fn other_results_are_ignored_during_a_change() {
    // A redelivered PE result must not end a change the PE is not part of
    // (yet, or any more), nor a late creation result start anything.
    for changing in [State::changing_attachment(), State::restoring_attachment()] {
        for event in [
            Event::PeConfigured,
            pe_failed("x"),
            created(),
            Event::AttachmentFailed {
                reason: "x".to_string(),
            },
            Event::AttachmentDeleted,
        ] {
            let out = step(&changing, event, changing.clone(), &[], false);
            assert!(out.is_ignored());
            assert_eq!(out.change, None);
        }
    }
    // Google's answer was already taken when the PE is being changed.
    let changing = State::changing_pe();
    for event in [Event::AttachmentUpdated, update_failed("x"), created()] {
        let out = step(&changing, event, changing.clone(), &[], false);
        assert!(out.is_ignored());
        assert_eq!(out.change, None);
    }
}

#[test]
fn a_change_is_ignored_where_it_cannot_start() {
    for state in (SPEC.sample_states)() {
        let out = handle(&state, &Event::ChangeRequested);
        if state == State::active() {
            assert_eq!(out.state, State::changing_attachment());
            assert_eq!(out.actions, [Action::UpdateAttachment]);
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
        State::waiting_customer_activation(),
        State::deleting_attachment(Terminal::Deleted),
        State::releasing_resources(failed_with("boom")),
        State::deleted(),
        State::failed("boom".to_string()),
    ] {
        step(&state, Event::ChangeRequested, state.clone(), &[], false);
    }
}

#[test]
fn a_change_during_a_change_is_ignored() {
    for changing in change_states() {
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
    for (changing, action) in change_states().into_iter().zip([
        Action::UpdateAttachment,
        Action::PushPeConfig,
        Action::UpdateAttachment,
    ]) {
        assert_eq!(current_action(&changing), Some(action));
        for status in [
            AttachmentStatus::Active,
            AttachmentStatus::PendingCustomer,
            AttachmentStatus::Defunct,
        ] {
            assert!(
                handle(&changing, &seen(status)).is_ignored(),
                "{status:?} in {changing:?}"
            );
        }
    }
}

#[test]
fn delete_during_a_change_starts_the_teardown() {
    for changing in change_states() {
        let out = step(
            &changing,
            Event::DeleteRequested,
            State::deleting_attachment(Terminal::Deleted),
            &[Action::DeleteAttachment],
            true,
        );
        assert_eq!(out.change, None);
        assert_ne!(current_action(&out.state), current_action(&changing));
        // Google's or the PE's answer to the change comes too late to matter.
        for event in [
            Event::AttachmentUpdated,
            update_failed("x"),
            Event::PeConfigured,
            pe_failed("x"),
        ] {
            let late = handle(&out.state, &event);
            assert!(late.is_ignored(), "{event:?} after {changing:?}");
            assert_eq!(late.change, None);
        }
    }
    assert_eq!(finish_teardown(Terminal::Deleted), State::deleted());
}

// ----- ignored events -----

#[test]
fn out_of_place_events_are_ignored_with_a_reason() {
    let out = step(
        &State::active(),
        Event::AttachmentDeleted,
        State::active(),
        &[],
        false,
    );
    assert_eq!(
        out.note,
        "unexpected event attachment_deleted in state active"
    );

    // A redelivered job result must not re-run the step after it.
    for (state, event) in [
        (State::configuring_pe(), created()),
        (State::waiting_customer_activation(), Event::PeConfigured),
        (State::creating_attachment(), seen(AttachmentStatus::Active)),
        (State::configuring_pe(), seen(AttachmentStatus::Active)),
        (State::changing_pe(), Event::AttachmentUpdated),
        (State::active(), Event::PeConfigured),
        (
            State::removing_pe_config(Terminal::Deleted),
            Event::AttachmentDeleted,
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
            assert!(matches!(event, Event::AttachmentObserved { .. }), "{ctx}");
            assert_eq!(out.actions, [Action::PollAttachment], "{ctx}");
        }
        // A watched attachment never stops being polled by accident: an
        // observation there always moves on or polls again.
        if matches!(event, Event::AttachmentObserved { .. })
            && matches!(
                state,
                State::WaitingCustomerActivation {} | State::Active {}
            )
        {
            assert!(!out.is_ignored(), "{ctx}");
        }
        // Only Google's refusal or the PE's answer ends a change; putting
        // the attachment back after a refusal ends nothing.
        let ends_a_change = match state {
            State::ChangingAttachment {} => {
                matches!(event, Event::AttachmentUpdateFailed { .. })
            }
            State::ChangingPe {} => {
                matches!(event, Event::PeConfigured | Event::PeFailed { .. })
            }
            _ => false,
        };
        assert_eq!(out.change.is_some(), ends_a_change, "{ctx}");
    });
}

/// The whole transition table, written out by hand from the spec. Any change
/// in behaviour has to be made here too, on purpose.
#[test]
fn transition_table_matches_the_spec() {
    let live = [
        "creating_attachment",
        "configuring_pe",
        "waiting_customer_activation",
        "active",
        "changing_attachment",
        "changing_pe",
        "restoring_attachment",
    ];
    let mut expected: Vec<Row> = Vec::new();
    let mut row = |from: &str, trigger: &str, to: &str, action: &str| {
        expected.push((from.into(), trigger.into(), to.into(), action.into()));
    };
    let del = "deleting_attachment";
    row(
        "creating_attachment",
        "attachment_created",
        "configuring_pe",
        "push_pe_config",
    );
    row(
        "creating_attachment",
        "attachment_failed",
        &format!("{del}{{failed}}"),
        "delete_attachment",
    );
    row(
        "configuring_pe",
        "pe_configured",
        "waiting_customer_activation",
        "poll_attachment",
    );
    row(
        "configuring_pe",
        "pe_failed",
        &format!("{del}{{failed}}"),
        "delete_attachment",
    );
    let wca = "waiting_customer_activation";
    row(
        wca,
        "attachment_observed [pending customer]",
        "stays",
        "poll_attachment",
    );
    row(
        wca,
        "attachment_observed [pending partner]",
        "stays",
        "poll_attachment",
    );
    row(
        wca,
        "attachment_observed [unknown]",
        "stays",
        "poll_attachment",
    );
    row(
        wca,
        "attachment_observed [active]",
        "active",
        "poll_attachment",
    );
    row(
        wca,
        "attachment_observed [defunct, unprovisioned or gone]",
        &format!("{del}{{rejected}}"),
        "delete_attachment",
    );
    row(
        "active",
        "attachment_observed [active]",
        "stays",
        "poll_attachment",
    );
    row(
        "active",
        "attachment_observed [unknown]",
        "stays",
        "poll_attachment",
    );
    row(
        "active",
        "attachment_observed [pending partner]",
        "stays",
        "poll_attachment",
    );
    row(
        "active",
        "attachment_observed [pending customer]",
        wca,
        "poll_attachment",
    );
    row(
        "active",
        "attachment_observed [defunct, unprovisioned or gone]",
        &format!("{del}{{failed}}"),
        "delete_attachment",
    );
    row(
        "active",
        "change_requested",
        "changing_attachment",
        "update_attachment",
    );
    row(
        "changing_attachment",
        "attachment_updated",
        "changing_pe",
        "push_pe_config",
    );
    row(
        "changing_attachment",
        "attachment_update_failed",
        "active",
        "poll_attachment",
    );
    row("changing_pe", "pe_configured", "active", "poll_attachment");
    row(
        "changing_pe",
        "pe_failed",
        "restoring_attachment",
        "update_attachment",
    );
    row(
        "restoring_attachment",
        "attachment_updated",
        "active",
        "poll_attachment",
    );
    row(
        "restoring_attachment",
        "attachment_update_failed",
        "active",
        "poll_attachment",
    );
    for from in live {
        row(
            from,
            "delete_requested",
            &format!("{del}{{deleted}}"),
            "delete_attachment",
        );
    }
    for ending in ["deleted", "failed", "rejected"] {
        row(
            &format!("deleting_attachment{{{ending}}}"),
            "attachment_deleted",
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
                "deleting_attachment",
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
        "creating_attachment",
        "create_attachment",
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
        &State::waiting_customer_activation(),
        &seen(AttachmentStatus::Defunct),
    )
    .state;
    let removing = handle(&rolling_back, &Event::AttachmentDeleted).state;
    // What the worker committed before it died.
    let row = serde_json::to_value(&removing).unwrap();

    let restored: State = serde_json::from_value(row).unwrap();
    // Redelivery of the job that was already done must not move it on twice.
    assert!(handle(&restored, &Event::AttachmentDeleted).is_ignored());
    let releasing = handle(&restored, &Event::PeConfigRemoved).state;
    let end = handle(&releasing, &Event::ResourcesReleased).state;
    assert_eq!(end, State::rejected(REJECTED_REASON.to_string()));
}

/// Rows already in the database must keep deserialising: changing these
/// shapes needs a data migration.
#[test]
fn persisted_json_shape_is_stable() {
    let cases = [
        (State::creating_attachment(), r#"{"CreatingAttachment":{}}"#),
        (State::configuring_pe(), r#"{"ConfiguringPe":{}}"#),
        (
            State::waiting_customer_activation(),
            r#"{"WaitingCustomerActivation":{}}"#,
        ),
        (State::active(), r#"{"Active":{}}"#),
        (State::changing_attachment(), r#"{"ChangingAttachment":{}}"#),
        (State::changing_pe(), r#"{"ChangingPe":{}}"#),
        (
            State::restoring_attachment(),
            r#"{"RestoringAttachment":{}}"#,
        ),
        (
            State::deleting_attachment(failed_with("boom")),
            r#"{"DeletingAttachment":{"then":{"kind":"failed","reason":"boom"}}}"#,
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
            created(),
            r#"{"type":"attachment_created","cloud_router_ip":"169.254.67.201/29","customer_router_ip":"169.254.67.202/29"}"#,
        ),
        (
            seen(AttachmentStatus::PendingCustomer),
            r#"{"type":"attachment_observed","status":"PENDING_CUSTOMER"}"#,
        ),
        (
            Event::AttachmentFailed {
                reason: "x".to_string(),
            },
            r#"{"type":"attachment_failed","reason":"x"}"#,
        ),
        (Event::DeleteRequested, r#"{"type":"delete_requested"}"#),
        (Event::ChangeRequested, r#"{"type":"change_requested"}"#),
        (Event::AttachmentUpdated, r#"{"type":"attachment_updated"}"#),
        (
            Event::AttachmentUpdateFailed {
                reason: "x".to_string(),
            },
            r#"{"type":"attachment_update_failed","reason":"x"}"#,
        ),
        (Event::RetryRequested, r#"{"type":"retry_requested"}"#),
    ];
    assert_json_shapes(&cases);
    KIND.check_event_and_action_names(&Action::ALL);
}

// ----- helpers and introspection -----

#[test]
fn attachment_status_parses_google_wire_strings() {
    check_wire_names(
        &AttachmentStatus::ALL,
        AttachmentStatus::as_str,
        AttachmentStatus::parse,
    );
    assert_eq!(
        AttachmentStatus::parse("PENDING_CUSTOMER"),
        AttachmentStatus::PendingCustomer
    );
    assert_eq!(
        AttachmentStatus::parse("PARTNER_REQUEST_RECEIVED"),
        AttachmentStatus::PartnerRequestReceived
    );
    assert_eq!(
        AttachmentStatus::parse(" active "),
        AttachmentStatus::Active
    );
    assert_eq!(
        AttachmentStatus::parse("STATE_UNSPECIFIED"),
        AttachmentStatus::Unknown
    );
    assert_eq!(AttachmentStatus::parse(""), AttachmentStatus::Unknown);
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
        ("creating_attachment", WaitingOn::Onramp),
        ("configuring_pe", WaitingOn::Router),
        ("waiting_customer_activation", WaitingOn::Customer),
        ("active", WaitingOn::Nobody),
        ("changing_attachment", WaitingOn::Onramp),
        ("changing_pe", WaitingOn::Router),
        ("restoring_attachment", WaitingOn::Onramp),
        ("deleting_attachment", WaitingOn::Onramp),
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
        ("creating_attachment", Some(Action::CreateAttachment)),
        ("configuring_pe", Some(Action::PushPeConfig)),
        ("waiting_customer_activation", Some(Action::PollAttachment)),
        ("active", Some(Action::PollAttachment)),
        ("changing_attachment", Some(Action::UpdateAttachment)),
        ("changing_pe", Some(Action::PushPeConfig)),
        ("restoring_attachment", Some(Action::UpdateAttachment)),
        ("deleting_attachment", Some(Action::DeleteAttachment)),
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
    assert!(next_step(&State::waiting_customer_activation()).contains("--admin-enabled"));
    let failed = next_step(&State::failed("boom".to_string()));
    assert!(failed.contains("retry"), "{failed}");
    assert!(failed.contains("delete it to release them"), "{failed}");
}

#[test]
fn failure_reason_only_where_something_went_wrong() {
    KIND.check_failure_reasons();
}
