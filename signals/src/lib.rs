//! Operator signals (issue 19): what onramp tells the people who run it.
//!
//! - [`series`]: every metric series onramp records, by name, with the one
//!   function that records each, so names, units and label sets live in one
//!   place. Libraries record through the `metrics` facade only; nothing is
//!   kept unless a binary installed a recorder.
//! - [`Scrape`]: renders the installed registry for a `/metrics` route,
//!   without the route's crate knowing which exporter made it.
//! - [`request_id`]: the id of the request a unit of work serves, carried
//!   from the API's answer into the outbox, the job message and the
//!   worker's logs.
//! - `install` (feature `install`, binaries only): the Prometheus recorder
//!   and the log subscriber (`--log-format text|json`).
//!
//! Labels are bounded by construction: methods, route templates, kinds,
//! action names, PE and provider names from the inventory, CSP operation
//! names. Never a connector, tenant or request id (docs/decisions/0016).

#[cfg(feature = "install")]
pub mod install;
pub mod request_id;
mod scrape;
pub mod series;

pub use scrape::{CONTENT_TYPE, Scrape};
