//! Golden files: scripted runs of the machine as JSONL traces, the Mermaid
//! diagram and the README's generated section. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

use std::path::{Path, PathBuf};

use onramp_state_machines::aws_hosted_vif::{
    Action, Event, State, VifStatus, handle, mermaid, start, transition_table_markdown,
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

/// Runs `events` from `start()`, persisting and restoring the state as JSON
/// between steps exactly as the worker does, and renders one line per step.
fn trace(events: &[Event]) -> String {
    let render = |line: &TraceLine| serde_json::to_string(line).unwrap() + "\n";
    let first = start();
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
    check_golden(&format!("tests/golden/{name}.jsonl"), &trace(events));
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

#[test]
fn mermaid_diagram() {
    check_golden("aws-hosted-vif.mmd", &mermaid());
}

const BEGIN: &str = "<!-- BEGIN GENERATED: aws-hosted-vif -->";
const END: &str = "<!-- END GENERATED: aws-hosted-vif -->";

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
