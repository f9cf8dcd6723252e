//! Webhook subscriptions and their deliveries (issue 8).
//!
//! A webhook receives its own tenant's connector state changes, one at a
//! time and in id order. Its `event_cursor` is the last event id it is done
//! with (delivered, given up on, or not its tenant's); a worker holding the
//! webhook's lease sends the next event of the tenant past the cursor and
//! records the outcome, which moves the cursor on or schedules a retry. The
//! lease keeps a second worker from delivering the same webhook at once,
//! which would break the order.
//!
//! The signing secret is sealed with the secret key (the worker must read
//! it back to sign) and is returned in the clear exactly once, to the
//! caller that creates the webhook.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::entity::{connector_event, webhook, webhook_delivery};
use crate::event_payload::StateChange;
use crate::secrets::SecretBox;
use crate::{Error, Result};

/// What every signing secret starts with, so one is recognisable in a
/// config file or a leak scanner.
pub const SECRET_PREFIX: &str = "whsec_";

/// Delivery attempts kept per webhook; older ones are pruned as new ones
/// are recorded.
pub const DELIVERIES_KEPT: u64 = 100;

/// Error texts are cut to this many characters before they are stored.
const ERROR_MAX: usize = 500;

/// Events read per look past a cursor; other tenants' events are skipped a
/// batch at a time.
const EVENT_BATCH: u64 = 200;

pub const OUTCOME_DELIVERED: &str = "delivered";
pub const OUTCOME_FAILED: &str = "failed";
pub const OUTCOME_GAVE_UP: &str = "gave_up";

/// 32 random bytes, base64url: `whsec_` and 43 characters.
pub fn generate_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A webhook just created, with its secret in the clear.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub row: webhook::Model,
    pub secret: String,
}

// Built once per create request; boxing the common variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Created {
    Created(NewWebhook),
    /// The tenant already has `limit` webhooks; nothing was created.
    LimitReached {
        limit: u64,
    },
}

/// Creates a webhook for the tenant unless it already has `limit` live
/// ones. Its cursor starts at the newest event, so it receives only what
/// happens from now on.
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    tenant_id: Uuid,
    url: &str,
    description: Option<&str>,
    limit: u64,
) -> Result<Created> {
    let secret = generate_secret();
    let sealed = secrets.seal(&secret);
    crate::db::retry_contention(|| async {
        // The count and the insert share the write lock (SQLite) or the
        // tenant row's lock (PostgreSQL), so two concurrent creates cannot
        // both slip under the limit.
        let tx = crate::db::begin_write(db).await?;
        lock_tenant(&tx, tenant_id).await?;
        let live = live(tenant_id).count(&tx).await?;
        if live >= limit {
            return Ok(Created::LimitReached { limit });
        }
        let row = webhook::ActiveModel {
            // Time-ordered, so listing by id lists in creation order.
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            url: Set(url.to_string()),
            description: Set(description.map(str::to_string)),
            secret: Set(sealed.clone()),
            event_cursor: Set(newest_event(&tx).await?),
            event_attempts: Set(0),
            consecutive_failures: Set(0),
            next_attempt_at_ms: Set(0),
            leased_by: Set(None),
            leased_until_ms: Set(None),
            created_at: Set(Utc::now()),
            deleted_at: Set(None),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(Created::Created(NewWebhook {
            row,
            secret: secret.clone(),
        }))
    })
    .await
}

/// On PostgreSQL, serialises creates of one tenant (`SELECT ... FOR
/// UPDATE`); SQLite's `BEGIN IMMEDIATE` already holds the database's one
/// write lock.
async fn lock_tenant(tx: &impl ConnectionTrait, tenant_id: Uuid) -> Result<()> {
    use crate::entity::tenant;
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        tenant::Entity::find_by_id(tenant_id)
            .lock_exclusive()
            .one(tx)
            .await?;
    }
    Ok(())
}

