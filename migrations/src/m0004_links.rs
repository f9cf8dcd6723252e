use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A link: one routing domain (a VRF with its own RD/RT) joining a
        // tenant's connectors. The RD/RT number is an `allocations` row
        // (route_target, scope = the pool) held by the tenant; `rt_scope`
        // and `rt_value` find it again to release it.
        m.create_table(
            Table::create()
                .table("links")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("name"))
                // configuring | active | deleting | deleted
                .col(string("state"))
                .col(string("waiting_on"))
                .col(string("vrf_name"))
                .col(string("route_distinguisher"))
                .col(string("route_target"))
                .col(string("rt_scope"))
                .col(big_integer("rt_value"))
                // Guards transitions like a connector's step: a job for an
                // older step is stale.
                .col(big_integer("step"))
                .col(text_null("last_error"))
                .col(string_null("lease_holder"))
                .col(big_integer_null("lease_until_ms"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_links_tenant_id")
                        .from("links", "tenant_id")
                        .to("tenants", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_links_tenant_id_created_at")
                .table("links")
                .col("tenant_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;

        // A connector's membership of a link, kept after it ends (`removed`)
        // so the link's history and the PEs it touched stay known.
        m.create_table(
            Table::create()
                .table("link_members")
                .col(big_pk_auto("id"))
                .col(uuid("link_id"))
                .col(uuid("connector_id"))
                // joining | joined | leaving | left | removed
                .col(string("state"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_link_members_link_id")
                        .from("link_members", "link_id")
                        .to("links", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_link_members_connector_id")
                        .from("link_members", "connector_id")
                        .to("connectors", "id"),
                )
                .to_owned(),
        )
        .await?;
        // "A connector belongs to at most one link", enforced by the
        // database so two concurrent joins cannot both win: a partial unique
        // index over live memberships. Same syntax on SQLite and PostgreSQL;
        // sea-query's index builder has no WHERE, hence raw SQL.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_link_members_live_connector \
                 ON link_members (connector_id) WHERE state <> 'removed'",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("ix_link_members_link_id")
                .table("link_members")
                .col("link_id")
                .to_owned(),
        )
        .await?;

        // A link's timeline, like connector_events.
        m.create_table(
            Table::create()
                .table("link_events")
                .col(big_pk_auto("id"))
                .col(uuid("link_id"))
                .col(big_integer("step"))
                .col(string("event"))
                .col(uuid_null("connector_id"))
                .col(string("state"))
                .col(text("message"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_link_events_link_id")
                        .from("link_events", "link_id")
                        .to("links", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_link_events_link_id_id")
                .table("link_events")
                .col("link_id")
                .col("id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["link_events", "link_members", "links"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
