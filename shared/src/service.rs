//! Task operations: the one implementation of each, called by the REST handlers and by the tools.
//! Each runs on an [`Executor`], so a tool can run it inside the transaction that also stores the
//! tool's result.

use crate::db::{DbError, Executor};
use crate::domain::{NewTask, ParseError, Task, TaskId, TaskPage, TaskPatch, TaskQuery, UserId};
use crate::repo;

/// Why a task operation failed: something the caller can act on, or the database.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("task {0} was not found")]
    NotFound(i64),
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl TaskError {
    /// A field that failed to parse.
    pub fn invalid(field: &'static str, err: ParseError) -> Self {
        Self::Invalid {
            field,
            message: err.0,
        }
    }
}

impl From<TaskError> for crate::ApiError {
    fn from(err: TaskError) -> Self {
        match err {
            TaskError::NotFound(_) => Self::NotFound(err.to_string()),
            TaskError::Invalid { field, message } => Self::invalid(field, message),
            TaskError::Db(err) => err.into(),
        }
    }
}

/// Creates a task.
pub async fn create_task(
    db: &impl Executor,
    user: &UserId,
    task: &NewTask,
) -> Result<Task, TaskError> {
    Ok(repo::insert_task(db, user, task).await?)
}

/// One of the user's tasks.
pub async fn get_task(db: &impl Executor, user: &UserId, id: TaskId) -> Result<Task, TaskError> {
    repo::get_task(db, user, id)
        .await?
        .ok_or(TaskError::NotFound(id.get()))
}

/// A page of the user's tasks.
pub async fn list_tasks(
    db: &impl Executor,
    user: &UserId,
    query: &TaskQuery,
) -> Result<TaskPage, TaskError> {
    Ok(repo::list_tasks(db, user, query).await?)
}

/// Applies a partial change (title, description, completion).
pub async fn update_task(
    db: &impl Executor,
    user: &UserId,
    id: TaskId,
    patch: &TaskPatch,
) -> Result<Task, TaskError> {
    repo::update_task(db, user, id, patch)
        .await?
        .ok_or(TaskError::NotFound(id.get()))
}

/// Marks a task completed or pending; repeating it changes nothing.
pub async fn set_completed(
    db: &impl Executor,
    user: &UserId,
    id: TaskId,
    completed: bool,
) -> Result<Task, TaskError> {
    let patch = TaskPatch {
        completed: Some(completed),
        ..TaskPatch::default()
    };
    update_task(db, user, id, &patch).await
}

/// Flips completion (the Phase II toggle).
pub async fn toggle_task(db: &impl Executor, user: &UserId, id: TaskId) -> Result<Task, TaskError> {
    repo::toggle_task(db, user, id)
        .await?
        .ok_or(TaskError::NotFound(id.get()))
}

/// Deletes a task and returns what it was.
pub async fn delete_task(db: &impl Executor, user: &UserId, id: TaskId) -> Result<Task, TaskError> {
    repo::delete_task(db, user, id)
        .await?
        .ok_or(TaskError::NotFound(id.get()))
}
