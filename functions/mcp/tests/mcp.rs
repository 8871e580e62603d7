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
            "find_task",
            "get_task",
            "complete_task",
            "reopen_task",
            "update_task",
            "delete_task",
            "change_tasks",
            "confirm_change",
            "restore_task",
            "activity",
            "undo_last_change"
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
        let read_only = matches!(
            name,
            "list_tasks" | "list_lists" | "find_task" | "get_task" | "activity"
        );
        assert_eq!(annotations["readOnlyHint"], read_only, "{name}");
        assert_eq!(
            annotations["destructiveHint"],
            name == "delete_task" || name == "confirm_change",
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

// ---------------------------------------------------------------------------------------------
// Organising: priority, lists, tags and due dates through the tools, each checked in the database.
// ---------------------------------------------------------------------------------------------

impl App {
    fn test_db(&self) -> &TestDb {
        self.db.as_ref().expect("a database")
    }

    /// How `who`'s task `id` is stored: its title, priority level, tags, list (by name, via
    /// `lists`; null for the Inbox), list id and due columns. Null when there is no such row.
    async fn stored(&self, who: &str, id: i64) -> Value {
        let client = self.test_db().raw_client().await;
        let rows = client
            .query(
                "SELECT row_to_json(r)::text FROM (SELECT t.title, t.priority, t.tags, \
                 l.name AS list, t.list_id, t.due_date::text AS due_date, \
                 to_char(t.due_time, 'HH24:MI') AS due_time, t.due_tz, t.due_rule, t.completed \
                 FROM tasks t LEFT JOIN lists l ON l.user_id = t.user_id AND l.id = t.list_id \
                 WHERE t.user_id = $1 AND t.id = $2) r",
                &[&who, &id],
            )
            .await
            .expect("a task row");
        rows.first().map_or(Value::Null, |row| {
            serde_json::from_str(row.get::<_, &str>(0)).unwrap()
        })
    }

    /// `who`'s lists as stored: `(id, name)` by id.
    async fn stored_lists(&self, who: &str) -> Vec<(i64, String)> {
        let client = self.test_db().raw_client().await;
        client
            .query(
                "SELECT id, name FROM lists WHERE user_id = $1 ORDER BY id",
                &[&who],
            )
            .await
            .expect("list rows")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// Every list row of every user, to prove a call created none.
    async fn all_lists(&self) -> Vec<String> {
        let client = self.test_db().raw_client().await;
        client
            .query(
                "SELECT row_to_json(l)::text FROM lists l ORDER BY user_id, id",
                &[],
            )
            .await
            .expect("list rows")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// The numbers of `who`'s tasks matching the SQL condition `condition` (on `tasks t`), in
    /// number order: what a filtered listing should hold, read from the table itself.
    async fn ids_where(&self, who: &str, condition: &str) -> Vec<i64> {
        let client = self.test_db().raw_client().await;
        client
            .query(
                &format!(
                    "SELECT t.id FROM tasks t WHERE t.user_id = $1 AND ({condition}) ORDER BY t.id"
                ),
                &[&who],
            )
            .await
            .expect("task ids")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Adds a task with `arguments`, asserting it was created; answers its number.
    async fn add_with(&self, who: &str, arguments: Value) -> i64 {
        let call = self.call(who, "add_task", arguments.clone()).await;
        let change = call.structured();
        assert_eq!(change["status"], "created", "{arguments}: {change}");
        change["task_id"].as_i64().unwrap()
    }

    /// A successful `list_tasks` call: its `(ids, total, next_cursor)`.
    async fn listing(&self, who: &str, arguments: Value) -> (Vec<i64>, i64, Option<String>) {
        let call = self.call(who, "list_tasks", arguments.clone()).await;
        let page = call.structured();
        let ids = page["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{arguments}: {page}"))
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        let total = page["total"].as_i64().unwrap();
        let cursor = page["next_cursor"].as_str().map(str::to_owned);
        (ids, total, cursor)
    }

    /// Every id of a listing read page by page through `next_cursor`, checking that each page
    /// holds at most `limit` tasks and reports the same `total`; answers the ids and the pages.
    async fn read_all_pages(
        &self,
        who: &str,
        mut arguments: Value,
        limit: i64,
        total: i64,
    ) -> (Vec<i64>, usize) {
        arguments["limit"] = json!(limit);
        let mut ids = Vec::new();
        let mut pages = 0;
        loop {
            let (page, page_total, cursor) = self.listing(who, arguments.clone()).await;
            pages += 1;
            assert!(pages <= 50, "the cursor never ends: {arguments}");
            assert!(page.len() as i64 <= limit, "{arguments}: {page:?}");
            assert_eq!(page_total, total, "total on page {pages}: {arguments}");
            ids.extend(page);
            match cursor {
                Some(cursor) => arguments["cursor"] = json!(cursor),
                None => break,
            }
        }
        (ids, pages)
    }
}

/// The ids of `(ids, total, cursor)`, asserting that it is one whole page (`total` = its length,
/// no cursor).
#[track_caller]
fn whole(listing: (Vec<i64>, i64, Option<String>), reason: &str) -> Vec<i64> {
    let (ids, total, cursor) = listing;
    assert_eq!(total, ids.len() as i64, "{reason}: total of {ids:?}");
    assert_eq!(cursor, None, "{reason}: one page");
    ids
}

#[tokio::test]
async fn add_task_stores_priority_list_tags_and_due() {
    let app = App::new().await;
    let call = app
        .call(
            "alice",
            "add_task",
            json!({
                "title": "Buy milk",
                "due": "2030-12-24 09:30",
                "priority": "high",
                "list": "  Shopping ",
                "tags": ["Errands", "#Dairy", "errands"]
            }),
        )
        .await;
    let id = call.structured()["task_id"].as_i64().unwrap();
    assert_eq!(
        call.structured(),
        &json!({
            "task_id": id,
            "status": "created",
            "title": "Buy milk",
            "due": "Tue 24 Dec 2030, 09:30",
            "priority": "high",
            "list": "Shopping",
            "tags": ["errands", "dairy"]
        })
    );
    assert_eq!(
        call.text(),
        format!(
            "Created task {id}: Buy milk (due Tue 24 Dec 2030, 09:30, high priority, on Shopping, \
             #errands, #dairy)"
        )
    );
    let lists = app.stored_lists("alice").await;
    assert_eq!(lists.len(), 1, "{lists:?}");
    let (shopping, name) = lists[0].clone();
    assert_eq!(name, "Shopping");
    assert_eq!(
        app.stored("alice", id).await,
        json!({
            "title": "Buy milk",
            "priority": 3,
            "tags": ["errands", "dairy"],
            "list": "Shopping",
            "list_id": shopping,
            "due_date": "2030-12-24",
            "due_time": "09:30",
            "due_tz": "UTC",
            "due_rule": null,
            "completed": false
        })
    );

    // The same list in another case is the same list, which keeps its first spelling; "inbox" is
    // no list at all; every priority has its level.
    let again = app
        .add_with(
            "alice",
            json!({"title": "Eggs", "list": "SHOPPING", "priority": "low"}),
        )
        .await;
    let inbox = app
        .add_with(
            "alice",
            json!({"title": "Think", "list": "inbox", "priority": "medium"}),
        )
        .await;
    let plain = app
        .call(
            "alice",
            "add_task",
            json!({"title": "Plain", "priority": "none", "tags": []}),
        )
        .await;
    assert_eq!(
        plain.structured(),
        &json!({"task_id": inbox + 1, "status": "created", "title": "Plain"}),
        "no priority, list or tags in the reply of a task without them"
    );
    assert_eq!(app.stored_lists("alice").await, lists, "no new list");
    let eggs = app.stored("alice", again).await;
    assert_eq!(
        (&eggs["priority"], &eggs["list_id"], &eggs["list"]),
        (&json!(1), &json!(shopping), &json!("Shopping"))
    );
    let think = app.stored("alice", inbox).await;
    assert_eq!(
        (&think["priority"], &think["list_id"], &think["tags"]),
        (&json!(2), &Value::Null, &json!([]))
    );
    let plain = app.stored("alice", inbox + 1).await;
    assert_eq!(
        (&plain["priority"], &plain["list_id"], &plain["due_date"]),
        (&json!(0), &Value::Null, &Value::Null)
    );

    // A recurring phrase stores its rule.
    let weekly = app
        .call(
            "alice",
            "add_task",
            json!({"title": "Standup", "due": "every monday at 9"}),
        )
        .await;
    let weekly_id = weekly.structured()["task_id"].as_i64().unwrap();
    let due = weekly.structured()["due"].as_str().unwrap();
    assert!(due.starts_with("Mon ") && due.contains("09:00"), "{due}");
    let stored = app.stored("alice", weekly_id).await;
    assert_eq!(stored["due_rule"], "FREQ=WEEKLY;BYDAY=MO", "{stored}");
    assert_eq!(stored["due_time"], "09:00", "{stored}");
}

#[tokio::test]
async fn add_task_with_a_bad_priority_list_tag_or_due_stores_nothing() {
    let app = App::new().await;
    app.add_with("alice", json!({"title": "keep", "list": "Work"}))
        .await;
    let (tasks, lists) = (app.rows().await, app.all_lists().await);
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    for (arguments, field) in [
        (json!({"title": "x", "tags": ["two words"]}), "tags"),
        (json!({"title": "x", "tags": ["a,b"]}), "tags"),
        (json!({"title": "x", "tags": [""]}), "tags"),
        (json!({"title": "x", "tags": ["x".repeat(33)]}), "tags"),
        (json!({"title": "x", "tags": eleven}), "tags"),
        (json!({"title": "x", "list": "   "}), "list"),
        (json!({"title": "x", "list": "l".repeat(51)}), "list"),
        (
            json!({"title": "x", "list": "New", "due": "when pigs fly"}),
            "due",
        ),
        (json!({"title": "", "list": "New", "tags": ["a"]}), "title"),
    ] {
        let text = app
            .call("alice", "add_task", arguments.clone())
            .await
            .tool_error(field);
        assert!(
            text.starts_with(&format!("invalid {field}")),
            "{arguments}: {text}"
        );
    }
    // A priority outside the enum is refused by the schema: invalid params.
    for priority in [json!("urgent"), json!(3), json!("HIGH")] {
        app.call(
            "alice",
            "add_task",
            json!({"title": "x", "priority": priority}),
        )
        .await
        .invalid_params("priority");
    }
    // Exactly 10 tags of 32 characters are fine: the limits are where they say.
    let ten: Vec<String> = (0..10).map(|i| format!("{i}{}", "x".repeat(31))).collect();
    assert_eq!(app.rows().await, tasks, "nothing was stored");
    assert_eq!(app.all_lists().await, lists, "no list was created");
    let id = app
        .add_with("alice", json!({"title": "ten", "tags": ten.clone()}))
        .await;
    assert_eq!(app.stored("alice", id).await["tags"], json!(ten));
}

#[tokio::test]
async fn update_task_null_clears_priority_list_and_tags_and_absent_keeps_them() {
    let app = App::new().await;
    let id = app
        .add_with(
            "alice",
            json!({"title": "Buy milk", "priority": "high", "list": "Shopping",
                   "tags": ["errands"], "due": "2030-12-24"}),
        )
        .await;
    let shopping = app.stored_lists("alice").await[0].0;
    let full = app.stored("alice", id).await;
    assert_eq!(full["priority"], 3);

    // Only the title given: the rest stays.
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "title": "Buy oat milk"}),
        )
        .await;
    assert_eq!(
        call.structured(),
        &json!({"task_id": id, "status": "updated", "title": "Buy oat milk",
                "due": "Tue 24 Dec 2030", "priority": "high", "list": "Shopping",
                "tags": ["errands"]})
    );
    let mut expected = full.clone();
    expected["title"] = json!("Buy oat milk");
    assert_eq!(app.stored("alice", id).await, expected);

    // priority: null is none; the list and tags stay.
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "priority": null}),
        )
        .await;
    assert!(
        call.structured().get("priority").is_none(),
        "{}",
        call.result
    );
    expected["priority"] = json!(0);
    assert_eq!(app.stored("alice", id).await, expected);

    // list: null is the Inbox; the list itself stays.
    let call = app
        .call("alice", "update_task", json!({"task_id": id, "list": null}))
        .await;
    assert!(call.structured().get("list").is_none(), "{}", call.result);
    expected["list"] = Value::Null;
    expected["list_id"] = Value::Null;
    assert_eq!(app.stored("alice", id).await, expected);
    assert_eq!(
        app.stored_lists("alice").await,
        [(shopping, "Shopping".to_owned())]
    );

    // tags: null removes them all.
    let call = app
        .call("alice", "update_task", json!({"task_id": id, "tags": null}))
        .await;
    assert!(call.structured().get("tags").is_none(), "{}", call.result);
    expected["tags"] = json!([]);
    assert_eq!(app.stored("alice", id).await, expected);

    // Set them all again, to a new list (created) and an existing one's other spelling.
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "priority": "low", "list": "Work", "tags": ["A", "b"]}),
        )
        .await;
    assert_eq!(call.structured()["list"], "Work");
    let lists = app.stored_lists("alice").await;
    assert_eq!(lists.len(), 2, "{lists:?}");
    let work = lists[1].0;
    expected["priority"] = json!(1);
    expected["list"] = json!("Work");
    expected["list_id"] = json!(work);
    expected["tags"] = json!(["a", "b"]);
    assert_eq!(app.stored("alice", id).await, expected);
    app.call(
        "alice",
        "update_task",
        json!({"task_id": id, "list": "shopping"}),
    )
    .await
    .ok();
    expected["list"] = json!("Shopping");
    expected["list_id"] = json!(shopping);
    assert_eq!(app.stored("alice", id).await, expected);

    // The other spellings of "nothing": "Inbox", [] and "none".
    let call = app
        .call(
            "alice",
            "update_task",
            json!({"task_id": id, "priority": "none", "list": "INBOX", "tags": []}),
        )
        .await;
    assert_eq!(
        call.structured(),
        &json!({"task_id": id, "status": "updated", "title": "Buy oat milk",
                "due": "Tue 24 Dec 2030"})
    );
    expected["priority"] = json!(0);
    expected["list"] = Value::Null;
    expected["list_id"] = Value::Null;
    expected["tags"] = json!([]);
    assert_eq!(app.stored("alice", id).await, expected);

    // due: null removes the date.
    app.call("alice", "update_task", json!({"task_id": id, "due": null}))
        .await
        .ok();
    let stored = app.stored("alice", id).await;
    assert_eq!(
        (&stored["due_date"], &stored["due_time"], &stored["due_tz"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );

    // A bad value changes nothing, and creates no list.
    let (tasks, lists) = (app.rows().await, app.all_lists().await);
    for (arguments, reason) in [
        (
            json!({"task_id": id, "tags": ["two words"], "list": "New"}),
            "a tag with a space",
        ),
        (
            json!({"task_id": id, "list": "", "priority": "high"}),
            "an empty list name",
        ),
        (
            json!({"task_id": id, "due": "when pigs fly", "list": "New"}),
            "a due phrase nobody understands",
        ),
        (
            json!({"task_id": id + 1000, "list": "New"}),
            "a missing task",
        ),
    ] {
        app.call("alice", "update_task", arguments)
            .await
            .tool_error(reason);
    }
    app.call(
        "alice",
        "update_task",
        json!({"task_id": id, "priority": "urgent"}),
    )
    .await
    .invalid_params("priority outside the enum");
    assert_eq!(app.rows().await, tasks);
    assert_eq!(app.all_lists().await, lists);
}

#[tokio::test]
async fn add_tasks_adds_each_good_item_and_reports_the_bad_one() {
    let app = App::new().await;
    let call = app
        .call(
            "alice",
            "add_tasks",
            json!({"tasks": [
                {"title": "Buy milk", "list": "Shopping", "tags": ["errands"]},
                {"title": "Call mom", "priority": "high"},
                {"title": "Bad one", "tags": ["two words"], "list": "Never"},
                {"title": "Pay rent", "due": "2030-12-24", "list": "shopping"}
            ]}),
        )
        .await;
    let results = call.structured()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 4, "{results:?}");
    let error = results[2]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("invalid tags") && error.contains("two words"),
        "{error}"
    );
    assert!(results[2].get("task").is_none(), "{}", results[2]);
    let mut ids = Vec::new();
    for (i, title) in [(0, "Buy milk"), (1, "Call mom"), (3, "Pay rent")] {
        let task = &results[i]["task"];
        assert_eq!(task["status"], "created", "{i}: {}", results[i]);
        assert_eq!(task["title"], title, "{i}");
        assert!(results[i].get("error").is_none(), "{i}: {}", results[i]);
        ids.push(task["task_id"].as_i64().unwrap());
    }
    assert_eq!(results[0]["task"]["list"], "Shopping");
    assert_eq!(results[1]["task"]["priority"], "high");
    assert_eq!(results[3]["task"]["list"], "Shopping");
    assert_eq!(
        call.text(),
        format!(
            "Created task {}: Buy milk (on Shopping, #errands)\n\
             Created task {}: Call mom (high priority)\n\
             Task 3 not added: {error}\n\
             Created task {}: Pay rent (due Tue 24 Dec 2030, on Shopping)",
            ids[0], ids[1], ids[2]
        )
    );

    // Three rows, the ones the results name, and only the list of the good items.
    assert_eq!(app.rows().await.len(), 3);
    assert_eq!(app.ids_where("alice", "true").await, ids);
    let lists = app.stored_lists("alice").await;
    assert_eq!(
        lists.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
        ["Shopping"]
    );
    let milk = app.stored("alice", ids[0]).await;
    assert_eq!(
        (&milk["list"], &milk["tags"], &milk["priority"]),
        (&json!("Shopping"), &json!(["errands"]), &json!(0))
    );
    let mom = app.stored("alice", ids[1]).await;
    assert_eq!(
        (&mom["list_id"], &mom["priority"]),
        (&Value::Null, &json!(3))
    );
    let rent = app.stored("alice", ids[2]).await;
    assert_eq!(
        (&rent["list_id"], &rent["due_date"]),
        (&json!(lists[0].0), &json!("2030-12-24"))
    );
}

