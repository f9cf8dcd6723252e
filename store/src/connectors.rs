//! Connector rows: the order transaction, reads for the API, and the guarded
//! state transition every worker step and delete request goes through.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::db::retry_contention;
use crate::entity::{connector, connector_event, linknet_pool, nni, pe_port, pe_router};
use crate::jobs::{ConnectorJob, connector_subject};
use crate::model::{
    AsnSource, AwsHostedConnectionParams, AwsHostedVifParams, AzureExpressRouteParams, AzureLeg,
    AzureResources, GcpPartnerInterconnectParams, Resources, TicketCspParams,
};
use crate::{Error, Result, alloc, outbox};
use onramp_state_machines::ConnectorKind;

/// The state machine's starting point, computed by the caller (the store does
/// not know the machines).
#[derive(Clone, Debug)]
pub struct Initial {
    pub state: String,
    pub machine_state: String,
    pub waiting_on: String,
    pub first_action: Option<String>,
    pub note: String,
}

/// A transition to persist. Applied only if the connector is still at
/// `expected_step`; otherwise someone else moved it and the caller drops its
/// job.
#[derive(Clone, Debug, Default)]
pub struct Transition {
    pub expected_step: i64,
    pub state: String,
    pub machine_state: String,
    pub waiting_on: String,
    pub event: String,
    pub from_state: Option<String>,
    pub message: String,
    pub actor: String,
    pub next_action: Option<String>,
    /// `Some(x)` sets `csp_ref` to x.
    pub csp_ref: Option<Option<String>>,
    pub last_error: Option<String>,
    /// Free every allocation of the connector in the same transaction.
    pub release_resources: bool,
    /// `Some(json)` replaces the connector's resources (values learnt on
    /// the way, such as the addresses Google picked).
    pub resources: Option<String>,
    /// `Some(json)` replaces the connector's params (details the customer
    /// reported after the order).
    pub params: Option<String>,
    /// The worker lease to hand back with the commit, if the caller holds one.
    pub lease_holder: Option<String>,
    /// `Some(json)` replaces the connector's options (a settings change).
    pub options: Option<String>,
    /// `Some(x)` sets `pending_change` to x: a change starting, or ending.
    pub pending_change: Option<Option<String>>,
}

/// Whether an order is kept or only planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Commit,
    /// Allocate inside the transaction, then roll it back.
    DryRun,
}

/// Creates an `aws-hosted-vif` connector with its allocations, its first
/// timeline event and its first job, all in one transaction.
pub async fn create_aws_hosted_vif(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    nni: &nni::Model,
    params: &AwsHostedVifParams,
    auth_key_sealed: &str,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let (port, pe) = port_and_pe(db, nni.port_id).await?;
    let pool = linknet_pool_of(db, nni).await?;

    retry_contention(|| async {
        let (tx, id) = begin_order(
            db,
            ConnectorKind::AwsHostedVif,
            tenant_id,
            nni,
            params,
            None,
            initial,
        )
        .await?;

        let vlan = alloc::vlan(
            &tx,
            port.id,
            &port.name,
            (port.vlan_min as u16, port.vlan_max as u16),
            params.requested_vlan,
            alloc::Owner::Connector(id),
        )
        .await?;
        let net = alloc::subnet(
            &tx,
            pool.id,
            &pool.name,
            &pool.cidr,
            31,
            alloc::Owner::Connector(id),
        )
        .await?;
        let (asn, asn_source) = asn_for(&tx, params.customer_asn, id).await?;
        // In the /31 the CSP takes the even address and our PE the odd one,
        // as in the operator's existing InterCloud deployments.
        let csp_ip = net;
        let pe_ip = std::net::Ipv4Addr::from(u32::from(net) + 1);
        let resources = Resources {
            pe_id: pe.id,
            pe_name: pe.name.clone(),
            port_id: port.id,
            port_name: port.name.clone(),
            vlan,
            subnet: format!("{net}/31"),
            pe_address: format!("{pe_ip}/31"),
            csp_address: format!("{csp_ip}/31"),
            asn,
            asn_source,
            csp_asn: nni.csp_asn as u32,
            auth_key_sealed: auth_key_sealed.to_string(),
            csp_object_name: format!("onramp-{id}"),
        };
        finish_order(tx, id, &resources, initial, mode).await
    })
    .await
}

