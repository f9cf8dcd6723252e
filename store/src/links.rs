//! Links: the intent the API commits (the link, its RD/RT, its members, the
//! first job) in one transaction, the reads the API and the worker need, and
//! the guarded step commit of the link worker.
//!
//! "A connector belongs to at most one link" is the partial unique index
//! `ux_link_members_live_connector` (migration m0004): two concurrent joins
//! of one connector cannot both commit, whatever the code checked before.

pub mod sla;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::connectors::Mode;
use crate::db::retry_contention;
use crate::entity::{allocation, connector, link, link_event, link_member};
use crate::jobs::{LINK_SUBJECT, LinkJob};
use crate::{Error, Result, alloc, outbox};

/// Member states (the reconciler's `MemberState` names; the store does not
/// know the machines).
pub const JOINING: &str = "joining";
pub const JOINED: &str = "joined";
pub const LEAVING: &str = "leaving";
pub const LEFT: &str = "left";
pub const REMOVED: &str = "removed";

pub const CONFIGURING: &str = "configuring";
pub const ACTIVE: &str = "active";
pub const DELETING: &str = "deleting";
pub const DELETED: &str = "deleted";

/// Why a change to a link is refused. `index` is the position of the
/// connector in the request, so the API can name `connectors[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, or another tenant's: the caller cannot tell which.
    ConnectorNotFound { index: usize, connector: Uuid },
    ConnectorNotActive {
        index: usize,
        connector: Uuid,
        state: String,
    },
    ConnectorInLink {
        index: usize,
        connector: Uuid,
        link: Uuid,
    },
    /// The link is being deleted or is gone.
    LinkNotChangeable { link: Uuid, state: String },
    /// The connector is not a live member of the link.
    NotAMember { connector: Uuid },
}

/// A link with its members (every membership, oldest first).
#[derive(Clone, Debug)]
pub struct LinkView {
    pub link: link::Model,
    pub members: Vec<link_member::Model>,
}

pub fn vrf_name(id: Uuid) -> String {
    format!("lnk-{}", &id.simple().to_string()[..8])
}

/// Creates a link of `connectors` (already checked for count and
/// duplicates): RD/RT allocated, members `joining`, first event and job, in
/// one transaction. A dry run does it all and rolls back, so the plan shows
/// the RT an order placed now would get.
pub async fn create(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    name: &str,
    connectors: &[Uuid],
    sla: &sla::SlaSettings,
    mode: Mode,
) -> Result<std::result::Result<LinkView, Refusal>> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        for (index, c) in connectors.iter().enumerate() {
            if let Err(r) = check_joinable(&tx, tenant_id, index, *c).await? {
                tx.rollback().await?;
                return Ok(Err(r));
            }
        }
        let id = Uuid::new_v4();
        let now = Utc::now();
        let (admin, n, scope) =
            alloc::route_target_scoped(&tx, alloc::Owner::Tenant(tenant_id)).await?;
        let link = link::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            name: Set(name.to_string()),
            state: Set(CONFIGURING.into()),
            waiting_on: Set("onramp".into()),
            vrf_name: Set(vrf_name(id)),
            route_distinguisher: Set(format!("{admin}:{n}")),
            route_target: Set(format!("target:{admin}:{n}")),
            rt_scope: Set(scope),
            rt_value: Set(n as i64),
            step: Set(0),
            last_error: Set(None),
            lease_holder: Set(None),
            lease_until_ms: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            sla: Set(sla.to_json()),
            sla_breach: Set(None),
        }
        .insert(&tx)
        .await?;
        let mut members = Vec::new();
        for c in connectors {
            members.push(insert_member(&tx, id, *c).await?);
        }
        if mode == Mode::DryRun {
            tx.rollback().await?;
            return Ok(Ok(LinkView { link, members }));
        }
        record(
            &tx,
            id,
            0,
            "ordered",
            None,
            CONFIGURING,
            &format!(
                "link of {} connectors ordered: VRF {}, route target {}",
                connectors.len(),
                link.vrf_name,
                link.route_target
            ),
            "customer",
        )
        .await?;
        enqueue(&tx, id, 0).await?;
        tx.commit().await?;
        Ok(Ok(LinkView { link, members }))
    })
    .await
}

