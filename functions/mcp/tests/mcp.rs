//! The MCP endpoint driven in-process over HTTP (JSON-RPC POSTs through the axum router), against
//! a fresh PostgreSQL database per test.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use smart_todo_mcp::{McpSettings, router as router_with};
use smart_todo_shared::AppState;
use smart_todo_shared::config::{DatabaseConfig, PoolSettings};
use smart_todo_shared::test_support::{
    TestDb, auth_config, authenticator, send_request, token, user,
};
use tower::ServiceExt;

const ACCEPT: &str = "application/json, text/event-stream";
const LOOPBACK: &str = "127.0.0.1:8080";
const PROTOCOL: &str = "2025-06-18";

/// Every tool that takes a task id, with arguments naming `id` (for isolation and not-found checks).
fn id_calls(id: i64) -> Vec<(&'static str, Value)> {
    vec![
        ("get_task", json!({"task_id": id})),
        ("complete_task", json!({"task_id": id})),
        ("reopen_task", json!({"task_id": id})),
        ("update_task", json!({"task_id": id, "title": "Hijacked"})),
        ("delete_task", json!({"task_id": id})),
    ]
}

struct App {
    db: Option<TestDb>,
    router: Router,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// A `tools/call` answer: the result, or the JSON-RPC error.
struct Call {
    result: Value,
    error: Value,
}

impl Call {
    /// The result of a successful call, asserted not to be an error.
    #[track_caller]
    fn ok(&self) -> &Value {
        assert!(self.error.is_null(), "protocol error: {}", self.error);
        assert_eq!(self.result["isError"], false, "{}", self.result);
        &self.result
    }

    fn structured(&self) -> &Value {
        &self.ok()["structuredContent"]
    }

    /// The text of a tool-level failure (`isError: true`).
    #[track_caller]
    fn tool_error(&self, reason: &str) -> String {
        assert!(
            self.error.is_null(),
            "{reason}: protocol error {}",
            self.error
        );
        assert_eq!(self.result["isError"], true, "{reason}: {}", self.result);
        assert!(
            self.result.get("structuredContent").is_none(),
            "{reason}: {}",
            self.result
        );
        self.text()
    }

    /// Asserts a JSON-RPC `invalid_params` error.
    #[track_caller]
    fn invalid_params(&self, reason: &str) -> String {
        assert_eq!(self.error["code"], -32602, "{reason}: {}", self.result);
        self.error["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn text(&self) -> String {
        self.result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl App {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let state = AppState {
            pool: db.pool.clone(),
            auth: authenticator(),
            limits: Default::default(),
        };
        Self::with(Some(db), state, &McpSettings::parse(None))
    }

    fn with(db: Option<TestDb>, state: AppState, settings: &McpSettings) -> Self {
        let router = smart_todo_shared::http::api_app(router_with(state, settings));
        Self { db, router }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = send_request(&self.router, request).await;
        // rmcp answers some refusals in plain text: keep them readable.
        let body = serde_json::from_slice(&response.body).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&response.body).into_owned())
        });
        Reply {
            status: response.status,
            headers: response.headers,
            body,
        }
    }

    /// A POST as an MCP client sends it; `bearer` is the raw Authorization header value.
    fn post(host: &str, bearer: Option<&str>, body: impl Into<Body>) -> Request<Body> {
        let mut request = Request::post("/mcp")
            .header(header::HOST, host)
            .header(header::ACCEPT, ACCEPT)
            .header(header::CONTENT_TYPE, "application/json")
            .header("mcp-protocol-version", PROTOCOL);
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, bearer);
        }
        request.body(body.into()).unwrap()
    }

    /// One JSON-RPC request from `who`; asserts HTTP 200 with a JSON body and no session.
    async fn rpc(&self, who: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        let bearer = format!("Bearer {}", token(who));
        let reply = self
            .send(Self::post(LOOPBACK, Some(&bearer), body.to_string()))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.body);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert!(!reply.headers.contains_key("mcp-session-id"), "stateless");
        assert_eq!(reply.body["jsonrpc"], "2.0");
        assert_eq!(reply.body["id"], 7);
        reply.body
    }

    async fn call(&self, who: &str, tool: &str, arguments: Value) -> Call {
        let body = self
            .rpc(
                who,
                "tools/call",
                json!({"name": tool, "arguments": arguments}),
            )
            .await;
        Call {
            result: body["result"].clone(),
            error: body["error"].clone(),
        }
    }

    async fn add(&self, who: &str, title: &str) -> i64 {
        let call = self.call(who, "add_task", json!({"title": title})).await;
        call.structured()["task_id"].as_i64().unwrap()
    }

    /// Every row of the tasks table, to prove a failed call changed nothing.
    async fn rows(&self) -> Vec<String> {
        self.db.as_ref().expect("a database").task_rows().await
    }
}

