use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per batch a PE writer pushed (issue 16): how many changes
        // went in one commit, how large the PE was, and what the push cost.
        // The writer sizes its batches from it, operators read a PE's
        // commit cost from it, and the orders benchmark prints it by size.
        m.create_table(
            Table::create()
                .table("pe_commits")
                .col(big_pk_auto("id"))
                .col(uuid("pe_id"))
                .col(string("writer"))
                .col(integer("changes"))
                // Units on the PE as read before the batch.
                .col(integer("attachments_before"))
                .col(big_integer("push_ms"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_pe_commits_pe_id_at")
                .table("pe_commits")
                .col("pe_id")
                .col("at")
                .to_owned(),
        )
        .await?;
        // A change with no failure exit (a teardown, a move back) that the
        // router refused is put back with a growing delay: the writer takes
        // it again once `retry_at_ms` has passed. SQLite adds one column per
        // ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("pe_changes")
                .add_column(integer("attempts").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("pe_changes")
                .add_column(big_integer_null("retry_at_ms"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["retry_at_ms", "attempts"] {
            m.alter_table(
                Table::alter()
                    .table("pe_changes")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table("pe_commits").to_owned())
            .await
    }
}