/// Adds `connector` to the link (member `joining`, link `configuring`).
pub async fn add_member(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    link_id: Uuid,
    connector: Uuid,
    mode: Mode,
) -> Result<std::result::Result<LinkView, Refusal>> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let link = get_for_tenant(&tx, tenant_id, link_id).await?;
        if let Err(r) = changeable(&link) {
            tx.rollback().await?;
            return Ok(Err(r));
        }
        if let Err(r) = check_joinable(&tx, tenant_id, 0, connector).await? {
            tx.rollback().await?;
            return Ok(Err(r));
        }
        insert_member(&tx, link_id, connector).await?;
        let step = advance(&tx, &link, CONFIGURING).await?;
        let view = view(&tx, link_id).await?;
        if mode == Mode::DryRun {
            tx.rollback().await?;
            return Ok(Ok(view));
        }
        record(
            &tx,
            link_id,
            step,
            "member_added",
            Some(connector),
            CONFIGURING,
            &format!("connector {connector} joins the link"),
            "customer",
        )
        .await?;
        enqueue(&tx, link_id, step).await?;
        tx.commit().await?;
        Ok(Ok(view))
    })
    .await
}

/// Takes `connector` out of the link (member `leaving`, link `configuring`).
pub async fn remove_member(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    link_id: Uuid,
    connector: Uuid,
    mode: Mode,
) -> Result<std::result::Result<LinkView, Refusal>> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let link = get_for_tenant(&tx, tenant_id, link_id).await?;
        if let Err(r) = changeable(&link) {
            tx.rollback().await?;
            return Ok(Err(r));
        }
        let updated = link_member::Entity::update_many()
            .col_expr(link_member::Column::State, Expr::value(LEAVING))
            .col_expr(link_member::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(link_member::Column::LinkId.eq(link_id))
            .filter(link_member::Column::ConnectorId.eq(connector))
            .filter(link_member::Column::State.is_in([JOINING, JOINED]))
            .exec(&tx)
            .await?;
        if updated.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(Err(Refusal::NotAMember { connector }));
        }
        let step = advance(&tx, &link, CONFIGURING).await?;
        let view = view(&tx, link_id).await?;
        if mode == Mode::DryRun {
            tx.rollback().await?;
            return Ok(Ok(view));
        }
        record(
            &tx,
            link_id,
            step,
            "member_removal_requested",
            Some(connector),
            CONFIGURING,
            &format!("connector {connector} leaves the link: back to the tenant's VRF"),
            "customer",
        )
        .await?;
        enqueue(&tx, link_id, step).await?;
        tx.commit().await?;
        Ok(Ok(view))
    })
    .await
}

/// Deletes the link: every live member `leaving`, the link `deleting`. A
/// link already deleting answers as it is (a repeated DELETE).
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    link_id: Uuid,
    mode: Mode,
) -> Result<LinkView> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let link = get_for_tenant(&tx, tenant_id, link_id).await?;
        if matches!(link.state.as_str(), DELETING | DELETED) {
            tx.rollback().await?;
            return view(db, link_id).await;
        }
        link_member::Entity::update_many()
            .col_expr(link_member::Column::State, Expr::value(LEAVING))
            .col_expr(link_member::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(link_member::Column::LinkId.eq(link_id))
            .filter(link_member::Column::State.is_in([JOINING, JOINED]))
            .exec(&tx)
            .await?;
        let step = advance(&tx, &link, DELETING).await?;
        let view = view(&tx, link_id).await?;
        if mode == Mode::DryRun {
            tx.rollback().await?;
            return Ok(view);
        }
        record(
            &tx,
            link_id,
            step,
            "delete_requested",
            None,
            DELETING,
            "link deletion requested: members go back to the tenant's VRF, then the link's VRF is removed",
            "customer",
        )
        .await?;
        enqueue(&tx, link_id, step).await?;
        tx.commit().await?;
        Ok(view)
    })
    .await
}