/// Google's side of every Partner Interconnect BGP session.
pub const GOOGLE_ASN: u32 = 16550;

/// Creates a `gcp-partner-interconnect` connector: a VLAN on the
/// interconnect's port and our ASN now; the /29 comes from Google with the
/// attachment and is recorded then.
pub async fn create_gcp_partner_interconnect(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    nni: &nni::Model,
    params: &GcpPartnerInterconnectParams,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let (port, pe) = port_and_pe(db, nni.port_id).await?;
    retry_contention(|| async {
        let (tx, id) = begin_order(
            db,
            ConnectorKind::GcpPartnerInterconnect,
            tenant_id,
            nni,
            params,
            None,
            initial,
        )
        .await?;
        let owner = alloc::Owner::Connector(id);
        // Google takes 2..4094 for vlanTag8021q.
        let range = (
            (port.vlan_min as u16).max(2),
            (port.vlan_max as u16).min(4094),
        );
        let vlan = alloc::vlan(
            &tx,
            port.id,
            &port.name,
            range,
            params.requested_vlan,
            owner,
        )
        .await?;
        let (asn, asn_source) = asn_for(&tx, params.peer_asn, id).await?;
        // Partner Interconnect sessions run without MD5 unless the customer
        // sets one on their Cloud Router: no key.
        let resources =
            Resources::awaiting_peering(&pe, &port, vlan, (asn, asn_source), GOOGLE_ASN, id);
        finish_order(tx, id, &resources, initial, mode).await
    })
    .await
}

/// Creates an `aws-hosted-connection` connector: a VLAN on the
/// interconnect's port now; the peering comes from the customer's VIF.
pub async fn create_aws_hosted_connection(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    nni: &nni::Model,
    params: &AwsHostedConnectionParams,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let (port, pe) = port_and_pe(db, nni.port_id).await?;
    retry_contention(|| async {
        let (tx, id) = begin_order(
            db,
            ConnectorKind::AwsHostedConnection,
            tenant_id,
            nni,
            params,
            None,
            initial,
        )
        .await?;
        let owner = alloc::Owner::Connector(id);
        let vlan = alloc::vlan(
            &tx,
            port.id,
            &port.name,
            (port.vlan_min as u16, port.vlan_max as u16),
            params.requested_vlan,
            owner,
        )
        .await?;
        // ASN, addresses and key come with the customer's VIF report.
        let resources = Resources::awaiting_peering(
            &pe,
            &port,
            vlan,
            (0, AsnSource::Customer),
            nni.csp_asn as u32,
            id,
        );
        finish_order(tx, id, &resources, initial, mode).await
    })
    .await
}

/// The C-tag used when the customer names no private-peering VLAN. Any value
/// works (it only has to be unique under Microsoft's S-tag, which is the
/// circuit's own); 100 is what Microsoft's own examples use.
pub const DEFAULT_AZURE_C_TAG: u16 = 100;

