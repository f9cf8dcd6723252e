//! Golden files for `gcp-partner-interconnect`: scripted runs of the machine
//! as JSONL traces (`tests/golden/gcp_*.jsonl`), the Mermaid diagram and the
//! README's generated section for the kind. A mismatch fails with a diff;
//! `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-state-machines` rewrites them
//! (review the git diff before committing).

use std::path::{Path, PathBuf};

use onramp_state_machines::gcp_partner_interconnect::{
    Action, AttachmentStatus, Event, Outcome, State, handle, mermaid, start,
    transition_table_markdown,
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
        &trace(start(), events),
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
fn mermaid_diagram() {
    check_golden("tests/golden/gcp_partner_interconnect.mmd", &mermaid());
}

// Separate from the other kinds' markers, which their own golden tests
// check: each test only rewrites what lies between its own pair.
const BEGIN: &str = "<!-- BEGIN GENERATED: gcp-partner-interconnect -->";
const END: &str = "<!-- END GENERATED: gcp-partner-interconnect -->";

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