#[tokio::test]
async fn initialize_negotiates_and_offers_tools_without_a_session() {
    let app = App::new().await;
    let body = app
        .rpc(
            "alice",
            "initialize",
            json!({
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}
            }),
        )
        .await;
    let result = &body["result"];
    assert_eq!(result["protocolVersion"], PROTOCOL);
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
    assert_eq!(result["serverInfo"]["name"], "smart-todo");
    assert!(
        result["instructions"]
            .as_str()
            .unwrap()
            .contains("list_tasks")
    );

    // The initialized notification is accepted and answered with no body.
    let bearer = format!("Bearer {}", token("alice"));
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = app
        .send(App::post(LOOPBACK, Some(&bearer), note.to_string()))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn tools_list_offers_the_catalog_with_schemas_and_annotations() {
    let app = App::new().await;
    let body = app.rpc("alice", "tools/list", json!({})).await;
    let tools = body["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "add_task",
            "add_tasks",
            "list_tasks",
            "list_lists",
            "get_task",
            "complete_task",
            "reopen_task",
            "update_task",
            "delete_task"
        ]
    );
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        let input = &tool["inputSchema"];
        assert_eq!(input["type"], "object", "{name}");
        assert!(
            !input.to_string().to_lowercase().contains("user"),
            "{name}: {input}"
        );
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        assert!(!tool["description"].as_str().unwrap().is_empty(), "{name}");
        assert!(tool["title"].is_string(), "{name}");
        let annotations = &tool["annotations"];
        assert_eq!(annotations["openWorldHint"], false, "{name}");
        let read_only = matches!(name, "list_tasks" | "list_lists" | "get_task");
        assert_eq!(annotations["readOnlyHint"], read_only, "{name}");
        assert_eq!(
            annotations["destructiveHint"],
            name == "delete_task",
            "{name}"
        );
        // complete_task moves a recurring task on each call: not idempotent.
        if name == "reopen_task" {
            assert_eq!(annotations["idempotentHint"], true, "{name}");
        }
        if name == "complete_task" {
            assert_eq!(annotations["idempotentHint"], false, "{name}");
        }
    }
    let list = &tools[2]["outputSchema"];
    assert!(list["properties"]["total"].is_object(), "{list}");
    assert!(list["properties"]["tasks"].is_object(), "{list}");
    let change = &tools[0]["outputSchema"];
    for field in ["task_id", "status", "title"] {
        assert!(change["properties"][field].is_object(), "{field}: {change}");
    }
}

#[tokio::test]
async fn add_task_creates_the_task_for_the_token_user() {
    let app = App::new().await;
    let call = app
        .call(
            "alice",
            "add_task",
            json!({"title": "  Buy milk ", "description": "semi-skimmed"}),
        )
        .await;
    let id = call.structured()["task_id"].as_i64().unwrap();
    assert_eq!(
        call.structured(),
        &json!({"task_id": id, "status": "created", "title": "Buy milk"})
    );
    assert_eq!(call.text(), format!("Created task {id}: Buy milk"));
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1);
    let row: Value = serde_json::from_str(&rows[0]).unwrap();
    assert_eq!(row["user_id"], "alice");
    assert_eq!(row["description"], "semi-skimmed");
}