/// Creates an `azure-expressroute` connector: the primary leg on the NNI's
/// port, the secondary on `secondary_port_id` (another PE, checked by the
/// inventory's anti-affinity rule), a /30 per leg, Microsoft's S-tag held on
/// both ports, the peering ASN and the shared key, with the first event and
/// job, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn create_azure_expressroute(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    nni: &nni::Model,
    secondary_port_id: Uuid,
    params: &AzureExpressRouteParams,
    auth_key_sealed: &str,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let primary = port_and_pe(db, nni.port_id).await?;
    let secondary = port_and_pe(db, secondary_port_id).await?;
    if primary.1.id == secondary.1.id {
        return Err(Error::Conflict {
            field: "service_key".into(),
            message: format!(
                "the ExpressRoute ports at {} both sit on PE {}; redundancy needs two PEs",
                nni.location_code, primary.1.name
            ),
        });
    }
    let pool = linknet_pool_of(db, nni).await?;
    let s_tag = params.circuit.s_tag;

    retry_contention(|| async {
        let (tx, id) =
            begin_order(db, ConnectorKind::AzureExpressroute, tenant_id, nni, params, Some(params.service_key.clone()), initial).await?;
        let owner = alloc::Owner::Connector(id);
        let mut legs = Vec::with_capacity(2);
        for (port, pe) in [&primary, &secondary] {
            // The S-tag is Microsoft's choice, not ours, so the port's range
            // does not apply; holding it keeps a dot1q unit or another
            // circuit from landing on the same outer tag.
            alloc::vlan(&tx, port.id, &port.name, (1, 4094), Some(s_tag), owner)
                .await
                .map_err(|e| match e {
                    Error::Conflict { .. } => Error::Conflict {
                        field: "service_key".into(),
                        message: format!(
                            "Microsoft's S-tag {s_tag} for this circuit is already in use on port {} of {}; ops must clear the clash before it can be provisioned",
                            port.name, pe.name
                        ),
                    },
                    other => other,
                })?;
            let net = alloc::subnet(&tx, pool.id, &pool.name, &pool.cidr, 30, owner).await?;
            // Microsoft's rule for each /30: the provider takes the first
            // usable address, Microsoft the second.
            let base = u32::from(net);
            legs.push(AzureLeg {
                pe_id: pe.id,
                pe_name: pe.name.clone(),
                port_id: port.id,
                port_name: port.name.clone(),
                subnet: format!("{net}/30"),
                pe_address: format!("{}/30", std::net::Ipv4Addr::from(base + 1)),
                csp_address: format!("{}/30", std::net::Ipv4Addr::from(base + 2)),
            });
        }
        let (asn, asn_source) = asn_for(&tx, params.peer_asn, id).await?;
        let secondary_leg = legs.pop().expect("two legs");
        let primary_leg = legs.pop().expect("two legs");
        let resources = AzureResources {
            primary: primary_leg,
            secondary: secondary_leg,
            s_tag,
            c_tag: params.vlan_id.unwrap_or(DEFAULT_AZURE_C_TAG),
            asn,
            asn_source,
            csp_asn: nni.csp_asn as u32,
            auth_key_sealed: auth_key_sealed.to_string(),
        };
        finish_order(tx, id, &resources, initial, mode).await
    })
    .await
}

/// Creates a `ticket-csp` connector: a VLAN on the provider NNI's port, a
/// /30 from its link-net pool (our PE the first usable address, the
/// provider the second) and our ASN, now. Ops tell the provider these; what
/// the provider assigns instead (its VLAN, its peer address and ASN) comes
/// back through the ops tasks and replaces them ([`crate::tasks::complete`]).
pub async fn create_ticket_csp(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    nni: &nni::Model,
    params: &TicketCspParams,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let (port, pe) = port_and_pe(db, nni.port_id).await?;
    let pool = linknet_pool_of(db, nni).await?;
    retry_contention(|| async {
        let (tx, id) = begin_order(
            db,
            ConnectorKind::TicketCsp,
            tenant_id,
            nni,
            params,
            None,
            initial,
        )
        .await?;
        let owner = alloc::Owner::Connector(id);
        let vlan = alloc::vlan(
            &tx,
            port.id,
            &port.name,
            (port.vlan_min as u16, port.vlan_max as u16),
            None,
            owner,
        )
        .await?;
        let net = alloc::subnet(&tx, pool.id, &pool.name, &pool.cidr, 30, owner).await?;
        let (asn, asn_source) = asn_for(&tx, params.customer_asn, id).await?;
        let base = u32::from(net);
        let resources = Resources {
            pe_id: pe.id,
            pe_name: pe.name.clone(),
            port_id: port.id,
            port_name: port.name.clone(),
            vlan,
            subnet: format!("{net}/30"),
            pe_address: format!("{}/30", std::net::Ipv4Addr::from(base + 1)),
            csp_address: format!("{}/30", std::net::Ipv4Addr::from(base + 2)),
            asn,
            asn_source,
            csp_asn: nni.csp_asn as u32,
            auth_key_sealed: String::new(),
            csp_object_name: format!("onramp-{id}"),
        };
        finish_order(tx, id, &resources, initial, mode).await
    })
    .await
}

