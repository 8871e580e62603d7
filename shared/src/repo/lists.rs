//! List statements. The Inbox is not stored: it is every task on no list (see migration V9).

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::UserId;
use crate::history::Origin;
use crate::organise::{INBOX, ListName, ListSummary};

/// What a list write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListWritten {
    List(ListSummary),
    NotFound,
    /// The user has a list of that name already (ignoring case): this one.
    Exists(String),
    /// Over the writes-per-minute limit: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
}

/// How many of the user's (`$1`) tasks are on the list `$l`: pending, then all.
macro_rules! list_counts {
    ($l:literal) => {
        concat!(
            "(SELECT count(*) FROM tasks t WHERE t.user_id = $1 AND t.list_id = ",
            $l,
            " AND NOT t.completed), (SELECT count(*) FROM tasks t WHERE t.user_id = $1",
            " AND t.list_id = ",
            $l,
            ")"
        )
    };
}

/// Reads `ok, retry_after, id, name, pending, total, existing` of a quota-guarded list write.
fn list_written(rows: &[Row]) -> Result<ListWritten, DbError> {
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("a list write returned no row")))?;
    if !row.get::<_, bool>(0) {
        let secs: i32 = row.get(1);
        return Ok(ListWritten::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        });
    }
    if let Some(existing) = row.get::<_, Option<String>>(6) {
        return Ok(ListWritten::Exists(existing));
    }
    Ok(match row.get::<_, Option<i64>>(2) {
        Some(id) => ListWritten::List(ListSummary {
            id,
            name: row.get(3),
            pending: row.get(4),
            total: row.get(5),
        }),
        None => ListWritten::NotFound,
    })
}

/// The Inbox and the user's lists, with their task counts: the Inbox first, then by name.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_lists(
    client: &impl Executor,
    user: &UserId,
) -> Result<Vec<ListSummary>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "SELECT 0::bigint, NULL::text, count(*) FILTER (WHERE NOT completed), count(*)",
                " FROM tasks WHERE user_id = $1 AND list_id IS NULL",
                " UNION ALL",
                " SELECT l.id, l.name, count(t.id) FILTER (WHERE NOT t.completed), count(t.id)",
                " FROM lists l LEFT JOIN tasks t ON t.user_id = l.user_id AND t.list_id = l.id",
                " WHERE l.user_id = $1 GROUP BY l.id, l.name"
            ),
            &[(&user.as_str(), Type::TEXT)],
        )
        .await?;
    let mut lists: Vec<ListSummary> = rows
        .iter()
        .map(|row| ListSummary {
            id: row.get(0),
            name: row
                .get::<_, Option<String>>(1)
                .unwrap_or_else(|| INBOX.to_owned()),
            pending: row.get(2),
            total: row.get(3),
        })
        .collect();
    lists.sort_by_cached_key(|l| (l.id != 0, l.name.to_lowercase(), l.id));
    Ok(lists)
}

/// Creates a list, unless the user has one of that name (in any case).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn create_list(
    client: &impl Executor,
    user: &UserId,
    name: &ListName,
    limits: &Limits,
) -> Result<ListWritten, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$1", "$3"),
                ", ins AS (INSERT INTO lists (user_id, name) SELECT $1, $2",
                " WHERE (SELECT ok FROM allowed)",
                " ON CONFLICT (user_id, key) DO NOTHING RETURNING id, name)",
                " SELECT allowed.ok, allowed.retry_after, ins.id, ins.name, 0::bigint, 0::bigint,",
                " CASE WHEN ins.id IS NULL THEN",
                " (SELECT name FROM lists WHERE user_id = $1 AND key = lower($2)) END",
                " FROM allowed LEFT JOIN ins ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&name.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
            ],
        )
        .await?;
    list_written(&rows)
}

/// Renames one of the user's lists, unless another of theirs has that name (in any case).
#[instrument(skip_all, fields(user_id = %user, list_id = id))]
pub async fn rename_list(
    client: &impl Executor,
    user: &UserId,
    id: i64,
    name: &ListName,
    limits: &Limits,
) -> Result<ListWritten, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$1", "$4"),
                ", taken AS (SELECT name FROM lists",
                " WHERE user_id = $1 AND key = lower($3) AND id <> $2),",
                " up AS (UPDATE lists SET name = $3 WHERE user_id = $1 AND id = $2",
                " AND (SELECT ok FROM allowed) AND NOT EXISTS (SELECT 1 FROM taken)",
                " RETURNING id, name)",
                " SELECT allowed.ok, allowed.retry_after, up.id, up.name, ",
                list_counts!("up.id"),
                ", CASE WHEN EXISTS (SELECT 1 FROM lists WHERE user_id = $1 AND id = $2)",
                " THEN (SELECT name FROM taken) END",
                " FROM allowed LEFT JOIN up ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&id, Type::INT8),
                (&name.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
            ],
        )
        .await?;
    list_written(&rows)
}

/// Deletes one of the user's lists; its tasks move to the Inbox (the foreign key sets their list
/// to none). Answers the list as it was, with the counts of the tasks that moved.
#[instrument(skip_all, fields(user_id = %user, list_id = id))]
pub async fn delete_list(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: i64,
    limits: &Limits,
) -> Result<ListWritten, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$1", "$3"),
                // The tasks go to the Inbox here, saying where the change comes from, so history
                // records each move; the foreign key then finds none left to move.
                ", moved AS (UPDATE tasks SET list_id = NULL,",
                " via = $4, via_turn = $5",
                " WHERE user_id = $1 AND list_id = $2 AND (SELECT ok FROM allowed)",
                " AND EXISTS (SELECT 1 FROM lists WHERE user_id = $1 AND id = $2))",
                ", gone AS (DELETE FROM lists WHERE user_id = $1 AND id = $2",
                " AND (SELECT ok FROM allowed) RETURNING id, name)",
                " SELECT allowed.ok, allowed.retry_after, gone.id, gone.name, ",
                list_counts!("gone.id"),
                ", NULL::text FROM allowed LEFT JOIN gone ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&id, Type::INT8),
                (&limits.writes_per_minute, Type::INT4),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    list_written(&rows)
}
