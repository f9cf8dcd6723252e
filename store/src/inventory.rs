//! Read access to the inventory: PEs, ports, NNIs and pools.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::{nni, pe_port, pe_router, tenant};
use crate::{Error, Result};

/// Where an order for `csp` at `location_code` goes. Several NNIs at one
/// location form a group; an order takes the first (by name) whose PE is not
/// in maintenance, so a drained PE gets nothing new while a sibling can carry
/// it. When every PE of the group is in maintenance the first is still the
/// answer: the order is taken and waits for the maintenance to end, as on a
/// location with one NNI.
pub async fn nni_at(
    db: &impl ConnectionTrait,
    csp: &str,
    location_code: &str,
) -> Result<Option<nni::Model>> {
    let group = nni::Entity::find()
        .filter(nni::Column::Csp.eq(csp))
        .filter(nni::Column::LocationCode.eq(location_code))
        .order_by_asc(nni::Column::Name)
        .order_by_asc(nni::Column::Id)
        .all(db)
        .await?;
    first_outside_maintenance(db, group).await
}

/// The first of `candidates` whose PE is not in maintenance, or the first of
/// them when all are.
pub async fn first_outside_maintenance(
    db: &impl ConnectionTrait,
    candidates: Vec<nni::Model>,
) -> Result<Option<nni::Model>> {
    if candidates.len() < 2 {
        return Ok(candidates.into_iter().next());
    }
    let ports: Vec<Uuid> = candidates.iter().map(|n| n.port_id).collect();
    let pe_of: std::collections::HashMap<Uuid, Uuid> = pe_port::Entity::find()
        .filter(pe_port::Column::Id.is_in(ports))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.pe_id))
        .collect();
    let drained: std::collections::HashSet<Uuid> = pe_router::Entity::find()
        .filter(pe_router::Column::MaintenanceSince.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let open = candidates.iter().position(|n| {
        pe_of
            .get(&n.port_id)
            .is_some_and(|pe| !drained.contains(pe))
    });
    let mut candidates = candidates;
    Ok(Some(candidates.swap_remove(open.unwrap_or(0))))
}

pub async fn nnis(db: &impl ConnectionTrait, csp: &str) -> Result<Vec<nni::Model>> {
    Ok(nni::Entity::find()
        .filter(nni::Column::Csp.eq(csp))
        .order_by_asc(nni::Column::LocationCode)
        .all(db)
        .await?)
}

pub async fn nni(db: &impl ConnectionTrait, id: Uuid) -> Result<nni::Model> {
    nni::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("nni {id}"),
        })
}

/// Every PE's id: the writers start one loop per PE.
pub async fn pe_ids(db: &impl ConnectionTrait) -> Result<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(pe_router::Entity::find()
        .select_only()
        .column(pe_router::Column::Id)
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

pub async fn pe(db: &impl ConnectionTrait, id: Uuid) -> Result<pe_router::Model> {
    pe_router::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("PE {id}"),
        })
}

pub async fn port(db: &impl ConnectionTrait, id: Uuid) -> Result<pe_port::Model> {
    pe_port::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("port {id}"),
        })
}

pub async fn tenant(db: &impl ConnectionTrait, id: Uuid) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("tenant {id}"),
        })
}
