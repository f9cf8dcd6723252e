//! Ops tasks: the manual steps of `ticket-csp` connectors, done by people
//! (issue 6). The REST API (`/v1/tasks`) and the ops console call these
//! functions directly; each one is a single write transaction that also
//! records who did what in `ops_audit`.
//!
//! Life of a task:
//!
//! ```text
//!   worker: open_task job ──> open ──claim──> claimed ──complete──> completed
//!                              │  <─unclaim──  │     └──reject───> rejected
//!                              ├──complete / reject (unclaimed: the actor takes it)
//!                              └── connector torn down ──> cancelled
//! ```
//!
//! Rules, so that two people never fight over one task:
//! - `claim` takes an open task; claiming your own claimed task again is a
//!   no-op; someone else's claim is a [`TaskError::Conflict`]
//!   (`claimed_by_other`).
//! - `unclaim` hands a claimed task back. Only its claimer may, unless
//!   `force` is set (a shift lead freeing the task of someone who left);
//!   a forced unclaim is audited with whose claim it broke.
//! - `complete` and `reject` work on an open task (the actor takes it in
//!   the same transaction) or on one the actor claimed; never on someone
//!   else's claim, never on a closed task.
//! - Notes can be added in any state, closed tasks included.
//!
//! Completing validates the submitted values against the step's field specs
//! (the runbook snapshotted with the connector) and refuses with every bad
//! field named ([`TaskError::Invalid`]), changing nothing. A valid
//! completion, in ONE transaction: closes the task, stores the normalised
//! values in the connector's params (and the provider's VLAN, peer address
//! and ASN in its resources, re-allocating the VLAN on the port), records
//! the audit row, and commits the machine's `task_completed` transition
//! with its next job in the outbox, exactly as a delete request is
//! committed. Rejecting commits `task_rejected`: the connector tears down
//! and ends `failed` with the reason.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use onramp_state_machines::ticket_runbook::{self, ManualStep};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::connectors::{Transition, apply_transition};
use crate::db::{begin_write, retry_contention};
use crate::entity::{allocation, connector, nni, ops_audit, ops_task, ops_task_note, tenant};
use crate::model::{
    Resources, TICKET_PROVIDER_ASN, TICKET_PROVIDER_PEER_IP, TICKET_PROVIDER_VLAN, TicketCspParams,
};
use crate::{Error, alloc};

pub const OPEN: &str = "open";
pub const CLAIMED: &str = "claimed";
pub const COMPLETED: &str = "completed";
pub const REJECTED: &str = "rejected";
pub const CANCELLED: &str = "cancelled";
/// Every task state, in lifecycle order.
pub const STATES: [&str; 5] = [OPEN, CLAIMED, COMPLETED, REJECTED, CANCELLED];
/// The states in which a task still waits for a person.
pub const ACTIVE: [&str; 2] = [OPEN, CLAIMED];

/// The actor recorded for what onramp itself does to tasks (opening them,
/// cancelling them on teardown).
pub const ONRAMP: &str = "onramp";

/// Longest reject reason and note, in characters.
pub const MAX_TEXT: usize = 4000;

// ===== errors =====

/// One submitted value (or body field) that was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIssue {
    /// The field's name: a runbook field name for `complete`, `reason` or
    /// `text` for reject and notes.
    pub field: String,
    pub code: String,
    pub detail: String,
}

/// Why a task action was refused. The API maps these to problems: 404,
/// 409 with `code`, 422 naming the fields.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// The task or its connector is not in a state that allows the action:
    /// `task_closed`, `claimed_by_other`, `not_claimed`, `not_waiting`
    /// (the connector moved on), `busy` (it kept moving; retry).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The input is invalid; nothing was changed.
    #[error("invalid: {}", .0.iter().map(|i| format!("{}: {}", i.field, i.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldIssue>),
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sea_orm::DbErr> for TaskError {
    fn from(e: sea_orm::DbErr) -> Self {
        TaskError::Store(Error::Db(e))
    }
}

