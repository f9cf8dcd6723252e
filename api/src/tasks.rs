//! `/v1/tasks`: ops tasks of `ticket-csp` connectors, for ops tooling (the
//! ops console calls `onramp_store::tasks` directly). The providers and
//! their runbooks are in `ticket_providers.rs`.
//!
//! Tasks are the operator's work queue, not the customer's: ops and admin
//! keys see every tenant's tasks; a customer key gets 403 on every route
//! (customers follow progress on the connector, `ticket.waiting_on_step`).
//! Every action is recorded in the task's audit trail with the caller's
//! identity (`Tenant::actor`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use onramp_state_machines::ticket_runbook::{FieldKind, ManualStep};
use onramp_store::entity::{ops_audit, ops_task, ops_task_note};
use onramp_store::tasks::{self as store, TaskError, TaskFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::body::{ApiQuery, parse_id};
use crate::page::PageParams;
use crate::problem::{
    BadQuery, FieldError, MalformedJson, NotJson, Problem, Unauthenticated, problem_json,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks))
        .routes(routes!(get_task))
        .routes(routes!(claim_task))
        .routes(routes!(unclaim_task))
        .routes(routes!(complete_task))
        .routes(routes!(reject_task))
        .routes(routes!(add_note))
}

// ===== who may =====

/// A caller with an `ops` or `admin` key: the tasks API. No key is a 401
/// as for [`Tenant`]; a customer key is a 403.
pub(crate) struct Ops(pub Tenant);

impl FromRequestParts<AppState> for Ops {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let tenant = Tenant::from_request_parts(parts, state).await?;
        if tenant.read_scope().is_some() {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!(
                    "ops tasks are the operator's; this endpoint needs an API key with role `ops` or `admin`, and the key presented has role `{}`",
                    tenant.role
                ),
            )
            .with_hint("follow a connector's progress with GET /v1/connectors/{id} (`ticket.waiting_on_step`)"));
        }
        Ok(Ops(tenant))
    }
}

impl From<TaskError> for Problem {
    fn from(e: TaskError) -> Self {
        task_problem(e, "")
    }
}

/// The problem for a refusal; `prefix` places field names in the body
/// (`values.` for a completion's values).
fn task_problem(e: TaskError, prefix: &str) -> Problem {
    match e {
        TaskError::NotFound { what } => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("{what} does not exist"),
        ),
        TaskError::Conflict { code, message } => {
            let hint = match code {
                "claimed_by_other" => Some("ask its claimer, or unclaim it with ?force=true"),
                "busy" => Some("retry"),
                _ => None,
            };
            let p = Problem::new(StatusCode::CONFLICT, code, "Conflict", message.clone())
                .with_errors(vec![FieldError {
                    field: "id".into(),
                    code: code.into(),
                    detail: message,
                }]);
            match hint {
                Some(h) => p.with_hint(h),
                None => p,
            }
        }
        TaskError::Invalid(issues) => Problem::invalid(
            issues
                .into_iter()
                .map(|i| FieldError {
                    field: format!("{prefix}{}", i.field),
                    code: i.code,
                    detail: i.detail,
                })
                .collect(),
        ),
        TaskError::Store(e) => e.into(),
    }
}

// ===== views =====

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TaskLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub connector: String,
}

/// One ops task: a manual step of a `ticket-csp` connector.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Task {
    pub id: Uuid,
    pub connector_id: Uuid,
    pub tenant_id: Uuid,
    /// The provider's key.
    #[schema(example = "oracle-fastconnect")]
    pub provider: String,
    /// 1-based position of the step in the provider's runbook.
    pub step_number: usize,
    pub step_key: String,
    pub title: String,
    /// `open`, `claimed`, `completed`, `rejected` or `cancelled`.
    #[schema(example = "open")]
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
    /// Opened at + the step's SLA.
    pub due_at: DateTime<Utc>,
    /// Open or claimed past `due_at`.
    pub overdue: bool,
    /// What the person entered, normalised (completed tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub links: TaskLinks,
}

