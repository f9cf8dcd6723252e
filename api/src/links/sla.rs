//! A link's SLA in the API: shown on the link (the thresholds in force and
//! whether they are met), chosen at the order (`sla`), and replaced with
//! `PUT /v1/links/{id}/sla`. The evaluation runs in the workers
//! (onramp_workers::sla); a breach and its recovery are events on the link's
//! timeline and on each member connector's, hence on `GET /v1/events` and
//! the webhooks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use onramp_store::entity::link;
use onramp_store::links::sla::{Breach, BreachedMeasure, SlaSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, MalformedJson, NotJson, Problem, Unauthenticated, problem_json};

/// The SLA a link is measured against: a product profile (`standard`:
/// 50 ms, 10 ms, 1 %; `premium`: 20 ms, 5 ms, 0.1 %), any value of which
/// the link may set itself.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlaRequest {
    /// `standard` (the default) or `premium`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Average round trip between two PEs of the link, ms (0.1-10000).
    #[serde(default)]
    pub latency_ms: Option<f64>,
    /// Standard deviation of the round trips, ms (0.1-10000).
    #[serde(default)]
    pub jitter_ms: Option<f64>,
    /// Probes lost, percent (0-100).
    #[serde(default)]
    pub loss_percent: Option<f64>,
}

impl SlaRequest {
    /// The settings, or the problems with them (fields under `at`).
    pub(crate) fn settings(&self, at: &str) -> Result<SlaSettings, Vec<FieldError>> {
        let s = SlaSettings {
            profile: self.profile.clone(),
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            loss_percent: self.loss_percent,
        };
        let problems: Vec<FieldError> = s
            .check(at)
            .into_iter()
            .map(|(field, code, detail)| FieldError {
                field,
                code,
                detail,
            })
            .collect();
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(problems)
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct SlaBreachedMeasure {
    /// `latency_ms`, `jitter_ms` or `loss_percent`.
    pub measure: String,
    pub value: f64,
    pub threshold: f64,
    pub from_pe: String,
    pub to_pe: String,
}

/// The thresholds in force, and how the link meets them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkSla {
    pub profile: String,
    pub latency_ms: f64,
    pub jitter_ms: f64,
    pub loss_percent: f64,
    /// `met`, or `breached` while any measure in either direction is above
    /// its threshold.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breached_since: Option<DateTime<Utc>>,
    /// What is above its threshold, per direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breached: Vec<SlaBreachedMeasure>,
}

pub(crate) fn view(l: &link::Model) -> Result<LinkSla, Problem> {
    let s = SlaSettings::from_json(&l.sla)?;
    let t = s.thresholds();
    let breach = l.sla_breach.as_deref().map(Breach::from_json).transpose()?;
    Ok(LinkSla {
        profile: s.profile().to_string(),
        latency_ms: t.latency_ms,
        jitter_ms: t.jitter_ms,
        loss_percent: t.loss_percent,
        status: if breach.is_some() { "breached" } else { "met" }.into(),
        breached_since: breach.as_ref().map(|b| b.since),
        breached: breach
            .map(|b| b.measures.into_iter().map(measure).collect())
            .unwrap_or_default(),
    })
}

fn measure(m: BreachedMeasure) -> SlaBreachedMeasure {
    SlaBreachedMeasure {
        measure: m.measure,
        value: m.value,
        threshold: m.threshold,
        from_pe: m.from_pe,
        to_pe: m.to_pe,
    }
}

/// Set a link's SLA.
///
/// Replaces the link's SLA settings: a profile, and any thresholds the
/// link sets itself (the others come from the profile). It applies from
/// the next evaluation on.
#[utoipa::path(put, path = "/v1/links/{id}/sla", tag = "links",
    params(("id" = Uuid, Path, description = "Link id")),
    request_body(content = SlaRequest, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The SLA now in force", body = LinkSla),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "An ops or admin key and another tenant's link", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such link for this tenant", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "An unknown profile or a threshold out of range; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
pub(crate) async fn put_link_sla(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<LinkSla>, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    let v = onramp_store::links::get_scoped(&state.db, tenant.read_scope(), id).await?;
    if v.link.tenant_id != tenant.id {
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "link {id} belongs to another tenant; a key with role `{}` reads every tenant's links but changes only its own tenant's",
                tenant.role
            ),
        ));
    }
    let value = crate::body::json_object(&headers, &body)?;
    let asked: SlaRequest = crate::body::from_value(value)?;
    let settings = asked.settings("").map_err(|mut e| {
        for f in &mut e {
            f.field = f.field.trim_start_matches('.').to_string();
        }
        Problem::invalid(e)
    })?;
    onramp_store::links::sla::set(&state.db, id, &settings).await?;
    tracing::info!(link = %id, profile = settings.profile(), actor = %tenant.actor, "link SLA set");
    let v = onramp_store::links::get_scoped(&state.db, tenant.read_scope(), id).await?;
    Ok(Json(view(&v.link)?))
}
