//! History, trash and undo statements (migration V10). The events themselves are written by the
//! schema's triggers, in the statement of each change.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::{PageLimit, Task, TaskId, TurnId, UserId};
use crate::history::{Event, Origin, StoredEvent};

use super::tasks::{Written, task_rows};

/// The columns of an event statement, `e` the event, in the order `event_from_row` reads them.
macro_rules! event_columns {
    () => {
        "e.id, e.task_id, e.kind, e.source, e.turn_id, e.undoes, e.undone_by IS NOT NULL, \
         e.before, e.after, e.at, \
         (SELECT name FROM lists l WHERE l.user_id = e.user_id \
           AND l.id = (e.before ->> 'list_id')::bigint), \
         (SELECT name FROM lists l WHERE l.user_id = e.user_id \
           AND l.id = (e.after ->> 'list_id')::bigint), \
         coalesce((SELECT title FROM tasks t WHERE t.user_id = e.user_id AND t.id = e.task_id), \
           (SELECT title FROM trash t WHERE t.user_id = e.user_id AND t.id = e.task_id))"
    };
}

fn events_from_rows(rows: &[Row]) -> Vec<Event> {
    let now = Utc::now();
    rows.iter()
        .filter_map(|row| {
            StoredEvent {
                id: row.get(0),
                task_id: row.get(1),
                kind: row.get(2),
                source: row.get(3),
                turn_id: row.get(4),
                undoes: row.get(5),
                undone: row.get(6),
                before: row.get(7),
                after: row.get(8),
                at: row.get(9),
                before_list: row.get(10),
                after_list: row.get(11),
                title_now: row.get(12),
            }
            .show(now)
        })
        .collect()
}

/// A page of the user's history (of one task when `task` is given), newest first, older than the
/// event `before` when given; and whether older events follow.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_events(
    client: &impl Executor,
    user: &UserId,
    task: Option<TaskId>,
    before: Option<i64>,
    limit: PageLimit,
) -> Result<(Vec<Event>, bool), DbError> {
    let task = task.map(TaskId::get);
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                event_columns!(),
                " FROM task_events e WHERE e.user_id = $1",
                " AND ($2::bigint IS NULL OR e.task_id = $2)",
                " AND ($3::bigint IS NULL OR e.id < $3)",
                " ORDER BY e.id DESC LIMIT $4"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&task, Type::INT8),
                (&before, Type::INT8),
                (&(limit.get() + 1), Type::INT8),
            ],
        )
        .await?;
    let more = rows.len() > limit.get() as usize;
    let shown = &rows[..rows.len().min(limit.get() as usize)];
    Ok((events_from_rows(shown), more))
}

/// Where a page of the trash ends: the deletion time and number of its last task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrashCursor {
    pub deleted_at: DateTime<Utc>,
    pub id: i64,
}

/// A page of the user's trash, most recently deleted first (only tasks deleted in the last
/// [`super::TRASH_DAYS`] days), and the cursor of the next page.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_trash(
    client: &impl Executor,
    user: &UserId,
    after: Option<TrashCursor>,
    limit: PageLimit,
) -> Result<(Vec<Task>, Option<TrashCursor>), DbError> {
    let at = after.map(|a| a.deleted_at);
    let id = after.map(|a| a.id);
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                ", ",
                list_of!("t"),
                ", t.deleted_at FROM trash t WHERE t.user_id = $1",
                " AND t.deleted_at > now() - ",
                trash_days!(),
                " AND ($2::timestamptz IS NULL OR (t.deleted_at, t.id) < ($2, $3))",
                " ORDER BY t.deleted_at DESC, t.id DESC LIMIT $4"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&at, Type::TIMESTAMPTZ),
                (&id, Type::INT8),
                (&(limit.get() + 1), Type::INT8),
            ],
        )
        .await?;
    let limit = limit.get() as usize;
    let next = (rows.len() > limit).then(|| {
        let last = &rows[limit - 1];
        TrashCursor {
            deleted_at: last.get(super::tasks::TASK_COLUMNS),
            id: last.get(0),
        }
    });
    let tasks = task_rows(&rows[..rows.len().min(limit)]);
    Ok((tasks, next))
}