pub type TaskResult<T> = std::result::Result<T, TaskError>;

fn conflict(code: &'static str, message: impl Into<String>) -> TaskError {
    TaskError::Conflict {
        code,
        message: message.into(),
    }
}

fn invalid(field: &str, code: &str, detail: impl Into<String>) -> TaskError {
    TaskError::Invalid(vec![FieldIssue {
        field: field.into(),
        code: code.into(),
        detail: detail.into(),
    }])
}

// ===== reads =====

/// Which tasks [`list`] shows. Every filter given must hold.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    /// Only this tenant's connectors' tasks; `None`: every tenant's.
    pub tenant: Option<Uuid>,
    /// Only this provider's (its key, e.g. `oracle-fastconnect`).
    pub provider: Option<String>,
    /// Any of these states; empty: the active ones (open, claimed).
    pub states: Vec<String>,
    /// Only active tasks past their `due_at`.
    pub overdue_only: bool,
    /// Only tasks claimed by this actor (`user <email>`, `key …`): a
    /// person's own work list.
    pub claimed_by: Option<String>,
}

/// Up to `limit` tasks matching `f`, soonest due first, strictly after the
/// sort key `after` (`due_at`, `id`) of the previous page's last task.
///
/// Soonest due first is overdue first: an overdue task is one whose
/// `due_at` has passed, so overdue tasks lead the list, most overdue first,
/// and the order stays stable between pages as time passes (a cursor on
/// `due_at` never skips a task that became overdue meanwhile). `now` is
/// the clock for `overdue_only`.
pub async fn list(
    db: &DatabaseConnection,
    f: &TaskFilter,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> crate::Result<Vec<ops_task::Model>> {
    use sea_orm::Condition;
    let mut q = ops_task::Entity::find();
    if let Some(t) = f.tenant {
        q = q.filter(ops_task::Column::TenantId.eq(t));
    }
    if let Some(p) = &f.provider {
        q = q.filter(ops_task::Column::Provider.eq(p.clone()));
    }
    let states: Vec<String> = if f.states.is_empty() {
        ACTIVE
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    } else {
        f.states.clone()
    };
    q = q.filter(ops_task::Column::State.is_in(states));
    if let Some(who) = &f.claimed_by {
        q = q.filter(ops_task::Column::ClaimedBy.eq(who.clone()));
    }
    if f.overdue_only {
        q = q
            .filter(ops_task::Column::State.is_in(ACTIVE))
            .filter(ops_task::Column::DueAt.lt(now));
    }
    if let Some((due, id)) = after {
        q = q.filter(
            Condition::any().add(ops_task::Column::DueAt.gt(due)).add(
                Condition::all()
                    .add(ops_task::Column::DueAt.eq(due))
                    .add(ops_task::Column::Id.gt(id)),
            ),
        );
    }
    Ok(q.order_by_asc(ops_task::Column::DueAt)
        .order_by_asc(ops_task::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Whether `task` waits for a person past its SLA at `now`.
pub fn is_overdue(task: &ops_task::Model, now: DateTime<Utc>) -> bool {
    ACTIVE.contains(&task.state.as_str()) && task.due_at < now
}

/// How many tasks of each ticket provider wait past their SLA at `now`
/// (the console's `overdue`, counted), every provider listed, with 0 when
/// none of its tasks is late.
pub async fn overdue_by_provider(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> crate::Result<Vec<(String, u64)>> {
    let late: Vec<(String, i64)> = ops_task::Entity::find()
        .select_only()
        .column(ops_task::Column::Provider)
        .column_as(ops_task::Column::Id.count(), "late")
        .filter(ops_task::Column::State.is_in(ACTIVE))
        .filter(ops_task::Column::DueAt.lt(now))
        .group_by(ops_task::Column::Provider)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_provider: BTreeMap<String, u64> = crate::ticket_providers::list(db)
        .await?
        .into_iter()
        .map(|p| (p.key, 0))
        .collect();
    for (provider, n) in late {
        by_provider.insert(provider, u64::try_from(n).unwrap_or_default());
    }
    Ok(by_provider.into_iter().collect())
}

/// A task with what a person needs to do it.
#[derive(Clone, Debug)]
pub struct TaskDetail {
    pub task: ops_task::Model,
    pub connector: connector::Model,
    pub tenant_name: String,
    /// The provider's display name.
    pub provider_name: String,
    /// The NNI the connector sits on.
    pub nni: nni::Model,
    /// What onramp allocated (and, once tasks completed, what the provider
    /// assigned): PE, port, VLAN, subnet, addresses, ASNs.
    pub resources: Resources,
    /// The step of the runbook snapshot: title, instructions, field specs, SLA.
    pub step: ManualStep,
    /// How many manual steps the connector's runbook has.
    pub steps: usize,
    /// Values earlier tasks of the connector recorded.
    pub values_so_far: BTreeMap<String, String>,
    /// Oldest first.
    pub notes: Vec<ops_task_note::Model>,
    /// Oldest first.
    pub audit: Vec<ops_audit::Model>,
}

/// One task with its context, notes and audit trail. `tenant` `Some`
/// narrows to that tenant's (another tenant's task reads as not found).
pub async fn get(
    db: &DatabaseConnection,
    id: Uuid,
    tenant: Option<Uuid>,
) -> TaskResult<TaskDetail> {
    let task = find(db, id).await?;
    if tenant.is_some_and(|t| t != task.tenant_id) {
        return Err(not_found(id));
    }
    let connector = crate::connectors::get(db, task.connector_id)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("task {id} has no connector")))?;
    let params = TicketCspParams::from_json(&connector.params)?;
    let step = step_of(&params, &task)?.clone();
    let tenant_name = tenant::Entity::find_by_id(task.tenant_id)
        .one(db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let nni = crate::inventory::nni(db, connector.nni_id).await?;
    let resources = Resources::from_json(&connector.resources)?;
    let notes = ops_task_note::Entity::find()
        .filter(ops_task_note::Column::TaskId.eq(id))
        .order_by_asc(ops_task_note::Column::Id)
        .all(db)
        .await?;
    let audit = ops_audit::Entity::find()
        .filter(ops_audit::Column::TaskId.eq(id))
        .order_by_asc(ops_audit::Column::Id)
        .all(db)
        .await?;
    Ok(TaskDetail {
        steps: params.runbook.steps.len(),
        provider_name: params.provider_name.clone(),
        values_so_far: params.values.clone(),
        task,
        connector,
        tenant_name,
        nni,
        resources,
        step,
        notes,
        audit,
    })
}

/// The open or claimed task of a connector, if any: the step it waits on.
pub async fn active_for_connector<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
) -> crate::Result<Option<ops_task::Model>> {
    Ok(ops_task::Entity::find()
        .filter(ops_task::Column::ConnectorId.eq(connector_id))
        .filter(ops_task::Column::State.is_in(ACTIVE))
        .order_by_asc(ops_task::Column::StepIndex)
        .one(db)
        .await?)
}

/// Every audit record of a connector's tasks, oldest first.
pub async fn audit_of_connector(
    db: &DatabaseConnection,
    connector_id: Uuid,
) -> crate::Result<Vec<ops_audit::Model>> {
    Ok(ops_audit::Entity::find()
        .filter(ops_audit::Column::ConnectorId.eq(connector_id))
        .order_by_asc(ops_audit::Column::Id)
        .all(db)
        .await?)
}

fn not_found(id: Uuid) -> TaskError {
    TaskError::NotFound {
        what: format!("task {id}"),
    }
}

async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> TaskResult<ops_task::Model> {
    ops_task::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(id))
}

fn step_of<'a>(
    params: &'a TicketCspParams,
    task: &ops_task::Model,
) -> crate::Result<&'a ManualStep> {
    params
        .runbook
        .steps
        .get(task.step_index as usize)
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "task {} is for step {} of a runbook with {} steps",
                task.id,
                task.step_index,
                params.runbook.steps.len()
            ))
        })
}

