use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A tenant's endpoint for its connectors' state changes. Deleting one
        // only stamps `deleted_at`, so its delivery history stays readable.
        m.create_table(
            Table::create()
                .table("webhooks")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(text("url"))
                .col(string_null("description"))
                // The signing secret, sealed with the secret key: the worker
                // must read it back to sign, so it cannot be a digest.
                .col(text("secret"))
                // The last connector_events id delivered, given up on, or
                // skipped (another tenant's); starts at the newest event when
                // the webhook is created.
                .col(big_integer("event_cursor"))
                // Failed attempts at the event after the cursor; at the
                // limit the worker gives that event up and moves on.
                .col(integer("event_attempts").default(0))
                // Failed attempts since the last 2xx, across events.
                .col(integer("consecutive_failures").default(0))
                // No attempt before this (a retry's backoff); 0 is "now".
                .col(big_integer("next_attempt_at_ms").default(0))
                // Delivery lease: one worker at a time delivers a webhook's
                // events, which keeps them in order; a crashed worker's lease
                // runs out.
                .col(string_null("leased_by"))
                .col(big_integer_null("leased_until_ms"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhooks_tenant_id")
                        .from("webhooks", "tenant_id")
                        .to("tenants", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhooks_tenant_id_id")
                .table("webhooks")
                .col("tenant_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhooks_deleted_at_next_attempt_at_ms")
                .table("webhooks")
                .col("deleted_at")
                .col("next_attempt_at_ms")
                .to_owned(),
        )
        .await?;

        // Recent delivery attempts, newest last; the worker keeps a bounded
        // number per webhook.
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(big_pk_auto("id"))
                .col(uuid("webhook_id"))
                .col(big_integer("event_id"))
                // 1 for the first try of this event, 2 for its first retry...
                .col(integer("attempt"))
                .col(timestamp_with_time_zone("at"))
                // The receiver's HTTP status, when it answered at all.
                .col(integer_null("status_code"))
                // Why it failed (timeout, connection refused), truncated.
                .col(text_null("error"))
                .col(big_integer("duration_ms"))
                // delivered | failed | gave_up
                .col(string("outcome"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_webhook_id")
                        .from("webhook_deliveries", "webhook_id")
                        .to("webhooks", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_webhook_id_id")
                .table("webhook_deliveries")
                .col("webhook_id")
                .col("id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["webhook_deliveries", "webhooks"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