#[tokio::test]
async fn add_task_with_an_empty_or_overlong_title_is_a_tool_error() {
    let app = App::new().await;
    for (title, reason) in [
        ("", "empty"),
        ("   ", "blank after trimming"),
        (&"x".repeat(201)[..], "201 characters"),
    ] {
        let call = app.call("alice", "add_task", json!({"title": title})).await;
        let text = call.tool_error(reason);
        assert!(text.contains("title"), "{reason}: {text}");
    }
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn malformed_arguments_are_invalid_params_and_change_nothing() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let before = app.rows().await;
    let cases = [
        ("add_task", json!({}), "title missing"),
        ("add_task", json!({"title": 5}), "title of the wrong type"),
        (
            "add_task",
            json!({"title": "x", "user_id": "bob"}),
            "a smuggled user id",
        ),
        ("list_tasks", json!({"status": "done"}), "unknown status"),
        ("get_task", json!({"task_id": "one"}), "id as a string"),
        ("complete_task", json!({}), "id missing"),
        (
            "delete_task",
            json!({"task_id": id, "user_id": "alice"}),
            "a user id beside the task id",
        ),
        (
            "update_task",
            json!({"task_id": id, "title": ["a"]}),
            "title as an array",
        ),
    ];
    for (tool, arguments, reason) in cases {
        let message = app
            .call("alice", tool, arguments)
            .await
            .invalid_params(reason);
        assert!(message.contains(tool), "{reason}: {message}");
    }
    assert_eq!(app.rows().await, before);
}

#[tokio::test]
async fn an_unknown_tool_is_invalid_params() {
    let app = App::new().await;
    let message = app
        .call("alice", "drop_tables", json!({}))
        .await
        .invalid_params("unknown tool");
    assert!(message.contains("drop_tables"), "{message}");
}

#[tokio::test]
async fn list_tasks_filters_by_status_and_renders_a_list() {
    let app = App::new().await;
    let milk = app.add("alice", "Buy milk").await;
    let mom = app.add("alice", "Call mom").await;
    app.call("alice", "complete_task", json!({"task_id": mom}))
        .await
        .ok();

    let all = app.call("alice", "list_tasks", json!({})).await;
    let tasks = all.structured()["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["id"], milk);
    assert_eq!(tasks[0]["completed"], false);
    assert_eq!(tasks[1]["completed"], true);
    assert_eq!(
        all.text(),
        format!("2 tasks:\n[ ] {milk}. Buy milk\n[x] {mom}. Call mom")
    );

    for (status, expected) in [
        ("all", vec![milk, mom]),
        ("pending", vec![milk]),
        ("completed", vec![mom]),
    ] {
        let call = app
            .call("alice", "list_tasks", json!({"status": status}))
            .await;
        let ids: Vec<i64> = call.structured()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "{status}");
    }

    // No arguments at all is the same as {}.
    let body = app
        .rpc("alice", "tools/call", json!({"name": "list_tasks"}))
        .await;
    assert_eq!(
        body["result"]["structuredContent"]["tasks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let empty = app.call("carol", "list_tasks", json!({})).await;
    assert_eq!(
        empty.structured(),
        &json!({"tasks": [], "next_cursor": null, "total": 0})
    );
    assert_eq!(empty.text(), "No tasks.");
}

#[tokio::test]
async fn get_task_shows_one_task_or_a_not_found_error() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let call = app.call("alice", "get_task", json!({"task_id": id})).await;
    let task = call.structured();
    assert_eq!(task["id"], id);
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["completed"], false);
    assert!(task["created_at"].is_string());
    assert_eq!(call.text(), format!("[ ] {id}. Buy milk (pending)"));

    for missing in [id + 1000, 0, -1] {
        let text = app
            .call("alice", "get_task", json!({"task_id": missing}))
            .await
            .tool_error("missing");
        assert_eq!(text, format!("task {missing} was not found"));
    }
}

#[tokio::test]
async fn complete_and_reopen_are_idempotent() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    for _ in 0..2 {
        let call = app
            .call("alice", "complete_task", json!({"task_id": id}))
            .await;
        assert_eq!(
            call.structured(),
            &json!({"task_id": id, "status": "completed", "title": "Buy milk"})
        );
        assert_eq!(call.text(), format!("Completed task {id}: Buy milk"));
    }
    let row: Value = serde_json::from_str(&app.rows().await[0]).unwrap();
    assert_eq!(row["completed"], true);
    for _ in 0..2 {
        let call = app
            .call("alice", "reopen_task", json!({"task_id": id}))
            .await;
        assert_eq!(
            call.structured(),
            &json!({"task_id": id, "status": "reopened", "title": "Buy milk"})
        );
    }
    let row: Value = serde_json::from_str(&app.rows().await[0]).unwrap();
    assert_eq!(row["completed"], false);

    for tool in ["complete_task", "reopen_task"] {
        let text = app
            .call("alice", tool, json!({"task_id": id + 1000}))
            .await
            .tool_error(tool);
        assert!(text.contains("not found"), "{tool}: {text}");
    }
}

