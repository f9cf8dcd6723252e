//! Idempotency keys: the record that lets a retried POST get the first
//! answer back instead of creating something again.
//!
//! A row per (tenant, role, method, path, key). The first request inserts it
//! `in_progress` under a lease; the unique key on the scope settles a race
//! between concurrent first requests on SQLite and PostgreSQL alike, since
//! the losers' inserts fail and they read the winner's row instead. When the
//! handler answers, the row becomes `completed` with the answer to replay.
//! See docs/decisions/0004-idempotency-keys.md.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entity::idempotency_key as row;
use crate::secrets::SecretBox;
use crate::{Error, Result};

/// How long an answer is kept for replay; a retry after that runs as new.
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a request may run before its row counts as abandoned (the
/// process died mid-request) and a retry may take it over. Far longer than
/// any handler runs, so a slow first request is waited for, not run twice.
pub const LEASE: Duration = Duration::from_secs(5 * 60);

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

/// Who asked, and where: two scopes never see each other's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: Uuid,
    /// The API key's role (`customer`, `ops`, `admin`).
    pub role: String,
    pub method: String,
    pub path: String,
}

/// An answer as it is replayed: status, the headers worth replaying, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The right to run the request and record its answer. A claim whose lease
/// was taken over by a retry can no longer record or drop anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub id: Uuid,
    pub token: Uuid,
}

/// What to do with a request carrying an idempotency key.
#[derive(Debug)]
pub enum Begin {
    /// First of its kind (or the earlier one expired, failed with a 5xx or
    /// was abandoned): run it, then [`complete`] or [`abandon`].
    Run(Claim),
    /// Answered before: send this again.
    Replay(StoredResponse),
    /// The same request is running now, elsewhere.
    InProgress,
    /// The key was used for a different request in this scope.
    Mismatch,
}

