//! Golden files for `ticket-csp`: scripted runs of the machine as JSONL
//! traces (`tests/golden/ticket_*.jsonl`), the Mermaid diagram and the
//! README's generated section for the kind. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

mod common;

use onramp_state_machines::ticket_csp::{Event, handle, mermaid, start, transition_table_markdown};

use common::{check_golden, check_readme_section, trace};

fn completed(step_index: usize) -> Event {
    Event::TaskCompleted { step_index }
}

fn bgp(up: bool) -> Event {
    Event::BgpObserved { up }
}

fn teardown() -> [Event; 2] {
    [Event::PeRemoved, Event::ResourcesReleased]
}

fn scenario(name: &str, manual_steps: usize, events: &[Event]) {
    check_golden(
        &format!("tests/golden/ticket_{name}.jsonl"),
        &trace(start(manual_steps), events, handle),
    );
}

#[test]
fn happy_path_then_delete() {
    let mut events = vec![
        completed(0),
        // A double-click in the console: the same completion twice.
        completed(0),
        completed(1),
        completed(2),
        Event::PeConfigured,
        bgp(false),
        bgp(true),
        bgp(true),
        Event::DeleteRequested,
        // The last check was still queued when the delete came in.
        bgp(true),
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("happy_path_then_delete", 3, &events);
}

#[test]
fn provider_refuses() {
    let mut events = vec![
        completed(0),
        Event::TaskRejected {
            step_index: 1,
            reason: "provider ticket PRV-88123 closed: no capacity on the cross-connect panel"
                .to_string(),
        },
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("provider_refuses", 3, &events);
}

#[test]
fn pe_refuses_config() {
    let mut events = vec![
        completed(0),
        Event::PeFailed {
            reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
        },
    ];
    events.extend(teardown());
    scenario("pe_refuses_config", 1, &events);
}

#[test]
fn delete_while_waiting_on_ops() {
    let mut events = vec![
        Event::DeleteRequested,
        // The person completes the task after the delete: too late.
        completed(0),
    ];
    events.extend(teardown());
    scenario("delete_while_waiting_on_ops", 2, &events);
}

#[test]
fn bgp_down_and_recover_without_manual_steps() {
    let events = [
        Event::PeConfigured,
        bgp(true),
        bgp(false),
        bgp(false),
        bgp(true),
    ];
    scenario("bgp_down_and_recover_without_manual_steps", 0, &events);
}

#[test]
fn change_kept() {
    let events = [
        completed(0),
        Event::PeConfigured,
        bgp(true),
        Event::ChangeRequested,
        // The check queued before the change lands during it.
        bgp(true),
        // A second change while the first is on its way: the API says 409.
        Event::ChangeRequested,
        Event::PeConfigured,
        bgp(true),
    ];
    scenario("change_kept", 1, &events);
}

#[test]
fn change_refused() {
    let events = [
        Event::PeConfigured,
        bgp(true),
        Event::ChangeRequested,
        Event::PeFailed {
            reason: "commit check failed: bandwidth 10g exceeds the interface's 1g".to_string(),
        },
        bgp(false),
        // A change while the session is down: 409.
        Event::ChangeRequested,
        bgp(true),
    ];
    scenario("change_refused", 0, &events);
}

#[test]
fn mermaid_diagram() {
    check_golden("tests/golden/ticket_csp.mmd", &mermaid());
}

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    check_readme_section("ticket-csp", &mermaid(), &transition_table_markdown());
}