impl Task {
    fn from_row(t: ops_task::Model, now: DateTime<Utc>) -> Self {
        Task {
            overdue: store::is_overdue(&t, now),
            links: TaskLinks {
                self_: format!("/v1/tasks/{}", t.id),
                connector: format!("/v1/connectors/{}", t.connector_id),
            },
            id: t.id,
            connector_id: t.connector_id,
            tenant_id: t.tenant_id,
            provider: t.provider,
            step_number: t.step_index as usize + 1,
            step_key: t.step_key,
            title: t.title,
            state: t.state,
            claimed_by: t.claimed_by,
            claimed_at: t.claimed_at,
            due_at: t.due_at,
            values: t.values.and_then(|v| serde_json::from_str(&v).ok()),
            reject_reason: t.reject_reason,
            created_at: t.created_at,
            closed_at: t.closed_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TaskList {
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One field a step asks for.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunbookField {
    /// Key in `values`, 1-64 of a-z, 0-9 and `_`. `provider_vlan`,
    /// `provider_peer_ip` and `provider_asn` configure the PE and must be of
    /// type `vlan`, `ip_interface` and `asn`.
    #[schema(example = "provider_vlan")]
    pub name: String,
    #[schema(example = "VLAN assigned by the provider")]
    pub label: String,
    /// `text`, `vlan`, `ip_address`, `ip_interface` (address/prefix) or `asn`.
    #[serde(rename = "type")]
    #[schema(example = "vlan")]
    pub type_: String,
    /// `text` only: the longest value, 1-1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<i64>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// One manual step of a provider's runbook.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunbookStep {
    /// Stable identifier, 1-64 of a-z, 0-9 and `_`.
    #[schema(example = "order_cross_connect")]
    pub key: String,
    #[schema(example = "Open the cross-connect order with the provider")]
    pub title: String,
    /// What the person does (Markdown).
    pub instructions: String,
    pub fields: Vec<RunbookField>,
    /// How long the task may stay open before it is overdue, 1-8784.
    #[schema(example = 48)]
    pub sla_hours: i64,
}

pub(crate) fn step_view(s: &ManualStep) -> RunbookStep {
    RunbookStep {
        key: s.key.clone(),
        title: s.title.clone(),
        instructions: s.instructions.clone(),
        sla_hours: i64::from(s.sla_hours),
        fields: s
            .fields
            .iter()
            .map(|f| {
                let (type_, max_len) = match f.kind {
                    FieldKind::Text { max_len } => ("text", Some(max_len as i64)),
                    FieldKind::Vlan => ("vlan", None),
                    FieldKind::IpAddress => ("ip_address", None),
                    FieldKind::IpInterface => ("ip_interface", None),
                    FieldKind::Asn => ("asn", None),
                };
                RunbookField {
                    name: f.name.clone(),
                    label: f.label.clone(),
                    type_: type_.into(),
                    max_len,
                    required: Some(f.required),
                }
            })
            .collect(),
    }
}

/// What a person needs to do the task.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TaskContext {
    pub connector_state: String,
    pub tenant: String,
    pub provider_name: String,
    pub location: String,
    /// The NNI's name, and the provider's reference for it.
    pub nni: String,
    pub nni_reference: String,
    pub pe: String,
    pub port: String,
    /// The VLAN onramp holds for the connector (the provider's once recorded).
    pub vlan: u16,
    pub subnet: String,
    pub onramp_address: String,
    pub provider_address: String,
    /// The ASN onramp's PE speaks.
    pub onramp_asn: u32,
    pub provider_asn: u32,
    /// How many manual steps the connector's runbook has.
    pub steps: usize,
    /// What earlier tasks recorded.
    pub values_so_far: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Note {
    pub id: i64,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl From<ops_task_note::Model> for Note {
    fn from(n: ops_task_note::Model) -> Self {
        Note {
            id: n.id,
            author: n.author,
            text: n.text,
            at: n.at,
        }
    }
}

/// Who did what to the task, and when.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct AuditRecord {
    pub id: i64,
    /// `onramp`, or the caller: `key <prefix>… (<name>)`, `user <email>`.
    pub actor: String,
    /// `open`, `claim`, `unclaim`, `complete`, `reject`, `note` or `cancel`.
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub at: DateTime<Utc>,
}

impl From<ops_audit::Model> for AuditRecord {
    fn from(a: ops_audit::Model) -> Self {
        AuditRecord {
            id: a.id,
            actor: a.actor,
            action: a.action,
            detail: serde_json::from_str(&a.detail).unwrap_or(Value::Null),
            at: a.at,
        }
    }
}

/// A task with its step, context, notes and audit trail.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TaskDetail {
    pub task: Task,
    pub step: RunbookStep,
    pub context: TaskContext,
    pub notes: Vec<Note>,
    pub audit: Vec<AuditRecord>,
}

/// `POST /v1/tasks/{id}/complete`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteTask {
    /// The step's fields by name; strings (numbers are taken as their text).
    #[schema(value_type = Object, example = json!({"provider_vlan": "812", "provider_peer_ip": "169.254.0.2/30", "provider_asn": "31898"}))]
    pub values: serde_json::Map<String, Value>,
}

/// `POST /v1/tasks/{id}/reject`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectTask {
    /// Why the provider refused, 1-4000 characters.
    #[schema(example = "no capacity on the provider's port until Q3")]
    pub reason: String,
}

/// `POST /v1/tasks/{id}/notes`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    /// 1-4000 characters.
    pub text: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TaskListQuery {
    /// Only this provider's tasks (its key).
    provider: Option<String>,
    /// Only tasks in these states, comma-separated; default `open,claimed`.
    state: Option<String>,
    /// Only open or claimed tasks past their due time.
    overdue: Option<bool>,
    /// Only this tenant's connectors' tasks.
    tenant: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UnclaimQuery {
    /// Unclaim a task someone else claimed (audited with whose claim it was).
    force: Option<bool>,
}

// ===== handlers =====

/// List ops tasks, overdue first, a page at a time.
///
/// Sorted by due time, soonest first: overdue tasks lead, most overdue
/// first. Every tenant's tasks; narrow with the filters.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks",
    params(TaskListQuery, PageParams),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "A page of tasks", body = TaskList),
        BadQuery,
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 422, description = "A filter, the limit or the cursor is invalid; `errors` names them", body = Problem, content_type = problem_json()),
    ))]
