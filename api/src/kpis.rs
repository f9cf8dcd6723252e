//! `GET /v1/connectors/{id}/metrics` and `GET /v1/links/{id}/metrics`: the
//! KPIs the operator sells, read from Prometheus (which scrapes the PEs'
//! SNMP agents through the SNMP exporter; docs/decisions/0015).
//!
//! A connector's series are per attachment (its BGP session and unit on
//! one PE; an ExpressRoute connector has one per leg): session state and
//! time established, routes accepted, bitrate in and out. A link's are per
//! direction between two of its PEs: latency, jitter and loss of the probes
//! the PEs send each other in the link's VRF. Tenant rules as everywhere: a
//! customer reads its own; ops and admin keys read every tenant's.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use onramp_prometheus::kpi::{Attachment, ConnectorKpi, LinkKpi};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::ApiQuery;
use crate::problem::{BadQuery, FieldError, Problem, Unauthenticated, problem_json};

/// Prometheus answers at most this many points per series.
const MAX_POINTS: i64 = 11_000;
/// The widest range one request may ask for.
const MAX_RANGE_DAYS: i64 = 31;
/// Points an unspecified step aims at: enough for a chart's width.
const DEFAULT_POINTS: i64 = 240;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connector_metrics))
        .routes(routes!(link_metrics))
}

/// Where Prometheus is, and how often it scrapes the PEs (rates are taken
/// over four scrapes).
#[derive(Clone, Debug)]
pub struct KpiSource {
    pub client: onramp_prometheus::PromClient,
    pub scrape_interval: Duration,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeQuery {
    /// RFC 3339; default: an hour before `end`.
    start: Option<String>,
    /// RFC 3339; default: now.
    end: Option<String>,
    /// Seconds between two points; default: the range over 240.
    #[param(minimum = 1)]
    step: Option<i64>,
}

/// One KPI of one attachment or direction, a point per step.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct KpiSeries {
    /// `bgp_established`, `bgp_uptime_seconds`, `prefixes_received`,
    /// `in_bps`, `out_bps`; for links `latency_ms`, `jitter_ms`,
    /// `loss_percent`.
    pub metric: String,
    /// `boolean`, `s`, `prefixes`, `bit/s`, `ms`, `%`.
    pub unit: String,
    /// The PE the series is measured on (for a link: the probes' sender).
    pub pe: String,
    /// ExpressRoute: which leg the attachment is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// Links: the PE the probes go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_pe: Option<String>,
    /// `[unix seconds, value]`, oldest first; a step without a sample has
    /// no point.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub points: Vec<(i64, f64)>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ConnectorMetrics {
    pub connector_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_seconds: i64,
    /// Empty while the connector has nothing on a PE yet.
    pub series: Vec<KpiSeries>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LinkMetrics {
    pub link_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_seconds: i64,
    /// Empty until two PEs carry the link.
    pub series: Vec<KpiSeries>,
}

struct Range {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: i64,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, FieldError> {
    v.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| FieldError {
                    field: field.into(),
                    code: "invalid_format".into(),
                    detail: format!("`{s}` is not an RFC 3339 time, e.g. 2026-12-07T10:00:00Z"),
                })
        })
        .transpose()
}

fn range(q: &RangeQuery) -> Result<Range, Problem> {
    let mut errors = Vec::new();
    let end = parse_time("end", &q.end).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let start = parse_time("start", &q.start).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let end = end.unwrap_or_else(Utc::now);
    let start = start.unwrap_or(end - chrono::Duration::hours(1));
    let field = |field: &str, code: &str, detail: String| {
        Problem::invalid(vec![FieldError {
            field: field.into(),
            code: code.into(),
            detail,
        }])
    };
    if start >= end {
        return Err(field(
            "start",
            "out_of_range",
            format!("start ({start}) must be before end ({end})"),
        ));
    }
    let secs = (end - start).num_seconds();
    if secs > MAX_RANGE_DAYS * 86_400 {
        return Err(field(
            "start",
            "out_of_range",
            format!(
                "the range is {} days; at most {MAX_RANGE_DAYS}",
                secs / 86_400
            ),
        ));
    }
    let step = match q.step {
        Some(s) if s < 1 => {
            return Err(field(
                "step",
                "out_of_range",
                format!("step is {s}; it is whole seconds, 1 or more"),
            ));
        }
        Some(s) => s,
        None => (secs + DEFAULT_POINTS - 1) / DEFAULT_POINTS,
    }
    .max(1);
    if secs / step > MAX_POINTS {
        return Err(field(
            "step",
            "too_many_points",
            format!(
                "{} points per series over this range; at most {MAX_POINTS}: use a step of {} s or more",
                secs / step,
                secs / MAX_POINTS + 1
            ),
        ));
    }
    Ok(Range { start, end, step })
}

fn source(state: &AppState) -> Result<&KpiSource, Problem> {
    state.kpis.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics_unavailable",
            "Metrics unavailable",
            "this onramp is not connected to a time-series database",
        )
        .with_hint("the operator sets ONRAMP_PROMETHEUS_URL on the API")
    })
}

