//! Golden files: scripted runs of the machine as JSONL traces, the Mermaid
//! diagram and the README's generated section. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

mod common;

use onramp_state_machines::aws_hosted_vif::{
    Event, VifStatus, handle, mermaid, start, transition_table_markdown,
};

use common::{check_golden, check_readme_section, trace};

fn seen(vif_state: VifStatus, bgp_up: bool) -> Event {
    Event::VifObserved { vif_state, bgp_up }
}

fn vif_allocated() -> Event {
    Event::VifAllocated {
        vif_id: "dxvif-fgq3xm2b".to_string(),
    }
}

fn teardown() -> [Event; 3] {
    [
        Event::VifDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]
}

fn scenario(name: &str, events: &[Event]) {
    check_golden(
        &format!("tests/golden/{name}.jsonl"),
        &trace(start(), events, handle),
    );
}

#[test]
fn happy_path_then_delete() {
    let mut events = vec![
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Confirming, false),
        seen(VifStatus::Pending, false),
        seen(VifStatus::Available, false),
        seen(VifStatus::Available, true),
        seen(VifStatus::Available, true),
        Event::DeleteRequested,
        // The last poll job was still queued when the delete came in.
        seen(VifStatus::Available, true),
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("happy_path_then_delete", &events);
}

#[test]
fn aws_rejects_allocation() {
    let mut events = vec![
        Event::PeConfigured,
        Event::VifAllocationRejected {
            reason: "DirectConnectClientException: VLAN 812 is already in use".to_string(),
        },
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("aws_rejects_allocation", &events);
}

#[test]
fn router_refuses_config() {
    let mut events = vec![Event::PeFailed {
        reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
    }];
    events.extend(teardown());
    scenario("router_refuses_config", &events);
}

#[test]
fn customer_declines() {
    let mut events = vec![
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Confirming, false),
        seen(VifStatus::Rejected, false),
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("customer_declines", &events);
}

#[test]
fn customer_deletes_while_confirming() {
    let mut events = vec![
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Deleting, false),
    ];
    events.extend(teardown());
    scenario("customer_deletes_while_confirming", &events);
}

#[test]
fn vif_down_and_recover() {
    let events = [
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Available, true),
        seen(VifStatus::Available, false),
        seen(VifStatus::Down, false),
        seen(VifStatus::Available, true),
        seen(VifStatus::Testing, false),
        seen(VifStatus::Unknown, false),
        seen(VifStatus::Available, true),
    ];
    scenario("vif_down_and_recover", &events);
}

#[test]
fn vif_deleted_at_aws_while_active() {
    let mut events = vec![
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Available, true),
        seen(VifStatus::Deleted, false),
    ];
    events.extend(teardown());
    scenario("vif_deleted_at_aws_while_active", &events);
}

#[test]
fn delete_during_rollback() {
    let events = [
        Event::PeConfigured,
        Event::VifAllocationRejected {
            reason: "VirtualInterfaceLimitExceeded".to_string(),
        },
        Event::VifDeleted,
        Event::DeleteRequested,
        Event::DeleteRequested,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ];
    scenario("delete_during_rollback", &events);
}

/// From `start()` to `active`.
fn to_active() -> Vec<Event> {
    vec![
        Event::PeConfigured,
        vif_allocated(),
        seen(VifStatus::Available, true),
    ]
}

#[test]
fn failed_then_retried() {
    let mut events = vec![
        Event::PeConfigured,
        Event::VifAllocationRejected {
            reason: "VirtualInterfaceLimitExceeded".to_string(),
        },
    ];
    events.extend(teardown());
    // The quota is raised; the connector starts again with what it kept.
    events.extend([
        Event::RetryRequested,
        // A second retry while the first is on its way: the API says 409.
        Event::RetryRequested,
    ]);
    events.extend(to_active());
    scenario("failed_then_retried", &events);
}

#[test]
fn change_kept() {
    let mut events = to_active();
    events.extend([
        Event::ChangeRequested,
        // The poll queued before the change lands during it.
        seen(VifStatus::Available, true),
        // A second change while the first is on its way: the API says 409.
        Event::ChangeRequested,
        Event::PeConfigured,
        seen(VifStatus::Available, true),
    ]);
    scenario("change_kept", &events);
}

#[test]
fn change_refused() {
    let mut events = to_active();
    events.extend([
        seen(VifStatus::Down, false),
        Event::ChangeRequested,
        Event::PeFailed {
            reason: "commit check failed: bandwidth 10g exceeds the interface's 1g".to_string(),
        },
        seen(VifStatus::Down, false),
        seen(VifStatus::Available, true),
    ]);
    scenario("change_refused", &events);
}

#[test]
fn mermaid_diagram() {
    check_golden("aws-hosted-vif.mmd", &mermaid());
}

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    check_readme_section("aws-hosted-vif", &mermaid(), &transition_table_markdown());
}
