use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A link's SLA (issue 19): its product profile and per-link
        // thresholds as JSON (`{}`: the default profile), and the breach
        // under way, if any, which the evaluation replaces by
        // compare-and-set so that two workers never record it twice. A
        // connector's timeline row may be about a link of it (an SLA breach
        // of the link), which `link_id` names. SQLite adds one column per
        // ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("links")
                .add_column(text("sla").default("{}"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("links")
                .add_column(text_null("sla_breach"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("connector_events")
                .add_column(uuid_null("link_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("connector_events")
                .drop_column("link_id")
                .to_owned(),
        )
        .await?;
        for column in ["sla_breach", "sla"] {
            m.alter_table(Table::alter().table("links").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