#[tokio::test]
async fn add_tasks_with_26_or_no_items_is_refused_and_stores_nothing() {
    let app = App::new().await;
    let item = |i: usize| json!({"title": format!("Task {i}"), "list": format!("List {i}")});
    let too_many: Vec<Value> = (0..26).map(item).collect();
    let text = app
        .call("alice", "add_tasks", json!({"tasks": too_many}))
        .await
        .tool_error("26 tasks");
    assert!(
        text.starts_with("invalid tasks") && text.contains("26"),
        "{text}"
    );
    let text = app
        .call("alice", "add_tasks", json!({"tasks": []}))
        .await
        .tool_error("no tasks");
    assert!(text.starts_with("invalid tasks"), "{text}");
    assert!(app.rows().await.is_empty(), "no task stored");
    assert!(app.all_lists().await.is_empty(), "no list created");
    for (arguments, reason) in [
        (json!({}), "tasks missing"),
        (
            json!({"tasks": [{"title": "x", "user_id": "bob"}]}),
            "a smuggled user id",
        ),
        (json!({"tasks": "Buy milk"}), "tasks as a string"),
    ] {
        app.call("alice", "add_tasks", arguments)
            .await
            .invalid_params(reason);
    }
    assert!(app.rows().await.is_empty());

    // 25 is the most, and is fine.
    let most: Vec<Value> = (0..25).map(|i| json!({"title": format!("T{i}")})).collect();
    let call = app.call("alice", "add_tasks", json!({"tasks": most})).await;
    let results = call.structured()["results"].as_array().unwrap();
    assert_eq!(results.len(), 25);
    assert!(results.iter().all(|r| r["task"]["status"] == "created"));
    assert_eq!(app.rows().await.len(), 25);
}

