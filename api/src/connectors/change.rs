//! `PATCH /v1/connectors/{id}`: a live connector's settings (bandwidth, BGP
//! prefix limit, BFD, the customer's label), planned against the PEs'
//! running configuration or applied through the connector's machine.
//!
//! The new settings are written with the transition that starts the change,
//! and the old ones are kept beside them (`pending_change`): the machine's
//! answer to the PE's verdict keeps the new ones or puts the old ones back,
//! so the row always says what the PE carries once the change has settled.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use onramp_kinds::attachments_of;
use onramp_router_templates::{Operation, Platform};
use onramp_state_machines::with_kind;
use onramp_store::connectors as store;
use onramp_store::entity::connector;
use onramp_store::model::{ConnectorOptions, PendingChange};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{view, writable};
use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::kinds::{ApiKind, REDACTED};
use crate::problem::{FieldError, MalformedJson, NotJson, Problem, Unauthenticated, problem_json};
use crate::views::{
    ChangeAnswer, ChangePlan, Connector, ConnectorChange, PlannedFact, PlannedRouterChange,
};

/// Longest customer label, in characters: it goes into the PE's neighbor
/// description after onramp's own words, within the router's 255.
const DESCRIPTION_MAX: usize = 100;
const PREFIX_LIMIT_MAX: i64 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ChangeQuery {
    /// Return the plan (per PE: the payload and each value it replaces,
    /// adds or removes on the running configuration) instead of changing
    /// anything.
    #[serde(default)]
    dry_run: bool,
}

/// Change a live connector's settings.
///
/// Bandwidth (where the connector's bandwidth is onramp's to change: the
/// PE's policer), the BGP prefix limit, BFD, and the customer's label.
/// Fields left out stay as they are; a field given with its current value
/// changes nothing. Accepted while the connector is `active` (or down or
/// degraded, where the kind has those states): the change goes to its PEs
/// in one verified commit each (Azure: primary leg, then secondary). If a
/// PE refuses it, the connector keeps its previous settings and the
/// timeline says why. Send `If-Match` with the connector's ETag to make
/// sure nobody changed it since you read it.
#[utoipa::path(patch, path = "/v1/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id"), ChangeQuery),
    request_body(content = ConnectorChange, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The plan (`dry_run=true`), or nothing to change: the connector as it is", body = ChangeAnswer),
        (status = 202, description = "The change is on its way to the PEs; follow `state` and the timeline", body = Connector),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's connector: they read every tenant's, change only their own", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 409, description = "`change_in_progress`: a change is still on its way; `not_changeable_now`: the connector is not live (being ordered, torn down, or finished)", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid change; `errors` names the fields (a bandwidth the kind does not let onramp change says whose it is)", body = Problem, content_type = problem_json()),
    ))]
pub(crate) async fn change_connector(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ChangeQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    writable(&state, &tenant, id).await?;
    let value = crate::body::json_object(&headers, &body)?;
    let asked: ConnectorChange = crate::body::from_value(value)?;
    // A worker may commit between the read and the write; the step guard
    // makes this lose that race cleanly, and it reads again.
    for _ in 0..20 {
        let row = writable(&state, &tenant, id).await?;
        let Some(changed) = apply(&state, &row, &asked).await? else {
            // Everything asked for is already so: nothing to push.
            let unchanged = view(&state, &[row]).await?.remove(0);
            return Ok(Json(ChangeAnswer::Unchanged(Box::new(unchanged))).into_response());
        };
        let t = with_kind!(row.connector_kind()?, |K| start::<K>(
            &row, &changed, &tenant
        ))?;
        if q.dry_run {
            return Ok(
                Json(ChangeAnswer::Plan(plan(&state, &row, &changed).await?)).into_response(),
            );
        }
        if store::commit_transition(&state.db, id, &t).await? {
            tracing::info!(connector = %id, fields = ?changed.fields, actor = %tenant.actor, "settings change requested");
            let row = store::get_for_tenant(&state.db, tenant.id, id).await?;
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(&state, &[row]).await?.remove(0)),
            )
                .into_response());
        }
    }
    Err(Problem::new(
        StatusCode::CONFLICT,
        "busy",
        "Connector busy",
        "the connector changed state repeatedly while the change was being recorded",
    )
    .with_hint("retry the PATCH"))
}

/// The connector as the change leaves it.
struct Changed {
    row: connector::Model,
    fields: Vec<String>,
    summary: String,
    /// The new BGP key, sealed, when the change rotates it.
    new_key: Option<String>,
}

