//! Task statements.

use tokio_postgres::Row;
use tokio_postgres::types::Type;
use tracing::instrument;

use crate::db::{DbError, Executor};
use crate::domain::{NewTask, PageCursor, Task, TaskId, TaskPage, TaskPatch, TaskQuery, UserId};

/// The columns every task statement returns, in the order `task_from_row` reads them.
macro_rules! task_columns {
    () => {
        "id, title, description, completed, created_at, updated_at, completed_at"
    };
}

fn task_from_row(row: &Row) -> Task {
    Task {
        id: row.get(0),
        title: row.get(1),
        description: row.get(2),
        completed: row.get(3),
        created_at: row.get(4),
        updated_at: row.get(5),
        completed_at: row.get(6),
    }
}

fn first_task(rows: Vec<Row>) -> Option<Task> {
    rows.first().map(task_from_row)
}

/// Creates a task owned by `user`.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn insert_task(
    client: &impl Executor,
    user: &UserId,
    task: &NewTask,
) -> Result<Task, DbError> {
    let description = task.description.as_ref().map(|d| d.as_str());
    let rows = client
        .query_typed(
            concat!(
                "INSERT INTO tasks (user_id, title, description) VALUES ($1, $2, $3) RETURNING ",
                task_columns!()
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&task.title.as_str(), Type::TEXT),
                (&description, Type::TEXT),
            ],
        )
        .await?;
    first_task(rows)
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("INSERT … RETURNING returned no row")))
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

/// A page of `user`'s tasks in id order, filtered by status and text.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_tasks(
    client: &impl Executor,
    user: &UserId,
    query: &TaskQuery,
) -> Result<TaskPage, DbError> {
    let completed = query.status.completed();
    let after = query.after.map_or(0, |cursor| cursor.last_id().get());
    // One row more than the page, to know whether another page follows.
    let fetch = query.limit.get() + 1;
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                " FROM tasks WHERE user_id = $1",
                " AND ($2::bool IS NULL OR completed = $2)",
                " AND ($3::text IS NULL OR strpos(lower(title || ' ' || coalesce(description, '')), lower($3)) > 0)",
                " AND id > $4 ORDER BY id LIMIT $5"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&completed, Type::BOOL),
                (&query.text.as_deref(), Type::TEXT),
                (&after, Type::INT8),
                (&fetch, Type::INT8),
            ],
        )
        .await?;
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

/// Applies a partial change; `None` when the task does not exist or belongs to someone else.
/// Completing sets `completed_at` once (repeating it keeps the first time); reopening clears it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn update_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
    patch: &TaskPatch,
) -> Result<Option<Task>, DbError> {
    let title = patch.title.as_ref().map(|t| t.as_str());
    let set_description = patch.description.is_some();
    let description = patch
        .description
        .as_ref()
        .and_then(|d| d.as_ref().map(|d| d.as_str()));
    let rows = client
        .query_typed(
            concat!(
                "UPDATE tasks SET",
                " title = coalesce($3, title),",
                " description = CASE WHEN $4 THEN $5 ELSE description END,",
                " completed = coalesce($6, completed),",
                " completed_at = CASE WHEN $6 IS NULL THEN completed_at",
                "   WHEN $6 THEN coalesce(completed_at, now()) ELSE NULL END,",
                " updated_at = now()",
                " WHERE id = $1 AND user_id = $2 RETURNING ",
                task_columns!()
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&title, Type::TEXT),
                (&set_description, Type::BOOL),
                (&description, Type::TEXT),
                (&patch.completed, Type::BOOL),
            ],
        )
        .await?;
    Ok(first_task(rows))
}

/// Flips completion (the Phase II `PATCH …/complete` route).
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn toggle_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
) -> Result<Option<Task>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "UPDATE tasks SET completed = NOT completed,",
                " completed_at = CASE WHEN completed THEN NULL ELSE now() END, updated_at = now()",
                " WHERE id = $1 AND user_id = $2 RETURNING ",
                task_columns!()
            ),
            &[(&id.get(), Type::INT8), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(first_task(rows))
}

/// Deletes a task and returns what it was; `None` when it does not exist or belongs to someone else.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn delete_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
) -> Result<Option<Task>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING ",
                task_columns!()
            ),
            &[(&id.get(), Type::INT8), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(first_task(rows))
}
