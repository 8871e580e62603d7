//! Task statements.

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::{
    DueChange, NewTask, PageCursor, StatusFilter, Task, TaskId, TaskPage, TaskPatch, TaskQuery,
    UserId, Zone,
};
use crate::due::{Due, Recurrence};

/// The columns every task statement returns, in the order `task_from_row` reads them.
macro_rules! task_columns {
    () => {
        "id, title, description, completed, created_at, updated_at, completed_at, \
         due_date, due_time, due_tz, due_rule"
    };
}

/// How many columns `task_columns!()` has.
const TASK_COLUMNS: usize = 11;

fn task_from_row(row: &Row) -> Task {
    task_at(row, 0)
}

/// The task whose `task_columns!()` start at column `at`.
fn task_at(row: &Row, at: usize) -> Task {
    Task {
        id: row.get(at),
        title: row.get(at + 1),
        description: row.get(at + 2),
        completed: row.get(at + 3),
        created_at: row.get(at + 4),
        updated_at: row.get(at + 5),
        completed_at: row.get(at + 6),
        due: due_at(row, at + 7),
    }
}

/// The due of the row whose `due_date, due_time, due_tz, due_rule` start at column `at`. The
/// columns hold only what the API validated; a zone or rule this build cannot read (from a newer
/// tz database, say) degrades to UTC or to no recurrence instead of failing the request.
fn due_at(row: &Row, at: usize) -> Option<Due> {
    let date: NaiveDate = row.get::<_, Option<NaiveDate>>(at)?;
    let time: Option<NaiveTime> = row.get(at + 1);
    let zone = Zone::parse(row.get::<_, Option<&str>>(at + 2).unwrap_or("UTC")).unwrap_or_default();
    let recurrence = row
        .get::<_, Option<&str>>(at + 3)
        .and_then(|rule| Recurrence::parse(rule).ok());
    Some(Due::new(date, time, zone.tz(), recurrence, Utc::now()))
}

/// A due as the five column values `due_date, due_time, due_tz, due_at, due_rule`.
struct DueColumns<'a> {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    tz: Option<&'a str>,
    at: Option<DateTime<Utc>>,
    rule: Option<&'a str>,
}

impl<'a> DueColumns<'a> {
    fn of(due: Option<&'a Due>) -> Self {
        Self {
            date: due.map(|d| d.date),
            time: due.and_then(|d| d.time),
            tz: due.map(|d| d.timezone.as_str()),
            at: due.and_then(|d| d.at),
            rule: due.and_then(|d| d.recurrence.as_ref().map(|r| r.rule.as_str())),
        }
    }
}

/// What a write did: changed a task, found none, or was refused by a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Task(Task),
    NotFound,
    /// Over the writes-per-minute limit: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The user has as many tasks as allowed.
    TooManyTasks,
    /// The change asked to complete a recurring task: everything else in it is applied, and the
    /// task stays pending until [`advance_recurring`] moves its due to the next occurrence.
    Recurring(Task),
}

/// Seconds until the end of the minute a `users` row counts writes in.
macro_rules! retry_after {
    () => {
        "ceil(extract(epoch FROM write_minute + interval '1 minute' - now()))::int AS retry_after"
    };
}

/// The user's writes in the current minute, this one included, as an expression in a `users` upsert
/// aliased `u` (`excluded` is the row the upsert would have inserted).
macro_rules! writes_now {
    () => {
        "(CASE WHEN u.write_minute = excluded.write_minute THEN u.writes + 1 ELSE 1 END)"
    };
}

/// Counts one write in the user's current minute (`$user`) against the limit (`$limit`) in the
/// user's `users` row, and says whether it is allowed and how long until the minute ends. Rows:
/// `allowed(ok, retry_after)`.
macro_rules! write_quota {
    ($user:literal, $limit:literal) => {
        concat!(
            "WITH allowed AS (INSERT INTO users AS u (user_id, write_minute, writes)",
            " VALUES (",
            $user,
            ", date_trunc('minute', now()), 1)",
            " ON CONFLICT (user_id) DO UPDATE SET writes = ",
            writes_now!(),
            ",",
            " write_minute = excluded.write_minute",
            " RETURNING writes <= ",
            $limit,
            " AS ok, ",
            retry_after!(),
            ")"
        )
    };
}

