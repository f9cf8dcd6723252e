use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A live connector's settings can change (issue 18). `options`
        // holds what every kind shares (BGP prefix limit, BFD, the
        // customer's description) as JSON with defaults, so rows ordered
        // before it read as they always rendered. `pending_change` holds the
        // settings before an in-flight change, so a refusal restores them
        // and a second change meanwhile is refused. SQLite adds one column
        // per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("connectors")
                .add_column(text("options").default("{}"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("connectors")
                .add_column(text_null("pending_change"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["pending_change", "options"] {
            m.alter_table(
                Table::alter()
                    .table("connectors")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