async fn list_tasks(
    State(state): State<AppState>,
    _ops: Ops,
    ApiQuery(q): ApiQuery<TaskListQuery>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<TaskList>, Problem> {
    let mut errors = Vec::new();
    let mut f = TaskFilter {
        tenant: q.tenant,
        provider: q.provider.clone(),
        states: Vec::new(),
        overdue_only: q.overdue.unwrap_or(false),
        claimed_by: None,
    };
    if let Some(p) = &q.provider
        && (p.is_empty() || p.len() > 40)
    {
        errors.push(FieldError {
            field: "provider".into(),
            code: "invalid_value".into(),
            detail: "provider is a provider key, 1-40 characters".into(),
        });
    }
    if let Some(states) = &q.state {
        for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if store::STATES.contains(&s) {
                f.states.push(s.to_string());
            } else {
                errors.push(FieldError {
                    field: "state".into(),
                    code: "invalid_value".into(),
                    detail: format!(
                        "state must be comma-separated task states ({}), not `{s}`",
                        store::STATES.join(", ")
                    ),
                });
                break;
            }
        }
    }
    let page = p.check::<(DateTime<Utc>, Uuid)>(&mut errors);
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let now = Utc::now();
    let rows = store::list(&state.db, &f, now, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = crate::page::finish(rows, page.limit, |t| (t.due_at, t.id));
    Ok(Json(TaskList {
        items: rows.into_iter().map(|t| Task::from_row(t, now)).collect(),
        next_cursor,
    }))
}

/// One task: the step's instructions and fields, the connector's context
/// (tenant, location, PE, allocated VLAN and subnet), notes and audit.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The task", body = TaskDetail),
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
    ))]
async fn get_task(
    State(state): State<AppState>,
    _ops: Ops,
    Path(id): Path<String>,
) -> Result<Json<TaskDetail>, Problem> {
    let id = parse_id(&id, "task")?;
    Ok(Json(detail(&state, id).await?))
}

async fn detail(state: &AppState, id: Uuid) -> Result<TaskDetail, Problem> {
    let d = store::get(&state.db, id, None).await?;
    let r = &d.resources;
    Ok(TaskDetail {
        step: step_view(&d.step),
        context: TaskContext {
            connector_state: d.connector.state.clone(),
            tenant: d.tenant_name.clone(),
            provider_name: d.provider_name.clone(),
            location: d.nni.location_code.clone(),
            nni: d.nni.name.clone(),
            nni_reference: d.nni.csp_ref.clone(),
            pe: r.pe_name.clone(),
            port: r.port_name.clone(),
            vlan: r.vlan,
            subnet: r.subnet.clone(),
            onramp_address: r.pe_address.clone(),
            provider_address: r.csp_address.clone(),
            onramp_asn: r.asn,
            provider_asn: r.csp_asn,
            steps: d.steps,
            values_so_far: d.values_so_far.clone(),
        },
        notes: d.notes.into_iter().map(Into::into).collect(),
        audit: d.audit.into_iter().map(Into::into).collect(),
        task: Task::from_row(d.task, Utc::now()),
    })
}

/// Claim a task: "I am on it". Claiming your own claimed task again is a
/// no-op.
#[utoipa::path(post, path = "/v1/tasks/{id}/claim", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The task, claimed by the caller", body = Task),
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
        (status = 409, description = "`claimed_by_other` or `task_closed`", body = Problem, content_type = problem_json()),
    ))]