#[tokio::test]
async fn list_tasks_pages_with_next_cursor_and_a_stable_total() {
    let app = App::new().await;
    let priorities = ["high", "low", "high", "none", "low"];
    for (i, priority) in priorities.into_iter().enumerate() {
        app.add_with(
            "alice",
            json!({"title": format!("Task {}", 5 - i), "priority": priority}),
        )
        .await;
    }
    let all = app.ids_where("alice", "true").await;
    assert_eq!(all.len(), 5);

    // limit 2: pages of 2, 2 and 1, each with the total 5, in number order, the last without a
    // cursor.
    let (first, total, cursor) = app.listing("alice", json!({"limit": 2})).await;
    assert_eq!((first.len(), total), (2, 5));
    let cursor = cursor.expect("more pages");
    let call = app.call("alice", "list_tasks", json!({"limit": 2})).await;
    assert!(
        call.text().starts_with(&format!(
            "5 tasks, showing 2 (more with the cursor {cursor}):"
        )),
        "{}",
        call.text()
    );
    let (second, total, cursor) = app
        .listing("alice", json!({"limit": 2, "cursor": cursor}))
        .await;
    assert_eq!((second.len(), total), (2, 5));
    let (third, total, cursor) = app
        .listing("alice", json!({"limit": 2, "cursor": cursor.unwrap()}))
        .await;
    assert_eq!((third.len(), total, cursor), (1, 5, None));
    let paged: Vec<i64> = [first, second, third].concat();
    assert_eq!(paged, all, "each task once, in number order");

    // Other sorts page the same way: each task exactly once, in the sort's order, total 5 on
    // every page.
    for arguments in [
        json!({"sort": "priority"}),
        json!({"sort": "priority", "order": "asc"}),
        json!({"sort": "title"}),
        json!({"sort": "title", "order": "desc"}),
        json!({"sort": "updated"}),
        json!({"sort": "created", "order": "desc"}),
        json!({"sort": "due"}),
    ] {
        let (ids, pages) = app.read_all_pages("alice", arguments.clone(), 2, 5).await;
        assert_eq!(pages, 3, "{arguments}");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, all, "{arguments}: each task once: {ids:?}");
        let (whole_listing, _, _) = app.listing("alice", arguments.clone()).await;
        assert_eq!(ids, whole_listing, "{arguments}: pages follow the listing");
    }
    let (by_priority, _, _) = app.listing("alice", json!({"sort": "priority"})).await;
    let client = app.test_db().raw_client().await;
    let levels: Vec<i16> = client
        .query(
            "SELECT priority FROM tasks WHERE user_id = 'alice' ORDER BY priority DESC",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut listed_levels = Vec::new();
    for id in &by_priority {
        listed_levels.push(app.stored("alice", *id).await["priority"].as_i64().unwrap() as i16);
    }
    assert_eq!(listed_levels, levels, "high first: {by_priority:?}");
    let (by_title, _, _) = app.listing("alice", json!({"sort": "title"})).await;
    assert_eq!(by_title, [5, 4, 3, 2, 1], "Task 1 … Task 5");

    // A search pages by relevance with the same guarantees.
    let (ids, pages) = app
        .read_all_pages("alice", json!({"q": "task"}), 1, 5)
        .await;
    assert_eq!(pages, 5);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, all, "{ids:?}");

    // The limit is 1 to 100.
    for limit in [0, 101, -1] {
        let text = app
            .call("alice", "list_tasks", json!({"limit": limit}))
            .await
            .tool_error("limit");
        assert!(text.contains("limit"), "{limit}: {text}");
    }
    let (ids, _, cursor) = app.listing("alice", json!({"limit": 100})).await;
    assert_eq!((ids.len(), cursor), (5, None));
}

