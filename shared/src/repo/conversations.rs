//! Conversation and message statements. Messages are ordered by `seq`, which the conversation row
//! hands out in the statement that appends (under its row lock); their times come from the
//! database clock. Neither depends on the clock of the function that writes.

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;
use uuid::Uuid;

use crate::db::{DbError, Executor};
use crate::domain::{
    Conversation, ConversationId, ConversationTitle, Message, MessageId, NewMessage, Role,
    SortOrder, TurnId, UserId,
};

macro_rules! conversation_columns {
    () => {
        "id, title, created_at, updated_at"
    };
}

/// The columns every message statement returns, in the order `message_from_row` reads them.
macro_rules! message_columns {
    () => {
        "id, role, content, tool_calls, created_at, seq, turn_id, tool_call_id"
    };
}

/// Rows a client sees: user messages and assistant replies (not tool traffic).
macro_rules! visible {
    () => {
        "(role = 'user' OR (role = 'assistant' AND tool_calls IS NULL))"
    };
}

/// The statement of a page of a user's conversations by `(created_at, id)`: `$1` user, `$2` the row
/// limit, and `$3` the conversation to start after when `after` is set. A fixed statement per
/// direction and cursor (no `$n IS NULL OR …` branch), each served by `conversations (user_id,
/// created_at, id)` in its order, so prepared statements get plans as good as custom ones.
pub fn conversations_statement(order: SortOrder, after: bool) -> &'static str {
    macro_rules! page {
        ($cursor:expr, $dir:literal) => {
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE user_id = $1",
                $cursor,
                " ORDER BY created_at ",
                $dir,
                ", id ",
                $dir,
                " LIMIT $2"
            )
        };
    }
    macro_rules! cursor {
        ($cmp:literal) => {
            concat!(
                " AND (created_at, id) ",
                $cmp,
                " (SELECT created_at, id FROM conversations WHERE id = $3 AND user_id = $1)"
            )
        };
    }
    match (order, after) {
        (SortOrder::Desc, false) => page!("", "DESC"),
        (SortOrder::Desc, true) => page!(cursor!("<"), "DESC"),
        (SortOrder::Asc, false) => page!("", "ASC"),
        (SortOrder::Asc, true) => page!(cursor!(">"), "ASC"),
    }
}

/// The statement of a page of a conversation's visible messages in `seq` order: `$1`
/// conversation, `$2` user, `$3` the row limit, and `$4` the message to start after when `after`
/// is set. Served by `messages (conversation_id, seq)`; one fixed statement per shape.
pub fn visible_messages_statement(order: SortOrder, after: bool) -> &'static str {
    macro_rules! page {
        ($cursor:expr, $dir:literal) => {
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND ",
                visible!(),
                $cursor,
                " ORDER BY seq ",
                $dir,
                " LIMIT $3"
            )
        };
    }
    macro_rules! cursor {
        ($cmp:literal) => {
            concat!(
                " AND seq ",
                $cmp,
                " (SELECT seq FROM messages WHERE id = $4 AND conversation_id = $1)"
            )
        };
    }
    match (order, after) {
        (SortOrder::Asc, false) => page!("", "ASC"),
        (SortOrder::Asc, true) => page!(cursor!(">"), "ASC"),
        (SortOrder::Desc, false) => page!("", "DESC"),
        (SortOrder::Desc, true) => page!(cursor!("<"), "DESC"),
    }
}

/// The statement of a conversation's newest `$3` messages (all roles), oldest first: `$1`
/// conversation, `$2` user. Served by `messages (conversation_id, seq)` read backwards.
pub const RECENT_MESSAGES: &str = concat!(
    "SELECT * FROM (SELECT ",
    message_columns!(),
    " FROM messages WHERE conversation_id = $1 AND user_id = $2",
    " ORDER BY seq DESC LIMIT $3) recent ORDER BY seq"
);

fn conversation_from_row(row: &Row) -> Conversation {
    Conversation {
        id: ConversationId(row.get(0)),
        title: row.get(1),
        created_at: row.get(2),
        updated_at: row.get(3),
    }
}

fn message_from_row(row: &Row) -> Result<Message, DbError> {
    message_at(row, 0)
}

/// The message whose `message_columns!()` start at column `at`.
fn message_at(row: &Row, at: usize) -> Result<Message, DbError> {
    let role: String = row.get(at + 1);
    Ok(Message {
        id: MessageId(row.get(at)),
        role: Role::parse(&role)
            .ok_or_else(|| DbError::Query(anyhow::anyhow!("unknown message role {role}")))?,
        content: row.get(at + 2),
        tool_calls: row.get(at + 3),
        created_at: row.get(at + 4),
        seq: row.get(at + 5),
        turn_id: row.get::<_, Option<Uuid>>(at + 6).map(TurnId),
        tool_call_id: row.get(at + 7),
    })
}

