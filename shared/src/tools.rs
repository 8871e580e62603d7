//! The task tool registry, defined once: the [`Tool`] enum. The MCP server and the chat agent both
//! offer exactly these tools and run them through [`Tool::call`], which runs the same task
//! operations as the REST API. No argument is a user id: the caller passes the verified one.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Limits;
use crate::db::Executor;
use crate::domain::{
    DueChange, ListRequest, NewTask, PageLimit, ParseError, StatusFilter, Task, TaskDescription,
    TaskId, TaskPatch, TaskQuery, TaskTitle, UserId,
};
use crate::history::{EventPage, Origin, Undone};
use crate::organise::{INBOX, ListName, ListSummary, Order, PageCursor, Priority, Sort, Tag, View};
use crate::service;

/// Arguments of `add_task`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTaskArgs {
    /// The task itself, as a short phrase, e.g. "Buy groceries" (1-200 characters).
    pub title: String,
    /// Optional extra details, e.g. "milk, eggs, bread" (at most 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Optional: when it is due, in words, read in the account's time zone: "tomorrow 5pm", "friday",
    /// "in 3 days", "dec 24", "2026-12-24 09:30", "every monday at 9", "every month on the 1st".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Optional: "none" (default), "low", "medium" or "high" (send "high" for urgent or important).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Optional: the name of the list to put it on, e.g. "Shopping"; a new name creates the list.
    /// Omit for the Inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Optional tags without "#", e.g. ["errands"] (at most 10, each 1-32 characters, no spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// Arguments of `add_tasks`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTasksArgs {
    /// The tasks to add, 1-25, each as for add_task.
    pub tasks: Vec<AddTaskArgs>,
}

/// The page `list_tasks` reads unless told otherwise: as much as a model can use at once.
pub const LIST_TASKS_PAGE: PageLimit = PageLimit::MAX_PAGE;

/// Most tasks one `add_tasks` call adds.
pub const ADD_TASKS_MAX: usize = 25;

/// Arguments of `list_tasks`. Every filter narrows the listing.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksArgs {
    /// "all", "pending" (not done yet) or "completed". Default: "pending" with a view other than
    /// "all", else "all".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// By due date, in the account's time zone: "today" (due today or overdue), "overdue",
    /// "upcoming" (the 7 days after today), "no_date" or "all" (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<View>,
    /// Words to search for in titles and descriptions (word starts match, case and accents do not
    /// matter), e.g. "dentist".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Only tasks on this list, by name, e.g. "Work" or "Inbox".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Only tasks with this tag, e.g. "errands".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Only tasks of this priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// "due", "priority", "created", "updated", "title" or "relevance" (with q). Default:
    /// relevance with q, due for the dated views, else created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Sort>,
    /// "asc" or "desc"; each sort has its natural default (soonest, highest, oldest, newest
    /// change, A-Z, best match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// The next_cursor of the previous call, to read the next page of the same listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Tasks per page, 1-100 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// Arguments of `list_lists` (none).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListListsArgs {}

/// Arguments of the tools that act on one task.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRefArgs {
    /// The task's id: the number shown by list_tasks, e.g. 3.
    pub task_id: i64,
}

/// Arguments of `complete_task`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTaskArgs {
    /// The task's id: the number shown by list_tasks, e.g. 3.
    pub task_id: i64,
    /// Optional, for a recurring task: the due date (YYYY-MM-DD) of the occurrence being
    /// completed, as list_tasks showed it. The task moves on only while it is still due then, so
    /// sending the same completion twice moves it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<String>,
}

impl From<TaskRefArgs> for CompleteTaskArgs {
    fn from(args: TaskRefArgs) -> Self {
        Self {
            task_id: args.task_id,
            occurrence: None,
        }
    }
}

/// Arguments of `activity`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityArgs {
    /// Only the changes of this task (its id, e.g. 3); absent for every task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<i64>,
    /// Changes per page, 1-50 (default 20), newest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The next_cursor of the previous page, to read older changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Arguments of `find_task`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindTaskArgs {
    /// The words the task was named by, e.g. "meeting" for "delete the meeting task".
    pub words: String,
}

/// Result of `find_task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FoundTasks {
    /// The tasks the words name: the one whose title they are, or else every task whose title
    /// holds each word (pending first, at most 10).
    pub matches: Vec<Task>,
    /// More tasks match than `matches` shows: ask for more words.
    pub more: bool,
    /// When nothing matches: the tasks closest to the words (sharing the start of a word), best
    /// first; offer them.
    pub closest: Vec<Task>,
}

/// What `change_tasks` would do to each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Delete,
    Complete,
    Reopen,
}

impl BulkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Complete => "complete",
            Self::Reopen => "reopen",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Delete, Self::Complete, Self::Reopen]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// Arguments of `change_tasks`: what to do, and which tasks (at least one filter).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTasksArgs {
    /// "delete", "complete" or "reopen".
    pub action: BulkAction,
    /// "pending" or "completed" ("all" with another filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// "today", "overdue", "upcoming" or "no_date".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<View>,
    /// Words in the titles or descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// A list's name, e.g. "Work".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// A tag, e.g. "errands".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Only tasks of this priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// These tasks by id ("complete 3 and 4"), instead of a filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ids: Option<Vec<i64>>,
}

/// Result of `change_tasks`: the question to ask, and the tasks it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Proposal {
    pub action: BulkAction,
    /// Exactly the tasks a yes will change, stored with this turn (none: nothing matches, and
    /// nothing is asked).
    pub tasks: Vec<Task>,
    /// What to ask, word for word.
    pub question: String,
}

/// The answer to the question `change_tasks` asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Yes,
    No,
}

/// Arguments of `confirm_change`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmArgs {
    /// "yes" to carry out exactly what was asked, "no" to drop it.
    pub answer: Answer,
}

/// A task a confirmed change left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    pub task_id: i64,
    pub reason: String,
}

/// Result of `confirm_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Confirmed {
    pub answer: Answer,
    pub action: BulkAction,
    /// The tasks changed (none after a no).
    pub changed: Vec<TaskChange>,
    /// Tasks of the question that could not be changed (deleted since, a limit).
    pub skipped: Vec<Skipped>,
}

/// Arguments of `undo_last_change` (none).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoArgs {}

/// Arguments of `update_task`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskArgs {
    /// The task's id: the number shown by list_tasks, e.g. 1.
    pub task_id: i64,
    /// The new title, replacing the old one (1-200 characters). Omit to keep the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new description, replacing the old one; "" or null removes it. Omit to keep the
    /// description.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub description: Option<Option<String>>,
    /// The new due date, in words ("friday 5pm", "every weekday at 9"); null removes the date.
    /// Omit to keep it. A date without "every" moves a recurring task's date and keeps its rule.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub due: Option<Option<String>>,
    /// The new priority: "none", "low", "medium" or "high"; null means "none". Omit to keep it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Priority>")]
    pub priority: Option<Option<Priority>>,
    /// The list to move it to, by name (a new name creates the list); null or "Inbox" moves it to
    /// the Inbox. Omit to keep it where it is.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub list: Option<Option<String>>,
    /// The task's whole new set of tags (to add one, send the old ones and the new one); null or
    /// [] removes them all. Omit to keep them.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Vec<String>>")]
    pub tags: Option<Option<Vec<String>>>,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// What a tool did to one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    Created,
    Completed,
    Reopened,
    Updated,
    Deleted,
    Restored,
}

