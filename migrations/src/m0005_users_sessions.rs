use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // People who sign in to the portal (customers) or the ops console
        // (ops, admin). A user acts for one tenant with one role, like an API
        // key, so the API's scope rules apply to both unchanged.
        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                // Lower-cased on the way in, so sign-in is case-insensitive.
                .col(string_uniq("email"))
                .col(string("name"))
                .col(string("role"))
                // Argon2id PHC string; never leaves the store.
                .col(text("password_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("disabled_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_users_tenant_id")
                        .from("users", "tenant_id")
                        .to("tenants", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Signed-in browsers. The cookie carries a random token; only its
        // SHA-256 is kept, as for API keys, so a database dump signs no one
        // in. The CSRF token is not secret from its own page, so it is kept
        // as is.
        m.create_table(
            Table::create()
                .table("sessions")
                .col(string("token_hash").primary_key())
                .col(uuid("user_id"))
                .col(string("csrf_token"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user_id")
                        .from("sessions", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sessions_user_id")
                .table("sessions")
                .col("user_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["sessions", "users"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
