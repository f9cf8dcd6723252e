use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Where a PE's SNMP agent answers (`host:port`, issue 19): onramp
        // hands it to Prometheus as a scrape target; NULL leaves the PE
        // unmonitored. The community lives in the SNMP exporter's module.
        m.alter_table(
            Table::alter()
                .table("pe_routers")
                .add_column(string_null("snmp_target"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("pe_routers")
                .drop_column("snmp_target")
                .to_owned(),
        )
        .await
    }
}
