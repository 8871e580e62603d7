//! The ChatKit server protocol (docs/chatkit-protocol.md): one POST endpoint dispatching on the
//! request's type; turns stream as server-sent events, everything else answers one JSON document.
//! ChatKit threads are our conversations, items our visible messages.

pub mod types;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use smart_todo_shared::domain::{
    ChatText, Conversation, ConversationId, ConversationTitle, IdempotencyKey, Message, MessageId,
    Role, SortOrder, TurnId, TurnStatus, UserId,
};
use smart_todo_shared::http::JsonBody;
use smart_todo_shared::{ApiError, AuthUser, db, repo, tools};
use tokio::sync::mpsc;

use crate::agent::turn::{self, Begun, Replayed, Start, TurnError, TurnEvent, TurnRequest};
use crate::{ChatState, Deadline, IdempotencyKeyHeader, conversation_id};
use types::{
    ChoiceOption, ErrorCode, Event, InferenceOptions, InputAnswer, InputStatus, InputText,
    ItemUpdate, MultipleChoice, OutputText, Page, Request, StreamOptions, TasksChanged, Thread,
    ThreadItem, ThreadMetadata, ThreadStatus, Timestamp,
};

/// Page size when a request gives none (or 0), and the most we return in one page.
const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

fn page_limit(limit: Option<i64>) -> i64 {
    match limit {
        None | Some(0) => DEFAULT_PAGE,
        Some(n) => n.clamp(1, MAX_PAGE),
    }
}

/// Reads a request: an unknown type is a 400, known types with bad params a 422 (fuzzed:
/// `fuzz/fuzz_targets/chatkit_request.rs`).
pub fn parse_request(value: Value) -> Result<Request, ApiError> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid("type", "a ChatKit request needs a string type"))?;
    serde_json::from_value(value).map_err(|err| {
        if err.to_string().starts_with("unknown variant") {
            ApiError::BadRequest(format!("unknown ChatKit request type {kind:?}"))
        } else {
            ApiError::invalid("params", err.to_string())
        }
    })
}

fn user_text(input: &types::UserMessageInput) -> Result<ChatText, ApiError> {
    ChatText::parse(&input.text()).map_err(|e| ApiError::invalid("params.input.content", e.0))
}