async fn linknet_pool_of(db: &DatabaseConnection, nni: &nni::Model) -> Result<linknet_pool::Model> {
    linknet_pool::Entity::find_by_id(nni.linknet_pool_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("nni {} has no link-net pool", nni.name)))
}

async fn port_and_pe(
    db: &DatabaseConnection,
    port_id: Uuid,
) -> Result<(pe_port::Model, pe_router::Model)> {
    let port = pe_port::Entity::find_by_id(port_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("port {port_id} is gone")))?;
    let pe = pe_router::Entity::find_by_id(port.pe_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("port {} has no PE", port.name)))?;
    Ok((port, pe))
}

/// Opens the order transaction and inserts the connector row first:
/// allocations reference it.
async fn begin_order(
    db: &DatabaseConnection,
    kind: ConnectorKind,
    tenant_id: Uuid,
    nni: &nni::Model,
    params: &impl serde::Serialize,
    csp_ref: Option<String>,
    initial: &Initial,
) -> Result<(sea_orm::DatabaseTransaction, Uuid)> {
    let tx = crate::db::begin_write(db).await?;
    let id = Uuid::new_v4();
    let now = Utc::now();
    connector::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        kind: Set(kind.as_str().into()),
        state: Set(initial.state.clone()),
        machine_state: Set(initial.machine_state.clone()),
        waiting_on: Set(initial.waiting_on.clone()),
        nni_id: Set(nni.id),
        params: Set(serde_json::to_string(params).expect("params serialize")),
        resources: Set("{}".into()),
        csp_ref: Set(csp_ref),
        step: Set(0),
        last_error: Set(None),
        lease_until_ms: Set(None),
        lease_holder: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        options: Set("{}".into()),
        pending_change: Set(None),
    }
    .insert(&tx)
    .await?;
    Ok((tx, id))
}

/// The customer's ASN if they gave one, else one allocated to connector
/// `id` from the private pool.
async fn asn_for<C: ConnectionTrait>(
    tx: &C,
    requested: Option<u32>,
    id: Uuid,
) -> Result<(u32, AsnSource)> {
    Ok(match requested {
        Some(a) => (a, AsnSource::Customer),
        None => (
            alloc::asn(tx, alloc::Owner::Connector(id)).await?,
            AsnSource::Allocated,
        ),
    })
}

