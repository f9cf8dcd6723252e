//! Simulators of the cloud providers' partner APIs.
//!
//! Each simulator speaks the provider's real wire protocol so that the official
//! clients talk to it unmodified, and adds a small JSON control plane under
//! `/_sim/` that tests and the demo use to drive the "other side" (the customer,
//! the network) and to inject faults.

pub mod aws_dx;
pub mod azure_er;
mod clock_http;
/// Google Cloud Partner Interconnect: Compute `interconnectAttachments` of a
/// partner project, operations and a metadata token endpoint.
pub mod gcp_pi;
mod running;

pub use running::Running;