/// `POST /chatkit`.
pub async fn handle(
    State(state): State<ChatState>,
    AuthUser(user): AuthUser,
    Deadline(deadline): Deadline,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    JsonBody(request): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let pool = &state.app.pool;
    match parse_request(request)? {
        Request::CreateThread(p) => {
            let request = TurnRequest {
                conversation: None,
                text: user_text(&p.input)?,
                key,
                channel: "chatkit",
            };
            start_turn(state, user, request, deadline).await
        }
        Request::AddUserMessage(p) => {
            let request = TurnRequest {
                conversation: Some(conversation_id(&p.thread_id)?),
                text: user_text(&p.input)?,
                key,
                channel: "chatkit",
            };
            start_turn(state, user, request, deadline).await
        }
        Request::RetryAfterItem(p) => {
            let item = MessageId::parse(&p.item_id)
                .map_err(|_| ApiError::NotFound("item not found".into()))?;
            match turn::begin_retry(
                pool,
                &state.app.limits,
                &user,
                conversation_id(&p.thread_id)?,
                item,
            )
            .await
            {
                Ok(begun) => Ok(stream_turn(state, user, begun, deadline, None)),
                Err(TurnError::Busy) => Ok(busy_stream()),
                Err(TurnError::Limited { message, .. }) => Ok(error_stream(message)),
                Err(err) => Err(err.into()),
            }
        }
        Request::GetThread(p) => {
            let client = db::client(pool).await?;
            let id = conversation_id(&p.thread_id)?;
            let conversation = owned(repo::get_conversation(&client, &user, id).await?)?;
            let metadata = metadata(&client, &user, id).await?;
            let rows =
                repo::visible_messages(&client, &user, id, SortOrder::Asc, None, DEFAULT_PAGE + 1)
                    .await?;
            let items = items_page(
                &client,
                &user,
                &conversation,
                rows,
                DEFAULT_PAGE,
                SortOrder::Asc,
            )
            .await?;
            Ok(Json(thread(&conversation, metadata, items)).into_response())
        }
        Request::ListThreads(p) => {
            let client = db::client(pool).await?;
            let after = p.after.as_deref().map(conversation_id).transpose()?;
            if let Some(after) = after {
                // A cursor that names no thread of this user is not an empty page.
                owned(repo::get_conversation(&client, &user, after).await?)
                    .map_err(|_| ApiError::NotFound("the `after` thread was not found".into()))?;
            }
            let limit = page_limit(p.limit);
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
            let data: Vec<Thread> = rows
                .iter()
                .map(|c| thread(c, ThreadMetadata::default(), Page::empty()))
                .collect();
            let after = has_more
                .then(|| rows.last().map(|c| c.id.to_string()))
                .flatten();
            Ok(Json(Page {
                data,
                has_more,
                after,
            })
            .into_response())
        }
        Request::ListItems(p) => {
            let id = conversation_id(&p.thread_id)?;
            let after = match p.after.as_deref() {
                Some(raw) => Some(
                    MessageId::parse(raw)
                        .map_err(|_| ApiError::NotFound("the `after` item was not found".into()))?,
                ),
                None => None,
            };
            let client = db::client(pool).await?;
            let conversation = owned(repo::get_conversation(&client, &user, id).await?)?;
            if let Some(after) = after {
                repo::get_message(&client, &user, id, after)
                    .await?
                    .filter(Message::is_visible)
                    .ok_or_else(|| ApiError::NotFound("the `after` item was not found".into()))?;
            }
            let limit = page_limit(p.limit);
            let order = p.order.unwrap_or_default();
            let rows = repo::visible_messages(&client, &user, id, order, after, limit + 1).await?;
            let page = items_page(&client, &user, &conversation, rows, limit, order).await?;
            Ok(Json(page).into_response())
        }
        Request::UpdateThread(p) => {
            let title = ConversationTitle::parse(&p.title)
                .map_err(|e| ApiError::invalid("params.title", e.0))?;
            let client = db::client(pool).await?;
            let id = conversation_id(&p.thread_id)?;
            let conversation = owned(repo::rename_conversation(&client, &user, id, &title).await?)?;
            let metadata = metadata(&client, &user, id).await?;
            Ok(Json(thread(&conversation, metadata, Page::empty())).into_response())
        }
        Request::DeleteThread(p) => {
            let client = db::client(pool).await?;
            if !repo::delete_conversation(&client, &user, conversation_id(&p.thread_id)?).await? {
                return Err(not_found());
            }
            Ok(Json(types::Empty {}).into_response())
        }
        Request::Feedback(p) => {
            // Accepted and acknowledged; feedback is not stored yet.
            let _ = (p.item_ids, p.kind);
            let client = db::client(pool).await?;
            owned(repo::get_conversation(&client, &user, conversation_id(&p.thread_id)?).await?)?;
            Ok(Json(types::Empty {}).into_response())
        }
        Request::AddStructuredInput(p) => answer_question(state, user, key, deadline, p).await,
        Request::AddClientToolOutput(_)
        | Request::CustomAction(_)
        | Request::SyncCustomAction(_)
        | Request::CreateAttachment(_)
        | Request::DeleteAttachment(_)
        | Request::Transcribe(_) => Err(ApiError::BadRequest(
            "this ChatKit request type is not supported by this server".into(),
        )),
    }
}

/// Starts (or continues, or replays) a turn and streams it; a busy conversation is an `error`
/// event the client may retry.
async fn start_turn(
    state: ChatState,
    user: UserId,
    request: TurnRequest,
    deadline: Option<Instant>,
) -> Result<Response, ApiError> {
    start_answering(state, user, request, deadline, None).await
}

