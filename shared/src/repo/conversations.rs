//! Conversation and message statements. Messages are ordered by `(created_at, id)`; ids are
//! time-ordered UUIDs, so the order is also the order they were written in.

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;
use uuid::Uuid;

use crate::db::{Client, DbError};
use crate::domain::{
    ChatText, Conversation, ConversationId, ConversationTitle, Message, MessageId, NewMessage,
    Role, SortOrder, UserId,
};

macro_rules! conversation_columns {
    () => {
        "id, title, created_at, updated_at"
    };
}

macro_rules! message_columns {
    () => {
        "id, role, content, tool_calls, created_at"
    };
}

/// Rows a client sees: user messages and assistant replies (not tool traffic).
macro_rules! visible {
    () => {
        "(role = 'user' OR (role = 'assistant' AND tool_calls IS NULL))"
    };
}

/// A keyset page of a user's conversations: `$1` user, `$2` the conversation to start after (or
/// null), `$3` the row limit; `$cmp` and `$dir` give the direction (fixed SQL per direction).
macro_rules! conversations_page {
    ($cmp:literal, $dir:literal) => {
        concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE user_id = $1 AND ($2::uuid IS NULL OR (created_at, id) ",
            $cmp,
            " (SELECT created_at, id FROM conversations WHERE id = $2 AND user_id = $1))",
            " ORDER BY created_at ",
            $dir,
            ", id ",
            $dir,
            " LIMIT $3"
        )
    };
}

/// A keyset page of a conversation's visible messages: `$1` conversation, `$2` user, `$3` the
/// message to start after (or null), `$4` the row limit.
macro_rules! visible_page {
    ($cmp:literal, $dir:literal) => {
        concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND ",
            visible!(),
            " AND ($3::uuid IS NULL OR (created_at, id) ",
            $cmp,
            " (SELECT created_at, id FROM messages WHERE id = $3 AND conversation_id = $1))",
            " ORDER BY created_at ",
            $dir,
            ", id ",
            $dir,
            " LIMIT $4"
        )
    };
}

fn conversation_from_row(row: &Row) -> Conversation {
    Conversation {
        id: ConversationId(row.get(0)),
        title: row.get(1),
        created_at: row.get(2),
        updated_at: row.get(3),
    }
}

fn message_from_row(row: &Row) -> Result<Message, DbError> {
    let role: String = row.get(1);
    Ok(Message {
        id: MessageId(row.get(0)),
        role: Role::parse(&role)
            .ok_or_else(|| DbError::Query(anyhow::anyhow!("unknown message role {role}")))?,
        content: row.get(2),
        tool_calls: row.get(3),
        created_at: row.get(4),
    })
}

/// Creates a conversation with its first user message, in one statement.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn start_conversation(
    client: &Client,
    user: &UserId,
    id: ConversationId,
    first: MessageId,
    text: &ChatText,
) -> Result<(Conversation, Message), DbError> {
    let rows = client
        .query_typed(
            concat!(
                "WITH c AS (INSERT INTO conversations (id, user_id) VALUES ($1, $2) RETURNING ",
                conversation_columns!(),
                "), m AS (INSERT INTO messages (id, conversation_id, user_id, role, content)",
                " SELECT $3, c.id, $2, 'user', $4 FROM c RETURNING ",
                message_columns!(),
                ") SELECT c.id, c.title, c.created_at, c.updated_at,",
                " m.id, m.role, m.content, m.tool_calls, m.created_at FROM c, m"
            ),
            &[
                (&id.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&first.0, Type::UUID),
                (&text.as_str(), Type::TEXT),
            ],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("INSERT … RETURNING returned no row")))?;
    let conversation = conversation_from_row(row);
    let message = Message {
        id: MessageId(row.get(4)),
        role: Role::User,
        content: row.get(6),
        tool_calls: row.get(7),
        created_at: row.get(8),
    };
    Ok((conversation, message))
}

/// One of `user`'s conversations; `None` when it does not exist or is someone else's.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn get_conversation(
    client: &Client,
    user: &UserId,
    id: ConversationId,
) -> Result<Option<Conversation>, DbError> {
    let rows = client
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

/// A page of `user`'s conversations by creation time, starting after the conversation `after`.
/// Returns one row more than `limit` when more follow.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_conversations(
    client: &Client,
    user: &UserId,
    order: SortOrder,
    after: Option<ConversationId>,
    limit: i64,
) -> Result<Vec<Conversation>, DbError> {
    let after = after.map(|id| id.0);
    let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 3] = [
        (&user.as_str(), Type::TEXT),
        (&after, Type::UUID),
        (&limit, Type::INT8),
    ];
    let sql = match order {
        SortOrder::Desc => conversations_page!("<", "DESC"),
        SortOrder::Asc => conversations_page!(">", "ASC"),
    };
    let rows = client.query_typed(sql, &params).await?;
    Ok(rows.iter().map(conversation_from_row).collect())
}

