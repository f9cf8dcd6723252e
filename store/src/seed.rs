//! Seeds an inventory and a tenant: the demo of `onramp dev` and the test
//! harnesses. Re-running it updates the PEs' endpoints (they move to new free
//! ports at every dev start) and leaves allocations alone.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::{linknet_pool, nni, pe_port, pe_router, tenant};
use crate::{Result, auth};

#[derive(Clone, Debug)]
pub struct SeedPe {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub host_key_fingerprint: Option<String>,
    pub platform: String,
    /// The customer-facing port carrying the CSP interconnect.
    pub port_name: String,
    pub vlan_range: (u16, u16),
}

#[derive(Clone, Debug)]
pub struct SeedDx {
    pub location_code: String,
    pub name: String,
    pub region: String,
    pub interconnect_id: String,
    /// Index into the PEs list.
    pub pe: usize,
    pub amazon_side_asn: u32,
    pub capacity_mbps: i32,
}

#[derive(Clone, Debug)]
pub struct Seed {
    pub pes: Vec<SeedPe>,
    pub dx: Vec<SeedDx>,
    pub linknet_cidr: String,
    pub tenant_name: String,
    pub api_key: String,
}

#[derive(Clone, Debug)]
pub struct Seeded {
    pub tenant_id: Uuid,
    pub pe_ids: Vec<Uuid>,
}

pub async fn seed(db: &DatabaseConnection, s: &Seed) -> Result<Seeded> {
    let pool_id = match linknet_pool::Entity::find()
        .filter(linknet_pool::Column::Name.eq("aws-linknets"))
        .one(db)
        .await?
    {
        Some(p) => p.id,
        None => {
            linknet_pool::ActiveModel {
                id: Set(Uuid::new_v4()),
                name: Set("aws-linknets".into()),
                cidr: Set(s.linknet_cidr.clone()),
            }
            .insert(db)
            .await?
            .id
        }
    };

    let mut pe_ids = Vec::new();
    let mut port_ids = Vec::new();
    for p in &s.pes {
        let existing = pe_router::Entity::find()
            .filter(pe_router::Column::Name.eq(p.name.clone()))
            .one(db)
            .await?;
        let pe_id = match existing {
            Some(m) => {
                let mut am: pe_router::ActiveModel = m.into();
                am.host = Set(p.host.clone());
                am.port = Set(p.port.into());
                am.username = Set(p.username.clone());
                am.password = Set(p.password.clone());
                am.host_key_fingerprint = Set(p.host_key_fingerprint.clone());
                am.update(db).await?.id
            }
            None => {
                pe_router::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    name: Set(p.name.clone()),
                    host: Set(p.host.clone()),
                    port: Set(p.port.into()),
                    username: Set(p.username.clone()),
                    password: Set(p.password.clone()),
                    host_key_fingerprint: Set(p.host_key_fingerprint.clone()),
                    platform: Set(p.platform.clone()),
                    created_at: Set(Utc::now()),
                }
                .insert(db)
                .await?
                .id
            }
        };
        let port_id = match pe_port::Entity::find()
            .filter(pe_port::Column::PeId.eq(pe_id))
            .filter(pe_port::Column::Name.eq(p.port_name.clone()))
            .one(db)
            .await?
        {
            Some(m) => m.id,
            None => {
                pe_port::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    pe_id: Set(pe_id),
                    name: Set(p.port_name.clone()),
                    vlan_min: Set(p.vlan_range.0.into()),
                    vlan_max: Set(p.vlan_range.1.into()),
                }
                .insert(db)
                .await?
                .id
            }
        };
        pe_ids.push(pe_id);
        port_ids.push(port_id);
    }

    for d in &s.dx {
        let found = nni::Entity::find()
            .filter(nni::Column::Csp.eq("aws"))
            .filter(nni::Column::LocationCode.eq(d.location_code.clone()))
            .one(db)
            .await?;
        if found.is_none() {
            nni::ActiveModel {
                id: Set(Uuid::new_v4()),
                csp: Set("aws".into()),
                location_code: Set(d.location_code.clone()),
                name: Set(d.name.clone()),
                region: Set(d.region.clone()),
                csp_ref: Set(d.interconnect_id.clone()),
                port_id: Set(port_ids[d.pe]),
                linknet_pool_id: Set(pool_id),
                csp_asn: Set(d.amazon_side_asn.into()),
                capacity_mbps: Set(d.capacity_mbps),
            }
            .insert(db)
            .await?;
        }
    }

    let tenant_id = match tenant::Entity::find()
        .filter(tenant::Column::Name.eq(s.tenant_name.clone()))
        .one(db)
        .await?
    {
        Some(t) => t.id,
        None => {
            let n = tenant::Entity::find().all(db).await?.len() + 1;
            tenant::ActiveModel {
                id: Set(Uuid::new_v4()),
                name: Set(s.tenant_name.clone()),
                vrf_name: Set(format!("cust-{}", slug(&s.tenant_name))),
                route_distinguisher: Set(format!("65000:{}", 1000 + n)),
                route_target: Set(format!("target:65000:{}", 1000 + n)),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?
            .id
        }
    };
    auth::add_key(db, tenant_id, "seeded", &s.api_key).await?;
    Ok(Seeded { tenant_id, pe_ids })
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
