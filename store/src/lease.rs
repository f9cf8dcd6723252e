//! Work leases on rows: a holder takes a row's lease for a while, another
//! holder waits until it is released or runs out, and a crashed holder's
//! lease simply runs out. Connectors, links and PE writers use it.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Result;

/// The columns of `E` that hold its lease: the row's id, the lease's end
/// (epoch milliseconds) and its holder.
pub(crate) struct Lease<E: EntityTrait> {
    pub id: E::Column,
    pub until_ms: E::Column,
    pub holder: E::Column,
}

impl<E: EntityTrait> Lease<E> {
    /// Takes the lease of row `id` for `holder` unless another holder has
    /// an unexpired one; the holder may renew its own.
    pub(crate) async fn take(
        &self,
        db: &DatabaseConnection,
        id: Uuid,
        holder: &str,
        duration: std::time::Duration,
    ) -> Result<bool> {
        let free_or_ours = |now: i64| {
            Condition::any()
                .add(self.until_ms.is_null())
                .add(self.until_ms.lt(now))
                .add(self.holder.eq(holder))
        };
        self.hold(db, id, holder, duration, free_or_ours).await
    }

    /// Extends the lease of row `id` if `holder` still has it and it has
    /// not run out: unlike [`Lease::take`], a lease that expired (another
    /// holder may be about to take it) is not renewed.
    pub(crate) async fn renew<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        id: Uuid,
        holder: &str,
        duration: std::time::Duration,
    ) -> Result<bool> {
        let still_ours = |now: i64| {
            Condition::all()
                .add(self.holder.eq(holder))
                .add(self.until_ms.gte(now))
        };
        self.hold(db, id, holder, duration, still_ours).await
    }

    /// Sets the lease of row `id` to `holder` until `duration` from now,
    /// where `when(now)` holds.
    async fn hold<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        id: Uuid,
        holder: &str,
        duration: std::time::Duration,
        when: impl Fn(i64) -> Condition,
    ) -> Result<bool> {
        let now = Utc::now().timestamp_millis();
        let res = E::update_many()
            .col_expr(
                self.until_ms,
                Expr::value(Some(now + duration.as_millis() as i64)),
            )
            .col_expr(self.holder, Expr::value(Some(holder.to_string())))
            .filter(self.id.eq(id))
            .filter(when(now))
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives the lease back, if `holder` still has it.
    pub(crate) async fn release(
        &self,
        db: &DatabaseConnection,
        id: Uuid,
        holder: &str,
    ) -> Result<()> {
        E::update_many()
            .col_expr(self.until_ms, Expr::value(Option::<i64>::None))
            .col_expr(self.holder, Expr::value(Option::<String>::None))
            .filter(self.id.eq(id))
            .filter(self.holder.eq(holder))
            .exec(db)
            .await?;
        Ok(())
    }
}
