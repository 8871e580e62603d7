//! Task operations: the one implementation of each, called by the REST handlers and by the tools.
//! Each runs on an [`Executor`], so a tool can run it inside the transaction that also stores the
//! tool's result.

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::{
    NewTask, ParseError, Profile, Task, TaskId, TaskPage, TaskPatch, TaskQuery, UserId, Zone,
};
use crate::history::{EventPage, Origin, Undone};
use crate::organise::{Counts, INBOX, ListName, ListSummary};
use crate::repo::{self, Written};

/// Seconds after which a per-user total (not a rate) is worth trying again: after a clean-up.
const TOTAL_RETRY_SECS: u64 = 3600;

fn too_many_writes(limits: &Limits, retry_after_secs: u64) -> TaskError {
    TaskError::Limited {
        message: format!(
            "too many changes: at most {} a minute; try again in {retry_after_secs} s",
            limits.writes_per_minute
        ),
        retry_after_secs,
    }
}

fn outcome(written: Written, id: Option<TaskId>, limits: &Limits) -> Result<Task, TaskError> {
    match written {
        Written::Task(task) | Written::Recurring(task) => Ok(task),
        Written::NotFound => Err(TaskError::NotFound(id.map_or(0, TaskId::get))),
        Written::RateLimited { retry_after_secs } => Err(too_many_writes(limits, retry_after_secs)),
        Written::TooManyTasks => Err(TaskError::Limited {
            message: format!(
                "you have {} tasks, the most allowed; delete some to add more",
                limits.tasks_per_user
            ),
            retry_after_secs: TOTAL_RETRY_SECS,
        }),
    }
}

/// Why a task operation failed: something the caller can act on, or the database.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("task {0} was not found")]
    NotFound(i64),
    #[error("list {0} was not found")]
    ListNotFound(i64),
    /// Something else of the user's that does not exist (a task in the trash, a turn).
    #[error("{0}")]
    Missing(String),
    /// The change contradicts what exists (a list name taken, the Inbox renamed).
    #[error("{0}")]
    Conflict(String),
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Over a per-user limit; `retry_after_secs` says when trying again can help.
    #[error("{message}")]
    Limited {
        message: String,
        retry_after_secs: u64,
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
            TaskError::NotFound(_) | TaskError::ListNotFound(_) | TaskError::Missing(_) => {
                Self::NotFound(err.to_string())
            }
            TaskError::Conflict(message) => Self::Conflict(message),
            TaskError::Invalid { field, message } => Self::invalid(field, message),
            TaskError::Limited {
                message,
                retry_after_secs,
            } => Self::TooManyRequests {
                message,
                retry_after_secs,
            },
            TaskError::Db(err) => err.into(),
        }
    }
}

/// Creates a task.
pub async fn create_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    task: &NewTask,
    limits: &Limits,
) -> Result<Task, TaskError> {
    outcome(
        repo::insert_task(db, user, origin, task, limits).await?,
        None,
        limits,
    )
}

/// One of the user's tasks.
pub async fn get_task(db: &impl Executor, user: &UserId, id: TaskId) -> Result<Task, TaskError> {
    repo::get_task(db, user, id)
        .await?
        .ok_or(TaskError::NotFound(id.get()))
}

/// A page of the user's tasks, and how many match in all when `with_total`.
pub async fn list_tasks(
    db: &impl Executor,
    user: &UserId,
    query: &TaskQuery,
    with_total: bool,
) -> Result<TaskPage, TaskError> {
    query
        .check_cursor()
        .map_err(|e| TaskError::invalid("cursor", e))?;
    Ok(repo::list_tasks(db, user, query, with_total).await?)
}

/// Pending-task counts of each view, for the sidebar.
pub async fn counts(db: &impl Executor, user: &UserId) -> Result<Counts, TaskError> {
    Ok(repo::count_tasks(db, user).await?)
}

/// The Inbox and the user's lists, with their task counts.
pub async fn lists(db: &impl Executor, user: &UserId) -> Result<Vec<ListSummary>, TaskError> {
    Ok(repo::list_lists(db, user).await?)
}

