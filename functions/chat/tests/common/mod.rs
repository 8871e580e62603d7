//! Drives the chat router in-process against a fresh database, with the offline assistant or a
//! scripted fake OpenAI server (wiremock) at the HTTP boundary.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use smart_todo_chat::ChatState;
use smart_todo_chat::agent::Model;
use smart_todo_chat::agent::offline::OfflineModel;
use smart_todo_chat::agent::openai::{OpenAiModel, OpenAiSettings};
use smart_todo_shared::AppState;
use smart_todo_shared::test_support::{TestDb, TripCounter, authenticator, bearer};
use wiremock::{Mock, MockServer, Request as WireRequest, Respond, ResponseTemplate, matchers};

pub struct App {
    pub db: TestDb,
    pub model: Arc<Model>,
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub content_type: String,
    pub body: Value,
    /// The parsed `data:` frames of an event stream.
    pub frames: Vec<Value>,
}

impl App {
    pub async fn offline() -> Self {
        Self::with_model(Model::Offline(OfflineModel)).await
    }

    pub async fn with_model(model: Model) -> Self {
        let db = TestDb::new().await;
        let model = Arc::new(model);
        let router = router(&db, model.clone());
        Self { db, model, router }
    }

    /// The offline assistant over one connection that goes through `trips`, which counts its
    /// round trips.
    pub async fn offline_through(trips: &TripCounter) -> Self {
        Self::through(Model::Offline(OfflineModel), trips).await
    }

    /// `model` over one connection that goes through `trips`.
    pub async fn through(model: Model, trips: &TripCounter) -> Self {
        let db = TestDb::new().await;
        let model = Arc::new(model);
        let settings = smart_todo_shared::config::PoolSettings {
            max_size: 1,
            ..smart_todo_shared::config::PoolSettings::LAMBDA
        };
        let pool = db.pool_through(trips, settings);
        let router = router_over(pool, Default::default(), model.clone());
        Self { db, model, router }
    }

    /// The offline assistant under these per-user limits.
    pub async fn with_limits(limits: smart_todo_shared::config::Limits) -> Self {
        let db = TestDb::new().await;
        let model = Arc::new(Model::Offline(OfflineModel));
        let router = router_over(db.pool.clone(), limits, model.clone());
        Self { db, model, router }
    }

    /// A router over a new pool, as a fresh Lambda instance would build it.
    pub fn fresh_router(&self) -> Router {
        let pool = smart_todo_shared::db::pool_from_pg_config(
            self.db.pg_config.clone(),
            None,
            smart_todo_shared::config::PoolSettings::LAMBDA,
        )
        .unwrap();
        router_over(pool, Default::default(), self.model.clone())
    }

    pub async fn send_to(
        router: &Router,
        method: Method,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let headers: Vec<(String, String)> = user
            .map(|user| ("authorization".to_owned(), bearer(user)))
            .into_iter()
            .collect();
        Self::request_to(router, method, uri, &headers, body).await
    }

    pub async fn chat(&self, user: &str, conversation: Option<&str>, message: &str) -> Reply {
        let mut body = json!({"message": message});
        if let Some(id) = conversation {
            body["conversation_id"] = json!(id);
        }
        Self::send_to(
            &self.router,
            Method::POST,
            "/api/chat",
            Some(user),
            Some(body),
        )
        .await
    }

    /// `POST /api/chat` with an `Idempotency-Key`.
    pub async fn chat_with_key(
        &self,
        user: &str,
        key: &str,
        conversation: Option<&str>,
        message: &str,
    ) -> Reply {
        Self::chat_on(&self.router, user, Some(key), conversation, message).await
    }

    /// `POST /api/chat` on `router`, with an optional `Idempotency-Key`.
    pub async fn chat_on(
        router: &Router,
        user: &str,
        key: Option<&str>,
        conversation: Option<&str>,
        message: &str,
    ) -> Reply {
        let mut body = json!({"message": message});
        if let Some(id) = conversation {
            body["conversation_id"] = json!(id);
        }
        let mut headers = vec![("authorization".to_owned(), bearer(user))];
        if let Some(key) = key {
            headers.push(("idempotency-key".to_owned(), key.to_owned()));
        }
        Self::request_to(router, Method::POST, "/api/chat", &headers, Some(body)).await
    }