/// Result of a tool that changed one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskChange {
    /// The task's id.
    pub task_id: i64,
    /// What happened to it.
    pub status: ChangeStatus,
    /// Its title (after the change).
    pub title: String,
    /// When it is due (after the change), e.g. "Fri 5 Dec, 17:00 (every Friday)"; absent when it
    /// has no date, or was completed. A completed recurring task shows its next occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Its priority, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The list it is on, when not the Inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Its tags, when it has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl TaskChange {
    fn new(task: &Task, status: ChangeStatus) -> Self {
        Self {
            task_id: task.id,
            status,
            title: task.title.clone(),
            priority: (task.priority != Priority::None).then_some(task.priority),
            list: (task.list != INBOX).then(|| task.list.clone()),
            tags: task.tags.clone(),
            // A completed task's date is done with, except a recurring task's next occurrence.
            due: task
                .due
                .as_ref()
                .filter(|due| status != ChangeStatus::Completed || due.recurrence.is_some())
                .map(due_words),
        }
    }
}

/// A due as a reply names it: "Fri 5 Dec, 17:00", with its recurrence when it has one.
fn due_words(due: &crate::due::Due) -> String {
    match &due.recurrence {
        Some(recurrence) => format!("{} ({})", due.text, recurrence.text),
        None => due.text.clone(),
    }
}

/// Result of `list_tasks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    /// One page of the matching tasks, in the listing's order.
    pub tasks: Vec<Task>,
    /// Pass as `cursor` to read the next page; null when this is the last.
    pub next_cursor: Option<String>,
    /// How many tasks match, on every page.
    pub total: i64,
}

/// One item's result in `add_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddResult {
    /// The task as added; absent when this item failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskChange>,
    /// Why this item was not added; absent when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Result of `add_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddedTasks {
    /// One result per task asked for, in the same order.
    pub results: Vec<AddResult>,
}

/// Result of `list_lists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Lists {
    /// The Inbox (id 0) first, then the user's lists by name, with task counts.
    pub lists: Vec<ListSummary>,
}

/// A failure the caller (a person or a model) should see and can act on, or a database failure:
/// the errors of the task operations the tools run.
pub use crate::service::TaskError as ToolError;

fn task_id(raw: i64) -> Result<TaskId, ToolError> {
    TaskId::new(raw).map_err(|_| ToolError::NotFound(raw))
}

fn list_name(raw: &str) -> Result<ListName, ToolError> {
    ListName::parse(raw).map_err(|e| ToolError::invalid("list", e))
}

fn tags(raw: &[String]) -> Result<Vec<Tag>, ToolError> {
    crate::organise::parse_tags(raw).map_err(|e| ToolError::invalid("tags", e))
}

/// The new task `args` describe, checked, with its due read in the user's zone.
async fn new_task(
    db: &impl Executor,
    user: &UserId,
    args: &AddTaskArgs,
) -> Result<NewTask, ToolError> {
    let title = TaskTitle::parse(&args.title).map_err(|e| ToolError::invalid("title", e))?;
    let description = match args.description.as_deref() {
        Some(raw) => {
            TaskDescription::parse(raw).map_err(|e| ToolError::invalid("description", e))?
        }
        None => None,
    };
    let list = args.list.as_deref().map(list_name).transpose()?;
    let tags = tags(args.tags.as_deref().unwrap_or_default())?;
    let due = match args.due.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Some(service::due_from_text(db, user, text).await?),
        _ => None,
    };
    Ok(NewTask {
        title,
        description,
        due,
        priority: args.priority.unwrap_or_default(),
        list: list.and_then(ListName::non_inbox),
        tags,
    })
}

/// Creates a task.
pub async fn add_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: AddTaskArgs,
) -> Result<TaskChange, ToolError> {
    let new = new_task(db, user, &args).await?;
    let task = service::create_task(db, user, origin, &new, limits).await?;
    Ok(TaskChange::new(&task, ChangeStatus::Created))
}

/// Creates up to 25 tasks, each on its own: one that is refused (a bad field, a limit) does not
/// stop the others, and its result says why.
pub async fn add_tasks(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: AddTasksArgs,
) -> Result<AddedTasks, ToolError> {
    if args.tasks.is_empty() || args.tasks.len() > ADD_TASKS_MAX {
        return Err(ToolError::Invalid {
            field: "tasks",
            message: format!(
                "give 1 to {ADD_TASKS_MAX} tasks; {} were given",
                args.tasks.len()
            ),
        });
    }
    let mut results = Vec::with_capacity(args.tasks.len());
    for one in &args.tasks {
        let added = match new_task(db, user, one).await {
            Ok(new) => service::create_task(db, user, origin, &new, limits).await,
            Err(e) => Err(e),
        };
        let result = match added {
            Ok(task) => AddResult {
                task: Some(TaskChange::new(&task, ChangeStatus::Created)),
                error: None,
            },
            // A total the schema keeps (the lists) refused this item: the others may still go
            // (on a connection of its own; in a transaction the refusal aborted it, the next
            // statement fails, and the caller fails the whole call).
            Err(ToolError::Db(crate::db::DbError::Limit(what))) => AddResult {
                task: None,
                error: Some(format!("{what}; delete some to add more")),
            },
            // A failed statement aborts the caller's transaction: not something to go on after.
            Err(ToolError::Db(e)) => return Err(ToolError::Db(e)),
            Err(e) => AddResult {
                task: None,
                error: Some(e.to_string()),
            },
        };
        results.push(result);
    }
    Ok(AddedTasks { results })
}

impl ListTasksArgs {
    /// The listing these arguments ask for, with its defaults.
    pub fn query(&self) -> Result<TaskQuery, ToolError> {
        let field = |field: &'static str| move |e: ParseError| ToolError::invalid(field, e);
        let request = ListRequest {
            status: self.status,
            view: self.view,
            text: self.q.clone(),
            list: self
                .list
                .as_deref()
                .map(ListName::parse)
                .transpose()
                .map_err(field("list"))?,
            tag: self
                .tag
                .as_deref()
                .map(Tag::parse)
                .transpose()
                .map_err(field("tag"))?,
            priority: self.priority,
            due_before: None,
            due_after: None,
            sort: self.sort,
            order: self.order,
            limit: Some(
                self.limit
                    .map(PageLimit::new)
                    .transpose()
                    .map_err(field("limit"))?
                    .unwrap_or(LIST_TASKS_PAGE),
            ),
            after: self
                .cursor
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(PageCursor::parse)
                .transpose()
                .map_err(field("cursor"))?,
        };
        request
            .into_query()
            .map_err(|(field, e)| ToolError::invalid(field, e))
    }
}

