//! The one API error type and its one mapping to RFC 9457 `application/problem+json`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way a request can fail. 4xx variants carry a message a person can act on; database and
/// unexpected errors become an opaque 500 (or 503) whose cause goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    NotAcceptable(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request line's target is longer than the server reads.
    #[error("the request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// Too many request headers, or too many bytes of them.
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("{}", .0.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default())]
    Validation(Vec<FieldError>),
    /// The request collides with work in progress or with an earlier request.
    #[error("{0}")]
    Conflict(String),
    /// Another turn of the conversation is still running.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The issuer's signing keys could not be fetched: tokens cannot be checked right now.
    #[error("the sign-in keys are unavailable")]
    KeysUnavailable,
    /// The chat model failed or timed out; the user's message is kept and can be sent again.
    #[error("the assistant is unavailable: {0}")]
    ModelUnavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A validation failure of one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) | Self::Busy { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::ModelUnavailable(_) | Self::KeysUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, documented problem type for each kind of failure.
    fn problem_type(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "https://smart-todo.dev/problems/bad-request",
            Self::Unauthorized(_) => "https://smart-todo.dev/problems/unauthorized",
            Self::Forbidden(_) => "https://smart-todo.dev/problems/forbidden",
            Self::NotFound(_) => "https://smart-todo.dev/problems/not-found",
            Self::MethodNotAllowed => "https://smart-todo.dev/problems/method-not-allowed",
            Self::NotAcceptable(_) => "https://smart-todo.dev/problems/not-acceptable",
            Self::PayloadTooLarge(_) => "https://smart-todo.dev/problems/payload-too-large",
            Self::UnsupportedMediaType(_) => {
                "https://smart-todo.dev/problems/unsupported-media-type"
            }
            Self::UriTooLong(_) => "https://smart-todo.dev/problems/uri-too-long",
            Self::HeadersTooLarge(_) => "https://smart-todo.dev/problems/headers-too-large",
            Self::Validation(_) => "https://smart-todo.dev/problems/validation",
            Self::Conflict(_) => "https://smart-todo.dev/problems/conflict",
            Self::Busy { .. } => "https://smart-todo.dev/problems/turn-in-progress",
            Self::TooManyRequests { .. } => "https://smart-todo.dev/problems/rate-limited",
            Self::Unavailable(_) => "https://smart-todo.dev/problems/unavailable",
            Self::KeysUnavailable => "https://smart-todo.dev/problems/keys-unavailable",
            Self::ModelUnavailable(_) => "https://smart-todo.dev/problems/assistant-unavailable",
            Self::Internal(_) => "https://smart-todo.dev/problems/internal",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) if errors.len() > 1 => {
                format!("{} fields are invalid", errors.len())
            }
            Self::Unavailable(_) => "the database is unavailable; try again shortly".into(),
            Self::KeysUnavailable => {
                "the sign-in service's keys could not be read; try again shortly".into()
            }
            Self::ModelUnavailable(_) => {
                "the assistant did not answer; your message was saved, send it again to retry"
                    .into()
            }
            Self::Internal(_) => "something went wrong on our side; it has been logged".into(),
            other => other.to_string(),
        }
    }
}

/// The RFC 9457 body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    pub r#type: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            // An outage is expected and repeats per request: one line with the cause chain, no backtrace.
            Self::Unavailable(cause) => {
                tracing::warn!(error = %format!("{cause:#}"), "database unavailable")
            }
            Self::ModelUnavailable(cause) => tracing::warn!(error = %cause, "model unavailable"),
            _ => {}
        }
        let body = Problem {
            r#type: self.problem_type().to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match &self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::Busy {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Unavailable(_) | Self::ModelUnavailable(_) | Self::KeysUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> Self {
        match err {
            crate::db::DbError::Unavailable(cause) => Self::Unavailable(cause),
            crate::db::DbError::Query(cause) => Self::Internal(cause),
            crate::db::DbError::Conflict { constraint } => Self::Conflict(format!(
                "the change conflicts with another one ({constraint}); reload and try again"
            )),
            // Callers that guard a pipeline map it to what it means for them; one that does not
            // still lost a race, not a bug.
            crate::db::DbError::Precondition(what) => Self::Conflict(format!(
                "{what}: another change came first; reload and try again"
            )),
            crate::db::DbError::Limit(what) => Self::TooManyRequests {
                message: format!("{what}; delete some to add more"),
                retry_after_secs: 3600,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(err: ApiError) -> (StatusCode, http::HeaderMap, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_validation_error_lists_its_fields() {
        let (status, headers, body) =
            body_json(ApiError::invalid("title", "the title is empty")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "title");
        assert_eq!(body["detail"], "title: the title is empty");
    }

    #[tokio::test]
    async fn an_internal_error_reveals_nothing_of_its_cause() {
        let (status, _, body) = body_json(ApiError::Internal(anyhow::anyhow!(
            "password=hunter2 at db.internal"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = body.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("db.internal"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn unauthorized_carries_a_bearer_challenge_and_unavailable_a_retry_after() {
        let (_, headers, _) = body_json(ApiError::Unauthorized("no token".into())).await;
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        let (status, headers, _) = body_json(ApiError::Unavailable(anyhow::anyhow!("down"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.contains_key(header::RETRY_AFTER));
    }
}