// ===== people's actions =====

/// Claims task `id` for `actor`: "I am on it". Claiming a task you already
/// hold is a no-op (not audited again).
pub async fn claim(db: &DatabaseConnection, id: Uuid, actor: &str) -> TaskResult<ops_task::Model> {
    let actor = actor.to_string();
    in_write(db, move |tx| {
        let actor = actor.clone();
        Box::pin(async move {
            let actor = actor.as_str();
            let task = find(tx, id).await?;
            match task.state.as_str() {
                OPEN => {}
                CLAIMED if task.claimed_by.as_deref() == Some(actor) => return Ok(task),
                CLAIMED => return Err(claimed_by_other(&task)),
                _ => return Err(closed(&task)),
            }
            let now = Utc::now();
            let task = ops_task::ActiveModel {
                id: Set(id),
                state: Set(CLAIMED.into()),
                claimed_by: Set(Some(actor.into())),
                claimed_at: Set(Some(now)),
                ..Default::default()
            }
            .update(tx)
            .await?;
            audit(tx, &task, actor, "claim", serde_json::json!({})).await?;
            Ok(task)
        })
    })
    .await
}

/// Hands a claimed task back (state `open`). Only its claimer may, unless
/// `force`; unclaiming an open task is a no-op.
pub async fn unclaim(
    db: &DatabaseConnection,
    id: Uuid,
    actor: &str,
    force: bool,
) -> TaskResult<ops_task::Model> {
    let actor = actor.to_string();
    in_write(db, move |tx| {
        let actor = actor.clone();
        Box::pin(async move {
            let actor = actor.as_str();
            let task = find(tx, id).await?;
            match task.state.as_str() {
                OPEN => return Ok(task),
                CLAIMED => {}
                _ => return Err(closed(&task)),
            }
            let was = task.claimed_by.clone().unwrap_or_default();
            if was != actor && !force {
                return Err(claimed_by_other(&task));
            }
            let task = ops_task::ActiveModel {
                id: Set(id),
                state: Set(OPEN.into()),
                claimed_by: Set(None),
                claimed_at: Set(None),
                ..Default::default()
            }
            .update(tx)
            .await?;
            let detail = if was == actor {
                serde_json::json!({})
            } else {
                serde_json::json!({"forced": true, "was_claimed_by": was})
            };
            audit(tx, &task, actor, "unclaim", detail).await?;
            Ok(task)
        })
    })
    .await
}