fn messages_from_rows(rows: &[Row]) -> Result<Vec<Message>, DbError> {
    rows.iter().map(message_from_row).collect()
}

/// Creates an empty conversation for `user`.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn insert_conversation(
    db: &impl Executor,
    user: &UserId,
    id: ConversationId,
) -> Result<Conversation, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "INSERT INTO conversations (id, user_id) VALUES ($1, $2) RETURNING ",
                conversation_columns!()
            ),
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    rows.first()
        .map(conversation_from_row)
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("INSERT … RETURNING returned no row")))
}

/// One of `user`'s conversations; `None` when it does not exist or is someone else's.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn get_conversation(
    db: &impl Executor,
    user: &UserId,
    id: ConversationId,
) -> Result<Option<Conversation>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE id = $1 AND user_id = $2"
            ),
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map(conversation_from_row))
}

/// Like [`get_conversation`], and locks the row until the transaction ends: whoever holds it is
/// the only one deciding what the conversation's next turn is.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn lock_conversation(
    db: &impl Executor,
    user: &UserId,
    id: ConversationId,
) -> Result<Option<Conversation>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE id = $1 AND user_id = $2 FOR UPDATE"
            ),
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map(conversation_from_row))
}

/// A page of `user`'s conversations by creation time, starting after the conversation `after`.
/// Returns one row more than `limit` when more follow.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_conversations(
    db: &impl Executor,
    user: &UserId,
    order: SortOrder,
    after: Option<ConversationId>,
    limit: i64,
) -> Result<Vec<Conversation>, DbError> {
    let user_id = user.as_str();
    let after = after.map(|id| id.0);
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> =
        vec![(&user_id, Type::TEXT), (&limit, Type::INT8)];
    if let Some(after) = &after {
        params.push((after, Type::UUID));
    }
    let sql = conversations_statement(order, after.is_some());
    let rows = db.query_typed(sql, &params).await?;
    Ok(rows.iter().map(conversation_from_row).collect())
}

/// Renames a conversation; `None` when it does not exist or is someone else's.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn rename_conversation(
    db: &impl Executor,
    user: &UserId,
    id: ConversationId,
    title: &ConversationTitle,
) -> Result<Option<Conversation>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "UPDATE conversations SET title = $3, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ",
                conversation_columns!()
            ),
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT), (&title.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map(conversation_from_row))
}

/// Deletes a conversation and (by cascade) its messages and turns; false when there was none.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn delete_conversation(
    db: &impl Executor,
    user: &UserId,
    id: ConversationId,
) -> Result<bool, DbError> {
    let rows = db
        .query_typed(
            "DELETE FROM conversations WHERE id = $1 AND user_id = $2 RETURNING id",
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The newest `limit` messages of a conversation (all roles), in order: the model's context.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn recent_messages(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let rows = db
        .query_typed(
            RECENT_MESSAGES,
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    messages_from_rows(&rows)
}

/// Replaces the content of `user`'s messages `ids[i]` with `contents[i]`, in one statement: a tool
/// call's record is stored with its effect and its result written with the turn's next trip.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn set_contents(
    db: &impl Executor,
    user: &UserId,
    ids: &[MessageId],
    contents: &[&str],
) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = db
        .query_typed(
            "UPDATE messages m SET content = u.content \
             FROM unnest($1::uuid[], $2::text[]) AS u(id, content) \
             WHERE m.id = u.id AND m.user_id = $3 RETURNING 1",
            &[
                (&ids, Type::UUID_ARRAY),
                (&contents, Type::TEXT_ARRAY),
                (&user.as_str(), Type::TEXT),
            ],
        )
        .await?;
    Ok(rows.len() as u64)
}

/// Every message a turn wrote, in order.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn turn_messages(
    db: &impl Executor,
    user: &UserId,
    turn: TurnId,
) -> Result<Vec<Message>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE turn_id = $1 AND user_id = $2 ORDER BY seq"
            ),
            &[(&turn.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    messages_from_rows(&rows)
}

/// One message of one of `user`'s conversations.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn get_message(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    id: MessageId,
) -> Result<Option<Message>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE id = $1 AND conversation_id = $2 AND user_id = $3"
            ),
            &[
                (&id.0, Type::UUID),
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
            ],
        )
        .await?;
    rows.first().map(message_from_row).transpose()
}

/// The newest message a client sees in a conversation.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn last_visible_message(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<Option<Message>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND ",
                visible!(),
                " ORDER BY seq DESC LIMIT 1"
            ),
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    rows.first().map(message_from_row).transpose()
}