async fn newest_event(db: &impl ConnectionTrait) -> Result<i64> {
    let newest: Option<Option<i64>> = connector_event::Entity::find()
        .select_only()
        .column_as(connector_event::Column::Id.max(), "newest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

fn live(tenant_id: Uuid) -> sea_orm::Select<webhook::Entity> {
    webhook::Entity::find()
        .filter(webhook::Column::TenantId.eq(tenant_id))
        .filter(webhook::Column::DeletedAt.is_null())
}

/// Live webhooks in creation order, after `after` (a webhook id, the
/// cursor of the previous page). `tenant` is the caller's tenant, or `None`
/// for a caller that reads every tenant's.
pub async fn list(
    db: &DatabaseConnection,
    tenant: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook::Model>> {
    let mut q = webhook::Entity::find().filter(webhook::Column::DeletedAt.is_null());
    if let Some(t) = tenant {
        q = q.filter(webhook::Column::TenantId.eq(t));
    }
    if let Some(a) = after {
        q = q.filter(webhook::Column::Id.gt(a));
    }
    Ok(q.order_by_asc(webhook::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

fn not_found(id: Uuid) -> Error {
    Error::NotFound {
        what: format!("webhook {id}"),
    }
}

/// A live webhook the caller may see: its own tenant's, or any when
/// `tenant` is `None`. Another tenant's reads as not found.
pub async fn get(
    db: &DatabaseConnection,
    tenant: Option<Uuid>,
    id: Uuid,
) -> Result<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .filter(|w| tenant.is_none_or(|t| t == w.tenant_id))
        .ok_or_else(|| not_found(id))
}

/// Soft-deletes a live webhook of the tenant: no delivery starts after
/// this, and its history stays.
pub async fn delete(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> Result<()> {
    let res = crate::db::retry_contention(|| async {
        Ok(webhook::Entity::update_many()
            .col_expr(webhook::Column::DeletedAt, Expr::value(Some(Utc::now())))
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::TenantId.eq(tenant_id))
            .filter(webhook::Column::DeletedAt.is_null())
            .exec(db)
            .await?)
    })
    .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

/// Recent delivery attempts, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    webhook_id: Uuid,
    limit: u64,
) -> Result<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn last_delivery(
    db: &DatabaseConnection,
    webhook_id: Uuid,
) -> Result<Option<webhook_delivery::Model>> {
    Ok(deliveries(db, webhook_id, 1).await?.pop())
}

/// The secret in the clear, to sign a delivery with.
pub fn open_secret(secrets: &SecretBox, w: &webhook::Model) -> Result<String> {
    secrets
        .open(&w.secret)
        .map_err(|e| Error::Corrupt(format!("secret of webhook {}: {e}", w.id)))
}

// ===== delivery (workers) =====

/// Live webhooks with something to deliver now: not waiting out a retry,
/// not leased, and behind the newest event. Soonest due first.
pub async fn due(db: &DatabaseConnection, limit: u64) -> Result<Vec<webhook::Model>> {
    let now = now_ms();
    let newest = newest_event(db).await?;
    Ok(webhook::Entity::find()
        .filter(webhook::Column::DeletedAt.is_null())
        .filter(webhook::Column::NextAttemptAtMs.lte(now))
        .filter(webhook::Column::EventCursor.lt(newest))
        .filter(
            Condition::any()
                .add(webhook::Column::LeasedUntilMs.is_null())
                .add(webhook::Column::LeasedUntilMs.lt(now)),
        )
        .order_by_asc(webhook::Column::NextAttemptAtMs)
        .limit(limit)
        .all(db)
        .await?)
}

/// The right to deliver one webhook's events until the lease runs out. A
/// lease that ran out and was taken by another worker records nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub webhook_id: Uuid,
    token: String,
}

/// Takes the webhook's delivery lease unless another worker holds one that
/// has not run out, or the webhook was deleted. `holder` names the worker
/// in the row (for people); each lease also gets a fresh token, so two
/// processes started with the same name still exclude each other.
pub async fn try_lease(
    db: &DatabaseConnection,
    id: Uuid,
    holder: &str,
    duration: std::time::Duration,
) -> Result<Option<Lease>> {
    let now = now_ms();
    let token = format!("{holder}/{}", Uuid::new_v4());
    let res = webhook::Entity::update_many()
        .col_expr(webhook::Column::LeasedBy, Expr::value(Some(token.clone())))
        .col_expr(
            webhook::Column::LeasedUntilMs,
            Expr::value(Some(now + duration.as_millis() as i64)),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(webhook::Column::LeasedUntilMs.is_null())
                .add(webhook::Column::LeasedUntilMs.lt(now)),
        )
        .exec(db)
        .await?;
    Ok((res.rows_affected == 1).then_some(Lease {
        webhook_id: id,
        token,
    }))
}

/// Extends the lease before the next delivery and reads the webhook as it
/// is now; `None` when the lease was lost or the webhook deleted, so the
/// holder stops.
pub async fn renew(
    db: &DatabaseConnection,
    lease: &Lease,
    duration: std::time::Duration,
) -> Result<Option<webhook::Model>> {
    let res = webhook::Entity::update_many()
        .col_expr(
            webhook::Column::LeasedUntilMs,
            Expr::value(Some(now_ms() + duration.as_millis() as i64)),
        )
        .filter(webhook::Column::Id.eq(lease.webhook_id))
        .filter(webhook::Column::LeasedBy.eq(lease.token.clone()))
        .filter(webhook::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    Ok(webhook::Entity::find_by_id(lease.webhook_id)
        .one(db)
        .await?)
}

pub async fn release(db: &DatabaseConnection, lease: &Lease) -> Result<()> {
    webhook::Entity::update_many()
        .col_expr(
            webhook::Column::LeasedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            webhook::Column::LeasedUntilMs,
            Expr::value(Option::<i64>::None),
        )
        .filter(webhook::Column::Id.eq(lease.webhook_id))
        .filter(webhook::Column::LeasedBy.eq(lease.token.clone()))
        .exec(db)
        .await?;
    Ok(())
}

/// The next of the webhook's tenant's events past its cursor, or `None`
/// when there is none yet. Other tenants' events on the way are skipped:
/// the cursor moves past them (under the lease), so they are read once.
pub async fn next_event(
    db: &DatabaseConnection,
    lease: &Lease,
    w: &webhook::Model,
) -> Result<Option<StateChange>> {
    let mut cursor = w.event_cursor;
    loop {
        let (rows, through) = crate::connectors::events_since(
            db,
            Some(w.tenant_id),
            None,
            None,
            Some(cursor),
            EVENT_BATCH,
        )
        .await?;
        if let Some((e, c)) = rows.into_iter().next() {
            return Ok(Some(StateChange::new(e, &c)));
        }
        if through <= cursor {
            return Ok(None);
        }
        let moved = webhook::Entity::update_many()
            .col_expr(webhook::Column::EventCursor, Expr::value(through))
            .filter(webhook::Column::Id.eq(lease.webhook_id))
            .filter(webhook::Column::LeasedBy.eq(lease.token.clone()))
            .filter(webhook::Column::EventCursor.eq(cursor))
            .exec(db)
            .await?;
        if moved.rows_affected != 1 {
            return Ok(None);
        }
        cursor = through;
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the cursor moves past the event.
    Delivered { status: u16 },
    /// Another status, or no answer: the event is tried again at
    /// `retry_at_ms`.
    Failed {
        status: Option<u16>,
        error: Option<String>,
        retry_at_ms: i64,
    },
    /// Failed for the last time: the cursor moves past the event anyway.
    GaveUp {
        status: Option<u16>,
        error: Option<String>,
    },
}

/// One attempt at delivering `event_id`, as the worker saw it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub event_id: i64,
    /// 1 for the first try of the event.
    pub attempt: i32,
    pub duration_ms: i64,
    pub outcome: Outcome,
}

/// Records the attempt and moves the webhook on (or schedules its retry),
/// in one transaction, and prunes old attempts. False when the lease was
/// lost meanwhile: the attempt is then not recorded and the cursor not
/// moved, and the event goes out again from the new holder (at least once).
pub async fn record(db: &DatabaseConnection, lease: &Lease, a: &Attempt) -> Result<bool> {
    crate::db::retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let mut update = webhook::Entity::update_many()
            .filter(webhook::Column::Id.eq(lease.webhook_id))
            .filter(webhook::Column::LeasedBy.eq(lease.token.clone()))
            .filter(webhook::Column::EventCursor.lt(a.event_id));
        let failures_plus_one = Expr::col(webhook::Column::ConsecutiveFailures).add(1);
        let (outcome, status, error) = match &a.outcome {
            Outcome::Delivered { status } => {
                update = update
                    .col_expr(webhook::Column::EventCursor, Expr::value(a.event_id))
                    .col_expr(webhook::Column::EventAttempts, Expr::value(0))
                    .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
                    .col_expr(webhook::Column::NextAttemptAtMs, Expr::value(0i64));
                (OUTCOME_DELIVERED, Some(*status), None)
            }
            Outcome::Failed {
                status,
                error,
                retry_at_ms,
            } => {
                update = update
                    .col_expr(webhook::Column::EventAttempts, Expr::value(a.attempt))
                    .col_expr(webhook::Column::ConsecutiveFailures, failures_plus_one)
                    .col_expr(webhook::Column::NextAttemptAtMs, Expr::value(*retry_at_ms));
                (OUTCOME_FAILED, *status, error.as_deref())
            }
            Outcome::GaveUp { status, error } => {
                update = update
                    .col_expr(webhook::Column::EventCursor, Expr::value(a.event_id))
                    .col_expr(webhook::Column::EventAttempts, Expr::value(0))
                    .col_expr(webhook::Column::ConsecutiveFailures, failures_plus_one)
                    .col_expr(webhook::Column::NextAttemptAtMs, Expr::value(0i64));
                (OUTCOME_GAVE_UP, *status, error.as_deref())
            }
        };
        if update.exec(&tx).await?.rows_affected != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        webhook_delivery::ActiveModel {
            webhook_id: Set(lease.webhook_id),
            event_id: Set(a.event_id),
            attempt: Set(a.attempt),
            at: Set(Utc::now()),
            status_code: Set(status.map(i32::from)),
            error: Set(error.map(truncate)),
            duration_ms: Set(a.duration_ms),
            outcome: Set(outcome.into()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        prune(&tx, lease.webhook_id).await?;
        tx.commit().await?;
        Ok(true)
    })
    .await
}

/// Keeps the newest [`DELIVERIES_KEPT`] attempts of the webhook.
async fn prune(tx: &impl ConnectionTrait, webhook_id: Uuid) -> Result<()> {
    let oldest_kept: Option<i64> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .offset(DELIVERIES_KEPT - 1)
        .limit(1)
        .into_tuple()
        .one(tx)
        .await?;
    if let Some(id) = oldest_kept {
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .filter(webhook_delivery::Column::Id.lt(id))
            .exec(tx)
            .await?;
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(ERROR_MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn db() -> (tempfile::TempDir, DatabaseConnection, SecretBox, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
        let db = crate::connect_and_migrate(&url).await.unwrap();
        let tenant = Uuid::new_v4();
        crate::entity::tenant::ActiveModel {
            id: Set(tenant),
            name: Set("Acme".into()),
            vrf_name: Set("cust-acme".into()),
            route_distinguisher: Set(String::new()),
            route_target: Set(String::new()),
            created_at: Set(Utc::now()),
        }
        .insert(&db)
        .await
        .unwrap();
        let secrets = SecretBox::from_base64_key(&SecretBox::generate_base64_key()).unwrap();
        (dir, db, secrets, tenant)
    }

    async fn new(db: &DatabaseConnection, s: &SecretBox, t: Uuid) -> NewWebhook {
        match create(db, s, t, "https://example.com/", None, 2)
            .await
            .unwrap()
        {
            Created::Created(w) => w,
            other => panic!("{other:?}"),
        }
    }

    fn failed(event_id: i64, attempt: i32) -> Attempt {
        Attempt {
            event_id,
            attempt,
            duration_ms: 1,
            outcome: Outcome::Failed {
                status: None,
                error: Some("x".repeat(ERROR_MAX * 2)),
                retry_at_ms: now_ms() + 60_000,
            },
        }
    }

    #[tokio::test]
    async fn secrets_are_sealed_and_the_limit_holds() {
        let (_dir, db, s, t) = db().await;
        let w = new(&db, &s, t).await;
        assert!(w.secret.starts_with(SECRET_PREFIX) && w.secret.len() == 6 + 43);
        assert!(!w.row.secret.contains(&w.secret[6..]));
        assert_eq!(open_secret(&s, &w.row).unwrap(), w.secret);
        new(&db, &s, t).await;
        assert!(matches!(
            create(&db, &s, t, "https://example.com/", None, 2)
                .await
                .unwrap(),
            Created::LimitReached { limit: 2 }
        ));
        // Deleted ones do not count, and read as gone.
        delete(&db, t, w.row.id).await.unwrap();
        assert!(matches!(
            get(&db, Some(t), w.row.id).await,
            Err(Error::NotFound { .. })
        ));
        new(&db, &s, t).await;
    }

    #[tokio::test]
    async fn one_lease_at_a_time_and_a_lost_lease_records_nothing() {
        let (_dir, db, s, t) = db().await;
        let w = new(&db, &s, t).await.row;
        let lease = Duration::from_secs(60);
        let a = try_lease(&db, w.id, "w1", lease).await.unwrap().unwrap();
        assert!(try_lease(&db, w.id, "w1", lease).await.unwrap().is_none());
        assert!(record(&db, &a, &failed(1, 1)).await.unwrap());
        let row = renew(&db, &a, lease).await.unwrap().unwrap();
        assert_eq!((row.event_attempts, row.consecutive_failures), (1, 1));
        let stored = last_delivery(&db, w.id).await.unwrap().unwrap();
        assert_eq!(stored.error.unwrap().chars().count(), ERROR_MAX + 1);

        // The lease runs out and another worker takes it: the first one
        // can no longer record, renew or release it.
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::LeasedUntilMs,
                Expr::value(Some(now_ms() - 1)),
            )
            .exec(&db)
            .await
            .unwrap();
        let b = try_lease(&db, w.id, "w2", lease).await.unwrap().unwrap();
        assert!(!record(&db, &a, &failed(1, 2)).await.unwrap());
        assert!(renew(&db, &a, lease).await.unwrap().is_none());
        release(&db, &a).await.unwrap();
        assert!(try_lease(&db, w.id, "w3", lease).await.unwrap().is_none());
        release(&db, &b).await.unwrap();
        assert!(try_lease(&db, w.id, "w3", lease).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn history_is_pruned_to_the_newest() {
        let (_dir, db, s, t) = db().await;
        let w = new(&db, &s, t).await.row;
        let l = try_lease(&db, w.id, "w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        let n = DELIVERIES_KEPT as i32 + 5;
        for attempt in 1..=n {
            assert!(record(&db, &l, &failed(1, attempt)).await.unwrap());
        }
        let kept = deliveries(&db, w.id, 1000).await.unwrap();
        assert_eq!(kept.len() as u64, DELIVERIES_KEPT);
        assert_eq!(kept[0].attempt, n, "newest first");
        assert_eq!(kept.last().unwrap().attempt, 6);
    }
}