fn changeable(link: &link::Model) -> std::result::Result<(), Refusal> {
    if matches!(link.state.as_str(), DELETING | DELETED) {
        return Err(Refusal::LinkNotChangeable {
            link: link.id,
            state: link.state.clone(),
        });
    }
    Ok(())
}

async fn check_joinable<C: ConnectionTrait>(
    tx: &C,
    tenant_id: Uuid,
    index: usize,
    id: Uuid,
) -> Result<std::result::Result<(), Refusal>> {
    let Some(c) = connector::Entity::find_by_id(id)
        .filter(connector::Column::TenantId.eq(tenant_id))
        .one(tx)
        .await?
    else {
        return Ok(Err(Refusal::ConnectorNotFound {
            index,
            connector: id,
        }));
    };
    if c.state != "active" {
        return Ok(Err(Refusal::ConnectorNotActive {
            index,
            connector: id,
            state: c.state,
        }));
    }
    if let Some(m) = live_membership(tx, id).await? {
        return Ok(Err(Refusal::ConnectorInLink {
            index,
            connector: id,
            link: m.link_id,
        }));
    }
    Ok(Ok(()))
}

async fn insert_member<C: ConnectionTrait>(
    tx: &C,
    link_id: Uuid,
    connector_id: Uuid,
) -> Result<link_member::Model> {
    let now = Utc::now();
    Ok(link_member::ActiveModel {
        link_id: Set(link_id),
        connector_id: Set(connector_id),
        state: Set(JOINING.into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// Moves the link to `state` at the next step; returns that step. The step
/// is bumped in place rather than compared with what was read: a worker
/// committing meanwhile must not make the customer's request fail, and the
/// bump makes that worker's own commit (guarded by its step) a no-op, while
/// the job queued here carries on from the new step.
async fn advance<C: ConnectionTrait>(tx: &C, link: &link::Model, state: &str) -> Result<i64> {
    link::Entity::update_many()
        .col_expr(link::Column::State, Expr::value(state))
        .col_expr(link::Column::WaitingOn, Expr::value("onramp"))
        .col_expr(link::Column::Step, Expr::col(link::Column::Step).add(1))
        .col_expr(link::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(link::Column::Id.eq(link.id))
        .exec(tx)
        .await?;
    let now = link::Entity::find_by_id(link.id)
        .one(tx)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("link {}", link.id),
        })?;
    Ok(now.step)
}

/// The connector's live membership (any state but `removed`), if any.
pub async fn live_membership<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
) -> Result<Option<link_member::Model>> {
    Ok(link_member::Entity::find()
        .filter(link_member::Column::ConnectorId.eq(connector_id))
        .filter(link_member::Column::State.ne(REMOVED))
        .one(db)
        .await?)
}

/// The link whose VRF the connector's attachments are in now: its
/// membership is `joined` or `leaving` (a `joining` member is still in the
/// tenant's VRF, a `left` one is back there).
pub async fn vrf_link_of<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
) -> Result<Option<link::Model>> {
    let Some(m) = link_member::Entity::find()
        .filter(link_member::Column::ConnectorId.eq(connector_id))
        .filter(link_member::Column::State.is_in([JOINED, LEAVING]))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(link::Entity::find_by_id(m.link_id).one(db).await?)
}

/// Ends the connector's membership when the connector itself is torn down
/// (its teardown removed its attachment from whichever VRF it was in), in
/// the transaction that releases the connector's resources.
pub(crate) async fn end_membership_of<C: ConnectionTrait>(
    tx: &C,
    connector_id: Uuid,
) -> Result<()> {
    let Some(m) = live_membership(tx, connector_id).await? else {
        return Ok(());
    };
    link_member::Entity::update_many()
        .col_expr(link_member::Column::State, Expr::value(REMOVED))
        .col_expr(link_member::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(link_member::Column::Id.eq(m.id))
        .exec(tx)
        .await?;
    if let Some(l) = link::Entity::find_by_id(m.link_id).one(tx).await? {
        record(
            tx,
            l.id,
            l.step,
            "member_deprovisioned",
            Some(connector_id),
            &l.state,
            &format!("connector {connector_id} was deleted; it is no longer in the link"),
            "onramp",
        )
        .await?;
    }
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<link::Model>> {
    Ok(link::Entity::find_by_id(id).one(db).await?)
}

async fn get_for_tenant<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<link::Model> {
    link::Entity::find_by_id(id)
        .filter(link::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("link {id}"),
        })
}

/// A link `tenant` may read (any when `None`), with its members.
pub async fn get_scoped(
    db: &DatabaseConnection,
    tenant: Option<Uuid>,
    id: Uuid,
) -> Result<LinkView> {
    let mut q = link::Entity::find_by_id(id);
    if let Some(t) = tenant {
        q = q.filter(link::Column::TenantId.eq(t));
    }
    q.one(db).await?.ok_or_else(|| Error::NotFound {
        what: format!("link {id}"),
    })?;
    view(db, id).await
}

pub async fn view<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<LinkView> {
    let link = link::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("link {id}"),
        })?;
    let members = link_member::Entity::find()
        .filter(link_member::Column::LinkId.eq(id))
        .order_by_asc(link_member::Column::Id)
        .all(db)
        .await?;
    Ok(LinkView { link, members })
}

