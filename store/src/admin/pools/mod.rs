//! Resource pools: link-net, ASN and route-target. The three kinds differ in
//! what they hold and how they say it, not in how they are kept: each is a
//! [`RangePool`], and create, read, update and delete, with their name,
//! overlap and in-use checks, are written once here for all of them.

use std::future::Future;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::checks::valid_name;
use super::error::{
    AdminError, AdminResult, Issues, conflict, duplicate, in_use, not_found, or_duplicate,
};
use super::usage::{allocations, counted, list, outside_range, plural};
use crate::entity::allocation;

pub mod asn;
pub mod linknet;
pub mod route_target;

/// A kind of pool: a named range of values (addresses, ASNs, route-target
/// numbers) that allocations draw from. The spec type is the pool as
/// written; `Model` is its row.
pub trait RangePool: Sized + Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self::Model, ActiveModel = Self::ActiveModel>;
    type Model: IntoActiveModel<Self::ActiveModel> + Send + Sync;
    type ActiveModel: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + Send;
    /// A partial update; `None` leaves a field as it is.
    type Patch: Send;

    /// What messages call one: `link-net pool`.
    const WHAT: &'static str;
    /// The same with its article: `an ASN pool`.
    const A_WHAT: &'static str;
    /// The allocation resource its values are recorded under.
    const RESOURCE: &'static str;
    /// The fields an overlap with another pool is reported on.
    const RANGE_FIELDS: &'static [&'static str];
    /// One allocated value and several, as in-use messages count them.
    const UNIT: (&'static str, &'static str);
    const NAME: <Self::Entity as EntityTrait>::Column;
    const ID: <Self::Entity as EntityTrait>::Column;
    /// The order [`list_all`] returns them in.
    const ORDER: <Self::Entity as EntityTrait>::Column;

    fn of(m: &Self::Model) -> Self;
    fn id(m: &Self::Model) -> Uuid;
    fn name(&self) -> &str;
    fn patch(self, p: Self::Patch) -> Self;
    /// Checks every field.
    fn validate(&self) -> AdminResult<()>;
    /// The row to store under `id`, every column set.
    fn row(self, id: Uuid) -> Self::ActiveModel;
    /// The values the pool covers, first and last; `None` where the spec
    /// does not parse (`validate` says why).
    fn span(&self) -> Option<(i64, i64)>;
    /// The range as people write it: `169.254.0.0/24`, `64512-65534`.
    fn range(&self) -> String;
    /// The pools its range must not overlap: all of its kind unless a kind
    /// scopes its values (route targets are per administrator).
    fn peers(&self) -> Condition {
        Condition::all()
    }
    fn overlap_message(&self, other: &Self) -> String;
    /// How a refused delete names the pool.
    fn label(&self) -> String {
        format!("{} {} ({})", Self::WHAT, self.name(), self.range())
    }
    /// `"<value> → <holder>"` for each of `allocs`.
    fn describe(
        &self,
        tx: &DatabaseTransaction,
        allocs: &[allocation::Model],
    ) -> impl Future<Output = AdminResult<Vec<String>>> + Send;
    /// Refuses a change from `current` that would strand an allocation; by
    /// default, a range that leaves an allocated value outside.
    fn refuse_change(
        &self,
        tx: &DatabaseTransaction,
        current: &Self,
        allocs: Vec<allocation::Model>,
    ) -> impl Future<Output = AdminResult<()>> + Send {
        refuse_shrink(tx, current, self, allocs)
    }
    /// What uses the pool besides its allocations (NNIs drawing from a
    /// link-net pool), for a refused delete.
    fn other_users(
        _tx: &DatabaseTransaction,
        _id: Uuid,
    ) -> impl Future<Output = AdminResult<Vec<String>>> + Send {
        async { Ok(Vec::new()) }
    }
}

fn taken<P: RangePool>(name: &str) -> String {
    format!("{} named `{name}` already exists", P::A_WHAT)
}

pub(super) fn check_pool_name(i: &mut Issues, name: &str) {
    if !valid_name(name) {
        i.add(
            "name",
            "invalid_format",
            format!("`{name}` is not a pool name: use 1-63 of a-z, 0-9 and -"),
        );
    }
}

/// Refuses `last` below `first` once both are valid on their own; says
/// whether they make a range the kind can check further.
pub(super) fn check_order(i: &mut Issues, first: i64, last: i64) -> bool {
    if i.has("first") || i.has("last") {
        return false;
    }
    if first > last {
        i.add(
            "last",
            "less_than_first",
            format!("last {last} is below first {first}"),
        );
        return false;
    }
    true
}