/// Brings a task back from the trash with its number, within the writes-per-minute and
/// tasks-per-user limits, in one statement. A list deleted meanwhile leaves it in the Inbox.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn restore_task(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Written, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "WITH binned AS (SELECT 1 FROM trash WHERE user_id = $2 AND id = $1",
                " AND deleted_at > now() - ",
                trash_days!(),
                "), allowed AS (INSERT INTO users AS u (user_id, write_minute, writes)",
                " VALUES ($2, date_trunc('minute', now()), 1)",
                " ON CONFLICT (user_id) DO UPDATE SET writes = ",
                writes_now!(),
                ", write_minute = excluded.write_minute,",
                " added = ",
                writes_now!(),
                " <= $3 AND u.tasks < $4 AND EXISTS (SELECT 1 FROM binned),",
                " tasks = u.tasks + CASE WHEN ",
                writes_now!(),
                " <= $3 AND u.tasks < $4 AND EXISTS (SELECT 1 FROM binned) THEN 1 ELSE 0 END",
                " RETURNING writes <= $3 AS ok, added, ",
                retry_after!(),
                "), back AS (DELETE FROM trash WHERE user_id = $2 AND id = $1",
                " AND (SELECT added FROM allowed) RETURNING *),",
                " ins AS (INSERT INTO tasks (",
                trash_columns!(),
                ", via, via_turn, via_restore) SELECT user_id, id, title, description,",
                " completed, created_at, now(), completed_at, due_date, due_time, due_tz, due_at,",
                " due_rule, last_completed_at, priority, tags,",
                " (SELECT l.id FROM lists l WHERE l.user_id = $2 AND l.id = back.list_id),",
                " $5, $6, true FROM back RETURNING ",
                task_columns!(),
                ", ",
                list_of!("tasks"),
                ") SELECT allowed.ok, allowed.retry_after,",
                " allowed.added OR NOT allowed.ok OR NOT EXISTS (SELECT 1 FROM binned), ins.*",
                " FROM allowed LEFT JOIN ins ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&limits.tasks_per_user, Type::INT8),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    super::tasks::written(&rows)
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoWritten {
    /// The events reversed, newest first.
    Undone(Vec<Event>),
    /// Nothing was changed, for this reason.
    Refused(String),
    /// `turn` changed none of the user's tasks.
    NoSuchTurn,
    RateLimited {
        retry_after_secs: u64,
    },
}

/// Reverses the user's latest change, or everything `turn` changed, as one write (see
/// `smart_todo_undo` in migration V10); a second statement reads the events it reversed.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn undo(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    turn: Option<TurnId>,
    limits: &Limits,
) -> Result<UndoWritten, DbError> {
    let turn = turn.map(|t| t.0);
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$1", "$2"),
                " SELECT allowed.ok, allowed.retry_after, u.undone, u.reason FROM allowed",
                " LEFT JOIN LATERAL smart_todo_undo(CASE WHEN allowed.ok THEN $1 END, $3, $4,",
                " $5, $6) u ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&turn, Type::UUID),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
                (&limits.tasks_per_user, Type::INT8),
            ],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("an undo returned no row")))?;
    if !row.get::<_, bool>(0) {
        let secs: i32 = row.get(1);
        return Ok(UndoWritten::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        });
    }
    let undone: Option<Vec<i64>> = row.get(2);
    let reason: Option<String> = row.get(3);
    let Some(undone) = undone else {
        return Ok(UndoWritten::NoSuchTurn);
    };
    if let Some(reason) = reason {
        return Ok(UndoWritten::Refused(reason));
    }
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                event_columns!(),
                " FROM task_events e WHERE e.user_id = $1 AND e.id = ANY($2)",
                " ORDER BY e.id DESC"
            ),
            &[(&user.as_str(), Type::TEXT), (&undone, Type::INT8_ARRAY)],
        )
        .await?;
    Ok(UndoWritten::Undone(events_from_rows(&rows)))
}
