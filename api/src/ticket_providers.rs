//! `/v1/ticket-providers` and `/v1/admin/ticket-providers`: the providers
//! of `ticket-csp` connectors (CSPs without an API), their locations and the
//! runbooks ops follow for them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use onramp_state_machines::ticket_runbook::{FieldKind, FieldSpec, ManualStep, Runbook};
use onramp_store::entity::ticket_provider;
use onramp_store::{inventory, ticket_providers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Tenant};
use crate::body::{ApiQuery, parse_id};
use crate::page::PageParams;
use crate::problem::{
    BadQuery, FieldError, MalformedJson, NotAdmin, NotJson, Problem, Unauthenticated, problem_json,
};
use crate::tasks::{RunbookStep, step_view};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(admin_list_providers, admin_create_provider))
        .routes(routes!(admin_get_provider))
}

/// A provider's location: one of its NNIs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ProviderLocation {
    pub code: String,
    pub name: String,
    pub region: String,
    pub capacity_mbps: i32,
}

/// A manual step, as customers see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ProviderStep {
    pub title: String,
    pub sla_hours: u32,
}

/// A provider customers can order `ticket-csp` connectors from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TicketProviderSummary {
    #[schema(example = "oracle-fastconnect")]
    pub key: String,
    #[schema(example = "Oracle Cloud FastConnect")]
    pub name: String,
    pub locations: Vec<ProviderLocation>,
    /// The manual steps ops do, in order.
    pub steps: Vec<ProviderStep>,
    /// The sum of the steps' SLAs: how long ordering may take.
    pub expected_hours: u32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TicketProviderSummaryList {
    pub items: Vec<TicketProviderSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Providers provisioned through tickets, with their locations and the
/// manual steps an order goes through.
#[utoipa::path(get, path = "/v1/ticket-providers", tag = "connectors",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The providers, by name", body = TicketProviderSummaryList),
        BadQuery,
        Unauthenticated,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn list_providers(
    State(state): State<AppState>,
    _tenant: Tenant,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<TicketProviderSummaryList>, Problem> {
    let page = p.checked::<(String, Uuid)>()?;
    let rows = ticket_providers::list(&state.db).await?;
    let (rows, next_cursor) = crate::page::slice(rows, &page, |r| (r.name.clone(), r.id));
    let mut items = Vec::new();
    for p in rows {
        let runbook = ticket_providers::runbook(&p)?;
        let locations = inventory::nnis(&state.db, &p.key)
            .await?
            .into_iter()
            .map(|n| ProviderLocation {
                code: n.location_code,
                name: n.name,
                region: n.region,
                capacity_mbps: n.capacity_mbps,
            })
            .collect();
        items.push(TicketProviderSummary {
            key: p.key,
            name: p.name,
            locations,
            expected_hours: runbook.steps.iter().map(|s| s.sla_hours).sum(),
            steps: runbook
                .steps
                .iter()
                .map(|s| ProviderStep {
                    title: s.title.clone(),
                    sla_hours: s.sla_hours,
                })
                .collect(),
        });
    }
    Ok(Json(TicketProviderSummaryList { items, next_cursor }))
}

/// A ticket provider to add.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTicketProvider {
    /// 2-40 of a-z, 0-9 and `-`; its NNIs use it as their `csp`.
    #[schema(example = "oracle-fastconnect")]
    pub key: String,
    #[schema(example = "Oracle Cloud FastConnect")]
    pub name: String,
    /// The manual steps, in order; all come before the PE push.
    pub steps: Vec<RunbookStep>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ProviderLinks {
    #[serde(rename = "self")]
    pub self_: String,
}

/// A ticket provider and its runbook.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TicketProvider {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub steps: Vec<RunbookStep>,
    pub created_at: DateTime<Utc>,
    pub links: ProviderLinks,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TicketProviderList {
    pub items: Vec<TicketProvider>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn provider_view(m: ticket_provider::Model) -> Result<TicketProvider, Problem> {
    let runbook = ticket_providers::runbook(&m)?;
    Ok(TicketProvider {
        links: ProviderLinks {
            self_: format!("/v1/admin/ticket-providers/{}", m.id),
        },
        id: m.id,
        key: m.key,
        name: m.name,
        steps: runbook.steps.iter().map(step_view).collect(),
        created_at: m.created_at,
    })
}

/// The runbook of a create body; kinds that do not parse are named.
fn runbook_of(steps: Vec<RunbookStep>) -> Result<Runbook, Problem> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(steps.len());
    for (i, s) in steps.into_iter().enumerate() {
        let mut fields = Vec::with_capacity(s.fields.len());
        for (j, f) in s.fields.into_iter().enumerate() {
            let at = format!("steps[{i}].fields[{j}]");
            let kind = match f.type_.as_str() {
                "text" => match f.max_len.unwrap_or(100) {
                    n @ 1..=1000 => FieldKind::Text {
                        max_len: n as usize,
                    },
                    _ => {
                        errors.push(FieldError {
                            field: format!("{at}.max_len"),
                            code: "out_of_range".into(),
                            detail: "a text field holds 1-1000 characters".into(),
                        });
                        continue;
                    }
                },
                "vlan" => FieldKind::Vlan,
                "ip_address" => FieldKind::IpAddress,
                "ip_interface" => FieldKind::IpInterface,
                "asn" => FieldKind::Asn,
                other => {
                    errors.push(FieldError {
                        field: format!("{at}.type"),
                        code: "unknown_type".into(),
                        detail: format!(
                            "`{other}` is not a field type; use text, vlan, ip_address, ip_interface or asn"
                        ),
                    });
                    continue;
                }
            };
            if f.max_len.is_some() && f.type_ != "text" {
                errors.push(FieldError {
                    field: format!("{at}.max_len"),
                    code: "not_applicable".into(),
                    detail: "only text fields take max_len".into(),
                });
            }
            fields.push(FieldSpec {
                name: f.name,
                label: f.label,
                kind,
                required: f.required.unwrap_or(true),
            });
        }
        let sla_hours = match u32::try_from(s.sla_hours) {
            Ok(h) => h,
            Err(_) => {
                errors.push(FieldError {
                    field: format!("steps[{i}].sla_hours"),
                    code: "out_of_range".into(),
                    detail: "the SLA must be 1-8784 hours".into(),
                });
                0
            }
        };
        out.push(ManualStep {
            key: s.key,
            title: s.title,
            instructions: s.instructions,
            fields,
            sla_hours,
        });
    }
    if errors.is_empty() {
        Ok(Runbook { steps: out })
    } else {
        Err(Problem::invalid(errors))
    }
}

/// List ticket providers, by name.
#[utoipa::path(get, path = "/v1/admin/ticket-providers", tag = "admin",
    params(PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The providers", body = TicketProviderList),
        BadQuery,
        Unauthenticated,
        NotAdmin,
        (status = 422, description = "The limit or the cursor is invalid", body = Problem, content_type = problem_json()),
    ))]
