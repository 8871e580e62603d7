//! The ChatKit server protocol (the subset in shared/docs/chatkit-protocol.md §8): one POST
//! endpoint dispatching on the body's `type`; turns stream as server-sent events, everything else
//! answers one JSON document. ChatKit threads are our conversations, items our visible messages.

use std::convert::Infallible;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use smart_todo_shared::chat::turn::{self, Begun, TurnEvent};
use smart_todo_shared::domain::{
    ChatText, Conversation, ConversationId, ConversationTitle, Message, MessageId, Role, SortOrder,
    UserId,
};
use smart_todo_shared::http::JsonBody;
use smart_todo_shared::{ApiError, AuthUser, db, repo};
use tokio::sync::mpsc;

use crate::{ChatState, Deadline, conversation_id};

/// Page size when a request gives none (or 0), and the most we return in one page.
const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

/// Every request: `{type, params, metadata?}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    params: Value,
}

#[derive(Debug, Default, Deserialize)]
struct UserInput {
    #[serde(default)]
    content: Vec<Value>,
}

impl UserInput {
    /// The text of the message: its `input_text` parts (and tags' text), joined.
    fn text(&self) -> Result<ChatText, ApiError> {
        let text: Vec<&str> = self
            .content
            .iter()
            .filter(|part| matches!(part["type"].as_str(), Some("input_text" | "input_tag")))
            .filter_map(|part| part["text"].as_str())
            .collect();
        ChatText::parse(&text.join(" ")).map_err(|e| ApiError::invalid("params.input.content", e.0))
    }
}

#[derive(Debug, Deserialize)]
struct CreateParams {
    input: UserInput,
}

#[derive(Debug, Deserialize)]
struct AddMessageParams {
    thread_id: String,
    input: UserInput,
}

#[derive(Debug, Deserialize)]
struct RetryParams {
    thread_id: String,
    item_id: String,
}

#[derive(Debug, Deserialize)]
struct ThreadParams {
    thread_id: String,
}

#[derive(Debug, Deserialize)]
struct UpdateParams {
    thread_id: String,
    title: String,
}

#[derive(Debug, Deserialize)]
struct PageParams {
    #[serde(default)]
    thread_id: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    order: Option<SortOrder>,
    #[serde(default)]
    after: Option<String>,
}

impl PageParams {
    fn limit(&self) -> i64 {
        match self.limit {
            None | Some(0) => DEFAULT_PAGE,
            Some(n) => n.clamp(1, MAX_PAGE),
        }
    }
}

#[derive(Debug, Deserialize)]
struct FeedbackParams {
    thread_id: String,
    #[serde(default)]
    #[allow(dead_code)]
    item_ids: Vec<String>,
    #[allow(dead_code)]
    kind: String,
}

fn params<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::invalid("params", e.to_string()))
}

