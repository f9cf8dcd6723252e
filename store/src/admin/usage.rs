//! What is in use and how a refusal says so: the allocations in a port or
//! pool, who holds them, and the short lists an in-use message names them in.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::error::AdminResult;
use crate::entity::{allocation, connector, tenant};

/// How many users an in-use message lists before it says "and N more".
const LIST_LIMIT: usize = 8;

pub(super) fn list<T: AsRef<str>>(items: &[T]) -> String {
    let shown: Vec<&str> = items.iter().take(LIST_LIMIT).map(AsRef::as_ref).collect();
    let mut s = shown.join(", ");
    if items.len() > LIST_LIMIT {
        s.push_str(&format!(" and {} more", items.len() - LIST_LIMIT));
    }
    s
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `3 allocated VLANs (a, b, c)`: how many there are, and the first few.
pub(super) fn counted<T: AsRef<str>>(items: &[T], one: &str, many: &str) -> String {
    format!("{} ({})", plural(items.len(), one, many), list(items))
}

pub(super) async fn allocations<C: ConnectionTrait>(
    db: &C,
    resource: &str,
    scope: Uuid,
) -> AdminResult<Vec<allocation::Model>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Resource.eq(resource))
        .filter(allocation::Column::Scope.eq(scope.to_string()))
        .order_by_asc(allocation::Column::Value)
        .all(db)
        .await?)
}

/// How many values of `resource` are allocated in `scope` (a port id for
/// VLANs, a pool id otherwise).
pub async fn allocated_count<C: ConnectionTrait>(
    db: &C,
    resource: &str,
    scope: Uuid,
) -> AdminResult<u64> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Resource.eq(resource))
        .filter(allocation::Column::Scope.eq(scope.to_string()))
        .count(db)
        .await?)
}

/// Labels of the holders of `allocs`, by allocation id: `connector <id>
/// (<state>, tenant <name>)` or `tenant <name>`.
pub(super) async fn holders<C: ConnectionTrait>(
    db: &C,
    allocs: &[allocation::Model],
) -> AdminResult<HashMap<i64, String>> {
    let connector_ids: HashSet<Uuid> = allocs.iter().filter_map(|a| a.connector_id).collect();
    let connectors: HashMap<Uuid, connector::Model> = if connector_ids.is_empty() {
        HashMap::new()
    } else {
        connector::Entity::find()
            .filter(connector::Column::Id.is_in(connector_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let mut tenant_ids: HashSet<Uuid> = allocs.iter().filter_map(|a| a.tenant_id).collect();
    tenant_ids.extend(connectors.values().map(|c| c.tenant_id));
    let tenants: HashMap<Uuid, String> = if tenant_ids.is_empty() {
        HashMap::new()
    } else {
        tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(tenant_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect()
    };
    let tenant_name = |id: &Uuid| tenants.get(id).cloned().unwrap_or_else(|| id.to_string());
    Ok(allocs
        .iter()
        .map(|a| {
            let label = match (a.connector_id, a.tenant_id) {
                (Some(c), _) => match connectors.get(&c) {
                    Some(row) => format!(
                        "connector {c} ({}, tenant {})",
                        row.state,
                        tenant_name(&row.tenant_id)
                    ),
                    None => format!("connector {c}"),
                },
                (None, Some(t)) => format!("tenant {} (its VRF)", tenant_name(&t)),
                (None, None) => "no recorded owner".into(),
            };
            (a.id, label)
        })
        .collect())
}

/// `"<what> → <holder>"` for each allocation, `what` rendered by `show`.
pub(super) async fn describe<C: ConnectionTrait>(
    db: &C,
    allocs: &[allocation::Model],
    show: impl Fn(i64) -> String,
) -> AdminResult<Vec<String>> {
    let who = holders(db, allocs).await?;
    Ok(allocs
        .iter()
        .map(|a| format!("{} → {}", show(a.value), who[&a.id]))
        .collect())
}

/// The allocations outside `first..=last`, and the fields they fall past:
/// `fields[0]` when some lie below `first`, `fields[1]` when some lie above.
pub(super) fn outside_range(
    allocs: Vec<allocation::Model>,
    (first, last): (i64, i64),
    fields: [&'static str; 2],
) -> (Vec<allocation::Model>, Vec<&'static str>) {
    let below = allocs.iter().any(|a| a.value < first);
    let above = allocs.iter().any(|a| a.value > last);
    let outside = allocs
        .into_iter()
        .filter(|a| a.value < first || a.value > last)
        .collect();
    let past = [(below, fields[0]), (above, fields[1])];
    (
        outside,
        past.into_iter().filter(|p| p.0).map(|p| p.1).collect(),
    )
}