/// Renames a conversation; `None` when it does not exist or is someone else's.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn rename_conversation(
    client: &Client,
    user: &UserId,
    id: ConversationId,
    title: &ConversationTitle,
) -> Result<Option<Conversation>, DbError> {
    let rows = client
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

/// Deletes a conversation and (by cascade) its messages; false when there was none to delete.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn delete_conversation(
    client: &Client,
    user: &UserId,
    id: ConversationId,
) -> Result<bool, DbError> {
    let rows = client
        .query_typed(
            "DELETE FROM conversations WHERE id = $1 AND user_id = $2 RETURNING id",
            &[(&id.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The newest `limit` messages of a conversation (all roles), oldest first: the model's context.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn recent_messages(
    client: &Client,
    user: &UserId,
    conversation: ConversationId,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "SELECT * FROM (SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND user_id = $2",
                " ORDER BY created_at DESC, id DESC LIMIT $3) recent ORDER BY created_at, id"
            ),
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    rows.iter().map(message_from_row).collect()
}

/// A page of the messages a client sees, after the message `after`; one row more than `limit` when
/// more follow.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn visible_messages(
    client: &Client,
    user: &UserId,
    conversation: ConversationId,
    order: SortOrder,
    after: Option<MessageId>,
    limit: i64,
) -> Result<Vec<Message>, DbError> {
    let after = after.map(|id| id.0);
    let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 4] = [
        (&conversation.0, Type::UUID),
        (&user.as_str(), Type::TEXT),
        (&after, Type::UUID),
        (&limit, Type::INT8),
    ];
    let sql = match order {
        SortOrder::Asc => visible_page!(">", "ASC"),
        SortOrder::Desc => visible_page!("<", "DESC"),
    };
    let rows = client.query_typed(sql, &params).await?;
    rows.iter().map(message_from_row).collect()
}

/// Appends messages to one of `user`'s conversations and touches it; when `title` is given and the
/// conversation has none yet, it becomes the title. Returns the conversation after the change, or
/// `None` (and stores nothing) when the conversation is not the user's.
#[instrument(skip_all, fields(user_id = %user, count = messages.len()))]
pub async fn append_messages(
    client: &Client,
    user: &UserId,
    conversation: ConversationId,
    messages: &[NewMessage],
    title: Option<&ConversationTitle>,
) -> Result<Option<Conversation>, DbError> {
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id.0).collect();
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    let tool_calls: Vec<Option<&serde_json::Value>> =
        messages.iter().map(|m| m.tool_calls.as_ref()).collect();
    let created: Vec<chrono::DateTime<chrono::Utc>> =
        messages.iter().map(|m| m.created_at).collect();
    let title = title.map(|t| t.as_str());
    let rows = client
        .query_typed(
            concat!(
                "WITH c AS (UPDATE conversations SET updated_at = now(), title = coalesce(title, $7)",
                " WHERE id = $1 AND user_id = $2 RETURNING ",
                conversation_columns!(),
                "), m AS (INSERT INTO messages (id, conversation_id, user_id, role, content, tool_calls, created_at)",
                " SELECT n.id, c.id, $2, n.role, n.content, n.tool_calls, n.created_at",
                " FROM c, unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $8::timestamptz[])",
                " AS n(id, role, content, tool_calls, created_at) RETURNING 1)",
                " SELECT c.id, c.title, c.created_at, c.updated_at, (SELECT count(*) FROM m) FROM c"
            ),
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&ids, Type::UUID_ARRAY),
                (&roles, Type::TEXT_ARRAY),
                (&contents, Type::TEXT_ARRAY),
                (&tool_calls, Type::JSONB_ARRAY),
                (&title, Type::TEXT),
                (&created, Type::TIMESTAMPTZ_ARRAY),
            ],
        )
        .await?;
    Ok(rows.first().map(conversation_from_row))
}

/// Deletes the messages written after `message` (for a retry); returns whether `message` is a user
/// message of this user's conversation.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn truncate_after(
    client: &Client,
    user: &UserId,
    conversation: ConversationId,
    message: MessageId,
) -> Result<bool, DbError> {
    let rows = client
        .query_typed(
            "WITH anchor AS (SELECT created_at, id FROM messages \
               WHERE id = $3 AND conversation_id = $1 AND user_id = $2 AND role = 'user'), \
             gone AS (DELETE FROM messages WHERE conversation_id = $1 AND user_id = $2 \
               AND (created_at, id) > (SELECT created_at, id FROM anchor) RETURNING 1) \
             SELECT (SELECT count(*) FROM gone) FROM anchor",
            &[
                (&conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&message.0, Type::UUID),
            ],
        )
        .await?;
    Ok(!rows.is_empty())
}
