//! One stateless chat turn: store the user message, load recent history, run the bounded agent loop
//! over the tool catalog, store tool traffic and the reply. Any instance can serve the next turn.

use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::{Model, ModelError, ModelMessage, ModelRequest, ToolCall};
use crate::db::{self, DbError, DbPool};
use crate::domain::{
    ChatText, Conversation, ConversationId, ConversationTitle, Message, MessageId, NewMessage,
    Role, UserId,
};
use crate::error::ApiError;
use crate::repo;
use crate::tools::{self, CATALOG, CallError, ToolError};

/// Most messages of history given to the model.
pub const HISTORY_CAP: i64 = 40;
/// Most model rounds in one turn.
pub const MAX_ROUNDS: usize = 5;
/// Most tool calls executed in one turn.
pub const MAX_TOOL_CALLS: usize = 10;

/// Progress of a turn, for streaming clients.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// More reply text.
    TextDelta(String),
    /// A tool started; `label` is a short human description.
    ToolStarted { name: String, label: String },
    /// A tool finished; `changed` is true when it changed the user's tasks.
    ToolFinished { name: String, changed: bool },
}

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("conversation not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<TurnError> for ApiError {
    fn from(err: TurnError) -> Self {
        match err {
            TurnError::NotFound => ApiError::NotFound("conversation not found".into()),
            TurnError::Db(err) => err.into(),
            TurnError::Model(err) => ApiError::ModelUnavailable(err.to_string()),
        }
    }
}

/// A turn whose user message is stored and whose model work is still to do.
#[derive(Debug, Clone)]
pub struct Begun {
    pub conversation: Conversation,
    /// The conversation was created by this turn.
    pub created: bool,
    /// A retry of an earlier message: clients already show it, so it is not announced again.
    pub retry: bool,
    pub user_message: Message,
    /// The id the reply will be stored under, known up front so streams can name it.
    pub reply_id: MessageId,
    /// History up to and including the user message.
    history: Vec<Message>,
}

/// One tool call of a turn, as the JSON chat API reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToolCallRecord {
    pub name: String,
    pub arguments: Value,
    pub result: Value,
}

/// A finished turn.
#[derive(Debug, Clone)]
pub struct Reply {
    pub message: Message,
    pub tool_calls: Vec<ToolCallRecord>,
    pub conversation: Conversation,
    /// The conversation got its title in this turn.
    pub titled: bool,
}

fn now_message(role: Role, content: String, tool_calls: Option<Value>) -> NewMessage {
    NewMessage {
        id: MessageId::generate(),
        role,
        content,
        tool_calls,
        created_at: Utc::now(),
    }
}

fn stored(message: &NewMessage) -> Message {
    Message {
        id: message.id,
        role: message.role,
        content: message.content.clone(),
        tool_calls: message.tool_calls.clone(),
        created_at: message.created_at,
    }
}

/// Stores the user's message in a new conversation or in one of theirs. Sending again the message
/// a failed turn left unanswered reuses it instead of storing a duplicate.
pub async fn begin(
    pool: &DbPool,
    user: &UserId,
    conversation: Option<ConversationId>,
    text: &ChatText,
) -> Result<Begun, TurnError> {
    let client = db::client(pool).await?;
    let Some(id) = conversation else {
        let (conversation, message) = repo::start_conversation(
            &client,
            user,
            ConversationId::generate(),
            MessageId::generate(),
            text,
        )
        .await?;
        return Ok(Begun {
            conversation,
            created: true,
            retry: false,
            user_message: message.clone(),
            reply_id: MessageId::generate(),
            history: vec![message],
        });
    };
    let conversation = repo::get_conversation(&client, user, id)
        .await?
        .ok_or(TurnError::NotFound)?;
    let mut history = repo::recent_messages(&client, user, id, HISTORY_CAP).await?;
    let unanswered = history
        .iter()
        .rposition(Message::is_visible)
        .filter(|&at| history[at].role == Role::User && history[at].content == text.as_str());
    if let Some(at) = unanswered {
        // Drop whatever the failed attempt left after it (tool traffic) and answer it now.
        if at + 1 < history.len() {
            repo::truncate_after(&client, user, id, history[at].id).await?;
            history.truncate(at + 1);
        }
        let user_message = history[at].clone();
        return Ok(Begun {
            conversation,
            created: false,
            retry: false,
            user_message,
            reply_id: MessageId::generate(),
            history,
        });
    }
    let message = now_message(Role::User, text.as_str().to_owned(), None);
    let conversation =
        repo::append_messages(&client, user, id, std::slice::from_ref(&message), None)
            .await?
            .ok_or(TurnError::NotFound)?;
    history.push(stored(&message));
    Ok(Begun {
        conversation,
        created: false,
        retry: false,
        user_message: stored(&message),
        reply_id: MessageId::generate(),
        history,
    })
}

