use std::time::Duration;

use rustnetconf::error::{ProtocolError, RpcError, TransportError};
use rustnetconf::types::ErrorTag;
use rustnetconf::{NetconfError, RpcServerError};

/// A failed push or read, saying which step failed and what the router
/// answered. [`Error::is_retryable`] tells the worker whether redelivering the
/// job can help (every push is an idempotent merge or remove, so a retry after
/// an unknown outcome is safe).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The PE could not be reached (TCP refused, SSH handshake failed).
    #[error("PE {pe}: cannot connect: {detail}")]
    Connect { pe: String, detail: String },
    /// The PE refused the credentials.
    #[error("PE {pe}: authentication refused: {detail}")]
    Auth { pe: String, detail: String },
    /// The PE presented another SSH host key than the pinned one: possible
    /// man in the middle, or a re-keyed router. Nothing was sent.
    #[error("PE {pe}: SSH host key mismatch: expected {expected}, got {got}")]
    HostKeyMismatch {
        pe: String,
        expected: String,
        got: String,
    },
    /// No fingerprint is pinned for the PE, so its host key is not trusted.
    #[error(
        "PE {pe}: no SSH host key fingerprint is pinned; it presented {got} (verify it out of band, then pin it)"
    )]
    HostKeyNotPinned { pe: String, got: String },
    /// The router answered `<rpc-error>`.
    #[error("{step}: router answered {tag}{}: {message}{}",
        app_tag.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
        path.as_ref().map(|p| format!(" at {p}")).unwrap_or_default())]
    Rpc {
        step: &'static str,
        /// RFC 6241 error-tag, e.g. `invalid-value`, `lock-denied`.
        tag: String,
        app_tag: Option<String>,
        message: String,
        /// error-path, as the router wrote it.
        path: Option<String>,
        /// error-info (e.g. the bad value, the session holding a lock).
        info: Option<String>,
    },
    /// The commit was accepted but running does not show the change; it was
    /// rolled back.
    #[error("verify: running does not meet `{expectation}`; running has:\n{running_excerpt}")]
    Verify {
        expectation: String,
        running_excerpt: String,
    },
    /// The router did not answer in time.
    #[error("{step}: no answer within {after:?}")]
    Timeout { step: &'static str, after: Duration },
    /// The session broke after it was established (channel closed, framing
    /// lost, connection dropped after a commit was sent).
    #[error("{step}: session lost: {detail}")]
    Session { step: &'static str, detail: String },
    /// The router or the client broke the protocol in a way a retry will not
    /// fix (a missing capability, a reply that does not parse).
    #[error("{step}: {detail}")]
    Protocol { step: &'static str, detail: String },
    /// A batch failed because of one of its changes (the whole batch was
    /// rolled back): `index` is the 0-based position of that change in the
    /// slice given to [`crate::apply_batch`], `source` what went wrong with
    /// it (the router's answer to its `<edit-config>`, or the expectation
    /// running did not meet). [`crate::apply`] never returns this variant:
    /// a batch of one reports the inner error.
    #[error("change {index} of a batch of {count}: {source}")]
    Change {
        index: usize,
        count: usize,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Whether the same push may succeed later: unreachable or busy routers,
    /// timeouts, lost sessions and lock contention are; refusals of the
    /// content (`invalid-value`...), verify failures and trust failures are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Change { source, .. } => source.is_retryable(),
            Error::Connect { .. } | Error::Timeout { .. } | Error::Session { .. } => true,
            Error::Rpc { tag, .. } => {
                matches!(tag.as_str(), "lock-denied" | "in-use" | "resource-denied")
            }
            Error::Auth { .. }
            | Error::HostKeyMismatch { .. }
            | Error::HostKeyNotPinned { .. }
            | Error::Verify { .. }
            | Error::Protocol { .. } => false,
        }
    }

    /// The RFC 6241 error-tag if the router answered `<rpc-error>`.
    pub fn rpc_tag(&self) -> Option<&str> {
        match self.innermost() {
            Error::Rpc { tag, .. } => Some(tag),
            _ => None,
        }
    }

    /// For a batch that failed because of one change: its 0-based index.
    pub fn change_index(&self) -> Option<usize> {
        match self {
            Error::Change { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The error itself, or for [`Error::Change`] the error of that change.
    pub fn innermost(&self) -> &Error {
        match self {
            Error::Change { source, .. } => source.innermost(),
            other => other,
        }
    }

    /// [`Error::innermost`], by value.
    pub fn into_innermost(self) -> Error {
        match self {
            Error::Change { source, .. } => source.into_innermost(),
            other => other,
        }
    }

    /// Whether the NETCONF session this error came from is no longer usable
    /// (so the pool must not hand it out again).
    pub(crate) fn breaks_session(&self) -> bool {
        matches!(
            self.innermost(),
            Error::Session { .. } | Error::Timeout { .. }
        )
    }

    pub(crate) fn from_netconf(step: &'static str, pe: &str, e: NetconfError) -> Error {
        match e {
            NetconfError::Rpc(RpcError::ServerError(se)) => rpc(step, *se),
            NetconfError::Rpc(RpcError::Timeout(after)) => Error::Timeout { step, after },
            NetconfError::Rpc(RpcError::CommitUnknown) => Error::Session {
                step,
                detail: "connection lost after <commit> was sent; the router may have committed"
                    .into(),
            },
            NetconfError::Rpc(other) => Error::Protocol {
                step,
                detail: other.to_string(),
            },
            NetconfError::Transport(t) => transport(step, pe, t),
            NetconfError::Framing(f) => Error::Session {
                step,
                detail: f.to_string(),
            },
            NetconfError::Protocol(
                ProtocolError::SessionClosed | ProtocolError::SessionExpired,
            ) => Error::Session {
                step,
                detail: "session closed".into(),
            },
            NetconfError::Protocol(p) => Error::Protocol {
                step,
                detail: p.to_string(),
            },
        }
    }
}

fn rpc(step: &'static str, se: RpcServerError) -> Error {
    Error::Rpc {
        step,
        tag: tag_str(&se.tag).to_string(),
        app_tag: se.app_tag,
        message: se.message.trim().to_string(),
        path: se.path.map(|p| p.trim().to_string()),
        info: se.info.map(|i| i.trim().to_string()),
    }
}

fn transport(step: &'static str, pe: &str, t: TransportError) -> Error {
    let pe = pe.to_string();
    match t {
        TransportError::HostKeyMismatch {
            expected, actual, ..
        } => Error::HostKeyMismatch {
            pe,
            expected,
            got: actual,
        },
        // rustnetconf's RejectAll policy (our "nothing pinned") reports the
        // presented key in its message: "... (presented SHA256:...)".
        TransportError::Config(msg) if msg.contains("RejectAll") => Error::HostKeyNotPinned {
            pe,
            got: msg
                .split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .map(|w| w.trim_end_matches([')', ';', ',']).to_string())
                .unwrap_or_else(|| "an unknown key".into()),
        },
        TransportError::Auth(detail) => Error::Auth { pe, detail },
        TransportError::Connect(detail) => Error::Connect { pe, detail },
        other if step == crate::STEP_CONNECT => Error::Connect {
            pe,
            detail: other.to_string(),
        },
        other => Error::Session {
            step,
            detail: other.to_string(),
        },
    }
}

fn tag_str(tag: &ErrorTag) -> &str {
    match tag {
        ErrorTag::InUse => "in-use",
        ErrorTag::InvalidValue => "invalid-value",
        ErrorTag::TooBig => "too-big",
        ErrorTag::MissingAttribute => "missing-attribute",
        ErrorTag::BadAttribute => "bad-attribute",
        ErrorTag::UnknownAttribute => "unknown-attribute",
        ErrorTag::MissingElement => "missing-element",
        ErrorTag::BadElement => "bad-element",
        ErrorTag::UnknownElement => "unknown-element",
        ErrorTag::UnknownNamespace => "unknown-namespace",
        ErrorTag::AccessDenied => "access-denied",
        ErrorTag::LockDenied => "lock-denied",
        ErrorTag::ResourceDenied => "resource-denied",
        ErrorTag::RollbackFailed => "rollback-failed",
        ErrorTag::DataExists => "data-exists",
        ErrorTag::DataMissing => "data-missing",
        ErrorTag::OperationNotSupported => "operation-not-supported",
        ErrorTag::OperationFailed => "operation-failed",
        ErrorTag::MalformedMessage => "malformed-message",
        ErrorTag::Other(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc_err(tag: &str) -> Error {
        Error::Rpc {
            step: "lock",
            tag: tag.into(),
            app_tag: None,
            message: "m".into(),
            path: None,
            info: None,
        }
    }

    #[test]
    fn retryable_classes() {
        assert!(rpc_err("lock-denied").is_retryable());
        assert!(rpc_err("in-use").is_retryable());
        assert!(!rpc_err("invalid-value").is_retryable());
        assert!(!rpc_err("data-missing").is_retryable());
        assert!(
            Error::Timeout {
                step: "commit-confirmed",
                after: Duration::from_secs(1)
            }
            .is_retryable()
        );
        assert!(
            Error::Connect {
                pe: "pe1".into(),
                detail: "refused".into()
            }
            .is_retryable()
        );
        assert!(
            !Error::Verify {
                expectation: "x".into(),
                running_excerpt: String::new()
            }
            .is_retryable()
        );
        assert!(
            !Error::HostKeyMismatch {
                pe: "pe1".into(),
                expected: "a".into(),
                got: "b".into()
            }
            .is_retryable()
        );
    }

    #[test]
    fn rpc_error_message_names_step_tag_and_path() {
        let e = Error::from_netconf(
            "edit-config",
            "pe1",
            RpcServerError {
                error_type: None,
                tag: ErrorTag::InvalidValue,
                severity: None,
                app_tag: Some("not-in-range".into()),
                path: Some("/ope:interfaces/ope:interface[ope:name='ge-0/0/1']".into()),
                message: "value not in range".into(),
                info: None,
            }
            .into(),
        );
        assert_eq!(
            e.to_string(),
            "edit-config: router answered invalid-value (not-in-range): value not in range \
             at /ope:interfaces/ope:interface[ope:name='ge-0/0/1']"
        );
    }

    #[test]
    fn a_change_error_names_the_index_and_keeps_the_inner_class() {
        let e = Error::Change {
            index: 1,
            count: 3,
            source: Box::new(rpc_err("invalid-value")),
        };
        assert_eq!(e.change_index(), Some(1));
        assert_eq!(e.rpc_tag(), Some("invalid-value"));
        assert!(!e.is_retryable());
        assert!(
            e.to_string()
                .starts_with("change 1 of a batch of 3: lock: router answered invalid-value"),
            "{e}"
        );
        let busy = Error::Change {
            index: 0,
            count: 2,
            source: Box::new(rpc_err("lock-denied")),
        };
        assert!(busy.is_retryable());
        assert!(matches!(busy.into_innermost(), Error::Rpc { .. }));
    }

    #[test]
    fn unpinned_key_reports_what_was_presented() {
        let e = transport(
            crate::STEP_CONNECT,
            "pe1",
            TransportError::Config(
                "SSH host key rejected by the RejectAll policy (presented SHA256:abc); pin it"
                    .into(),
            ),
        );
        assert!(
            matches!(&e, Error::HostKeyNotPinned { got, .. } if got == "SHA256:abc"),
            "{e:?}"
        );
    }
}
