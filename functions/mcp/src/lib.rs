//! The `mcp` Lambda: the task tools over MCP Streamable HTTP at `POST /mcp`, stateless (no session
//! id), JSON responses. A bearer-auth layer verifies the token before rmcp sees the request and puts
//! the user into the request extensions, from where rmcp hands it to the tools.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any_service;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use smart_todo_shared::config::Sources;
use smart_todo_shared::http::MAX_BODY_BYTES;
use smart_todo_shared::{ApiError, AppState, AuthUser};

mod server;

pub use server::TaskToolServer;

/// Where the MCP endpoint is served (also under `cargo lambda watch`, which strips its prefix).
pub const MCP_PATH: &str = "/mcp";

/// Host names accepted when `MCP_ALLOWED_HOSTS` is unset: loopback only.
pub const DEFAULT_ALLOWED_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Settings of the MCP endpoint beyond the shared ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpSettings {
    /// `Host` header values accepted (`name` or `name:port`); empty accepts any host.
    pub allowed_hosts: Vec<String>,
}

impl McpSettings {
    /// Reads `MCP_ALLOWED_HOSTS` (comma-separated; `*` accepts any host; unset means loopback).
    pub fn from_sources(sources: &Sources) -> Self {
        Self::parse(sources.get("MCP_ALLOWED_HOSTS").as_deref())
    }

    /// Parses a `MCP_ALLOWED_HOSTS` value.
    pub fn parse(value: Option<&str>) -> Self {
        let hosts: Vec<String> = value
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|host| !host.is_empty())
            .map(str::to_owned)
            .collect();
        let allowed_hosts = if hosts.is_empty() {
            DEFAULT_ALLOWED_HOSTS.map(str::to_owned).to_vec()
        } else if hosts.iter().any(|host| host == "*") {
            Vec::new()
        } else {
            hosts
        };
        Self { allowed_hosts }
    }
}

/// The MCP endpoint: bearer auth, then rmcp's stateless Streamable HTTP transport.
pub fn router(state: AppState, settings: &McpSettings) -> Router {
    // An empty allow-list is rmcp's "any host".
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_sse_retry(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_allowed_hosts(settings.allowed_hosts.clone());
    let (pool, limits) = (state.pool.clone(), state.limits);
    let service = StreamableHttpService::new(
        move || Ok(TaskToolServer::new(pool.clone(), limits)),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let endpoint = any_service(service)
        .layer(middleware::from_fn(check_json_rpc))
        .layer(middleware::map_response(problem_for_transport_errors))
        .layer(middleware::from_fn_with_state(state, authenticate));
    Router::new().route(MCP_PATH, endpoint)
}

/// Verifies the bearer token (401 problem+json otherwise) and hands the user on to the tools.
async fn authenticate(user: AuthUser, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(user);
    next.run(request).await
}

/// A JSON-RPC error answered before rmcp sees the request: HTTP 400 and a JSON-RPC error body.
fn json_rpc_error(id: Value, code: i32, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    // A request that is well-formed JSON-RPC gets its error as an ordinary response.
    let status = if code == INVALID_PARAMS {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// JSON-RPC 2.0 error codes this endpoint answers itself.
const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;
const INVALID_PARAMS: i32 = -32602;

/// Checks a JSON POST is one well-formed JSON-RPC message before rmcp reads it: invalid JSON is a
/// parse error (-32700), a batch or a message without `jsonrpc: "2.0"` and a `method` (or a
/// response's `result`/`error`) is an invalid request (-32600), and `tools/call` without a tool
/// name is invalid params (-32602). Other requests (wrong content type, GET) go to rmcp as they are.
async fn check_json_rpc(request: Request, next: Next) -> Response {
    let is_json_post = request.method() == http::Method::POST
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
    if !is_json_post {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::PayloadTooLarge(MAX_BODY_BYTES).into_response();
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(err) => {
            return json_rpc_error(Value::Null, PARSE_ERROR, &format!("Parse error: {err}"));
        }
    };
    let Value::Object(fields) = &message else {
        let why = if message.is_array() {
            "Invalid Request: batches are not supported; send one JSON-RPC message per request"
        } else {
            "Invalid Request: a JSON-RPC message is a JSON object"
        };
        return json_rpc_error(Value::Null, INVALID_REQUEST, why);
    };
    let id = fields.get("id").cloned().unwrap_or(Value::Null);
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return json_rpc_error(
            id,
            INVALID_REQUEST,
            "Invalid Request: \"jsonrpc\" must be \"2.0\"",
        );
    }
    let is_response = fields.contains_key("result") || fields.contains_key("error");
    match fields.get("method") {
        Some(Value::String(method)) => {
            if method == "tools/call"
                && !fields
                    .get("params")
                    .and_then(|p| p.get("name"))
                    .is_some_and(Value::is_string)
            {
                return json_rpc_error(
                    id,
                    INVALID_PARAMS,
                    "Invalid params: tools/call needs params.name, the tool to call",
                );
            }
        }
        None if is_response => {}
        _ => {
            return json_rpc_error(
                id,
                INVALID_REQUEST,
                "Invalid Request: \"method\" must be a string",
            );
        }
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Longest plain-text error body of the transport worth reading into a problem's detail.
const TRANSPORT_ERROR_MAX_BYTES: usize = 4096;

/// rmcp answers transport-level failures (host not allowed, body too large, wrong method, wrong
/// content type, unacceptable `Accept`) in plain text; this turns them into the API's
/// problem+json. JSON-RPC bodies pass unchanged.
async fn problem_for_transport_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, TRANSPORT_ERROR_MAX_BYTES)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_owned();
    let problem = match status {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(detail),
        StatusCode::FORBIDDEN => ApiError::Forbidden(detail),
        StatusCode::NOT_FOUND => ApiError::NotFound(detail),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::NOT_ACCEPTABLE => ApiError::NotAcceptable(format!(
            "{detail}; send Accept: application/json, text/event-stream"
        )),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(detail),
        _ if status.is_server_error() => {
            ApiError::Internal(anyhow::anyhow!("MCP transport: {detail}"))
        }
        _ => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    let mut response = problem.into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        response.headers_mut().insert(header::ALLOW, allow.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_default_to_loopback_names() {
        assert_eq!(
            McpSettings::parse(None).allowed_hosts,
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(
            McpSettings::parse(Some(" , ")).allowed_hosts,
            ["localhost", "127.0.0.1", "::1"]
        );
    }

    #[test]
    fn allowed_hosts_are_a_trimmed_comma_separated_list() {
        assert_eq!(
            McpSettings::parse(Some(
                "todo.example.com, abc.execute-api.eu-west-1.amazonaws.com,"
            ))
            .allowed_hosts,
            [
                "todo.example.com",
                "abc.execute-api.eu-west-1.amazonaws.com"
            ]
        );
    }

    #[test]
    fn a_star_accepts_any_host() {
        assert!(McpSettings::parse(Some("*")).allowed_hosts.is_empty());
    }
}