#[tokio::test]
async fn list_tasks_filters_by_view_search_list_tag_and_priority() {
    let app = App::new().await;
    let brulee = app
        .add_with(
            "alice",
            json!({"title": "Crème brûlée recipe", "list": "Cooking", "tags": ["dessert"],
                   "priority": "low"}),
        )
        .await;
    let dentist = app
        .add_with(
            "alice",
            json!({"title": "Dentist appointment", "due": "2030-12-24", "priority": "high",
                   "tags": ["health"]}),
        )
        .await;
    let fraiche = app
        .add_with(
            "alice",
            json!({"title": "Buy creme fraiche", "list": "Shopping",
                   "tags": ["errands", "dessert"]}),
        )
        .await;
    let mom = app
        .add_with(
            "alice",
            json!({"title": "Call mom", "due": "tomorrow", "priority": "high",
                   "description": "about the CRÈME"}),
        )
        .await;
    let old = app.add_with("alice", json!({"title": "Old creme"})).await;
    app.call("alice", "complete_task", json!({"task_id": old}))
        .await
        .ok();

    // Views: pending unless told otherwise, compared with what the table holds.
    let no_date = app
        .ids_where("alice", "t.due_date IS NULL AND NOT t.completed")
        .await;
    assert_eq!(no_date, [brulee, fraiche]);
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "no_date"})).await,
            "no_date"
        ),
        no_date
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "no_date", "status": "all"}))
                .await,
            "no_date, all"
        ),
        app.ids_where("alice", "t.due_date IS NULL").await
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "no_date", "status": "completed"}))
                .await,
            "no_date, completed"
        ),
        [old]
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "upcoming"})).await,
            "upcoming"
        ),
        [mom]
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "today"})).await,
            "today"
        ),
        Vec::<i64>::new()
    );
    assert_eq!(
        whole(app.listing("alice", json!({"view": "all"})).await, "all").len(),
        5,
        "all: every task, completed too"
    );

    // Search: word starts, case and accents ignored, titles and descriptions, completed ones too
    // without a view.
    let cremes = [brulee, fraiche, mom, old];
    for q in ["creme", "CRÈME", "crem", "Crème"] {
        let mut ids = whole(app.listing("alice", json!({"q": q})).await, q);
        ids.sort();
        assert_eq!(ids, cremes, "{q}");
    }
    for (q, expected) in [
        ("brulee", vec![brulee]),
        ("brû", vec![brulee]),
        ("RECIPE crème", vec![brulee]),
        ("dent app", vec![dentist]),
        ("reme", vec![]),
        ("rulée", vec![]),
        ("!!!", vec![]),
    ] {
        assert_eq!(
            whole(app.listing("alice", json!({"q": q})).await, q),
            expected,
            "{q}"
        );
    }
    // The best match first: a title match outranks a description match.
    let (ranked, _, _) = app.listing("alice", json!({"q": "creme"})).await;
    assert_eq!(ranked.len(), 4, "{ranked:?}");
    assert_eq!(
        ranked.last(),
        Some(&mom),
        "the description match last: {ranked:?}"
    );

    // The due sort pages through dated and undated tasks alike, the undated last.
    for order in ["asc", "desc"] {
        let arguments = json!({"sort": "due", "order": order});
        let (ids, pages) = app.read_all_pages("alice", arguments.clone(), 2, 5).await;
        assert_eq!(pages, 3, "{order}");
        let (listed, _, _) = app.listing("alice", arguments).await;
        assert_eq!(ids, listed, "{order}");
        let dated = if order == "asc" { &ids[..2] } else { &ids[3..] };
        let mut dated = dated.to_vec();
        dated.sort();
        assert_eq!(dated, [dentist, mom], "{order}: {ids:?}");
    }
    let (soonest, _, _) = app
        .listing("alice", json!({"sort": "due", "limit": 1}))
        .await;
    assert_eq!(soonest, [mom], "tomorrow before 2030");

    // Lists by name in any case; the Inbox is the tasks on no list; a list filter creates none.
    let lists_before = app.all_lists().await;
    for (list, expected) in [
        ("Cooking", vec![brulee]),
        ("cooking", vec![brulee]),
        ("SHOPPING", vec![fraiche]),
        ("Inbox", app.ids_where("alice", "t.list_id IS NULL").await),
        ("Nowhere", vec![]),
    ] {
        assert_eq!(
            whole(app.listing("alice", json!({"list": list})).await, list),
            expected,
            "{list}"
        );
    }
    assert_eq!(
        app.all_lists().await,
        lists_before,
        "a filter creates no list"
    );

    // Tags, with or without '#', in any case.
    let desserts = app.ids_where("alice", "'dessert' = ANY (t.tags)").await;
    assert_eq!(desserts, [brulee, fraiche]);
    for tag in ["dessert", "#Dessert", "DESSERT"] {
        assert_eq!(
            whole(app.listing("alice", json!({"tag": tag})).await, tag),
            desserts,
            "{tag}"
        );
    }
    assert_eq!(
        whole(
            app.listing("alice", json!({"tag": "dess"})).await,
            "a tag prefix"
        ),
        Vec::<i64>::new(),
        "a tag matches whole"
    );

    // Priority.
    for (priority, level) in [("high", 3), ("low", 1), ("none", 0), ("medium", 2)] {
        assert_eq!(
            whole(
                app.listing("alice", json!({"priority": priority})).await,
                priority
            ),
            app.ids_where("alice", &format!("t.priority = {level}"))
                .await,
            "{priority}"
        );
    }

    // Filters narrow together.
    assert_eq!(
        whole(
            app.listing(
                "alice",
                json!({"q": "creme", "tag": "dessert", "list": "shopping"})
            )
            .await,
            "q + tag + list"
        ),
        [fraiche]
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "upcoming", "priority": "low"}))
                .await,
            "upcoming + low"
        ),
        Vec::<i64>::new()
    );

    // The listed tasks carry their organisation.
    let call = app
        .call("alice", "list_tasks", json!({"list": "Cooking"}))
        .await;
    let task = &call.structured()["tasks"][0];
    assert_eq!(
        (&task["list"], &task["priority"], &task["tags"]),
        (&json!("Cooking"), &json!("low"), &json!(["dessert"]))
    );
    assert_eq!(
        call.text(),
        format!("1 task:\n[ ] {brulee}. Crème brûlée recipe (low priority, on Cooking, #dessert)")
    );
    let call = app
        .call(
            "alice",
            "list_tasks",
            json!({"priority": "none", "status": "pending"}),
        )
        .await;
    assert_eq!(call.structured()["tasks"][0]["list"], "Shopping");

    // Bad filter values are refused.
    for (arguments, field) in [
        (json!({"tag": "two words"}), "tag"),
        (json!({"list": " "}), "list"),
        (json!({"sort": "relevance"}), "sort"),
    ] {
        let text = app
            .call("alice", "list_tasks", arguments.clone())
            .await
            .tool_error(field);
        assert!(
            text.starts_with(&format!("invalid {field}")),
            "{arguments}: {text}"
        );
    }
    for arguments in [
        json!({"view": "tomorrow"}),
        json!({"priority": "urgent"}),
        json!({"sort": "id"}),
        json!({"order": "up"}),
    ] {
        app.call("alice", "list_tasks", arguments)
            .await
            .invalid_params("an unknown enum value");
    }
}

