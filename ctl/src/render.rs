//! The text a person reads: aligned columns for lists, `field: value` for
//! one object, a timeline one event a line. Scripts use `--output json`.

use serde_json::Value;

use crate::{
    ConnectorCommand, CtlCommand, MaintenanceCommand, PeCommand, StuckCommand, TaskCommand,
};

pub(crate) fn text(command: &CtlCommand, v: &Value) -> String {
    match command {
        CtlCommand::Completions { .. } => String::new(),
        CtlCommand::Connectors(ConnectorCommand::List { .. }) => table(
            &["ID", "KIND", "STATE", "WAITING ON", "LOCATION", "BANDWIDTH"],
            items(v),
            |c| {
                ["id", "kind", "state", "waiting_on", "location", "bandwidth"]
                    .map(|k| s(&c[k]))
                    .to_vec()
            },
            "connector",
        ),
        CtlCommand::Connectors(ConnectorCommand::Show { .. }) => connector(v),
        CtlCommand::Connectors(
            ConnectorCommand::Retry { .. } | ConnectorCommand::Cancel { .. },
        ) => connector(v),
        CtlCommand::Connectors(ConnectorCommand::Change { .. }) if v["dry_run"] == true => plan(v),
        CtlCommand::Connectors(ConnectorCommand::Change { .. }) => connector(v),
        CtlCommand::Stuck(StuckCommand::List) => table(
            &[
                "CHANGE",
                "STATUS",
                "PE",
                "CONNECTOR",
                "OP",
                "REFUSED",
                "WHAT THE PE SAID",
            ],
            items(v),
            |c| {
                [
                    "id",
                    "status",
                    "pe",
                    "connector_id",
                    "op",
                    "attempts",
                    "error",
                ]
                .map(|k| s(&c[k]))
                .to_vec()
            },
            "stuck change",
        ),
        CtlCommand::Stuck(_) => format!(
            "change {} is {} (connector {}, {})\n",
            s(&v["id"]),
            s(&v["status"]),
            s(&v["connector_id"]),
            s(&v["connector_state"])
        ),
        CtlCommand::Tasks(TaskCommand::List) => table(
            &["ID", "STATE", "DUE", "PROVIDER", "STEP", "CONNECTOR"],
            items(v),
            |t| {
                ["id", "state", "due_at", "provider", "title", "connector_id"]
                    .map(|k| s(&t[k]))
                    .to_vec()
            },
            "task",
        ),
        CtlCommand::Pes(PeCommand::List) => table(
            &["NAME", "NETCONF", "PLATFORM", "MAINTENANCE"],
            items(v),
            |p| {
                let maintenance = match p.get("maintenance") {
                    Some(m) => format!("since {}: {}", s(&m["since"]), s(&m["reason"])),
                    None => "-".into(),
                };
                vec![
                    s(&p["name"]),
                    format!("{}:{}", s(&p["host"]), s(&p["netconf_port"])),
                    s(&p["platform"]),
                    maintenance,
                ]
            },
            "PE",
        ),
        CtlCommand::Pes(PeCommand::Changes { .. }) => table(
            &["ID", "OP", "FOR", "QUEUED", "ATTEMPTS", "LAST REFUSAL"],
            items(v),
            |c| {
                ["id", "op", "owner_id", "queued_at", "attempts", "error"]
                    .map(|k| s(&c[k]))
                    .to_vec()
            },
            "change",
        ),
        CtlCommand::Pes(PeCommand::Commits { .. }) => table(
            &["AT", "CHANGES", "UNITS BEFORE", "PUSH MS", "WRITER"],
            items(v),
            |c| {
                ["at", "changes", "attachments_before", "push_ms", "writer"]
                    .map(|k| s(&c[k]))
                    .to_vec()
            },
            "commit",
        ),
        CtlCommand::Pes(PeCommand::Maintenance(MaintenanceCommand::End { .. })) => {
            format!(
                "{} is out of maintenance; what waited is being pushed\n",
                s(&v["name"])
            )
        }
        CtlCommand::Pes(PeCommand::Maintenance(
            MaintenanceCommand::Start { pe, .. } | MaintenanceCommand::Show { pe },
        )) => format!(
            "{pe} is in maintenance since {}: {}\n{} change(s) held\n",
            s(&v["since"]),
            s(&v["reason"]),
            s(&v["held_changes"])
        ),
    }
}

fn items(v: &Value) -> &[Value] {
    v["items"].as_array().map_or(&[], Vec::as_slice)
}

/// A JSON value as a cell: strings bare, null as `-`.
fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}

fn table(
    header: &[&str],
    rows: &[Value],
    cells: impl Fn(&Value) -> Vec<String>,
    noun: &str,
) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  "));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h).to_string()).collect());
    let n = rows.len();
    for r in rows {
        out.push_str(&line(r));
    }
    out.push_str(&format!("{n} {noun}{}\n", if n == 1 { "" } else { "s" }));
    out
}

/// A change's plan: per PE, each value it replaces, adds or removes.
fn plan(p: &Value) -> String {
    let mut out = format!(
        "plan (nothing changed): {}\n",
        p["fields"]
            .as_array()
            .map(|f| f.iter().map(s).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    );
    for rc in p["router_changes"].as_array().into_iter().flatten() {
        let leg = rc["leg"]
            .as_str()
            .map(|l| format!(" ({l} leg)"))
            .unwrap_or_default();
        out.push_str(&format!("{}{leg}:\n", s(&rc["pe"])));
        if let Some(why) = rc["facts_unavailable"].as_str() {
            out.push_str(&format!("  running config not read: {why}\n"));
        }
        for f in rc["facts"].as_array().into_iter().flatten() {
            if f["change"] == "unchanged" {
                continue;
            }
            out.push_str(&format!(
                "  {:<8} {}  {} -> {}\n",
                s(&f["change"]),
                s(&f["path"]),
                s(&f["before"]),
                s(&f["after"])
            ));
        }
    }
    for call in p["csp_calls"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{}: {}\n  {}\n",
            s(&call["service"]),
            s(&call["operation"]),
            call["request"]
        ));
    }
    out
}

fn connector(c: &Value) -> String {
    let mut out = String::new();
    for k in [
        "id",
        "kind",
        "state",
        "waiting_on",
        "next_step",
        "location",
        "bandwidth",
        "failure_reason",
        "last_error",
        "created_at",
    ] {
        if !c[k].is_null() {
            out.push_str(&format!("{k}: {}\n", s(&c[k])));
        }
    }
    if let Some(p) = c.get("peering").filter(|p| !p.is_null()) {
        out.push_str(&format!(
            "peering: {} {} VLAN {}, {} <-> {} (AS {} <-> AS {})\n",
            s(&p["pe"]),
            s(&p["port"]),
            s(&p["vlan"]),
            s(&p["onramp_address"]),
            s(&p["csp_address"]),
            s(&p["customer_asn"]),
            s(&p["csp_asn"])
        ));
    }
    out.push_str("timeline:\n");
    for e in c["timeline"].as_array().into_iter().flatten() {
        let from = e["from_state"]
            .as_str()
            .map(|f| format!("{f} -> "))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {}  {}{}  {} ({})\n",
            s(&e["at"]),
            from,
            s(&e["to_state"]),
            s(&e["message"]),
            s(&e["actor"])
        ));
    }
    out
}