/// Lists one page of tasks, with the cursor of the next and the number of every match.
pub async fn list_tasks(
    db: &impl Executor,
    user: &UserId,
    args: ListTasksArgs,
) -> Result<TaskList, ToolError> {
    let query = args.query()?;
    let page = service::list_tasks(db, user, &query, true).await?;
    Ok(TaskList {
        tasks: page.tasks,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        total: page.total.unwrap_or_default(),
    })
}

/// The user's lists.
pub async fn list_lists(db: &impl Executor, user: &UserId) -> Result<Lists, ToolError> {
    Ok(Lists {
        lists: service::lists(db, user).await?,
    })
}

/// Shows one task.
pub async fn get_task(
    db: &impl Executor,
    user: &UserId,
    args: TaskRefArgs,
) -> Result<Task, ToolError> {
    service::get_task(db, user, task_id(args.task_id)?).await
}

/// Marks a task completed (completing it again changes nothing); a recurring one moves to its
/// next occurrence, once per `occurrence` when one is given.
pub async fn complete_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: impl Into<CompleteTaskArgs>,
) -> Result<TaskChange, ToolError> {
    let args: CompleteTaskArgs = args.into();
    let id = task_id(args.task_id)?;
    let occurrence = match args.occurrence.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ToolError::Invalid {
                field: "occurrence",
                message: "must be a date as YYYY-MM-DD".into(),
            })?,
        ),
    };
    let task = service::set_completed(db, user, origin, id, true, occurrence, limits).await?;
    Ok(TaskChange::new(&task, ChangeStatus::Completed))
}

/// Marks a task pending again.
pub async fn reopen_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    let task = service::set_completed(
        db,
        user,
        origin,
        task_id(args.task_id)?,
        false,
        None,
        limits,
    )
    .await?;
    Ok(TaskChange::new(&task, ChangeStatus::Reopened))
}

/// Deletes a task.
pub async fn delete_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    let task = service::delete_task(db, user, origin, task_id(args.task_id)?, limits).await?;
    Ok(TaskChange::new(&task, ChangeStatus::Deleted))
}

/// Finds the tasks the user names in words.
pub async fn find_task(
    db: &impl Executor,
    user: &UserId,
    args: FindTaskArgs,
) -> Result<FoundTasks, ToolError> {
    let words = args.words.trim();
    if words.is_empty() || words.chars().count() > 200 {
        return Err(ToolError::Invalid {
            field: "words",
            message: "give 1 to 200 characters of the task's title".into(),
        });
    }
    let found = crate::repo::find_tasks(db, user, words, 10).await?;
    Ok(FoundTasks {
        matches: found.matches,
        more: found.more,
        closest: found.closest,
    })
}

/// Most tasks one confirmed change may touch.
const BULK_MAX: i64 = 100;

fn chat_turn(origin: &Origin) -> Result<crate::domain::TurnId, ToolError> {
    origin.turn.ok_or_else(|| ToolError::Invalid {
        field: "action",
        message: "a change to several tasks is confirmed in a chat conversation; elsewhere, \
                  change the tasks one by one by id"
            .into(),
    })
}

/// Prepares a change to every task matching a filter and stores it with the turn; nothing
/// changes until `confirm_change` hears yes.
pub async fn change_tasks(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    args: ChangeTasksArgs,
) -> Result<Proposal, ToolError> {
    let turn = chat_turn(origin)?;
    if let Some(ids) = args.task_ids.as_ref().filter(|ids| !ids.is_empty()) {
        return change_listed(db, user, turn, args.action, ids).await;
    }
    let filtered = args.view.is_some_and(|v| v != View::All)
        || args.status.is_some_and(|s| s != StatusFilter::All)
        || args.q.as_deref().is_some_and(|q| !q.trim().is_empty())
        || args.list.as_deref().is_some_and(|l| !l.trim().is_empty())
        || args.tag.as_deref().is_some_and(|t| !t.trim().is_empty())
        || args.priority.is_some();
    if !filtered {
        return Err(ToolError::Invalid {
            field: "filter",
            message: "say which tasks (a status, view, list, tag, priority or words): a change \
                      to every task at once is refused"
                .into(),
        });
    }
    let listing = ListTasksArgs {
        status: Some(args.status.unwrap_or(StatusFilter::All)),
        view: args.view,
        q: args.q.clone(),
        list: args.list.clone(),
        tag: args.tag.clone(),
        priority: args.priority,
        limit: Some(BULK_MAX),
        ..ListTasksArgs::default()
    };
    let page = list_tasks(db, user, listing).await?;
    if page.total == 0 {
        return Ok(Proposal {
            action: args.action,
            tasks: vec![],
            question: "No task matches, so there is nothing to change.".into(),
        });
    }
    if page.total > BULK_MAX {
        return Err(ToolError::Invalid {
            field: "filter",
            message: format!(
                "that is {} tasks; at most {BULK_MAX} change at once: narrow it down",
                page.total
            ),
        });
    }
    let counts = service::counts(db, user).await?;
    let everything = counts.pending + counts.completed;
    if page.total >= everything && everything > 1 {
        return Err(ToolError::Invalid {
            field: "filter",
            message: format!("that is every task you have ({everything}); say which ones"),
        });
    }
    ask(db, user, turn, args.action, page.tasks, "").await
}

/// The question a change to `count` tasks asks, as the chat shows it: "Delete these 3 tasks?".
pub fn bulk_question(action: BulkAction, count: usize) -> String {
    let verb = match action {
        BulkAction::Delete => "Delete",
        BulkAction::Complete => "Complete",
        BulkAction::Reopen => "Reopen",
    };
    if count == 1 {
        format!("{verb} this task?")
    } else {
        format!("{verb} these {count} tasks?")
    }
}

/// Stores the question and words it.
async fn ask(
    db: &impl Executor,
    user: &UserId,
    turn: crate::domain::TurnId,
    action: BulkAction,
    tasks: Vec<Task>,
    note: &str,
) -> Result<Proposal, ToolError> {
    let ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    crate::repo::propose(db, user, turn, action.as_str(), &ids)
        .await?
        .ok_or_else(|| ToolError::Missing("this conversation is not yours".into()))?;
    Ok(Proposal {
        action,
        question: format!(
            "{note}{} Answer yes or no.",
            bulk_question(action, ids.len())
        ),
        tasks,
    })
}