/// [`start_turn`] for a press on a question's button: the stream first replaces the question
/// with its answered form, and the turn carries out the answer.
async fn start_answering(
    state: ChatState,
    user: UserId,
    request: TurnRequest,
    deadline: Option<Instant>,
    answered: Option<(ThreadItem, Option<tools::Answer>)>,
) -> Result<Response, ApiError> {
    match turn::begin(&state.app.pool, &state.app.limits, &user, &request).await {
        Ok(Start::Run(mut begun)) => {
            let replaced = answered.map(|(item, answer)| {
                begun.answer = answer;
                Event::ItemReplaced { item }
            });
            Ok(stream_turn(state, user, *begun, deadline, replaced))
        }
        Ok(Start::Replay(replayed)) => Ok(replay_stream(&replayed)),
        Err(TurnError::Busy) => Ok(busy_stream()),
        Err(TurnError::Limited { message, .. }) => Ok(error_stream(message)),
        Err(err) => Err(err.into()),
    }
}

/// The id of a question's item: named after the turn that asked.
const QUESTION_PREFIX: &str = "confirm_";
/// The id of the one input a question has.
const QUESTION_INPUT: &str = "confirm";

fn question_id(turn: TurnId) -> String {
    format!("{QUESTION_PREFIX}{turn}")
}

fn item_not_found() -> ApiError {
    ApiError::NotFound("item not found".into())
}

/// The question a change to several tasks asks, as a structured input item with Yes and No.
fn question_item(thread: ConversationId, question: &repo::Question) -> ThreadItem {
    let action = tools::BulkAction::parse(&question.action).unwrap_or(tools::BulkAction::Complete);
    let (status, answer) = match question.state.as_str() {
        "open" => (InputStatus::Pending, None),
        "done" | "cancelled" => (
            InputStatus::Answered,
            Some(InputAnswer {
                values: vec![
                    if question.state == "done" {
                        "Yes"
                    } else {
                        "No"
                    }
                    .into(),
                ],
                skipped: false,
            }),
        ),
        _ => (
            InputStatus::Skipped,
            Some(InputAnswer {
                values: vec![],
                skipped: true,
            }),
        ),
    };
    ThreadItem::StructuredInput {
        id: question_id(question.turn),
        thread_id: thread.to_string(),
        created_at: Timestamp(question.at.unwrap_or_else(chrono::Utc::now)),
        status,
        inputs: vec![MultipleChoice {
            id: QUESTION_INPUT.into(),
            question: tools::bulk_question(action, question.count.max(0) as usize),
            options: ["Yes", "No"]
                .map(|value| ChoiceOption {
                    value: value.into(),
                })
                .into(),
            multiple: false,
            answer,
        }],
    }
}

/// The question a finished turn asked, if it asked one: its last `change_tasks` that found
/// tasks (the question stays open until the next message).
fn asked(reply: &turn::Reply) -> Option<repo::Question> {
    let turn = reply.message.turn_id?;
    let records = &reply.tool_calls;
    let proposal = records
        .iter()
        .rev()
        .find(|r| r.name == tools::Tool::ChangeTasks.name() && r.result.get("error").is_none())?;
    let count = proposal.result["tasks"].as_array().map_or(0, Vec::len);
    (count > 0).then(|| repo::Question {
        turn,
        action: proposal.result["action"]
            .as_str()
            .unwrap_or("complete")
            .into(),
        count: count as i64,
        state: "open".into(),
        at: Some(reply.message.created_at),
    })
}

