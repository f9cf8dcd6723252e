//! Read access to the inventory: PEs, ports, NNIs and pools.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::{nni, pe_port, pe_router, tenant};
use crate::{Error, Result};

pub async fn nni_at(
    db: &impl ConnectionTrait,
    csp: &str,
    location_code: &str,
) -> Result<Option<nni::Model>> {
    Ok(nni::Entity::find()
        .filter(nni::Column::Csp.eq(csp))
        .filter(nni::Column::LocationCode.eq(location_code))
        .one(db)
        .await?)
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