async fn admin_list_providers(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<TicketProviderList>, Problem> {
    let page = p.checked::<(String, Uuid)>()?;
    let rows = ticket_providers::list(&state.db).await?;
    let (rows, next_cursor) = crate::page::slice(rows, &page, |r| (r.name.clone(), r.id));
    let items = rows
        .into_iter()
        .map(provider_view)
        .collect::<Result<_, _>>()?;
    Ok(Json(TicketProviderList { items, next_cursor }))
}

/// Add a ticket provider with its runbook.
///
/// The runbook is checked whole; every bad field is named by its path
/// (e.g. `steps[1].fields[0].name`). Connect it to the network with an NNI
/// whose `csp` is the provider's key.
#[utoipa::path(post, path = "/v1/admin/ticket-providers", tag = "admin",
    request_body(content = NewTicketProvider, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = TicketProvider,
            headers(("Location" = String, description = "The provider's URL"))),
        MalformedJson,
        Unauthenticated,
        NotAdmin,
        (status = 409, description = "The key is taken", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid; `errors` names the fields", body = Problem, content_type = problem_json()),
    ))]
async fn admin_create_provider(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<TicketProvider>), Problem> {
    let n: NewTicketProvider = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let runbook = runbook_of(n.steps)?;
    let m = ticket_providers::create(
        &state.db,
        ticket_providers::ProviderSpec {
            key: n.key,
            name: n.name,
            runbook,
        },
    )
    .await?;
    tracing::info!(provider = %m.key, by = %who.actor, "ticket provider created");
    let view = provider_view(m)?;
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&view.links.self_) {
        h.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, h, Json(view)))
}

/// One ticket provider and its runbook.
#[utoipa::path(get, path = "/v1/admin/ticket-providers/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "Ticket provider id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The provider", body = TicketProvider),
        Unauthenticated,
        NotAdmin,
        (status = 404, description = "No such provider", body = Problem, content_type = problem_json()),
    ))]
async fn admin_get_provider(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<TicketProvider>, Problem> {
    let id = parse_id(&id, "ticket provider")?;
    Ok(Json(provider_view(
        ticket_providers::get(&state.db, id).await?,
    )?))
}
