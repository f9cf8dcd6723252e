use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The API request a job or a queued router change was caused by
        // (issue 19): the relay puts it on the job message and the PE
        // writer on the transition it commits, so one id finds a
        // connector's story in every process's logs. Null for work no
        // request caused (rows from before, timers). SQLite adds one column
        // per ALTER TABLE.
        for table in ["outbox", "pe_changes"] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(string_len_null("request_id", 128))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["pe_changes", "outbox"] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .drop_column("request_id")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