    /// A request with any headers.
    pub async fn request_to(
        router: &Router,
        method: Method,
        uri: &str,
        headers: &[(String, String)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = axum::http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string())),
            None => request.body(axum::body::Body::empty()),
        }
        .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        if content_type.starts_with("text/event-stream") {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            let frames = text
                .split("\n\n")
                .filter(|f| !f.trim().is_empty() && !f.starts_with(':'))
                .map(|f| {
                    serde_json::from_str(f.strip_prefix("data: ").expect("a data frame")).unwrap()
                })
                .collect();
            return Reply {
                status,
                headers,
                content_type,
                body: Value::Null,
                frames,
            };
        }
        Reply {
            status,
            headers,
            content_type,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            frames: vec![],
        }
    }

    pub async fn chatkit(&self, user: &str, kind: &str, params: Value) -> Reply {
        Self::send_to(
            &self.router,
            Method::POST,
            "/chatkit",
            Some(user),
            Some(json!({"type": kind, "params": params})),
        )
        .await
    }

    /// Every task row as (id, title, completed), to compare database state.
    pub async fn tasks(&self, user: &str) -> Vec<(i64, String, bool)> {
        let client = self.db.raw_client().await;
        client
            .query(
                "SELECT id, title, completed FROM tasks WHERE user_id = $1 ORDER BY id",
                &[&user],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// Every stored message as (role, content), oldest first.
    pub async fn messages(&self) -> Vec<(String, String)> {
        let client = self.db.raw_client().await;
        client
            .query(
                "SELECT role, content FROM messages ORDER BY conversation_id, seq",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

pub fn router(db: &TestDb, model: Arc<Model>) -> Router {
    router_over(db.pool.clone(), Default::default(), model)
}

/// The chat routes over `pool` with these limits, as `main` builds them.
fn router_over(
    pool: smart_todo_shared::DbPool,
    limits: smart_todo_shared::config::Limits,
    model: Arc<Model>,
) -> Router {
    let state = ChatState::new(
        AppState {
            pool,
            auth: authenticator(),
            limits,
        },
        model,
    );
    smart_todo_shared::http::api_app(smart_todo_chat::router(state))
}

pub fn input(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "quoted_text": "", "attachments": [], "inference_options": {}})
}

/// The complete items of `thread.item.done` frames.
pub fn done_items(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "thread.item.done")
        .map(|f| f["item"].clone())
        .collect()
}

/// The streamed text deltas, in order.
pub fn deltas(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["update"]["type"] == "assistant_message.content_part.text_delta")
        .map(|f| f["update"]["delta"].as_str().unwrap().to_owned())
        .collect()
}