/// Up to `limit` links, newest first, after the previous page's last
/// (`created_at`, `id`); `tenant` None reads every tenant's.
pub async fn list_page(
    db: &DatabaseConnection,
    tenant: Option<Uuid>,
    states: &[String],
    after: Option<(chrono::DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<LinkView>> {
    let mut q = link::Entity::find();
    if let Some(t) = tenant {
        q = q.filter(link::Column::TenantId.eq(t));
    }
    if !states.is_empty() {
        q = q.filter(link::Column::State.is_in(states.to_vec()));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            Condition::any().add(link::Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(link::Column::CreatedAt.eq(at))
                    .add(link::Column::Id.lt(id)),
            ),
        );
    }
    let links = q
        .order_by_desc(link::Column::CreatedAt)
        .order_by_desc(link::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(links.len());
    for l in links {
        out.push(view(db, l.id).await?);
    }
    Ok(out)
}

pub async fn events(db: &DatabaseConnection, link_id: Uuid) -> Result<Vec<link_event::Model>> {
    Ok(link_event::Entity::find()
        .filter(link_event::Column::LinkId.eq(link_id))
        .order_by_asc(link_event::Column::Id)
        .all(db)
        .await?)
}

/// What a worker step commits.
#[derive(Clone, Debug, Default)]
pub struct StepCommit {
    pub expected_step: i64,
    /// (connector, new member state)
    pub member: Option<(Uuid, String)>,
    pub link_state: Option<String>,
    pub event: String,
    pub message: String,
    pub actor: String,
    /// Whether another step follows (a job is queued for it).
    pub more: bool,
    /// The link is deleted: give its RD/RT back.
    pub release_route_target: bool,
    pub lease_holder: String,
}

/// Persists one worker step if the link is still at `expected_step`:
/// member state, link state, event, RD/RT release and the next job, in one
/// transaction. False (nothing changed) when the link moved on meanwhile.
pub async fn commit_step(db: &DatabaseConnection, link_id: Uuid, s: &StepCommit) -> Result<bool> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let Some(link) = link::Entity::find_by_id(link_id).one(&tx).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        let next = s.expected_step + 1;
        let state = s.link_state.clone().unwrap_or(link.state.clone());
        let waiting_on = if matches!(state.as_str(), ACTIVE | DELETED) {
            "nobody"
        } else {
            "onramp"
        };
        let res = link::Entity::update_many()
            .col_expr(link::Column::State, Expr::value(state.clone()))
            .col_expr(link::Column::WaitingOn, Expr::value(waiting_on))
            .col_expr(link::Column::Step, Expr::value(next))
            .col_expr(link::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(link::Column::UpdatedAt, Expr::value(Utc::now()))
            .col_expr(
                link::Column::LeaseHolder,
                Expr::value(Option::<String>::None),
            )
            .col_expr(link::Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .filter(link::Column::Id.eq(link_id))
            .filter(link::Column::Step.eq(s.expected_step))
            .exec(&tx)
            .await?;
        if res.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some((c, m_state)) = &s.member {
            link_member::Entity::update_many()
                .col_expr(link_member::Column::State, Expr::value(m_state.clone()))
                .col_expr(link_member::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(link_member::Column::LinkId.eq(link_id))
                .filter(link_member::Column::ConnectorId.eq(*c))
                .filter(link_member::Column::State.ne(REMOVED))
                .exec(&tx)
                .await?;
        }
        if s.release_route_target {
            allocation::Entity::delete_many()
                .filter(allocation::Column::Resource.eq(alloc::ROUTE_TARGET))
                .filter(allocation::Column::Scope.eq(link.rt_scope.clone()))
                .filter(allocation::Column::Value.eq(link.rt_value))
                .filter(allocation::Column::TenantId.eq(link.tenant_id))
                .exec(&tx)
                .await?;
        }
        record(
            &tx,
            link_id,
            next,
            &s.event,
            s.member.as_ref().map(|(c, _)| *c),
            &state,
            &s.message,
            &s.actor,
        )
        .await?;
        if s.more {
            enqueue(&tx, link_id, next).await?;
        }
        tx.commit().await?;
        Ok(true)
    })
    .await
}

/// Records why the current step is being retried, without moving it.
pub async fn set_last_error(
    db: &DatabaseConnection,
    id: Uuid,
    step: i64,
    error: &str,
) -> Result<()> {
    link::Entity::update_many()
        .col_expr(
            link::Column::LastError,
            Expr::value(Some(error.to_string())),
        )
        .filter(link::Column::Id.eq(id))
        .filter(link::Column::Step.eq(step))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the link's lease (one step at a time per link) unless another
/// holder has an unexpired one.
pub async fn try_lease(
    db: &DatabaseConnection,
    id: Uuid,
    holder: &str,
    duration: std::time::Duration,
) -> Result<bool> {
    LEASE.take(db, id, holder, duration).await
}

pub async fn release_lease(db: &DatabaseConnection, id: Uuid, holder: &str) -> Result<()> {
    LEASE.release(db, id, holder).await
}

const LEASE: crate::lease::Lease<link::Entity> = crate::lease::Lease::<link::Entity> {
    id: link::Column::Id,
    until_ms: link::Column::LeaseUntilMs,
    holder: link::Column::LeaseHolder,
};

#[allow(clippy::too_many_arguments)]
async fn record<C: ConnectionTrait>(
    db: &C,
    link_id: Uuid,
    step: i64,
    event: &str,
    connector_id: Option<Uuid>,
    state: &str,
    message: &str,
    actor: &str,
) -> Result<()> {
    link_event::ActiveModel {
        link_id: Set(link_id),
        step: Set(step),
        event: Set(event.into()),
        connector_id: Set(connector_id),
        state: Set(state.into()),
        message: Set(message.into()),
        actor: Set(actor.into()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Queues the link's job for `step` in the caller's transaction (the PE
/// writer wakes a link whose router change it has settled).
pub async fn enqueue<C: ConnectionTrait>(db: &C, link_id: Uuid, step: i64) -> Result<()> {
    let job = LinkJob { link_id, step };
    outbox::push(
        db,
        LINK_SUBJECT,
        &serde_json::to_string(&job).expect("job serializes"),
    )
    .await
}