/// `change_tasks` on tasks named by id: the ones that exist are asked about.
async fn change_listed(
    db: &impl Executor,
    user: &UserId,
    turn: crate::domain::TurnId,
    action: BulkAction,
    ids: &[i64],
) -> Result<Proposal, ToolError> {
    if ids.len() as i64 > BULK_MAX {
        return Err(ToolError::Invalid {
            field: "task_ids",
            message: format!("at most {BULK_MAX} tasks change at once"),
        });
    }
    let mut tasks: Vec<Task> = vec![];
    let mut missing = vec![];
    for &raw in ids {
        if tasks.iter().any(|t| t.id == raw) {
            continue;
        }
        match TaskId::new(raw) {
            Ok(id) => match service::get_task(db, user, id).await {
                Ok(task) => tasks.push(task),
                Err(ToolError::NotFound(_)) => missing.push(raw),
                Err(e) => return Err(e),
            },
            Err(_) => missing.push(raw),
        }
    }
    let note = match missing.as_slice() {
        [] => String::new(),
        [one] => format!("There is no task {one}. "),
        many => format!(
            "There are no tasks {}. ",
            many.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if tasks.is_empty() {
        return Ok(Proposal {
            action,
            tasks,
            question: format!("{note}Nothing to change."),
        });
    }
    ask(db, user, turn, action, tasks, &note).await
}

/// Carries out (yes) or drops (no) the change the previous message asked about, on exactly the
/// tasks it listed.
pub async fn confirm_change(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: ConfirmArgs,
) -> Result<Confirmed, ToolError> {
    let turn = chat_turn(origin)?;
    let pending = crate::repo::open_question(db, user, turn)
        .await?
        .ok_or_else(|| {
            ToolError::Missing(
                "no change is waiting for an answer (a question holds only until the next \
                 message); ask for the change again"
                    .into(),
            )
        })?;
    let action = BulkAction::parse(&pending.action).unwrap_or(BulkAction::Complete);
    if args.answer == Answer::No {
        crate::repo::resolve(db, pending.id, "cancelled", turn).await?;
        return Ok(Confirmed {
            answer: Answer::No,
            action,
            changed: vec![],
            skipped: vec![],
        });
    }
    let mut changed = vec![];
    let mut skipped = vec![];
    for raw in pending.task_ids {
        let id = task_id(raw)?;
        let done = match action {
            BulkAction::Delete => service::delete_task(db, user, origin, id, limits)
                .await
                .map(|t| TaskChange::new(&t, ChangeStatus::Deleted)),
            BulkAction::Complete => {
                service::set_completed(db, user, origin, id, true, None, limits)
                    .await
                    .map(|t| TaskChange::new(&t, ChangeStatus::Completed))
            }
            BulkAction::Reopen => service::set_completed(db, user, origin, id, false, None, limits)
                .await
                .map(|t| TaskChange::new(&t, ChangeStatus::Reopened)),
        };
        match done {
            Ok(change) => changed.push(change),
            Err(ToolError::Db(e)) => return Err(ToolError::Db(e)),
            Err(ToolError::NotFound(_)) => skipped.push(Skipped {
                task_id: raw,
                reason: "it no longer exists".into(),
            }),
            Err(e) => skipped.push(Skipped {
                task_id: raw,
                reason: e.to_string(),
            }),
        }
    }
    crate::repo::resolve(db, pending.id, "done", turn).await?;
    Ok(Confirmed {
        answer: Answer::Yes,
        action,
        changed,
        skipped,
    })
}

/// Brings a deleted task back from the trash.
pub async fn restore_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    let task = service::restore_task(db, user, origin, task_id(args.task_id)?, limits).await?;
    Ok(TaskChange::new(&task, ChangeStatus::Restored))
}

/// Changes per page of `activity` when the caller gives no limit, and the most it may ask for.
const ACTIVITY_PAGE: i64 = 20;
const ACTIVITY_MAX: i64 = 50;

/// The history of the user's changes, newest first.
pub async fn activity(
    db: &impl Executor,
    user: &UserId,
    args: ActivityArgs,
) -> Result<EventPage, ToolError> {
    let limit = args.limit.unwrap_or(ACTIVITY_PAGE);
    if !(1..=ACTIVITY_MAX).contains(&limit) {
        return Err(ToolError::Invalid {
            field: "limit",
            message: format!("must be 1 to {ACTIVITY_MAX}"),
        });
    }
    let limit = PageLimit::new(limit).map_err(|e| ToolError::invalid("limit", e))?;
    let task = args.task_id.map(task_id).transpose()?;
    let before = match args.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            Some(crate::history::parse_cursor(raw).map_err(|e| ToolError::invalid("cursor", e))?)
        }
    };
    service::activity(db, user, task, before, limit).await
}

/// Changes a task's title and/or description.
pub async fn update_task(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    args: UpdateTaskArgs,
) -> Result<TaskChange, ToolError> {
    let id = task_id(args.task_id)?;
    let patch = TaskPatch {
        title: match args.title.as_deref() {
            Some(raw) => Some(TaskTitle::parse(raw).map_err(|e| ToolError::invalid("title", e))?),
            None => None,
        },
        description: match &args.description {
            // null, like "", clears the description.
            Some(None) => Some(None),
            Some(Some(raw)) => Some(
                TaskDescription::parse(raw).map_err(|e| ToolError::invalid("description", e))?,
            ),
            None => None,
        },
        completed: None,
        occurrence: None,
        due: match args.due.as_ref().map(|d| d.as_deref().map(str::trim)) {
            // null, like "", removes the date.
            Some(None | Some("")) => Some(DueChange::Clear),
            Some(Some(text)) => {
                let due = service::due_from_text(db, user, text).await?;
                let keep_rule = due.recurrence.is_none();
                Some(DueChange::Set { due, keep_rule })
            }
            None => None,
        },
        priority: args.priority.map(Option::unwrap_or_default),
        list: match &args.list {
            Some(None) => Some(None),
            Some(Some(raw)) => Some(list_name(raw)?.non_inbox()),
            None => None,
        },
        tags: match &args.tags {
            Some(None) => Some(Vec::new()),
            Some(Some(raw)) => Some(tags(raw)?),
            None => None,
        },
    };
    if patch.is_empty() {
        return Err(ToolError::Invalid {
            field: "title",
            message: "give a new title, description, due date, priority, list or tags to change"
                .into(),
        });
    }
    let task = service::update_task(db, user, origin, id, &patch, limits).await?;
    Ok(TaskChange::new(&task, ChangeStatus::Updated))
}

/// Every task tool. This enum is the registry: a tool's name, description, schemas, annotations,
/// progress label, dispatch and rendering all come from here, and its name is written only in
/// [`Tool::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    AddTask,
    AddTasks,
    ListTasks,
    ListLists,
    FindTask,
    GetTask,
    CompleteTask,
    ReopenTask,
    UpdateTask,
    DeleteTask,
    ChangeTasks,
    ConfirmChange,
    RestoreTask,
    Activity,
    UndoLastChange,
}