/// Checks `asked` against `row` and returns the row with the new settings,
/// or None when every value asked for is already the connector's.
async fn apply(
    state: &AppState,
    row: &connector::Model,
    asked: &ConnectorChange,
) -> Result<Option<Changed>, Problem> {
    let mut errors: Vec<FieldError> = Vec::new();
    let field = |field: &str, code: &str, detail: String| FieldError {
        field: field.into(),
        code: code.into(),
        detail,
    };
    if asked.bandwidth.is_none()
        && asked.prefix_limit.is_none()
        && asked.bfd.is_none()
        && asked.description.is_none()
        && asked.rotate_bgp_key.is_none()
    {
        return Err(Problem::invalid(vec![field(
            "body",
            "empty_change",
            "name at least one of bandwidth, prefix_limit, bfd, description, rotate_bgp_key".into(),
        )]));
    }
    let old = ConnectorOptions::from_json(&row.options)?;
    let mut new = old.clone();
    let mut params = row.params.clone();
    let mut fields = Vec::new();
    let mut summary = Vec::new();

    if let Some(limit) = asked.prefix_limit {
        if !(1..=PREFIX_LIMIT_MAX).contains(&limit) {
            errors.push(field(
                "prefix_limit",
                "out_of_range",
                format!("prefix_limit must be 1 to {PREFIX_LIMIT_MAX}, not {limit}"),
            ));
        } else if limit as u32 != old.prefix_limit() {
            new.prefix_limit = Some(limit as u32);
            fields.push("prefix_limit".to_string());
            summary.push(format!("prefix limit {} → {limit}", old.prefix_limit()));
        }
    }
    if let Some(bfd) = asked.bfd
        && bfd != old.bfd
    {
        new.bfd = bfd;
        fields.push("bfd".to_string());
        summary.push(format!("BFD {}", if bfd { "on" } else { "off" }));
    }
    if let Some(label) = &asked.description {
        let label = label.as_deref().map(str::trim).filter(|l| !l.is_empty());
        match label {
            Some(l) if l.chars().count() > DESCRIPTION_MAX => errors.push(field(
                "description",
                "too_long",
                format!(
                    "description is {} characters; at most {DESCRIPTION_MAX}",
                    l.chars().count()
                ),
            )),
            Some(l) if l.chars().any(char::is_control) => errors.push(field(
                "description",
                "invalid_characters",
                "description must be one line of printable characters".into(),
            )),
            _ => {
                let label = label.map(str::to_string);
                if label != old.description {
                    summary.push(match &label {
                        Some(l) => format!("description \"{l}\""),
                        None => "description removed".to_string(),
                    });
                    new.description = label;
                    fields.push("description".to_string());
                }
            }
        }
    }
    if let Some(bw) = &asked.bandwidth {
        let at = onramp_store::inventory::nni(&state.db, row.nni_id).await?;
        let kind = row.connector_kind()?;
        match with_kind!(kind, |K| K::with_bandwidth(row, &at, bw))? {
            Err(e) => errors.push(e),
            Ok(p) if p != row.params => {
                let mut probe = row.clone();
                probe.params = p.clone();
                let was = Connector::from_row(row, &at)?.bandwidth;
                let now = Connector::from_row(&probe, &at)?.bandwidth;
                params = p;
                fields.push("bandwidth".to_string());
                summary.push(format!("bandwidth {was} → {now}"));
            }
            Ok(_) => {}
        }
    }
    let mut new_key = None;
    if asked.rotate_bgp_key == Some(true) {
        // The same length and alphabet as the key made at the order.
        let key = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let sealed = state.secrets.seal(&key);
        match with_kind!(row.connector_kind()?, |K| K::with_new_key(row, &sealed)
            .map(|r| r.map(|(resources, _)| resources)))?
        {
            Err(e) => errors.push(e),
            Ok(resources) => {
                new_key = Some((sealed, resources));
                fields.push("bgp_key".to_string());
                summary.push("new BGP key".to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    if fields.is_empty() {
        return Ok(None);
    }
    let mut changed = row.clone();
    changed.params = params;
    changed.options = new.to_json();
    let new_key = new_key.map(|(sealed, resources)| {
        changed.resources = resources;
        sealed
    });
    Ok(Some(Changed {
        row: changed,
        fields,
        summary: summary.join(", "),
        new_key,
    }))
}

/// The transition that starts the change: the machine's answer to
/// `change_requested`, with the new settings and what to restore.
fn start<K: ApiKind>(
    row: &connector::Model,
    changed: &Changed,
    tenant: &Tenant,
) -> Result<store::Transition, Problem> {
    if row.pending_change.is_some() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "change_in_progress",
            "A change is under way",
            format!(
                "connector {} is still applying its last change; wait for it to settle (see `change` and the timeline)",
                row.id
            ),
        ));
    }
    // A new key takes its own path (the CSP's side too); any other
    // settings asked with it go out in the same pushes.
    let event = match &changed.new_key {
        None => K::change_requested(),
        Some(sealed) => {
            K::with_new_key(row, sealed)?
                .map_err(|e| Problem::invalid(vec![e]))?
                .1
        }
    };
    let Some(mut t) = onramp_kinds::transition::on_event::<K>(row, &event, &tenant.actor)? else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "not_changeable_now",
            "Connector not live",
            format!(
                "connector {} is {}: settings change only while it is in service (active, or down \
                 or degraded), not while it is being ordered, changed or torn down",
                row.id, row.state
            ),
        ));
    };
    t.message = format!("{}: {}", changed.summary, t.message);
    t.params = Some(changed.row.params.clone());
    t.options = Some(changed.row.options.clone());
    let rotates = changed.new_key.is_some();
    if rotates {
        t.resources = Some(changed.row.resources.clone());
    }
    t.pending_change = Some(Some(
        PendingChange {
            previous_params: row.params.clone(),
            previous_options: row.options.clone(),
            previous_resources: rotates.then(|| row.resources.clone()),
            fields: changed.fields.clone(),
            requested_by: tenant.actor.clone(),
            requested_at: Utc::now(),
        }
        .to_json(),
    ));
    Ok(t)
}

