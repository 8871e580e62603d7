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
use smart_todo_shared::AppState;
use smart_todo_shared::chat::Model;
use smart_todo_shared::chat::offline::OfflineModel;
use smart_todo_shared::chat::openai::{OpenAiModel, OpenAiSettings};
use smart_todo_shared::test_support::{TestDb, authenticator, bearer, send};
use wiremock::{Mock, MockServer, Request as WireRequest, Respond, ResponseTemplate, matchers};

pub struct App {
    pub db: TestDb,
    pub model: Arc<Model>,
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
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

    /// A router over a new pool, as a fresh Lambda instance would build it.
    pub fn fresh_router(&self) -> Router {
        let pool = smart_todo_shared::db::pool_from_pg_config(
            self.db.pg_config.clone(),
            None,
            smart_todo_shared::config::PoolSettings::LAMBDA,
        )
        .unwrap();
        let state = ChatState {
            app: AppState {
                pool,
                auth: authenticator(),
            },
            model: self.model.clone(),
        };
        smart_todo_shared::http::api_app(smart_todo_chat::router(state))
    }

    pub async fn send_to(
        router: &Router,
        method: Method,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let response = send(router, method, uri, user.map(bearer).as_deref(), body).await;
        let content_type = response.content_type().to_owned();
        if !content_type.starts_with("text/event-stream") {
            return Reply {
                status: response.status,
                body: response.json(),
                content_type,
                frames: vec![],
            };
        }
        let text = String::from_utf8(response.body.to_vec()).unwrap();
        let frames = text
            .split("\n\n")
            .filter(|f| !f.trim().is_empty())
            .map(|f| serde_json::from_str(f.strip_prefix("data: ").expect("a data frame")).unwrap())
            .collect();
        Reply {
            status: response.status,
            content_type,
            body: Value::Null,
            frames,
        }
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
                "SELECT role, content FROM messages ORDER BY created_at, id",
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
    let state = ChatState {
        app: AppState {
            pool: db.pool.clone(),
            auth: authenticator(),
        },
        model,
    };
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

/// Answers the n-th request with the n-th script entry (the last one repeats).
pub struct Scripted {
    scripts: Vec<Script>,
    calls: AtomicUsize,
}

impl Respond for Scripted {
    fn respond(&self, _request: &WireRequest) -> ResponseTemplate {
        let n = self
            .calls
            .fetch_add(1, Ordering::SeqCst)
            .min(self.scripts.len() - 1);
        match &self.scripts[n] {
            Script::Text(pieces) => {
                let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
                chunks.extend(pieces.iter().map(|p| chunk(json!({"content": p}), None)));
                chunks.push(chunk(json!({}), Some("stop")));
                sse(chunks)
            }
            Script::Call(name, arguments) => {
                let args = arguments.to_string();
                let (head, tail) = args.split_at(args.len() / 2);
                sse(vec![
                    chunk(
                        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": format!("call_{n}"), "type": "function",
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
            Script::Fail(status) => {
                ResponseTemplate::new(*status).set_body_string("upstream exploded")
            }
            Script::Slow(delay) => {
                sse(vec![chunk(json!({"content": "too late"}), Some("stop"))]).set_delay(*delay)
            }
        }
    }
}

/// A fake OpenAI server following `scripts`, and a model pointed at it.
pub async fn fake_openai(scripts: Vec<Script>, timeout: Duration) -> (MockServer, Model) {
    let server = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/v1/chat/completions"))
        .respond_with(Scripted {
            scripts,
            calls: AtomicUsize::new(0),
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
        server,
        Model::OpenAi(Box::new(OpenAiModel::new(&settings).unwrap())),
    )
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