/// Ends the order transaction: stores what was allocated; then a dry run
/// rolls everything back (it ran for real, so the plan shows exactly what an
/// order would get now) and an order records its first event and job and
/// commits.
async fn finish_order(
    tx: sea_orm::DatabaseTransaction,
    id: Uuid,
    resources: &impl serde::Serialize,
    initial: &Initial,
    mode: Mode,
) -> Result<connector::Model> {
    let model = connector::ActiveModel {
        id: Set(id),
        resources: Set(serde_json::to_string(resources).expect("resources serialize")),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    if mode == Mode::DryRun {
        tx.rollback().await?;
        return Ok(model);
    }
    record_event(
        &tx,
        id,
        0,
        "ordered",
        None,
        &initial.state,
        &initial.note,
        "customer",
    )
    .await?;
    if let Some(action) = &initial.first_action {
        enqueue(&tx, id, 0, action).await?;
    }
    tx.commit().await?;
    Ok(model)
}

/// A live (not finished) connector of any tenant that uses this CSP object,
/// e.g. the Azure service key; one circuit can back only one connector.
pub async fn live_with_csp_ref(
    db: &impl ConnectionTrait,
    kind: &str,
    csp_ref: &str,
) -> Result<Option<connector::Model>> {
    Ok(connector::Entity::find()
        .filter(connector::Column::Kind.eq(kind))
        .filter(connector::Column::CspRef.eq(csp_ref))
        .filter(connector::Column::State.is_not_in(["deleted", "failed", "rejected"]))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<connector::Model>> {
    Ok(connector::Entity::find_by_id(id).one(db).await?)
}

/// A tenant's connector; another tenant's id reads as not found.
pub async fn get_for_tenant(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<connector::Model> {
    connector::Entity::find_by_id(id)
        .filter(connector::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("connector {id}"),
        })
}

/// Up to `limit` of the connector's events after event `after`, oldest first.
pub async fn events_page(
    db: &DatabaseConnection,
    connector_id: Uuid,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<connector_event::Model>> {
    use sea_orm::QuerySelect;
    let mut q = connector_event::Entity::find()
        .filter(connector_event::Column::ConnectorId.eq(connector_id));
    if let Some(after) = after {
        q = q.filter(connector_event::Column::Id.gt(after));
    }
    Ok(q.order_by_asc(connector_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Which connectors a list shows. Every filter given must hold.
#[derive(Clone, Debug, Default)]
pub struct ConnectorFilter {
    /// `None`: every tenant's (an ops or admin reader).
    pub tenant: Option<Uuid>,
    /// Any of these states; empty: any state.
    pub states: Vec<String>,
    pub kind: Option<String>,
    pub waiting_on: Option<String>,
}

/// Up to `limit` connectors matching `f`, newest first, strictly after the
/// sort key `after` (`created_at`, `id`) of the previous page's last one.
pub async fn list_page(
    db: &DatabaseConnection,
    f: &ConnectorFilter,
    after: Option<(chrono::DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<connector::Model>> {
    use sea_orm::{Condition, QuerySelect};
    let mut q = connector::Entity::find();
    if let Some(t) = f.tenant {
        q = q.filter(connector::Column::TenantId.eq(t));
    }
    if !f.states.is_empty() {
        q = q.filter(connector::Column::State.is_in(f.states.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(connector::Column::Kind.eq(k.clone()));
    }
    if let Some(w) = &f.waiting_on {
        q = q.filter(connector::Column::WaitingOn.eq(w.clone()));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            Condition::any()
                .add(connector::Column::CreatedAt.lt(at))
                .add(
                    Condition::all()
                        .add(connector::Column::CreatedAt.eq(at))
                        .add(connector::Column::Id.lt(id)),
                ),
        );
    }
    Ok(q.order_by_desc(connector::Column::CreatedAt)
        .order_by_desc(connector::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A connector that `tenant` may read: its own, or any when `None`.
pub async fn get_scoped(
    db: &DatabaseConnection,
    tenant: Option<Uuid>,
    id: Uuid,
) -> Result<connector::Model> {
    let mut q = connector::Entity::find_by_id(id);
    if let Some(t) = tenant {
        q = q.filter(connector::Column::TenantId.eq(t));
    }
    q.one(db).await?.ok_or_else(|| Error::NotFound {
        what: format!("connector {id}"),
    })
}

/// Persists `t` if the connector is still at `t.expected_step`: new state,
/// timeline event, released resources and the next job, in one transaction.
/// Returns false (and changes nothing) when the step moved on.
pub async fn commit_transition(db: &DatabaseConnection, id: Uuid, t: &Transition) -> Result<bool> {
    retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        if apply_transition(&tx, id, t).await? {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    })
    .await
}

/// [`commit_transition`] inside the caller's write transaction, for a
/// transition that must commit together with other rows (an ops task
/// closing with the step it completes). Returns false, having written
/// nothing, when the step moved on; the caller then rolls back.
pub async fn apply_transition<C: ConnectionTrait>(
    tx: &C,
    id: Uuid,
    t: &Transition,
) -> Result<bool> {
    {
        let next_step = t.expected_step + 1;
        let mut update = connector::Entity::update_many()
            .col_expr(connector::Column::State, Expr::value(t.state.clone()))
            .col_expr(
                connector::Column::MachineState,
                Expr::value(t.machine_state.clone()),
            )
            .col_expr(
                connector::Column::WaitingOn,
                Expr::value(t.waiting_on.clone()),
            )
            .col_expr(connector::Column::Step, Expr::value(next_step))
            .col_expr(
                connector::Column::LastError,
                Expr::value(t.last_error.clone()),
            )
            .col_expr(connector::Column::UpdatedAt, Expr::value(Utc::now()));
        if t.lease_holder.is_some() {
            // The worker that holds the lease hands it back with its commit; a
            // transition from the API (a delete request) leaves a running
            // worker's lease alone so the next job waits for it to finish.
            update = update
                .col_expr(
                    connector::Column::LeaseUntilMs,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    connector::Column::LeaseHolder,
                    Expr::value(Option::<String>::None),
                );
        }
        if let Some(csp_ref) = &t.csp_ref {
            update = update.col_expr(connector::Column::CspRef, Expr::value(csp_ref.clone()));
        }
        if let Some(resources) = &t.resources {
            update = update.col_expr(connector::Column::Resources, Expr::value(resources.clone()));
        }
        if let Some(params) = &t.params {
            update = update.col_expr(connector::Column::Params, Expr::value(params.clone()));
        }
        if let Some(options) = &t.options {
            update = update.col_expr(connector::Column::Options, Expr::value(options.clone()));
        }
        if let Some(pending) = &t.pending_change {
            update = update.col_expr(
                connector::Column::PendingChange,
                Expr::value(pending.clone()),
            );
        }
        let res = update
            .filter(connector::Column::Id.eq(id))
            .filter(connector::Column::Step.eq(t.expected_step))
            .exec(tx)
            .await?;
        if res.rows_affected == 0 {
            return Ok(false);
        }
        if t.release_resources {
            alloc::release_all(tx, id).await?;
            crate::links::end_membership_of(tx, id).await?;
        }
        record_event(
            tx,
            id,
            next_step,
            &t.event,
            t.from_state.as_deref(),
            &t.state,
            &t.message,
            &t.actor,
        )
        .await?;
        if let Some(action) = &t.next_action {
            enqueue(tx, id, next_step, action).await?;
        }
        Ok(true)
    }
}

/// Records why the current step is being retried, without moving the step,
/// so the customer sees "retrying: ..." instead of silence.
pub async fn set_last_error<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    step: i64,
    error: &str,
) -> Result<()> {
    connector::Entity::update_many()
        .col_expr(
            connector::Column::LastError,
            Expr::value(Some(error.to_string())),
        )
        .col_expr(connector::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(connector::Column::Id.eq(id))
        .filter(connector::Column::Step.eq(step))
        .exec(db)
        .await?;
    Ok(())
}

/// A connector whose router change is held (its PE is in maintenance)
/// waits on the operator's staff and says why (`Some(why)`); `None` gives
/// it back to the router, the note cleared. Only at `step`, so a connector
/// that moved on meanwhile is left alone.
pub async fn set_held<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    step: i64,
    why: Option<&str>,
) -> Result<()> {
    let waiting_on = if why.is_some() { "ops" } else { "router" };
    connector::Entity::update_many()
        .col_expr(connector::Column::WaitingOn, Expr::value(waiting_on))
        .col_expr(
            connector::Column::LastError,
            Expr::value(why.map(str::to_string)),
        )
        .col_expr(connector::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(connector::Column::Id.eq(id))
        .filter(connector::Column::Step.eq(step))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes the connector's work lease for `holder` unless another holder has
/// an unexpired one. A crashed worker's lease simply runs out.
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

/// Extends the holder's unexpired lease (the heartbeat of a long action);
/// false when it ran out.
pub async fn renew_lease(
    db: &DatabaseConnection,
    id: Uuid,
    holder: &str,
    duration: std::time::Duration,
) -> Result<bool> {
    LEASE.renew(db, id, holder, duration).await
}

const LEASE: crate::lease::Lease<connector::Entity> = crate::lease::Lease::<connector::Entity> {
    id: connector::Column::Id,
    until_ms: connector::Column::LeaseUntilMs,
    holder: connector::Column::LeaseHolder,
};

/// Clears a retry note once the step works again.
pub async fn set_last_error_cleared(db: &DatabaseConnection, id: Uuid, step: i64) -> Result<()> {
    connector::Entity::update_many()
        .col_expr(
            connector::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(connector::Column::Id.eq(id))
        .filter(connector::Column::Step.eq(step))
        .exec(db)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record_event<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
    step: i64,
    event: &str,
    from_state: Option<&str>,
    to_state: &str,
    message: &str,
    actor: &str,
) -> Result<()> {
    connector_event::ActiveModel {
        connector_id: Set(connector_id),
        step: Set(step),
        event: Set(event.into()),
        from_state: Set(from_state.map(str::to_string)),
        to_state: Set(to_state.into()),
        message: Set(message.into()),
        actor: Set(actor.into()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Queues the job "run `action` of the connector at `step`" in the caller's
/// transaction (the PE writer re-runs a refused teardown this way).
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
    step: i64,
    action: &str,
) -> Result<()> {
    let job = ConnectorJob {
        connector_id,
        step,
        action: action.to_string(),
    };
    outbox::push(
        db,
        connector_subject(action),
        &serde_json::to_string(&job).expect("job serializes"),
    )
    .await
}

/// Timeline events after `after_id`, oldest first, each with its connector,
/// for the `GET /v1/events` stream. `tenant_id` (a customer) limits them to
/// that tenant's connectors; `connector_id` and `kind` narrow further.
///
/// Returns the rows and the cursor to pass as `after_id` next time: every
/// event id up to it has been considered. Ids are handed out at insert and
/// become visible at commit, so on PostgreSQL event 7 can appear after
/// event 8; a cursor that jumped to 8 would skip 7 for good. The cursor
/// therefore stops before a missing id until the event after the hole is
/// older than any transaction runs (then the hole is a rollback). At most
/// `limit` ids are considered per call. `after_id` `None` means "from now":
/// no rows, and the newest id as the cursor.
pub async fn events_since(
    db: &DatabaseConnection,
    tenant_id: Option<Uuid>,
    connector_id: Option<Uuid>,
    kind: Option<&str>,
    after_id: Option<i64>,
    limit: u64,
) -> Result<(Vec<(connector_event::Model, connector::Model)>, i64)> {
    use sea_orm::{JoinType, QuerySelect};

    // Order, transition and delete transactions take milliseconds; a hole
    // this old will not be filled.
    const HOLE_SETTLES_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

    let Some(after_id) = after_id else {
        let newest: Option<Option<i64>> = connector_event::Entity::find()
            .select_only()
            .column_as(connector_event::Column::Id.max(), "newest")
            .into_tuple()
            .one(db)
            .await?;
        return Ok((Vec::new(), newest.flatten().unwrap_or(0)));
    };
    // Every tenant's ids, to see the holes; the rows themselves are read
    // scoped below.
    let ids: Vec<(i64, chrono::DateTime<Utc>)> = connector_event::Entity::find()
        .select_only()
        .column(connector_event::Column::Id)
        .column(connector_event::Column::At)
        .filter(connector_event::Column::Id.gt(after_id))
        .order_by_asc(connector_event::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let settled = Utc::now() - HOLE_SETTLES_AFTER;
    let mut through = after_id;
    for (id, at) in ids {
        if id != through + 1 && at > settled {
            break;
        }
        through = id;
    }
    if through == after_id {
        return Ok((Vec::new(), after_id));
    }
    let mut q = connector_event::Entity::find()
        .select_also(connector::Entity)
        .join(
            JoinType::InnerJoin,
            connector_event::Entity::belongs_to(connector::Entity)
                .from(connector_event::Column::ConnectorId)
                .to(connector::Column::Id)
                .into(),
        )
        .filter(connector_event::Column::Id.gt(after_id))
        .filter(connector_event::Column::Id.lte(through));
    if let Some(t) = tenant_id {
        q = q.filter(connector::Column::TenantId.eq(t));
    }
    if let Some(c) = connector_id {
        q = q.filter(connector_event::Column::ConnectorId.eq(c));
    }
    if let Some(k) = kind {
        q = q.filter(connector::Column::Kind.eq(k));
    }
    let rows = q
        .order_by_asc(connector_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(e, c)| c.map(|c| (e, c)))
        .collect();
    Ok((rows, through))
}
