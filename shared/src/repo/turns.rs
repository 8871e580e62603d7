//! Turn statements. A turn is running, done or failed; a running turn holds a lease on its
//! conversation, and every write of the turn names its attempt, so a function that lost its lease
//! (it stalled and another took over) can no longer change anything.

use std::time::Duration;

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;
use uuid::Uuid;

use crate::db::{DbError, Executor};
use crate::domain::{ConversationId, IdempotencyKey, MessageId, Turn, TurnId, TurnStatus, UserId};

/// The columns every turn statement returns, in the order `turn_from_row` reads them.
macro_rules! turn_columns {
    () => {
        "id, conversation_id, user_message_id, status, attempt, \
         greatest(extract(epoch FROM lease_until - now()), 0)::float8, \
         idempotency_key, request_hash, reply_message_id, response"
    };
}

fn turn_from_row(row: &Row) -> Result<Turn, DbError> {
    let status: String = row.get(3);
    Ok(Turn {
        id: TurnId(row.get(0)),
        conversation_id: ConversationId(row.get(1)),
        user_message_id: MessageId(row.get(2)),
        status: TurnStatus::parse(&status)
            .ok_or_else(|| DbError::Query(anyhow::anyhow!("unknown turn status {status}")))?,
        attempt: row.get(4),
        lease_left_secs: row.get(5),
        idempotency_key: row.get(6),
        request_hash: row.get(7),
        reply_message_id: row.get::<_, Option<Uuid>>(8).map(MessageId),
        response: row.get(9),
    })
}

fn first_turn(rows: &[Row]) -> Result<Option<Turn>, DbError> {
    rows.first().map(turn_from_row).transpose()
}

fn seconds(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

/// What a new turn needs.
pub struct NewTurn<'a> {
    pub id: TurnId,
    pub conversation: ConversationId,
    pub user_message: MessageId,
    pub key: Option<&'a IdempotencyKey>,
    pub request_hash: Option<&'a str>,
    pub lease: Duration,
}

/// Starts a turn (attempt 1, running). A second running turn in the conversation, or a key the
/// user already used, is a [`DbError::Conflict`] naming the index.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn insert_turn(
    db: &impl Executor,
    user: &UserId,
    turn: &NewTurn<'_>,
) -> Result<Turn, DbError> {
    let key = turn.key.map(IdempotencyKey::as_str);
    let lease = seconds(turn.lease);
    let rows = db
        .query_typed(
            concat!(
                "INSERT INTO turns (id, conversation_id, user_id, user_message_id, status,",
                " lease_until, idempotency_key, request_hash)",
                " VALUES ($1, $2, $3, $4, 'running', now() + make_interval(secs => $5), $6, $7)",
                " RETURNING ",
                turn_columns!()
            ),
            &[
                (&turn.id.0, Type::UUID),
                (&turn.conversation.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&turn.user_message.0, Type::UUID),
                (&lease, Type::FLOAT8),
                (&key, Type::TEXT),
                (&turn.request_hash, Type::TEXT),
            ],
        )
        .await?;
    first_turn(&rows)?
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("INSERT … RETURNING returned no row")))
}

/// The turn `user` started with this idempotency key.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn turn_by_key(
    db: &impl Executor,
    user: &UserId,
    key: &IdempotencyKey,
) -> Result<Option<Turn>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                turn_columns!(),
                " FROM turns WHERE user_id = $1 AND idempotency_key = $2"
            ),
            &[(&user.as_str(), Type::TEXT), (&key.as_str(), Type::TEXT)],
        )
        .await?;
    first_turn(&rows)
}

/// The turn answering a user message.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn turn_for_message(
    db: &impl Executor,
    user: &UserId,
    message: MessageId,
) -> Result<Option<Turn>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                turn_columns!(),
                " FROM turns WHERE user_message_id = $1 AND user_id = $2"
            ),
            &[(&message.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    first_turn(&rows)
}

/// The conversation's running turn, if any (live or with a lapsed lease).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn running_turn(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<Option<Turn>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                turn_columns!(),
                " FROM turns WHERE conversation_id = $1 AND user_id = $2 AND status = 'running'"
            ),
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    first_turn(&rows)
}

/// The conversation's newest turn.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn newest_turn(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<Option<Turn>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT ",
                turn_columns!(),
                " FROM turns WHERE conversation_id = $1 AND user_id = $2",
                " ORDER BY started_at DESC, id DESC LIMIT 1"
            ),
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    first_turn(&rows)
}

