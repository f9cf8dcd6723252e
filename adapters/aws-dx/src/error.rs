//! The adapter's error boundary: every SDK failure becomes either "AWS said
//! no" (not retryable) or "try again later".

use aws_sdk_directconnect::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Error codes AWS uses for request-rate refusals, whatever the status code.
pub(crate) const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// AWS refused the request (DirectConnectClientException etc.): not
    /// retryable; carries AWS's message verbatim.
    #[error("AWS Direct Connect rejected {operation}: {message}")]
    Rejected {
        operation: &'static str,
        message: String,
    },
    /// 5xx, throttling, timeouts, connection refused: retry later.
    #[error("AWS Direct Connect {operation} failed transiently: {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    /// A live VIF with the requested name exists but was allocated with other
    /// parameters (VLAN, owner, ASN or addresses). Not retryable: somebody has
    /// to look at it, reusing it would configure the wrong peering.
    #[error(
        "virtual interface {vif_id} named {name:?} already exists with different parameters: {details}"
    )]
    Conflict {
        vif_id: String,
        name: String,
        details: String,
    },
    /// The hosted-connection twin of [`Error::Conflict`]: a live hosted
    /// connection with the requested name exists on the interconnect with
    /// another owner, bandwidth or VLAN. Not retryable.
    #[error(
        "hosted connection {connection_id} named {name:?} already exists with different parameters: {details}"
    )]
    ConnectionConflict {
        connection_id: String,
        name: String,
        details: String,
    },
}

impl Error {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The AWS operation that failed, e.g. `AllocatePrivateVirtualInterface`.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Rejected { operation, .. } | Self::Transient { operation, .. } => operation,
            Self::Conflict { .. } => "AllocatePrivateVirtualInterface",
            Self::ConnectionConflict { .. } => "AllocateHostedConnection",
        }
    }

    pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = |message: String| Self::Transient { operation, message };
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status();
                let code = service.err().code().unwrap_or_default();
                let message = service
                    .err()
                    .message()
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        if code.is_empty() {
                            format!("HTTP {}", status.as_u16())
                        } else {
                            code.to_owned()
                        }
                    });
                if status.is_server_error()
                    || status.as_u16() == 429
                    || THROTTLING_CODES.contains(&code)
                {
                    transient(message)
                } else {
                    Self::Rejected { operation, message }
                }
            }
            // Never sent: a bug on our side, retrying will not help.
            SdkError::ConstructionFailure(_) => Self::Rejected {
                operation,
                message: DisplayErrorContext(&err).to_string(),
            },
            // Timeouts, connection failures, truncated or unparseable replies.
            _ => transient(DisplayErrorContext(&err).to_string()),
        }
    }
}

/// AWS answers an unknown or invisible VIF or connection with a 400
/// DirectConnectClientException; only the message tells it apart.
pub(crate) fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    let SdkError::ServiceError(service) = err else {
        return false;
    };
    if service.raw().status().is_server_error() {
        return false;
    }
    let message = service
        .err()
        .message()
        .unwrap_or_default()
        .to_ascii_lowercase();
    message.contains("does not exist")
        || message.contains("not found")
        || message.contains("could not find")
}
