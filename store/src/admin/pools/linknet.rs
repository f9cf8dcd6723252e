//! Link-net pools: blocks of 169.254.0.0/16 that NNIs carve their peering
//! subnets from, one /31 (or a Google /29) per connector.

use std::net::Ipv4Addr;

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{RangePool, check_pool_name, pool_functions};
use crate::admin::error::{AdminResult, Issues, in_use};
use crate::admin::nnis::nni_label;
use crate::admin::usage::{holders, list};
use crate::alloc::{self, parse_cidr};
use crate::entity::{allocation, linknet_pool, nni};

/// Link-net pools live inside 169.254.0.0/16 (link-local, what the CSPs peer on).
pub const LINKNET_SUPERNET: (Ipv4Addr, u8) = (Ipv4Addr::new(169, 254, 0, 0), 16);

/// The smallest link-net pool: a /29 (four /31s, or one Google /29).
pub const LINKNET_MAX_PREFIX: u8 = 29;

#[derive(Clone, Debug)]
pub struct LinknetPoolSpec {
    pub name: String,
    /// e.g. `169.254.0.0/16`
    pub cidr: String,
}

#[derive(Clone, Debug, Default)]
pub struct LinknetPoolPatch {
    pub name: Option<String>,
    pub cidr: Option<String>,
}

/// The first and last address of a block, as numbers.
fn cidr_span((addr, len): (Ipv4Addr, u8)) -> (i64, i64) {
    let start = i64::from(u32::from(addr));
    (start, start + (1i64 << (32 - len)) - 1)
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    super::ranges_overlap(cidr_span(a), cidr_span(b))
}

/// Link-net allocations are one row per /31 (an offset from the pool's
/// base); this merges each holder's rows back into the blocks they got.
async fn describe_subnets(
    db: &DatabaseTransaction,
    allocs: &[allocation::Model],
    base: Ipv4Addr,
) -> AdminResult<Vec<String>> {
    let who = holders(db, allocs).await?;
    let mut sorted: Vec<&allocation::Model> = allocs.iter().collect();
    sorted.sort_by_key(|a| (a.connector_id, a.tenant_id, a.value));
    let mut runs: Vec<(i64, i64, String)> = Vec::new();
    for a in sorted {
        let holder = &who[&a.id];
        match runs.last_mut() {
            Some((start, len, h)) if h == holder && *start + *len == a.value => *len += 1,
            _ => runs.push((a.value, 1, holder.clone())),
        }
    }
    runs.sort_by_key(|r| r.0);
    let addr = |unit: i64| Ipv4Addr::from(u32::from(base).wrapping_add((unit as u32) * 2));
    Ok(runs
        .into_iter()
        .map(|(start, len, holder)| {
            let block = if len.count_ones() == 1 && start % len == 0 {
                format!("{}/{}", addr(start), 31 - len.trailing_zeros())
            } else {
                format!("{}-{}", addr(start), addr(start + len - 1))
            };
            format!("{block} → {holder}")
        })
        .collect())
}

impl RangePool for LinknetPoolSpec {
    type Entity = linknet_pool::Entity;
    type Model = linknet_pool::Model;
    type ActiveModel = linknet_pool::ActiveModel;
    type Patch = LinknetPoolPatch;