/// Prepares to answer an existing user message again: removes everything after it.
pub async fn begin_retry(
    pool: &DbPool,
    user: &UserId,
    conversation: ConversationId,
    message: MessageId,
) -> Result<Begun, TurnError> {
    let client = db::client(pool).await?;
    let found = repo::get_conversation(&client, user, conversation)
        .await?
        .ok_or(TurnError::NotFound)?;
    if !repo::truncate_after(&client, user, conversation, message).await? {
        return Err(TurnError::NotFound);
    }
    let history = repo::recent_messages(&client, user, conversation, HISTORY_CAP).await?;
    let user_message = history
        .last()
        .filter(|m| m.id == message)
        .cloned()
        .ok_or(TurnError::NotFound)?;
    Ok(Begun {
        conversation: found,
        created: false,
        retry: true,
        user_message,
        reply_id: MessageId::generate(),
        history,
    })
}

/// The system prompt: today's date and the rules the assistant must follow.
pub fn system_prompt() -> String {
    let today = Utc::now().format("%A, %-d %B %Y");
    format!(
        "You are Smart Todo's assistant. Today is {today} (UTC). You manage the user's todo list, and only \
through the tools given to you.\n\
Rules:\n\
- After a change, confirm in one or two short sentences what was done, naming the task's id and title.\n\
- Never claim a change that no tool result shows. If a tool returned an error, say what went wrong.\n\
- Tools that change a task need its id. When the user names a task in words, call list_tasks first and \
use the id of the matching task.\n\
- If several tasks could match, ask which one (list them with their ids) instead of guessing. If none \
matches, say so.\n\
- Keep answers short. Show several tasks as a bulleted list with their ids.\n\
- Never ask for or mention user ids or accounts: the tools already act for the signed-in user."
    )
}

