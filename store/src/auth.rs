//! API keys: random, shown once, stored as a SHA-256 digest. A key carries
//! 190 bits of randomness, so a fast digest is enough; slow password hashes
//! protect low-entropy secrets, which these are not.

use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entity::{api_key, tenant};
use crate::{Error, Result};

pub const KEY_PREFIX: &str = "onr_";

pub fn generate_key() -> String {
    format!(
        "{KEY_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

// Who a key speaks for.
pub const ROLE_CUSTOMER: &str = "customer";
pub const ROLE_OPS: &str = "ops";
pub const ROLE_ADMIN: &str = "admin";

/// Every role, from the least to the most powerful.
pub const ROLES: &[&str] = &[ROLE_CUSTOMER, ROLE_OPS, ROLE_ADMIN];

/// How powerful a role is: customer < ops < admin; `None` for no role. A
/// key may hand out (create, revoke) keys of its own rank or below, never
/// above, so no key can lift itself.
pub fn role_rank(role: &str) -> Option<usize> {
    ROLES.iter().position(|r| *r == role)
}

/// How many characters of a key are kept in the clear (`key_prefix`), so a
/// person can tell their keys apart: `onr_` and four random characters,
/// 24 bits, too few to help a guesser.
const SHOWN_PREFIX: usize = 8;

/// Stores `key` (already generated) for the tenant; a key already stored is
/// left alone.
pub async fn add_key(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    name: &str,
    key: &str,
    role: &str,
) -> Result<()> {
    let hash = hash_key(key);
    if api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash.clone()))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    insert_key(db, tenant_id, name, key, role).await?;
    Ok(())
}

async fn insert_key<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    name: &str,
    key: &str,
    role: &str,
) -> Result<api_key::Model> {
    Ok(api_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        name: Set(name.into()),
        key_hash: Set(hash_key(key)),
        key_prefix: Set(key.chars().take(SHOWN_PREFIX).collect()),
        role: Set(role.into()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// A key just created. `secret` exists only here: the database keeps its
/// digest, so this is the one time anyone can see it.
#[derive(Clone)]
pub struct NewKey {
    pub row: api_key::Model,
    pub secret: String,
}

// Never print the secret, even in a debug log.
impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("row", &self.row)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Generates and stores a key of `role` for the tenant. `db` may be a
/// transaction, so that a tenant and its first key are created together.
pub async fn create_key<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    name: &str,
    role: &str,
) -> Result<NewKey> {
    // Callers validate roles first; an unknown one here is a bug, and a
    // key with it must not be stored.
    if role_rank(role).is_none() {
        return Err(Error::Corrupt(format!(
            "refused to store an API key with role `{role}`, which is not one of {}",
            ROLES.join(", ")
        )));
    }
    get_tenant(db, tenant_id).await?;
    let secret = generate_key();
    let row = insert_key(db, tenant_id, name, &secret, role).await?;
    Ok(NewKey { row, secret })
}

/// The tenant's keys, revoked ones included, oldest first.
pub async fn list_keys(db: &DatabaseConnection, tenant_id: Uuid) -> Result<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// One of the tenant's keys. Another tenant's key is not found, the same as
/// a key that does not exist, so ids tell a caller nothing.
pub async fn get_key(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    key_id: Uuid,
) -> Result<api_key::Model> {
    api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("API key {key_id}"),
        })
}

/// Revokes one of the tenant's keys: from now on [`tenant_for_key`] does
/// not know it. Revoking a revoked key changes nothing (its `revoked_at`
/// stays the first one). Returns the key as it is now.
pub async fn revoke_key(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    key_id: Uuid,
) -> Result<api_key::Model> {
    get_key(db, tenant_id, key_id).await?;
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(key_id))
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    get_key(db, tenant_id, key_id).await
}

/// Every tenant, by name.
pub async fn list_tenants(db: &DatabaseConnection) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .order_by_asc(tenant::Column::Name)
        .all(db)
        .await?)
}

pub async fn get_tenant<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("tenant {id}"),
        })
}

/// The tenant a presented key belongs to and the key's role, unless the key
/// is unknown or revoked.
pub async fn tenant_for_key(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<(tenant::Model, String)>> {
    Ok(caller_for_key(db, key).await?.map(|(t, k)| (t, k.role)))
}

/// The tenant and the key row of a live API key: the key's name and prefix
/// say who acted, in audit records.
pub async fn caller_for_key(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<(tenant::Model, api_key::Model)>> {
    let Some(k) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_key(key)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(tenant::Entity::find_by_id(k.tenant_id)
        .one(db)
        .await?
        .map(|t| (t, k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    async fn db() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let db = crate::connect_and_migrate(&url).await.unwrap();
        seed::ensure_default_pools(&db).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn keys_are_stored_as_digests_and_revoked_per_tenant() {
        let (_dir, db) = db().await;
        let (acme, first) = seed::create_tenant_with_key(&db, "Acme", "initial", ROLE_CUSTOMER)
            .await
            .unwrap();
        let other = seed::create_tenant(&db, "Other").await.unwrap();

        assert_eq!(first.row.key_hash, hash_key(&first.secret));
        assert_eq!(first.row.key_prefix, first.secret[..8]);
        assert!(!format!("{first:?}").contains(&first.secret));
        let (t, role) = tenant_for_key(&db, &first.secret).await.unwrap().unwrap();
        assert_eq!((t.id, role.as_str()), (acme.id, ROLE_CUSTOMER));

        let ops = create_key(&db, acme.id, "ops", ROLE_OPS).await.unwrap();
        let listed: Vec<Uuid> = list_keys(&db, acme.id)
            .await
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(listed, [first.row.id, ops.row.id]);
        assert!(list_keys(&db, other.id).await.unwrap().is_empty());

        // Another tenant's key is not found, and stays usable.
        assert!(matches!(
            revoke_key(&db, other.id, ops.row.id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(tenant_for_key(&db, &ops.secret).await.unwrap().is_some());

        let revoked = revoke_key(&db, acme.id, ops.row.id).await.unwrap();
        let at = revoked.revoked_at.expect("revoked_at set");
        assert!(tenant_for_key(&db, &ops.secret).await.unwrap().is_none());
        // Again: nothing changes.
        let again = revoke_key(&db, acme.id, ops.row.id).await.unwrap();
        assert_eq!(again.revoked_at, Some(at));
        assert!(tenant_for_key(&db, &first.secret).await.unwrap().is_some());

        assert!(matches!(
            create_key(&db, Uuid::new_v4(), "x", ROLE_CUSTOMER).await,
            Err(Error::NotFound { .. })
        ));
        assert!(create_key(&db, acme.id, "x", "root").await.is_err());
    }

    #[tokio::test]
    async fn tenant_names_and_vrf_names_are_unique() {
        let (_dir, db) = db().await;
        let acme = seed::create_tenant(&db, "Acme Corp").await.unwrap();
        assert_eq!(acme.vrf_name, "cust-acme-corp");
        assert!(!acme.route_distinguisher.is_empty());
        for clash in ["Acme Corp", "acme-corp", "ACME CORP"] {
            match seed::create_tenant_with_key(&db, clash, "initial", ROLE_CUSTOMER).await {
                Err(Error::Conflict { field, .. }) => assert_eq!(field, "name"),
                other => panic!("{clash}: {other:?}"),
            }
        }
        // Refused creates leave neither a tenant nor a key behind.
        assert_eq!(list_tenants(&db).await.unwrap().len(), 1);
        assert_eq!(api_key::Entity::find().all(&db).await.unwrap().len(), 0);
    }
}