/// Completes task `id` with the values `actor` submitted (field name →
/// raw text), then moves the connector on. See the module docs.
///
/// Refused, changing nothing: [`TaskError::Invalid`] naming every bad
/// field (by its runbook name); [`TaskError::Conflict`] when the task is
/// closed or claimed by someone else, or the connector no longer waits on
/// this step.
pub async fn complete(
    db: &DatabaseConnection,
    id: Uuid,
    actor: &str,
    submitted: &BTreeMap<String, String>,
    decide: &'static Decide,
) -> TaskResult<ops_task::Model> {
    let (actor, submitted) = (actor.to_string(), submitted.clone());
    in_write(db, move |tx| {
        let (actor, submitted) = (actor.clone(), submitted.clone());
        Box::pin(async move {
            let actor = actor.as_str();
            let submitted = &submitted;
            let task = actionable(tx, id, actor).await?;
            let row = crate::connectors::get(tx, task.connector_id)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("task {id} has no connector")))?;
            let mut params = TicketCspParams::from_json(&row.params)?;
            let step = step_of(&params, &task)?;
            let values = ticket_runbook::validate(&step.fields, submitted).map_err(|errs| {
                TaskError::Invalid(
                    errs.into_iter()
                        .map(|e| FieldIssue {
                            field: e.field,
                            code: e.code.into(),
                            detail: e.detail,
                        })
                        .collect(),
                )
            })?;
            let mut res = Resources::from_json(&row.resources)?;
            apply_provider_values(tx, &row, &mut res, &values).await?;
            params.values.extend(values.clone());

            let step_index = task.step_index as usize;
            let outcome = TaskOutcome::Completed { step_index };
            let mut t = machine_transition(&row, outcome, actor, decide)?;
            t.params = Some(serde_json::to_string(&params).expect("params serialize"));
            t.resources = Some(serde_json::to_string(&res).expect("resources serialize"));
            let task = close(tx, &task, actor, COMPLETED, Some(&values), None).await?;
            audit(
                tx,
                &task,
                actor,
                "complete",
                serde_json::json!({"values": values}),
            )
            .await?;
            if !apply_transition(tx, row.id, &t).await? {
                return Err(conflict(
                    "busy",
                    format!(
                        "connector {} changed while the task was being completed; retry",
                        row.id
                    ),
                ));
            }
            Ok(task)
        })
    })
    .await
}