#[tokio::test]
async fn update_task_changes_title_and_description_and_refuses_bad_input() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "title": "Buy oat milk", "description": "2 litres"}),
        )
        .await;
    assert_eq!(
        call.structured(),
        &json!({"task_id": id, "status": "updated", "title": "Buy oat milk"})
    );
    assert_eq!(call.text(), format!("Updated task {id}: Buy oat milk"));
    let before = app.rows().await;
    let row: Value = serde_json::from_str(&before[0]).unwrap();
    assert_eq!(row["description"], "2 litres");

    for (arguments, reason) in [
        (json!({"task_id": id, "title": ""}), "empty title"),
        (json!({"task_id": id}), "nothing to change"),
        (json!({"task_id": id + 1000, "title": "x"}), "missing task"),
    ] {
        app.call("alice", "update_task", arguments)
            .await
            .tool_error(reason);
    }
    assert_eq!(app.rows().await, before);
}

#[tokio::test]
async fn delete_task_deletes_once_then_is_not_found() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let call = app
        .call("alice", "delete_task", json!({"task_id": id}))
        .await;
    assert_eq!(
        call.structured(),
        &json!({"task_id": id, "status": "deleted", "title": "Buy milk"})
    );
    assert_eq!(call.text(), format!("Deleted task {id}: Buy milk"));
    assert!(app.rows().await.is_empty());
    let text = app
        .call("alice", "delete_task", json!({"task_id": id}))
        .await
        .tool_error("deleted twice");
    assert_eq!(text, format!("task {id} was not found"));
}

#[tokio::test]
async fn another_users_task_is_not_found_like_a_missing_one_and_stays_unchanged() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let missing = id + 1000;
    let before = app.rows().await;
    for ((tool, theirs), (_, nothing)) in id_calls(id).into_iter().zip(id_calls(missing)) {
        let text = app.call("bob", tool, theirs).await.tool_error(tool);
        let absent = app.call("bob", tool, nothing).await.tool_error(tool);
        assert_eq!(
            text.replace(&id.to_string(), "N"),
            absent.replace(&missing.to_string(), "N"),
            "{tool}: another user's task must look like a missing one"
        );
        assert_eq!(app.rows().await, before, "{tool} changed alice's task");
    }
    let bobs = app.call("bob", "list_tasks", json!({})).await;
    assert_eq!(
        bobs.structured(),
        &json!({"tasks": [], "next_cursor": null, "total": 0})
    );
    // Numbers are per user: bob's first task is his number 1 too, and acting on it changes his
    // task, never alice's.
    let bob_id = app.add("bob", "Walk the dog").await;
    assert_eq!((id, bob_id), (1, 1));
    let before = app.rows().await;
    app.call("bob", "complete_task", json!({"task_id": bob_id}))
        .await
        .structured();
    let alices = app.call("alice", "list_tasks", json!({})).await;
    let alices: Vec<(i64, String, bool)> = alices.structured()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().unwrap(),
                t["title"].as_str().unwrap().to_owned(),
                t["completed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(alices, [(1, "Buy milk".to_owned(), false)]);
    assert_ne!(app.rows().await, before, "bob's task is completed");
}