/// The model's view of stored messages. Starts at a user message so that a history cut by the cap
/// never begins with tool traffic whose request it does not show.
fn model_messages(history: &[Message]) -> Vec<ModelMessage> {
    let start = history
        .iter()
        .position(|m| m.role == Role::User)
        .unwrap_or(history.len());
    history[start..]
        .iter()
        .map(|m| match m.role {
            Role::User => ModelMessage::User(m.content.clone()),
            Role::Assistant => ModelMessage::Assistant {
                text: m.content.clone(),
                tool_calls: m
                    .tool_calls
                    .as_ref()
                    .and_then(|calls| serde_json::from_value(calls.clone()).ok())
                    .unwrap_or_default(),
            },
            Role::Tool => ModelMessage::Tool {
                call_id: m
                    .tool_calls
                    .as_ref()
                    .and_then(|t| t["tool_call_id"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                content: m.content.clone(),
            },
        })
        .collect()
}

fn label(tool: &str) -> &'static str {
    match tool {
        "add_task" => "Adding a task",
        "list_tasks" => "Reading your tasks",
        "get_task" => "Looking at a task",
        "complete_task" => "Completing a task",
        "reopen_task" => "Reopening a task",
        "update_task" => "Updating a task",
        "delete_task" => "Deleting a task",
        _ => "Working",
    }
}

/// Runs one tool for the user; failures become a result the model can read.
async fn run_tool(pool: &DbPool, user: &UserId, call: &ToolCall) -> (Value, Value, bool) {
    let arguments: Value =
        serde_json::from_str(&call.arguments).unwrap_or(Value::String(call.arguments.clone()));
    let outcome = match &arguments {
        Value::String(_) => Err(CallError::BadArguments {
            tool: "tool",
            message: "arguments are not JSON".into(),
        }),
        args => tools::call(pool, user, &call.name, args.clone()).await,
    };
    match outcome {
        Ok(result) => (arguments, result, true),
        Err(CallError::Tool(ToolError::Db(err))) => {
            tracing::error!(error = ?err, tool = %call.name, "tool failed on the database");
            (
                arguments,
                json!({"error": "the task list is unavailable right now; try again shortly"}),
                false,
            )
        }
        Err(err) => (arguments, json!({"error": err.to_string()}), false),
    }
}

/// Answers a begun turn: at most [`MAX_ROUNDS`] model rounds and [`MAX_TOOL_CALLS`] tool calls.
/// Tool traffic is stored after each round and the reply at the end; when the model fails, what
/// was stored stays and the user message can be answered again.
pub async fn respond(
    pool: &DbPool,
    model: &Model,
    user: &UserId,
    begun: &Begun,
    events: &mpsc::UnboundedSender<TurnEvent>,
    deadline: Option<Instant>,
) -> Result<Reply, TurnError> {
    let system = system_prompt();
    let mut messages = model_messages(&begun.history);
    let mut records = vec![];
    let mut text = String::new();
    let mut calls_made = 0;
    let on_delta = |delta: String| {
        let _ = events.send(TurnEvent::TextDelta(delta));
    };

    for round in 0..MAX_ROUNDS {
        let request = ModelRequest {
            system: &system,
            messages: &messages,
            tools: &CATALOG,
        };
        let reply = match deadline {
            Some(at) => tokio::time::timeout_at(at.into(), model.complete(request, &on_delta))
                .await
                .map_err(|_| ModelError::Timeout)??,
            None => model.complete(request, &on_delta).await?,
        };
        text.push_str(&reply.text);
        if reply.tool_calls.is_empty() {
            break;
        }
        if round + 1 == MAX_ROUNDS {
            let note = "I stopped there: that took more steps than I can take in one reply.";
            on_delta(note.to_owned());
            text.push_str(note);
            break;
        }
        let mut rows = vec![now_message(
            Role::Assistant,
            reply.text.clone(),
            Some(json!(reply.tool_calls)),
        )];
        messages.push(ModelMessage::Assistant {
            text: reply.text.clone(),
            tool_calls: reply.tool_calls.clone(),
        });
        for call in &reply.tool_calls {
            let (arguments, result) = if calls_made >= MAX_TOOL_CALLS {
                (
                    Value::Null,
                    json!({"error": "too many tool calls in one turn"}),
                )
            } else {
                calls_made += 1;
                let _ = events.send(TurnEvent::ToolStarted {
                    name: call.name.clone(),
                    label: label(&call.name).into(),
                });
                let (arguments, result, ok) = run_tool(pool, user, call).await;
                let read_only = tools::spec(&call.name).is_none_or(|s| s.read_only);
                let _ = events.send(TurnEvent::ToolFinished {
                    name: call.name.clone(),
                    changed: ok && !read_only,
                });
                (arguments, result)
            };
            let content = result.to_string();
            rows.push(now_message(
                Role::Tool,
                content.clone(),
                Some(json!({"tool_call_id": call.id, "name": call.name})),
            ));
            records.push(ToolCallRecord {
                name: call.name.clone(),
                arguments,
                result,
            });
            messages.push(ModelMessage::Tool {
                call_id: call.id.clone(),
                content,
            });
        }
        let client = db::client(pool).await?;
        repo::append_messages(&client, user, begun.conversation.id, &rows, None)
            .await?
            .ok_or(TurnError::NotFound)?;
    }

    if text.trim().is_empty() {
        text = "Done.".into();
    }
    let reply = NewMessage {
        id: begun.reply_id,
        ..now_message(Role::Assistant, text, None)
    };
    let title = begun.conversation.title.is_none().then(|| {
        ConversationTitle::from_message(
            &ChatText::parse(&begun.user_message.content)
                .unwrap_or_else(|_| ChatText::parse("New conversation").expect("a valid literal")),
        )
    });
    let client = db::client(pool).await?;
    let conversation = repo::append_messages(
        &client,
        user,
        begun.conversation.id,
        std::slice::from_ref(&reply),
        title.as_ref(),
    )
    .await?
    .ok_or(TurnError::NotFound)?;
    let titled = begun.conversation.title.is_none() && conversation.title.is_some();
    Ok(Reply {
        message: stored(&reply),
        tool_calls: records,
        conversation,
        titled,
    })
}
