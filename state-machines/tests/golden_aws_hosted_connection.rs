//! Golden files for `aws-hosted-connection`: scripted runs of the machine as
//! JSONL traces (`tests/golden/aws_hc_*.jsonl`), the Mermaid diagram and the
//! README's generated section for the kind. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

mod common;

use onramp_state_machines::aws_hosted_connection::{
    ConnectionStatus, Event, VifStatus, handle, mermaid, start, transition_table_markdown,
};

use common::{check_golden, check_readme_section, trace};

fn connection(status: ConnectionStatus) -> Event {
    Event::ConnectionObserved { status }
}

fn vif(vif_state: VifStatus, bgp_up: bool) -> Event {
    Event::VifObserved { vif_state, bgp_up }
}

fn connection_allocated() -> Event {
    Event::ConnectionAllocated {
        connection_id: "dxcon-ffx1k2zq".to_string(),
    }
}

/// From `start()` to `configuring_pe`: allocated, accepted, details sent.
fn to_configuring_pe() -> Vec<Event> {
    vec![
        connection_allocated(),
        connection(ConnectionStatus::Ordering),
        connection(ConnectionStatus::Available),
        Event::VifDetailsProvided,
    ]
}

/// From `start()` to `active`.
fn to_active() -> Vec<Event> {
    let mut events = to_configuring_pe();
    events.extend([Event::PeConfigured, vif(VifStatus::Available, true)]);
    events
}

fn teardown() -> [Event; 3] {
    [
        Event::ConnectionDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]
}

fn scenario(name: &str, events: &[Event]) {
    check_golden(
        &format!("tests/golden/aws_hc_{name}.jsonl"),
        &trace(start(), events, handle),
    );
}

#[test]
fn happy_path() {
    let events = [
        connection_allocated(),
        connection(ConnectionStatus::Ordering),
        connection(ConnectionStatus::Ordering),
        connection(ConnectionStatus::Pending),
        connection(ConnectionStatus::Available),
        Event::VifDetailsProvided,
        Event::PeConfigured,
        vif(VifStatus::Pending, false),
        vif(VifStatus::Available, false),
        vif(VifStatus::Available, true),
        vif(VifStatus::Available, true),
    ];
    scenario("happy_path", &events);
}

#[test]
fn customer_declines() {
    let mut events = vec![
        connection_allocated(),
        connection(ConnectionStatus::Ordering),
        connection(ConnectionStatus::Rejected),
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("customer_declines", &events);
}

#[test]
fn order_cancelled_before_confirmation() {
    let mut events = vec![
        connection_allocated(),
        connection(ConnectionStatus::Ordering),
        connection(ConnectionStatus::Ordering),
        Event::DeleteRequested,
        // The last poll job was still queued when the delete came in.
        connection(ConnectionStatus::Ordering),
    ];
    events.extend(teardown());
    scenario("order_cancelled_before_confirmation", &events);
}

#[test]
fn customer_deletes_vif_while_active() {
    let mut events = to_active();
    events.extend([
        vif(VifStatus::Deleting, false),
        connection(ConnectionStatus::Available),
        Event::VifDetailsProvided,
        Event::PeConfigured,
        vif(VifStatus::Pending, false),
        vif(VifStatus::Available, true),
    ]);
    scenario("customer_deletes_vif_while_active", &events);
}

#[test]
fn pe_refuses_config() {
    let mut events = to_configuring_pe();
    events.push(Event::PeFailed {
        reason: "commit check failed: bgp neighbor 169.254.100.1 peer-as out of range".to_string(),
    });
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("pe_refuses_config", &events);
}

#[test]
fn failed_then_retried() {
    let mut events = to_configuring_pe();
    events.push(Event::PeFailed {
        reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
    });
    events.extend(teardown());
    // The router is fixed; the connector starts again with what it kept, on
    // a new hosted connection the customer accepts again.
    events.extend([
        Event::RetryRequested,
        // A second retry while the first is on its way: the API says 409.
        Event::RetryRequested,
    ]);
    events.extend(to_active());
    scenario("failed_then_retried", &events);
}

#[test]
fn delete_while_active() {
    let mut events = to_active();
    events.extend([
        vif(VifStatus::Available, false),
        vif(VifStatus::Available, true),
        Event::DeleteRequested,
        // The last poll job was still queued when the delete came in.
        vif(VifStatus::Available, true),
    ]);
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("delete_while_active", &events);
}

#[test]
fn change_kept() {
    let mut events = to_active();
    events.extend([
        Event::ChangeRequested,
        // The poll queued before the change lands during it.
        vif(VifStatus::Available, true),
        // A second change while the first is on its way: the API says 409.
        Event::ChangeRequested,
        Event::PeConfigured,
        vif(VifStatus::Available, true),
    ]);
    scenario("change_kept", &events);
}

#[test]
fn change_refused() {
    let mut events = to_active();
    events.extend([
        vif(VifStatus::Available, false),
        Event::ChangeRequested,
        Event::PeFailed {
            reason: "commit check failed: bgp neighbor 169.254.100.1 authentication-key too long"
                .to_string(),
        },
        vif(VifStatus::Available, false),
        vif(VifStatus::Available, true),
    ]);
    scenario("change_refused", &events);
}

#[test]
fn mermaid_diagram() {
    check_golden("tests/golden/aws_hosted_connection.mmd", &mermaid());
}

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    check_readme_section(
        "aws-hosted-connection",
        &mermaid(),
        &transition_table_markdown(),
    );
}
