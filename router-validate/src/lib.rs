//! Validation of a PE change before it is pushed (DESIGN.md rule 5):
//!
//! ```text
//!  AttachmentIntent ──render──> Rendered.config_xml
//!        │                            │
//!        v                            v
//!  (a) semantic::check          (b) YangValidator::validate
//!      against PeFacts              against the platform's YANG modules
//!      (parsed from running)        (libyang: types, ranges, patterns,
//!                                    keys, unknown elements)
//!        └──────────── validate_change ────────────┘
//!                          │ Ok
//!                          v
//!   (c) on the device: lock, edit-config, commit confirmed, read back...
//! ```
//!
//! (a) speaks about the PE's state ("VLAN 100 on ge-0/0/1 is already carried
//! by unit 100 (onramp conn-0042)"); (b) catches template bugs before the
//! device does. Both only read: nothing here talks to a router.

mod error;
mod payload;
pub mod semantic;
pub mod yang;

use onramp_router_templates::{AttachmentIntent, Operation, Platform, Rendered, VrfIntent};

pub use error::Error;
pub use semantic::{
    Neighbor, PeFacts, Unit, Violation, Vrf, check, check_references, check_vrf_delete,
};
pub use yang::{YangError, YangValidator};

/// Which validation layer refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Semantic,
    Yang,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Semantic => "semantic",
            Layer::Yang => "yang",
        })
    }
}

/// A change refused before the push: which layer refused and every reason
/// it gave. The `Display` is written for a connector's timeline; the
/// serialisation (`"layer": "semantic" | "yang"`) for the API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum ValidationError {
    /// The change clashes with what the PE carries, or with itself.
    #[error("{}", semantic_text(.platform, .operation, .connector_id, .violations))]
    Semantic {
        platform: String,
        operation: &'static str,
        connector_id: String,
        violations: Vec<Violation>,
    },
    /// The rendered payload does not fit the device's YANG modules: a
    /// template bug, not something the customer can fix.
    #[error("{}", yang_text(.platform, .operation, .connector_id, .errors))]
    Yang {
        platform: String,
        operation: &'static str,
        connector_id: String,
        errors: Vec<YangError>,
    },
}

impl ValidationError {
    pub fn layer(&self) -> Layer {
        match self {
            ValidationError::Semantic { .. } => Layer::Semantic,
            ValidationError::Yang { .. } => Layer::Yang,
        }
    }
}

fn semantic_text(platform: &str, op: &str, connector: &str, violations: &[Violation]) -> String {
    let mut out = format!(
        "not pushed: the {op} of {connector} on {platform} clashes with the PE or with itself \
         ({} problem{}):",
        violations.len(),
        plural(violations.len())
    );
    for v in violations {
        out.push_str("\n- ");
        out.push_str(&v.to_string());
    }
    out
}

fn yang_text(platform: &str, op: &str, connector: &str, errors: &[YangError]) -> String {
    let mut out = format!(
        "not pushed: the {op} payload of {connector} does not fit the {platform} YANG model \
         (a template bug; {} error{}):",
        errors.len(),
        plural(errors.len())
    );
    for e in errors {
        out.push_str("\n- ");
        out.push_str(&e.to_string());
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Runs the checks that come before a push: (a) semantic checks of the
/// intent against `facts`, then (b) the rendered payload against the
/// platform's YANG modules when a validator is given (`None`: the platform
/// has none, see [`YangValidator::for_platform`]). Stops at the first layer
/// that refuses, since a semantic refusal already means no push.
pub fn validate_change(
    platform: &Platform,
    yang: Option<&YangValidator>,
    op: Operation,
    intent: &AttachmentIntent,
    rendered: &Rendered,
    facts: &PeFacts,
) -> Result<(), ValidationError> {
    let semantic = |violations| ValidationError::Semantic {
        platform: platform.name().to_string(),
        operation: op.as_str(),
        connector_id: intent.connector_id.clone(),
        violations,
    };
    check(op, intent, facts).map_err(semantic)?;
    if op == Operation::Create {
        match PeFacts::from_running(platform, &rendered.config_xml) {
            Ok(change) => check_references(&change, facts).map_err(semantic)?,
            // No fact reader for this platform: its device checks its own
            // references on commit.
            Err(Error::Unsupported { .. }) => {}
            Err(e) => {
                return Err(semantic(vec![Violation {
                    field: "payload",
                    code: "unreadable_payload",
                    message: format!("the rendered change cannot be read back: {e}"),
                }]));
            }
        }
    }
    let Some(yang) = yang else {
        return Ok(());
    };
    let refused = |errors| ValidationError::Yang {
        platform: platform.name().to_string(),
        operation: op.as_str(),
        connector_id: intent.connector_id.clone(),
        errors,
    };
    // A validator of another platform would judge the payload by the wrong
    // modules and refuse it for reasons that mean nothing.
    if let Some(theirs) = yang.platform()
        && theirs != platform.name()
    {
        return Err(refused(vec![YangError {
            message: format!(
                "the YANG validator holds the modules of platform {theirs}, the change is for {}",
                platform.name()
            ),
            path: None,
        }]));
    }
    yang.validate_rendered(op, rendered).map_err(refused)
}

/// [`validate_change`] for a VRF removal: the VRF must hold nothing on the
/// PE any more, and the payload must fit the YANG modules.
pub fn validate_vrf_delete(
    platform: &Platform,
    yang: Option<&YangValidator>,
    vrf: &VrfIntent,
    rendered: &Rendered,
    facts: &PeFacts,
) -> Result<(), ValidationError> {
    let op = Operation::VrfDelete;
    check_vrf_delete(vrf, facts).map_err(|violations| ValidationError::Semantic {
        platform: platform.name().to_string(),
        operation: op.as_str(),
        connector_id: vrf.name.clone(),
        violations,
    })?;
    let Some(yang) = yang else {
        return Ok(());
    };
    yang.validate_rendered(op, rendered)
        .map_err(|errors| ValidationError::Yang {
            platform: platform.name().to_string(),
            operation: op.as_str(),
            connector_id: vrf.name.clone(),
            errors,
        })
}
