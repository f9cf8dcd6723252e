//! Route-target pools: the route distinguishers and targets
//! `<admin_asn>:<n>` that tenant VRFs and links get, one each.

use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, Set};
use uuid::Uuid;

use super::{RangePool, check_order, check_pool_name, pool_functions, refuse_shrink};
use crate::admin::checks::check_asn;
use crate::admin::error::{AdminResult, Issues, in_use};
use crate::admin::usage::{describe, list, plural};
use crate::alloc;
use crate::entity::{allocation, route_target_pool};

#[derive(Clone, Debug)]
pub struct RouteTargetPoolSpec {
    pub name: String,
    /// The administrator subfield of `<admin_asn>:<n>`.
    pub admin_asn: i64,
    pub first: i64,
    pub last: i64,
}

#[derive(Clone, Debug, Default)]
pub struct RouteTargetPoolPatch {
    pub name: Option<String>,
    pub admin_asn: Option<i64>,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl RouteTargetPoolSpec {
    /// The largest assigned number: a 2-byte administrator leaves 4 bytes for
    /// it (RFC 4360 type 0), a 4-byte one leaves 2 (type 2).
    pub fn max_number(&self) -> i64 {
        if self.admin_asn > 65_535 {
            65_535
        } else {
            4_294_967_295
        }
    }
}

impl RangePool for RouteTargetPoolSpec {
    type Entity = route_target_pool::Entity;
    type Model = route_target_pool::Model;
    type ActiveModel = route_target_pool::ActiveModel;
    type Patch = RouteTargetPoolPatch;

    const WHAT: &'static str = "route-target pool";
    const A_WHAT: &'static str = "a route-target pool";
    const RESOURCE: &'static str = alloc::ROUTE_TARGET;
    const RANGE_FIELDS: &'static [&'static str] = &["first", "last"];
    const UNIT: (&'static str, &'static str) = ("allocated RD/RT", "allocated RD/RTs");
    const NAME: route_target_pool::Column = route_target_pool::Column::Name;
    const ID: route_target_pool::Column = route_target_pool::Column::Id;
    const ORDER: route_target_pool::Column = route_target_pool::Column::Name;

    fn of(m: &route_target_pool::Model) -> Self {
        RouteTargetPoolSpec {
            name: m.name.clone(),
            admin_asn: m.admin_asn,
            first: m.first,
            last: m.last,
        }
    }

    fn id(m: &route_target_pool::Model) -> Uuid {
        m.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn patch(self, p: RouteTargetPoolPatch) -> Self {
        RouteTargetPoolSpec {
            name: p.name.unwrap_or(self.name),
            admin_asn: p.admin_asn.unwrap_or(self.admin_asn),
            first: p.first.unwrap_or(self.first),
            last: p.last.unwrap_or(self.last),
        }
    }

    fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        check_asn(&mut i, "admin_asn", self.admin_asn);
        let max = self.max_number();
        for (field, v) in [("first", self.first), ("last", self.last)] {
            if !(0..=max).contains(&v) {
                i.add(
                    field,
                    "out_of_range",
                    format!(
                        "{v} is outside 0-{max}, the assigned numbers that fit with administrator {}",
                        self.admin_asn
                    ),
                );
            }
        }
        check_order(&mut i, self.first, self.last);
        i.into_result()
    }

    fn row(self, id: Uuid) -> route_target_pool::ActiveModel {
        route_target_pool::ActiveModel {
            id: Set(id),
            name: Set(self.name),
            admin_asn: Set(self.admin_asn),
            first: Set(self.first),
            last: Set(self.last),
        }
    }

    fn span(&self) -> Option<(i64, i64)> {
        Some((self.first, self.last))
    }

    fn range(&self) -> String {
        let a = self.admin_asn;
        format!("{a}:{}-{a}:{}", self.first, self.last)
    }

    /// Two administrators' numbers never collide.
    fn peers(&self) -> Condition {
        Condition::all().add(route_target_pool::Column::AdminAsn.eq(self.admin_asn))
    }

    fn overlap_message(&self, other: &Self) -> String {
        format!(
            "{} overlaps route-target pool {} ({}); two pools would hand out the same route targets",
            self.range(),
            other.name,
            other.range()
        )
    }

    /// Its allocations are counted in RD/RTs, not shown with its range.
    fn label(&self) -> String {
        format!("route-target pool {}", self.name)
    }

    async fn describe(
        &self,
        tx: &DatabaseTransaction,
        allocs: &[allocation::Model],
    ) -> AdminResult<Vec<String>> {
        let admin = self.admin_asn;
        describe(tx, allocs, |v| format!("{admin}:{v}")).await
    }

    /// The administrator is part of every allocated RD/RT, so it may not
    /// change under them; the range may not shrink past them either.
    async fn refuse_change(
        &self,
        tx: &DatabaseTransaction,
        current: &Self,
        allocs: Vec<allocation::Model>,
    ) -> AdminResult<()> {
        let admin = current.admin_asn;
        if self.admin_asn != admin && !allocs.is_empty() {
            let items = current.describe(tx, &allocs).await?;
            return Err(in_use(
                format!(
                    "route-target pool {} cannot change its administrator from {admin} to {} while {} carry it ({})",
                    current.name,
                    self.admin_asn,
                    plural(allocs.len(), Self::UNIT.0, Self::UNIT.1),
                    list(&items)
                ),
                &["admin_asn"],
            ));
        }
        refuse_shrink(tx, current, self, allocs).await
    }
}

pool_functions!(
    RouteTargetPoolSpec,
    RouteTargetPoolPatch,
    route_target_pool::Model,
    create_route_target_pool,
    get_route_target_pool,
    list_route_target_pools,
    update_route_target_pool,
    delete_route_target_pool
);
