//! Ops tasks to work on, for the console tests: a ticket provider with a
//! one-step runbook, an NNI for it on the seeded PE port, and `ticket-csp`
//! connectors ordered straight through the store (as `POST /v1/connectors`
//! would), each with its first task opened.

#![allow(dead_code)]

use anyhow::{Context, Result, anyhow};
use onramp_state_machines::ticket_csp;
use onramp_state_machines::ticket_runbook::{FieldKind, FieldSpec, ManualStep, Runbook};
use onramp_store::DatabaseConnection;
use onramp_store::connectors::{Initial, Mode};
use onramp_store::entity::{nni, ops_task};
use onramp_store::model::TicketCspParams;
use onramp_store::ticket_providers::{self, ProviderSpec};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub(crate) const ORACLE: &str = "oracle-fastconnect";
pub(crate) const IBM: &str = "ibm-direct-link";

/// The one manual step: order the circuit, then type back what the
/// provider assigned.
pub(crate) fn runbook() -> Runbook {
    let field = |name: &str, label: &str, kind| FieldSpec {
        name: name.into(),
        label: label.into(),
        kind,
        required: true,
    };
    Runbook {
        steps: vec![ManualStep {
            key: "order_circuit".into(),
            title: "Order the virtual circuit".into(),
            instructions:
                "1. Open a ticket with the provider's partner desk for the customer's circuit.\n\
                           2. Give them our VLAN and subnet (on the right).\n\
                           3. When they answer, enter their circuit id, VLAN, peer address and ASN."
                    .into(),
            fields: vec![
                field(
                    "circuit_id",
                    "Provider circuit id",
                    FieldKind::Text { max_len: 40 },
                ),
                field("provider_vlan", "Provider VLAN", FieldKind::Vlan),
                field(
                    "provider_peer_ip",
                    "Provider peer address",
                    FieldKind::IpInterface,
                ),
                field("provider_asn", "Provider ASN", FieldKind::Asn),
            ],
            sla_hours: 4,
        }],
    }
}

/// The provider `key` (created unless there) and an NNI of its on the
/// seeded AWS NNI's port and link-net pool (unless it has one).
pub(crate) async fn provider(db: &DatabaseConnection, key: &str, name: &str) -> Result<()> {
    ticket_providers::ensure(
        db,
        ProviderSpec {
            key: key.into(),
            name: name.into(),
            runbook: runbook(),
        },
    )
    .await
    .map_err(|e| anyhow!("creating provider {key}: {e:?}"))?;
    if nni::Entity::find()
        .filter(nni::Column::Csp.eq(key))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let aws = nni::Entity::find()
        .filter(nni::Column::Csp.eq("aws"))
        .one(db)
        .await?
        .context("the seed has an AWS NNI")?;
    nni::ActiveModel {
        id: Set(Uuid::new_v4()),
        csp: Set(key.into()),
        location_code: Set(format!("{}-ASH", key.to_uppercase())),
        name: Set(format!("{name} Ashburn")),
        region: Set("us-ashburn-1".into()),
        csp_ref: Set(format!("{key}-partner-port-1")),
        port_id: Set(aws.port_id),
        linknet_pool_id: Set(aws.linknet_pool_id),
        csp_asn: Set(31898),
        capacity_mbps: Set(10_000),
        attributes: Set("{}".into()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A `ticket-csp` connector of `tenant` with provider `key`, ordered
/// through the store as the API does, and its first task opened (the
/// worker's `open_task` job opens the same one, idempotently).
pub(crate) async fn order(
    db: &DatabaseConnection,
    tenant: Uuid,
    key: &str,
) -> Result<(Uuid, Uuid)> {
    let p = ticket_providers::by_key(db, key)
        .await?
        .with_context(|| format!("no provider {key}"))?;
    let nni = nni::Entity::find()
        .filter(nni::Column::Csp.eq(key))
        .one(db)
        .await?
        .with_context(|| format!("no NNI for {key}"))?;
    let params = TicketCspParams {
        provider: key.into(),
        provider_name: p.name.clone(),
        bandwidth: "1Gbps".into(),
        customer_asn: None,
        runbook: ticket_providers::runbook(&p)?,
        values: Default::default(),
    };
    let start = ticket_csp::start(params.runbook.steps.len());
    let initial = Initial {
        state: ticket_csp::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state)?,
        waiting_on: ticket_csp::waiting_on(&start.state).as_str().into(),
        first_action: start.actions.first().map(|a| a.as_str().to_string()),
        note: start.note.clone(),
    };
    let row = onramp_store::connectors::create_ticket_csp(
        db,
        tenant,
        &nni,
        &params,
        &initial,
        Mode::Commit,
    )
    .await?;
    let task = onramp_store::tasks::open(db, &row, 0).await?;
    Ok((row.id, task.id))
}

/// Moves a task's due time `hours` into the past: it is overdue.
pub(crate) async fn make_overdue(db: &DatabaseConnection, task: Uuid, hours: i64) -> Result<()> {
    ops_task::ActiveModel {
        id: Set(task),
        due_at: Set(chrono::Utc::now() - chrono::TimeDelta::hours(hours)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

pub(crate) async fn task_state(db: &DatabaseConnection, task: Uuid) -> Result<ops_task::Model> {
    ops_task::Entity::find_by_id(task)
        .one(db)
        .await?
        .context("task gone")
}

/// The actions recorded for a task, oldest first.
pub(crate) async fn audit_actions(
    db: &DatabaseConnection,
    task: Uuid,
) -> Result<Vec<(String, String)>> {
    use onramp_store::entity::ops_audit;
    use sea_orm::QueryOrder;
    Ok(ops_audit::Entity::find()
        .filter(ops_audit::Column::TaskId.eq(task))
        .order_by_asc(ops_audit::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.actor, a.action))
        .collect())
}