/// Rejects task `id`: the provider refused the order, for `reason`. The
/// connector is torn down (PE config removed, resources released) and ends
/// `failed` with the reason.
pub async fn reject(
    db: &DatabaseConnection,
    id: Uuid,
    actor: &str,
    reason: &str,
    decide: &'static Decide,
) -> TaskResult<ops_task::Model> {
    let reason = check_text("reason", reason)?;
    let actor = actor.to_string();
    in_write(db, move |tx| {
        let (actor, reason) = (actor.clone(), reason.clone());
        Box::pin(async move {
            let actor = actor.as_str();
            let task = actionable(tx, id, actor).await?;
            let row = crate::connectors::get(tx, task.connector_id)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("task {id} has no connector")))?;
            let outcome = TaskOutcome::Rejected {
                step_index: task.step_index as usize,
                reason: &reason,
            };
            let t = machine_transition(&row, outcome, actor, decide)?;
            let task = close(tx, &task, actor, REJECTED, None, Some(&reason)).await?;
            audit(
                tx,
                &task,
                actor,
                "reject",
                serde_json::json!({"reason": reason}),
            )
            .await?;
            if !apply_transition(tx, row.id, &t).await? {
                return Err(conflict(
                    "busy",
                    format!(
                        "connector {} changed while the task was being rejected; retry",
                        row.id
                    ),
                ));
            }
            Ok(task)
        })
    })
    .await
}

