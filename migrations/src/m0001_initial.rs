use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tenants")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(string("vrf_name"))
                .col(string("route_distinguisher"))
                .col(string("route_target"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(string_uniq("key_hash"))
                .col(string("key_prefix"))
                // customer | ops | admin
                .col(string("role").default("customer"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("api_keys", "tenant_id", "tenants"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("pe_routers")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(string("host"))
                .col(integer("port"))
                .col(string("username"))
                .col(string("password"))
                .col(string_null("host_key_fingerprint"))
                .col(string("platform"))
                // Writer lease: one process at a time pushes to a PE, and it
                // batches whatever changes queued up meanwhile.
                .col(big_integer_null("lease_until_ms"))
                .col(string_null("lease_holder"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("pe_ports")
                .col(pk_uuid("id"))
                .col(uuid("pe_id"))
                .col(string("name"))
                .col(integer("vlan_min"))
                .col(integer("vlan_max"))
                .foreign_key(&mut fk("pe_ports", "pe_id", "pe_routers"))
                .to_owned(),
        )
        .await?;
        unique(m, "pe_ports", &["pe_id", "name"]).await?;

        m.create_table(
            Table::create()
                .table("linknet_pools")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(string("cidr"))
                .to_owned(),
        )
        .await?;

        // Private ASNs handed to customers who bring none.
        m.create_table(
            Table::create()
                .table("asn_pools")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(big_integer("first"))
                .col(big_integer("last"))
                .to_owned(),
        )
        .await?;

        // Route distinguishers / targets `<admin_asn>:<n>`, one per VRF.
        m.create_table(
            Table::create()
                .table("route_target_pools")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(big_integer("admin_asn"))
                .col(big_integer("first"))
                .col(big_integer("last"))
                .to_owned(),
        )
        .await?;

        // A network-to-network interface with a CSP at one location: for AWS the
        // partner interconnect (dxcon) that sits on one of our PE ports.
        m.create_table(
            Table::create()
                .table("nnis")
                .col(pk_uuid("id"))
                .col(string("csp"))
                .col(string("location_code"))
                .col(string("name"))
                .col(string("region"))
                .col(string("csp_ref"))
                .col(uuid("port_id"))
                .col(uuid("linknet_pool_id"))
                .col(big_integer("csp_asn"))
                .col(integer("capacity_mbps"))
                // CSP-specific facts as JSON, e.g. Google's edge availability
                // domain or ExpressRoute's secondary port.
                .col(text("attributes").default("{}"))
                .foreign_key(&mut fk("nnis", "port_id", "pe_ports"))
                .foreign_key(&mut fk("nnis", "linknet_pool_id", "linknet_pools"))
                .to_owned(),
        )
        .await?;
        unique(m, "nnis", &["csp", "location_code"]).await?;

        m.create_table(
            Table::create()
                .table("connectors")
                .col(pk_uuid("id"))
                .col(uuid("tenant_id"))
                .col(string("kind"))
                .col(string("state"))
                .col(text("machine_state"))
                .col(string("waiting_on"))
                .col(uuid("nni_id"))
                .col(text("params"))
                .col(text("resources"))
                .col(string_null("csp_ref"))
                .col(big_integer("step"))
                .col(text_null("last_error"))
                // Epoch milliseconds until which one worker owns the connector's
                // current step; keeps two jobs of one connector from overlapping.
                .col(big_integer_null("lease_until_ms"))
                .col(string_null("lease_holder"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("connectors", "tenant_id", "tenants"))
                .foreign_key(&mut fk("connectors", "nni_id", "nnis"))
                .to_owned(),
        )
        .await?;
        index(m, "connectors", &["tenant_id", "created_at"]).await?;

        m.create_table(
            Table::create()
                .table("connector_events")
                .col(big_pk_auto("id"))
                .col(uuid("connector_id"))
                .col(big_integer("step"))
                .col(string("event"))
                .col(string_null("from_state"))
                .col(string("to_state"))
                .col(text("message"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("connector_events", "connector_id", "connectors"))
                .to_owned(),
        )
        .await?;
        index(m, "connector_events", &["connector_id", "id"]).await?;

        // One row per allocated unit. The unique key is what makes two
        // concurrent orders unable to get the same VLAN, subnet or ASN: a
        // subnet takes one row per /31 it covers, so blocks of different sizes
        // from one pool can never overlap either.
        m.create_table(
            Table::create()
                .table("allocations")
                .col(big_pk_auto("id"))
                .col(string("resource"))
                .col(string("scope"))
                .col(big_integer("value"))
                // Exactly one owner: a connector, or a tenant (its VRF's RD/RT).
                .col(uuid_null("connector_id"))
                .col(uuid_null("tenant_id"))
                .foreign_key(&mut fk("allocations", "connector_id", "connectors"))
                .foreign_key(&mut fk("allocations", "tenant_id", "tenants"))
                .to_owned(),
        )
        .await?;
        unique(m, "allocations", &["resource", "scope", "value"]).await?;
        index(m, "allocations", &["connector_id"]).await?;

        // Router changes waiting for their PE's writer, who pushes all that
        // queued up in one commit.
        m.create_table(
            Table::create()
                .table("pe_changes")
                .col(big_pk_auto("id"))
                .col(uuid("pe_id"))
                .col(uuid("connector_id"))
                .col(big_integer("step"))
                .col(string("op"))
                .col(text("payload"))
                // pending | done | failed
                .col(string("status"))
                .col(text_null("error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("done_at"))
                .foreign_key(&mut fk("pe_changes", "pe_id", "pe_routers"))
                .foreign_key(&mut fk("pe_changes", "connector_id", "connectors"))
                .to_owned(),
        )
        .await?;
        index(m, "pe_changes", &["pe_id", "status", "id"]).await?;
        unique(m, "pe_changes", &["connector_id", "step", "op"]).await?;

        m.create_table(
            Table::create()
                .table("outbox")
                .col(big_pk_auto("id"))
                .col(string("subject"))
                .col(text("payload"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("published_at"))
                .to_owned(),
        )
        .await?;
        index(m, "outbox", &["published_at", "id"]).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "outbox",
            "pe_changes",
            "allocations",
            "connector_events",
            "connectors",
            "nnis",
            "route_target_pools",
            "asn_pools",
            "linknet_pools",
            "pe_ports",
            "pe_routers",
            "api_keys",
            "tenants",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

fn fk(table: &str, col: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table.to_string(), col.to_string())
        .to(target.to_string(), "id")
        .to_owned()
}

async fn unique(m: &SchemaManager<'_>, table: &str, cols: &[&str]) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(format!("uq_{table}_{}", cols.join("_")))
        .table(table.to_string())
        .unique();
    for c in cols {
        idx.col(String::from(*c));
    }
    m.create_index(idx.clone()).await
}

async fn index(m: &SchemaManager<'_>, table: &str, cols: &[&str]) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", cols.join("_")))
        .table(table.to_string());
    for c in cols {
        idx.col(String::from(*c));
    }
    m.create_index(idx.clone()).await
}