fn unavailable(e: &onramp_prometheus::Error) -> Problem {
    tracing::warn!(error = %e, "KPI query failed");
    let p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "metrics_unavailable",
        "Metrics unavailable",
        format!("the time-series database did not answer: {e}"),
    );
    match e {
        onramp_prometheus::Error::Unreachable { .. } => p.with_retry_after(15),
        _ => p,
    }
}

/// A connector's KPIs over a time range.
#[utoipa::path(get, path = "/v1/connectors/{id}/metrics", tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector id"), RangeQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Per attachment: BGP state, time established, routes accepted, bitrate in and out", body = ConnectorMetrics),
        BadQuery,
        Unauthenticated,
        (status = 404, description = "No such connector for this tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "A bad range or step; `errors` names the field", body = Problem, content_type = problem_json()),
        (status = 503, description = "`metrics_unavailable`: no time-series database, or it did not answer", body = Problem, content_type = problem_json()),
    ))]
async fn connector_metrics(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<ConnectorMetrics>, Problem> {
    let id = crate::body::parse_id(&id, "connector")?;
    let row = onramp_store::connectors::get_scoped(&state.db, tenant.read_scope(), id).await?;
    let r = range(&q)?;
    let src = source(&state)?;
    let owner = onramp_store::inventory::tenant(&state.db, row.tenant_id).await?;
    let attachments = onramp_kinds::attachments_of(&row, &onramp_kinds::tenant_vrf(&owner), "")?;
    let legs = ["primary", "secondary"];
    let window = src.scrape_interval * 4;
    let mut asked = Vec::new();
    for (i, (pe_id, intent)) in attachments.iter().enumerate() {
        let pe = onramp_store::inventory::pe(&state.db, *pe_id).await?;
        let at = Attachment {
            pe: pe.name.clone(),
            if_name: format!("{}.{}", intent.interface, intent.vlan),
            neighbor: intent.neighbor.address.clone(),
        };
        let leg = (attachments.len() == 2).then(|| legs[i].to_string());
        for kpi in ConnectorKpi::ALL {
            asked.push((kpi, pe.name.clone(), leg.clone(), kpi.promql(&at, window)));
        }
    }
    let step = Duration::from_secs(r.step as u64);
    let answers = futures::future::join_all(
        asked
            .iter()
            .map(|(_, _, _, q)| src.client.query_range(q, r.start, r.end, step)),
    )
    .await;
    let mut series = Vec::new();
    for ((kpi, pe, leg, _), answer) in asked.into_iter().zip(answers) {
        let points = answer
            .map_err(|e| unavailable(&e))?
            .into_iter()
            .flat_map(|s| s.points)
            .collect();
        series.push(KpiSeries {
            metric: kpi.name().into(),
            unit: kpi.unit().into(),
            pe,
            leg,
            to_pe: None,
            points,
        });
    }
    Ok(Json(ConnectorMetrics {
        connector_id: id,
        start: r.start,
        end: r.end,
        step_seconds: r.step,
        series,
    }))
}

/// A link's KPIs over a time range.
#[utoipa::path(get, path = "/v1/links/{id}/metrics", tag = "links",
    params(("id" = Uuid, Path, description = "Link id"), RangeQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Per direction between two of its PEs: latency, jitter and loss", body = LinkMetrics),
        BadQuery,
        Unauthenticated,
        (status = 404, description = "No such link for this tenant", body = Problem, content_type = problem_json()),
        (status = 422, description = "A bad range or step; `errors` names the field", body = Problem, content_type = problem_json()),
        (status = 503, description = "`metrics_unavailable`: no time-series database, or it did not answer", body = Problem, content_type = problem_json()),
    ))]
async fn link_metrics(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<LinkMetrics>, Problem> {
    let id = crate::body::parse_id(&id, "link")?;
    let link = onramp_store::links::get_scoped(&state.db, tenant.read_scope(), id).await?;
    let r = range(&q)?;
    let src = source(&state)?;
    let step = Duration::from_secs(r.step as u64);
    let queries: Vec<String> = LinkKpi::ALL
        .iter()
        .map(|k| k.promql(&link.link.vrf_name))
        .collect();
    let answers = futures::future::join_all(
        queries
            .iter()
            .map(|q| src.client.query_range(q, r.start, r.end, step)),
    )
    .await;
    let mut series = Vec::new();
    for (kpi, answer) in LinkKpi::ALL.into_iter().zip(answers) {
        let mut found = answer.map_err(|e| unavailable(&e))?;
        found.sort_by(|a, b| a.labels.cmp(&b.labels));
        for s in found {
            let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
            series.push(KpiSeries {
                metric: kpi.name().into(),
                unit: kpi.unit().into(),
                pe: label("pe"),
                leg: None,
                to_pe: Some(label("pingCtlOwnerIndex")),
                points: s.points.clone(),
            });
        }
    }
    Ok(Json(LinkMetrics {
        link_id: id,
        start: r.start,
        end: r.end,
        step_seconds: r.step,
        series,
    }))
}
