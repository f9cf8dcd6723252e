//! People who sign in: portal customers and ops-console staff. A user acts
//! for one tenant with one role, exactly like an API key, so every scope rule
//! of the API applies to a browser session unchanged.
//!
//! Passwords are low-entropy, so unlike API keys they get a slow hash
//! (Argon2id, the crate's default parameters). A session is a random cookie
//! token stored as a SHA-256 digest, like an API key.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth::hash_key;
use crate::entity::{session, tenant, user};
use crate::{Error, Result};

/// What a new user is made of; the API has checked the fields.
pub struct NewUser<'a> {
    pub tenant_id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password: &'a str,
}

/// A live session's user, their tenant, and the token forms and scripts
/// must echo on every change (CSRF).
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub user: user::Model,
    pub tenant: tenant::Model,
    pub csrf_token: String,
}

/// A session just opened: `token` goes into the cookie and is never stored.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| Error::Corrupt(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Corrupt(format!("password hash: {e}")))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a user; an email already taken (by anyone) is a conflict on
/// `email`.
pub async fn create_user(db: &DatabaseConnection, new: &NewUser<'_>) -> Result<user::Model> {
    let email = normalize_email(new.email);
    let password = new.password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| Error::Corrupt(format!("password hashing task: {e}")))??;
    if user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(Error::Conflict {
            field: "email".into(),
            message: format!("a user with email `{email}` already exists"),
        });
    }
    let row = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(new.tenant_id),
        email: Set(email.clone()),
        name: Set(new.name.trim().to_string()),
        role: Set(new.role.to_string()),
        password_hash: Set(hash),
        created_at: Set(Utc::now()),
        disabled_at: Set(None),
    };
    match row.insert(db).await {
        Ok(u) => Ok(u),
        // Two creates of the same email raced past the check above.
        Err(e) if crate::error::is_contention(&e) => Err(Error::Conflict {
            field: "email".into(),
            message: format!("a user with email `{email}` already exists"),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Creates the user unless one with that email exists (the dev stack's
/// seed, run on every start).
pub async fn ensure_user(db: &DatabaseConnection, new: &NewUser<'_>) -> Result<user::Model> {
    if let Some(u) = user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(new.email)))
        .one(db)
        .await?
    {
        return Ok(u);
    }
    create_user(db, new).await
}

pub async fn list_users(db: &DatabaseConnection, tenant_id: Uuid) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?)
}

pub async fn get_user(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id)
        .filter(user::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// Disables a user and ends their sessions at once. Idempotent.
pub async fn disable_user(db: &DatabaseConnection, tenant_id: Uuid, id: Uuid) -> Result<bool> {
    let Some(u) = get_user(db, tenant_id, id).await? else {
        return Ok(false);
    };
    let tx = crate::db::begin_write(db).await?;
    if u.disabled_at.is_none() {
        let mut a: user::ActiveModel = u.into();
        a.disabled_at = Set(Some(Utc::now()));
        a.update(&tx).await?;
    }
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The enabled user with this email and password, and their tenant.
///
/// An unknown email still costs one hash verification, so the answer time
/// does not tell a guesser which emails exist.
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Option<(user::Model, tenant::Model)>> {
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .filter(user::Column::DisabledAt.is_null())
        .one(db)
        .await?;
    let hash = match &found {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().to_string(),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || password_matches(&hash, &password))
        .await
        .map_err(|e| Error::Corrupt(format!("password check task: {e}")))?;
    let Some(u) = found.filter(|_| ok) else {
        return Ok(None);
    };
    let Some(t) = tenant::Entity::find_by_id(u.tenant_id).one(db).await? else {
        return Ok(None);
    };
    Ok(Some((u, t)))
}

/// A valid hash of a password nobody has, computed once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        hash_password(&Alphanumeric.sample_string(&mut rand::rng(), 24))
            .expect("hashing a random password")
    })
}

/// Opens a session for `user_id` that ends after `ttl`.
pub async fn open_session(
    db: &DatabaseConnection,
    user_id: Uuid,
    ttl: Duration,
) -> Result<NewSession> {
    let token = format!("ons_{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let csrf_token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    session::ActiveModel {
        token_hash: Set(hash_key(&token)),
        user_id: Set(user_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await?;
    // Expired sessions are only ever refused; sweep them here, where a
    // write happens anyway.
    session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(NewSession {
        token,
        csrf_token,
        expires_at,
    })
}

/// The user behind a session cookie's token, if the session is live and
/// the user enabled.
pub async fn session(db: &DatabaseConnection, token: &str) -> Result<Option<SessionUser>> {
    let Some(s) = session::Entity::find_by_id(hash_key(token)).one(db).await? else {
        return Ok(None);
    };
    if s.expires_at <= Utc::now() {
        return Ok(None);
    }
    let Some(u) = user::Entity::find_by_id(s.user_id)
        .filter(user::Column::DisabledAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(t) = tenant::Entity::find_by_id(u.tenant_id).one(db).await? else {
        return Ok(None);
    };
    Ok(Some(SessionUser {
        user: u,
        tenant: t,
        csrf_token: s.csrf_token,
    }))
}

/// Ends a session (sign-out). Idempotent.
pub async fn close_session(db: &DatabaseConnection, token: &str) -> Result<()> {
    session::Entity::delete_by_id(hash_key(token))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    #[tokio::test]
    async fn sign_in_session_and_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("u.db").display());
        let db = crate::connect_and_migrate(&url).await.unwrap();
        seed::ensure_default_pools(&db).await.unwrap();
        let t = seed::create_tenant(&db, "Acme").await.unwrap();
        let new = NewUser {
            tenant_id: t.id,
            email: " Ana@Acme.example ",
            name: "Ana",
            role: "customer",
            password: "correct horse battery",
        };
        let u = create_user(&db, &new).await.unwrap();
        assert_eq!(u.email, "ana@acme.example");
        assert!(u.password_hash.starts_with("$argon2id$"));
        assert!(!u.password_hash.contains("horse"));
        let dup = create_user(&db, &new).await.unwrap_err();
        assert!(matches!(dup, Error::Conflict { ref field, .. } if field == "email"));

        assert!(
            authenticate(&db, "ana@acme.example", "wrong")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            authenticate(&db, "bob@acme.example", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );
        let (who, tenant) = authenticate(&db, "ANA@acme.example", "correct horse battery")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((who.id, tenant.id), (u.id, t.id));

        let s = open_session(&db, u.id, Duration::from_secs(60))
            .await
            .unwrap();
        let live = session(&db, &s.token).await.unwrap().unwrap();
        assert_eq!(live.csrf_token, s.csrf_token);
        // Only the digest is stored.
        let stored = session::Entity::find().all(&db).await.unwrap();
        assert!(stored.iter().all(|r| r.token_hash != s.token));
        close_session(&db, &s.token).await.unwrap();
        assert!(session(&db, &s.token).await.unwrap().is_none());

        let expired = open_session(&db, u.id, Duration::ZERO).await.unwrap();
        assert!(session(&db, &expired.token).await.unwrap().is_none());

        let s2 = open_session(&db, u.id, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(disable_user(&db, t.id, u.id).await.unwrap());
        assert!(session(&db, &s2.token).await.unwrap().is_none());
        assert!(
            authenticate(&db, "ana@acme.example", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );
    }
}