async fn claim_task(
    State(state): State<AppState>,
    Ops(who): Ops,
    Path(id): Path<String>,
) -> Result<Json<Task>, Problem> {
    let id = parse_id(&id, "task")?;
    let t = store::claim(&state.db, id, &who.actor).await?;
    Ok(Json(Task::from_row(t, Utc::now())))
}

/// Hand a claimed task back. Only its claimer may, unless `force=true`
/// (audited with whose claim it broke).
#[utoipa::path(post, path = "/v1/tasks/{id}/unclaim", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"), UnclaimQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The task, open again", body = Task),
        BadQuery,
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
        (status = 409, description = "`claimed_by_other` (without force) or `task_closed`", body = Problem, content_type = problem_json()),
    ))]
async fn unclaim_task(
    State(state): State<AppState>,
    Ops(who): Ops,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UnclaimQuery>,
) -> Result<Json<Task>, Problem> {
    let id = parse_id(&id, "task")?;
    let t = store::unclaim(&state.db, id, &who.actor, q.force.unwrap_or(false)).await?;
    Ok(Json(Task::from_row(t, Utc::now())))
}

/// Complete a task with what the provider assigned.
///
/// The values are checked against the step's fields; any bad one is a 422
/// naming it (`values.<name>`) and nothing changes. Otherwise the task
/// closes, the values are stored with the connector, and the connector
/// moves on (the next step's task, or the PE push).
#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    request_body(content = CompleteTask, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The task, completed", body = Task),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
        (status = 409, description = "`claimed_by_other`, `task_closed`, `not_waiting` (the connector moved on) or `busy`", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Invalid values; `errors` names them (`values.<field>`)", body = Problem, content_type = problem_json()),
    ))]
async fn complete_task(
    State(state): State<AppState>,
    Ops(who): Ops,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Task>, Problem> {
    let id = parse_id(&id, "task")?;
    let body: CompleteTask = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let mut submitted = BTreeMap::new();
    let mut errors = Vec::new();
    for (k, v) in body.values {
        match v {
            Value::String(s) => {
                submitted.insert(k, s);
            }
            Value::Number(n) => {
                submitted.insert(k, n.to_string());
            }
            _ => errors.push(FieldError {
                field: format!("values.{k}"),
                code: "invalid_type".into(),
                detail: "a value is a string (or a number)".into(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let t = store::complete(
        &state.db,
        id,
        &who.actor,
        &submitted,
        &onramp_kinds::ticket_csp::task_transition,
    )
    .await
    .map_err(|e| task_problem(e, "values."))?;
    tracing::info!(task = %id, connector = %t.connector_id, by = %who.actor, "ops task completed");
    Ok(Json(Task::from_row(t, Utc::now())))
}

/// Reject a task: the provider refused the order.
///
/// The connector is torn down (its PE configuration removed, its VLAN and
/// addresses released) and ends `failed` with the reason.
#[utoipa::path(post, path = "/v1/tasks/{id}/reject", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    request_body(content = RejectTask, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The task, rejected", body = Task),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
        (status = 409, description = "`claimed_by_other`, `task_closed`, `not_waiting` or `busy`", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "No reason, or too long", body = Problem, content_type = problem_json()),
    ))]
async fn reject_task(
    State(state): State<AppState>,
    Ops(who): Ops,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Task>, Problem> {
    let id = parse_id(&id, "task")?;
    let body: RejectTask = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let t = store::reject(
        &state.db,
        id,
        &who.actor,
        &body.reason,
        &onramp_kinds::ticket_csp::task_transition,
    )
    .await?;
    tracing::info!(task = %id, connector = %t.connector_id, by = %who.actor, "ops task rejected");
    Ok(Json(Task::from_row(t, Utc::now())))
}

/// Add a note to a task (any state).
#[utoipa::path(post, path = "/v1/tasks/{id}/notes", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    request_body(content = NewNote, content_type = "application/json"),
    security(("api_key" = [])),
    responses(
        (status = 201, description = "The note", body = Note),
        MalformedJson,
        Unauthenticated,
        (status = 403, description = "Not an ops or admin key", body = Problem, content_type = problem_json()),
        (status = 404, description = "No such task", body = Problem, content_type = problem_json()),
        NotJson,
        (status = 422, description = "Blank or too long", body = Problem, content_type = problem_json()),
    ))]
async fn add_note(
    State(state): State<AppState>,
    Ops(who): Ops,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Note>), Problem> {
    let id = parse_id(&id, "task")?;
    let body: NewNote = crate::body::from_value(crate::body::json_object(&headers, &body)?)?;
    let n = store::add_note(&state.db, id, &who.actor, &body.text).await?;
    Ok((StatusCode::CREATED, Json(n.into())))
}
