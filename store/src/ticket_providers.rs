//! Ticket providers: CSPs provisioned by people through tickets (issue 6),
//! each with its runbook as data. Admin-managed; the provider's `key` is
//! also the `csp` of its NNIs, which place its connectors on a PE port.

use chrono::Utc;
use onramp_state_machines::ticket_runbook::{FieldKind, Runbook};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::admin::{AdminError, AdminResult, Issue};
use crate::entity::ticket_provider;
use crate::model::{TICKET_PROVIDER_ASN, TICKET_PROVIDER_PEER_IP, TICKET_PROVIDER_VLAN};

/// The CSP names the other kinds use; a provider key may not take one.
const RESERVED_KEYS: [&str; 3] = ["aws", "azure", "gcp"];
/// Longest runbook, in steps and fields per step.
const MAX_STEPS: usize = 20;
const MAX_FIELDS: usize = 20;
/// A year: longer is a typo.
const MAX_SLA_HOURS: u32 = 24 * 366;

/// A provider to create.
#[derive(Clone, Debug)]
pub struct ProviderSpec {
    /// `[a-z0-9-]{2,40}`, e.g. `oracle-fastconnect`; the NNIs' `csp`.
    pub key: String,
    pub name: String,
    pub runbook: Runbook,
}

fn issue(i: &mut Vec<Issue>, field: String, code: &str, detail: impl Into<String>) {
    i.push(Issue {
        field,
        code: code.into(),
        detail: detail.into(),
    });
}