fn ranges_overlap(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Refuses a name another pool of the kind has, or a range that overlaps
/// one of its peers.
async fn refuse_clash<P: RangePool>(
    tx: &DatabaseTransaction,
    spec: &P,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = P::Entity::find().filter(P::NAME.eq(spec.name()));
    if let Some(id) = except {
        q = q.filter(P::ID.ne(id));
    }
    if q.one(tx).await?.is_some() {
        return Err(duplicate("name", taken::<P>(spec.name())));
    }
    let Some(mine) = spec.span() else {
        return Ok(());
    };
    for other in P::Entity::find().filter(spec.peers()).all(tx).await? {
        if Some(P::id(&other)) == except {
            continue;
        }
        let other = P::of(&other);
        if other
            .span()
            .is_some_and(|theirs| ranges_overlap(mine, theirs))
        {
            return Err(conflict(
                P::RANGE_FIELDS,
                "overlap",
                spec.overlap_message(&other),
            ));
        }
    }
    Ok(())
}

/// Refuses a new range (`first`-`last`) that leaves an allocated value of
/// `current` outside.
pub(super) async fn refuse_shrink<P: RangePool>(
    tx: &DatabaseTransaction,
    current: &P,
    new: &P,
    allocs: Vec<allocation::Model>,
) -> AdminResult<()> {
    let Some((first, last)) = new.span() else {
        return Ok(());
    };
    let (outside, fields) = outside_range(allocs, (first, last), ["first", "last"]);
    if outside.is_empty() {
        return Ok(());
    }
    let items = current.describe(tx, &outside).await?;
    Err(in_use(
        format!(
            "{} {} cannot shrink to {first}-{last}: {} would fall outside ({})",
            P::WHAT,
            current.name(),
            plural(outside.len(), P::UNIT.0, P::UNIT.1),
            list(&items)
        ),
        &fields,
    ))
}

pub async fn create<P: RangePool>(db: &DatabaseConnection, spec: P) -> AdminResult<P::Model> {
    spec.validate()?;
    let name = spec.name().to_owned();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        refuse_clash(&tx, &spec, None).await?;
        let m = spec.row(Uuid::new_v4()).insert(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || taken::<P>(&name)))
}

pub async fn get<P: RangePool, C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<P::Model> {
    P::Entity::find()
        .filter(P::ID.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("{} {id}", P::WHAT)))
}

pub async fn list_all<P: RangePool>(db: &DatabaseConnection) -> AdminResult<Vec<P::Model>> {
    Ok(P::Entity::find().order_by_asc(P::ORDER).all(db).await?)
}

/// Merges `patch` onto the stored pool, validates the result like a create,
/// and refuses what would strand an allocation.
pub async fn update<P: RangePool>(
    db: &DatabaseConnection,
    id: Uuid,
    patch: P::Patch,
) -> AdminResult<P::Model> {
    let spec = P::of(&get::<P, _>(db, id).await?).patch(patch);
    spec.validate()?;
    let name = spec.name().to_owned();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = P::of(&get::<P, _>(&tx, id).await?);
        refuse_clash(&tx, &spec, Some(id)).await?;
        let allocs = allocations(&tx, P::RESOURCE, id).await?;
        spec.refuse_change(&tx, &current, allocs).await?;
        let m = spec.row(id).update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || taken::<P>(&name)))
}

/// Refused while values are allocated from the pool or others use it.
pub async fn delete<P: RangePool>(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let pool = P::of(&get::<P, _>(&tx, id).await?);
    let mut users = Vec::new();
    let allocs = allocations(&tx, P::RESOURCE, id).await?;
    if !allocs.is_empty() {
        let items = pool.describe(&tx, &allocs).await?;
        users.push(counted(&items, P::UNIT.0, P::UNIT.1));
    }
    users.extend(P::other_users(&tx, id).await?);
    if !users.is_empty() {
        return Err(in_use(
            format!("{} is in use: {}", pool.label(), users.join(" and ")),
            &[],
        ));
    }
    P::Entity::delete_many()
        .filter(P::ID.eq(id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The per-kind names the store had before the pools were generic
/// (`create_asn_pool`, ...), kept for the callers that use them.
macro_rules! pool_functions {
    ($spec:ty, $patch:ty, $model:ty, $create:ident, $get:ident, $list:ident, $update:ident, $delete:ident) => {
        pub async fn $create(
            db: &sea_orm::DatabaseConnection,
            spec: $spec,
        ) -> $crate::admin::AdminResult<$model> {
            $crate::admin::pools::create(db, spec).await
        }

        pub async fn $get<C: sea_orm::ConnectionTrait>(
            db: &C,
            id: uuid::Uuid,
        ) -> $crate::admin::AdminResult<$model> {
            $crate::admin::pools::get::<$spec, _>(db, id).await
        }

        pub async fn $list(
            db: &sea_orm::DatabaseConnection,
        ) -> $crate::admin::AdminResult<Vec<$model>> {
            $crate::admin::pools::list_all::<$spec>(db).await
        }

        pub async fn $update(
            db: &sea_orm::DatabaseConnection,
            id: uuid::Uuid,
            patch: $patch,
        ) -> $crate::admin::AdminResult<$model> {
            $crate::admin::pools::update::<$spec>(db, id, patch).await
        }

        pub async fn $delete(
            db: &sea_orm::DatabaseConnection,
            id: uuid::Uuid,
        ) -> $crate::admin::AdminResult<()> {
            $crate::admin::pools::delete::<$spec>(db, id).await
        }
    };
}
use pool_functions;