fn list_outcome(
    written: repo::ListWritten,
    id: i64,
    limits: &Limits,
) -> Result<ListSummary, TaskError> {
    match written {
        repo::ListWritten::List(list) => Ok(list),
        repo::ListWritten::NotFound => Err(TaskError::ListNotFound(id)),
        repo::ListWritten::Exists(name) => Err(TaskError::Conflict(format!(
            "you have a list named '{name}' already"
        ))),
        repo::ListWritten::RateLimited { retry_after_secs } => {
            Err(too_many_writes(limits, retry_after_secs))
        }
    }
}

fn not_the_inbox(name: &ListName) -> Result<(), TaskError> {
    if name.is_inbox() {
        return Err(TaskError::Conflict(format!(
            "every user has the list '{INBOX}'; choose another name"
        )));
    }
    Ok(())
}

/// Creates a list.
pub async fn create_list(
    db: &impl Executor,
    user: &UserId,
    name: &ListName,
    limits: &Limits,
) -> Result<ListSummary, TaskError> {
    not_the_inbox(name)?;
    list_outcome(repo::create_list(db, user, name, limits).await?, 0, limits)
}

/// Renames a list; the Inbox (id 0) cannot be renamed.
pub async fn rename_list(
    db: &impl Executor,
    user: &UserId,
    id: i64,
    name: &ListName,
    limits: &Limits,
) -> Result<ListSummary, TaskError> {
    if id == 0 {
        return Err(TaskError::Conflict(format!(
            "the {INBOX} cannot be renamed"
        )));
    }
    not_the_inbox(name)?;
    list_outcome(
        repo::rename_list(db, user, id, name, limits).await?,
        id,
        limits,
    )
}

/// Deletes a list and moves its tasks to the Inbox; answers the list as it was, with the counts of
/// the tasks that moved. The Inbox (id 0) cannot be deleted.
pub async fn delete_list(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: i64,
    limits: &Limits,
) -> Result<ListSummary, TaskError> {
    if id == 0 {
        return Err(TaskError::Conflict(format!(
            "the {INBOX} cannot be deleted; its tasks are the ones on no other list"
        )));
    }
    list_outcome(
        repo::delete_list(db, user, origin, id, limits).await?,
        id,
        limits,
    )
}

/// Applies a partial change (title, description, completion, due). Completing a recurring task
/// moves its due to the next occurrence; the task stays pending.
pub async fn update_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    patch: &TaskPatch,
    limits: &Limits,
) -> Result<Task, TaskError> {
    let written = repo::update_task(db, user, origin, id, patch, limits).await?;
    settle(db, user, origin, id, written, patch.occurrence, limits).await
}

/// The task a write left, after moving a completed recurring task to its next occurrence. Only
/// such a completion takes a second statement; it moves the occurrence the first one saw, so a
/// completion sent twice (two tabs, a retry) moves the task once.
async fn settle(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    written: Written,
    occurrence: Option<chrono::NaiveDate>,
    limits: &Limits,
) -> Result<Task, TaskError> {
    let Written::Recurring(task) = written else {
        return outcome(written, Some(id), limits);
    };
    let Some(due) = &task.due else {
        return Ok(task);
    };
    // The caller completed an occurrence that is already done with (moved by an earlier or a
    // concurrent completion): nothing more to move.
    if occurrence.is_some_and(|seen| seen != due.date) {
        return Ok(task);
    }
    let Some(next) = due.next_occurrence(chrono::Utc::now()) else {
        return Ok(task);
    };
    match repo::advance_recurring(db, user, origin, id, due.date, &next).await? {
        Some(moved) => Ok(moved),
        None => get_task(db, user, id).await,
    }
}

/// The zone the user's date words are read in.
pub async fn user_zone(db: &impl Executor, user: &UserId) -> Result<Zone, TaskError> {
    Ok(repo::get_profile(db, user).await?.timezone)
}

/// Marks a task completed or pending; repeating it changes nothing. Completing a recurring task
/// moves it to its next occurrence: give the `occurrence` the caller saw to make a repeated
/// completion move it once.
pub async fn set_completed(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    completed: bool,
    occurrence: Option<chrono::NaiveDate>,
    limits: &Limits,
) -> Result<Task, TaskError> {
    let patch = TaskPatch {
        completed: Some(completed),
        occurrence,
        ..TaskPatch::default()
    };
    update_task(db, user, origin, id, &patch, limits).await
}