fn valid_ident(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// Checks a runbook; every issue is named by its JSON path in the create
/// body, e.g. `steps[1].fields[0].name`.
pub fn check_runbook(r: &Runbook) -> Vec<Issue> {
    let mut i = Vec::new();
    if r.steps.len() > MAX_STEPS {
        issue(
            &mut i,
            "steps".into(),
            "too_many",
            format!("a runbook has at most {MAX_STEPS} steps"),
        );
    }
    let mut keys = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (n, s) in r.steps.iter().enumerate() {
        let at = format!("steps[{n}]");
        if !valid_ident(&s.key, 64) {
            issue(
                &mut i,
                format!("{at}.key"),
                "invalid_format",
                "a step key is 1-64 lowercase letters, digits or `_`, starting with a letter",
            );
        } else if keys.contains(&s.key.as_str()) {
            issue(
                &mut i,
                format!("{at}.key"),
                "duplicate",
                format!("another step has key `{}`", s.key),
            );
        }
        keys.push(&s.key);
        if !valid_text(&s.title, 200) {
            issue(
                &mut i,
                format!("{at}.title"),
                "invalid_format",
                "the title must be 1-200 characters, not blank, without control characters",
            );
        }
        if s.instructions.trim().is_empty() || s.instructions.chars().count() > 20_000 {
            issue(
                &mut i,
                format!("{at}.instructions"),
                "invalid_format",
                "instructions must be 1-20000 characters",
            );
        }
        if !(1..=MAX_SLA_HOURS).contains(&s.sla_hours) {
            issue(
                &mut i,
                format!("{at}.sla_hours"),
                "out_of_range",
                format!("the SLA must be 1-{MAX_SLA_HOURS} hours"),
            );
        }
        if s.fields.len() > MAX_FIELDS {
            issue(
                &mut i,
                format!("{at}.fields"),
                "too_many",
                format!("a step has at most {MAX_FIELDS} fields"),
            );
        }
        for (m, f) in s.fields.iter().enumerate() {
            let fat = format!("{at}.fields[{m}]");
            if !valid_ident(&f.name, 64) {
                issue(
                    &mut i,
                    format!("{fat}.name"),
                    "invalid_format",
                    "a field name is 1-64 lowercase letters, digits or `_`, starting with a letter",
                );
            } else if names.contains(&f.name.as_str()) {
                // Values of all steps land in one map on the connector.
                issue(
                    &mut i,
                    format!("{fat}.name"),
                    "duplicate",
                    format!("another field of this runbook is named `{}`", f.name),
                );
            }
            names.push(&f.name);
            if !valid_text(&f.label, 200) {
                issue(
                    &mut i,
                    format!("{fat}.label"),
                    "invalid_format",
                    "the label must be 1-200 characters, not blank, without control characters",
                );
            }
            if let FieldKind::Text { max_len } = f.kind
                && !(1..=1000).contains(&max_len)
            {
                issue(
                    &mut i,
                    format!("{fat}.kind.max_len"),
                    "out_of_range",
                    "a text field holds 1-1000 characters",
                );
            }
            let wants = match f.name.as_str() {
                TICKET_PROVIDER_VLAN => Some((FieldKind::Vlan, "vlan")),
                TICKET_PROVIDER_PEER_IP => Some((FieldKind::IpInterface, "ip_interface")),
                TICKET_PROVIDER_ASN => Some((FieldKind::Asn, "asn")),
                _ => None,
            };
            if let Some((kind, label)) = wants
                && f.kind != kind
            {
                issue(
                    &mut i,
                    format!("{fat}.kind"),
                    "wrong_kind",
                    format!(
                        "`{}` configures the PE and must be of type `{label}`",
                        f.name
                    ),
                );
            }
        }
    }
    i
}

fn check(spec: &ProviderSpec) -> Vec<Issue> {
    let mut i = Vec::new();
    let key_ok = (2..=40).contains(&spec.key.len())
        && spec.key.as_bytes()[0].is_ascii_lowercase()
        && spec
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !spec.key.ends_with('-');
    if !key_ok {
        issue(
            &mut i,
            "key".into(),
            "invalid_format",
            "the key is 2-40 lowercase letters, digits or `-`, starting with a letter, e.g. oracle-fastconnect",
        );
    } else if RESERVED_KEYS.contains(&spec.key.as_str()) {
        issue(
            &mut i,
            "key".into(),
            "reserved",
            format!("`{}` is the CSP of another connector kind", spec.key),
        );
    }
    if !valid_text(&spec.name, 100) {
        issue(
            &mut i,
            "name".into(),
            "invalid_format",
            "the name must be 1-100 characters, not blank, without control characters",
        );
    }
    i.extend(check_runbook(&spec.runbook));
    i
}

/// Creates a provider; refuses an invalid one naming every field, and a
/// taken key as a conflict on `key`.
pub async fn create(
    db: &DatabaseConnection,
    spec: ProviderSpec,
) -> AdminResult<ticket_provider::Model> {
    let issues = check(&spec);
    if !issues.is_empty() {
        return Err(AdminError::Invalid(issues));
    }
    let taken = || {
        let message = format!("a ticket provider with key `{}` exists", spec.key);
        AdminError::Conflict {
            issues: vec![Issue {
                field: "key".into(),
                code: "duplicate".into(),
                detail: message.clone(),
            }],
            message,
        }
    };
    if by_key(db, &spec.key).await?.is_some() {
        return Err(taken());
    }
    ticket_provider::ActiveModel {
        id: Set(Uuid::new_v4()),
        key: Set(spec.key.clone()),
        name: Set(spec.name.trim().to_string()),
        runbook: Set(serde_json::to_string(&spec.runbook).expect("runbook serializes")),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| {
        if matches!(
            e.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            taken()
        } else {
            e.into()
        }
    })
}

/// Every provider, by name.
pub async fn list(db: &impl ConnectionTrait) -> crate::Result<Vec<ticket_provider::Model>> {
    Ok(ticket_provider::Entity::find()
        .order_by_asc(ticket_provider::Column::Name)
        .order_by_asc(ticket_provider::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> crate::Result<ticket_provider::Model> {
    ticket_provider::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::Error::NotFound {
            what: format!("ticket provider {id}"),
        })
}

pub async fn by_key(
    db: &impl ConnectionTrait,
    key: &str,
) -> crate::Result<Option<ticket_provider::Model>> {
    Ok(ticket_provider::Entity::find()
        .filter(ticket_provider::Column::Key.eq(key))
        .one(db)
        .await?)
}

/// The provider's runbook.
pub fn runbook(m: &ticket_provider::Model) -> crate::Result<Runbook> {
    serde_json::from_str(&m.runbook).map_err(crate::error::corrupt("ticket provider runbook"))
}

/// Creates the provider unless one with its key exists (seeding).
pub async fn ensure(
    db: &DatabaseConnection,
    spec: ProviderSpec,
) -> AdminResult<ticket_provider::Model> {
    if let Some(m) = by_key(db, &spec.key).await? {
        return Ok(m);
    }
    create(db, spec).await
}
