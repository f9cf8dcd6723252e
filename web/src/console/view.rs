//! What the console's templates see: tasks, their connectors and their
//! audit, flattened into plain serializable rows, with times formatted for
//! people. No I/O here; the handlers in [`super`] load, this shapes.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use onramp_state_machines::ticket_runbook::{FieldKind, FieldSpec};
use onramp_store::entity::{ops_audit, ops_task, ops_task_note};
use onramp_store::model::TicketCspParams;
use onramp_store::tasks::{self, TaskDetail};
use serde::Serialize;

// ===== times =====

/// A moment as people read it: `2026-11-27 17:04 UTC`, and the exact
/// RFC 3339 value for `<time datetime>`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct When {
    pub text: String,
    pub iso: String,
}

pub(crate) fn when(t: DateTime<Utc>) -> When {
    When {
        text: t.format("%Y-%m-%d %H:%M UTC").to_string(),
        iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// A duration in the two largest units that matter: `2d 3h`, `3h 5m`,
/// `12m`, `less than a minute`.
pub(crate) fn span(d: TimeDelta) -> String {
    let mins = d.num_minutes().abs();
    let (days, hours, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        "less than a minute".into()
    }
}

/// How a task stands against its SLA: `overdue by 3h 5m` or `due in 2d 1h`;
/// closed tasks are neither.
fn due_text(task: &ops_task::Model, now: DateTime<Utc>) -> String {
    if !tasks::ACTIVE.contains(&task.state.as_str()) {
        return String::new();
    }
    if tasks::is_overdue(task, now) {
        format!("overdue by {}", span(now - task.due_at))
    } else {
        format!("due in {}", span(task.due_at - now))
    }
}

/// `user ops@x` → `ops@x`: the audit's actor as a person reads it.
pub(crate) fn person(actor: &str) -> String {
    actor.strip_prefix("user ").unwrap_or(actor).to_string()
}

// ===== the queue =====

/// One line of the queue.
#[derive(Debug, Serialize)]
pub(crate) struct TaskRow {
    pub id: String,
    pub title: String,
    pub step_number: i32,
    pub provider: String,
    pub customer: String,
    pub state: String,
    pub claimed_by: Option<String>,
    pub mine: bool,
    pub due: When,
    pub due_text: String,
    pub overdue: bool,
}

pub(crate) fn task_row(
    t: &ops_task::Model,
    provider_names: &BTreeMap<String, String>,
    tenant_names: &BTreeMap<uuid::Uuid, String>,
    actor: &str,
    now: DateTime<Utc>,
) -> TaskRow {
    TaskRow {
        id: t.id.to_string(),
        title: t.title.clone(),
        step_number: t.step_index + 1,
        provider: provider_names
            .get(&t.provider)
            .cloned()
            .unwrap_or_else(|| t.provider.clone()),
        customer: tenant_names.get(&t.tenant_id).cloned().unwrap_or_default(),
        state: t.state.clone(),
        claimed_by: t.claimed_by.as_deref().map(person),
        mine: t.state == tasks::CLAIMED && t.claimed_by.as_deref() == Some(actor),
        due: when(t.due_at),
        due_text: due_text(t, now),
        overdue: tasks::is_overdue(t, now),
    }
}

// ===== the task page =====

/// What the person typed, and what was wrong with it, when a form comes
/// back refused. Empty for a fresh page.
#[derive(Debug, Default)]
pub(crate) struct Submitted {
    /// Field name → value, for the completion form.
    pub values: BTreeMap<String, String>,
    /// Field name (a runbook field, `reason` or `text`) → message.
    pub errors: BTreeMap<String, String>,
    /// A refusal that belongs to no field (a conflict, an unknown field).
    pub alert: Option<String>,
    pub reason: String,
    pub note: String,
}

#[derive(Debug, Serialize)]
struct FieldView {
    name: String,
    /// The form's input name (`value.<name>`, so no runbook field can
    /// collide with `csrf_token`).
    input: String,
    /// The element id, `field-<name>`.
    id: String,
    label: String,
    hint: String,
    placeholder: &'static str,
    numeric: bool,
    required: bool,
    value: String,
    error: Option<String>,
}

fn field_view(f: &FieldSpec, s: &Submitted) -> FieldView {
    let (hint, placeholder, numeric) = match f.kind {
        FieldKind::Text { max_len } => (format!("Text, at most {max_len} characters."), "", false),
        FieldKind::Vlan => (
            "The VLAN id the provider assigned, 1–4094.".into(),
            "e.g. 812",
            true,
        ),
        FieldKind::IpAddress => ("An IPv4 or IPv6 address.".into(), "e.g. 192.0.2.1", false),
        FieldKind::IpInterface => (
            "The provider's address with its prefix length (/30 or /31).".into(),
            "e.g. 169.254.10.2/30",
            false,
        ),
        FieldKind::Asn => ("A BGP AS number.".into(), "e.g. 31898", true),
    };
    FieldView {
        name: f.name.clone(),
        input: format!("value.{}", f.name),
        id: format!("field-{}", f.name),
        label: f.label.clone(),
        hint,
        placeholder,
        numeric,
        required: f.required,
        value: s.values.get(&f.name).cloned().unwrap_or_default(),
        error: s.errors.get(&f.name).cloned(),
    }
}

#[derive(Debug, Serialize)]
struct NoteView {
    author: String,
    at: When,
    text: String,
}

fn note_view(n: &ops_task_note::Model) -> NoteView {
    NoteView {
        author: person(&n.author),
        at: when(n.at),
        text: n.text.clone(),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct AuditView {
    pub at: When,
    pub actor: String,
    pub action: String,
    /// The record's detail, in words.
    pub detail: String,
    pub task_id: Option<String>,
    pub connector_id: String,
}

/// Flattens an audit detail (`{"values": {"provider_vlan": "812"}}`) into
/// `provider_vlan: 812`; strings unquoted, nested objects inlined.
fn detail_text(v: &serde_json::Value) -> String {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>, prefix: &str) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() || prefix == "values" {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    if v.is_object() {
                        walk(v, out, &key);
                    } else {
                        out.push(format!("{}: {}", key.replace('_', " "), scalar(v)));
                    }
                }
            }
            other => out.push(scalar(other)),
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out, "");
    out.join("; ")
}

pub(crate) fn audit_view(a: &ops_audit::Model) -> AuditView {
    let detail = serde_json::from_str(&a.detail)
        .map(|v| detail_text(&v))
        .unwrap_or_else(|_| a.detail.clone());
    let detail = match a.action.as_str() {
        // `was claimed by` holds an actor: show the person.
        "unclaim" => detail.replace("user ", ""),
        _ => detail,
    };
    AuditView {
        at: when(a.at),
        actor: person(&a.actor),
        action: a.action.clone(),
        detail,
        task_id: a.task_id.map(|t| t.to_string()),
        connector_id: a.connector_id.to_string(),
    }
}

/// Everything the task page shows.
#[derive(Debug, Serialize)]
pub(crate) struct TaskPage {
    id: String,
    title: String,
    state: String,
    step_number: i32,
    steps: usize,
    provider: String,
    customer: String,
    claimed_by: Option<String>,
    claimed_at: Option<When>,
    mine: bool,
    /// Claimed by someone else: the forms are not offered.
    claimed_by_other: bool,
    active: bool,
    /// The signed-in person may complete or reject it now.
    can_act: bool,
    overdue: bool,
    due: When,
    due_text: String,
    created: When,
    closed: Option<When>,
    reject_reason: Option<String>,
    /// A closed task's recorded values, by label.
    recorded: Vec<(String, String)>,
    instructions: String,
    fields: Vec<FieldView>,
    connector: ConnectorView,
    values_so_far: Vec<(String, String)>,
    notes: Vec<NoteView>,
    audit: Vec<AuditView>,
    alert: Option<String>,
    reason: String,
    reason_error: Option<String>,
    note: String,
    note_error: Option<String>,
    /// The first field with an error: it gets the focus.
    focus: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConnectorView {
    id: String,
    kind: String,
    state: String,
    waiting_on: String,
    location: String,
    location_name: String,
    region: String,
    bandwidth: String,
    pe: String,
    port: String,
    vlan: u16,
    subnet: String,
    pe_address: String,
    provider_address: String,
    asn: u32,
    provider_asn: u32,
}

pub(crate) fn task_page(
    d: &TaskDetail,
    actor: &str,
    s: &Submitted,
    now: DateTime<Utc>,
) -> TaskPage {
    let t = &d.task;
    let active = tasks::ACTIVE.contains(&t.state.as_str());
    let mine = t.state == tasks::CLAIMED && t.claimed_by.as_deref() == Some(actor);
    let claimed_by_other = t.state == tasks::CLAIMED && !mine;
    let params = TicketCspParams::from_json(&d.connector.params).ok();
    let label_of = |name: &str| {
        params
            .as_ref()
            .and_then(|p| {
                p.runbook
                    .steps
                    .iter()
                    .flat_map(|s| &s.fields)
                    .find(|f| f.name == name)
                    .map(|f| f.label.clone())
            })
            .unwrap_or_else(|| name.replace('_', " "))
    };
    let recorded = t
        .values
        .as_deref()
        .and_then(|v| serde_json::from_str::<BTreeMap<String, String>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (label_of(&k), v))
        .collect();
    let values_so_far = d
        .values_so_far
        .iter()
        .map(|(k, v)| (label_of(k), v.clone()))
        .collect();
    let fields: Vec<FieldView> = d.step.fields.iter().map(|f| field_view(f, s)).collect();
    let focus = fields
        .iter()
        .find(|f| f.error.is_some())
        .map(|f| f.id.clone())
        .or_else(|| {
            s.errors
                .contains_key("reason")
                .then(|| "reject-reason".into())
        })
        .or_else(|| s.errors.contains_key("text").then(|| "note-text".into()));
    // Errors the page has no place for (an unknown field) go in the alert.
    let loose: Vec<String> = s
        .errors
        .iter()
        .filter(|(k, _)| {
            !d.step.fields.iter().any(|f| &f.name == *k) && !matches!(k.as_str(), "reason" | "text")
        })
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let alert = match (&s.alert, loose.is_empty(), s.errors.is_empty()) {
        (Some(a), _, _) => Some(a.clone()),
        (None, false, _) => Some(format!("Not saved. {}", loose.join("; "))),
        (None, true, false) => Some("Not saved: correct the fields marked below.".into()),
        (None, true, true) => None,
    };
    let r = &d.resources;
    TaskPage {
        id: t.id.to_string(),
        title: t.title.clone(),
        state: t.state.clone(),
        step_number: t.step_index + 1,
        steps: d.steps,
        provider: d.provider_name.clone(),
        customer: d.tenant_name.clone(),
        claimed_by: t.claimed_by.as_deref().map(person),
        claimed_at: t.claimed_at.map(when),
        mine,
        claimed_by_other,
        active,
        can_act: active && !claimed_by_other,
        overdue: tasks::is_overdue(t, now),
        due: when(t.due_at),
        due_text: due_text(t, now),
        created: when(t.created_at),
        closed: t.closed_at.map(when),
        reject_reason: t.reject_reason.clone(),
        recorded,
        instructions: d.step.instructions.clone(),
        fields,
        connector: ConnectorView {
            id: d.connector.id.to_string(),
            kind: d.connector.kind.clone(),
            state: d.connector.state.clone(),
            waiting_on: d.connector.waiting_on.clone(),
            location: d.nni.location_code.clone(),
            location_name: d.nni.name.clone(),
            region: d.nni.region.clone(),
            bandwidth: params
                .as_ref()
                .map(|p| p.bandwidth.clone())
                .unwrap_or_default(),
            pe: r.pe_name.clone(),
            port: r.port_name.clone(),
            vlan: r.vlan,
            subnet: r.subnet.clone(),
            pe_address: r.pe_address.clone(),
            provider_address: r.csp_address.clone(),
            asn: r.asn,
            provider_asn: r.csp_asn,
        },
        values_so_far,
        notes: d.notes.iter().map(note_view).collect(),
        // Newest first: what just happened is on top.
        audit: d.audit.iter().rev().map(audit_view).collect(),
        alert,
        reason: s.reason.clone(),
        reason_error: s.errors.get("reason").cloned(),
        note: s.note.clone(),
        note_error: s.errors.get("text").cloned(),
        focus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_two_units() {
        assert_eq!(span(TimeDelta::seconds(20)), "less than a minute");
        assert_eq!(span(TimeDelta::minutes(12)), "12m");
        assert_eq!(span(TimeDelta::minutes(185)), "3h 5m");
        assert_eq!(span(TimeDelta::hours(51)), "2d 3h");
        assert_eq!(span(TimeDelta::minutes(-185)), "3h 5m");
    }

    #[test]
    fn audit_details_read_as_words() {
        let v = serde_json::json!({"values": {"provider_vlan": "812", "provider_asn": "31898"}});
        assert_eq!(detail_text(&v), "provider asn: 31898; provider vlan: 812");
        let v = serde_json::json!({"forced": true, "was_claimed_by": "user a@x"});
        assert_eq!(detail_text(&v), "forced: true; was claimed by: user a@x");
        assert_eq!(detail_text(&serde_json::json!({})), "");
        assert_eq!(person("user ops@onramp.local"), "ops@onramp.local");
        assert_eq!(person("onramp"), "onramp");
    }
}