    const WHAT: &'static str = "link-net pool";
    const A_WHAT: &'static str = "a link-net pool";
    const RESOURCE: &'static str = alloc::LINKNET;
    const RANGE_FIELDS: &'static [&'static str] = &["cidr"];
    const UNIT: (&'static str, &'static str) = ("allocated subnet", "allocated subnets");
    const NAME: linknet_pool::Column = linknet_pool::Column::Name;
    const ID: linknet_pool::Column = linknet_pool::Column::Id;
    const ORDER: linknet_pool::Column = linknet_pool::Column::Name;

    fn of(m: &linknet_pool::Model) -> Self {
        LinknetPoolSpec {
            name: m.name.clone(),
            cidr: m.cidr.clone(),
        }
    }

    fn id(m: &linknet_pool::Model) -> Uuid {
        m.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn patch(self, p: LinknetPoolPatch) -> Self {
        LinknetPoolSpec {
            name: p.name.unwrap_or(self.name),
            cidr: p.cidr.unwrap_or(self.cidr),
        }
    }

    fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        match parse_cidr(&self.cidr) {
            None => {
                let detail = match self.cidr.split_once('/') {
                    Some((a, l))
                        if a.parse::<Ipv4Addr>().is_ok()
                            && l.parse::<u8>().is_ok_and(|l| l <= 32) =>
                    {
                        format!(
                            "`{}` has host bits set; give the network address of the block",
                            self.cidr
                        )
                    }
                    _ => format!(
                        "`{}` is not an IPv4 CIDR block like 169.254.0.0/24",
                        self.cidr
                    ),
                };
                i.add("cidr", "invalid_format", detail);
            }
            Some((addr, len)) => {
                if len < LINKNET_SUPERNET.1 || !overlaps((addr, len), LINKNET_SUPERNET) {
                    i.add(
                        "cidr",
                        "outside_link_local",
                        format!("{} is not inside 169.254.0.0/16", self.cidr),
                    );
                } else if len > LINKNET_MAX_PREFIX {
                    i.add(
                        "cidr",
                        "too_small",
                        format!(
                            "{} is smaller than a /{LINKNET_MAX_PREFIX}; a pool needs room for a /{LINKNET_MAX_PREFIX} at least",
                            self.cidr
                        ),
                    );
                }
            }
        }
        i.into_result()
    }

    fn row(self, id: Uuid) -> linknet_pool::ActiveModel {
        linknet_pool::ActiveModel {
            id: Set(id),
            name: Set(self.name),
            cidr: Set(self.cidr),
        }
    }

    fn span(&self) -> Option<(i64, i64)> {
        parse_cidr(&self.cidr).map(cidr_span)
    }

    fn range(&self) -> String {
        self.cidr.clone()
    }

    fn overlap_message(&self, other: &Self) -> String {
        format!(
            "{} overlaps link-net pool {} ({}); pools must not share addresses",
            self.cidr, other.name, other.cidr
        )
    }

    async fn describe(
        &self,
        tx: &DatabaseTransaction,
        allocs: &[allocation::Model],
    ) -> AdminResult<Vec<String>> {
        let base = parse_cidr(&self.cidr)
            .map(|(a, _)| a)
            .unwrap_or(LINKNET_SUPERNET.0);
        describe_subnets(tx, allocs, base).await
    }

    /// Allocations are /31 offsets from the pool's first address, so while
    /// it has any the pool may grow or shrink at the same base, never move,
    /// and never shrink below an allocated block.
    async fn refuse_change(
        &self,
        tx: &DatabaseTransaction,
        current: &Self,
        allocs: Vec<allocation::Model>,
    ) -> AdminResult<()> {
        let (false, Some((old_base, _)), Some((new_base, new_len))) = (
            allocs.is_empty() || self.cidr == current.cidr,
            parse_cidr(&current.cidr),
            parse_cidr(&self.cidr),
        ) else {
            return Ok(());
        };
        if new_base != old_base {
            let items = current.describe(tx, &allocs).await?;
            return Err(in_use(
                format!(
                    "link-net pool {} cannot move from {} to {} while it has allocated subnets ({}); it may only grow or shrink from {old_base}",
                    current.name,
                    current.cidr,
                    self.cidr,
                    list(&items)
                ),
                &["cidr"],
            ));
        }
        let units = 1i64 << (31 - new_len);
        let outside: Vec<allocation::Model> =
            allocs.into_iter().filter(|a| a.value >= units).collect();
        if !outside.is_empty() {
            let items = current.describe(tx, &outside).await?;
            return Err(in_use(
                format!(
                    "link-net pool {} cannot shrink to {}: allocated subnets would fall outside ({})",
                    current.name,
                    self.cidr,
                    list(&items)
                ),
                &["cidr"],
            ));
        }
        Ok(())
    }

    /// NNIs draw their peering subnets from it.
    async fn other_users(tx: &DatabaseTransaction, id: Uuid) -> AdminResult<Vec<String>> {
        let nnis: Vec<String> = nni::Entity::find()
            .filter(nni::Column::LinknetPoolId.eq(id))
            .order_by_asc(nni::Column::LocationCode)
            .all(tx)
            .await?
            .iter()
            .map(nni_label)
            .collect();
        Ok(if nnis.is_empty() {
            Vec::new()
        } else {
            vec![format!("{} drawing from it", list(&nnis))]
        })
    }
}

pool_functions!(
    LinknetPoolSpec,
    LinknetPoolPatch,
    linknet_pool::Model,
    create_linknet_pool,
    get_linknet_pool,
    list_linknet_pools,
    update_linknet_pool,
    delete_linknet_pool
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_overlap() {
        let p = |s| parse_cidr(s).unwrap();
        assert!(overlaps(p("169.254.0.0/16"), p("169.254.10.0/24")));
        assert!(!overlaps(p("169.254.0.0/24"), p("169.254.1.0/24")));
        assert!(overlaps(p("169.254.1.0/24"), p("169.254.1.8/29")));
    }
}
