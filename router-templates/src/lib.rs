//! Router templates: turn one connector attachment (a typed intent) into the
//! NETCONF `<config>` payload for a PE platform, plus the list of things the
//! router's running configuration must (or must no longer) hold once the change
//! is committed.
//!
//! Templates are data (DESIGN.md rule 6): a platform is a folder
//! `router-templates/<platform>/` with a `platform.json` and minijinja
//! templates; nothing in this crate names a platform. See
//! `router-templates/README.md` for how to add one.
//!
//! ```text
//!  AttachmentIntent ──render──> attachment-<op>.xml.j2 ──> config_xml
//!                                                            │ parsed
//!                                                            v
//!                         platform.json list_keys ──> expectations
//!                           (leaf = value / present / absent, checked against
//!                            running after the commit by the NETCONF adapter)
//! ```

mod error;
mod expect;
mod intent;
mod platform;
mod xml;

use std::path::PathBuf;

pub use error::Error;
pub use expect::{Expectation, FactChange, Step, VerifyFailure};
pub use intent::{AttachmentIntent, NeighborIntent, Operation, Policer, VrfIntent};
pub use platform::{DefaultOperation, Platform, Quirks, Rendered};

/// Environment variable naming the templates root (the folder that holds one
/// folder per platform).
pub const TEMPLATES_DIR_ENV: &str = "ONRAMP_TEMPLATES_DIR";

/// `$ONRAMP_TEMPLATES_DIR`, else the `router-templates/` folder of this
/// source tree.
pub fn default_templates_root() -> PathBuf {
    std::env::var_os(TEMPLATES_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
