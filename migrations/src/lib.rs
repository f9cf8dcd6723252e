//! Schema migrations, run by `onramp migrate` (and by `serve`/`worker`/`dev` at
//! start-up). The same migrations serve SQLite and PostgreSQL, so column types
//! stay within what both support: UUIDs, text (JSON is stored as text and parsed
//! by the store), integers and timestamps.

pub use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_idempotency;
mod m0003_webhooks;
mod m0004_links;
mod m0005_users_sessions;
mod m0006_ticket_tasks;
mod m0007_pe_commits;
mod m0008_pe_maintenance;
mod m0009_connector_changes;
mod m0010_nni_groups;
mod m0011_request_ids;
mod m0012_pe_telemetry;
mod m0013_link_sla;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_idempotency::Migration),
            Box::new(m0003_webhooks::Migration),
            Box::new(m0004_links::Migration),
            Box::new(m0005_users_sessions::Migration),
            Box::new(m0006_ticket_tasks::Migration),
            Box::new(m0007_pe_commits::Migration),
            Box::new(m0008_pe_maintenance::Migration),
            Box::new(m0009_connector_changes::Migration),
            Box::new(m0010_nni_groups::Migration),
            Box::new(m0011_request_ids::Migration),
            Box::new(m0012_pe_telemetry::Migration),
            Box::new(m0013_link_sla::Migration),
        ]
    }
}
