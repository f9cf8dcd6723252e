use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A provider provisioned through tickets (issue 6). `key` is also the
        // `csp` of its NNIs; `runbook` is the JSON of
        // onramp_state_machines::ticket_runbook::Runbook, snapshotted into
        // each connector's params at order time.
        m.create_table(
            Table::create()
                .table("ticket_providers")
                .col(pk_uuid("id"))
                .col(string_uniq("key"))
                .col(string("name"))
                .col(text("runbook"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;

        // One ops task per manual step of a ticket-csp connector.
        m.create_table(
            Table::create()
                .table("ops_tasks")
                .col(pk_uuid("id"))
                .col(uuid("connector_id"))
                .col(uuid("tenant_id"))
                .col(string("provider"))
                .col(integer("step_index"))
                .col(string("step_key"))
                .col(string("title"))
                // open | claimed | completed | rejected | cancelled
                .col(string("state"))
                .col(string_null("claimed_by"))
                .col(timestamp_with_time_zone_null("claimed_at"))
                .col(timestamp_with_time_zone("due_at"))
                // JSON object of the normalised values, once completed.
                .col(text_null("values"))
                .col(text_null("reject_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_ops_tasks_connector_id")
                        .from("ops_tasks", "connector_id")
                        .to("connectors", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Opening a task is idempotent: a redelivered open_task job hits
        // this key and finds the row it opened before.
        m.create_index(
            Index::create()
                .name("ux_ops_tasks_connector_step")
                .table("ops_tasks")
                .col("connector_id")
                .col("step_index")
                .unique()
                .to_owned(),
        )
        .await?;
        // The console's queue: by state, soonest due (overdue) first.
        m.create_index(
            Index::create()
                .name("ix_ops_tasks_state_due_at")
                .table("ops_tasks")
                .col("state")
                .col("due_at")
                .col("id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ops_task_notes")
                .col(big_pk_auto("id"))
                .col(uuid("task_id"))
                .col(string("author"))
                .col(text("text"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_ops_task_notes_task_id")
                        .from("ops_task_notes", "task_id")
                        .to("ops_tasks", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_ops_task_notes_task_id")
                .table("ops_task_notes")
                .col("task_id")
                .col("id")
                .to_owned(),
        )
        .await?;

        // Who did what to which task, and when: every ops action, and the
        // worker's opening and cancelling of tasks.
        m.create_table(
            Table::create()
                .table("ops_audit")
                .col(big_pk_auto("id"))
                .col(uuid_null("task_id"))
                .col(uuid("connector_id"))
                .col(string("actor"))
                .col(string("action"))
                .col(text("detail"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_ops_audit_task_id")
                .table("ops_audit")
                .col("task_id")
                .col("id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "ops_audit",
            "ops_task_notes",
            "ops_tasks",
            "ticket_providers",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