#[tokio::test]
async fn a_cursor_from_another_listing_is_a_tool_error() {
    let app = App::new().await;
    for title in ["a", "b", "c"] {
        app.add_with("alice", json!({"title": title, "priority": "high"}))
            .await;
    }
    let (_, _, cursor) = app.listing("alice", json!({"limit": 1})).await;
    let cursor = cursor.expect("a cursor");
    let (_, _, by_title) = app
        .listing("alice", json!({"limit": 1, "sort": "title"}))
        .await;
    let by_title = by_title.expect("a cursor");
    let before = app.rows().await;
    for (arguments, reason) in [
        (
            json!({"limit": 1, "cursor": cursor, "sort": "title"}),
            "another sort",
        ),
        (
            json!({"limit": 1, "cursor": cursor, "sort": "priority"}),
            "another sort",
        ),
        (
            json!({"limit": 1, "cursor": cursor, "order": "desc"}),
            "another order",
        ),
        (
            json!({"limit": 1, "cursor": cursor, "priority": "high"}),
            "another filter",
        ),
        (
            json!({"limit": 1, "cursor": cursor, "status": "pending"}),
            "another status",
        ),
        (json!({"limit": 1, "cursor": cursor, "q": "a"}), "a search"),
        (
            json!({"limit": 1, "cursor": by_title}),
            "a title cursor for the created sort",
        ),
        (json!({"limit": 1, "cursor": "not-a-cursor"}), "garbage"),
    ] {
        let text = app
            .call("alice", "list_tasks", arguments.clone())
            .await
            .tool_error(reason);
        assert!(text.starts_with("invalid cursor"), "{reason}: {text}");
    }
    assert_eq!(app.rows().await, before);
    // The same listing continues; another page size is the same listing.
    let (ids, total, _) = app
        .listing("alice", json!({"limit": 1, "cursor": cursor}))
        .await;
    assert_eq!((ids, total), (vec![2], 3));
    let (ids, total, next) = app
        .listing("alice", json!({"limit": 5, "cursor": cursor}))
        .await;
    assert_eq!((ids, total, next), (vec![2, 3], 3, None));
    let (ids, _, _) = app
        .listing(
            "alice",
            json!({"limit": 1, "sort": "title", "cursor": by_title}),
        )
        .await;
    assert_eq!(ids, [2]);
}

