//! sea-orm entities, one per table of `onramp-migrations`.

pub mod allocation;
pub mod api_key;
pub mod asn_pool;
pub mod connector;
pub mod connector_event;
pub mod idempotency_key;
pub mod link;
pub mod link_event;
pub mod link_member;
pub mod linknet_pool;
pub mod nni;
pub mod ops_audit;
pub mod ops_task;
pub mod ops_task_note;
pub mod outbox;
pub mod pe_change;
pub mod pe_commit;
pub mod pe_port;
pub mod pe_router;
pub mod route_target_pool;
pub mod session;
pub mod tenant;
pub mod ticket_provider;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
