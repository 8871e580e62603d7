//! A chat turn as a stored record (docs/turns.md).
//!
//! [`begin`] decides, under the conversation's row lock, what a request means: a new turn, the
//! continuation of one that failed, the replay of one that is done (same `Idempotency-Key`), or a
//! conflict with one that is running. [`respond`] then runs the bounded agent loop. Every write of
//! the turn is fenced by its attempt number, and each tool's effect commits in one transaction with
//! the stored record of its result, so a retried or resent turn continues from those records and
//! no tool call that succeeded ever runs again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::TryFutureExt;
use serde_json::{Value, json};
use smart_todo_shared::config::Limits;
use smart_todo_shared::db::{self, DbError, DbPool};
use smart_todo_shared::domain::{
    ChatText, Conversation, ConversationId, ConversationTitle, IdempotencyKey, Message, MessageId,
    NewMessage, Role, Turn, TurnId, TurnStatus, UserId,
};
use smart_todo_shared::history::Origin;

use super::honesty::{self, Achieved, Gate};
use smart_todo_shared::repo::UserContext;
use smart_todo_shared::repo::{self, NewTurn};
use smart_todo_shared::tools::{self, CallError, Tool, ToolError};
use smart_todo_shared::{ApiError, AppState};
use tokio::sync::mpsc;

use super::model::{Model, ModelError, ModelMessage, ModelReply, ModelRequest, ToolCall};

/// Most stored messages read for the model's history; what it is sent is then bounded by the
/// token budget (`CHAT_HISTORY_TOKENS`, [`fit_history`]).
pub const HISTORY_ROWS: i64 = 200;
/// Most model rounds in one turn.
pub const MAX_ROUNDS: usize = 5;
/// Most tool calls executed in one turn.
pub const MAX_TOOL_CALLS: usize = 30;
/// How long a running turn holds its conversation without renewing: longer than its longest step
/// (one model round, bounded by the model's 60 s timeout). A function that died is taken over
/// once it has lapsed; one that failed frees the conversation at once.
pub const LEASE: Duration = Duration::from_secs(90);
/// What `Retry-After` tells a client whose conversation is busy: turns take seconds.
pub const BUSY_RETRY_SECS: u64 = 2;
/// How long a failed turn keeps trying to mark itself failed while the database is down.
const RELEASE_PATIENCE: Duration = Duration::from_secs(6);

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

/// Why a turn could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("conversation not found")]
    NotFound,
    #[error("message not found")]
    MessageNotFound,
    #[error("the assistant is still answering in this conversation; try again in a moment")]
    Busy,
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error(
        "only the latest message can be answered again; send your question again as a new message instead"
    )]
    NotLatest,
    #[error("another attempt took this turn over")]
    LeaseLost,
    /// Over a per-user limit.
    #[error("{message}")]
    Limited {
        message: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<tokio_postgres::Error> for TurnError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Db(err.into())
    }
}

impl TurnError {
    /// Whether sending the same request again can help.
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            Self::NotFound | Self::MessageNotFound | Self::KeyReused | Self::NotLatest
        )
    }
}

impl From<TurnError> for ApiError {
    fn from(err: TurnError) -> Self {
        match err {
            TurnError::NotFound => ApiError::NotFound("conversation not found".into()),
            TurnError::MessageNotFound => ApiError::NotFound("message not found".into()),
            TurnError::Busy | TurnError::LeaseLost => ApiError::Busy {
                message: TurnError::Busy.to_string(),
                retry_after_secs: BUSY_RETRY_SECS,
            },
            TurnError::KeyReused => ApiError::invalid("Idempotency-Key", err.to_string()),
            TurnError::NotLatest => ApiError::Conflict(err.to_string()),
            TurnError::Limited {
                message,
                retry_after_secs,
            } => ApiError::TooManyRequests {
                message,
                retry_after_secs,
            },
            TurnError::Db(err) => err.into(),
            TurnError::Model(err) => ApiError::ModelUnavailable(err.to_string()),
        }
    }
}

/// What a client asked for: a message, in a conversation or a new one, with an optional key.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub conversation: Option<ConversationId>,
    pub text: ChatText,
    pub key: Option<IdempotencyKey>,
    /// Which API asked (`api`, `chatkit`): part of what a key is bound to.
    pub channel: &'static str,
}