#[tokio::test]
async fn list_lists_counts_pending_and_total_per_list() {
    let app = App::new().await;
    let empty = app.call("alice", "list_lists", json!({})).await;
    assert_eq!(
        empty.structured(),
        &json!({"lists": [{"id": 0, "name": "Inbox", "pending": 0, "total": 0}]})
    );
    assert_eq!(empty.text(), "Lists:\nInbox (0 pending of 0)");

    let inbox_done = app.add_with("alice", json!({"title": "i1"})).await;
    app.add_with("alice", json!({"title": "i2"})).await;
    let work_done = app
        .add_with("alice", json!({"title": "w1", "list": "Work"}))
        .await;
    app.add_with("alice", json!({"title": "w2", "list": "work"}))
        .await;
    app.add_with("alice", json!({"title": "w3", "list": "Work"}))
        .await;
    app.add_with("alice", json!({"title": "a1", "list": "apples"}))
        .await;
    let moved = app
        .add_with("alice", json!({"title": "e1", "list": "Errands"}))
        .await;
    app.call(
        "alice",
        "update_task",
        json!({"task_id": moved, "list": "Work"}),
    )
    .await
    .ok();
    for id in [inbox_done, work_done] {
        app.call("alice", "complete_task", json!({"task_id": id}))
            .await
            .ok();
    }
    let stored = app.stored_lists("alice").await;
    let id_of = |name: &str| stored.iter().find(|l| l.1 == name).unwrap().0;
    let call = app.call("alice", "list_lists", json!({})).await;
    assert_eq!(
        call.structured(),
        &json!({"lists": [
            {"id": 0, "name": "Inbox", "pending": 1, "total": 2},
            {"id": id_of("apples"), "name": "apples", "pending": 1, "total": 1},
            {"id": id_of("Errands"), "name": "Errands", "pending": 0, "total": 0},
            {"id": id_of("Work"), "name": "Work", "pending": 3, "total": 4},
        ]})
    );
    assert_eq!(
        call.text(),
        "Lists:\nInbox (1 pending of 2)\napples (1 pending of 1)\nErrands (0 pending of 0)\n\
         Work (3 pending of 4)"
    );
    // The counts are the table's.
    let client = app.test_db().raw_client().await;
    for list in call.structured()["lists"].as_array().unwrap() {
        let condition = match list["id"].as_i64().unwrap() {
            0 => "list_id IS NULL".to_owned(),
            id => format!("list_id = {id}"),
        };
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE NOT completed), count(*) FROM tasks \
                     WHERE user_id = 'alice' AND {condition}"
                ),
                &[],
            )
            .await
            .unwrap();
        let (pending, total): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(
            (
                list["pending"].as_i64().unwrap(),
                list["total"].as_i64().unwrap()
            ),
            (pending, total),
            "{list}"
        );
    }
    // list_lists takes no arguments.
    app.call("alice", "list_lists", json!({"name": "Work"}))
        .await
        .invalid_params("an argument");
}

