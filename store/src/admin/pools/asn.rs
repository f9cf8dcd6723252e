//! ASN pools: private ASNs handed to customers who bring none.

use sea_orm::{DatabaseTransaction, Set};
use uuid::Uuid;

use super::{RangePool, check_order, check_pool_name, pool_functions};
use crate::admin::error::{AdminResult, Issues};
use crate::admin::usage::describe;
use crate::alloc;
use crate::entity::{allocation, asn_pool};

/// RFC 6996 private ASN ranges, the only ones an ASN pool may hand out.
pub const PRIVATE_ASN_RANGES: &[(i64, i64)] = &[(64_512, 65_534), (4_200_000_000, 4_294_967_294)];

#[derive(Clone, Debug)]
pub struct AsnPoolSpec {
    pub name: String,
    pub first: i64,
    pub last: i64,
}

#[derive(Clone, Debug, Default)]
pub struct AsnPoolPatch {
    pub name: Option<String>,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

fn private_range_of(asn: i64) -> Option<(i64, i64)> {
    PRIVATE_ASN_RANGES
        .iter()
        .copied()
        .find(|(lo, hi)| (*lo..=*hi).contains(&asn))
}

impl RangePool for AsnPoolSpec {
    type Entity = asn_pool::Entity;
    type Model = asn_pool::Model;
    type ActiveModel = asn_pool::ActiveModel;
    type Patch = AsnPoolPatch;

    const WHAT: &'static str = "ASN pool";
    const A_WHAT: &'static str = "an ASN pool";
    const RESOURCE: &'static str = alloc::ASN;
    const RANGE_FIELDS: &'static [&'static str] = &["first", "last"];
    const UNIT: (&'static str, &'static str) = ("allocated ASN", "allocated ASNs");
    const NAME: asn_pool::Column = asn_pool::Column::Name;
    const ID: asn_pool::Column = asn_pool::Column::Id;
    // Lowest range first: the order allocation uses them in.
    const ORDER: asn_pool::Column = asn_pool::Column::First;

    fn of(m: &asn_pool::Model) -> Self {
        AsnPoolSpec {
            name: m.name.clone(),
            first: m.first,
            last: m.last,
        }
    }

    fn id(m: &asn_pool::Model) -> Uuid {
        m.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn patch(self, p: AsnPoolPatch) -> Self {
        AsnPoolSpec {
            name: p.name.unwrap_or(self.name),
            first: p.first.unwrap_or(self.first),
            last: p.last.unwrap_or(self.last),
        }
    }

    fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        for (field, v) in [("first", self.first), ("last", self.last)] {
            if private_range_of(v).is_none() {
                i.add(
                    field,
                    "not_private",
                    format!(
                        "ASN {v} is not private; use 64512-65534 or 4200000000-4294967294 (RFC 6996)"
                    ),
                );
            }
        }
        if check_order(&mut i, self.first, self.last)
            && private_range_of(self.first) != private_range_of(self.last)
        {
            i.add(
                "last",
                "spans_ranges",
                format!(
                    "{}-{} spans both private ranges; make one pool per range",
                    self.first, self.last
                ),
            );
        }
        i.into_result()
    }

    fn row(self, id: Uuid) -> asn_pool::ActiveModel {
        asn_pool::ActiveModel {
            id: Set(id),
            name: Set(self.name),
            first: Set(self.first),
            last: Set(self.last),
        }
    }

    fn span(&self) -> Option<(i64, i64)> {
        Some((self.first, self.last))
    }

    fn range(&self) -> String {
        format!("{}-{}", self.first, self.last)
    }

    fn overlap_message(&self, other: &Self) -> String {
        format!(
            "ASNs {} overlap ASN pool {} ({}); pools must not share ASNs",
            self.range(),
            other.name,
            other.range()
        )
    }

    async fn describe(
        &self,
        tx: &DatabaseTransaction,
        allocs: &[allocation::Model],
    ) -> AdminResult<Vec<String>> {
        describe(tx, allocs, |v| format!("ASN {v}")).await
    }
}

pool_functions!(
    AsnPoolSpec,
    AsnPoolPatch,
    asn_pool::Model,
    create_asn_pool,
    get_asn_pool,
    list_asn_pools,
    update_asn_pool,
    delete_asn_pool
);
