//! Errors as the AWS JSON 1.1 protocol puts them on the wire.

use axum::http::StatusCode;

/// An error reply: HTTP status, the `__type` code and AWS's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error_type: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }

    /// The modeled 400 `DirectConnectClientException`: every business-rule refusal.
    pub(crate) fn client(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "DirectConnectClientException",
            message,
        )
    }

    /// The modeled 500 `DirectConnectServerException`.
    pub(crate) fn server(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "DirectConnectServerException",
            message,
        )
    }

    /// A required member is absent. AWS's front end answers this before the
    /// service sees the request, in the generic Coral wording.
    pub(crate) fn missing_member(member: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy \
                 constraint: Member must not be null"
            ),
        )
    }

    /// The body is not JSON or a member has the wrong type.
    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SerializationException", message)
    }

    pub(crate) fn unknown_operation(target: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("Unknown operation {target}"),
        )
    }

    /// What AWS answers for an access key it does not know.
    pub(crate) fn unrecognized_client() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    }

    pub(crate) fn missing_authentication() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    }

    /// The reply AWS gives for a virtual interface the caller cannot see.
    pub(crate) fn vif_not_found(vif_id: &str) -> Self {
        Self::client(format!("Virtual interface {vif_id} does not exist."))
    }

    pub(crate) fn connection_not_found(connection_id: &str) -> Self {
        Self::client(format!("Could not find Connection with ID {connection_id}"))
    }
}
