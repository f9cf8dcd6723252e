//! The ports of a PE router, with the VLAN range onramp may allocate on each.

use onramp_checks::Coded;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::checks::valid_printable;
use super::error::{AdminError, AdminResult, Issues, duplicate, in_use, not_found, or_duplicate};
use super::nnis::nnis_on_port;
use super::pes::get_pe;
use super::usage::{allocations, counted, describe, list, outside_range, plural};
use crate::alloc;
use crate::entity::{pe_port, pe_router};

#[derive(Clone, Debug)]
pub struct PortSpec {
    pub name: String,
    pub vlan_min: i64,
    pub vlan_max: i64,
}

#[derive(Clone, Debug, Default)]
pub struct PortPatch {
    pub name: Option<String>,
    pub vlan_min: Option<i64>,
    pub vlan_max: Option<i64>,
}

impl PortSpec {
    fn of(m: &pe_port::Model) -> Self {
        PortSpec {
            name: m.name.clone(),
            vlan_min: m.vlan_min.into(),
            vlan_max: m.vlan_max.into(),
        }
    }

    fn patch(mut self, p: PortPatch) -> Self {
        if let Some(v) = p.name {
            self.name = v;
        }
        if let Some(v) = p.vlan_min {
            self.vlan_min = v;
        }
        if let Some(v) = p.vlan_max {
            self.vlan_max = v;
        }
        self
    }

    pub fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        if !valid_printable(&self.name) {
            i.add(
                "name",
                "invalid_format",
                "the port name must be 1-64 printable characters without spaces, e.g. ge-0/0/1",
            );
        }
        for (field, v) in [("vlan_min", self.vlan_min), ("vlan_max", self.vlan_max)] {
            if let Err(e) = onramp_checks::vlan::id(v) {
                i.add(field, e.code(), e.to_string());
            }
        }
        if !i.has("vlan_min") && !i.has("vlan_max") && self.vlan_min > self.vlan_max {
            i.add(
                "vlan_max",
                "less_than_min",
                format!(
                    "vlan_max {} is below vlan_min {}",
                    self.vlan_max, self.vlan_min
                ),
            );
        }
        i.into_result()
    }
}

fn port_taken(pe_name: &str, name: &str) -> String {
    format!("PE {pe_name} already has a port named `{name}`")
}

async fn port_name_taken<C: ConnectionTrait>(
    db: &C,
    pe: &pe_router::Model,
    name: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe.id))
        .filter(pe_port::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(pe_port::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(duplicate("name", port_taken(&pe.name, name)));
    }
    Ok(())
}

pub async fn create_port(
    db: &DatabaseConnection,
    pe_id: Uuid,
    spec: PortSpec,
) -> AdminResult<pe_port::Model> {
    let pe = get_pe(db, pe_id).await?;
    spec.validate()?;
    let (pe_name, name) = (pe.name.clone(), spec.name.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        port_name_taken(&tx, &pe, &spec.name, None).await?;
        let m = pe_port::ActiveModel {
            id: Set(Uuid::new_v4()),
            pe_id: Set(pe.id),
            name: Set(spec.name),
            vlan_min: Set(spec.vlan_min as i32),
            vlan_max: Set(spec.vlan_max as i32),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || port_taken(&pe_name, &name)))
}

pub async fn get_port<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<pe_port::Model> {
    pe_port::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("port {id}")))
}

/// The ports of one PE, by name; not found if the PE is unknown.
pub async fn list_ports(db: &DatabaseConnection, pe_id: Uuid) -> AdminResult<Vec<pe_port::Model>> {
    get_pe(db, pe_id).await?;
    Ok(pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe_id))
        .order_by_asc(pe_port::Column::Name)
        .all(db)
        .await?)
}

/// Refused when the new VLAN range would leave an allocated VLAN outside.
pub async fn update_port(
    db: &DatabaseConnection,
    id: Uuid,
    patch: PortPatch,
) -> AdminResult<pe_port::Model> {
    let current = get_port(db, id).await?;
    let spec = PortSpec::of(&current).patch(patch);
    spec.validate()?;
    let name = spec.name.clone();
    let pe = get_pe(db, current.pe_id).await?;
    let pe_name = pe.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_port(&tx, id).await?;
        port_name_taken(&tx, &pe, &spec.name, Some(id)).await?;
        let allocs = allocations(&tx, alloc::VLAN, id).await?;
        let (outside, fields) = outside_range(
            allocs,
            (spec.vlan_min, spec.vlan_max),
            ["vlan_min", "vlan_max"],
        );
        if !outside.is_empty() {
            let items = describe(&tx, &outside, |v| format!("VLAN {v}")).await?;
            return Err(in_use(
                format!(
                    "port {} on {} cannot shrink to VLANs {}-{}: {} would fall outside ({}); release them first",
                    current.name,
                    pe.name,
                    spec.vlan_min,
                    spec.vlan_max,
                    plural(outside.len(), "allocated VLAN", "allocated VLANs"),
                    list(&items)
                ),
                &fields,
            ));
        }
        let mut am: pe_port::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.vlan_min = Set(spec.vlan_min as i32);
        am.vlan_max = Set(spec.vlan_max as i32);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || port_taken(&pe_name, &name)))
}

/// Refused while NNIs sit on the port or VLANs are allocated on it.
pub async fn delete_port(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let port = get_port(&tx, id).await?;
    let pe = get_pe(&tx, port.pe_id).await?;
    let mut users = Vec::new();
    let allocs = allocations(&tx, alloc::VLAN, id).await?;
    if !allocs.is_empty() {
        let items = describe(&tx, &allocs, |v| format!("VLAN {v}")).await?;
        users.push(counted(&items, "allocated VLAN", "allocated VLANs"));
    }
    let nnis = nnis_on_port(&tx, id).await?;
    if !nnis.is_empty() {
        users.push(list(&nnis));
    }
    if !users.is_empty() {
        return Err(in_use(
            format!(
                "port {} on {} is in use: it carries {}",
                port.name,
                pe.name,
                users.join(" and ")
            ),
            &[],
        ));
    }
    pe_port::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}