/// The task's rule after an `update_task` (`$8` set the due, `$13` its rule, `$14` keep the old).
macro_rules! rule_after {
    () => {
        "(CASE WHEN NOT $8 OR $14 AND due_rule IS NOT NULL THEN due_rule ELSE $13 END)"
    };
}

/// Reads the one row of a quota-guarded write: `ok, retry_after, extra, task columns…`.
fn written(rows: &[Row]) -> Result<Written, DbError> {
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("a guarded write returned no row")))?;
    if !row.get::<_, bool>(0) {
        let secs: i32 = row.get(1);
        return Ok(Written::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        });
    }
    if !row.get::<_, bool>(2) {
        return Ok(Written::TooManyTasks);
    }
    Ok(match row.get::<_, Option<i64>>(3) {
        // An update's last column says whether it completed a recurring task.
        Some(_) if row.len() > 3 + TASK_COLUMNS && row.get::<_, bool>(3 + TASK_COLUMNS) => {
            Written::Recurring(task_at(row, 3))
        }
        Some(_) => Written::Task(task_at(row, 3)),
        None => Written::NotFound,
    })
}

fn first_task(rows: Vec<Row>) -> Option<Task> {
    rows.first().map(task_from_row)
}

/// Creates a task owned by `user`, within the writes-per-minute and tasks-per-user limits, in one
/// statement.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn insert_task(
    client: &impl Executor,
    user: &UserId,
    task: &NewTask,
    limits: &Limits,
) -> Result<Written, DbError> {
    let description = task.description.as_ref().map(|d| d.as_str());
    let due = DueColumns::of(task.due.as_ref());
    let rows = client
        .query_typed(
            concat!(
                // One update of the user's row counts the write and, when it is allowed and the
                // user has room, the task and its number; `added` keeps that decision for the
                // insert below. Concurrent creates by one user queue on this row, so their numbers
                // are consecutive, and the row outlives deletes, so a number is never reused.
                "WITH allowed AS (INSERT INTO users AS u",
                " (user_id, tasks, last_task_no, write_minute, writes, added)",
                " VALUES ($1, CASE WHEN 1 <= $4 AND 0 < $5 THEN 1 ELSE 0 END,",
                " CASE WHEN 1 <= $4 AND 0 < $5 THEN 1 ELSE 0 END,",
                " date_trunc('minute', now()), 1, 1 <= $4 AND 0 < $5)",
                " ON CONFLICT (user_id) DO UPDATE SET writes = ",
                writes_now!(),
                ",",
                " write_minute = excluded.write_minute,",
                " added = ",
                writes_now!(),
                " <= $4 AND u.tasks < $5,",
                " tasks = u.tasks + CASE WHEN ",
                writes_now!(),
                " <= $4 AND u.tasks < $5",
                " THEN 1 ELSE 0 END,",
                " last_task_no = u.last_task_no + CASE WHEN ",
                writes_now!(),
                " <= $4 AND u.tasks < $5 THEN 1 ELSE 0 END",
                " RETURNING writes <= $4 AS ok, added, last_task_no, ",
                retry_after!(),
                "),",
                " ins AS (INSERT INTO tasks (user_id, id, title, description,",
                " due_date, due_time, due_tz, due_at, due_rule)",
                " SELECT $1, allowed.last_task_no, $2, $3, $6, $7, $8, $9, $10",
                " FROM allowed WHERE allowed.added RETURNING ",
                task_columns!(),
                ") SELECT allowed.ok, allowed.retry_after, allowed.added OR NOT allowed.ok, ins.*",
                " FROM allowed LEFT JOIN ins ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&task.title.as_str(), Type::TEXT),
                (&description, Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&limits.tasks_per_user, Type::INT8),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.tz, Type::TEXT),
                (&due.at, Type::TIMESTAMPTZ),
                (&due.rule, Type::TEXT),
            ],
        )
        .await?;
    written(&rows)
}

/// One of `user`'s tasks; `None` when it does not exist or belongs to someone else.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn get_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
) -> Result<Option<Task>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                " FROM tasks WHERE id = $1 AND user_id = $2"
            ),
            &[(&id.get(), Type::INT8), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(first_task(rows))
}

