//! Allocation of VLANs, peering subnets and ASNs. Each pick is the lowest free
//! value; the unique key on `allocations` settles races, and the caller
//! retries its whole transaction when it loses one.

use std::net::Ipv4Addr;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::entity::{allocation, asn_pool, route_target_pool};
use crate::{Error, Result};

pub const VLAN: &str = "vlan";
pub const LINKNET: &str = "linknet31";
pub const ASN: &str = "asn";
pub const ROUTE_TARGET: &str = "route_target";

/// Who holds an allocation; released together with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Connector(Uuid),
    /// Tenant-wide resources, such as the RD/RT of the tenant's VRF.
    Tenant(Uuid),
}

async fn used<C: ConnectionTrait>(db: &C, resource: &str, scope: &str) -> Result<Vec<i64>> {
    Ok(allocation::Entity::find()
        .select_only()
        .column(allocation::Column::Value)
        .filter(allocation::Column::Resource.eq(resource))
        .filter(allocation::Column::Scope.eq(scope))
        .order_by_asc(allocation::Column::Value)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

async fn take<C: ConnectionTrait>(
    db: &C,
    resource: &str,
    scope: &str,
    value: i64,
    owner: Owner,
) -> Result<()> {
    let (connector_id, tenant_id) = match owner {
        Owner::Connector(c) => (Some(c), None),
        Owner::Tenant(t) => (None, Some(t)),
    };
    allocation::ActiveModel {
        resource: Set(resource.into()),
        scope: Set(scope.into()),
        value: Set(value),
        connector_id: Set(connector_id),
        tenant_id: Set(tenant_id),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Lowest value in `min..=max` not in the sorted `used`.
fn lowest_free(used: &[i64], min: i64, max: i64) -> Option<i64> {
    nth_free(used, min, max, 0)
}

/// The `n`th value (from 0) in `min..=max` not in the sorted `used`.
fn nth_free(used: &[i64], min: i64, max: i64, n: usize) -> Option<i64> {
    let mut candidate = min;
    let mut skipped = 0;
    let mut used = used.iter().copied().filter(|&u| u >= min).peekable();
    while candidate <= max {
        while used.next_if(|&u| u < candidate).is_some() {}
        if used.next_if_eq(&candidate).is_none() {
            if skipped == n {
                return Some(candidate);
            }
            skipped += 1;
        }
        candidate += 1;
    }
    None
}

/// How many of the lowest free values a retried pick chooses among.
const SPREAD: usize = 32;

/// The value to take: the lowest free one, or, when this transaction is a
/// retry after losing a race for a value ([`crate::db::retry_contention`]),
/// one of the lowest few free ones at random, so that concurrent orders
/// that all wanted the lowest do not collide again on the next.
fn pick_free(used: &[i64], min: i64, max: i64) -> Option<i64> {
    let first = lowest_free(used, min, max)?;
    if !crate::db::is_retry() {
        return Some(first);
    }
    let n = rand::random_range(0..SPREAD);
    // Fewer than SPREAD free values left: the lowest is as good as any.
    Some(nth_free(used, min, max, n).unwrap_or(first))
}

/// A VLAN on `port_id`: the requested one if free, else the lowest free one.
pub async fn vlan<C: ConnectionTrait>(
    db: &C,
    port_id: Uuid,
    port_name: &str,
    range: (u16, u16),
    requested: Option<u16>,
    owner: Owner,
) -> Result<u16> {
    let scope = port_id.to_string();
    let used = used(db, VLAN, &scope).await?;
    let value = match requested {
        Some(v) if used.contains(&i64::from(v)) => {
            return Err(Error::Conflict {
                field: "vlan".into(),
                message: format!("VLAN {v} is already in use on port {port_name}"),
            });
        }
        Some(v) => i64::from(v),
        None => {
            pick_free(&used, range.0.into(), range.1.into()).ok_or_else(|| Error::Exhausted {
                pool: format!("vlans of port {port_name} ({}-{})", range.0, range.1),
                resource: "VLAN".into(),
            })?
        }
    };
    take(db, VLAN, &scope, value, owner).await?;
    Ok(value as u16)
}

/// A subnet of `prefix_len` (29..=31) from the pool `cidr`, returned as its
/// network address. One allocation row per /31 covered keeps blocks of
/// different sizes from overlapping.
pub async fn subnet<C: ConnectionTrait>(
    db: &C,
    pool_id: Uuid,
    pool_name: &str,
    cidr: &str,
    prefix_len: u8,
    owner: Owner,
) -> Result<Ipv4Addr> {
    let (base, len) = parse_cidr(cidr)
        .ok_or_else(|| Error::Corrupt(format!("pool {pool_name} has bad cidr {cidr}")))?;
    if !(len..=31).contains(&prefix_len) || prefix_len < 29 {
        return Err(Error::Corrupt(format!(
            "cannot carve /{prefix_len} from {cidr}"
        )));
    }
    let units_in_pool: i64 = 1 << (31 - len);
    let units_per_block: i64 = 1 << (31 - prefix_len);
    let scope = pool_id.to_string();
    let used = used(db, LINKNET, &scope).await?;
    let used: std::collections::HashSet<i64> = used.into_iter().collect();
    let mut free = (0..units_in_pool)
        .step_by(units_per_block as usize)
        .filter(|s| (*s..s + units_per_block).all(|u| !used.contains(&u)));
    // As pick_free: the lowest block, or after a lost race one of the
    // lowest few.
    let skip = if crate::db::is_retry() {
        rand::random_range(0..SPREAD)
    } else {
        0
    };
    let first = free.next();
    let start = match skip {
        0 => first,
        n => free.nth(n - 1).or(first),
    }
    .ok_or_else(|| Error::Exhausted {
        pool: format!("link-net pool {pool_name} ({cidr})"),
        resource: format!("/{prefix_len} subnet"),
    })?;
    for unit in start..start + units_per_block {
        take(db, LINKNET, &scope, unit, owner).await?;
    }
    Ok(Ipv4Addr::from(u32::from(base) + (start as u32) * 2))
}

/// A private ASN for a customer who brought none, from the first ASN pool
/// (by lowest first value) that has one left.
pub async fn asn<C: ConnectionTrait>(db: &C, owner: Owner) -> Result<u32> {
    let pools = asn_pool::Entity::find()
        .order_by_asc(asn_pool::Column::First)
        .all(db)
        .await?;
    if pools.is_empty() {
        return Err(Error::Exhausted {
            pool: "ASN pools (none configured)".into(),
            resource: "ASN".into(),
        });
    }
    for pool in &pools {
        let scope = pool.id.to_string();
        let used = used(db, ASN, &scope).await?;
        if let Some(v) = pick_free(&used, pool.first, pool.last) {
            take(db, ASN, &scope, v, owner).await?;
            return Ok(v as u32);
        }
    }
    Err(Error::Exhausted {
        pool: pools
            .iter()
            .map(|p| format!("ASN pool {} ({}-{})", p.name, p.first, p.last))
            .collect::<Vec<_>>()
            .join(", "),
        resource: "ASN".into(),
    })
}

/// An RD/RT number `<admin_asn>:<n>` for one VRF.
pub async fn route_target<C: ConnectionTrait>(db: &C, owner: Owner) -> Result<(u32, u32)> {
    route_target_scoped(db, owner).await.map(|(a, n, _)| (a, n))
}

/// [`route_target`], also naming the allocation's scope (the pool), so an
/// owner that is not a tenant or connector (a link) can release exactly it.
pub async fn route_target_scoped<C: ConnectionTrait>(
    db: &C,
    owner: Owner,
) -> Result<(u32, u32, String)> {
    let pools = route_target_pool::Entity::find()
        .order_by_asc(route_target_pool::Column::Name)
        .all(db)
        .await?;
    for pool in &pools {
        let scope = pool.id.to_string();
        let used = used(db, ROUTE_TARGET, &scope).await?;
        if let Some(v) = pick_free(&used, pool.first, pool.last) {
            take(db, ROUTE_TARGET, &scope, v, owner).await?;
            return Ok((pool.admin_asn as u32, v as u32, scope));
        }
    }
    Err(Error::Exhausted {
        pool: if pools.is_empty() {
            "route-target pools (none configured)".into()
        } else {
            pools
                .iter()
                .map(|p| format!("route-target pool {}", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        },
        resource: "route target".into(),
    })
}

/// Frees everything allocated to the connector. Returns how many rows went.
pub async fn release_all<C: ConnectionTrait>(db: &C, connector_id: Uuid) -> Result<u64> {
    Ok(allocation::Entity::delete_many()
        .filter(allocation::Column::ConnectorId.eq(Some(connector_id)))
        .exec(db)
        .await?
        .rows_affected)
}

/// Every allocation of a connector as `(resource, value)`, for tests and ops.
pub async fn of_connector<C: ConnectionTrait>(
    db: &C,
    connector_id: Uuid,
) -> Result<Vec<(String, i64)>> {
    Ok(allocation::Entity::find()
        .select_only()
        .column(allocation::Column::Resource)
        .column(allocation::Column::Value)
        .filter(allocation::Column::ConnectorId.eq(Some(connector_id)))
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?)
}

/// Parses `a.b.c.d/len`, requiring the address to be the network address.
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(addr) & !mask == 0).then_some((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_free_counts_only_free_values_within_bounds() {
        assert_eq!(nth_free(&[100, 101, 103], 100, 200, 0), Some(102));
        assert_eq!(nth_free(&[100, 101, 103], 100, 200, 1), Some(104));
        assert_eq!(nth_free(&[1, 2, 100], 100, 102, 1), Some(102));
        assert_eq!(nth_free(&[100], 100, 102, 2), None);
    }

    #[test]
    fn lowest_free_skips_used_and_respects_bounds() {
        assert_eq!(lowest_free(&[], 100, 200), Some(100));
        assert_eq!(lowest_free(&[100, 101, 103], 100, 200), Some(102));
        assert_eq!(lowest_free(&[5, 100, 101], 100, 101), None);
        assert_eq!(lowest_free(&[1, 2], 100, 101), Some(100));
    }

    #[test]
    fn cidr_parsing_rejects_host_bits_and_garbage() {
        assert_eq!(
            parse_cidr("169.254.0.0/16"),
            Some((Ipv4Addr::new(169, 254, 0, 0), 16))
        );
        assert_eq!(parse_cidr("169.254.0.1/16"), None);
        assert_eq!(parse_cidr("169.254.0.0/33"), None);
        assert_eq!(parse_cidr("nope"), None);
    }
}
