//! Golden files for `azure-expressroute`: scripted runs of the machine as
//! JSONL traces (`tests/golden/azure_*.jsonl`), the Mermaid diagram and the
//! README's generated Azure section. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

mod common;

use onramp_state_machines::azure_expressroute::{
    Event, Leg, handle, mermaid, start, transition_table_markdown,
};

use common::{check_golden, check_readme_section, trace};

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

/// From `provisioning_circuit` to just before the peering step.
fn both_pes_configured() -> [Event; 3] {
    [
        Event::CircuitProvisioned,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
    ]
}

/// From `start(true)` to `active`.
fn to_active() -> Vec<Event> {
    let mut events = both_pes_configured().to_vec();
    events.extend([Event::PeeringConfigured, legs(true, true)]);
    events
}

fn teardown() -> [Event; 5] {
    [
        Event::PeConfigRemoved {
            leg: Leg::Secondary,
        },
        Event::PeConfigRemoved { leg: Leg::Primary },
        Event::PeeringDeleted,
        Event::CircuitDeprovisioned,
        Event::ResourcesReleased,
    ]
}

fn scenario(name: &str, managed_peering: bool, events: &[Event]) {
    check_golden(
        &format!("tests/golden/azure_{name}.jsonl"),
        &trace(start(managed_peering), events, handle),
    );
}

#[test]
fn happy_path_managed_peering() {
    let mut events = both_pes_configured().to_vec();
    events.extend([
        Event::PeeringConfigured,
        legs(false, false),
        legs(true, false),
        legs(true, true),
        legs(true, true),
    ]);
    scenario("happy_path_managed_peering", true, &events);
}

#[test]
fn customer_peering_mismatch_then_fixed() {
    let mut events = both_pes_configured().to_vec();
    events.extend([
        peering(Some("no private peering yet")),
        peering(Some("no private peering yet")),
        peering(Some("vlanId is 200, onramp allocated 100")),
        peering(Some("vlanId is 200, onramp allocated 100")),
        peering(None),
        legs(true, true),
    ]);
    scenario("customer_peering_mismatch_then_fixed", false, &events);
}

#[test]
fn primary_leg_down_and_recover() {
    let mut events = to_active();
    events.extend([
        legs(false, true),
        legs(false, true),
        legs(true, true),
        legs(true, true),
    ]);
    scenario("primary_leg_down_and_recover", true, &events);
}

#[test]
fn both_legs_down_and_recover() {
    let mut events = to_active();
    events.extend([
        legs(true, false),
        legs(false, true),
        legs(false, false),
        legs(false, false),
        legs(true, false),
        legs(true, true),
    ]);
    scenario("both_legs_down_and_recover", true, &events);
}

#[test]
fn secondary_pe_refuses() {
    let mut events = vec![
        Event::CircuitProvisioned,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeFailed {
            leg: Leg::Secondary,
            reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
        },
    ];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("secondary_pe_refuses", true, &events);
}

#[test]
fn provisioning_lro_fails() {
    let mut events = vec![Event::CircuitProvisionFailed {
        reason: "long-running operation Failed: ServiceKeyNotFound".to_string(),
    }];
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("provisioning_lro_fails", false, &events);
}

#[test]
fn failed_then_retried() {
    let mut events = vec![
        Event::CircuitProvisioned,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeFailed {
            leg: Leg::Secondary,
            reason: "commit check failed: unit 812 vlan-id already in use".to_string(),
        },
    ];
    events.extend(teardown());
    // The router is fixed; the connector starts again with what it kept.
    events.extend([
        Event::RetryRequested {
            managed_peering: true,
        },
        // A second retry while the first is on its way: the API says 409.
        Event::RetryRequested {
            managed_peering: true,
        },
    ]);
    events.extend(to_active());
    scenario("failed_then_retried", true, &events);
}