/// One scripted model answer.
#[derive(Clone)]
pub enum Script {
    /// Text in these chunks.
    Text(Vec<&'static str>),
    /// One tool call with these JSON arguments.
    Call(&'static str, Value),
    /// An HTTP error status.
    Fail(u16),
    /// Text, after a delay.
    Slow(Duration),
    /// A tool call, after a delay.
    SlowCall(&'static str, Value, Duration),
    /// These exact text chunks (may hold any character).
    Raw(String),
    /// Several tool calls in one answer (parallel tool calls), streamed interleaved.
    Calls(Vec<(&'static str, Value)>),
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    format!("data: {chunk}\n\n")
}

fn sse(chunks: Vec<String>) -> ResponseTemplate {
    let mut body: String = chunks.concat();
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

/// Answers the n-th request with the n-th script entry (the last one repeats). Every request is
/// first checked the way the OpenAI API checks it; a request it would refuse gets OpenAI's 400
/// and is counted in `rejected`.
pub struct Scripted {
    scripts: Vec<Script>,
    calls: AtomicUsize,
    rejected: Arc<AtomicUsize>,
}

/// What the OpenAI API refuses in a Chat Completions request, as its error message; `None` when
/// the request is valid.
pub fn openai_violation(body: &Value) -> Option<String> {
    let Some(messages) = body["messages"].as_array().filter(|m| !m.is_empty()) else {
        return Some("'messages' must be a non-empty array".into());
    };
    if body["model"].as_str().is_none_or(|m| m.is_empty()) {
        return Some("you must provide a model parameter".into());
    }
    let tools = body["tools"].as_array().filter(|t| !t.is_empty());
    if tools.is_none() {
        if body
            .get("parallel_tool_calls")
            .is_some_and(|p| !p.is_null())
        {
            return Some("parallel_tool_calls is only allowed when 'tools' are specified.".into());
        }
        if body.get("tool_choice").is_some_and(|c| !c.is_null()) {
            return Some("tool_choice is only allowed when 'tools' are specified.".into());
        }
    }
    match body.get("tool_choice") {
        None | Some(Value::Null) => {}
        Some(Value::String(mode)) if ["auto", "none", "required"].contains(&mode.as_str()) => {}
        Some(choice) if choice["type"] == "function" && choice["function"]["name"].is_string() => {}
        Some(other) => return Some(format!("Invalid value for 'tool_choice': {other}")),
    }
    if body
        .get("parallel_tool_calls")
        .is_some_and(|p| !p.is_null() && !p.is_boolean())
    {
        return Some("Invalid type for 'parallel_tool_calls': expected a boolean".into());
    }
    for (i, tool) in body["tools"].as_array().into_iter().flatten().enumerate() {
        let name = tool["function"]["name"].as_str().unwrap_or_default();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if tool["type"] != "function" || !valid || !tool["function"]["parameters"].is_object() {
            return Some(format!("Invalid 'tools[{i}]'"));
        }
    }
    // Tool call ids still waiting for their tool message.
    let mut pending: Vec<String> = vec![];
    for (i, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or_default();
        if role != "tool" && !pending.is_empty() {
            return Some(format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                pending.join(", ")
            ));
        }
        match role {
            "system" | "developer" | "user" => {
                if !message["content"].is_string() {
                    return Some(format!("Invalid 'messages[{i}].content'"));
                }
            }
            "assistant" => {
                let calls = message["tool_calls"].as_array();
                match calls {
                    Some(calls) if !calls.is_empty() => {
                        for call in calls {
                            let id = call["id"].as_str().unwrap_or_default();
                            if id.is_empty()
                                || call["type"] != "function"
                                || !call["function"]["name"].is_string()
                                || !call["function"]["arguments"].is_string()
                            {
                                return Some(format!("Invalid 'messages[{i}].tool_calls'"));
                            }
                            if pending.iter().any(|p| p == id) {
                                return Some(format!(
                                    "Duplicate tool_call id {id} in messages[{i}]"
                                ));
                            }
                            pending.push(id.to_owned());
                        }
                    }
                    Some(_) => {
                        return Some(format!("Invalid 'messages[{i}].tool_calls': empty array"));
                    }
                    None => {
                        if !message["content"].is_string() {
                            return Some(format!(
                                "Invalid 'messages[{i}].content': content is required"
                            ));
                        }
                    }
                }
            }
            "tool" => {
                let id = message["tool_call_id"].as_str().unwrap_or_default();
                let Some(at) = pending.iter().position(|p| p == id) else {
                    return Some(format!(
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[{i}])."
                    ));
                };
                pending.remove(at);
                if !message["content"].is_string() {
                    return Some(format!("Invalid 'messages[{i}].content'"));
                }
            }
            other => return Some(format!("Invalid value for 'messages[{i}].role': {other:?}")),
        }
    }
    if !pending.is_empty() {
        return Some(format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
            pending.join(", ")
        ));
    }
    None
}

impl Respond for Scripted {
    fn respond(&self, request: &WireRequest) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(message) = openai_violation(&body) {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": message, "type": "invalid_request_error", "param": "messages", "code": null}}));
        }
        let raw = self.calls.fetch_add(1, Ordering::SeqCst);
        let n = raw.min(self.scripts.len() - 1);
        match &self.scripts[n] {
            Script::Text(pieces) => {
                let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
                chunks.extend(pieces.iter().map(|p| chunk(json!({"content": p}), None)));
                chunks.push(chunk(json!({}), Some("stop")));
                sse(chunks)
            }
            Script::SlowCall(name, arguments, delay) => {
                let args = arguments.to_string();
                let id = format!("call_{raw}");
                sse(vec![
                    chunk(
                        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": id, "type": "function",
                        "function": {"name": name, "arguments": args}}]}),
                        None,
                    ),
                    chunk(json!({}), Some("tool_calls")),
                ])
                .set_delay(*delay)
            }
            Script::Raw(text) => sse(vec![
                chunk(json!({"role": "assistant", "content": text}), None),
                chunk(json!({}), Some("stop")),
            ]),
            Script::Call(name, arguments) => {
                let args = arguments.to_string();
                let (head, tail) = args.split_at(args.len() / 2);
                let id = format!("call_{raw}");
                sse(vec![
                    chunk(
                        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": id, "type": "function",
                        "function": {"name": name, "arguments": head}}]}),
                        None,
                    ),
                    chunk(
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}),
                        None,
                    ),
                    chunk(json!({}), Some("tool_calls")),
                ])
            }
            Script::Calls(calls) => {
                let mut chunks = vec![chunk(json!({"role": "assistant", "content": null}), None)];
                // Every call's head first, then every call's arguments: as OpenAI interleaves them.
                for (i, (name, _)) in calls.iter().enumerate() {
                    chunks.push(chunk(
                        json!({"tool_calls": [{"index": i, "id": format!("call_{raw}_{i}"),
                            "type": "function", "function": {"name": name, "arguments": ""}}]}),
                        None,
                    ));
                }
                for (i, (_, arguments)) in calls.iter().enumerate() {
                    chunks.push(chunk(
                        json!({"tool_calls": [{"index": i, "function": {"arguments": arguments.to_string()}}]}),
                        None,
                    ));
                }
                chunks.push(chunk(json!({}), Some("tool_calls")));
                sse(chunks)
            }
            Script::Fail(status) => {
                ResponseTemplate::new(*status).set_body_string("upstream exploded")
            }
            Script::Slow(delay) => {
                sse(vec![chunk(json!({"content": "too late"}), Some("stop"))]).set_delay(*delay)
            }
        }
    }
}