/// The statement of a task page: `$1` user, `$2` the id to start after, `$3` the row limit, and
/// `$4` the search text when `text` is set.
///
/// One fixed statement per filter shape instead of `($n IS NULL OR …)` branches, so a prepared
/// statement's generic plan is as good as a custom one. The user is matched as the range
/// `user_id >= $1 AND user_id <= $1` (the same rows as `=` under the deterministic collation of
/// `tasks.user_id`) and the page ordered by `user_id, [completed,] id`: with `=` PostgreSQL treats
/// `user_id` as a constant, the order becomes plain `id`, and when one user holds most of the table
/// it walks the primary key and filters out every other user's rows on the way (12,500 rows for
/// one page in the benchmark's layout). With the range, only the user's index provides the order.
pub fn list_statement(status: StatusFilter, text: bool) -> &'static str {
    macro_rules! page {
        ($filter:expr, $order:literal) => {
            concat!(
                "SELECT ",
                task_columns!(),
                " FROM tasks WHERE user_id >= $1 AND user_id <= $1",
                $filter,
                " AND id > $2 ORDER BY ",
                $order,
                " LIMIT $3"
            )
        };
    }
    macro_rules! text {
        () => {
            " AND strpos(lower(title || ' ' || coalesce(description, '')), lower($4)) > 0"
        };
    }
    match (status, text) {
        (StatusFilter::All, false) => page!("", "user_id, id"),
        (StatusFilter::All, true) => page!(text!(), "user_id, id"),
        (StatusFilter::Pending, false) => {
            page!(" AND completed = false", "user_id, completed, id")
        }
        (StatusFilter::Pending, true) => page!(
            concat!(" AND completed = false", text!()),
            "user_id, completed, id"
        ),
        (StatusFilter::Completed, false) => {
            page!(" AND completed = true", "user_id, completed, id")
        }
        (StatusFilter::Completed, true) => page!(
            concat!(" AND completed = true", text!()),
            "user_id, completed, id"
        ),
    }
}

/// A page of `user`'s tasks in id order, filtered by status and text.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_tasks(
    client: &impl Executor,
    user: &UserId,
    query: &TaskQuery,
) -> Result<TaskPage, DbError> {
    let after = query.after.map_or(0, |cursor| cursor.last_id().get());
    // One row more than the page, to know whether another page follows.
    let fetch = query.limit.get() + 1;
    let user_id = user.as_str();
    let text = query.text.as_deref();
    let statement = list_statement(query.status, text.is_some());
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = vec![
        (&user_id, Type::TEXT),
        (&after, Type::INT8),
        (&fetch, Type::INT8),
    ];
    if let Some(text) = &text {
        params.push((text, Type::TEXT));
    }
    let rows = client.query_typed(statement, &params).await?;
    let mut tasks: Vec<Task> = rows.iter().map(task_from_row).collect();
    let next_cursor = if tasks.len() as i64 > query.limit.get() {
        tasks.truncate(query.limit.get() as usize);
        tasks
            .last()
            .map(|t| PageCursor::after(TaskId::new(t.id).expect("stored ids are positive")))
    } else {
        None
    };
    Ok(TaskPage { tasks, next_cursor })
}

