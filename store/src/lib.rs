//! Persistence for onramp: entities, the order transaction (intent +
//! allocations + outbox in one commit), state transitions guarded by a step
//! counter, the outbox the relay publishes from, and API-key lookup.
//! Works on SQLite (embedded default) and PostgreSQL alike.

pub mod admin;
pub mod alloc;
pub mod auth;
pub mod connectors;
pub mod db;
pub mod entity;
mod error;
pub mod event_payload;
pub mod idempotency;
pub mod inventory;
pub mod jobs;
mod lease;
pub mod links;
pub mod model;
pub mod outbox;
pub mod pe_changes;
pub mod secrets;
pub mod seed;
pub mod stuck;
pub mod tasks;
pub mod ticket_providers;
pub mod users;
pub mod webhooks;

pub use db::{connect, connect_and_migrate, connect_and_migrate_within};
pub use error::{Error, Result};
pub use sea_orm::DatabaseConnection;
