use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A PE in maintenance (issue 18): its writer holds what is queued
        // for it until an operator ends the maintenance. The reason is the
        // operator's, for operators; customers see only that the PE is in
        // planned maintenance. SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("pe_routers")
                .add_column(timestamp_with_time_zone_null("maintenance_since"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("pe_routers")
                .add_column(string_null("maintenance_reason"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["maintenance_reason", "maintenance_since"] {
            m.alter_table(
                Table::alter()
                    .table("pe_routers")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