/// `threads.add_structured_input`: a press on Yes or No answers the question it belongs to, as
/// the next message of the conversation ("Yes", "No", or the words given instead).
async fn answer_question(
    state: ChatState,
    user: UserId,
    key: Option<IdempotencyKey>,
    deadline: Option<Instant>,
    p: types::AddStructuredInputParams,
) -> Result<Response, ApiError> {
    let conversation = conversation_id(&p.thread_id)?;
    let turn = p
        .item_id
        .strip_prefix(QUESTION_PREFIX)
        .and_then(|raw| TurnId::parse(raw).ok())
        .ok_or_else(item_not_found)?;
    let client = db::client(&state.app.pool).await?;
    owned(repo::get_conversation(&client, &user, conversation).await?)?;
    let question = repo::questions(&client, &user, conversation, &[turn])
        .await?
        .pop()
        .ok_or_else(item_not_found)?;
    if question.state != "open" {
        // A repeated request (same key) is answered as it was the first time.
        let repeated = match &key {
            Some(key) => repo::turn_by_key(&client, &user, key).await?.is_some(),
            None => false,
        };
        if !repeated {
            let why = match question.state.as_str() {
                "done" => "it was answered yes",
                "cancelled" => "it was answered no",
                _ => "another message came after it",
            };
            return Err(ApiError::Conflict(format!(
                "this question is closed: {why}; ask for the change again"
            )));
        }
    }
    drop(client);
    let given = p.input.answer(QUESTION_INPUT).unwrap_or("No");
    let answer = match given.to_lowercase().as_str() {
        "yes" => Some(tools::Answer::Yes),
        "no" => Some(tools::Answer::No),
        _ => None,
    };
    let text = match answer {
        Some(tools::Answer::Yes) => "Yes",
        Some(tools::Answer::No) => "No",
        None => given,
    };
    let text = ChatText::parse(text).map_err(|e| ApiError::invalid("params.input.answers", e.0))?;
    let mut replaced = question_item(conversation, &question);
    if let ThreadItem::StructuredInput { status, inputs, .. } = &mut replaced {
        *status = InputStatus::Answered;
        for input in inputs {
            input.answer = Some(InputAnswer {
                values: vec![text.as_str().into()],
                skipped: false,
            });
        }
    }
    let request = TurnRequest {
        conversation: Some(conversation),
        text,
        key,
        channel: "chatkit",
    };
    start_answering(state, user, request, deadline, Some((replaced, answer))).await
}

fn not_found() -> ApiError {
    ApiError::NotFound("conversation not found".into())
}

fn owned(conversation: Option<Conversation>) -> Result<Conversation, ApiError> {
    conversation.ok_or_else(not_found)
}

