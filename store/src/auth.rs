//! API keys: random, shown once, stored as a SHA-256 digest. A key carries
//! 190 bits of randomness, so a fast digest is enough; slow password hashes
//! protect low-entropy secrets, which these are not.

use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Result;
use crate::entity::{api_key, tenant};

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

/// Stores `key` (already generated) for the tenant.
/// Who a key speaks for.
pub const ROLE_CUSTOMER: &str = "customer";
pub const ROLE_OPS: &str = "ops";
pub const ROLE_ADMIN: &str = "admin";

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
    api_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        name: Set(name.into()),
        key_hash: Set(hash),
        key_prefix: Set(key.chars().take(8).collect()),
        role: Set(role.into()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The tenant a presented key belongs to and the key's role, unless the key
/// is unknown or revoked.
pub async fn tenant_for_key(
    db: &DatabaseConnection,
    key: &str,
) -> Result<Option<(tenant::Model, String)>> {
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
        .map(|t| (t, k.role)))
}