/// Starts a new attempt of a turn that is not running, or whose lease has lapsed (its function
/// died): the attempt number goes up, which fences off the old attempt. `None` when someone else
/// holds it.
#[instrument(skip_all, fields(user_id = %user, turn_id = %turn))]
pub async fn restart_turn(
    db: &impl Executor,
    user: &UserId,
    turn: TurnId,
    lease: Duration,
) -> Result<Option<Turn>, DbError> {
    let lease = seconds(lease);
    let rows = db
        .query_typed(
            concat!(
                "UPDATE turns SET status = 'running', attempt = attempt + 1, finished_at = NULL,",
                " lease_until = now() + make_interval(secs => $3)",
                " WHERE id = $1 AND user_id = $2 AND (status <> 'running' OR lease_until <= now())",
                " RETURNING ",
                turn_columns!()
            ),
            &[
                (&turn.0, Type::UUID),
                (&user.as_str(), Type::TEXT),
                (&lease, Type::FLOAT8),
            ],
        )
        .await?;
    first_turn(&rows)
}

/// Extends the lease of the turn's current attempt; false when the attempt is no longer the
/// current one (it was taken over) or the turn ended. Inside a transaction it also locks the turn
/// row, so the writes that follow commit only while the attempt holds the turn.
#[instrument(skip_all, fields(turn_id = %turn))]
pub async fn renew_lease(
    db: &impl Executor,
    turn: TurnId,
    attempt: i32,
    lease: Duration,
) -> Result<bool, DbError> {
    let lease = seconds(lease);
    let rows = db
        .query_typed(
            "UPDATE turns SET lease_until = now() + make_interval(secs => $3) \
             WHERE id = $1 AND attempt = $2 AND status = 'running' RETURNING 1",
            &[
                (&turn.0, Type::UUID),
                (&attempt, Type::INT4),
                (&lease, Type::FLOAT8),
            ],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// What [`hold_lease`] and [`finish_turn`] raise when the attempt no longer holds its turn.
pub const NOT_HELD: &str = "the turn is no longer held by this attempt";

/// [`renew_lease`] as a guard for the statements pipelined behind it: when the attempt no longer
/// holds the turn it raises [`DbError::Precondition`] and their transaction aborts.
#[instrument(skip_all, fields(turn_id = %turn))]
pub async fn hold_lease(
    db: &impl Executor,
    turn: TurnId,
    attempt: i32,
    lease: Duration,
) -> Result<(), DbError> {
    let lease = seconds(lease);
    db.query_typed(
        "WITH held AS (UPDATE turns SET lease_until = now() + make_interval(secs => $3) \
         WHERE id = $1 AND attempt = $2 AND status = 'running' RETURNING 1) \
         SELECT smart_todo_require(EXISTS (SELECT 1 FROM held), $4)",
        &[
            (&turn.0, Type::UUID),
            (&attempt, Type::INT4),
            (&lease, Type::FLOAT8),
            (&NOT_HELD, Type::TEXT),
        ],
    )
    .await?;
    Ok(())
}

/// Marks the current attempt done with its reply and the answer a replay returns; raises
/// [`DbError::Precondition`] (aborting the transaction) when the attempt no longer holds it.
#[instrument(skip_all, fields(turn_id = %turn))]
pub async fn finish_turn(
    db: &impl Executor,
    turn: TurnId,
    attempt: i32,
    reply: MessageId,
    response: &serde_json::Value,
) -> Result<(), DbError> {
    db.query_typed(
        "WITH done AS (UPDATE turns SET status = 'done', finished_at = now(), \
         reply_message_id = $3, response = $4 \
         WHERE id = $1 AND attempt = $2 AND status = 'running' RETURNING 1) \
         SELECT smart_todo_require(EXISTS (SELECT 1 FROM done), $5)",
        &[
            (&turn.0, Type::UUID),
            (&attempt, Type::INT4),
            (&reply.0, Type::UUID),
            (response, Type::JSONB),
            (&NOT_HELD, Type::TEXT),
        ],
    )
    .await?;
    Ok(())
}

/// Marks the current attempt failed, which frees the conversation at once.
#[instrument(skip_all, fields(turn_id = %turn))]
pub async fn fail_turn(db: &impl Executor, turn: TurnId, attempt: i32) -> Result<bool, DbError> {
    let rows = db
        .query_typed(
            "UPDATE turns SET status = 'failed', finished_at = now() \
             WHERE id = $1 AND attempt = $2 AND status = 'running' RETURNING 1",
            &[(&turn.0, Type::UUID), (&attempt, Type::INT4)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Marks every running turn of the conversation whose lease has lapsed as failed.
#[instrument(skip_all)]
pub async fn expire_lapsed_turns(
    db: &impl Executor,
    conversation: ConversationId,
) -> Result<u64, DbError> {
    let rows = db
        .query_typed(
            "UPDATE turns SET status = 'failed', finished_at = now() \
             WHERE conversation_id = $1 AND status = 'running' AND lease_until <= now() RETURNING 1",
            &[(&conversation.0, Type::UUID)],
        )
        .await?;
    Ok(rows.len() as u64)
}