/// `POST /chatkit`.
pub async fn handle(
    State(state): State<ChatState>,
    AuthUser(user): AuthUser,
    Deadline(deadline): Deadline,
    JsonBody(request): JsonBody<Envelope>,
) -> Result<Response, ApiError> {
    let pool = &state.app.pool;
    match request.kind.as_str() {
        "threads.create" => {
            let p: CreateParams = params(request.params)?;
            let begun = turn::begin(pool, &user, None, &p.input.text()?).await?;
            Ok(stream(state, user, begun, deadline))
        }
        "threads.add_user_message" => {
            let p: AddMessageParams = params(request.params)?;
            let text = p.input.text()?;
            let begun =
                turn::begin(pool, &user, Some(conversation_id(&p.thread_id)?), &text).await?;
            Ok(stream(state, user, begun, deadline))
        }
        "threads.retry_after_item" => {
            let p: RetryParams = params(request.params)?;
            let item = MessageId::parse(&p.item_id)
                .map_err(|_| ApiError::NotFound("item not found".into()))?;
            let begun =
                turn::begin_retry(pool, &user, conversation_id(&p.thread_id)?, item).await?;
            Ok(stream(state, user, begun, deadline))
        }
        "threads.get_by_id" => {
            let p: ThreadParams = params(request.params)?;
            let client = db::client(pool).await?;
            let id = conversation_id(&p.thread_id)?;
            let conversation = owned(repo::get_conversation(&client, &user, id).await?)?;
            let rows =
                repo::visible_messages(&client, &user, id, SortOrder::Asc, None, DEFAULT_PAGE + 1)
                    .await?;
            Ok(Json(thread(
                &conversation,
                items_page(&conversation, rows, DEFAULT_PAGE),
            ))
            .into_response())
        }
        "threads.list" => {
            let p: PageParams = params(request.params)?;
            let client = db::client(pool).await?;
            let after = p.after.as_deref().map(conversation_id).transpose()?;
            let limit = p.limit();
            let mut rows = repo::list_conversations(
                &client,
                &user,
                p.order.unwrap_or_default(),
                after,
                limit + 1,
            )
            .await?;
            let has_more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let data: Vec<Value> = rows.iter().map(|c| thread(c, empty_page())).collect();
            Ok(Json(page(data, has_more, rows.last().map(|c| c.id.to_string()))).into_response())
        }
        "items.list" => {
            let p: PageParams = params(request.params)?;
            let id = conversation_id(p.thread_id.as_deref().unwrap_or_default())?;
            let after = match p.after.as_deref() {
                Some(raw) => Some(
                    MessageId::parse(raw).map_err(|e| ApiError::invalid("params.after", e.0))?,
                ),
                None => None,
            };
            let client = db::client(pool).await?;
            let conversation = owned(repo::get_conversation(&client, &user, id).await?)?;
            let limit = p.limit();
            let rows = repo::visible_messages(
                &client,
                &user,
                id,
                p.order.unwrap_or_default(),
                after,
                limit + 1,
            )
            .await?;
            Ok(Json(items_page(&conversation, rows, limit)).into_response())
        }
        "threads.update" => {
            let p: UpdateParams = params(request.params)?;
            let title = ConversationTitle::parse(&p.title)
                .map_err(|e| ApiError::invalid("params.title", e.0))?;
            let client = db::client(pool).await?;
            let conversation = owned(
                repo::rename_conversation(&client, &user, conversation_id(&p.thread_id)?, &title)
                    .await?,
            )?;
            Ok(Json(thread(&conversation, empty_page())).into_response())
        }
        "threads.delete" => {
            let p: ThreadParams = params(request.params)?;
            let client = db::client(pool).await?;
            if !repo::delete_conversation(&client, &user, conversation_id(&p.thread_id)?).await? {
                return Err(not_found());
            }
            Ok(Json(json!({})).into_response())
        }
        "items.feedback" => {
            // Accepted and acknowledged; feedback is not stored yet.
            let p: FeedbackParams = params(request.params)?;
            let client = db::client(pool).await?;
            owned(repo::get_conversation(&client, &user, conversation_id(&p.thread_id)?).await?)?;
            Ok(Json(json!({})).into_response())
        }
        "threads.add_client_tool_output"
        | "threads.add_structured_input"
        | "threads.custom_action"
        | "threads.sync_custom_action"
        | "attachments.create"
        | "attachments.delete"
        | "input.transcribe" => Err(ApiError::BadRequest(format!(
            "the ChatKit request type {:?} is not supported by this server",
            request.kind
        ))),
        other => Err(ApiError::BadRequest(format!(
            "unknown ChatKit request type {other:?}"
        ))),
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound("conversation not found".into())
}

fn owned(conversation: Option<Conversation>) -> Result<Conversation, ApiError> {
    conversation.ok_or_else(not_found)
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn empty_page() -> Value {
    json!({"data": [], "has_more": false})
}

fn page(data: Vec<Value>, has_more: bool, last: Option<String>) -> Value {
    let mut page = json!({"data": data, "has_more": has_more});
    if let (true, Some(last)) = (has_more, last) {
        page["after"] = json!(last);
    }
    page
}

fn items_page(conversation: &Conversation, mut rows: Vec<Message>, limit: i64) -> Value {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let data = rows.iter().map(|m| item(conversation.id, m)).collect();
    page(data, has_more, rows.last().map(|m| m.id.to_string()))
}

/// A Thread; `title` is omitted until set, as ChatKit omits nulls.
fn thread(conversation: &Conversation, items: Value) -> Value {
    let mut thread = json!({
        "id": conversation.id.to_string(),
        "created_at": timestamp(conversation.created_at),
        "status": {"type": "active"},
        "metadata": {},
        "items": items,
    });
    if let Some(title) = &conversation.title {
        thread["title"] = json!(title);
    }
    thread
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

fn assistant_item(
    thread: ConversationId,
    id: MessageId,
    at: DateTime<Utc>,
    content: Vec<Value>,
) -> Value {
    json!({
        "id": id.to_string(),
        "thread_id": thread.to_string(),
        "created_at": timestamp(at),
        "type": "assistant_message",
        "content": content,
    })
}

/// A visible message as a ThreadItem.
fn item(thread: ConversationId, message: &Message) -> Value {
    match message.role {
        Role::User => json!({
            "id": message.id.to_string(),
            "thread_id": thread.to_string(),
            "created_at": timestamp(message.created_at),
            "type": "user_message",
            "content": [{"type": "input_text", "text": message.content}],
            "attachments": [],
            "inference_options": {},
        }),
        _ => assistant_item(
            thread,
            message.id,
            message.created_at,
            vec![output_text(&message.content)],
        ),
    }
}

fn frame(event: &Value) -> Bytes {
    Bytes::from(format!("data: {event}\n\n"))
}

/// Streams a turn: the user message, then the reply as it is produced. The turn runs to the end
/// even if the client goes away, so what it did is stored either way.
fn stream(state: ChatState, user: UserId, begun: Begun, deadline: Option<Instant>) -> Response {
    let (frames, receiver) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        let send = |event: Value| {
            let _ = frames.send(frame(&event));
        };
        let thread_id = begun.conversation.id;
        if begun.created {
            send(
                json!({"type": "thread.created", "thread": thread(&begun.conversation, empty_page())}),
            );
        }
        if !begun.retry {
            send(json!({"type": "thread.item.done", "item": item(thread_id, &begun.user_message)}));
        }
        // The turn is not stopped when the client disconnects, so no stop button.
        send(json!({"type": "stream_options", "stream_options": {"allow_cancel": false}}));

        let (events, mut event_receiver) = mpsc::unbounded_channel();
        let worker = {
            let (state, user, begun) = (state.clone(), user.clone(), begun.clone());
            tokio::spawn(async move {
                turn::respond(
                    &state.app.pool,
                    &state.model,
                    &user,
                    &begun,
                    &events,
                    deadline,
                )
                .await
            })
        };

        let reply_id = begun.reply_id;
        let started_at = Utc::now();
        let mut started = false;
        let start_reply = |started: &mut bool| {
            if !*started {
                *started = true;
                send(
                    json!({"type": "thread.item.added", "item": assistant_item(thread_id, reply_id, started_at, vec![])}),
                );
                send(
                    json!({"type": "thread.item.updated", "item_id": reply_id.to_string(),
                    "update": {"type": "assistant_message.content_part.added", "content_index": 0, "content": output_text("")}}),
                );
            }
        };
        while let Some(event) = event_receiver.recv().await {
            match event {
                TurnEvent::TextDelta(delta) => {
                    start_reply(&mut started);
                    send(
                        json!({"type": "thread.item.updated", "item_id": reply_id.to_string(),
                        "update": {"type": "assistant_message.content_part.text_delta", "content_index": 0, "delta": delta}}),
                    );
                }
                TurnEvent::ToolStarted { label, .. } => {
                    send(json!({"type": "progress_update", "text": format!("{label}…")}));
                }
                TurnEvent::ToolFinished {
                    name,
                    changed: true,
                } => {
                    send(
                        json!({"type": "client_effect", "name": "tasks_changed", "data": {"tool": name}}),
                    );
                }
                TurnEvent::ToolFinished { .. } => {}
            }
        }

        match worker.await {
            Ok(Ok(reply)) => {
                if !started {
                    start_reply(&mut started);
                    send(
                        json!({"type": "thread.item.updated", "item_id": reply_id.to_string(),
                        "update": {"type": "assistant_message.content_part.text_delta", "content_index": 0, "delta": reply.message.content}}),
                    );
                }
                send(
                    json!({"type": "thread.item.updated", "item_id": reply_id.to_string(),
                    "update": {"type": "assistant_message.content_part.done", "content_index": 0, "content": output_text(&reply.message.content)}}),
                );
                send(json!({"type": "thread.item.done", "item": item(thread_id, &reply.message)}));
                if reply.titled {
                    send(
                        json!({"type": "thread.updated", "thread": thread(&reply.conversation, empty_page())}),
                    );
                }
            }
            Ok(Err(err)) => {
                let message = match &err {
                    turn::TurnError::Model(_) => {
                        "The assistant did not answer. Your message is saved: try again."
                    }
                    _ => "Something went wrong on our side. Try again in a moment.",
                };
                tracing::warn!(error = %err, "chat turn failed");
                send(
                    json!({"type": "error", "code": "custom", "message": message, "allow_retry": true}),
                );
            }
            Err(panic) => {
                tracing::error!(error = %panic, "chat turn panicked");
                send(json!({"type": "error", "code": "stream.error", "allow_retry": true}));
            }
        }
    });

    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), receiver))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