/// Per PE the connector is on: the payload the change pushes and what it
/// does to the running configuration, read now.
async fn plan(
    state: &AppState,
    before: &connector::Model,
    changed: &Changed,
) -> Result<ChangePlan, Problem> {
    let vrf = vrf_of(state, &changed.row).await?;
    let sealed = onramp_kinds::sealed_auth_key(&changed.row)?;
    let key = if sealed.is_empty() {
        String::new()
    } else {
        state.secrets.open(&sealed).map_err(|e| {
            tracing::error!(connector = %changed.row.id, error = %e, "BGP key unreadable");
            Problem::internal()
        })?
    };
    let shown = if key.is_empty() { "" } else { REDACTED };
    let real = attachments_of(&changed.row, &vrf, &key)?;
    let redacted = attachments_of(&changed.row, &vrf, shown)?;
    let legs = ["primary", "secondary"];
    let mut out = Vec::new();
    for (i, ((pe_id, intent), (_, shown))) in real.iter().zip(redacted).enumerate() {
        let pe = onramp_store::inventory::pe(&state.db, *pe_id).await?;
        let platform = Platform::load(&state.templates_root, &pe.platform).map_err(|e| {
            tracing::error!(pe = %pe.name, error = %e, "platform unusable");
            Problem::internal()
        })?;
        let render = |intent| {
            platform.render(Operation::Create, intent).map_err(|e| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "render_failed",
                    "Router configuration cannot be rendered",
                    format!("PE {} ({}): {e}", pe.name, pe.platform),
                )
            })
        };
        let rendered = render(intent)?;
        let (facts, facts_unavailable) = match crate::pe_running::read(state, &pe).await {
            Err(why) => (Vec::new(), Some(why)),
            Ok(running) => match rendered.changes_against(&running) {
                Err(e) => (
                    Vec::new(),
                    Some(format!("PE {}: running config unreadable: {e}", pe.name)),
                ),
                Ok(facts) => (
                    facts
                        .into_iter()
                        .map(|f| PlannedFact {
                            path: f.path,
                            change: f.change.to_string(),
                            before: f.before,
                            after: f.after,
                        })
                        .collect(),
                    None,
                ),
            },
        };
        out.push(PlannedRouterChange {
            pe: pe.name.clone(),
            platform: pe.platform.clone(),
            leg: (real.len() == 2).then(|| legs[i].to_string()),
            config_xml: render(&shown)?.config_xml,
            facts,
            facts_unavailable,
        });
    }
    Ok(ChangePlan {
        dry_run: true,
        fields: changed.fields.clone(),
        router_changes: out,
        csp_calls: with_kind!(changed.row.connector_kind()?, |K| K::change_calls(
            before,
            &changed.row,
            &changed.fields
        ))?,
    })
}

/// The VRF the connector's attachments sit in: its link's, else its
/// tenant's (as the worker's push renders it).
async fn vrf_of(
    state: &AppState,
    row: &connector::Model,
) -> Result<onramp_router_templates::VrfIntent, Problem> {
    if let Some(l) = onramp_store::links::vrf_link_of(&state.db, row.id).await? {
        return Ok(onramp_kinds::link_vrf(&l));
    }
    let tenant = onramp_store::inventory::tenant(&state.db, row.tenant_id).await?;
    Ok(onramp_kinds::tenant_vrf(&tenant))
}