#[tokio::test]
async fn bob_never_sees_alices_tasks_or_lists() {
    let app = App::new().await;
    let secret = app
        .add_with(
            "alice",
            json!({"title": "Secret plan", "list": "Secret", "tags": ["private"],
                   "priority": "high", "due": "tomorrow"}),
        )
        .await;
    app.add_with("alice", json!({"title": "Inbox plan"})).await;
    let bobs = app.add_with("bob", json!({"title": "Walk the dog"})).await;
    let lists_before = app.all_lists().await;

    for arguments in [
        json!({}),
        json!({"status": "all"}),
        json!({"view": "upcoming"}),
        json!({"list": "Secret"}),
        json!({"list": "secret"}),
        json!({"tag": "private"}),
        json!({"q": "secret plan"}),
        json!({"priority": "high"}),
        json!({"sort": "title", "limit": 1}),
    ] {
        let (ids, total, _) = app.listing("bob", arguments.clone()).await;
        assert!(
            ids.iter().all(|id| *id == bobs) && total <= 1,
            "{arguments}: {ids:?} of {total}"
        );
        let call = app.call("bob", "list_tasks", arguments.clone()).await;
        assert!(
            !call.result.to_string().contains("plan")
                && !call.result.to_string().contains("Secret"),
            "{arguments}: {}",
            call.result
        );
    }
    assert_eq!(
        whole(
            app.listing("bob", json!({"list": "Secret"})).await,
            "alice's list"
        ),
        Vec::<i64>::new()
    );
    assert_eq!(
        app.all_lists().await,
        lists_before,
        "bob's filter created no list"
    );

    // bob's lists are his Inbox only; alice's are hers.
    let call = app.call("bob", "list_lists", json!({})).await;
    assert_eq!(
        call.structured(),
        &json!({"lists": [{"id": 0, "name": "Inbox", "pending": 1, "total": 1}]})
    );
    let alices = app.call("alice", "list_lists", json!({})).await;
    let alice_secret = app.stored_lists("alice").await[0].0;
    assert_eq!(
        alices.structured(),
        &json!({"lists": [
            {"id": 0, "name": "Inbox", "pending": 1, "total": 1},
            {"id": alice_secret, "name": "Secret", "pending": 1, "total": 1}
        ]})
    );

    // A cursor of alice's continues bob's own listing only.
    let (_, _, cursor) = app.listing("alice", json!({"limit": 1})).await;
    let (ids, total, _) = app
        .listing("bob", json!({"limit": 1, "cursor": cursor.unwrap()}))
        .await;
    assert!(ids.iter().all(|id| *id == bobs) && total == 1, "{ids:?}");

    // bob moving a number of alice's that he does not have to a list: not found, and no list.
    let (alices_only, _, _) = app.listing("alice", json!({"list": "Inbox"})).await;
    let theirs = alices_only[0];
    assert_eq!(
        app.stored("bob", theirs).await,
        Value::Null,
        "bob has no task {theirs}"
    );
    let alices_row = app.stored("alice", theirs).await;
    app.call(
        "bob",
        "update_task",
        json!({"task_id": theirs, "list": "Hijack"}),
    )
    .await
    .tool_error("someone else's task");
    assert_eq!(
        app.all_lists().await,
        lists_before,
        "no list for a missing task"
    );
    assert_eq!(app.stored("alice", theirs).await, alices_row);

    // bob's own list of the same name is his, apart from alice's.
    app.add_with("bob", json!({"title": "Bob's secret", "list": "Secret"}))
        .await;
    let bob_lists = app.stored_lists("bob").await;
    assert_eq!(bob_lists.len(), 1);
    assert_ne!(bob_lists[0].0, alice_secret);
    let call = app.call("bob", "list_lists", json!({})).await;
    assert_eq!(
        call.structured()["lists"][1],
        json!({"id": bob_lists[0].0, "name": "Secret", "pending": 1, "total": 1})
    );
    assert_eq!(
        app.call("alice", "list_lists", json!({}))
            .await
            .structured(),
        alices.structured()
    );
    let (ids, _, _) = app.listing("bob", json!({"list": "Secret"})).await;
    assert_eq!(ids, [bobs + 1]);
    let (ids, _, _) = app.listing("alice", json!({"list": "Secret"})).await;
    assert_eq!(ids, [secret]);
    assert_eq!(app.stored("alice", secret).await["list_id"], alice_secret);
}

#[tokio::test]
async fn due_phrases_and_views_are_read_in_the_users_zone() {
    let app = App::new().await;
    // Kiritimati is UTC+14: its today is often UTC's tomorrow.
    let zone = "Pacific/Kiritimati";
    app.add("alice", "first").await;
    let client = app.test_db().raw_client().await;
    client
        .execute(
            "UPDATE users SET timezone = $1 WHERE user_id = 'alice'",
            &[&zone],
        )
        .await
        .unwrap();
    let today = app
        .add_with("alice", json!({"title": "today", "due": "today"}))
        .await;
    let tomorrow = app
        .add_with("alice", json!({"title": "tomorrow", "due": "tomorrow 5pm"}))
        .await;
    let late = app
        .add_with("alice", json!({"title": "late", "due": "2030-01-01"}))
        .await;
    // Two days ago in that zone (a phrase cannot say it): overdue, and so in today's view too.
    client
        .execute(
            "UPDATE tasks SET due_date = smart_todo_today($1) - 2, due_tz = $1 \
             WHERE user_id = 'alice' AND id = $2",
            &[&zone, &late],
        )
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT smart_todo_today($1)::text, (smart_todo_today($1) + 1)::text",
            &[&zone],
        )
        .await
        .unwrap();
    let (local_today, local_tomorrow): (String, String) = (row.get(0), row.get(1));
    let stored = app.stored("alice", today).await;
    assert_eq!(
        (&stored["due_date"], &stored["due_tz"], &stored["due_time"]),
        (&json!(local_today), &json!(zone), &Value::Null)
    );
    let stored = app.stored("alice", tomorrow).await;
    assert_eq!(
        (&stored["due_date"], &stored["due_tz"], &stored["due_time"]),
        (&json!(local_tomorrow), &json!(zone), &json!("17:00"))
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "today"})).await,
            "today"
        ),
        [late, today],
        "the overdue one and today's, in due order"
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "overdue"})).await,
            "overdue"
        ),
        [late]
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "upcoming"})).await,
            "upcoming"
        ),
        [tomorrow]
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "no_date"})).await,
            "no_date"
        ),
        [1]
    );
    // A completed task leaves the dated views, unless asked for.
    app.call("alice", "complete_task", json!({"task_id": late}))
        .await
        .ok();
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "overdue"})).await,
            "overdue"
        ),
        Vec::<i64>::new()
    );
    assert_eq!(
        whole(
            app.listing("alice", json!({"view": "overdue", "status": "completed"}))
                .await,
            "overdue, completed"
        ),
        [late]
    );
}