/// Applies a partial change within the writes-per-minute limit. Completing sets `completed_at`
/// once (repeating it keeps the first time); reopening clears it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn update_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
    patch: &TaskPatch,
    limits: &Limits,
) -> Result<Written, DbError> {
    let title = patch.title.as_ref().map(|t| t.as_str());
    let set_description = patch.description.is_some();
    let description = patch
        .description
        .as_ref()
        .and_then(|d| d.as_ref().map(|d| d.as_str()));
    let (set_due, due, keep_rule) = match &patch.due {
        None => (false, DueColumns::of(None), true),
        Some(DueChange::Clear) => (true, DueColumns::of(None), false),
        Some(DueChange::Set { due, keep_rule }) => (true, DueColumns::of(Some(due)), *keep_rule),
    };
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$7"),
                // $8: set the due to $9–$13; $14: keep the task's rule when it has one.
                ", changed AS (UPDATE tasks SET",
                " title = coalesce($3, title),",
                " description = CASE WHEN $4 THEN $5 ELSE description END,",
                // Completing a task that is recurring after this change leaves it pending: the
                // caller moves it to its next occurrence.
                " completed = CASE WHEN $6 AND ",
                rule_after!(),
                " IS NOT NULL THEN completed",
                "   ELSE coalesce($6, completed) END,",
                " completed_at = CASE WHEN $6 IS NULL THEN completed_at",
                "   WHEN $6 AND ",
                rule_after!(),
                " IS NOT NULL THEN completed_at",
                "   WHEN $6 THEN coalesce(completed_at, now()) ELSE NULL END,",
                " due_date = CASE WHEN $8 THEN $9 ELSE due_date END,",
                " due_time = CASE WHEN $8 THEN $10 ELSE due_time END,",
                " due_tz = CASE WHEN $8 THEN $11 ELSE due_tz END,",
                " due_at = CASE WHEN $8 THEN $12 ELSE due_at END,",
                " due_rule = ",
                rule_after!(),
                ",",
                " updated_at = now()",
                " WHERE id = $1 AND user_id = $2 AND (SELECT ok FROM allowed) RETURNING ",
                task_columns!(),
                ", $6 IS TRUE AND due_rule IS NOT NULL AND NOT completed",
                ") SELECT allowed.ok, allowed.retry_after, true, changed.*",
                " FROM allowed LEFT JOIN changed ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&title, Type::TEXT),
                (&set_description, Type::BOOL),
                (&description, Type::TEXT),
                (&patch.completed, Type::BOOL),
                (&limits.writes_per_minute, Type::INT4),
                (&set_due, Type::BOOL),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.tz, Type::TEXT),
                (&due.at, Type::TIMESTAMPTZ),
                (&due.rule, Type::TEXT),
                (&keep_rule, Type::BOOL),
            ],
        )
        .await?;
    written(&rows)
}

/// Flips completion (the Phase II `PATCH …/complete` route), within the writes-per-minute limit.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn toggle_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
    limits: &Limits,
) -> Result<Written, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$3"),
                // Flipping a pending recurring task completes it: it stays pending, and the
                // caller moves it to its next occurrence.
                ", changed AS (UPDATE tasks SET",
                " completed = NOT completed AND due_rule IS NULL,",
                " completed_at = CASE WHEN completed OR due_rule IS NOT NULL THEN NULL",
                "   ELSE now() END, updated_at = now()",
                " WHERE id = $1 AND user_id = $2 AND (SELECT ok FROM allowed) RETURNING ",
                task_columns!(),
                ", due_rule IS NOT NULL",
                ") SELECT allowed.ok, allowed.retry_after, true, changed.*",
                " FROM allowed LEFT JOIN changed ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
            ],
        )
        .await?;
    written(&rows)
}

/// Deletes a task and returns what it was, within the writes-per-minute limit.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn delete_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
    limits: &Limits,
) -> Result<Written, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$3"),
                ", gone AS (DELETE FROM tasks WHERE id = $1 AND user_id = $2",
                " AND (SELECT ok FROM allowed) RETURNING ",
                task_columns!(),
                ") SELECT allowed.ok, allowed.retry_after, true, gone.*",
                " FROM allowed LEFT JOIN gone ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
            ],
        )
        .await?;
    written(&rows)
}

/// Moves a recurring task from the occurrence due on `from` to `next`, recording the completion.
/// `None` when the task no longer is due on `from` (another request moved it first): one
/// completion of an occurrence moves it once, however many tabs sent it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn advance_recurring(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
    from: NaiveDate,
    next: &Due,
) -> Result<Option<Task>, DbError> {
    let due = DueColumns::of(Some(next));
    let rows = client
        .query_typed(
            concat!(
                "UPDATE tasks SET due_date = $3, due_time = $4, due_at = $5,",
                " last_completed_at = now(), updated_at = now()",
                " WHERE id = $1 AND user_id = $2 AND due_date = $6 AND due_rule IS NOT NULL",
                " RETURNING ",
                task_columns!()
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.at, Type::TIMESTAMPTZ),
                (&from, Type::DATE),
            ],
        )
        .await?;
    Ok(first_task(rows))
}
