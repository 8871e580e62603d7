//! HTTP plumbing every function shares: a JSON body extractor whose failures are problem+json,
//! query parsing, problem fallbacks for unknown routes and methods, and the standard layers.

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::auth::AuthUser;
use crate::error::{ApiError, FieldError};

/// Largest request body accepted by every endpoint.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body. Wrong content type → 415, too large → 413, not JSON → 400, JSON of the
/// wrong shape (wrong type, unknown or missing field) → 422 naming the field.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with 'Content-Type: application/json'".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::BadRequest(
                    "the request body could not be read (it was cut off or arrived too slowly)"
                        .into(),
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON request body that may be left out: an empty body (with or without a content type) is
/// `T::default()`; a body that is sent is read as [`JsonBody`] reads it.
#[derive(Debug, Clone)]
pub struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let typed = req.headers().get(CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        // Nothing, or a JSON null, is the default.
        if bytes.is_empty() || (is_json(typed.as_ref()) && bytes.trim_ascii() == b"null") {
            return Ok(Self(T::default()));
        }
        if !is_json(typed.as_ref()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with 'Content-Type: application/json', or none".into(),
            ));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(Ok(value)) = content_type.map(|v| v.to_str()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document into `T`, telling syntax errors (400) from shape errors (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let field = if path == "." || path.is_empty() {
                "body".to_owned()
            } else {
                path
            };
            ApiError::Validation(vec![FieldError::new(field, without_position(&inner))])
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {}", inner))
        }
    })?;
    deserializer.end().map_err(|_| {
        ApiError::BadRequest("the body has trailing characters after the JSON value".into())
    })?;
    Ok(value)
}

/// serde_json's message without its " at line 1 column 9" suffix.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Query-string parameters; a malformed query is a 400 problem.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                ApiError::BadRequest(format!("the query string is malformed: {}", e.body_text()))
            })
    }
}

/// Middleware for the Phase II `/api/{user_id}/…` routes: 403 unless the path's user is the
/// token's subject. Stores the verified user so handlers do not check the token again.
pub async fn require_path_user(
    AuthUser(user): AuthUser,
    axum::extract::Path(params): axum::extract::Path<std::collections::HashMap<String, String>>,
    mut request: Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if params.get("user_id").map(String::as_str) != Some(user.as_str()) {
        return Err(ApiError::Forbidden(
            "the user id in the path is not the signed-in user".into(),
        ));
    }
    request.extensions_mut().insert(AuthUser(user));
    Ok(next.run(request).await)
}

/// Fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// Fallback for a known path called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Wraps a function's routes with the problem fallbacks and the standard layers: a request id on
/// every request and response, request tracing, and tokens kept out of the logs.
pub fn api_app(routes: Router) -> Router {
    with_layers(
        routes
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed),
    )
}

/// The standard layers without the fallbacks (the CLI adds its own, serving the frontend).
pub fn with_layers(router: Router) -> Router {
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        // The span names the path, never the query string (a token sent as `?access_token=` must
        // not reach the log) nor any header.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &http::Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                // `ApiError` logs every 5xx once, with its cause; a second line per failure only
                // multiplies an outage's log volume.
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                ),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
        ]))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        count: Option<u8>,
    }

    fn status(result: Result<Body, ApiError>) -> u16 {
        result.unwrap_err().status().as_u16()
    }

    #[test]
    fn malformed_json_is_a_400_and_a_wrong_shape_a_422() {
        assert_eq!(status(parse_json(b"{\"title\":")), 400);
        assert_eq!(status(parse_json(b"{\"title\": 5}")), 422);
        assert_eq!(status(parse_json(b"{\"title\": \"a\", \"extra\": 1}")), 422);
        assert_eq!(status(parse_json(b"{}")), 422);
        assert_eq!(status(parse_json(b"{\"title\": \"a\"} trailing")), 400);
    }

    #[test]
    fn a_shape_error_names_the_field() {
        let ApiError::Validation(errors) =
            parse_json::<Body>(b"{\"title\": \"a\", \"count\": 300}").unwrap_err()
        else {
            panic!("expected a validation error")
        };
        assert_eq!(errors[0].field, "count");
        assert!(
            !errors[0].message.contains("line 1"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn json_content_types_are_recognised() {
        let ok = |v: &'static str| is_json(Some(&http::HeaderValue::from_static(v)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!is_json(None));
    }
}
