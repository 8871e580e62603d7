//! The task tool catalog, defined once. The MCP server and the chat agent both offer exactly these
//! tools and run them through [`call`]. No argument is a user id: the caller passes the verified one.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{self, DbError, DbPool};
use crate::domain::{
    NewTask, PageLimit, StatusFilter, Task, TaskDescription, TaskId, TaskPatch, TaskQuery,
    TaskTitle, UserId,
};
use crate::repo;

/// Arguments of `add_task`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTaskArgs {
    /// The task itself, as a short phrase, e.g. "Buy groceries" (1-200 characters).
    pub title: String,
    /// Optional extra details, e.g. "milk, eggs, bread" (at most 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Arguments of `list_tasks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksArgs {
    /// Which tasks to list: "all" (default), "pending" (not done yet) or "completed".
    #[serde(default)]
    pub status: Option<StatusFilter>,
}

/// Arguments of the tools that act on one task.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRefArgs {
    /// The task's id: the number shown by list_tasks, e.g. 3.
    pub task_id: i64,
}

/// Arguments of `update_task`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskArgs {
    /// The task's id: the number shown by list_tasks, e.g. 1.
    pub task_id: i64,
    /// The new title, replacing the old one (1-200 characters). Omit to keep the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new description, replacing the old one; "" removes it. Omit to keep the description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
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
}

/// Result of `list_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    /// The tasks, oldest first.
    pub tasks: Vec<Task>,
}

/// A failure the caller (a person or a model) should see and can act on, or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
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

impl ToolError {
    fn invalid(field: &'static str, err: crate::domain::ParseError) -> Self {
        Self::Invalid {
            field,
            message: err.0,
        }
    }
}

fn task_id(raw: i64) -> Result<TaskId, ToolError> {
    TaskId::new(raw).map_err(|_| ToolError::NotFound(raw))
}

/// Most tasks `list_tasks` returns; a model reading more would lose the thread anyway.
pub const LIST_TASKS_MAX: i64 = PageLimit::MAX;

/// Creates a task.
pub async fn add_task(
    pool: &DbPool,
    user: &UserId,
    args: AddTaskArgs,
) -> Result<TaskChange, ToolError> {
    let new = NewTask {
        title: TaskTitle::parse(&args.title).map_err(|e| ToolError::invalid("title", e))?,
        description: match args.description.as_deref() {
            Some(raw) => {
                TaskDescription::parse(raw).map_err(|e| ToolError::invalid("description", e))?
            }
            None => None,
        },
    };
    let client = db::client(pool).await?;
    let task = repo::insert_task(&client, user, &new).await?;
    Ok(TaskChange {
        task_id: task.id,
        status: ChangeStatus::Created,
        title: task.title,
    })
}

/// Lists tasks, oldest first.
pub async fn list_tasks(
    pool: &DbPool,
    user: &UserId,
    args: ListTasksArgs,
) -> Result<TaskList, ToolError> {
    let query = TaskQuery {
        status: args.status.unwrap_or_default(),
        limit: PageLimit::new(LIST_TASKS_MAX).expect("in range"),
        ..TaskQuery::default()
    };
    let client = db::client(pool).await?;
    let page = repo::list_tasks(&client, user, &query).await?;
    Ok(TaskList { tasks: page.tasks })
}

/// Shows one task.
pub async fn get_task(pool: &DbPool, user: &UserId, args: TaskRefArgs) -> Result<Task, ToolError> {
    let id = task_id(args.task_id)?;
    let client = db::client(pool).await?;
    repo::get_task(&client, user, id)
        .await?
        .ok_or(ToolError::NotFound(args.task_id))
}