/// A fake OpenAI server, the model pointed at it, and the count of requests it refused.
pub struct FakeOpenAi {
    pub server: MockServer,
    pub rejected: Arc<AtomicUsize>,
}

impl FakeOpenAi {
    /// How many requests the fake refused as OpenAI would.
    pub fn rejected(&self) -> usize {
        self.rejected.load(Ordering::SeqCst)
    }
}

/// A strict fake OpenAI server following `scripts`, and a model pointed at it.
pub async fn strict_openai(scripts: Vec<Script>, timeout: Duration) -> (FakeOpenAi, Model) {
    let server = MockServer::start().await;
    let rejected = Arc::new(AtomicUsize::new(0));
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/v1/chat/completions"))
        .respond_with(Scripted {
            scripts,
            calls: AtomicUsize::new(0),
            rejected: rejected.clone(),
        })
        .mount(&server)
        .await;
    let settings = OpenAiSettings {
        api_key: secrecy::SecretString::from("sk-test"),
        base_url: format!("{}/v1", server.uri()),
        model: "fake-model".into(),
        timeout,
    };
    (
        FakeOpenAi { server, rejected },
        Model::OpenAi(Box::new(OpenAiModel::new(&settings).unwrap())),
    )
}

/// A fake OpenAI server following `scripts`, and a model pointed at it.
pub async fn fake_openai(scripts: Vec<Script>, timeout: Duration) -> (MockServer, Model) {
    let (fake, model) = strict_openai(scripts, timeout).await;
    (fake.server, model)
}

/// The JSON bodies the fake model server received.
pub async fn model_requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}