/// The newest user message of a conversation.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn last_user_message(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<Option<Message>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND role = 'user'",
                " ORDER BY seq DESC LIMIT 1"
            ),
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    rows.first().map(message_from_row).transpose()
}

/// The text of a conversation's first user message (what its title is made from).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn first_user_text(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<Option<String>, DbError> {
    let rows = db
        .query_typed(
            "SELECT content FROM messages WHERE conversation_id = $1 AND user_id = $2 \
             AND role = 'user' ORDER BY seq LIMIT 1",
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map(|row| row.get(0)))
}

/// A page of the messages a client sees, after the message `after`; one row more than `limit` when
/// more follow.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn visible_messages(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    order: SortOrder,
    after: Option<MessageId>,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let user_id = user.as_str();
    let after = after.map(|id| id.0);
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = vec![
        (&conversation.0, Type::UUID),
        (&user_id, Type::TEXT),
        (&limit, Type::INT8),
    ];
    if let Some(after) = &after {
        params.push((after, Type::UUID));
    }
    let sql = visible_messages_statement(order, after.is_some());
    let rows = db.query_typed(sql, &params).await?;
    messages_from_rows(&rows)
}

/// Appends messages to one of `user`'s conversations, numbering them after its last message and
/// stamping them with the database clock, and touches it; when `title` is given and the
/// conversation has none yet, it becomes the title. Returns the conversation after the change and
/// the stored messages, or `None` (and stores nothing) when the conversation is not the user's.
#[instrument(skip_all, fields(user_id = %user, count = messages.len()))]
pub async fn append_messages(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    messages: &[NewMessage],
    title: Option<&ConversationTitle>,
) -> Result<Option<(Conversation, Vec<Message>)>, DbError> {
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id.0).collect();
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    let tool_calls: Vec<Option<&serde_json::Value>> =
        messages.iter().map(|m| m.tool_calls.as_ref()).collect();
    let turns: Vec<Option<Uuid>> = messages.iter().map(|m| m.turn_id.map(|t| t.0)).collect();
    let call_ids: Vec<Option<&str>> = messages.iter().map(|m| m.tool_call_id.as_deref()).collect();
    let count = messages.len() as i64;
    let title = title.map(|t| t.as_str());
    let rows = db
        .query_typed(
            concat!(
                "WITH c AS (UPDATE conversations SET updated_at = now(), title = coalesce(title, $7),",
                " last_seq = last_seq + $10 WHERE id = $1 AND user_id = $2",
                " RETURNING id, title, created_at, updated_at, last_seq),",
                " m AS (INSERT INTO messages",
                " (id, conversation_id, user_id, role, content, tool_calls, turn_id, tool_call_id, seq, created_at)",
                " SELECT n.id, c.id, $2, n.role, n.content, n.tool_calls, n.turn_id, n.tool_call_id,",
                " c.last_seq - $10 + n.ord, now()",
                " FROM c, unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $8::uuid[], $9::text[])",
                " WITH ORDINALITY AS n(id, role, content, tool_calls, turn_id, tool_call_id, ord)",
                " RETURNING ",
                message_columns!(),
                ")",
                " SELECT c.id, c.title, c.created_at, c.updated_at,",
                " m.id, m.role, m.content, m.tool_calls, m.created_at, m.seq, m.turn_id, m.tool_call_id",
                " FROM c LEFT JOIN m ON true ORDER BY m.seq"
            ),
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&ids, Type::UUID_ARRAY),
                (&roles, Type::TEXT_ARRAY),
                (&contents, Type::TEXT_ARRAY),
                (&tool_calls, Type::JSONB_ARRAY),
                (&title, Type::TEXT),
                (&turns, Type::UUID_ARRAY),
                (&call_ids, Type::TEXT_ARRAY),
                (&count, Type::INT8),
            ],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let conversation = conversation_from_row(first);
    let mut stored = Vec::with_capacity(messages.len());
    for row in &rows {
        if row.get::<_, Option<Uuid>>(4).is_none() {
            continue;
        }
        stored.push(message_at(row, 4)?);
    }
    Ok(Some((conversation, stored)))
}

/// Deletes the replies (visible assistant messages) after the message at `after_seq`, keeping tool
/// traffic: a retry regenerates the answer, never the effects. Returns how many were removed.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn delete_replies_after(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    after_seq: i64,
) -> Result<u64, DbError> {
    let rows = db
        .query_typed(
            "DELETE FROM messages WHERE conversation_id = $1 AND user_id = $2 AND seq > $3 \
             AND role = 'assistant' AND tool_calls IS NULL RETURNING 1",
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&after_seq, Type::INT8),
            ],
        )
        .await?;
    Ok(rows.len() as u64)
}