async fn set_completed(
    pool: &DbPool,
    user: &UserId,
    raw_id: i64,
    completed: bool,
) -> Result<TaskChange, ToolError> {
    let id = task_id(raw_id)?;
    let patch = TaskPatch {
        completed: Some(completed),
        ..TaskPatch::default()
    };
    let client = db::client(pool).await?;
    let task = repo::update_task(&client, user, id, &patch)
        .await?
        .ok_or(ToolError::NotFound(raw_id))?;
    let status = if completed {
        ChangeStatus::Completed
    } else {
        ChangeStatus::Reopened
    };
    Ok(TaskChange {
        task_id: task.id,
        status,
        title: task.title,
    })
}

/// Marks a task completed (completing it again changes nothing).
pub async fn complete_task(
    pool: &DbPool,
    user: &UserId,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    set_completed(pool, user, args.task_id, true).await
}

/// Marks a task pending again.
pub async fn reopen_task(
    pool: &DbPool,
    user: &UserId,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    set_completed(pool, user, args.task_id, false).await
}

/// Deletes a task.
pub async fn delete_task(
    pool: &DbPool,
    user: &UserId,
    args: TaskRefArgs,
) -> Result<TaskChange, ToolError> {
    let id = task_id(args.task_id)?;
    let client = db::client(pool).await?;
    let task = repo::delete_task(&client, user, id)
        .await?
        .ok_or(ToolError::NotFound(args.task_id))?;
    Ok(TaskChange {
        task_id: task.id,
        status: ChangeStatus::Deleted,
        title: task.title,
    })
}

/// Changes a task's title and/or description.
pub async fn update_task(
    pool: &DbPool,
    user: &UserId,
    args: UpdateTaskArgs,
) -> Result<TaskChange, ToolError> {
    let id = task_id(args.task_id)?;
    let patch = TaskPatch {
        title: match args.title.as_deref() {
            Some(raw) => Some(TaskTitle::parse(raw).map_err(|e| ToolError::invalid("title", e))?),
            None => None,
        },
        description: match args.description.as_deref() {
            Some(raw) => Some(
                TaskDescription::parse(raw).map_err(|e| ToolError::invalid("description", e))?,
            ),
            None => None,
        },
        completed: None,
    };
    if patch.is_empty() {
        return Err(ToolError::Invalid {
            field: "title",
            message: "give a new title or description to change".into(),
        });
    }
    let client = db::client(pool).await?;
    let task = repo::update_task(&client, user, id, &patch)
        .await?
        .ok_or(ToolError::NotFound(args.task_id))?;
    Ok(TaskChange {
        task_id: task.id,
        status: ChangeStatus::Updated,
        title: task.title,
    })
}

/// One catalog entry: what a model or MCP client is told about a tool.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
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

macro_rules! spec {
    ($name:literal, $title:literal, $args:ty, $out:ty, ro = $ro:expr, destructive = $de:expr, idempotent = $id:expr, $desc:expr) => {
        ToolSpec {
            name: $name,
            title: $title,
            description: $desc,
            read_only: $ro,
            destructive: $de,
            idempotent: $id,
            input_schema: || schemars::schema_for!($args),
            output_schema: || schemars::schema_for!($out),
        }
    };
}

/// Every task tool, in the order they are offered.
pub const CATALOG: [ToolSpec; 7] = [
    spec!(
        "add_task",
        "Add task",
        AddTaskArgs,
        TaskChange,
        ro = false,
        destructive = false,
        idempotent = false,
        "Create a new task on the user's todo list. Use when the user wants to add, remember or note something to do."
    ),
    spec!(
        "list_tasks",
        "List tasks",
        ListTasksArgs,
        TaskList,
        ro = true,
        destructive = false,
        idempotent = true,
        "List the user's tasks with their ids, titles and whether they are completed. Use to answer questions about the list and to find the id of a task the user names in words."
    ),
    spec!(
        "get_task",
        "Show task",
        TaskRefArgs,
        Task,
        ro = true,
        destructive = false,
        idempotent = true,
        "Show one task by id, with its description and timestamps."
    ),
    spec!(
        "complete_task",
        "Complete task",
        TaskRefArgs,
        TaskChange,
        ro = false,
        destructive = false,
        idempotent = true,
        "Mark a task as completed (done). Needs the task's id; use list_tasks first if the user named the task in words."
    ),
    spec!(
        "reopen_task",
        "Reopen task",
        TaskRefArgs,
        TaskChange,
        ro = false,
        destructive = false,
        idempotent = true,
        "Mark a completed task as pending (not done) again."
    ),
    spec!(
        "update_task",
        "Update task",
        UpdateTaskArgs,
        TaskChange,
        ro = false,
        destructive = false,
        idempotent = true,
        "Change a task's title and/or description. Needs the task's id; use list_tasks first if the user named the task in words."
    ),
    spec!(
        "delete_task",
        "Delete task",
        TaskRefArgs,
        TaskChange,
        ro = false,
        destructive = true,
        idempotent = false,
        "Delete a task permanently. Needs the task's id; if several tasks could match the user's words, ask which one instead of guessing."
    ),
];

