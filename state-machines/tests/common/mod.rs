//! What every golden test shares: comparing against (or rewriting) a golden
//! file, rendering a scripted run as a JSONL trace, and checking a kind's
//! generated section of the README. Each `tests/golden*.rs` keeps only its
//! own scripted runs.
//!
//! A mismatch fails with a diff; `ONRAMP_UPDATE_GOLDEN=1 cargo test -p
//! onramp-state-machines` rewrites the files (review the git diff before
//! committing).

use std::path::{Path, PathBuf};

use onramp_state_machines::{ChangeEnd, Outcome};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// Compares `actual` with the golden file at `relative` (to the crate), or
/// rewrites it when updating.
pub(crate) fn check_golden(relative: &str, actual: &str) {
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
struct TraceLine<'a, S, E, A> {
    before: Option<&'a S>,
    event: Option<&'a E>,
    after: &'a S,
    actions: &'a [A],
    changed: bool,
    note: &'a str,
    /// Only on the steps that end a change of settings, so traces without
    /// one read as they did before changes existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<ChangeEnd>,
}

/// Runs `events` through `handle` from `first` (a `start` outcome),
/// persisting and restoring the state as JSON between steps exactly as the
/// worker does, and renders one line per step.
pub(crate) fn trace<S, E, A>(
    first: Outcome<S, A>,
    events: &[E],
    handle: fn(&S, &E) -> Outcome<S, A>,
) -> String
where
    S: Serialize + DeserializeOwned,
    E: Serialize,
    A: Serialize,
{
    let render = |line: &TraceLine<S, E, A>| serde_json::to_string(line).unwrap() + "\n";
    let mut out_text = render(&TraceLine {
        before: None,
        event: None,
        after: &first.state,
        actions: &first.actions,
        changed: first.changed,
        note: &first.note,
        change: first.change,
    });
    let mut row = serde_json::to_string(&first.state).unwrap();
    for event in events {
        let before: S = serde_json::from_str(&row).unwrap();
        let out = handle(&before, event);
        out_text += &render(&TraceLine {
            before: Some(&before),
            event: Some(event),
            after: &out.state,
            actions: &out.actions,
            changed: out.changed,
            note: &out.note,
            change: out.change,
        });
        // A worker only commits when something changed; otherwise it naks
        // (poll) or drops (ignored) the job and the row stays as it was.
        if out.changed {
            row = serde_json::to_string(&out.state).unwrap();
        }
    }
    out_text
}

/// The README's diagram and table for connector kind `kind` are generated;
/// the prose around them is not. Each kind has its own pair of markers, so
/// each test only rewrites what lies between its own.
pub(crate) fn check_readme_section(kind: &str, mermaid: &str, table: &str) {
    let begin = format!("<!-- BEGIN GENERATED: {kind} -->");
    let end = format!("<!-- END GENERATED: {kind} -->");
    let path = crate_path("README.md");
    let readme = std::fs::read_to_string(&path).expect("state-machines/README.md");
    let (head, rest) = readme
        .split_once(&begin)
        .unwrap_or_else(|| panic!("README.md lacks the marker {begin}"));
    let (current, tail) = rest
        .split_once(&end)
        .unwrap_or_else(|| panic!("README.md lacks the marker {end}"));
    let generated = format!("\n```mermaid\n{mermaid}```\n\n{table}");
    if updating() {
        std::fs::write(&path, format!("{head}{begin}{generated}{end}{tail}")).unwrap();
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
