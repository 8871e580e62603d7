//! What `smart-todo serve` runs: the dev sign-in route and the frontend beside the APIs.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use smart_todo_cli::{AllowedHosts, DevSignIn, ServeOptions};
use smart_todo_shared::AppState;
use smart_todo_shared::test_support::{TEST_JWT_SECRET, TestDb, auth_config, authenticator, send};

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Vec<u8>) {
    let authorization = token.map(|t| format!("Bearer {t}"));
    let response = send(app, method, uri, authorization.as_deref(), body).await;
    (
        response.status,
        response.content_type().to_owned(),
        response.body.to_vec(),
    )
}

#[tokio::test]
async fn dev_sign_in_gives_a_token_the_api_accepts() {
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = smart_todo_cli::app(
        state,
        offline(),
        options(DevSignIn::Enabled(TEST_JWT_SECRET.into()), None),
    );

    let (status, _, body) = call(
        &app,
        Method::POST,
        "/dev/token",
        None,
        Some(json!({"user": "alice"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let token = body["token"].as_str().unwrap();
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/tasks",
        Some(token),
        Some(json!({"title": "from dev token"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    for bad in [
        json!({"user": ""}),
        json!({"user": "x".repeat(129)}),
        json!({"name": "alice"}),
    ] {
        let (status, content_type, _) =
            call(&app, Method::POST, "/dev/token", None, Some(bad.clone())).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn without_a_shared_secret_there_is_no_dev_sign_in() {
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = smart_todo_cli::app(
        state,
        offline(),
        options(DevSignIn::Disabled("not enabled"), None),
    );
    let (status, content_type, _) = call(
        &app,
        Method::POST,
        "/dev/token",
        None,
        Some(json!({"user": "alice"})),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
}

#[tokio::test]
async fn the_frontend_is_served_beside_the_api_and_unknown_api_paths_stay_json() {
    let dir = std::env::temp_dir().join(format!("frontend-{}", uuid_like()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Smart Todo</title>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log('hi')").unwrap();
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = smart_todo_cli::app(
        state,
        offline(),
        options(DevSignIn::Disabled("not enabled"), Some(&dir)),
    );

    let (status, content_type, body) = call(&app, Method::GET, "/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/html")
            && String::from_utf8_lossy(&body).contains("Smart Todo")
    );
    let (status, content_type, _) = call(&app, Method::GET, "/assets/app.js", None, None).await;
    assert!(
        status == StatusCode::OK && content_type.contains("javascript"),
        "{content_type}"
    );
    // A client-side route falls back to the app shell.
    let (status, _, body) = call(&app, Method::GET, "/tasks/42", None, None).await;
    assert!(status == StatusCode::OK && String::from_utf8_lossy(&body).contains("Smart Todo"));
    let (status, content_type, _) = call(&app, Method::GET, "/api/nope", None, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let (status, _, _) = call(&app, Method::GET, "/api/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    std::fs::remove_dir_all(&dir).ok();
}

static MCP: std::sync::LazyLock<smart_todo_mcp::McpSettings> =
    std::sync::LazyLock::new(|| smart_todo_mcp::McpSettings::parse(None));
static AUTH: std::sync::LazyLock<smart_todo_shared::config::AuthConfig> =
    std::sync::LazyLock::new(auth_config);

/// What `serve` mounts, as `scripts/dev` starts it (loopback names allowed).
fn options(dev_sign_in: DevSignIn, frontend_dir: Option<&std::path::Path>) -> ServeOptions<'_> {
    ServeOptions {
        mcp: &MCP,
        auth: &AUTH,
        dev_sign_in,
        allowed_hosts: AllowedHosts::parse(None),
        frontend_dir,
    }
}

#[tokio::test]
async fn every_route_refuses_a_foreign_host() {
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = smart_todo_cli::app(
        state,
        offline(),
        options(DevSignIn::Enabled(TEST_JWT_SECRET.into()), None),
    );
    let token = smart_todo_shared::test_support::bearer("alice");
    for (method, uri, body) in [
        (Method::POST, "/dev/token", json!({"user": "alice"})),
        (Method::GET, "/api/health", Value::Null),
        (Method::POST, "/api/tasks", json!({"title": "rebound"})),
        (Method::POST, "/api/chat", json!({"message": "add milk"})),
        (
            Method::POST,
            "/chatkit",
            json!({"type": "threads.list", "params": {}}),
        ),
        (
            Method::POST,
            "/mcp",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ),
    ] {
        for host in ["evil.example", "evil.example:8080"] {
            let mut request = axum::http::Request::builder()
                .method(method.clone())
                .uri(uri)
                .header("host", host)
                .header("authorization", token.as_str())
                .header("accept", "application/json, text/event-stream");
            let body = if body.is_null() {
                axum::body::Body::empty()
            } else {
                request = request.header("content-type", "application/json");
                axum::body::Body::from(body.to_string())
            };
            let response =
                smart_todo_shared::test_support::send_request(&app, request.body(body).unwrap())
                    .await;
            assert_eq!(
                (response.status, response.content_type()),
                (StatusCode::FORBIDDEN, "application/problem+json"),
                "{method} {uri} with Host {host}"
            );
        }
    }
    let client = db.raw_client().await;
    let rows = client.query("SELECT 1 FROM tasks", &[]).await.unwrap();
    assert!(rows.is_empty(), "nothing was written");
}

fn offline() -> std::sync::Arc<smart_todo_chat::agent::Model> {
    std::sync::Arc::new(smart_todo_chat::agent::Model::Offline(Default::default()))
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
