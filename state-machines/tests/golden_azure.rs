//! Golden files for `azure-expressroute`: scripted runs of the machine as
//! JSONL traces (`tests/golden/azure_*.jsonl`), the Mermaid diagram and the
//! README's generated Azure section. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

use std::path::{Path, PathBuf};

use onramp_state_machines::azure_expressroute::{
    Action, Event, Leg, Outcome, State, handle, mermaid, start, transition_table_markdown,
};
use serde::Serialize;

const UPDATE_VAR: &str = "ONRAMP_UPDATE_GOLDEN";

fn crate_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn updating() -> bool {
    std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1")
}

/// Line-by-line diff; traces are one step per line, so the line number is
/// the step that changed.
fn diff(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..expected.len().max(actual.len()) {
        let (e, a) = (expected.get(i), actual.get(i));
        if e != a {
            out.push_str(&format!("line {}:\n", i + 1));
            if let Some(e) = e {
                out.push_str(&format!("  - {e}\n"));
            }
            if let Some(a) = a {
                out.push_str(&format!("  + {a}\n"));
            }
        }
    }
    out
}

fn check_golden(relative: &str, actual: &str) {
    let path = crate_path(relative);
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {relative} ({e}); run with {UPDATE_VAR}=1 to create it")
    });
    if expected != actual {
        panic!(
            "{relative} does not match the machine (- golden, + actual):\n{}\n\
             If the change is intended, run with {UPDATE_VAR}=1 and review the diff.",
            diff(&expected, actual)
        );
    }
}

/// One trace line; a struct rather than `json!` so the fields keep this order.
#[derive(Serialize)]
struct TraceLine<'a> {
    before: Option<&'a State>,
    event: Option<&'a Event>,
    after: &'a State,
    actions: &'a [Action],
    changed: bool,
    note: &'a str,
}

/// Runs `events` from `first` (a `start` outcome), persisting and restoring
/// the state as JSON between steps exactly as the worker does, and renders
/// one line per step.
fn trace(first: Outcome, events: &[Event]) -> String {
    let render = |line: &TraceLine| serde_json::to_string(line).unwrap() + "\n";
    let mut out_text = render(&TraceLine {
        before: None,
        event: None,
        after: &first.state,
        actions: &first.actions,
        changed: first.changed,
        note: &first.note,
    });
    let mut row = serde_json::to_string(&first.state).unwrap();
    for event in events {
        let before: State = serde_json::from_str(&row).unwrap();
        let out = handle(&before, event);
        out_text += &render(&TraceLine {
            before: Some(&before),
            event: Some(event),
            after: &out.state,
            actions: &out.actions,
            changed: out.changed,
            note: &out.note,
        });
        // A worker only commits when something changed; otherwise it naks
        // (poll) or drops (ignored) the job and the row stays as it was.
        if out.changed {
            row = serde_json::to_string(&out.state).unwrap();
        }
    }
    out_text
}

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
        &trace(start(managed_peering), events),
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
fn mermaid_diagram() {
    check_golden("tests/golden/azure_expressroute.mmd", &mermaid());
}

// Separate from the aws-hosted-vif markers, which tests/golden.rs checks:
// each test only rewrites what lies between its own pair.
const BEGIN: &str = "<!-- BEGIN GENERATED: azure-expressroute -->";
const END: &str = "<!-- END GENERATED: azure-expressroute -->";

/// The README's diagram and table are generated; the prose around them is not.
#[test]
fn readme_generated_section() {
    let path = crate_path("README.md");
    let readme = std::fs::read_to_string(&path).expect("state-machines/README.md");
    let (head, rest) = readme
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("README.md lacks the marker {BEGIN}"));
    let (current, tail) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("README.md lacks the marker {END}"));
    let generated = format!(
        "\n```mermaid\n{}```\n\n{}",
        mermaid(),
        transition_table_markdown()
    );
    if updating() {
        std::fs::write(&path, format!("{head}{BEGIN}{generated}{END}{tail}")).unwrap();
        return;
    }
    if current != generated {
        panic!(
            "README.md's generated section is stale (- README, + actual):\n{}\n\
             Run with {UPDATE_VAR}=1 to regenerate it.",
            diff(current, &generated)
        );
    }
}