#[test]
fn delete_while_active() {
    let mut events = to_active();
    events.extend([
        legs(true, true),
        Event::DeleteRequested,
        // The last poll job was still queued when the delete came in.
        legs(true, true),
    ]);
    events.extend(teardown());
    events.push(Event::DeleteRequested);
    scenario("delete_while_active", true, &events);
}

#[test]
fn circuit_lost_while_waiting_for_customer_peering() {
    let mut events = both_pes_configured().to_vec();
    events.extend([
        peering(Some("no private peering yet")),
        Event::CircuitLost {
            reason: "cross-connection not found for the service key".to_string(),
        },
    ]);
    events.extend(teardown());
    scenario(
        "circuit_lost_while_waiting_for_customer_peering",
        false,
        &events,
    );
}

#[test]
fn delete_during_rollback() {
    let events = [
        Event::CircuitProvisioned,
        Event::PeFailed {
            leg: Leg::Primary,
            reason: "NETCONF session timed out".to_string(),
        },
        Event::PeConfigRemoved {
            leg: Leg::Secondary,
        },
        Event::DeleteRequested,
        Event::DeleteRequested,
        Event::PeConfigRemoved { leg: Leg::Primary },
        Event::PeeringDeleted,
        Event::CircuitDeprovisioned,
        Event::ResourcesReleased,
    ];
    scenario("delete_during_rollback", true, &events);
}

#[test]
fn change_kept() {
    let mut events = to_active();
    events.extend([
        Event::ChangeRequested,
        // The poll queued before the change lands during it.
        legs(true, true),
        // A second change while the first is on its way: the API says 409.
        Event::ChangeRequested,
        Event::PeConfigured { leg: Leg::Primary },
        // A redelivered primary result while the secondary is changed.
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        legs(true, true),
    ]);
    scenario("change_kept", true, &events);
}

#[test]
fn change_refused() {
    let mut events = to_active();
    events.extend([
        legs(false, true),
        Event::ChangeRequested,
        Event::PeFailed {
            leg: Leg::Primary,
            reason: "commit check failed: bandwidth 10g exceeds the interface's 1g".to_string(),
        },
        legs(false, true),
        legs(true, true),
    ]);
    scenario("change_refused", true, &events);
}

#[test]
fn change_refused_by_secondary() {
    let mut events = to_active();
    events.extend([
        Event::ChangeRequested,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeFailed {
            leg: Leg::Secondary,
            reason: "commit check failed: bandwidth 10g exceeds the interface's 1g".to_string(),
        },
        // Another change while the primary is put back: 409.
        Event::ChangeRequested,
        Event::PeConfigured { leg: Leg::Primary },
        legs(true, true),
    ]);
    scenario("change_refused_by_secondary", true, &events);
}

#[test]
fn key_rotated() {
    let mut events = to_active();
    events.extend([
        Event::KeyRotationRequested,
        // The sessions reset while only one side has the key; the poll
        // queued before the rotation is ignored during it.
        legs(false, true),
        // A change while the key is on its way: the API says 409.
        Event::ChangeRequested,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        Event::PeeringConfigured,
        legs(true, true),
    ]);
    scenario("key_rotated", true, &events);
}

#[test]
fn key_refused_by_microsoft() {
    let mut events = to_active();
    events.extend([
        Event::KeyRotationRequested,
        Event::PeConfigured { leg: Leg::Primary },
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        Event::PeeringFailed {
            reason: "InvalidSharedKey: the shared key is not valid".to_string(),
        },
        Event::PeeringConfigured,
        Event::PeConfigured {
            leg: Leg::Secondary,
        },
        Event::PeConfigured { leg: Leg::Primary },
        legs(true, true),
    ]);
    scenario("key_refused_by_microsoft", true, &events);
}

#[test]
fn mermaid_diagram() {
    check_golden("tests/golden/azure_expressroute.mmd", &mermaid());
}

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    check_readme_section(
        "azure-expressroute",
        &mermaid(),
        &transition_table_markdown(),
    );
}