/// Adds a note by `actor` to task `id`, in any state.
pub async fn add_note(
    db: &DatabaseConnection,
    id: Uuid,
    actor: &str,
    text: &str,
) -> TaskResult<ops_task_note::Model> {
    let text = check_text("text", text)?;
    let actor = actor.to_string();
    in_write(db, move |tx| {
        let (actor, text) = (actor.clone(), text.clone());
        Box::pin(async move {
            let actor = actor.as_str();
            let task = find(tx, id).await?;
            let note = ops_task_note::ActiveModel {
                task_id: Set(id),
                author: Set(actor.into()),
                text: Set(text.clone()),
                at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            audit(tx, &task, actor, "note", serde_json::json!({"text": text})).await?;
            Ok(note)
        })
    })
    .await
}

// ===== onramp's side =====

/// Opens the task of manual step `step_index` of `row` (a `ticket-csp`
/// connector), due after the step's SLA. Idempotent: a task already there
/// for that step is returned as it is, whatever its state.
pub async fn open(
    db: &DatabaseConnection,
    row: &connector::Model,
    step_index: usize,
) -> crate::Result<ops_task::Model> {
    let params = TicketCspParams::from_json(&row.params)?;
    let step = params.runbook.steps.get(step_index).ok_or_else(|| {
        Error::Corrupt(format!(
            "connector {} has no manual step {step_index}",
            row.id
        ))
    })?;
    retry_contention(|| async {
        let tx = begin_write(db).await?;
        if let Some(t) = ops_task::Entity::find()
            .filter(ops_task::Column::ConnectorId.eq(row.id))
            .filter(ops_task::Column::StepIndex.eq(step_index as i32))
            .one(&tx)
            .await?
        {
            tx.rollback().await?;
            return Ok(t);
        }
        let now = Utc::now();
        let task = ops_task::ActiveModel {
            id: Set(Uuid::new_v4()),
            connector_id: Set(row.id),
            tenant_id: Set(row.tenant_id),
            provider: Set(params.provider.clone()),
            step_index: Set(step_index as i32),
            step_key: Set(step.key.clone()),
            title: Set(step.title.clone()),
            state: Set(OPEN.into()),
            claimed_by: Set(None),
            claimed_at: Set(None),
            due_at: Set(now + TimeDelta::hours(i64::from(step.sla_hours))),
            values: Set(None),
            reject_reason: Set(None),
            created_at: Set(now),
            closed_at: Set(None),
        }
        .insert(&tx)
        .await?;
        audit(
            &tx,
            &task,
            ONRAMP,
            "open",
            serde_json::json!({"step_index": step_index, "sla_hours": step.sla_hours}),
        )
        .await?;
        tx.commit().await?;
        Ok(task)
    })
    .await
}

/// Cancels every open or claimed task of a connector being torn down,
/// auditing each with `why`. Returns how many were cancelled (0 when run
/// again).
pub async fn cancel_active(
    db: &DatabaseConnection,
    connector_id: Uuid,
    why: &str,
) -> crate::Result<u64> {
    retry_contention(|| async {
        let tx = begin_write(db).await?;
        let active = ops_task::Entity::find()
            .filter(ops_task::Column::ConnectorId.eq(connector_id))
            .filter(ops_task::Column::State.is_in(ACTIVE))
            .all(&tx)
            .await?;
        let n = active.len() as u64;
        for task in active {
            let task = close(&tx, &task, ONRAMP, CANCELLED, None, None).await?;
            audit(
                &tx,
                &task,
                ONRAMP,
                "cancel",
                serde_json::json!({"why": why}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    })
    .await
}

// ===== helpers =====

/// Runs `f` in a write transaction, retried on contention; a refusal
/// (any [`TaskError`] but a contended store error) rolls back.
async fn in_write<T, F>(db: &DatabaseConnection, f: F) -> TaskResult<T>
where
    F: for<'a> Fn(
        &'a DatabaseTransaction,
    ) -> std::pin::Pin<Box<dyn Future<Output = TaskResult<T>> + Send + 'a>>,
{
    let out = retry_contention(|| async {
        let tx = begin_write(db).await?;
        match f(&tx).await {
            Ok(v) => {
                tx.commit().await?;
                Ok(Ok(v))
            }
            Err(TaskError::Store(e)) => {
                let _ = tx.rollback().await;
                Err(e)
            }
            Err(e) => {
                tx.rollback().await?;
                Ok(Err(e))
            }
        }
    })
    .await;
    match out {
        Ok(r) => r,
        Err(e) => Err(TaskError::Store(e)),
    }
}

/// The task, if `actor` may complete or reject it now.
async fn actionable<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    actor: &str,
) -> TaskResult<ops_task::Model> {
    let task = find(db, id).await?;
    match task.state.as_str() {
        OPEN => Ok(task),
        CLAIMED if task.claimed_by.as_deref() == Some(actor) => Ok(task),
        CLAIMED => Err(claimed_by_other(&task)),
        _ => Err(closed(&task)),
    }
}

fn claimed_by_other(task: &ops_task::Model) -> TaskError {
    conflict(
        "claimed_by_other",
        format!(
            "task {} is claimed by {}",
            task.id,
            task.claimed_by.as_deref().unwrap_or("someone else")
        ),
    )
}

fn closed(task: &ops_task::Model) -> TaskError {
    conflict(
        "task_closed",
        format!(
            "task {} is {}; it takes no more changes",
            task.id, task.state
        ),
    )
}

fn check_text(field: &str, text: &str) -> TaskResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(invalid(
            field,
            "required",
            format!("{field} must not be blank"),
        ));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(
            field,
            "too_long",
            format!("{field} must be at most {MAX_TEXT} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid(
            field,
            "invalid_text",
            format!("{field} contains control characters"),
        ));
    }
    Ok(t.to_string())
}

