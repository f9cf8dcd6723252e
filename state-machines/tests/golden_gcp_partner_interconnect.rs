//! Golden files for `gcp-partner-interconnect`: scripted runs of the machine
//! as JSONL traces (`tests/golden/gcp_*.jsonl`), the Mermaid diagram and the
//! README's generated section for the kind. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

mod common;

use onramp_state_machines::gcp_partner_interconnect::{
    AttachmentStatus, Event, handle, mermaid, start, transition_table_markdown,
};

use common::{check_golden, check_readme_section, trace};

fn seen(status: AttachmentStatus) -> Event {
    Event::AttachmentObserved { status }
}

fn attachment_created() -> Event {
    Event::AttachmentCreated {
        cloud_router_ip: "169.254.67.201/29".to_string(),
        customer_router_ip: "169.254.67.202/29".to_string(),
    }
}

/// From `start()` to `waiting_customer_activation`.
fn to_waiting_activation() -> Vec<Event> {
    vec![attachment_created(), Event::PeConfigured]
}

fn teardown() -> [Event; 3] {
    [
        Event::AttachmentDeleted,
        Event::PeConfigRemoved,
        Event::ResourcesReleased,
    ]
}

fn scenario(name: &str, events: &[Event]) {
    check_golden(
        &format!("tests/golden/gcp_{name}.jsonl"),
        &trace(start(), events, handle),
    );
}

#[test]
fn happy_path() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::PendingPartner),
        seen(AttachmentStatus::PendingCustomer),
        seen(AttachmentStatus::PendingCustomer),
        seen(AttachmentStatus::Active),
        seen(AttachmentStatus::Active),
        seen(AttachmentStatus::Unknown),
        seen(AttachmentStatus::Active),
    ]);
    scenario("happy_path", &events);
}

#[test]
fn customer_deletes_before_activating() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::PendingCustomer),
        seen(AttachmentStatus::Defunct),
    ]);
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("customer_deletes_before_activating", &events);
}

#[test]
fn google_refuses_attachment() {
    let mut events = vec![Event::AttachmentFailed {
        reason: "Invalid value for field 'resource.pairingKey': the pairing key is already in use"
            .to_string(),
    }];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("google_refuses_attachment", &events);
}

#[test]
fn pe_refuses_config() {
    let mut events = vec![
        attachment_created(),
        Event::PeFailed {
            reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
        },
    ];
    events.extend(teardown());
    scenario("pe_refuses_config", &events);
}

#[test]
fn failed_then_retried() {
    let mut events = vec![
        attachment_created(),
        Event::PeFailed {
            reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
        },
    ];
    events.extend(teardown());
    // The router is fixed; the connector starts again with what it kept.
    events.extend([
        Event::RetryRequested,
        // A second retry while the first is on its way: the API says 409.
        Event::RetryRequested,
    ]);
    events.extend(to_waiting_activation());
    events.push(seen(AttachmentStatus::Active));
    scenario("failed_then_retried", &events);
}

#[test]
fn delete_while_waiting_for_activation() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::PendingCustomer),
        Event::DeleteRequested,
        // The last poll job was still queued when the delete came in.
        seen(AttachmentStatus::PendingCustomer),
    ]);
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("delete_while_waiting_for_activation", &events);
}

#[test]
fn active_then_defunct() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::Active),
        seen(AttachmentStatus::PendingCustomer),
        seen(AttachmentStatus::Active),
        seen(AttachmentStatus::Defunct),
    ]);
    events.extend(teardown());
    scenario("active_then_defunct", &events);
}

#[test]
fn change_kept() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::Active),
        Event::ChangeRequested,
        // The poll queued before the change lands during it.
        seen(AttachmentStatus::Active),
        // A second change while the first is on its way: the API says 409.
        Event::ChangeRequested,
        Event::AttachmentUpdated,
        // A redelivered update result while the PE is changed.
        Event::AttachmentUpdated,
        Event::PeConfigured,
        seen(AttachmentStatus::Active),
    ]);
    scenario("change_kept", &events);
}

#[test]
fn change_refused() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::Active),
        Event::ChangeRequested,
        Event::AttachmentUpdated,
        Event::PeFailed {
            reason: "commit check failed: bandwidth 10g exceeds the interface's 1g".to_string(),
        },
        // Another change while the attachment is put back: 409.
        Event::ChangeRequested,
        Event::AttachmentUpdated,
        seen(AttachmentStatus::Active),
        // A change while the customer has the attachment deactivated: 409.
        seen(AttachmentStatus::PendingCustomer),
        Event::ChangeRequested,
    ]);
    scenario("change_refused", &events);
}

#[test]
fn change_refused_by_google() {
    let mut events = to_waiting_activation();
    events.extend([
        seen(AttachmentStatus::Active),
        Event::ChangeRequested,
        Event::AttachmentUpdateFailed {
            reason: "Invalid value for field 'resource.bandwidth': BPS_20G is not available \
                     on this interconnect"
                .to_string(),
        },
        // A late PE result from an earlier job changes nothing.
        Event::PeConfigured,
        seen(AttachmentStatus::Active),
    ]);
    scenario("change_refused_by_google", &events);
}

#[test]
fn mermaid_diagram() {
    check_golden("tests/golden/gcp_partner_interconnect.mmd", &mermaid());
}

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    check_readme_section(
        "gcp-partner-interconnect",
        &mermaid(),
        &transition_table_markdown(),
    );
}
