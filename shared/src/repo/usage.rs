//! Usage counters behind the per-user limits (chat turns per minute and day), and the totals the
//! caps are checked against.

use tokio_postgres::types::Type;
use tracing::instrument;

use crate::db::{DbError, Executor};
use crate::domain::{ConversationId, UserId};

/// What counting a chat turn found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnQuota {
    Allowed,
    /// Over the per-minute limit: the minute ends in this many seconds.
    PerMinute {
        retry_after_secs: u64,
    },
    /// Over the per-day limit: the UTC day ends in this many seconds.
    PerDay {
        retry_after_secs: u64,
    },
}

/// Counts one chat turn in the user's current minute and day and checks both limits; forgets the
/// user's windows older than two days. Run it in the transaction that starts the turn, so a refused
/// turn counts nothing.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn count_turn(
    db: &impl Executor,
    user: &UserId,
    per_minute: i32,
    per_day: i32,
) -> Result<TurnQuota, DbError> {
    let rows = db
        .query_typed(
            "WITH m AS (INSERT INTO usage_windows (user_id, kind, window_start, count) \
               VALUES ($1, 'turn_minute', date_trunc('minute', now()), 1) \
               ON CONFLICT (user_id, kind, window_start) \
               DO UPDATE SET count = usage_windows.count + 1 RETURNING count), \
             d AS (INSERT INTO usage_windows (user_id, kind, window_start, count) \
               VALUES ($1, 'turn_day', date_trunc('day', now()), 1) \
               ON CONFLICT (user_id, kind, window_start) \
               DO UPDATE SET count = usage_windows.count + 1 RETURNING count), \
             old AS (DELETE FROM usage_windows WHERE user_id = $1 \
               AND window_start < now() - interval '2 days' RETURNING 1) \
             SELECT (SELECT count FROM m) <= $2, (SELECT count FROM d) <= $3, \
               ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()))::int, \
               ceil(extract(epoch FROM date_trunc('day', now()) + interval '1 day' - now()))::int",
            &[
                (&user.as_str(), Type::TEXT),
                (&per_minute, Type::INT4),
                (&per_day, Type::INT4),
            ],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("the turn count returned no row")))?;
    let secs = |at: usize| row.get::<_, i32>(at).max(1) as u64;
    Ok(if !row.get::<_, bool>(0) {
        TurnQuota::PerMinute {
            retry_after_secs: secs(2),
        }
    } else if !row.get::<_, bool>(1) {
        TurnQuota::PerDay {
            retry_after_secs: secs(3),
        }
    } else {
        TurnQuota::Allowed
    })
}

/// How many conversations the user has.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn count_conversations(db: &impl Executor, user: &UserId) -> Result<i64, DbError> {
    let rows = db
        .query_typed(
            "SELECT count(*) FROM conversations WHERE user_id = $1",
            &[(&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map_or(0, |row| row.get(0)))
}

/// How many messages a conversation holds (its last sequence number).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn count_messages(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
) -> Result<i64, DbError> {
    let rows = db
        .query_typed(
            "SELECT last_seq FROM conversations WHERE id = $1 AND user_id = $2",
            &[(&conversation.0, Type::UUID), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(rows.first().map_or(0, |row| row.get(0)))
}