async fn close<C: ConnectionTrait>(
    db: &C,
    task: &ops_task::Model,
    actor: &str,
    state: &str,
    values: Option<&BTreeMap<String, String>>,
    reason: Option<&str>,
) -> crate::Result<ops_task::Model> {
    let now = Utc::now();
    let mut am = ops_task::ActiveModel {
        id: Set(task.id),
        state: Set(state.into()),
        closed_at: Set(Some(now)),
        ..Default::default()
    };
    if task.claimed_by.is_none() && state != CANCELLED {
        am.claimed_by = Set(Some(actor.into()));
        am.claimed_at = Set(Some(now));
    }
    if let Some(v) = values {
        am.values = Set(Some(serde_json::to_string(v).expect("values serialize")));
    }
    if let Some(r) = reason {
        am.reject_reason = Set(Some(r.into()));
    }
    Ok(am.update(db).await?)
}

async fn audit<C: ConnectionTrait>(
    db: &C,
    task: &ops_task::Model,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> crate::Result<()> {
    ops_audit::ActiveModel {
        task_id: Set(Some(task.id)),
        connector_id: Set(task.connector_id),
        actor: Set(actor.into()),
        action: Set(action.into()),
        detail: Set(detail.to_string()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What a person did with a task, for the connector's machine to answer.
#[derive(Clone, Copy, Debug)]
pub enum TaskOutcome<'a> {
    Completed { step_index: usize },
    Rejected { step_index: usize, reason: &'a str },
}

/// The connector's machine answering a task's outcome: the transition to
/// commit, or None when it ignores it. The caller runs the machine; the
/// store only persists its answer.
pub type Decide =
    dyn Fn(&connector::Model, TaskOutcome<'_>) -> crate::Result<Option<Transition>> + Send + Sync;

/// The connector's transition for a task's outcome, or a conflict when the
/// machine ignores it (the connector no longer waits on that step).
fn machine_transition(
    row: &connector::Model,
    outcome: TaskOutcome<'_>,
    actor: &str,
    decide: &Decide,
) -> TaskResult<Transition> {
    let Some(mut t) = decide(row, outcome)? else {
        return Err(conflict(
            "not_waiting",
            format!(
                "connector {} is {}, not waiting on this task's step",
                row.id, row.state
            ),
        ));
    };
    // The timeline is the customer's: it says ops did it; who exactly is in
    // ops_audit.
    t.actor = if actor == ONRAMP {
        ONRAMP.into()
    } else {
        "ops".into()
    };
    Ok(t)
}

/// Reshapes the connector's resources with what the provider assigned:
/// `provider_vlan` replaces the VLAN (re-allocated on the port, so nothing
/// else lands on it), `provider_peer_ip` becomes the provider's address
/// (our PE takes the other usable address of the provider's subnet unless
/// the provider used the /30 onramp allocated), `provider_asn` the peer ASN.
async fn apply_provider_values<C: ConnectionTrait>(
    tx: &C,
    row: &connector::Model,
    res: &mut Resources,
    values: &BTreeMap<String, String>,
) -> TaskResult<()> {
    if let Some(v) = values.get(TICKET_PROVIDER_VLAN) {
        let vlan: u16 = v
            .parse()
            .map_err(|_| Error::Corrupt(format!("normalised VLAN {v}")))?;
        if vlan != res.vlan {
            allocation::Entity::delete_many()
                .filter(allocation::Column::ConnectorId.eq(Some(row.id)))
                .filter(allocation::Column::Resource.eq(alloc::VLAN))
                .filter(allocation::Column::Scope.eq(res.port_id.to_string()))
                .exec(tx)
                .await?;
            alloc::vlan(
                tx,
                res.port_id,
                &res.port_name,
                (1, 4094),
                Some(vlan),
                alloc::Owner::Connector(row.id),
            )
            .await
            .map_err(|e| match e {
                Error::Conflict { message, .. } => invalid(
                    TICKET_PROVIDER_VLAN,
                    "vlan_in_use",
                    format!("{message}; ask the provider for another VLAN, or free it first"),
                ),
                other => other.into(),
            })?;
            res.vlan = vlan;
        }
    }
    if let Some(v) = values.get(TICKET_PROVIDER_PEER_IP) {
        let (ours, subnet) = our_side(v).ok_or_else(|| {
            invalid(
                TICKET_PROVIDER_PEER_IP,
                "unsupported_subnet",
                format!(
                    "{v}: onramp needs an IPv4 point-to-point subnet (/30 or /31) to take the other address of"
                ),
            )
        })?;
        res.csp_address = v.clone();
        res.pe_address = ours;
        res.subnet = subnet;
    }
    if let Some(v) = values.get(TICKET_PROVIDER_ASN) {
        let asn: u32 = v
            .parse()
            .map_err(|_| Error::Corrupt(format!("normalised ASN {v}")))?;
        if asn == res.asn {
            return Err(invalid(
                TICKET_PROVIDER_ASN,
                "same_as_local",
                format!(
                    "AS {asn} is the ASN onramp's PE speaks for this connector; the two sides need different ASNs"
                ),
            ));
        }
        res.csp_asn = asn;
    }
    Ok(())
}

/// Our PE's address (CIDR) and the subnet, given the provider's address
/// `theirs` (CIDR): in a /30 or /31 the address the provider did not take
/// (so in the /30 onramp allocated, with the provider on the second usable
/// address as asked, our PE keeps the first).
fn our_side(theirs: &str) -> Option<(String, String)> {
    let (ip, len) = theirs.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| (1..=32).contains(l))?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(ip) & mask;
    let subnet = format!("{}/{len}", std::net::Ipv4Addr::from(net));
    let ours = match len {
        31 => net + u32::from(u32::from(ip) == net),
        30 => {
            let first = net + 1;
            let second = net + 2;
            if u32::from(ip) == first {
                second
            } else if u32::from(ip) == second {
                first
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some((format!("{}/{len}", std::net::Ipv4Addr::from(ours)), subnet))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_side_takes_the_other_address() {
        assert_eq!(
            our_side("169.254.0.2/30"),
            Some(("169.254.0.1/30".into(), "169.254.0.0/30".into()))
        );
        assert_eq!(
            our_side("10.9.8.5/30"),
            Some(("10.9.8.6/30".into(), "10.9.8.4/30".into()))
        );
        assert_eq!(
            our_side("10.0.0.1/31"),
            Some(("10.0.0.0/31".into(), "10.0.0.0/31".into()))
        );
        // The network or broadcast address of a /30, or a bigger subnet.
        assert_eq!(our_side("10.0.0.0/30"), None);
        assert_eq!(our_side("10.0.0.3/30"), None);
        assert_eq!(our_side("10.0.0.1/29"), None);
        assert_eq!(our_side("2001:db8::1/127"), None);
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(
            check_text("reason", "  no capacity ").unwrap(),
            "no capacity"
        );
        assert!(
            matches!(check_text("reason", "  "), Err(TaskError::Invalid(i)) if i[0].code == "required")
        );
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(
            matches!(check_text("text", &long), Err(TaskError::Invalid(i)) if i[0].field == "text")
        );
    }
}