/// Product bug (see the report): `q` in decomposed form (NFD: "cre" + U+0300 + "me"), as some
/// keyboards and pasted text send it, is split at the combining mark and finds nothing.
#[tokio::test]
async fn a_search_in_decomposed_form_matches_like_the_composed_one() {
    let app = App::new().await;
    let id = app
        .add_with("alice", json!({"title": "Crème brûlée"}))
        .await;
    assert_eq!(
        whole(
            app.listing("alice", json!({"q": "crème"})).await,
            "composed"
        ),
        [id]
    );
    for q in ["cre\u{0300}me", "bru\u{0302}le\u{0301}e"] {
        assert_eq!(
            whole(app.listing("alice", json!({"q": q})).await, q),
            [id],
            "{q:?}"
        );
    }
}

/// Product bug (see the report): over MCP (no transaction) an add_tasks item that reaches the
/// 200-lists limit fails the whole call as an error although the items before it were stored.
#[tokio::test]
async fn add_tasks_reaching_the_list_limit_reports_what_it_stored() {
    let app = App::new().await;
    let client = app.test_db().raw_client().await;
    client
        .batch_execute(
            "INSERT INTO lists (user_id, name) SELECT 'alice', 'L' || g FROM generate_series(1, 200) g",
        )
        .await
        .unwrap();
    let call = app
        .call(
            "alice",
            "add_tasks",
            json!({"tasks": [
                {"title": "first"},
                {"title": "second", "list": "Brand new"},
                {"title": "third"}
            ]}),
        )
        .await;
    let stored = app.rows().await.len();
    if call.result["isError"] == true {
        assert_eq!(
            stored, 0,
            "an error reply, yet tasks were stored: {}",
            call.result
        );
    } else {
        // The documented contract: one result per item, the refused one says why.
        let results = call.structured()["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 3, "{results:?}");
        assert!(
            results[1]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("200"),
            "{results:?}"
        );
        let created = results.iter().filter(|r| r.get("task").is_some()).count();
        assert_eq!(created, 2, "{results:?}");
        assert_eq!(stored, created, "the rows are the results");
    }
}

/// MCP changes are history with source `mcp`; an MCP client reads it with `activity` and takes a
/// change back with `undo_last_change` or `restore_task` — one user's only.
#[tokio::test]
async fn mcp_changes_are_history_an_mcp_client_can_read_and_undo() {
    let app = App::new().await;
    app.call("alice", "add_task", json!({"title": "Buy milk"}))
        .await
        .ok();
    app.call(
        "alice",
        "update_task",
        json!({"task_id": 1, "title": "Buy oat milk"}),
    )
    .await
    .ok();
    let history = app.call("alice", "activity", json!({})).await;
    let events = history.structured()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["source"] == "mcp"), "{events:?}");
    assert_eq!(events[0]["kind"], "updated");
    assert!(history.text().contains("via mcp"), "{}", history.text());

    let undone = app.call("alice", "undo_last_change", json!({})).await;
    assert_eq!(undone.structured()["undone"][0]["kind"], "updated");
    let task = app.call("alice", "get_task", json!({"task_id": 1})).await;
    assert_eq!(task.structured()["title"], "Buy milk");

    app.call("alice", "delete_task", json!({"task_id": 1}))
        .await
        .ok();
    let back = app
        .call("alice", "restore_task", json!({"task_id": 1}))
        .await;
    assert_eq!(back.structured()["status"], "restored");
    assert_eq!(back.structured()["task_id"], 1);

    // Bob: no history, nothing to undo, and alice's task is not his to restore.
    let bob = app.call("bob", "activity", json!({})).await;
    assert_eq!(bob.structured()["events"], json!([]));
    let refused = app.call("bob", "undo_last_change", json!({})).await;
    assert!(refused.tool_error("bob's undo").contains("nothing to undo"));
    app.call("alice", "delete_task", json!({"task_id": 1}))
        .await
        .ok();
    let refused = app.call("bob", "restore_task", json!({"task_id": 1})).await;
    assert!(
        refused
            .tool_error("bob's restore")
            .contains("not in the trash")
    );
    let refused = app.call("alice", "activity", json!({"limit": 0})).await;
    assert!(refused.tool_error("limit 0").contains("limit"));
    let stored: i64 = app
        .test_db()
        .conn()
        .await
        .query_one(
            "SELECT count(*) FROM task_events WHERE user_id = 'bob'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
}

/// `find_task` over MCP: matches by the words (every word in the title), closest when none
/// match, one user's tasks only, and empty words are a tool error.
#[tokio::test]
async fn find_task_names_the_candidates() {
    let app = App::new().await;
    for title in [
        "50% off coupon",
        "500 offers",
        "Team meeting",
        "Meeting_notes",
    ] {
        app.call("alice", "add_task", json!({"title": title}))
            .await
            .ok();
    }
    app.call("bob", "add_task", json!({"title": "Bob's meeting"}))
        .await
        .ok();
    let ids = |call: &Call, key: &str| -> Vec<i64> {
        call.structured()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let found = app
        .call("alice", "find_task", json!({"words": "coupon"}))
        .await;
    assert_eq!(ids(&found, "matches"), [1]);
    let found = app
        .call("alice", "find_task", json!({"words": "50 off"}))
        .await;
    assert_eq!(
        ids(&found, "matches"),
        [1, 2],
        "every word, anywhere in the title"
    );
    let found = app
        .call("alice", "find_task", json!({"words": "50% OFF COUPON"}))
        .await;
    assert_eq!(ids(&found, "matches"), [1], "an exact title, ignoring case");
    let found = app
        .call("alice", "find_task", json!({"words": "the meeting task"}))
        .await;
    assert_eq!(ids(&found, "matches"), [3, 4]);
    assert!(found.text().starts_with("2 matches:"), "{}", found.text());
    let found = app
        .call("alice", "find_task", json!({"words": "meetng"}))
        .await;
    assert_eq!(ids(&found, "matches"), Vec::<i64>::new());
    assert_eq!(ids(&found, "closest"), [3, 4]);
    let found = app
        .call("bob", "find_task", json!({"words": "coupon"}))
        .await;
    assert_eq!(ids(&found, "matches"), Vec::<i64>::new());
    let refused = app.call("alice", "find_task", json!({"words": "  "})).await;
    assert!(refused.tool_error("blank words").contains("words"));
}