/// What a tool is: how clients and models are told about it.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub tool: Tool,
    pub name: &'static str,
    /// A short human-readable name.
    pub title: &'static str,
    /// When to use the tool, written for a model choosing among them.
    pub description: &'static str,
    /// Changes nothing.
    pub read_only: bool,
    /// May destroy data.
    pub destructive: bool,
    /// Calling it twice has the effect of calling it once.
    pub idempotent: bool,
    /// What a person sees while it runs ("Adding a task").
    pub label: &'static str,
    input_schema: fn() -> schemars::Schema,
    output_schema: fn() -> schemars::Schema,
}

impl ToolSpec {
    /// JSON Schema of the arguments (an object schema).
    pub fn input_schema(&self) -> serde_json::Map<String, Value> {
        object_schema((self.input_schema)())
    }

    /// JSON Schema of the structured result (an object schema).
    pub fn output_schema(&self) -> serde_json::Map<String, Value> {
        object_schema((self.output_schema)())
    }
}

fn object_schema(schema: schemars::Schema) -> serde_json::Map<String, Value> {
    match schema.to_value() {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// How a tool behaves, for [`Tool::spec`].
struct Traits {
    read_only: bool,
    destructive: bool,
    idempotent: bool,
}

const READ: Traits = Traits {
    read_only: true,
    destructive: false,
    idempotent: true,
};
const WRITE: Traits = Traits {
    read_only: false,
    destructive: false,
    idempotent: true,
};

impl Tool {
    /// Every tool, in the order they are offered.
    pub const ALL: [Tool; 15] = [
        Tool::AddTask,
        Tool::AddTasks,
        Tool::ListTasks,
        Tool::ListLists,
        Tool::FindTask,
        Tool::GetTask,
        Tool::CompleteTask,
        Tool::ReopenTask,
        Tool::UpdateTask,
        Tool::DeleteTask,
        Tool::ChangeTasks,
        Tool::ConfirmChange,
        Tool::RestoreTask,
        Tool::Activity,
        Tool::UndoLastChange,
    ];

    /// The tool's name as models and MCP clients call it: the one place each name is written.
    pub const fn name(self) -> &'static str {
        match self {
            Tool::AddTask => "add_task",
            Tool::AddTasks => "add_tasks",
            Tool::ListTasks => "list_tasks",
            Tool::ListLists => "list_lists",
            Tool::FindTask => "find_task",
            Tool::GetTask => "get_task",
            Tool::CompleteTask => "complete_task",
            Tool::ReopenTask => "reopen_task",
            Tool::UpdateTask => "update_task",
            Tool::DeleteTask => "delete_task",
            Tool::ChangeTasks => "change_tasks",
            Tool::ConfirmChange => "confirm_change",
            Tool::RestoreTask => "restore_task",
            Tool::Activity => "activity",
            Tool::UndoLastChange => "undo_last_change",
        }
    }

    /// Finds a tool by name.
    pub fn from_name(name: &str) -> Option<Tool> {
        Self::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// Everything clients and models are told about the tool.
    pub fn spec(self) -> ToolSpec {
        macro_rules! spec {
            ($title:literal, $args:ty, $out:ty, $traits:expr, $label:literal, $desc:literal) => {{
                let traits: Traits = $traits;
                ToolSpec {
                    tool: self,
                    name: self.name(),
                    title: $title,
                    description: $desc,
                    read_only: traits.read_only,
                    destructive: traits.destructive,
                    idempotent: traits.idempotent,
                    label: $label,
                    input_schema: || schemars::schema_for!($args),
                    output_schema: || schemars::schema_for!($out),
                }
            }};
        }
        match self {
            Tool::AddTask => spec!(
                "Add task",
                AddTaskArgs,
                TaskChange,
                Traits {
                    idempotent: false,
                    ..WRITE
                },
                "Adding a task",
                "Create a new task on the user's todo list. Use when the user wants to add, remember or note something to do. Pass the date, priority, list and tags the user gave in their own words; keep them out of the title."
            ),
            Tool::AddTasks => spec!(
                "Add tasks",
                AddTasksArgs,
                AddedTasks,
                Traits {
                    idempotent: false,
                    ..WRITE
                },
                "Adding tasks",
                "Create several tasks at once (up to 25), each as for add_task. Each gets its own result: one refused does not stop the others."
            ),
            Tool::ListTasks => spec!(
                "List tasks",
                ListTasksArgs,
                TaskList,
                READ,
                "Reading your tasks",
                "List the user's tasks (ids, titles, completion, due dates, priority, list, tags), filtered by view (today, overdue, upcoming, no_date), status, search words, list, tag or priority, and sorted. Answers one page with next_cursor and the total number of matches: when next_cursor is not null there are more, so say so or read on. Use to answer questions about the list and to find the id of a task the user names in words."
            ),
            Tool::ListLists => spec!(
                "List lists",
                ListListsArgs,
                Lists,
                READ,
                "Reading your lists",
                "List the user's lists (the Inbox first) with how many tasks each has, pending and in all."
            ),
            Tool::FindTask => spec!(
                "Find task",
                FindTaskArgs,
                FoundTasks,
                READ,
                "Looking for the task",
                "Find the task the user means when they name it in words (\"delete the meeting task\" → words \"meeting\"), to get its id. One match: use its id. Several: list them with their ids, lists and due dates and ask which one; never guess. None: say so and offer the closest, if any. Changes are made by id only."
            ),
            Tool::GetTask => spec!(
                "Show task",
                TaskRefArgs,
                Task,
                READ,
                "Looking at a task",
                "Show one task by id, with its description and timestamps."
            ),
            Tool::CompleteTask => spec!(
                "Complete task",
                CompleteTaskArgs,
                TaskChange,
                // Not idempotent: each call on a recurring task without `occurrence` moves it one
                // occurrence on.
                Traits {
                    idempotent: false,
                    ..WRITE
                },
                "Completing a task",
                "Mark a task as completed (done). A recurring task stays pending and moves to its next occurrence instead; pass occurrence (its due date as listed) so that a repeated call moves it only once. Needs the task's id; use find_task first if the user named the task in words."
            ),
            Tool::ReopenTask => spec!(
                "Reopen task",
                TaskRefArgs,
                TaskChange,
                WRITE,
                "Reopening a task",
                "Mark a completed task as pending (not done) again."
            ),
            Tool::UpdateTask => spec!(
                "Update task",
                UpdateTaskArgs,
                TaskChange,
                WRITE,
                "Updating a task",
                "Change a task's title, description, due date, priority, list or tags; what is not given stays. Needs the task's id; use find_task first if the user named the task in words."
            ),
            Tool::DeleteTask => spec!(
                "Delete task",
                TaskRefArgs,
                TaskChange,
                Traits {
                    read_only: false,
                    destructive: true,
                    idempotent: false,
                },
                "Deleting a task",
                "Delete a task: it goes to the trash for 30 days, from where restore_task or undo_last_change brings it back. Needs the task's id; if several tasks could match the user's words, ask which one instead of guessing."
            ),
            Tool::ChangeTasks => spec!(
                "Change several tasks",
                ChangeTasksArgs,
                Proposal,
                Traits {
                    idempotent: false,
                    ..WRITE
                },
                "Preparing the change",
                "Delete, complete or reopen every task matching a filter (\"delete all completed tasks\", \"mark everything on my work list done\"). Nothing changes yet: it answers the exact tasks and a question; ask it word for word and stop. The yes or no in the next message goes to confirm_change. Refused without a filter, or when the filter matches every task. For one task by id use delete_task, complete_task or reopen_task instead."
            ),
            Tool::ConfirmChange => spec!(
                "Confirm change",
                ConfirmArgs,
                Confirmed,
                Traits {
                    read_only: false,
                    destructive: true,
                    idempotent: false,
                },
                "Carrying out the change",
                "The answer to the question change_tasks asked in the previous message: yes carries out exactly the tasks it listed (even if the list changed since), no drops it. Call it only with a yes or no the person wrote."
            ),
            Tool::RestoreTask => spec!(
                "Restore task",
                TaskRefArgs,
                TaskChange,
                WRITE,
                "Restoring a task",
                "Bring a deleted task back from the trash, with its number. Use when the user asks for a deleted task back; undo_last_change does it too right after the delete."
            ),
            Tool::Activity => spec!(
                "Activity",
                ActivityArgs,
                EventPage,
                READ,
                "Reading your history",
                "The history of changes to the user's tasks, newest first (of one task with task_id): what was added, changed, completed, reopened, moved, deleted or restored, from where (rest, ui, mcp, chat) and when (at, UTC). Use for questions such as \"what did I change yesterday?\" or \"what happened to task 3?\"."
            ),
            Tool::UndoLastChange => spec!(
                "Undo last change",
                UndoArgs,
                Undone,
                Traits {
                    idempotent: false,
                    ..WRITE
                },
                "Undoing",
                "Undo the user's latest change (everything one request or one earlier chat message changed), when the user says \"undo\", \"undo that\" or \"put it back\". Undoing again redoes it. Refused, with the reason, when a later change would be overwritten: say so."
            ),
        }
    }

    /// Checks JSON arguments as a call would, without running the tool (fuzzed:
    /// `fuzz/fuzz_targets/tool_arguments.rs`).
    pub fn check_arguments(self, arguments: Value) -> Result<(), CallError> {
        let name = self.name();
        match self {
            Tool::AddTask => args::<AddTaskArgs>(name, arguments).map(drop),
            Tool::AddTasks => args::<AddTasksArgs>(name, arguments).map(drop),
            Tool::ListTasks => args::<ListTasksArgs>(name, arguments).map(drop),
            Tool::ListLists => args::<ListListsArgs>(name, arguments).map(drop),
            Tool::FindTask => args::<FindTaskArgs>(name, arguments).map(drop),
            Tool::CompleteTask => args::<CompleteTaskArgs>(name, arguments).map(drop),
            Tool::GetTask | Tool::ReopenTask | Tool::DeleteTask | Tool::RestoreTask => {
                args::<TaskRefArgs>(name, arguments).map(drop)
            }
            Tool::Activity => args::<ActivityArgs>(name, arguments).map(drop),
            Tool::ChangeTasks => args::<ChangeTasksArgs>(name, arguments).map(drop),
            Tool::ConfirmChange => args::<ConfirmArgs>(name, arguments).map(drop),
            Tool::UndoLastChange => args::<UndoArgs>(name, arguments).map(drop),
            Tool::UpdateTask => args::<UpdateTaskArgs>(name, arguments).map(drop),
        }
    }

    /// Runs the tool for `user` with JSON arguments (`null`, absent or `""` mean `{}`).
    pub async fn call(
        self,
        db: &impl Executor,
        user: &UserId,
        origin: &Origin,
        limits: &Limits,
        arguments: Value,
    ) -> Result<ToolOutput, CallError> {
        let name = self.name();
        Ok(match self {
            Tool::AddTask => ToolOutput::Change(
                add_task(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::AddTasks => ToolOutput::Added(
                add_tasks(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::ListTasks => {
                ToolOutput::List(list_tasks(db, user, args(name, arguments)?).await?)
            }
            Tool::ListLists => {
                args::<ListListsArgs>(name, arguments)?;
                ToolOutput::Lists(list_lists(db, user).await?)
            }
            Tool::FindTask => ToolOutput::Found(find_task(db, user, args(name, arguments)?).await?),
            Tool::GetTask => ToolOutput::Task(get_task(db, user, args(name, arguments)?).await?),
            Tool::CompleteTask => ToolOutput::Change(
                complete_task(
                    db,
                    user,
                    origin,
                    limits,
                    args::<CompleteTaskArgs>(name, arguments)?,
                )
                .await?,
            ),
            Tool::ReopenTask => ToolOutput::Change(
                reopen_task(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::UpdateTask => ToolOutput::Change(
                update_task(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::DeleteTask => ToolOutput::Change(
                delete_task(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::RestoreTask => ToolOutput::Change(
                restore_task(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::Activity => ToolOutput::Events(activity(db, user, args(name, arguments)?).await?),
            Tool::ChangeTasks => {
                ToolOutput::Proposal(change_tasks(db, user, origin, args(name, arguments)?).await?)
            }
            Tool::ConfirmChange => ToolOutput::Confirmed(
                confirm_change(db, user, origin, limits, args(name, arguments)?).await?,
            ),
            Tool::UndoLastChange => {
                args::<UndoArgs>(name, arguments)?;
                ToolOutput::Undone(service::undo(db, user, origin, None, limits).await?)
            }
        })
    }
}

/// Whether a call runs exactly one statement, so that a caller may send its transaction's COMMIT
/// with it. A date phrase is read in the user's zone (one statement more), and completing a task
/// that turns out to recur moves it to its next occurrence (one more).
pub fn single_statement(name: &str, arguments: &Value) -> bool {
    let phrase = arguments
        .get("due")
        .is_some_and(|due| due.as_str().is_some_and(|d| !d.trim().is_empty()));
    match Tool::from_name(name) {
        Some(
            Tool::CompleteTask
            | Tool::AddTasks
            | Tool::UndoLastChange
            | Tool::FindTask
            | Tool::ChangeTasks
            | Tool::ConfirmChange,
        ) => false,
        Some(Tool::AddTask | Tool::UpdateTask) => !phrase,
        _ => true,
    }
}

/// The specs of every tool, in the order they are offered.
pub fn catalog() -> impl Iterator<Item = ToolSpec> {
    Tool::ALL.into_iter().map(Tool::spec)
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolOutput {
    List(TaskList),
    Added(AddedTasks),
    Lists(Lists),
    Change(TaskChange),
    Task(Task),
    Events(EventPage),
    Undone(Undone),
    Found(FoundTasks),
    Proposal(Proposal),
    Confirmed(Confirmed),
}

impl ToolOutput {
    /// The structured result (a JSON object), as MCP clients and models receive it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("tool results serialise")
    }

    /// A short human-readable rendering: MCP's text content.
    pub fn render(&self) -> String {
        match self {
            ToolOutput::Change(change) => change_line(change),
            ToolOutput::Added(added) => {
                let lines: Vec<String> = added
                    .results
                    .iter()
                    .enumerate()
                    .map(|(i, result)| match (&result.task, &result.error) {
                        (Some(change), _) => change_line(change),
                        (None, error) => format!(
                            "Task {} not added: {}",
                            i + 1,
                            error.as_deref().unwrap_or("refused")
                        ),
                    })
                    .collect();
                lines.join("\n")
            }
            ToolOutput::Lists(lists) => {
                let lines: Vec<String> = lists
                    .lists
                    .iter()
                    .map(|l| format!("{} ({} pending of {})", l.name, l.pending, l.total))
                    .collect();
                format!("Lists:\n{}", lines.join("\n"))
            }
            ToolOutput::List(list) if list.tasks.is_empty() => "No tasks.".into(),
            ToolOutput::List(list) => {
                let noun = if list.total == 1 { "task" } else { "tasks" };
                let lines: Vec<String> = list.tasks.iter().map(list_line).collect();
                let head = if list.next_cursor.is_some() || list.total > list.tasks.len() as i64 {
                    format!(
                        "{} {noun}, showing {} (more with the cursor {}):",
                        list.total,
                        list.tasks.len(),
                        list.next_cursor.as_deref().unwrap_or("-")
                    )
                } else {
                    format!("{} {noun}:", list.total)
                };
                format!("{head}\n{}", lines.join("\n"))
            }
            ToolOutput::Found(found) => {
                let lines = |tasks: &[Task]| -> String {
                    tasks.iter().map(list_line).collect::<Vec<_>>().join("\n")
                };
                match (found.matches.as_slice(), found.closest.as_slice()) {
                    ([], []) => "No task matches.".into(),
                    ([], closest) => format!("No task matches. Closest:\n{}", lines(closest)),
                    ([one], _) => format!("One match:\n{}", list_line(one)),
                    (many, _) => {
                        let more = if found.more {
                            " (and more: use more words)"
                        } else {
                            ""
                        };
                        format!("{} matches{more}:\n{}", many.len(), lines(many))
                    }
                }
            }
            ToolOutput::Proposal(proposal) if proposal.tasks.is_empty() => {
                proposal.question.clone()
            }
            ToolOutput::Proposal(proposal) => {
                let lines: Vec<String> = proposal.tasks.iter().map(list_line).collect();
                format!("{}\n{}", proposal.question, lines.join("\n"))
            }
            ToolOutput::Confirmed(confirmed) if confirmed.answer == Answer::No => {
                "Cancelled: nothing was changed.".into()
            }
            ToolOutput::Confirmed(confirmed) => {
                let mut lines: Vec<String> = confirmed.changed.iter().map(change_line).collect();
                lines.extend(
                    confirmed
                        .skipped
                        .iter()
                        .map(|s| format!("Task {} skipped: {}", s.task_id, s.reason)),
                );
                lines.join("\n")
            }
            ToolOutput::Events(page) if page.events.is_empty() => "No changes yet.".into(),
            ToolOutput::Events(page) => {
                let lines: Vec<String> = page
                    .events
                    .iter()
                    .map(|e| {
                        let undone = if e.undone { " (undone)" } else { "" };
                        format!(
                            "{} #{} task {} via {}: {}{undone}",
                            e.at.format("%Y-%m-%d %H:%M UTC"),
                            e.id,
                            e.task_id,
                            e.source.as_str(),
                            e.summary
                        )
                    })
                    .collect();
                let more = match &page.next_cursor {
                    Some(cursor) => format!("\n(older changes with the cursor {cursor})"),
                    None => String::new(),
                };
                format!("{}{more}", lines.join("\n"))
            }
            ToolOutput::Undone(undone) => {
                let lines: Vec<String> = undone
                    .undone
                    .iter()
                    .map(|e| format!("Undid: {}", e.summary))
                    .collect();
                lines.join("\n")
            }
            ToolOutput::Task(task) => {
                let state = if task.completed {
                    "completed"
                } else {
                    "pending"
                };
                let mut text = format!("{} ({state})", list_line(task));
                if let Some(description) = &task.description {
                    text.push('\n');
                    text.push_str(description);
                }
                text
            }
        }
    }

    /// Whether the result reports a change to the user's tasks.
    pub fn changed_tasks(&self) -> bool {
        match self {
            ToolOutput::Change(_) => true,
            ToolOutput::Undone(undone) => !undone.undone.is_empty(),
            ToolOutput::Confirmed(confirmed) => !confirmed.changed.is_empty(),
            ToolOutput::Added(added) => added.results.iter().any(|r| r.task.is_some()),
            _ => false,
        }
    }
}

fn change_line(change: &TaskChange) -> String {
    let verb = match change.status {
        ChangeStatus::Created => "Created",
        ChangeStatus::Completed => "Completed",
        ChangeStatus::Reopened => "Reopened",
        ChangeStatus::Updated => "Updated",
        ChangeStatus::Deleted => "Deleted",
        ChangeStatus::Restored => "Restored",
    };
    let mut text = format!("{verb} task {}: {}", change.task_id, change.title);
    let mut notes = Vec::new();
    if let Some(due) = &change.due {
        let when = if change.status == ChangeStatus::Completed {
            "next due"
        } else {
            "due"
        };
        notes.push(format!("{when} {due}"));
    }
    notes.extend(change.priority.map(|p| format!("{p} priority")));
    notes.extend(change.list.as_ref().map(|l| format!("on {l}")));
    notes.extend(change.tags.iter().map(|t| format!("#{t}")));
    if !notes.is_empty() {
        text.push_str(&format!(" ({})", notes.join(", ")));
    }
    text
}

fn list_line(task: &Task) -> String {
    let mark = if task.completed { 'x' } else { ' ' };
    let mut notes = Vec::new();
    notes.extend(
        task.due
            .as_ref()
            .map(|due| format!("due {}", due_words(due))),
    );
    if task.priority != Priority::None {
        notes.push(format!("{} priority", task.priority));
    }
    if task.list != INBOX {
        notes.push(format!("on {}", task.list));
    }
    notes.extend(task.tags.iter().map(|t| format!("#{t}")));
    if notes.is_empty() {
        format!("[{mark}] {}. {}", task.id, task.title)
    } else {
        format!(
            "[{mark}] {}. {} ({})",
            task.id,
            task.title,
            notes.join(", ")
        )
    }
}

/// Why a dynamic call failed before or while running the tool.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("there is no tool named {0}")]
    UnknownTool(String),
    #[error("invalid arguments for {tool}: {message}")]
    BadArguments { tool: &'static str, message: String },
    #[error(transparent)]
    Tool(#[from] ToolError),
}

fn args<T: DeserializeOwned>(tool: &'static str, value: Value) -> Result<T, CallError> {
    // A model may send `null`, nothing or "" for a tool without required arguments.
    let value = match value {
        Value::Null => Value::Object(Default::default()),
        Value::String(text) if text.trim().is_empty() => Value::Object(Default::default()),
        other => other,
    };
    serde_json::from_value(value).map_err(|e| CallError::BadArguments {
        tool,
        message: e.to_string(),
    })
}

/// Runs a tool by name with JSON arguments for `user`.
pub async fn call(
    db: &impl Executor,
    user: &UserId,
    origin: &Origin,
    limits: &Limits,
    name: &str,
    arguments: Value,
) -> Result<ToolOutput, CallError> {
    let tool = Tool::from_name(name).ok_or_else(|| CallError::UnknownTool(name.to_owned()))?;
    tool.call(db, user, origin, limits, arguments).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tool_names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Tool::ALL.iter().map(|t| t.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Tool::ALL.len());
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
            assert_eq!(tool.spec().tool, tool);
        }
        assert_eq!(Tool::from_name("drop_tables"), None);
    }

    #[test]
    fn no_schema_mentions_a_user_id() {
        for spec in catalog() {
            let schema = Value::Object(spec.input_schema()).to_string();
            assert!(!schema.contains("user"), "{}: {schema}", spec.name);
            assert_eq!(spec.input_schema()["type"], "object", "{}", spec.name);
            assert_eq!(spec.output_schema()["type"], "object", "{}", spec.name);
        }
    }

    #[test]
    fn argument_docs_reach_the_schema() {
        let schema = Value::Object(Tool::AddTask.spec().input_schema());
        let description = schema["properties"]["title"]["description"]
            .as_str()
            .unwrap();
        assert!(description.contains("Buy groceries"), "{description}");
    }

    #[test]
    fn a_user_id_smuggled_into_arguments_is_refused() {
        let err = args::<TaskRefArgs>("complete_task", json!({"task_id": 1, "user_id": "bob"}))
            .unwrap_err();
        assert!(matches!(err, CallError::BadArguments { .. }));
    }

    #[test]
    fn a_null_description_clears_it_and_an_absent_one_keeps_it() {
        let cleared: UpdateTaskArgs =
            args("update_task", json!({"task_id": 1, "description": null})).unwrap();
        assert_eq!(cleared.description, Some(None));
        let kept: UpdateTaskArgs = args("update_task", json!({"task_id": 1})).unwrap();
        assert_eq!(kept.description, None);
        let schema = Value::Object(Tool::UpdateTask.spec().input_schema()).to_string();
        assert!(schema.contains("null"), "the schema allows null: {schema}");
    }

    #[test]
    fn checking_arguments_accepts_what_a_call_accepts_and_refuses_a_user_id() {
        assert!(
            Tool::AddTask
                .check_arguments(json!({"title": "Buy milk"}))
                .is_ok()
        );
        assert!(Tool::ListTasks.check_arguments(json!("")).is_ok());
        for tool in Tool::ALL {
            let smuggled = json!({"task_id": 1, "title": "x", "user_id": "bob"});
            assert!(tool.check_arguments(smuggled).is_err(), "{tool:?}");
        }
    }

    #[test]
    fn empty_string_arguments_mean_no_arguments() {
        let parsed: ListTasksArgs = args("list_tasks", json!("")).unwrap();
        assert_eq!(parsed.status, None);
        let parsed: ListTasksArgs = args("list_tasks", Value::Null).unwrap();
        assert_eq!(parsed.status, None);
    }

    #[test]
    fn only_delete_is_destructive_and_only_reads_are_read_only() {
        for spec in catalog() {
            assert_eq!(
                spec.destructive,
                matches!(spec.tool, Tool::DeleteTask | Tool::ConfirmChange),
                "{}",
                spec.name
            );
            assert_eq!(
                spec.read_only,
                matches!(
                    spec.tool,
                    Tool::ListTasks
                        | Tool::ListLists
                        | Tool::GetTask
                        | Tool::Activity
                        | Tool::FindTask
                ),
                "{}",
                spec.name
            );
        }
    }

    fn task(id: i64, title: &str, completed: bool, description: Option<&str>) -> Task {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        Task {
            id,
            title: title.into(),
            description: description.map(Into::into),
            completed,
            created_at: at,
            updated_at: at,
            completed_at: completed.then_some(at),
            due: None,
            priority: Priority::None,
            list: INBOX.into(),
            tags: vec![],
        }
    }

    #[test]
    fn a_change_renders_as_one_sentence() {
        let change = |status| {
            ToolOutput::Change(TaskChange {
                task_id: 3,
                status,
                title: "Buy milk".into(),
                due: None,
                priority: None,
                list: None,
                tags: vec![],
            })
        };
        assert_eq!(
            change(ChangeStatus::Created).render(),
            "Created task 3: Buy milk"
        );
        assert_eq!(
            change(ChangeStatus::Deleted).render(),
            "Deleted task 3: Buy milk"
        );
    }

    #[test]
    fn a_list_renders_one_line_per_task_with_its_state() {
        let list = ToolOutput::List(TaskList {
            tasks: vec![
                task(1, "Buy milk", false, None),
                task(2, "Call mom", true, None),
            ],
            next_cursor: None,
            total: 2,
        });
        assert_eq!(list.render(), "2 tasks:\n[ ] 1. Buy milk\n[x] 2. Call mom");
        let mut organised = task(3, "Buy milk", false, None);
        organised.priority = Priority::High;
        organised.list = "Shopping".into();
        organised.tags = vec!["errands".into()];
        let page = ToolOutput::List(TaskList {
            tasks: vec![organised],
            next_cursor: Some("abc".into()),
            total: 51,
        });
        assert_eq!(
            page.render(),
            "51 tasks, showing 1 (more with the cursor abc):\n\
             [ ] 3. Buy milk (high priority, on Shopping, #errands)"
        );
        assert_eq!(
            ToolOutput::List(TaskList {
                tasks: vec![],
                ..Default::default()
            })
            .render(),
            "No tasks."
        );
    }

    #[test]
    fn one_task_renders_with_its_description() {
        let one = ToolOutput::Task(task(5, "Buy milk", false, Some("semi-skimmed")));
        assert_eq!(one.render(), "[ ] 5. Buy milk (pending)\nsemi-skimmed");
    }

    #[test]
    fn outputs_round_trip_through_their_json() {
        let outputs = [
            ToolOutput::List(TaskList {
                tasks: vec![task(1, "a", false, None)],
                ..Default::default()
            }),
            ToolOutput::Change(TaskChange {
                task_id: 1,
                status: ChangeStatus::Updated,
                title: "a".into(),
                due: Some("Fri 5 Dec, 17:00 (every Friday)".into()),
                priority: None,
                list: None,
                tags: vec![],
            }),
            ToolOutput::Task(task(2, "b", true, Some("d"))),
        ];
        for output in outputs {
            let back: ToolOutput = serde_json::from_value(output.to_json()).unwrap();
            assert_eq!(back, output);
        }
    }
}