/// Hex SHA-256 over method, path, query string and body, each prefixed by
/// its length so that no two different requests feed the same bytes.
pub fn fingerprint(method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes(), body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// Claims the key for this request, or says why not. Lost races (a
/// concurrent insert of the same key, SQLite busy) are retried afresh, so
/// they end as [`Begin::InProgress`] or [`Begin::Replay`].
pub async fn begin(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    scope: &Scope,
    key: &str,
    fingerprint: &str,
) -> Result<Begin> {
    crate::db::retry_contention(|| try_begin(db, secrets, scope, key, fingerprint)).await
}

async fn find(db: &DatabaseConnection, scope: &Scope, key: &str) -> Result<Option<row::Model>> {
    Ok(row::Entity::find()
        .filter(row::Column::TenantId.eq(scope.tenant_id))
        .filter(row::Column::Role.eq(scope.role.clone()))
        .filter(row::Column::Method.eq(scope.method.clone()))
        .filter(row::Column::Path.eq(scope.path.clone()))
        .filter(row::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

async fn try_begin(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    scope: &Scope,
    key: &str,
    fingerprint: &str,
) -> Result<Begin> {
    let now = now_ms();
    if let Some(r) = find(db, scope, key).await? {
        if r.expires_at_ms > now {
            if r.fingerprint != fingerprint {
                return Ok(Begin::Mismatch);
            }
            if r.state == COMPLETED {
                return Ok(Begin::Replay(decode(secrets, &r)?));
            }
            if r.lease_until_ms > now {
                return Ok(Begin::InProgress);
            }
            // The process running it died: take the row over. The guard on
            // the old token lets exactly one retry win.
            let token = Uuid::new_v4();
            let res = row::Entity::update_many()
                .col_expr(row::Column::LeaseToken, Expr::value(token))
                .col_expr(row::Column::LeaseUntilMs, Expr::value(now + ms(LEASE)))
                .filter(row::Column::Id.eq(r.id))
                .filter(row::Column::State.eq(IN_PROGRESS))
                .filter(row::Column::LeaseToken.eq(r.lease_token))
                .exec(db)
                .await?;
            return Ok(if res.rows_affected == 1 {
                tracing::warn!(idempotency_key = %key, path = %scope.path, "took over an abandoned idempotent request");
                Begin::Run(Claim { id: r.id, token })
            } else {
                Begin::InProgress
            });
        }
        // Expired: the key is free again.
        row::Entity::delete_many()
            .filter(row::Column::Id.eq(r.id))
            .filter(row::Column::ExpiresAtMs.lte(now))
            .exec(db)
            .await?;
    }
    let claim = Claim {
        id: Uuid::new_v4(),
        token: Uuid::new_v4(),
    };
    // A concurrent first request makes this fail on the unique key; the
    // retry then finds its row.
    row::ActiveModel {
        id: Set(claim.id),
        tenant_id: Set(scope.tenant_id),
        role: Set(scope.role.clone()),
        method: Set(scope.method.clone()),
        path: Set(scope.path.clone()),
        idempotency_key: Set(key.to_string()),
        fingerprint: Set(fingerprint.to_string()),
        state: Set(IN_PROGRESS.into()),
        lease_token: Set(claim.token),
        lease_until_ms: Set(now + ms(LEASE)),
        response_status: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        created_at: Set(Utc::now()),
        expires_at_ms: Set(now + ms(TTL)),
    }
    .insert(db)
    .await?;
    Ok(Begin::Run(claim))
}

fn decode(secrets: &SecretBox, r: &row::Model) -> Result<StoredResponse> {
    let corrupt = |what: &str| Error::Corrupt(format!("idempotency key {}: {what}", r.id));
    let status = r
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| corrupt("no status"))?;
    let headers = match &r.response_headers {
        Some(h) => serde_json::from_str(h).map_err(|e| corrupt(&format!("headers: {e}")))?,
        None => Vec::new(),
    };
    let body = match &r.response_body {
        Some(sealed) => {
            let b64 = secrets
                .open(sealed)
                .map_err(|e| corrupt(&format!("body: {e}")))?;
            B64.decode(b64)
                .map_err(|e| corrupt(&format!("body: {e}")))?
        }
        None => Vec::new(),
    };
    Ok(StoredResponse {
        status,
        headers,
        body,
    })
}

/// Records the answer for replay. False when the claim was lost to a retry
/// that took the row over; the answer is then not recorded.
pub async fn complete(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    claim: Claim,
    response: &StoredResponse,
) -> Result<bool> {
    let headers = serde_json::to_string(&response.headers).expect("pairs of strings serialize");
    let body = secrets.seal(&B64.encode(&response.body));
    crate::db::retry_contention(|| async {
        let res = row::Entity::update_many()
            .col_expr(row::Column::State, Expr::value(COMPLETED))
            .col_expr(
                row::Column::ResponseStatus,
                Expr::value(Some(i32::from(response.status))),
            )
            .col_expr(
                row::Column::ResponseHeaders,
                Expr::value(Some(headers.clone())),
            )
            .col_expr(row::Column::ResponseBody, Expr::value(Some(body.clone())))
            .filter(row::Column::Id.eq(claim.id))
            .filter(row::Column::LeaseToken.eq(claim.token))
            .filter(row::Column::State.eq(IN_PROGRESS))
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    })
    .await
}

/// Forgets the request (it failed with a 5xx, or its handler panicked), so a
/// retry runs it again.
pub async fn abandon(db: &DatabaseConnection, claim: Claim) -> Result<()> {
    crate::db::retry_contention(|| async {
        row::Entity::delete_many()
            .filter(row::Column::Id.eq(claim.id))
            .filter(row::Column::LeaseToken.eq(claim.token))
            .filter(row::Column::State.eq(IN_PROGRESS))
            .exec(db)
            .await?;
        Ok(())
    })
    .await
}

/// Deletes expired rows; returns how many.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64> {
    Ok(row::Entity::delete_many()
        .filter(row::Column::ExpiresAtMs.lte(now_ms()))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::tenant;

    async fn db() -> (tempfile::TempDir, DatabaseConnection, SecretBox, Scope) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("i.db").display());
        let db = crate::connect_and_migrate(&url).await.unwrap();
        let scope = Scope {
            tenant_id: tenant(&db, "Acme").await,
            role: "customer".into(),
            method: "POST".into(),
            path: "/v1/connectors".into(),
        };
        let secrets = SecretBox::from_base64_key(&SecretBox::generate_base64_key()).unwrap();
        (dir, db, secrets, scope)
    }

    async fn tenant(db: &DatabaseConnection, name: &str) -> Uuid {
        let id = Uuid::new_v4();
        tenant::ActiveModel {
            id: Set(id),
            name: Set(name.into()),
            vrf_name: Set(format!("cust-{name}")),
            route_distinguisher: Set(String::new()),
            route_target: Set(String::new()),
            created_at: Set(Utc::now()),
        }
        .insert(db)
        .await
        .unwrap();
        id
    }

    fn answer() -> StoredResponse {
        StoredResponse {
            status: 202,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("location".into(), "/v1/connectors/x".into()),
            ],
            // Not UTF-8 on purpose: bodies are kept byte for byte.
            body: vec![b'{', 0xff, 0x00, b'}'],
        }
    }

    fn claim(b: Begin) -> Claim {
        match b {
            Begin::Run(c) => c,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn fingerprint_separates_every_part() {
        let f = fingerprint("POST", "/a", "x=1", b"{}");
        assert_eq!(f.len(), 64);
        assert_eq!(f, fingerprint("POST", "/a", "x=1", b"{}"));
        assert_ne!(f, fingerprint("POST", "/a", "x=1", b"{ }"));
        assert_ne!(f, fingerprint("POST", "/a", "", b"{}"));
        assert_ne!(f, fingerprint("POST", "/b", "x=1", b"{}"));
        assert_ne!(f, fingerprint("PUT", "/a", "x=1", b"{}"));
        // Moving bytes between parts changes the digest.
        assert_ne!(
            fingerprint("POST", "/a", "b", b""),
            fingerprint("POST", "/ab", "", b"")
        );
    }

    #[tokio::test]
    async fn first_runs_then_replays_and_refuses_another_request() {
        let (_dir, db, secrets, scope) = db().await;
        let c = claim(begin(&db, &secrets, &scope, "k1", "fp").await.unwrap());
        assert!(matches!(
            begin(&db, &secrets, &scope, "k1", "fp").await.unwrap(),
            Begin::InProgress
        ));
        assert!(matches!(
            begin(&db, &secrets, &scope, "k1", "other").await.unwrap(),
            Begin::Mismatch
        ));
        assert!(complete(&db, &secrets, c, &answer()).await.unwrap());
        match begin(&db, &secrets, &scope, "k1", "fp").await.unwrap() {
            Begin::Replay(r) => assert_eq!(r, answer()),
            other => panic!("expected Replay, got {other:?}"),
        }
        // Sealed at rest.
        let stored = row::Entity::find_by_id(c.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.response_body.unwrap().starts_with("v1:"));
        assert!(matches!(
            begin(&db, &secrets, &scope, "k1", "other").await.unwrap(),
            Begin::Mismatch
        ));
    }

    #[tokio::test]
    async fn scopes_do_not_share_keys() {
        let (_dir, db, secrets, scope) = db().await;
        claim(begin(&db, &secrets, &scope, "k", "fp").await.unwrap());
        let others = [
            Scope {
                tenant_id: tenant(&db, "Globex").await,
                ..scope.clone()
            },
            Scope {
                role: "ops".into(),
                ..scope.clone()
            },
            Scope {
                path: "/v1/admin/pes".into(),
                ..scope.clone()
            },
        ];
        for s in others {
            claim(begin(&db, &secrets, &s, "k", "fp").await.unwrap());
        }
    }

    #[tokio::test]
    async fn abandoned_and_expired_rows_run_again() {
        let (_dir, db, secrets, scope) = db().await;
        let c = claim(begin(&db, &secrets, &scope, "k", "fp").await.unwrap());
        abandon(&db, c).await.unwrap();
        let c = claim(begin(&db, &secrets, &scope, "k", "fp").await.unwrap());
        assert!(complete(&db, &secrets, c, &answer()).await.unwrap());

        // Expired: runs as new, even with another body.
        row::Entity::update_many()
            .col_expr(row::Column::ExpiresAtMs, Expr::value(now_ms() - 1))
            .exec(&db)
            .await
            .unwrap();
        let c2 = claim(begin(&db, &secrets, &scope, "k", "fp2").await.unwrap());
        assert_ne!(c2.id, c.id);

        // Purging removes expired rows only.
        claim(begin(&db, &secrets, &scope, "old", "fp").await.unwrap());
        row::Entity::update_many()
            .col_expr(row::Column::ExpiresAtMs, Expr::value(now_ms() - 1))
            .filter(row::Column::IdempotencyKey.eq("old"))
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(purge_expired(&db).await.unwrap(), 1);
        assert!(
            row::Entity::find_by_id(c2.id)
                .one(&db)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_dead_request_is_taken_over_once_its_lease_ran_out() {
        let (_dir, db, secrets, scope) = db().await;
        let first = claim(begin(&db, &secrets, &scope, "k", "fp").await.unwrap());
        row::Entity::update_many()
            .col_expr(row::Column::LeaseUntilMs, Expr::value(now_ms() - 1))
            .exec(&db)
            .await
            .unwrap();
        let second = claim(begin(&db, &secrets, &scope, "k", "fp").await.unwrap());
        assert_eq!(second.id, first.id);
        assert_ne!(second.token, first.token);
        assert!(matches!(
            begin(&db, &secrets, &scope, "k", "fp").await.unwrap(),
            Begin::InProgress
        ));
        // The original, should it wake up, can neither record nor drop it.
        assert!(!complete(&db, &secrets, first, &answer()).await.unwrap());
        abandon(&db, first).await.unwrap();
        assert!(complete(&db, &secrets, second, &answer()).await.unwrap());
    }

    #[tokio::test]
    async fn concurrent_first_requests_get_one_claim() {
        let (_dir, db, secrets, scope) = db().await;
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (db, secrets, scope) = (db.clone(), secrets.clone(), scope.clone());
                tokio::spawn(async move { begin(&db, &secrets, &scope, "k", "fp").await })
            })
            .collect();
        let mut runs = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Begin::Run(_) => runs += 1,
                Begin::InProgress => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(runs, 1);
    }
}
