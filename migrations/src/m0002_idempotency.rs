use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per Idempotency-Key a caller sent to a POST: the request's
        // fingerprint and, once the handler answered, the answer to replay.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(pk_uuid("id"))
                // The scope: the API key's tenant and role, method and path.
                .col(uuid("tenant_id"))
                .col(string("role"))
                .col(string("method"))
                .col(text("path"))
                .col(string("idempotency_key"))
                // Hex SHA-256 over method, path, query string and body.
                .col(string("fingerprint"))
                // in_progress | completed
                .col(string("state"))
                // Who runs the request now, and until when; a crashed
                // process's lease runs out and a retry takes the row over.
                .col(uuid("lease_token"))
                .col(big_integer("lease_until_ms"))
                .col(integer_null("response_status"))
                // JSON [[name, value], ...] of the headers worth replaying.
                .col(text_null("response_headers"))
                // The body, sealed with the secret key: an answer may carry a
                // secret shown only once (an ExpressRoute shared key).
                .col(text_null("response_body"))
                .col(timestamp_with_time_zone("created_at"))
                .col(big_integer("expires_at_ms"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_idempotency_keys_tenant_id")
                        .from("idempotency_keys", "tenant_id")
                        .to("tenants", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Settles the race between concurrent first requests: one insert
        // wins, the others read the winner's row.
        m.create_index(
            Index::create()
                .name("uq_idempotency_keys_scope_key")
                .table("idempotency_keys")
                .col("tenant_id")
                .col("role")
                .col("method")
                .col("path")
                .col("idempotency_key")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_idempotency_keys_expires_at_ms")
                .table("idempotency_keys")
                .col("expires_at_ms")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table("idempotency_keys")
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