/// Finds a tool by name.
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    CATALOG.iter().find(|spec| spec.name == name)
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
    // A model may send `null` or nothing for a tool without required arguments.
    let value = if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    };
    serde_json::from_value(value).map_err(|e| CallError::BadArguments {
        tool,
        message: e.to_string(),
    })
}

fn json<T: Serialize>(result: Result<T, ToolError>) -> Result<Value, CallError> {
    let value = result?;
    Ok(serde_json::to_value(value).expect("tool results serialise"))
}

/// Runs a tool by name with JSON arguments for `user`, returning its structured result.
pub async fn call(
    pool: &DbPool,
    user: &UserId,
    name: &str,
    arguments: Value,
) -> Result<Value, CallError> {
    let spec = spec(name).ok_or_else(|| CallError::UnknownTool(name.to_owned()))?;
    match spec.name {
        "add_task" => json(add_task(pool, user, args(spec.name, arguments)?).await),
        "list_tasks" => json(list_tasks(pool, user, args(spec.name, arguments)?).await),
        "get_task" => json(get_task(pool, user, args(spec.name, arguments)?).await),
        "complete_task" => json(complete_task(pool, user, args(spec.name, arguments)?).await),
        "reopen_task" => json(reopen_task(pool, user, args(spec.name, arguments)?).await),
        "update_task" => json(update_task(pool, user, args(spec.name, arguments)?).await),
        "delete_task" => json(delete_task(pool, user, args(spec.name, arguments)?).await),
        other => Err(CallError::UnknownTool(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_unique_and_every_one_dispatches() {
        let mut names: Vec<_> = CATALOG.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
    }

    #[test]
    fn no_schema_mentions_a_user_id() {
        for spec in &CATALOG {
            let schema = Value::Object(spec.input_schema()).to_string();
            assert!(!schema.contains("user"), "{}: {schema}", spec.name);
            assert_eq!(spec.input_schema()["type"], "object", "{}", spec.name);
            assert_eq!(spec.output_schema()["type"], "object", "{}", spec.name);
        }
    }

    #[test]
    fn argument_docs_reach_the_schema() {
        let schema = Value::Object(spec("add_task").unwrap().input_schema());
        let description = schema["properties"]["title"]["description"]
            .as_str()
            .unwrap();
        assert!(description.contains("Buy groceries"), "{description}");
    }

    #[test]
    fn a_user_id_smuggled_into_arguments_is_refused() {
        let err = args::<TaskRefArgs>(
            "complete_task",
            serde_json::json!({"task_id": 1, "user_id": "bob"}),
        )
        .unwrap_err();
        assert!(matches!(err, CallError::BadArguments { .. }));
    }

    #[test]
    fn only_delete_is_destructive_and_only_reads_are_read_only() {
        for spec in &CATALOG {
            assert_eq!(
                spec.destructive,
                spec.name == "delete_task",
                "{}",
                spec.name
            );
            assert_eq!(
                spec.read_only,
                matches!(spec.name, "list_tasks" | "get_task"),
                "{}",
                spec.name
            );
        }
    }
}