impl TurnRequest {
    /// SHA-256 of what the key is bound to: the channel, the conversation and the text.
    fn fingerprint(&self) -> String {
        let conversation = self
            .conversation
            .map(|id| id.to_string())
            .unwrap_or_default();
        let material = format!("{}\n{conversation}\n{}", self.channel, self.text.as_str());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, material.as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A turn this caller now runs (a new one, or the next attempt of an earlier one).
#[derive(Debug, Clone)]
pub struct Begun {
    pub conversation: Conversation,
    /// The conversation was created by this request (or by the request this one repeats).
    pub created: bool,
    /// The user message is new to clients and should be announced (false for a retry).
    pub announce: bool,
    pub user_message: Message,
    pub turn: Turn,
    /// The id the reply will be stored under, known up front so streams can name it.
    pub reply_id: MessageId,
    /// The conversation's newest messages, up to this turn's question, when [`begin`] read them
    /// with its decision (saving the turn a round trip); `None` to read them when it runs.
    pub history: Option<Vec<Message>>,
    /// The user's time zone and lists, when [`begin`] read them with its decision; `None` to
    /// read them when the turn runs.
    pub context: Option<UserContext>,
    /// The message answers the conversation's open question by a button (ChatKit structured
    /// input), not in words: the turn calls `confirm_change` with this answer before the model
    /// speaks, so a press never depends on how the model reads "Yes".
    pub answer: Option<tools::Answer>,
}

/// A finished turn named again by its idempotency key: what it answered.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub conversation: Conversation,
    pub created: bool,
    pub user_message: Message,
    pub reply: Option<Message>,
    /// The stored `POST /api/chat` answer.
    pub response: Value,
}

/// What [`begin`] decided.
#[derive(Debug, Clone)]
pub enum Start {
    Run(Box<Begun>),
    Replay(Box<Replayed>),
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
    /// What `POST /api/chat` answers (and replays).
    pub response: Value,
}

/// Decides what a request means and records it: a new turn, a continued one, a replay or a
/// conflict. Runs in one transaction holding the conversation's row lock, in two round trips:
/// everything the decision reads (and the model's history) goes out at once behind the lock, and
/// the new message and turn go out with the COMMIT. A refusal rolls back what the first trip wrote
/// (the turn's count against the quota).
pub async fn begin(
    pool: &DbPool,
    limits: &Limits,
    user: &UserId,
    request: &TurnRequest,
) -> Result<Start, TurnError> {
    let fingerprint = request.fingerprint();
    let tx = db::client(pool).await?.pipeline();
    let keyed = async {
        match &request.key {
            Some(key) => repo::turn_by_key(&tx, user, key).await,
            None => Ok(None),
        }
    };
    let quota = repo::count_turn(
        &tx,
        user,
        limits.chat_turns_per_minute,
        limits.chat_turns_per_day,
    );
    let new_turn = |conversation: ConversationId, message: MessageId| NewTurn {
        id: TurnId::generate(),
        conversation,
        user_message: message,
        key: request.key.as_ref(),
        request_hash: Some(fingerprint.as_str()),
        lease: LEASE,
    };

    let Some(id) = request.conversation else {
        let (keyed, quota, conversations, context) = tokio::try_join!(
            biased;
            keyed,
            quota,
            repo::count_conversations(&tx, user),
            repo::get_context(&tx, user),
        )?;
        if keyed.is_some() {
            drop(tx);
            return begin_keyed(pool, limits, user, request, &fingerprint).await;
        }
        allowed(limits, quota)?;
        if conversations >= limits.conversations_per_user {
            return Err(TurnError::Limited {
                message: format!(
                    "you have {} conversations, the most allowed; delete some to start another",
                    limits.conversations_per_user
                ),
                retry_after_secs: TOTAL_RETRY_SECS,
            });
        }
        let conversation = ConversationId::generate();
        let message = NewMessage::new(Role::User, request.text.as_str(), None);
        let turn = new_turn(conversation, message.id);
        let (_, (conversation, user_message), turn, ()) = tokio::try_join!(
            biased;
            repo::insert_conversation(&tx, user, conversation).err_into(),
            append_one(&tx, user, conversation, message, None),
            insert_turn(&tx, user, &turn),
            tx.commit().err_into(),
        )?;
        let history = vec![user_message.clone()];
        return Ok(run(
            conversation,
            true,
            true,
            user_message,
            turn,
            Some(history),
            Some(context),
        ));
    };

    let (locked, keyed, _, running, quota, last, messages, mut history, context) = tokio::try_join!(
        biased;
        repo::lock_conversation(&tx, user, id),
        keyed,
        repo::expire_lapsed_turns(&tx, id),
        repo::running_turn(&tx, user, id),
        quota,
        repo::last_visible_message(&tx, user, id),
        repo::count_messages(&tx, user, id),
        repo::recent_messages(&tx, user, id, HISTORY_ROWS),
        repo::get_context(&tx, user),
    )?;
    let conversation = locked.ok_or(TurnError::NotFound)?;
    if keyed.is_some() {
        drop(tx);
        return begin_keyed(pool, limits, user, request, &fingerprint).await;
    }
    if running.is_some() {
        return Err(TurnError::Busy);
    }
    allowed(limits, quota)?;
    // Sending again the message a failed turn left unanswered continues that turn.
    if let Some(last) = last
        && last.role == Role::User
        && last.content == request.text.as_str()
    {
        let turn = match repo::turn_for_message(&tx, user, last.id).await? {
            Some(turn) => restart(&tx, user, turn.id).await?,
            // Stored before turns existed.
            None => insert_turn(&tx, user, &new_turn(conversation.id, last.id)).await?,
        };
        tx.commit().await?;
        return Ok(run(
            conversation,
            false,
            true,
            last,
            turn,
            Some(history),
            Some(context),
        ));
    }
    if messages >= limits.messages_per_conversation {
        return Err(conversation_full());
    }
    let message = NewMessage::new(Role::User, request.text.as_str(), None);
    let turn = new_turn(conversation.id, message.id);
    let ((conversation, user_message), turn, ()) = tokio::try_join!(
        biased;
        append_one(&tx, user, conversation.id, message, None),
        insert_turn(&tx, user, &turn),
        tx.commit().err_into(),
    )?;
    history.push(user_message.clone());
    if history.len() > HISTORY_ROWS as usize {
        history.remove(0);
    }
    Ok(run(
        conversation,
        false,
        true,
        user_message,
        turn,
        Some(history),
        Some(context),
    ))
}

/// A request whose key names a stored turn: the decision as [`begin`] makes it, one statement at
/// a time (a resent request is rare; its first trip was rolled back).
async fn begin_keyed(
    pool: &DbPool,
    limits: &Limits,
    user: &UserId,
    request: &TurnRequest,
    fingerprint: &str,
) -> Result<Start, TurnError> {
    let tx = db::client(pool).await?.pipeline();
    let locked = match request.conversation {
        Some(id) => Some(
            repo::lock_conversation(&tx, user, id)
                .await?
                .ok_or(TurnError::NotFound)?,
        ),
        None => None,
    };
    let key = request.key.as_ref().expect("a keyed request");
    let Some(turn) = repo::turn_by_key(&tx, user, key).await? else {
        // Its conversation was deleted a moment ago, and the key with it.
        return Err(TurnError::NotFound);
    };
    if turn.request_hash.as_deref() != Some(fingerprint) {
        return Err(TurnError::KeyReused);
    }
    let conversation = match locked {
        Some(conversation) => conversation,
        None => repo::lock_conversation(&tx, user, turn.conversation_id)
            .await?
            .ok_or(TurnError::NotFound)?,
    };
    let created = request.conversation.is_none();
    let start = resume_keyed(&tx, limits, user, conversation, turn, created).await?;
    tx.commit().await?;
    Ok(start)
}

/// Seconds after which a per-user total (not a rate) is worth trying again.
const TOTAL_RETRY_SECS: u64 = 3600;

/// Counts the turn against the per-minute and per-day limits (in the caller's transaction).
async fn check_turn_quota(
    db: &impl db::Executor,
    limits: &Limits,
    user: &UserId,
) -> Result<(), TurnError> {
    let quota = repo::count_turn(
        db,
        user,
        limits.chat_turns_per_minute,
        limits.chat_turns_per_day,
    )
    .await?;
    allowed(limits, quota)
}

/// What the per-minute and per-day counts mean for the turn.
fn allowed(limits: &Limits, quota: repo::TurnQuota) -> Result<(), TurnError> {
    match quota {
        repo::TurnQuota::Allowed => Ok(()),
        repo::TurnQuota::PerMinute { retry_after_secs } => Err(TurnError::Limited {
            message: format!(
                "that is more than {} messages a minute; try again in {retry_after_secs} s",
                limits.chat_turns_per_minute
            ),
            retry_after_secs,
        }),
        repo::TurnQuota::PerDay { retry_after_secs } => Err(TurnError::Limited {
            message: format!(
                "you have sent {} messages today, the most allowed; the count starts again at midnight UTC",
                limits.chat_turns_per_day
            ),
            retry_after_secs,
        }),
    }
}

fn conversation_full() -> TurnError {
    TurnError::Limited {
        message: "this conversation is full; start a new one".into(),
        retry_after_secs: TOTAL_RETRY_SECS,
    }
}

/// Prepares to answer the conversation's newest user message again (ChatKit's
/// `threads.retry_after_item`): its reply goes, the effects of its tools stay.
pub async fn begin_retry(
    pool: &DbPool,
    limits: &Limits,
    user: &UserId,
    conversation: ConversationId,
    item: MessageId,
) -> Result<Begun, TurnError> {
    // A rare path: its statements go one trip each, inside one transaction.
    let tx = db::client(pool).await?.pipeline();
    let conversation = repo::lock_conversation(&tx, user, conversation)
        .await?
        .ok_or(TurnError::NotFound)?;
    let message = repo::get_message(&tx, user, conversation.id, item)
        .await?
        .filter(|m| m.role == Role::User)
        .ok_or(TurnError::MessageNotFound)?;
    repo::expire_lapsed_turns(&tx, conversation.id).await?;
    if repo::running_turn(&tx, user, conversation.id)
        .await?
        .is_some()
    {
        return Err(TurnError::Busy);
    }
    let newest = repo::last_user_message(&tx, user, conversation.id).await?;
    if newest.as_ref().map(|m| m.id) != Some(message.id) {
        return Err(TurnError::NotLatest);
    }
    check_turn_quota(&tx, limits, user).await?;
    repo::delete_replies_after(&tx, user, conversation.id, message.seq).await?;
    let turn = match repo::turn_for_message(&tx, user, message.id).await? {
        Some(turn) => restart(&tx, user, turn.id).await?,
        None => {
            let new = NewTurn {
                id: TurnId::generate(),
                conversation: conversation.id,
                user_message: message.id,
                key: None,
                request_hash: None,
                lease: LEASE,
            };
            insert_turn(&tx, user, &new).await?
        }
    };
    tx.commit().await?;
    let Start::Run(begun) = run(conversation, false, false, message, turn, None, None) else {
        unreachable!("run() always starts a turn")
    };
    Ok(*begun)
}

fn run(
    conversation: Conversation,
    created: bool,
    announce: bool,
    user_message: Message,
    turn: Turn,
    history: Option<Vec<Message>>,
    context: Option<UserContext>,
) -> Start {
    Start::Run(Box::new(Begun {
        conversation,
        created,
        announce,
        user_message,
        turn,
        reply_id: MessageId::generate(),
        history,
        context,
        answer: None,
    }))
}

/// The request repeats one whose key names `turn`: replay it, continue it, or wait for it.
async fn resume_keyed(
    db: &impl db::Executor,
    limits: &Limits,
    user: &UserId,
    conversation: Conversation,
    turn: Turn,
    created: bool,
) -> Result<Start, TurnError> {
    let user_message = repo::get_message(db, user, conversation.id, turn.user_message_id)
        .await?
        .ok_or(TurnError::MessageNotFound)?;
    match turn.status {
        TurnStatus::Done => {
            let reply = match turn.reply_message_id {
                Some(id) => repo::get_message(db, user, conversation.id, id).await?,
                None => None,
            };
            Ok(Start::Replay(Box::new(Replayed {
                conversation,
                created,
                user_message,
                reply,
                response: turn.response.unwrap_or(Value::Null),
            })))
        }
        _ if turn.is_live() => Err(TurnError::Busy),
        _ => {
            check_turn_quota(db, limits, user).await?;
            let turn = restart(db, user, turn.id).await?;
            Ok(run(
                conversation,
                created,
                true,
                user_message,
                turn,
                None,
                None,
            ))
        }
    }
}

async fn restart(db: &impl db::Executor, user: &UserId, turn: TurnId) -> Result<Turn, TurnError> {
    match repo::restart_turn(db, user, turn, LEASE).await {
        Ok(Some(turn)) => Ok(turn),
        Ok(None) | Err(DbError::Conflict { .. }) => Err(TurnError::Busy),
        Err(err) => Err(err.into()),
    }
}

async fn insert_turn(
    db: &impl db::Executor,
    user: &UserId,
    turn: &NewTurn<'_>,
) -> Result<Turn, TurnError> {
    match repo::insert_turn(db, user, turn).await {
        Ok(turn) => Ok(turn),
        // Another request started a turn here, or with this key, a moment ago.
        Err(DbError::Conflict { .. }) => Err(TurnError::Busy),
        Err(err) => Err(err.into()),
    }
}

async fn append_one(
    db: &impl db::Executor,
    user: &UserId,
    conversation: ConversationId,
    message: NewMessage,
    title: Option<&ConversationTitle>,
) -> Result<(Conversation, Message), TurnError> {
    let (conversation, mut stored) = repo::append_messages(
        db,
        user,
        conversation,
        std::slice::from_ref(&message),
        title,
    )
    .await?
    .ok_or(TurnError::NotFound)?;
    let message = stored.pop().ok_or(TurnError::NotFound)?;
    Ok((conversation, message))
}

/// The system prompt: the date and time where the user is, their lists, and the rules the
/// assistant follows.
pub fn system_prompt(resumed: bool, context: &UserContext, now: chrono::DateTime<Utc>) -> String {
    let zone = context.zone;
    let local = now.with_timezone(&zone.tz());
    let today = local.format("%A, %-d %B %Y, %H:%M");
    let offset = local.format("%:z");
    let list = Tool::ListTasks.name();
    let mut prompt = format!(
        "You are Smart Todo's assistant. It is {today} in the user's time zone, {zone} (UTC{offset}). \
You manage the user's todo list, and only through the tools given to you.\n\
Rules:\n\
- Pass due dates to the tools in the user's words (\"tomorrow 5pm\", \"every monday at 9\"): the tools \
read them in the user's time zone. Name dates in replies as the tool results show them.\n\
- After a change, confirm in one or two short sentences what was done, naming the task's id and title.\n\
- Never claim a change that no tool result shows. If a tool returned an error, say what went wrong.\n\
- Tools that change a task need its id. When the user names a task in words, call {find} with those \
words first and use the id of its one match.\n\
- If {find} answers several matches, ask which one (list them with their ids, lists and due dates) \
instead of guessing. If it answers none, say so and offer its closest tasks, if any.\n\
- Keep answers short. Show several tasks as a bulleted list with their ids.\n\
- Never ask for or mention user ids or accounts: the tools already act for the signed-in user.\n\
- Give each task's priority, list and tags as their own arguments (\"urgent\" is priority high, \
\"#errands\" the tag errands, \"my shopping list\" the list Shopping), never inside the title. \
A list name the user does not have yet creates that list. To answer about due dates, use {list} \
with view today, overdue, upcoming or no_date; to find tasks by words, its q. When a {list} result \
has a next_cursor, it shows one page of total: say so, or read on with the cursor.\n\
- \"Undo\", \"undo that\" or \"put it back\" is {undo}: it reverses the user's latest change, \
whatever made it (deleted tasks wait in a trash for 30 days; {restore} brings one back by id). \
Questions about what changed are {activity}.\n\
- To delete, complete or reopen several tasks at once, call {bulk} (never one call per task for a \
request about many): ask its question word for word and stop. When the next message is yes or no, \
call {confirm} with it.",
        undo = Tool::UndoLastChange.name(),
        find = Tool::FindTask.name(),
        bulk = Tool::ChangeTasks.name(),
        confirm = Tool::ConfirmChange.name(),
        restore = Tool::RestoreTask.name(),
        activity = Tool::Activity.name(),
    );
    prompt.push_str(&match context.lists.as_slice() {
        [] => "\nThe user has no lists besides the Inbox.".to_owned(),
        names => format!(
            "\nThe user's lists besides the Inbox: {}.",
            names
                .iter()
                .map(|name| format!("\"{name}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    if resumed {
        prompt.push_str(
            "\n- This reply was interrupted and is being resumed. The tool results already in the \
conversation happened: do not call those tools again for the same request; continue from them.",
        );
    }
    prompt
}

/// The calls an assistant message asked for.
fn calls_of(message: &Message) -> Vec<ToolCall> {
    message
        .tool_calls
        .as_ref()
        .and_then(|calls| serde_json::from_value(calls.clone()).ok())
        .unwrap_or_default()
}

/// The model's view of stored messages, always well-formed: it starts at a user message, every
/// assistant message with tool calls is followed by exactly the results of those calls (calls
/// without a stored result are left out), and no tool result stands alone.
pub fn model_messages(history: &[Message]) -> Vec<ModelMessage> {
    let start = history
        .iter()
        .position(|m| m.role == Role::User)
        .unwrap_or(history.len());
    let history = &history[start..];
    let mut out = Vec::with_capacity(history.len());
    let mut at = 0;
    while at < history.len() {
        let message = &history[at];
        at += 1;
        match message.role {
            Role::User => out.push(ModelMessage::User(message.content.clone())),
            Role::Tool => {} // not directly after its request: unusable
            Role::Assistant if message.tool_calls.is_none() => out.push(ModelMessage::Assistant {
                text: message.content.clone(),
                tool_calls: vec![],
            }),
            Role::Assistant => {
                let calls = calls_of(message);
                let mut results = vec![];
                while at < history.len() && history[at].role == Role::Tool {
                    results.push(&history[at]);
                    at += 1;
                }
                let mut answered = vec![];
                let mut contents = vec![];
                let mut seen = HashSet::new();
                for call in &calls {
                    if !seen.insert(call.id.as_str()) {
                        continue;
                    }
                    if let Some(result) = results
                        .iter()
                        .find(|r| r.tool_call_id.as_deref() == Some(call.id.as_str()))
                    {
                        answered.push(call.clone());
                        contents.push(ModelMessage::Tool {
                            call_id: call.id.clone(),
                            content: result.content.clone(),
                        });
                    }
                }
                if answered.is_empty() {
                    if !message.content.trim().is_empty() {
                        out.push(ModelMessage::Assistant {
                            text: message.content.clone(),
                            tool_calls: vec![],
                        });
                    }
                    continue;
                }
                out.push(ModelMessage::Assistant {
                    text: message.content.clone(),
                    tool_calls: answered,
                });
                out.extend(contents);
            }
        }
    }
    out
}

/// Tool results of earlier turns in their compact form (see [`compact_result`]); the current
/// turn's results stay whole. The stored rows, and what users see, are never changed.
pub fn compact_earlier_results(mut history: Vec<Message>, current: TurnId) -> Vec<Message> {
    for message in &mut history {
        if message.role == Role::Tool
            && message.turn_id != Some(current)
            && let Some(compact) = compact_result(&message.content)
        {
            message.content = compact;
        }
    }
    history
}

/// A task list result as one line per task (id, title, state), which is what a later turn needs
/// of it: about a tenth of the JSON. `None` for any other result (they are small).
pub fn compact_result(content: &str) -> Option<String> {
    let value: Value = serde_json::from_str(content).ok()?;
    let tasks = value.get("tasks")?.as_array()?;
    let shown = tasks.len() as i64;
    let total = value.get("total").and_then(Value::as_i64).unwrap_or(shown);
    let mut out = if total > shown {
        format!(
            "Earlier list_tasks result, compacted to id, title and state ({shown} of {total} \
             matching tasks):"
        )
    } else {
        format!("Earlier list_tasks result, compacted to id, title and state ({shown} tasks):")
    };
    for task in tasks {
        let id = task.get("id").and_then(Value::as_i64)?;
        let title = task.get("title").and_then(Value::as_str)?;
        let state = match task.get("completed").and_then(Value::as_bool) {
            Some(true) => "completed",
            _ => "pending",
        };
        out.push_str(&format!("\n#{id} {title} ({state})"));
    }
    Some(out)
}

/// The estimated tokens of a message: about four bytes per token, plus the few tokens of framing
/// every message costs. An estimate on purpose: the budget bounds cost, it need not be exact.
pub fn estimated_tokens(message: &ModelMessage) -> usize {
    let bytes = match message {
        ModelMessage::User(text) => text.len(),
        ModelMessage::Assistant { text, tool_calls } => {
            text.len()
                + tool_calls
                    .iter()
                    .map(|c| c.id.len() + c.name.len() + c.arguments.len() + 8)
                    .sum::<usize>()
        }
        ModelMessage::Tool { call_id, content } => call_id.len() + content.len(),
    };
    bytes.div_ceil(4) + 4
}

/// The newest part of a well-formed history that fits `budget` estimated tokens, cut only where a
/// user message starts, so a tool call never loses its results and the model never sees an
/// answer without its question. The newest user message and what follows it are always kept,
/// whatever their size.
pub fn fit_history(messages: Vec<ModelMessage>, budget: usize) -> Vec<ModelMessage> {
    let mut start = messages.len();
    let mut spent = 0;
    let mut kept_a_question = false;
    for at in (0..messages.len()).rev() {
        spent += estimated_tokens(&messages[at]);
        if !matches!(messages[at], ModelMessage::User(_)) {
            continue;
        }
        if spent > budget && kept_a_question {
            break;
        }
        start = at;
        kept_a_question = true;
        if spent > budget {
            break;
        }
    }
    if !kept_a_question {
        return messages;
    }
    messages.into_iter().skip(start).collect()
}

/// Parses a call's arguments: empty means `{}`; text that is not JSON is kept as a string.
fn arguments_of(call: &ToolCall) -> Value {
    if call.arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(&call.arguments).unwrap_or_else(|_| Value::String(call.arguments.clone()))
}

/// The calls and stored results of a turn, paired, for the JSON answer.
fn records_of(messages: &[Message]) -> Vec<ToolCallRecord> {
    let mut records = vec![];
    for message in messages.iter().filter(|m| m.role == Role::Assistant) {
        for call in calls_of(message) {
            if let Some(result) = messages
                .iter()
                .find(|m| m.role == Role::Tool && m.tool_call_id.as_deref() == Some(&call.id))
            {
                records.push(ToolCallRecord {
                    name: call.name.clone(),
                    arguments: arguments_of(&call),
                    result: serde_json::from_str(&result.content)
                        .unwrap_or(Value::String(result.content.clone())),
                });
            }
        }
    }
    records
}

/// Gives every call an id no other call of the turn has: results are keyed by it, and some
/// OpenAI-compatible servers number calls from `call_0` in every round.
fn unique_ids(calls: Vec<ToolCall>, stored: &[Message]) -> Vec<ToolCall> {
    let mut used: HashSet<String> = stored
        .iter()
        .filter_map(|m| m.tool_call_id.clone())
        .collect();
    calls
        .into_iter()
        .map(|mut call| {
            if call.id.is_empty() {
                call.id = "call".into();
            }
            let base = call.id.clone();
            let mut n = 1;
            while !used.insert(call.id.clone()) {
                n += 1;
                call.id = format!("{base}_{n}");
            }
            call
        })
        .collect()
}

/// Adds a round's text to the reply, separating rounds by a blank line.
fn join_text(text: &mut String, more: &str) {
    if more.trim().is_empty() {
        return;
    }
    if !text.trim().is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(more);
}

/// Answers a begun turn: at most [`MAX_ROUNDS`] model rounds and [`MAX_TOOL_CALLS`] tool calls in
/// all its attempts. When it fails, the turn is marked failed (the conversation is free again) and
/// what it stored stays: sending the message again continues from there.
pub async fn respond(
    app: &AppState,
    model: &Model,
    user: &UserId,
    begun: &Begun,
    events: &mpsc::UnboundedSender<TurnEvent>,
    deadline: Option<Instant>,
) -> Result<Reply, TurnError> {
    let runner = Runner {
        pool: &app.pool,
        limits: &app.limits,
        user,
        begun,
        events,
        renewed_at: std::sync::Mutex::new(Instant::now()),
        results: std::sync::Mutex::default(),
    };
    let result = runner.run(model, deadline).await;
    if let Err(err) = &result {
        tracing::warn!(error = %err, turn_id = %begun.turn.id, "chat turn failed");
        if !matches!(err, TurnError::LeaseLost | TurnError::NotFound) {
            runner.release().await;
        }
    }
    result
}

struct Runner<'a> {
    pool: &'a DbPool,
    limits: &'a Limits,
    user: &'a UserId,
    begun: &'a Begun,
    events: &'a mpsc::UnboundedSender<TurnEvent>,
    /// When this attempt last renewed its lease (it took it just before running).
    renewed_at: std::sync::Mutex<Instant>,
    /// Tool results stored as [`PENDING_RESULT`] whose content goes out with the next trip.
    results: std::sync::Mutex<Vec<(MessageId, String)>>,
}

/// What a tool call's record holds from the trip that ran it until its result is written with
/// the turn's next one; an attempt that died in between leaves it, and the model reads it.
pub const PENDING_RESULT: &str = r#"{"note":"this call ran, but its result was not kept; list the tasks to see where things stand"}"#;

/// A lease renewed more recently than this still outlasts the longest step (one model round).
const RENEW_AFTER: Duration = Duration::from_secs(LEASE.as_secs() / 3);

impl Runner<'_> {
    fn renewed(&self) {
        *self.renewed_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// Whether the lease must be renewed before a model round.
    fn lease_is_old(&self) -> bool {
        self.renewed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            >= RENEW_AFTER
    }

    fn turn(&self) -> TurnId {
        self.begun.turn.id
    }

    fn attempt(&self) -> i32 {
        self.begun.turn.attempt
    }

    fn conversation(&self) -> ConversationId {
        self.begun.conversation.id
    }

    /// Extends the lease inside `db`'s transaction; an attempt that no longer holds the turn stops.
    async fn fence(&self, db: &impl db::Executor) -> Result<(), TurnError> {
        if repo::renew_lease(db, self.turn(), self.attempt(), LEASE).await? {
            self.renewed();
            return Ok(());
        }
        // The conversation was deleted (its turns went with it), or another attempt took over.
        match repo::get_conversation(db, self.user, self.conversation()).await? {
            None => Err(TurnError::NotFound),
            Some(_) => Err(TurnError::LeaseLost),
        }
    }

    /// Marks the attempt failed, trying for a few seconds while the database is unreachable, so
    /// that the next request can continue the turn at once instead of waiting for the lease.
    async fn release(&self) {
        let until = Instant::now() + RELEASE_PATIENCE;
        let mut pause = Duration::from_millis(100);
        loop {
            // The results of calls that ran go with it: a resend continues from them.
            let results = self.take_results();
            let outcome = match db::client(self.pool).await {
                Ok(client) => {
                    let tx = client.pipeline();
                    let released = tokio::try_join!(
                        biased;
                        self.write_results(&tx, &results),
                        repo::fail_turn(&tx, self.turn(), self.attempt()),
                        tx.commit().err_into(),
                    );
                    released.map(|_| ())
                }
                Err(err) => Err(err),
            };
            if outcome.is_err() {
                self.keep_results(results);
            }
            match outcome {
                Ok(_) => return,
                Err(DbError::Unavailable(_)) if Instant::now() + pause < until => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(err) => {
                    tracing::warn!(error = %err, turn_id = %self.turn(),
                        "could not mark the turn failed; its lease will lapse");
                    return;
                }
            }
        }
    }

    async fn run(&self, model: &Model, deadline: Option<Instant>) -> Result<Reply, TurnError> {
        // A turn's first attempt starts with nothing stored; a later one reads what earlier
        // attempts stored (a retry removed their reply).
        let fresh = self.begun.turn.attempt == 1;
        let mut stored = if fresh {
            vec![]
        } else {
            let client = db::client(self.pool).await?;
            repo::turn_messages(&client, self.user, self.turn()).await?
        };
        let mut rounds = stored
            .iter()
            .filter(|m| m.role == Role::Assistant && m.tool_calls.is_some())
            .count();
        let mut calls_made = stored.iter().filter(|m| m.role == Role::Tool).count();
        let resumed = !stored.is_empty();
        let mut text = String::new();
        for message in stored.iter().filter(|m| m.role == Role::Assistant) {
            join_text(&mut text, &message.content);
        }

        // Calls an earlier attempt asked for but did not get to: their effects never happened
        // (an effect commits with its record), so they run now — and only they.
        if let Some(last) = stored
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant && m.tool_calls.is_some())
            .cloned()
        {
            let answered: HashSet<String> = stored
                .iter()
                .filter_map(|m| m.tool_call_id.clone())
                .collect();
            for call in calls_of(&last) {
                if !answered.contains(&call.id) {
                    let (_, result) = self.execute(&call, calls_made, None).await?;
                    calls_made += 1;
                    stored.push(result);
                }
            }
        }

        let history = match &self.begun.history {
            // Read with the decision; what earlier attempts stored is in it already.
            Some(history) => history.clone(),
            None => {
                let client = db::client(self.pool).await?;
                repo::recent_messages(&client, self.user, self.conversation(), HISTORY_ROWS).await?
            }
        };
        let history = compact_earlier_results(history, self.turn());
        let mut messages = fit_history(model_messages(&history), self.limits.history_tokens);
        let context = match &self.begun.context {
            Some(context) => context.clone(),
            None => {
                let client = db::client(self.pool).await?;
                repo::get_context(&client, self.user).await?
            }
        };
        if let (Some(answer), false) = (self.begun.answer, resumed) {
            let call = ToolCall {
                id: "call_answer".into(),
                name: Tool::ConfirmChange.name().into(),
                arguments: json!({ "answer": answer }).to_string(),
            };
            let request = NewMessage {
                tool_calls: Some(json!([call])),
                ..NewMessage::new(Role::Assistant, String::new(), Some(self.turn()))
            };
            let (request_rows, result) = self.execute(&call, calls_made, Some(request)).await?;
            stored.extend(request_rows);
            calls_made += 1;
            rounds += 1;
            messages.push(ModelMessage::Assistant {
                text: String::new(),
                tool_calls: vec![call],
            });
            messages.push(ModelMessage::Tool {
                call_id: "call_answer".into(),
                content: result.content.clone(),
            });
            stored.push(result);
        }
        let system = system_prompt(resumed, &context, Utc::now());
        let catalog: Vec<_> = tools::catalog().collect();
        // Streamed text of a new round starts after a blank line when earlier rounds said something.
        let separate = AtomicBool::new(!text.trim().is_empty());
        let emit = |delta: String| {
            if delta.is_empty() {
                return;
            }
            let delta = if separate.swap(false, Ordering::Relaxed) {
                format!("\n\n{delta}")
            } else {
                delta
            };
            let _ = self.events.send(TurnEvent::TextDelta(delta));
        };
        // Text streams through the honesty gate: a sentence claiming a change the turn's tools
        // have not made is held until the round is judged.
        let gate = std::sync::Mutex::new(match model {
            Model::Offline(_) => Gate::open(),
            _ => Gate::new(Achieved::of(&records_of(&stored))),
        });
        let lock_gate = || gate.lock().unwrap_or_else(|e| e.into_inner());
        let on_delta = |delta: String| {
            let ready = lock_gate().push(&delta);
            if let Some(ready) = ready {
                emit(ready);
            }
        };
        let mut corrected = false;

        while rounds < MAX_ROUNDS {
            // The lease was taken when the attempt began, and each tool call renews it; renew it
            // here only when the model round might outlast what is left of it.
            if self.lease_is_old() {
                let client = db::client(self.pool).await?;
                self.fence(&client).await?;
            }
            let request = ModelRequest {
                system: &system,
                messages: &messages,
                tools: &catalog,
            };
            let reply = match deadline {
                Some(at) => tokio::time::timeout_at(at.into(), model.complete(request, &on_delta))
                    .await
                    .map_err(|_| ModelError::Timeout)??,
                None => model.complete(request, &on_delta).await?,
            };
            let round = lock_gate().end(&Achieved::of(&records_of(&stored)));
            let said = |round: &honesty::Round| {
                if !(round.emitted.trim().is_empty() && round.rest.trim().is_empty()) {
                    separate.store(true, Ordering::Relaxed);
                }
            };
            if reply.tool_calls.is_empty() {
                if round.unbacked.is_empty() {
                    emit(round.rest.clone());
                    said(&round);
                    join_text(&mut text, &reply.text);
                    break;
                }
                // The reply claims a change no tool made: it is not streamed or stored. The model
                // answers again once, told so; after that the reply says what the tools did.
                let again = !corrected && rounds + 1 < MAX_ROUNDS;
                honesty::record_correction(&round.unbacked, again);
                join_text(&mut text, &round.emitted);
                if !round.emitted.trim().is_empty() {
                    separate.store(true, Ordering::Relaxed);
                }
                if again {
                    corrected = true;
                    rounds += 1;
                    messages.push(ModelMessage::Assistant {
                        text: reply.text.clone(),
                        tool_calls: vec![],
                    });
                    messages.push(ModelMessage::User(honesty::note(&round.unbacked)));
                    continue;
                }
                let truthful = honesty::truthful(&records_of(&stored));
                emit(truthful.clone());
                join_text(&mut text, &truthful);
                break;
            }
            // Text before tool calls: what is backed now goes out now; a claim waits for the
            // round's tools.
            let held = if round.unbacked.is_empty() {
                emit(round.rest.clone());
                said(&round);
                join_text(&mut text, &reply.text);
                None
            } else {
                Some(round)
            };
            let reply = ModelReply {
                tool_calls: unique_ids(reply.tool_calls, &stored),
                ..reply
            };
            rounds += 1;
            if rounds == MAX_ROUNDS {
                if let Some(round) = &held {
                    join_text(&mut text, &round.emitted);
                }
                let note = "I stopped there: that took more steps than I can take in one reply.";
                emit(note.to_owned());
                join_text(&mut text, note);
                break;
            }
            // Stored with the first call's record, in that call's transaction.
            let mut request = Some(NewMessage {
                tool_calls: Some(json!(reply.tool_calls)),
                ..NewMessage::new(Role::Assistant, reply.text.clone(), Some(self.turn()))
            });
            messages.push(ModelMessage::Assistant {
                text: reply.text.clone(),
                tool_calls: reply.tool_calls.clone(),
            });
            for call in &reply.tool_calls {
                let (request_rows, result) = self.execute(call, calls_made, request.take()).await?;
                stored.extend(request_rows);
                calls_made += 1;
                messages.push(ModelMessage::Tool {
                    call_id: call.id.clone(),
                    content: result.content.clone(),
                });
                stored.push(result);
            }
            if let Some(round) = held {
                let achieved = Achieved::of(&records_of(&stored));
                let unbacked = achieved.unbacked(&round.rest);
                if unbacked.is_empty() {
                    emit(round.rest.clone());
                    join_text(&mut text, &reply.text);
                } else {
                    honesty::record_correction(&unbacked, false);
                    join_text(&mut text, &round.emitted);
                }
                said(&round);
                lock_gate().end(&achieved);
            }
        }
        if text.trim().is_empty() {
            text = "Done.".into();
        }
        self.finish(text, records_of(&stored)).await
    }

    /// Runs one tool call in one transaction and one round trip, fenced by the attempt: the lease
    /// guard, the results of earlier calls, the call's record (with `request`, the model's message
    /// asking for the round's calls, before the first one) and the tool's one statement go out
    /// with the COMMIT. The record is stored with the effect, so a call that took effect is never
    /// run again; its result, known only when the trip returns, is written with the turn's next
    /// trip ([`Self::take_results`]). Returns the stored request and the record as the model and
    /// the answer see it.
    async fn execute(
        &self,
        call: &ToolCall,
        calls_made: usize,
        request: Option<NewMessage>,
    ) -> Result<(Vec<Message>, Message), TurnError> {
        let tool = Tool::from_name(&call.name);
        let label = tool.map_or("Working", |t| t.spec().label);
        let arguments = arguments_of(call);
        let refused = if calls_made >= MAX_TOOL_CALLS {
            Some(json!({"error": "too many tool calls in one turn"}))
        } else if arguments.is_string() {
            let err = CallError::BadArguments {
                tool: "tool",
                message: "arguments are not JSON".into(),
            };
            Some(json!({"error": err.to_string()}))
        } else {
            let _ = self.events.send(TurnEvent::ToolStarted {
                name: call.name.clone(),
                label: label.into(),
            });
            None
        };
        let record = NewMessage {
            tool_calls: Some(json!({"tool_call_id": call.id, "name": call.name})),
            tool_call_id: Some(call.id.clone()),
            ..NewMessage::new(
                Role::Tool,
                refused
                    .as_ref()
                    .map_or(PENDING_RESULT.to_owned(), Value::to_string),
                Some(self.turn()),
            )
        };
        let mut appended: Vec<NewMessage> = request.into_iter().collect();
        appended.push(record);
        let results = self.take_results();
        // A call of one statement commits in the same round trip; one that may take more (a
        // date phrase read in the user's zone, a completion that moves a recurring task) sends
        // its COMMIT after them, or they would run outside the transaction.
        let single = refused.is_some() || tools::single_statement(&call.name, &arguments);
        let tx = db::client(self.pool).await?.pipeline();
        let effect = async {
            if refused.is_some() {
                return Ok(None);
            }
            match tools::call(
                &tx,
                self.user,
                &Origin::chat(self.turn()),
                self.limits,
                &call.name,
                arguments,
            )
            .await
            {
                Ok(output) => Ok(Some(Ok(output))),
                // The effect did not happen (nor did its record); the turn fails and a resend
                // runs this call again.
                Err(CallError::Tool(ToolError::Db(err))) => Err(TurnError::from(err)),
                Err(err) => Ok(Some(Err(err))),
            }
        };
        let ran = tokio::try_join!(
            biased;
            self.hold(&tx),
            self.write_results(&tx, &results).err_into(),
            async {
                repo::append_messages(&tx, self.user, self.conversation(), &appended, None)
                    .await?
                    .map(|(_, rows)| rows)
                    .ok_or(TurnError::NotFound)
            },
            effect,
            async {
                if single {
                    tx.commit().await?;
                }
                Ok(())
            },
        );
        let ran = match ran {
            Ok(ran) if !single => tx.commit().await.map(|()| ran).map_err(TurnError::from),
            other => other,
        };
        let (_, _, mut rows, outcome, ()) = match ran {
            Ok(ran) => ran,
            Err(err) => {
                self.keep_results(results);
                return Err(self.why_not_held(err).await);
            }
        };
        let mut record = rows.pop().ok_or(TurnError::NotFound)?;
        let (content, changed) = match (refused, outcome) {
            (Some(refused), _) => (refused, false),
            (None, Some(Ok(output))) => (output.to_json(), output.changed_tasks()),
            (None, Some(Err(err))) => (json!({"error": err.to_string()}), false),
            (None, None) => unreachable!("a call not refused runs its tool"),
        };
        let content = content.to_string();
        if record.content != content {
            record.content = content;
            self.keep_results(vec![(record.id, record.content.clone())]);
        }
        let _ = self.events.send(TurnEvent::ToolFinished {
            name: call.name.clone(),
            changed,
        });
        Ok((rows, record))
    }

    /// Results of tool calls whose records are stored but not yet their content.
    fn take_results(&self) -> Vec<(MessageId, String)> {
        std::mem::take(&mut *self.results.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn keep_results(&self, mut results: Vec<(MessageId, String)>) {
        let mut pending = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results.append(&mut pending);
        *pending = results;
    }

    /// Writes results taken with [`Self::take_results`] (nothing when there are none).
    async fn write_results(
        &self,
        db: &impl db::Executor,
        results: &[(MessageId, String)],
    ) -> Result<(), DbError> {
        if results.is_empty() {
            return Ok(());
        }
        let ids: Vec<MessageId> = results.iter().map(|(id, _)| *id).collect();
        let contents: Vec<&str> = results.iter().map(|(_, c)| c.as_str()).collect();
        repo::set_contents(db, self.user, &ids, &contents).await?;
        Ok(())
    }

    /// Stores the reply and marks the turn done, with the answer a replay returns, in one
    /// transaction and one round trip: the lease guard, the reply, the turn's end and the COMMIT go
    /// out together.
    async fn finish(&self, text: String, records: Vec<ToolCallRecord>) -> Result<Reply, TurnError> {
        let begun = self.begun;
        let first_text = match (&begun.conversation.title, begun.created) {
            (Some(_), _) => None,
            // The question is the conversation's first message.
            (None, true) => Some(begun.user_message.content.clone()),
            // Untitled after its first turn (that one failed): rare, and read beforehand.
            (None, false) => {
                let client = db::client(self.pool).await?;
                repo::first_user_text(&client, self.user, self.conversation()).await?
            }
        };
        let title = first_text
            .and_then(|text| ChatText::parse(&text).ok())
            .map(|text| ConversationTitle::from_message(&text));
        let reply = NewMessage {
            id: begun.reply_id,
            ..NewMessage::new(Role::Assistant, text, Some(self.turn()))
        };
        // What is stored (NUL replaced), not what the model sent.
        let response = json!({
            "conversation_id": self.conversation().to_string(),
            "response": reply.content,
            "tool_calls": records,
        });
        let results = self.take_results();
        let tx = db::client(self.pool).await?.pipeline();
        let stored = tokio::try_join!(
            biased;
            self.hold(&tx),
            self.write_results(&tx, &results).err_into(),
            append_one(&tx, self.user, self.conversation(), reply, title.as_ref()),
            repo::finish_turn(&tx, self.turn(), self.attempt(), begun.reply_id, &response)
                .err_into(),
            tx.commit().err_into(),
        );
        let (_, _, (conversation, message), (), ()) = match stored {
            Ok(stored) => stored,
            Err(err) => {
                self.keep_results(results);
                return Err(self.why_not_held(err).await);
            }
        };
        let titled = begun.conversation.title.is_none() && conversation.title.is_some();
        Ok(Reply {
            message,
            tool_calls: records,
            conversation,
            titled,
            response,
        })
    }

    /// Renews the lease as the guard of the statements pipelined after it: an attempt that no
    /// longer holds the turn aborts their transaction.
    async fn hold(&self, tx: &db::Pipeline) -> Result<(), TurnError> {
        repo::hold_lease(tx, self.turn(), self.attempt(), LEASE).await?;
        self.renewed();
        Ok(())
    }

    /// What a failed guard means: the conversation was deleted (its turns went with it), or
    /// another attempt took over. Other errors are what they are.
    async fn why_not_held(&self, err: TurnError) -> TurnError {
        if !matches!(err, TurnError::Db(DbError::Precondition(_))) {
            return err;
        }
        let found = match db::client(self.pool).await {
            Ok(client) => repo::get_conversation(&client, self.user, self.conversation()).await,
            Err(err) => Err(err),
        };
        match found {
            Ok(None) => TurnError::NotFound,
            Ok(Some(_)) => TurnError::LeaseLost,
            Err(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, role: Role, content: &str, tool_calls: Option<Value>) -> Message {
        let tool_call_id = match (&role, &tool_calls) {
            (Role::Tool, Some(calls)) => calls["tool_call_id"].as_str().map(str::to_owned),
            _ => None,
        };
        Message {
            id: MessageId::generate(),
            role,
            content: content.into(),
            tool_calls,
            created_at: Utc::now(),
            seq,
            turn_id: None,
            tool_call_id,
        }
    }

    fn request(ids: &[&str]) -> Value {
        json!(
            ids.iter()
                .map(|id| json!({"id": id, "name": "list_tasks", "arguments": "{}"}))
                .collect::<Vec<_>>()
        )
    }

    fn result(id: &str) -> Message {
        message(0, Role::Tool, "{}", Some(json!({"tool_call_id": id})))
    }

    /// The rule OpenAI enforces: every tool call answered right after its request, nothing else.
    fn well_formed(messages: &[ModelMessage]) -> bool {
        let mut at = 0;
        while at < messages.len() {
            match &messages[at] {
                ModelMessage::Tool { .. } => return false,
                ModelMessage::Assistant { tool_calls, .. } if !tool_calls.is_empty() => {
                    for call in tool_calls {
                        at += 1;
                        match messages.get(at) {
                            Some(ModelMessage::Tool { call_id, .. }) if *call_id == call.id => {}
                            _ => return false,
                        }
                    }
                }
                _ => {}
            }
            at += 1;
        }
        true
    }

    #[test]
    fn interleaved_history_from_overlapping_turns_is_made_well_formed() {
        // Two old turns that overlapped: a user message between a request and its results, a
        // result for a call nobody asked for, and a call that never got a result.
        let history = vec![
            message(1, Role::User, "list", None),
            message(2, Role::Assistant, "", Some(request(&["a", "b"]))),
            message(3, Role::User, "list again", None),
            result("a"),
            message(5, Role::Assistant, "", Some(request(&["c"]))),
            result("c"),
            result("zzz"),
            message(8, Role::Assistant, "Here you go", None),
        ];
        let out = model_messages(&history);
        assert!(well_formed(&out), "{out:#?}");
        // The answered call survives with its result; the others are dropped.
        assert!(
            out.iter()
                .any(|m| matches!(m, ModelMessage::Tool { call_id, .. } if call_id == "c"))
        );
        assert!(
            !out.iter()
                .any(|m| matches!(m, ModelMessage::Tool { call_id, .. } if call_id == "a"))
        );
    }

    fn list_json(n: i64) -> String {
        json!({"tasks": (1..=n).map(|id| json!({
            "id": id, "title": format!("task number {id}"), "description": null,
            "completed": id % 3 == 0, "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:00Z", "completed_at": null
        })).collect::<Vec<_>>()})
        .to_string()
    }

    #[test]
    fn an_earlier_list_is_compacted_to_ids_titles_and_states() {
        let compact = compact_result(&list_json(3)).unwrap();
        assert_eq!(
            compact,
            "Earlier list_tasks result, compacted to id, title and state (3 tasks):\n\
             #1 task number 1 (pending)\n#2 task number 2 (pending)\n#3 task number 3 (completed)"
        );
        let (full, compact) = (list_json(100), compact_result(&list_json(100)).unwrap());
        assert!(
            compact.len() * 4 < full.len(),
            "{} of {}",
            compact.len(),
            full.len()
        );
        assert_eq!(
            compact_result(r#"{"status":"created","task_id":1,"title":"x"}"#),
            None
        );
        assert_eq!(compact_result("not json"), None);
    }

    #[test]
    fn only_earlier_turns_results_are_compacted() {
        let (earlier, current) = (TurnId::generate(), TurnId::generate());
        let mut old = message(
            2,
            Role::Tool,
            &list_json(5),
            Some(json!({"tool_call_id": "a"})),
        );
        old.turn_id = Some(earlier);
        let mut new = message(
            4,
            Role::Tool,
            &list_json(5),
            Some(json!({"tool_call_id": "b"})),
        );
        new.turn_id = Some(current);
        let out = compact_earlier_results(vec![old, new], current);
        assert!(out[0].content.starts_with("Earlier list_tasks result"));
        assert_eq!(out[1].content, list_json(5));
    }

    fn user(text: &str) -> ModelMessage {
        ModelMessage::User(text.into())
    }

    fn exchange(call: &str, result_bytes: usize) -> [ModelMessage; 3] {
        [
            ModelMessage::Assistant {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    id: call.into(),
                    name: "list_tasks".into(),
                    arguments: "{}".into(),
                }],
            },
            ModelMessage::Tool {
                call_id: call.into(),
                content: "x".repeat(result_bytes),
            },
            ModelMessage::Assistant {
                text: "Here they are".into(),
                tool_calls: vec![],
            },
        ]
    }

    #[test]
    fn the_history_keeps_the_newest_turns_that_fit_and_cuts_only_before_a_question() {
        // Five turns of ~1,000 tokens each, then a new question.
        let mut history = vec![];
        for n in 0..5 {
            history.push(user(&format!("list {n}")));
            history.extend(exchange(&format!("c{n}"), 4_000));
        }
        history.push(user("and now?"));
        let total: usize = history.iter().map(estimated_tokens).sum();
        assert_eq!(fit_history(history.clone(), total), history, "all fits");
        let out = fit_history(history.clone(), 2_500);
        assert!(out.iter().map(estimated_tokens).sum::<usize>() <= 2_500);
        assert_eq!(out[0], user("list 3"), "two whole turns and the question");
        assert_eq!(out.len(), 9);
        assert!(well_formed(&out), "{out:#?}");
        // The newest question and its own tool traffic are kept even over the budget.
        let mut running = vec![user("old"), user("big question")];
        running.extend(exchange("now", 40_000));
        let out = fit_history(running.clone(), 1_000);
        assert_eq!(out, running[1..].to_vec());
    }

    #[test]
    fn a_history_cut_by_the_cap_starts_at_a_user_message() {
        let history = vec![
            result("x"),
            message(2, Role::Assistant, "old", None),
            message(3, Role::User, "hi", None),
        ];
        let out = model_messages(&history);
        assert_eq!(out, vec![ModelMessage::User("hi".into())]);
    }

    #[test]
    fn a_partly_answered_request_keeps_only_its_answered_calls() {
        let history = vec![
            message(1, Role::User, "do two things", None),
            message(2, Role::Assistant, "", Some(request(&["a", "b"]))),
            result("b"),
        ];
        let out = model_messages(&history);
        assert!(well_formed(&out));
        let ModelMessage::Assistant { tool_calls, .. } = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(tool_calls.len(), 1);
        assert_eq!(tool_calls[0].id, "b");
    }

    #[test]
    fn call_ids_a_server_repeats_are_made_unique_within_the_turn() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "list_tasks".into(),
            arguments: "{}".into(),
        };
        let stored = vec![result("call_0")];
        let ids: Vec<String> = unique_ids(vec![call("call_0"), call("call_0"), call("")], &stored)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["call_0_2", "call_0_3", "call"]);
    }

    #[test]
    fn rounds_of_text_are_separated_by_a_blank_line() {
        let mut text = String::new();
        join_text(&mut text, "Looking.");
        join_text(&mut text, "");
        join_text(&mut text, "Done.");
        assert_eq!(text, "Looking.\n\nDone.");
    }

    #[test]
    fn empty_arguments_mean_an_empty_object() {
        let call = |arguments: &str| ToolCall {
            id: "c".into(),
            name: "list_tasks".into(),
            arguments: arguments.into(),
        };
        assert_eq!(arguments_of(&call("")), json!({}));
        assert_eq!(arguments_of(&call("  ")), json!({}));
        assert_eq!(
            arguments_of(&call("{\"status\":\"all\"}")),
            json!({"status": "all"})
        );
        assert_eq!(arguments_of(&call("not json")), json!("not json"));
    }

    #[test]
    fn a_key_is_bound_to_the_channel_conversation_and_text() {
        let request = |channel, text| TurnRequest {
            conversation: None,
            text: ChatText::parse(text).unwrap(),
            key: None,
            channel,
        };
        assert_eq!(
            request("api", "add milk").fingerprint(),
            request("api", "add milk").fingerprint()
        );
        assert_ne!(
            request("api", "add milk").fingerprint(),
            request("api", "add eggs").fingerprint()
        );
        assert_ne!(
            request("api", "add milk").fingerprint(),
            request("chatkit", "add milk").fingerprint()
        );
    }
}