#[tokio::test]
async fn a_missing_or_bad_token_is_401_with_a_bearer_challenge() {
    let app = App::new().await;
    let wrong_key = smart_todo_shared::auth::mint_hs256(
        &auth_config(),
        &secrecy::SecretString::from("another-secret-0123456789abcdef0123456789"),
        &user("alice"),
        Duration::from_secs(600),
    )
    .unwrap();
    let add = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "add_task", "arguments": {"title": "Sneaky"}}});
    for (bearer, reason) in [
        (None, "no Authorization header".to_owned()),
        (Some("Bearer".to_owned()), "an empty bearer".to_owned()),
        (Some("Bearer not-a-jwt".to_owned()), "garbage".to_owned()),
        (
            Some(format!("Bearer {wrong_key}")),
            "signed with another key".to_owned(),
        ),
        (
            Some(format!("Basic {}", token("alice"))),
            "not a bearer scheme".to_owned(),
        ),
    ] {
        let reply = app
            .send(App::post(LOOPBACK, bearer.as_deref(), add.to_string()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{reason}: {}",
            reply.body
        );
        assert_eq!(
            reply.headers[header::WWW_AUTHENTICATE],
            "Bearer",
            "{reason}"
        );
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{reason}"
        );
        assert_eq!(reply.body["status"], 401, "{reason}");
    }
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn a_host_not_allowed_is_403_and_configured_hosts_are_accepted() {
    let app = App::new().await;
    let bearer = format!("Bearer {}", token("alice"));
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    for host in ["evil.example.com", "evil.example.com:8080", "127.0.0.2"] {
        let reply = app.send(App::post(host, Some(&bearer), list.clone())).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{host}: {}",
            reply.body
        );
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(reply.body["status"], 403);
    }
    for host in ["localhost:9000", "127.0.0.1", "[::1]:8080"] {
        let reply = app.send(App::post(host, Some(&bearer), list.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}: {}", reply.body);
    }

    let deployed = App::with(
        None,
        AppState {
            pool: app.db.as_ref().unwrap().pool.clone(),
            auth: authenticator(),
            limits: Default::default(),
        },
        &McpSettings::parse(Some("todo.example.com")),
    );
    let reply = deployed
        .send(App::post("todo.example.com", Some(&bearer), list.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = deployed
        .send(App::post("localhost", Some(&bearer), list.clone()))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "only the configured hosts"
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413() {
    let app = App::new().await;
    let bearer = format!("Bearer {}", token("alice"));
    let huge = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "add_task", "arguments": {"title": "x", "description": "d".repeat(70 * 1024)}}});
    let reply = app
        .send(App::post(LOOPBACK, Some(&bearer), huge.to_string()))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(app.rows().await.is_empty());
}

#[tokio::test]
async fn get_and_delete_are_405_because_the_server_is_stateless() {
    let app = App::new().await;
    let bearer = format!("Bearer {}", token("alice"));
    for method in [Method::GET, Method::DELETE] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/mcp")
            .header(header::HOST, LOOPBACK)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.headers[header::ALLOW], "POST", "{method}");
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn a_client_that_does_not_accept_both_media_types_is_refused() {
    let app = App::new().await;
    let bearer = format!("Bearer {}", token("alice"));
    let request = Request::post("/mcp")
        .header(header::HOST, LOOPBACK)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, &bearer)
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
        ))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_database_outage_is_a_tool_error_without_internals() {
    let config = DatabaseConfig {
        url: secrecy::SecretString::from(
            "postgres://postgres@127.0.0.1:9/x?sslmode=disable".to_owned(),
        ),
        ca_file: None,
        pool: PoolSettings {
            connect_timeout: Duration::from_millis(300),
            ..PoolSettings::LAMBDA
        },
    };
    let state = AppState {
        pool: smart_todo_shared::db::connect(&config).unwrap(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = App::with(None, state, &McpSettings::parse(None));
    let tools = app.rpc("alice", "tools/list", json!({})).await;
    assert_eq!(
        tools["result"]["tools"].as_array().unwrap().len(),
        smart_todo_shared::tools::Tool::ALL.len()
    );
    for (tool, arguments) in [
        ("add_task", json!({"title": "Buy milk"})),
        ("list_tasks", json!({})),
        ("delete_task", json!({"task_id": 1})),
    ] {
        let call = app.call("alice", tool, arguments).await;
        let text = call.tool_error(tool);
        assert!(text.contains("unavailable"), "{tool}: {text}");
        let everything = call.result.to_string();
        for secret in ["127.0.0.1", ":9", "postgres", "refused"] {
            assert!(
                !everything.contains(secret),
                "{tool} leaks {secret}: {everything}"
            );
        }
    }
}

#[tokio::test]
async fn an_api_gateway_event_for_mcp_reaches_the_tools() {
    // What API Gateway (HttpApi, payload 2.0) and `cargo lambda watch` hand the function: the
    // path is `/mcp` and the Host is the deployed domain, which MCP_ALLOWED_HOSTS must name.
    let app = App::new().await;
    let domain = "abc123.execute-api.eu-west-1.amazonaws.com";
    let deployed = App::with(
        None,
        AppState {
            pool: app.db.as_ref().unwrap().pool.clone(),
            auth: authenticator(),
            limits: Default::default(),
        },
        &McpSettings::parse(Some(domain)),
    );
    let rpc = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "add_task", "arguments": {"title": "From Lambda"}}});
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /mcp",
        "rawPath": "/mcp",
        "rawQueryString": "",
        "headers": {
            "accept": ACCEPT,
            "authorization": format!("Bearer {}", token("alice")),
            "content-type": "application/json",
            "host": domain,
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": domain,
            "domainPrefix": "abc123",
            "http": {"method": "POST", "path": "/mcp", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "req-1",
            "routeKey": "POST /mcp",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000u64
        },
        "body": rpc.to_string(),
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("a v2 event");
    let response = deployed.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["status"], "created",
        "{body}"
    );
    assert_eq!(body["result"]["structuredContent"]["title"], "From Lambda");
}