/// Flips completion (the Phase II toggle).
pub async fn toggle_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Task, TaskError> {
    let written = repo::toggle_task(db, user, origin, id, limits).await?;
    settle(db, user, origin, id, written, None, limits).await
}

/// Moves a task to the trash (for [`repo::TRASH_DAYS`] days) and returns what it was.
pub async fn delete_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Task, TaskError> {
    outcome(
        repo::delete_task(db, user, origin, id, limits).await?,
        Some(id),
        limits,
    )
}

/// Brings a task back from the trash, with its number.
pub async fn restore_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Task, TaskError> {
    match repo::restore_task(db, user, origin, id, limits).await? {
        repo::Written::NotFound => Err(TaskError::Missing(format!(
            "task {id} is not in the trash (deleted tasks stay there {} days)",
            repo::TRASH_DAYS
        ))),
        written => outcome(written, Some(id), limits),
    }
}

/// A page of the trash, most recently deleted first.
pub async fn trash(
    db: &impl Executor,
    user: &UserId,
    after: Option<repo::TrashCursor>,
    limit: crate::domain::PageLimit,
) -> Result<(Vec<Task>, Option<repo::TrashCursor>), TaskError> {
    Ok(repo::list_trash(db, user, after, limit).await?)
}

/// A page of the user's history (one task's when `task` is given), newest first, older than the
/// event `before`.
pub async fn activity(
    db: &impl Executor,
    user: &UserId,
    task: Option<TaskId>,
    before: Option<i64>,
    limit: crate::domain::PageLimit,
) -> Result<EventPage, TaskError> {
    let (events, more) = repo::list_events(db, user, task, before, limit).await?;
    let next_cursor = more
        .then(|| events.last().map(|e| crate::history::events_cursor(e.id)))
        .flatten();
    Ok(EventPage {
        events,
        next_cursor,
    })
}

/// Reverses the user's latest change (every task change of its request or chat turn), or
/// everything `turn` changed. Undo is a change too: undoing it again redoes what it undid.
pub async fn undo(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    turn: Option<crate::domain::TurnId>,
    limits: &Limits,
) -> Result<Undone, TaskError> {
    match repo::undo(db, user, origin, turn, limits).await? {
        repo::UndoWritten::Undone(undone) => Ok(Undone { undone }),
        repo::UndoWritten::Refused(reason) => Err(TaskError::Conflict(reason)),
        repo::UndoWritten::NoSuchTurn => Err(TaskError::Missing(
            "no task of yours was changed in that turn".into(),
        )),
        repo::UndoWritten::RateLimited { retry_after_secs } => {
            Err(too_many_writes(limits, retry_after_secs))
        }
    }
}

/// The user's settings.
pub async fn profile(db: &impl Executor, user: &UserId) -> Result<Profile, TaskError> {
    Ok(repo::get_profile(db, user).await?)
}

/// Sets the zone the user's date words are read in; a write like any other for the rate limit.
pub async fn set_timezone(
    db: &impl Executor,
    user: &UserId,
    zone: Zone,
    limits: &Limits,
) -> Result<Profile, TaskError> {
    match repo::set_timezone(db, user, zone, limits).await? {
        repo::ProfileWritten::Profile(profile) => Ok(profile),
        repo::ProfileWritten::RateLimited { retry_after_secs } => {
            Err(too_many_writes(limits, retry_after_secs))
        }
    }
}

/// Reads a due phrase ("tomorrow 5pm", "every monday at 9") in the user's zone; the zone costs
/// one statement, so only writes that carry a phrase pay for it.
pub async fn due_from_text(
    db: &impl Executor,
    user: &UserId,
    text: &str,
) -> Result<crate::due::Due, TaskError> {
    let zone = user_zone(db, user).await?;
    crate::due::parse_due(text, chrono::Utc::now(), zone.tz())
        .map_err(|e| TaskError::invalid("due", e))
}