/// The thread's metadata: how its newest turn stands (a lapsed lease counts as failed).
async fn metadata(
    db: &impl db::Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<ThreadMetadata, ApiError> {
    let turn = repo::newest_turn(db, user, conversation).await?;
    Ok(ThreadMetadata {
        turn_status: turn.map(|t| match t.status {
            TurnStatus::Running if !t.is_live() => TurnStatus::Failed.as_str(),
            status => status.as_str(),
        }),
    })
}

/// A page of items: the messages, each reply followed by the question its turn asked (so a
/// page never separates them, and its `after` is always a message).
async fn items_page(
    db: &impl db::Executor,
    user: &UserId,
    conversation: &Conversation,
    mut rows: Vec<Message>,
    limit: i64,
    order: SortOrder,
) -> Result<Page<ThreadItem>, ApiError> {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let after = has_more
        .then(|| rows.last().map(|m| m.id.to_string()))
        .flatten();
    let turns: Vec<TurnId> = rows
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .filter_map(|m| m.turn_id)
        .collect();
    let questions = if turns.is_empty() {
        vec![]
    } else {
        repo::questions(db, user, conversation.id, &turns).await?
    };
    let mut data = Vec::with_capacity(rows.len() + questions.len());
    for message in &rows {
        let question = questions
            .iter()
            .find(|q| message.role == Role::Assistant && Some(q.turn) == message.turn_id)
            .map(|q| question_item(conversation.id, q));
        let message = item(conversation.id, message);
        match (question, order) {
            (Some(question), SortOrder::Asc) => data.extend([message, question]),
            (Some(question), SortOrder::Desc) => data.extend([question, message]),
            (None, _) => data.push(message),
        }
    }
    Ok(Page {
        data,
        has_more,
        after,
    })
}

fn thread(
    conversation: &Conversation,
    metadata: ThreadMetadata,
    items: Page<ThreadItem>,
) -> Thread {
    Thread {
        id: conversation.id.to_string(),
        title: conversation.title.clone(),
        created_at: Timestamp(conversation.created_at),
        status: ThreadStatus::Active,
        metadata,
        items,
    }
}

fn assistant_item(
    thread: ConversationId,
    id: MessageId,
    at: chrono::DateTime<chrono::Utc>,
    content: Vec<OutputText>,
) -> ThreadItem {
    ThreadItem::AssistantMessage {
        id: id.to_string(),
        thread_id: thread.to_string(),
        created_at: Timestamp(at),
        content,
    }
}

/// A visible message as a ThreadItem.
fn item(thread: ConversationId, message: &Message) -> ThreadItem {
    match message.role {
        Role::User => ThreadItem::UserMessage {
            id: message.id.to_string(),
            thread_id: thread.to_string(),
            created_at: Timestamp(message.created_at),
            content: vec![InputText {
                text: message.content.clone(),
            }],
            attachments: vec![],
            inference_options: InferenceOptions::default(),
        },
        _ => assistant_item(
            thread,
            message.id,
            message.created_at,
            vec![OutputText::new(message.content.clone())],
        ),
    }
}

/// Where a stream's events go: serialised as SSE frames, in order. The response body adds a
/// keep-alive comment whenever nothing was sent for a while.
#[derive(Clone)]
struct Sink(mpsc::UnboundedSender<Bytes>);

impl Sink {
    fn send(&self, event: Event) {
        let _ = self.0.send(frame(&event));
    }
}

fn frame(event: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(event).expect("events serialise");
    Bytes::from(format!("data: {json}\n\n"))
}

/// Keep-alive comment for proxies and clients that drop quiet connections.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// An SSE response fed by a sink; a comment goes out after every `keep_alive` of silence.
fn sse_response(keep_alive: Duration) -> (Sink, Response) {
    let (frames, receiver) = mpsc::unbounded_channel::<Bytes>();
    let body = futures::stream::unfold(receiver, move |mut receiver| async move {
        match tokio::time::timeout(keep_alive, receiver.recv()).await {
            Ok(Some(frame)) => Some((Ok::<_, Infallible>(frame), receiver)),
            Ok(None) => None,
            Err(_) => Some((Ok(Bytes::from_static(KEEP_ALIVE)), receiver)),
        }
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    (Sink(frames), response)
}

/// The answer to a turn request on a conversation that is busy: one retryable error event.
fn busy_stream() -> Response {
    error_stream(
        "The assistant is still answering your previous message in this conversation. \
         Try again in a moment."
            .into(),
    )
}

/// A turn that could not start: one retryable error event saying why (busy, over a limit).
fn error_stream(message: String) -> Response {
    let (sink, response) = sse_response(Duration::from_secs(15));
    sink.send(Event::Error {
        code: ErrorCode::Custom,
        message: Some(message),
        allow_retry: true,
    });
    response
}

/// A finished turn named again by its key: the thread (for a create), the question and the
/// stored reply, as a stream that changes nothing.
fn replay_stream(replayed: &Replayed) -> Response {
    let (sink, response) = sse_response(Duration::from_secs(15));
    let id = replayed.conversation.id;
    if replayed.created {
        sink.send(Event::ThreadCreated {
            thread: thread(
                &replayed.conversation,
                ThreadMetadata::default(),
                Page::empty(),
            ),
        });
    }
    sink.send(Event::ItemDone {
        item: item(id, &replayed.user_message),
    });
    if let Some(reply) = &replayed.reply {
        sink.send(Event::ItemDone {
            item: item(id, reply),
        });
    }
    response
}

/// Streams a turn: the user message, then the reply as it is produced. The turn runs to the end
/// even if the client goes away, so what it did is stored either way.
fn stream_turn(
    state: ChatState,
    user: UserId,
    begun: Begun,
    deadline: Option<Instant>,
    first: Option<Event>,
) -> Response {
    let (sink, response) = sse_response(state.keep_alive);
    tokio::spawn(async move {
        let thread_id = begun.conversation.id;
        if let Some(event) = first {
            sink.send(event);
        }
        if begun.created {
            sink.send(Event::ThreadCreated {
                thread: thread(
                    &begun.conversation,
                    ThreadMetadata::default(),
                    Page::empty(),
                ),
            });
        }
        if begun.announce {
            sink.send(Event::ItemDone {
                item: item(thread_id, &begun.user_message),
            });
        }
        // The turn is not stopped when the client disconnects, so no stop button.
        sink.send(Event::StreamOptions {
            stream_options: StreamOptions {
                allow_cancel: false,
            },
        });

        let (events, mut event_receiver) = mpsc::unbounded_channel();
        let worker = {
            let (state, user, begun) = (state.clone(), user.clone(), begun.clone());
            tokio::spawn(async move {
                turn::respond(&state.app, &state.model, &user, &begun, &events, deadline).await
            })
        };

        let reply_id = begun.reply_id;
        let started_at = chrono::Utc::now();
        let mut started = false;
        let start_reply = |started: &mut bool| {
            if !*started {
                *started = true;
                sink.send(Event::ItemAdded {
                    item: assistant_item(thread_id, reply_id, started_at, vec![]),
                });
                sink.send(Event::ItemUpdated {
                    item_id: reply_id.to_string(),
                    update: ItemUpdate::ContentPartAdded {
                        content_index: 0,
                        content: OutputText::new(""),
                    },
                });
            }
        };
        let delta = |text: String| Event::ItemUpdated {
            item_id: reply_id.to_string(),
            update: ItemUpdate::TextDelta {
                content_index: 0,
                delta: text,
            },
        };
        while let Some(event) = event_receiver.recv().await {
            match event {
                TurnEvent::TextDelta(text) => {
                    start_reply(&mut started);
                    sink.send(delta(text));
                }
                TurnEvent::ToolStarted { label, .. } => {
                    sink.send(Event::Progress {
                        text: format!("{label}…"),
                    });
                }
                TurnEvent::ToolFinished {
                    name,
                    changed: true,
                } => {
                    sink.send(Event::ClientEffect {
                        name: "tasks_changed".into(),
                        data: TasksChanged { tool: name },
                    });
                }
                TurnEvent::ToolFinished { .. } => {}
            }
        }

        match worker.await {
            Ok(Ok(reply)) => {
                if !started {
                    start_reply(&mut started);
                    sink.send(delta(reply.message.content.clone()));
                }
                sink.send(Event::ItemUpdated {
                    item_id: reply_id.to_string(),
                    update: ItemUpdate::ContentPartDone {
                        content_index: 0,
                        content: OutputText::new(reply.message.content.clone()),
                    },
                });
                sink.send(Event::ItemDone {
                    item: item(thread_id, &reply.message),
                });
                if let Some(question) = asked(&reply) {
                    let question = question_item(thread_id, &question);
                    sink.send(Event::ItemAdded {
                        item: question.clone(),
                    });
                    sink.send(Event::ItemDone { item: question });
                }
                if reply.titled {
                    sink.send(Event::ThreadUpdated {
                        thread: thread(
                            &reply.conversation,
                            ThreadMetadata::default(),
                            Page::empty(),
                        ),
                    });
                }
            }
            Ok(Err(err)) => {
                let message = match &err {
                    TurnError::Model(_) => {
                        "The assistant did not answer. Your message is saved: try again."
                    }
                    TurnError::NotFound => "This conversation was deleted.",
                    TurnError::Busy | TurnError::LeaseLost => {
                        "The assistant is still answering in this conversation. Try again in a moment."
                    }
                    _ => "Something went wrong on our side. Try again in a moment.",
                };
                sink.send(Event::Error {
                    code: ErrorCode::Custom,
                    message: Some(message.into()),
                    allow_retry: err.retryable(),
                });
            }
            Err(panic) => {
                tracing::error!(error = %panic, "chat turn panicked");
                sink.send(Event::Error {
                    code: ErrorCode::StreamError,
                    message: None,
                    allow_retry: true,
                });
            }
        }
    });
    response
}