#[tokio::test]
async fn malformed_json_rpc_is_a_json_rpc_error_and_changes_nothing() {
    let app = App::new().await;
    app.add("alice", "keep me").await;
    let before = app.rows().await;
    let bearer = format!("Bearer {}", token("alice"));
    for (body, status, code, reason) in [
        ("{not json", 400, -32700, "invalid JSON is a parse error"),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
            400,
            -32600,
            "a batch",
        ),
        (
            r#"{"id":1,"method":"tools/list"}"#,
            400,
            -32600,
            "no jsonrpc",
        ),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
            400,
            -32600,
            "jsonrpc 1.0",
        ),
        (r#"{"jsonrpc":"2.0","id":1}"#, 400, -32600, "no method"),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            400,
            -32600,
            "a method that is not a string",
        ),
        ("42", 400, -32600, "not an object"),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{"title":"x"}}}"#,
            200,
            -32602,
            "tools/call without a name",
        ),
    ] {
        let reply = app.send(App::post(LOOPBACK, Some(&bearer), body)).await;
        assert_eq!(reply.status.as_u16(), status, "{reason}: {}", reply.body);
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/json",
            "{reason}"
        );
        assert_eq!(reply.body["jsonrpc"], "2.0", "{reason}");
        assert_eq!(
            reply.body["error"]["code"], code,
            "{reason}: {}",
            reply.body
        );
    }
    assert_eq!(app.rows().await, before, "nothing changed");
}

#[tokio::test]
async fn an_unacceptable_accept_header_is_a_406_problem() {
    let app = App::new().await;
    let bearer = format!("Bearer {}", token("alice"));
    let mut request = App::post(
        LOOPBACK,
        Some(&bearer),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    request
        .headers_mut()
        .insert(header::ACCEPT, "text/html".parse().unwrap());
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(reply.body["detail"].as_str().unwrap().contains("Accept"));
}

#[tokio::test]
async fn over_the_writes_limit_a_tool_says_when_to_try_again_and_changes_nothing() {
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: smart_todo_shared::config::Limits {
            writes_per_minute: 1,
            ..Default::default()
        },
    };
    let app = App::with(Some(db), state, &McpSettings::parse(None));
    smart_todo_shared::test_support::inside_one_minute().await;
    app.add("alice", "one").await;
    let before = app.rows().await;
    let call = app.call("alice", "add_task", json!({"title": "two"})).await;
    assert_eq!(call.result["isError"], true, "{}", call.result);
    let text = call.text();
    assert!(text.contains("try again in"), "{text}");
    assert_eq!(app.rows().await, before);
}

#[tokio::test]
async fn update_task_with_a_null_description_clears_it() {
    let app = App::new().await;
    let id = app.add("alice", "Buy milk").await;
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "description": "semi-skimmed"}),
        )
        .await;
    assert_ne!(call.result["isError"], true, "{}", call.result);
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "description": null}),
        )
        .await;
    assert_ne!(
        call.result["isError"], true,
        "null is allowed by the schema: {}",
        call.result
    );
    let task = app.call("alice", "get_task", json!({"task_id": id})).await;
    assert_eq!(task.structured()["description"], Value::Null);
    assert_eq!(task.structured()["title"], "Buy milk");
}
