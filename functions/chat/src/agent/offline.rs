//! The offline assistant: a deterministic stand-in for a model, used when no API key is set. It
//! reads the conversation like a model would and answers with tool calls, then with text, so the
//! agent loop, the storage and both chat protocols run exactly as with a real model.
//!
//! It understands the phrasings people type for adding (with a trailing date, a priority, a list
//! and tags: "add milk to my shopping list tomorrow #errands", "add urgent: call the bank"),
//! changing one task (done, reopened, deleted, renamed, its priority, list, due date or tags,
//! named by number or in words), and asking (views such as "what's overdue?", a list, a tag, a
//! priority, a search, a sort, "what lists do I have"). Every reply is written from the tool
//! results alone, with absolute dates ("due Fri 5 Dec at 17:00").

use super::model::{Deltas, ModelError, ModelMessage, ModelReply, ModelRequest, ToolCall};
use serde_json::{Value, json};
use smart_todo_shared::domain::{StatusFilter, Zone};
use smart_todo_shared::organise::{Order, Priority, Sort, Tag, View};
use smart_todo_shared::tools::Tool;

/// The offline back-end. Stateless: everything it needs is in the messages.
#[derive(Debug, Clone, Default)]
pub struct OfflineModel;

impl OfflineModel {
    pub async fn complete(
        &self,
        request: ModelRequest<'_>,
        deltas: &Deltas<'_>,
    ) -> Result<ModelReply, ModelError> {
        match decide(request.messages) {
            Decision::Call(tool, arguments) => Ok(ModelReply {
                text: String::new(),
                tool_calls: vec![ToolCall {
                    // Unique, as a real model's call ids are: a turn keys its tool results by them.
                    id: format!("call_{}", uuid::Uuid::new_v4().simple()),
                    name: tool.name().to_owned(),
                    arguments: arguments.to_string(),
                }],
            }),
            Decision::Say(text) => {
                // Stream word by word, as a model would.
                for piece in text.split_inclusive(' ') {
                    deltas(piece.to_owned());
                }
                Ok(ModelReply {
                    text,
                    tool_calls: vec![],
                })
            }
        }
    }
}

/// What the assistant does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Call(Tool, Value),
    Say(String),
}

/// Which task the user means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Id(i64),
    Words(String),
}

/// A change to a task's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TagEdit {
    /// Add these to the tags it has.
    Add(Vec<String>),
    /// Take these off.
    Remove(Vec<String>),
    /// Replace them all with these.
    Set(Vec<String>),
    /// Take them all off.
    Clear,
}

/// A change to one task.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Complete,
    Reopen,
    Delete,
    Rename(String),
    Priority(Priority),
    /// The list to move it to; `None` for the Inbox.
    List(Option<String>),
    /// A date phrase for the tool to read, or `None` to remove the date.
    Due(Option<String>),
    Tags(TagEdit),
}

impl Change {
    fn tool(&self) -> Tool {
        match self {
            Self::Complete => Tool::CompleteTask,
            Self::Reopen => Tool::ReopenTask,
            Self::Delete => Tool::DeleteTask,
            _ => Tool::UpdateTask,
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Reopen => "reopen",
            Self::Delete => "delete",
            _ => "change",
        }
    }

    /// Whether the new value depends on what the task has now (its tags).
    fn reads_task(&self) -> bool {
        matches!(self, Self::Tags(TagEdit::Add(_) | TagEdit::Remove(_)))
    }

    /// The tool's arguments for `task` (as list_tasks or get_task show it, or only its `id`), or
    /// what to say instead when there is nothing to change.
    fn arguments(&self, task: &Value) -> Result<Value, String> {
        let id = task["id"].as_i64().unwrap_or_default();
        let mut arguments = json!({ "task_id": id });
        match self {
            Self::Complete | Self::Reopen | Self::Delete => {}
            Self::Rename(title) => arguments["title"] = json!(title),
            Self::Priority(priority) => arguments["priority"] = json!(priority),
            Self::List(list) => arguments["list"] = json!(list),
            Self::Due(due) => arguments["due"] = json!(due),
            Self::Tags(edit) => {
                let title = task["title"].as_str().unwrap_or_default();
                let current: Vec<String> = task["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
                let tags = match edit {
                    TagEdit::Add(new) => {
                        let mut tags = current.clone();
                        for tag in new {
                            if !tags.contains(tag) {
                                tags.push(tag.clone());
                            }
                        }
                        if tags.len() == current.len() {
                            return Err(format!(
                                "Task {id} \"{title}\" is already tagged {}.",
                                hashtags(new)
                            ));
                        }
                        tags
                    }
                    TagEdit::Remove(old) => {
                        let kept: Vec<String> = current
                            .iter()
                            .filter(|t| !old.contains(t))
                            .cloned()
                            .collect();
                        if kept.len() == current.len() {
                            return Err(format!(
                                "Task {id} \"{title}\" isn't tagged {}.",
                                hashtags(old)
                            ));
                        }
                        kept
                    }
                    TagEdit::Set(tags) => tags.clone(),
                    TagEdit::Clear => vec![],
                };
                arguments["tags"] = json!(tags);
            }
        }
        Ok(arguments)
    }
}

/// A task to add, as the user described it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NewTask {
    title: String,
    /// "… with description 'before the 1st'".
    description: Option<String>,
    /// The date phrase, for the tool to read in the user's zone.
    due: Option<String>,
    priority: Option<Priority>,
    list: Option<String>,
    tags: Vec<String>,
}

impl NewTask {
    fn titled(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            ..Self::default()
        }
    }

    fn arguments(&self) -> Value {
        let mut arguments = json!({ "title": self.title });
        if let Some(description) = &self.description {
            arguments["description"] = json!(description);
        }
        if let Some(due) = &self.due {
            arguments["due"] = json!(due);
        }
        if let Some(priority) = self.priority {
            arguments["priority"] = json!(priority);
        }
        if let Some(list) = &self.list {
            arguments["list"] = json!(list);
        }
        if !self.tags.is_empty() {
            arguments["tags"] = json!(self.tags);
        }
        arguments
    }
}

/// A question about the tasks: the listing to ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Query {
    status: Option<StatusFilter>,
    view: Option<View>,
    /// Only the tasks due tomorrow, picked from the upcoming view.
    tomorrow: bool,
    q: Option<String>,
    list: Option<String>,
    tag: Option<String>,
    priority: Option<Priority>,
    sort: Option<(Sort, Option<Order>)>,
}

impl Query {
    /// Whether it asks for nothing but a status.
    fn is_plain(&self) -> bool {
        self.view.is_none()
            && !self.tomorrow
            && self.q.is_none()
            && self.list.is_none()
            && self.tag.is_none()
            && self.priority.is_none()
            && self.sort.is_none()
    }

    fn arguments(&self) -> Value {
        let mut arguments = json!({});
        if let Some(status) = self.status {
            arguments["status"] = json!(status);
        }
        if self.tomorrow {
            arguments["view"] = json!(View::Upcoming);
        } else if let Some(view) = self.view {
            arguments["view"] = json!(view);
        }
        if let Some(q) = &self.q {
            arguments["q"] = json!(q);
        }
        if let Some(list) = &self.list {
            arguments["list"] = json!(list);
        }
        if let Some(tag) = &self.tag {
            arguments["tag"] = json!(tag);
        }
        if let Some(priority) = self.priority {
            arguments["priority"] = json!(priority);
        }
        if let Some((sort, order)) = self.sort {
            arguments["sort"] = json!(sort);
            if let Some(order) = order {
                arguments["order"] = json!(order);
            }
        }
        arguments
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Intent {
    Help,
    /// "Thanks!", "bye": a short answer, no tool.
    SmallTalk(&'static str),
    Unknown,
    Add(NewTask),
    List(Query),
    /// "What lists do I have?"
    Lists,
    Change {
        change: Change,
        target: Target,
    },
    /// A bare answer such as "3" or "the second one", to a question the assistant asked.
    Pick(Pick),
    /// A rename without a new title.
    RenameWithoutTitle,
    /// "Undo that", "put it back": the user's latest change.
    Undo,
    /// "What did I change?", "history of task 3".
    History(Option<i64>),
    /// "Restore task 3": back from the trash.
    Restore(i64),
    /// "Delete all completed tasks": `change_tasks` with these arguments, which asks first.
    Bulk(Value),
    /// "Yes" / "no" to the question a bulk change asked.
    Confirm(bool),
    /// "Add milk, eggs and bread": one task each.
    AddMany(Vec<NewTask>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Id(i64),
    Nth(usize),
}

const HELP: &str = "I manage your todo list. Try \"Add a task to buy groceries\", \"What's pending?\", \
\"Mark task 3 as complete\", \"Change task 1 to 'Call mom tonight'\" or \"Delete the meeting task\". \
I also understand dates (\"add call mom friday at 5pm\"), priorities (\"make task 3 high priority\"), \
lists (\"add milk to my shopping list\"), tags (\"tag task 2 with errands\") and questions such as \
\"What's overdue?\" or \"Find the dentist task\".";

const DISAMBIGUATION: &str = "Which one do you mean?";

/// Decides the next step from the conversation so far.
pub fn decide(messages: &[ModelMessage]) -> Decision {
    let Some(last_user) = messages
        .iter()
        .rposition(|m| matches!(m, ModelMessage::User(_)))
    else {
        return Decision::Say(HELP.into());
    };
    let ModelMessage::User(text) = &messages[last_user] else {
        unreachable!()
    };
    let intent = resolve_pick(parse(text), &messages[..last_user]);
    let results = tool_results(&messages[last_user..]);
    let result = |tool: Tool| {
        results
            .iter()
            .rev()
            .find(|(name, _)| name == tool.name())
            .map(|(_, value)| value)
    };

    match intent {
        Intent::Help => Decision::Say(HELP.into()),
        Intent::SmallTalk(reply) => Decision::Say(reply.into()),
        Intent::Unknown | Intent::Pick(_) => Decision::Say(
            "Sorry, I didn't understand that. Try \"add buy milk tomorrow\", \"what's pending?\", \
             \"complete task 3\" or \"undo\" — or say \"help\" for more."
                .into(),
        ),
        Intent::Undo => match result(Tool::UndoLastChange) {
            Some(value) => Decision::Say(describe_undo(value)),
            None => Decision::Call(Tool::UndoLastChange, json!({})),
        },
        Intent::History(task) => match result(Tool::Activity) {
            Some(value) => Decision::Say(describe_history(value, task)),
            None => Decision::Call(
                Tool::Activity,
                match task {
                    Some(id) => json!({"task_id": id, "limit": 10}),
                    None => json!({"limit": 10}),
                },
            ),
        },
        Intent::AddMany(tasks) => match result(Tool::AddTasks) {
            Some(value) => Decision::Say(confirm_added_many(value)),
            None => Decision::Call(
                Tool::AddTasks,
                json!({"tasks": tasks.iter().map(NewTask::arguments).collect::<Vec<_>>()}),
            ),
        },
        Intent::Bulk(arguments) => match result(Tool::ChangeTasks) {
            Some(value) => Decision::Say(describe_proposal(value)),
            None => Decision::Call(Tool::ChangeTasks, arguments),
        },
        Intent::Confirm(yes) => match result(Tool::ConfirmChange) {
            Some(value) => Decision::Say(describe_confirmed(value)),
            None => Decision::Call(
                Tool::ConfirmChange,
                json!({"answer": if yes { "yes" } else { "no" }}),
            ),
        },
        Intent::Restore(id) => match result(Tool::RestoreTask) {
            Some(value) => Decision::Say(match error_of(value) {
                Some(error) => format!("I couldn't restore task {id}: {error}."),
                None => format!(
                    "Restored task {id}: {}.",
                    value["title"].as_str().unwrap_or_default()
                ),
            }),
            None => Decision::Call(Tool::RestoreTask, json!({ "task_id": id })),
        },
        Intent::RenameWithoutTitle => Decision::Say(
            "What should the new title be? For example: \"Change task 1 to 'Call mom tonight'\"."
                .into(),
        ),
        Intent::Add(task) => match result(Tool::AddTask) {
            Some(value) => Decision::Say(confirm_added(value)),
            None => Decision::Call(Tool::AddTask, task.arguments()),
        },
        Intent::List(query) => match result(Tool::ListTasks) {
            Some(value) => Decision::Say(describe_list(value, &query)),
            None => Decision::Call(Tool::ListTasks, query.arguments()),
        },
        Intent::Lists => match result(Tool::ListLists) {
            Some(value) => Decision::Say(describe_lists(value)),
            None => Decision::Call(Tool::ListLists, json!({})),
        },
        Intent::Change { change, target } => {
            if let Some(value) = result(change.tool()) {
                return Decision::Say(confirm(&change, value));
            }
            let act = |task: &Value| match change.arguments(task) {
                Ok(arguments) => Decision::Call(change.tool(), arguments),
                Err(say) => Decision::Say(say),
            };
            match target {
                Target::Id(id) if change.reads_task() => match result(Tool::GetTask) {
                    None => Decision::Call(Tool::GetTask, json!({ "task_id": id })),
                    Some(task) => match error_of(task) {
                        Some(error) => {
                            Decision::Say(format!("I couldn't {} that: {error}.", change.verb()))
                        }
                        None => act(task),
                    },
                },
                Target::Id(id) => act(&json!({ "id": id })),
                Target::Words(words) => match result(Tool::FindTask) {
                    None => Decision::Call(Tool::FindTask, json!({ "words": words })),
                    Some(found) => {
                        if let Some(error) = error_of(found) {
                            return Decision::Say(format!(
                                "I couldn't look for that task: {error}."
                            ));
                        }
                        let tasks = |key: &str| found[key].as_array().cloned().unwrap_or_default();
                        let (matches, closest) = (tasks("matches"), tasks("closest"));
                        let bullets = |tasks: &[Value]| {
                            tasks
                                .iter()
                                .map(|t| bullet(t, None))
                                .collect::<Vec<_>>()
                                .join("\n")
                        };
                        match matches.as_slice() {
                            [] if closest.is_empty() => Decision::Say(format!(
                                "I couldn't find a task matching \"{words}\"."
                            )),
                            [] => Decision::Say(format!(
                                "I couldn't find a task matching \"{words}\". The closest:\n{}\nTell me the task number if it is one of these.",
                                bullets(&closest)
                            )),
                            [only] => act(only),
                            many => {
                                let more = if found["more"] == true {
                                    " (and more: tell me more of its title)"
                                } else {
                                    ""
                                };
                                Decision::Say(format!(
                                    "{DISAMBIGUATION} Several tasks match \"{words}\"{more}:\n{}\nTell me the task number.",
                                    bullets(many)
                                ))
                            }
                        }
                    }
                },
            }
        }
    }
}

/// The results of tool calls made since the last user message, with the tool's name.
fn tool_results(turn: &[ModelMessage]) -> Vec<(String, Value)> {
    let mut names = std::collections::HashMap::new();
    let mut results = vec![];
    for message in turn {
        match message {
            ModelMessage::Assistant { tool_calls, .. } => {
                for call in tool_calls {
                    names.insert(call.id.clone(), call.name.clone());
                }
            }
            ModelMessage::Tool { call_id, content } => {
                if let Some(name) = names.get(call_id) {
                    let value =
                        serde_json::from_str(content).unwrap_or(Value::String(content.clone()));
                    results.push((name.clone(), value));
                }
            }
            ModelMessage::User(_) => {}
        }
    }
    results
}

/// Turns "3" after "Which one do you mean?" into the question's original request.
fn resolve_pick(intent: Intent, before: &[ModelMessage]) -> Intent {
    let Intent::Pick(pick) = intent else {
        return intent;
    };
    let question = before.iter().rev().find_map(|m| match m {
        ModelMessage::Assistant { text, tool_calls }
            if tool_calls.is_empty() && !text.is_empty() =>
        {
            Some(text)
        }
        _ => None,
    });
    let Some(question) = question.filter(|q| q.starts_with(DISAMBIGUATION)) else {
        return intent;
    };
    let Some(ModelMessage::User(asked)) = before
        .iter()
        .rev()
        .find(|m| matches!(m, ModelMessage::User(_)))
    else {
        return intent;
    };
    let offered: Vec<i64> = question
        .lines()
        .filter_map(|line| line.strip_prefix("- #")?.split(' ').next()?.parse().ok())
        .collect();
    let id = match pick {
        Pick::Id(id) => id,
        Pick::Nth(n) => match offered.get(n) {
            Some(id) => *id,
            None => return intent,
        },
    };
    match parse(asked) {
        Intent::Change { change, .. } => Intent::Change {
            change,
            target: Target::Id(id),
        },
        _ => intent,
    }
}

// ---------------------------------------------------------------------------------------------
// Replies, from the tool results only

fn error_of(value: &Value) -> Option<&str> {
    value.get("error").and_then(Value::as_str)
}

/// The question a bulk change asks, with the tasks it is about.
fn describe_proposal(value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I won't do that: {error}.");
    }
    let tasks = value["tasks"].as_array().cloned().unwrap_or_default();
    let question = value["question"].as_str().unwrap_or_default();
    if tasks.is_empty() {
        return question.to_owned();
    }
    let bullets: Vec<String> = tasks.iter().map(|t| bullet(t, None)).collect();
    format!("{question}\n{}", bullets.join("\n"))
}

/// What a yes or a no did.
fn describe_confirmed(value: &Value) -> String {
    if error_of(value).is_some() {
        return "There is no change waiting for a yes or no.".into();
    }
    if value["answer"] == "no" {
        return "Cancelled: nothing was changed.".into();
    }
    let changed = value["changed"].as_array().cloned().unwrap_or_default();
    let verb = match value["action"].as_str() {
        Some("delete") => "Deleted",
        Some("reopen") => "Reopened",
        _ => "Completed",
    };
    let names: Vec<String> = changed
        .iter()
        .map(|c| {
            format!(
                "#{} \u{201c}{}\u{201d}",
                c["task_id"],
                c["title"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let noun = if changed.len() == 1 { "task" } else { "tasks" };
    let mut text = format!("{verb} {} {noun}: {}.", changed.len(), names.join(", "));
    for skipped in value["skipped"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            " Task {} was left alone: {}.",
            skipped["task_id"],
            skipped["reason"].as_str().unwrap_or_default()
        ));
    }
    if !changed.is_empty() {
        text.push_str(" Say \"undo\" to take it all back.");
    }
    text
}

/// What an undo did, from its tool result.
fn describe_undo(value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't undo that: {error}.");
    }
    let summaries: Vec<String> = value["undone"]
        .as_array()
        .map(|events| events.iter().map(reversal).collect())
        .unwrap_or_default();
    match summaries.as_slice() {
        [] => "There was nothing to undo.".into(),
        [one] => format!("Undone: {one}. Say \"undo\" again to redo it."),
        many => format!(
            "Undone {} changes:\n{}\nSay \"undo\" again to redo them.",
            many.len(),
            many.iter()
                .map(|s| format!("- {s}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// What undoing `event` did, in words: "brought back “Buy milk” as task 1".
fn reversal(event: &Value) -> String {
    let id = event["task_id"].as_i64().unwrap_or_default();
    let title = event["title"].as_str().unwrap_or_default();
    let name = format!("\u{201c}{title}\u{201d}");
    let before = &event["before"];
    match event["kind"].as_str().unwrap_or_default() {
        "created" => format!("removed {name} (task {id}); it is in the trash"),
        "deleted" => format!("brought back {name} as task {id}"),
        "restored" => format!("deleted {name} (task {id}) again"),
        "completed" if before.get("completed").is_none() => {
            format!("put {name} (task {id}) back to its earlier due date")
        }
        "completed" => format!("marked {name} (task {id}) as not done"),
        "reopened" => format!("marked {name} (task {id}) as done again"),
        "moved" => format!(
            "moved {name} (task {id}) back to {}",
            before["list"].as_str().unwrap_or("the Inbox")
        ),
        _ => match before["title"].as_str() {
            Some(old) => format!("renamed task {id} back to \u{201c}{old}\u{201d}"),
            None => format!("put {name} (task {id}) back as it was"),
        },
    }
}

/// The latest changes, from an `activity` result.
fn describe_history(value: &Value, task: Option<i64>) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't read your history: {error}.");
    }
    let events = value["events"].as_array().cloned().unwrap_or_default();
    if events.is_empty() {
        return match task {
            Some(id) => format!("Task {id} has no recorded changes."),
            None => "Nothing has been changed yet.".into(),
        };
    }
    let head = match task {
        Some(id) => format!("Latest changes to task {id}:"),
        None => "Your latest changes:".into(),
    };
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            let at = e["at"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.format("%-d %b %H:%M UTC").to_string())
                .unwrap_or_default();
            let undone = if e["undone"] == true { " (undone)" } else { "" };
            format!(
                "- {} ({at}, {}){undone}",
                e["summary"].as_str().unwrap_or_default(),
                source_words(e["source"].as_str().unwrap_or_default())
            )
        })
        .collect();
    let more = if value["next_cursor"].is_null() {
        ""
    } else {
        "\n(older changes are in the app's history)"
    };
    format!("{head}\n{}{more}", lines.join("\n"))
}

fn source_words(source: &str) -> &'static str {
    match source {
        "chat" => "in chat",
        "ui" => "in the app",
        "mcp" => "via MCP",
        _ => "via the API",
    }
}

/// "Fri 5 Dec, 17:00 (every Friday)" → "Fri 5 Dec at 17:00 (every Friday)".
fn absolute(due: &str) -> String {
    let (head, tail) = match due.find(" (") {
        Some(at) => due.split_at(at),
        None => (due, ""),
    };
    let head = match head.rfind(", ") {
        Some(at)
            if head[at + 2..].len() == 5
                && head.as_bytes()[at + 4] == b':'
                && head[at + 2..]
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 2 || b.is_ascii_digit()) =>
        {
            format!("{} at {}", &head[..at], &head[at + 2..])
        }
        _ => head.to_owned(),
    };
    format!("{head}{tail}")
}

/// A task's due as a reply names it ("Fri 5 Dec at 17:00 (every Friday)"), from a task object.
fn task_due(task: &Value) -> Option<String> {
    let text = task["due"]["text"].as_str()?;
    let text = absolute(text);
    Some(match task["due"]["recurrence"]["text"].as_str() {
        Some(rule) => format!("{text} ({rule})"),
        None => text,
    })
}

fn hashtags(tags: &[String]) -> String {
    tags.iter()
        .map(|t| format!("#{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

/// "your Shopping list"; a name that already ends in "list" is not doubled.
fn your_list(name: &str) -> String {
    if name.to_lowercase().ends_with("list") {
        format!("your {name}")
    } else {
        format!("your {name} list")
    }
}

fn confirm_added(value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't add that: {error}.");
    }
    let id = value["task_id"].as_i64().unwrap_or_default();
    let title = value["title"].as_str().unwrap_or_default();
    let place = match value["list"].as_str() {
        Some(list) => your_list(list),
        None => "your list".to_owned(),
    };
    let mut notes = vec![];
    if let Some(due) = value["due"].as_str() {
        notes.push(format!("due {}", absolute(due)));
    }
    if let Some(priority) = value["priority"].as_str() {
        notes.push(format!("{priority} priority"));
    }
    let tags = string_list(&value["tags"]);
    if !tags.is_empty() {
        notes.push(format!("tagged {}", hashtags(&tags)));
    }
    let notes: String = notes.iter().map(|n| format!(", {n}")).collect();
    format!("Added \"{title}\" to {place} as task {id}{notes}.")
}

/// What `add_tasks` did: each task added, and each refused with why.
fn confirm_added_many(value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't add those: {error}.");
    }
    let results = value["results"].as_array().cloned().unwrap_or_default();
    let added: Vec<String> = results
        .iter()
        .filter_map(|r| r.get("task"))
        .map(|t| {
            format!(
                "#{} \"{}\"",
                t["task_id"],
                t["title"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let mut text = match added.len() {
        0 => "I couldn't add any of those.".to_owned(),
        1 => format!("Added 1 task: {}.", added[0]),
        n => format!("Added {n} tasks: {}.", added.join(", ")),
    };
    for (i, result) in results.iter().enumerate() {
        if let Some(error) = result["error"].as_str() {
            text.push_str(&format!(" Item {} was not added: {error}.", i + 1));
        }
    }
    text
}

fn confirm(change: &Change, value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't {} that: {error}.", change.verb());
    }
    let id = value["task_id"].as_i64().unwrap_or_default();
    let title = value["title"].as_str().unwrap_or_default();
    let due = value["due"].as_str().map(absolute);
    match value["status"].as_str().unwrap_or_default() {
        "completed" => match due {
            Some(due) => format!("Marked task {id} \"{title}\" as complete; it's next due {due}."),
            None => format!("Marked task {id} \"{title}\" as complete."),
        },
        "reopened" => format!("Task {id} \"{title}\" is pending again."),
        "deleted" => format!("Deleted task {id} \"{title}\"."),
        "updated" => match change {
            Change::Priority(_) => match value["priority"].as_str() {
                Some(priority) => format!("Task {id} \"{title}\" is now {priority} priority."),
                None => format!("Task {id} \"{title}\" has no priority now."),
            },
            Change::List(_) => match value["list"].as_str() {
                Some(list) => format!("Task {id} \"{title}\" is now on {}.", your_list(list)),
                None => format!("Task {id} \"{title}\" is now in your Inbox."),
            },
            Change::Due(_) => match due {
                Some(due) => format!("Task {id} \"{title}\" is now due {due}."),
                None => format!("Task {id} \"{title}\" has no due date now."),
            },
            Change::Tags(_) => {
                let tags = string_list(&value["tags"]);
                if tags.is_empty() {
                    format!("Task {id} \"{title}\" has no tags now.")
                } else {
                    format!("Task {id} \"{title}\" is now tagged {}.", hashtags(&tags))
                }
            }
            _ => format!("Updated task {id}: it's now \"{title}\"."),
        },
        other => format!("Done ({other}): task {id} \"{title}\"."),
    }
}

/// One task as a line of a reply; `query` leaves out what every line of its listing shares.
fn bullet(task: &Value, query: Option<&Query>) -> String {
    let mut notes = vec![];
    if task["completed"].as_bool().unwrap_or(false) {
        notes.push("completed".to_owned());
    }
    if let Some(due) = task_due(task) {
        notes.push(format!("due {due}"));
    }
    if let Some(priority) = task["priority"].as_str().filter(|p| *p != "none") {
        notes.push(format!("{priority} priority"));
    }
    if let Some(list) = task["list"].as_str()
        && list != "Inbox"
        && query.is_none_or(|q| q.list.is_none())
    {
        notes.push(format!("on {list}"));
    }
    notes.extend(string_list(&task["tags"]).iter().map(|t| format!("#{t}")));
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    format!(
        "- #{} {}{notes}",
        task["id"],
        task["title"].as_str().unwrap_or_default()
    )
}

/// Whether `task` is due tomorrow in the zone of its due date.
fn due_tomorrow(task: &Value) -> bool {
    let Some(date) = task["due"]["date"]
        .as_str()
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
    else {
        return false;
    };
    let zone = task["due"]["timezone"]
        .as_str()
        .and_then(|z| Zone::parse(z).ok())
        .unwrap_or(Zone::UTC)
        .tz();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    today.succ_opt() == Some(date)
}

fn describe_list(value: &Value, query: &Query) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't read your list: {error}.");
    }
    let page = value["tasks"].as_array().cloned().unwrap_or_default();
    let more = !value["next_cursor"].is_null();
    let total = value["total"].as_i64().unwrap_or(page.len() as i64);
    let tasks: Vec<Value> = if query.tomorrow {
        page.iter().filter(|t| due_tomorrow(t)).cloned().collect()
    } else {
        page.clone()
    };
    let mut adjective = match query.status {
        Some(StatusFilter::Pending) => "pending ",
        Some(StatusFilter::Completed) => "completed ",
        _ => "",
    }
    .to_owned();
    let mut scope = String::new();
    match (query.tomorrow, query.view) {
        (true, _) => scope.push_str(" due tomorrow"),
        (_, Some(View::Today)) => scope.push_str(" due today or overdue"),
        (_, Some(View::Overdue)) => adjective.push_str("overdue "),
        (_, Some(View::Upcoming)) => scope.push_str(" due in the next 7 days"),
        (_, Some(View::NoDate)) => scope.push_str(" without a due date"),
        _ => {}
    }
    if let Some(list) = &query.list {
        if list.eq_ignore_ascii_case("inbox") {
            scope.push_str(" in your Inbox");
        } else {
            scope.push_str(&format!(" on {}", your_list(list)));
        }
    }
    if let Some(tag) = &query.tag {
        scope.push_str(&format!(" tagged #{tag}"));
    }
    match query.priority {
        Some(Priority::None) => scope.push_str(" with no priority"),
        Some(priority) => scope.push_str(&format!(" with {priority} priority")),
        None => {}
    }
    if let Some(q) = &query.q {
        scope.push_str(&format!(" matching \"{q}\""));
    }
    let sorted = match query.sort {
        Some((Sort::Priority, _)) => ", most important first",
        Some((Sort::Due, _)) => ", soonest due first",
        Some((Sort::Title, _)) => ", A to Z",
        Some((Sort::Created, Some(Order::Desc))) => ", newest first",
        Some((Sort::Created, _)) => ", oldest first",
        Some((Sort::Updated, _)) => ", most recently changed first",
        _ => "",
    };
    let noun = |n: usize| if n == 1 { "task" } else { "tasks" };
    let lines = tasks
        .iter()
        .map(|t| bullet(t, Some(query)))
        .collect::<Vec<_>>()
        .join("\n");
    if query.tomorrow {
        if more {
            return match tasks.len() {
                0 => format!(
                    "None of the first {} of your {total} upcoming tasks is due tomorrow; \
                     ask for a narrower view to see the others.",
                    page.len()
                ),
                n => format!(
                    "Of the first {} of your {total} upcoming tasks, {n} {} due tomorrow:\n{lines}",
                    page.len(),
                    if n == 1 { "is" } else { "are" }
                ),
            };
        }
        if tasks.is_empty() {
            return "You have nothing due tomorrow.".into();
        }
    }
    if tasks.is_empty() {
        return match (query.is_plain(), query.status) {
            (true, Some(StatusFilter::All) | None) => {
                "Your list is empty. Try \"Add a task to buy groceries\".".into()
            }
            _ => format!("You have no {adjective}tasks{scope}."),
        };
    }
    if more && !query.tomorrow {
        let rest = total - tasks.len() as i64;
        return format!(
            "You have {total} {adjective}{}{scope} in all; here are the first {}{sorted}:\n{lines}\n\
             …and {rest} more not shown here. Ask for a narrower view (a list, a tag, a view such as \
             \"what's due today\" or a search) to see them.",
            noun(total as usize),
            tasks.len()
        );
    }
    format!(
        "You have {} {adjective}{}{scope}{sorted}:\n{lines}",
        tasks.len(),
        noun(tasks.len())
    )
}

fn describe_lists(value: &Value) -> String {
    if let Some(error) = error_of(value) {
        return format!("I couldn't read your lists: {error}.");
    }
    let lists = value["lists"].as_array().cloned().unwrap_or_default();
    let line = |l: &Value| {
        format!(
            "- {}: {} pending of {}",
            l["name"].as_str().unwrap_or_default(),
            l["pending"],
            l["total"]
        )
    };
    match lists.as_slice() {
        [] => "You have no lists yet.".into(),
        [inbox] => format!(
            "You only have your Inbox ({} pending of {}). Put a task on a new list with \
             \"add milk to my shopping list\".",
            inbox["pending"], inbox["total"]
        ),
        all => format!(
            "You have {} lists:\n{}",
            all.len(),
            all.iter().map(line).collect::<Vec<_>>().join("\n")
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// Case-insensitive prefix strip that keeps the original casing of the rest.
fn strip_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn strip_any<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| strip_ci(text, p))
}

/// Case-insensitive suffix strip.
fn strip_suffix_ci<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let at = text.len().checked_sub(suffix.len())?;
    let tail = text.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..at])
}

/// Where a quoted part of the message starts and ends (quotes included), and its inside.
fn quoted_range(text: &str) -> Option<(usize, usize, String)> {
    for (open, close) in [('"', '"'), ('“', '”'), ('‘', '’')] {
        if let Some(start) = text.find(open) {
            let inner_start = start + open.len_utf8();
            if let Some(end) = text[inner_start..].rfind(close) {
                let inner = text[inner_start..inner_start + end].trim();
                if !inner.is_empty() {
                    return Some((
                        start,
                        inner_start + end + close.len_utf8(),
                        inner.to_owned(),
                    ));
                }
            }
        }
    }
    // Single quotes, but not apostrophes: an opening quote starts a word, a closing one ends it.
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let open = bytes
        .iter()
        .position(|&(i, c)| c == '\'' && (i == 0 || text[..i].ends_with(char::is_whitespace)))?;
    let close = bytes.iter().rposition(|&(i, c)| {
        c == '\''
            && text[i + 1..]
                .chars()
                .next()
                .is_none_or(|n| n.is_whitespace() || n.is_ascii_punctuation())
    })?;
    if close <= open {
        return None;
    }
    let inner = text[bytes[open].0 + 1..bytes[close].0].trim().to_owned();
    (!inner.is_empty()).then(|| (bytes[open].0, bytes[close].0 + 1, inner))
}

/// Text inside quotes, if the message quotes something.
fn quoted(text: &str) -> Option<String> {
    quoted_range(text).map(|(_, _, inner)| inner)
}

fn trim_punctuation(text: &str) -> &str {
    text.trim()
        .trim_end_matches(['.', '!', '?', ',', ';'])
        .trim()
}

/// Collapses spaces and the separators left behind where phrases were taken out.
fn tidy(text: &str) -> String {
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        (" ,", ","),
        (",,", ","),
        ("()", ""),
        ("( )", ""),
        (" )", ")"),
        ("( ", "("),
    ] {
        while out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c))
        .to_owned()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A change to several tasks ("delete all completed tasks", "mark everything on my work list
/// done", "clear completed tasks"), or the yes or no that answers one.
fn bulk_intent(lower: &str) -> Option<Intent> {
    let yes = [
        "yes",
        "y",
        "yes please",
        "yep",
        "yeah",
        "sure",
        "ok",
        "okay",
        "do it",
        "go ahead",
        "confirm",
        "yes, do it",
        "yes do it",
        "please do",
        "yes go ahead",
    ];
    let no = [
        "no",
        "n",
        "nope",
        "cancel",
        "don't",
        "do not",
        "never mind",
        "nevermind",
        "stop",
        "no thanks",
        "no, cancel",
        "no, don't",
        "cancel that",
        "don't do it",
    ];
    if yes.contains(&lower) {
        return Some(Intent::Confirm(true));
    }
    if no.contains(&lower) {
        return Some(Intent::Confirm(false));
    }
    let (action, rest) = if let Some(rest) = strip_any(
        lower,
        &[
            "delete ",
            "remove ",
            "clear ",
            "get rid of ",
            "erase ",
            "trash ",
        ],
    ) {
        ("delete", rest)
    } else if let Some(rest) = strip_any(lower, &["complete ", "finish "]) {
        ("complete", rest)
    } else if let Some(rest) = strip_any(lower, &["reopen ", "uncomplete "]) {
        ("reopen", rest)
    } else if let Some(rest) = strip_ci(lower, "mark ") {
        let reopening = [
            " as not done",
            " not done",
            " as pending",
            " as undone",
            " as incomplete",
        ];
        let done = [
            " as done",
            " done",
            " as complete",
            " as completed",
            " complete",
            " completed",
            " as finished",
        ];
        match (
            reopening.iter().find_map(|s| strip_suffix_ci(rest, s)),
            done.iter().find_map(|s| strip_suffix_ci(rest, s)),
        ) {
            (Some(rest), _) => ("reopen", rest),
            (None, Some(rest)) => ("complete", rest),
            _ => return None,
        }
    } else {
        return None;
    };
    // "complete 3 and 4", "delete tasks 2, 5 and 7": several tasks by number.
    let parts: Vec<&str> = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let numbers: Vec<i64> = parts
        .iter()
        .filter_map(|w| w.trim_start_matches('#').parse().ok())
        .collect();
    let only_numbers = parts.iter().all(|w| {
        ["task", "tasks", "and", "&", "number", "numbers"].contains(w)
            || w.trim_start_matches('#').parse::<i64>().is_ok()
    });
    if numbers.len() >= 2 && only_numbers {
        return Some(Intent::Bulk(
            json!({ "action": action, "task_ids": numbers }),
        ));
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    // "remove all tags from task 3" is about one task's tags, not about several tasks.
    let one_task = words.iter().any(|w| {
        let w = w.trim_start_matches('#');
        !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())
    });
    if one_task || words.contains(&"tags") || words.contains(&"priorities") {
        return None;
    }
    let quantified = words
        .iter()
        .any(|w| ["all", "every", "everything", "each"].contains(w));
    // "clear completed tasks" needs no "all".
    let clearing = lower.starts_with("clear ") && rest.contains("completed");
    if !quantified && !clearing {
        return None;
    }
    let mut arguments = json!({ "action": action });
    let has = |w: &str| words.contains(&w);
    // Completing is of pending tasks, reopening of completed ones, unless the words say.
    match action {
        "complete" => arguments["status"] = json!("pending"),
        "reopen" => arguments["status"] = json!("completed"),
        _ => {}
    }
    if has("completed") || has("done") || has("finished") {
        if action != "complete" {
            arguments["status"] = json!("completed");
        }
    } else if has("pending") || has("open") || has("unfinished") {
        arguments["status"] = json!("pending");
    }
    if has("overdue") {
        arguments["view"] = json!("overdue");
    } else if rest.contains("due today") || has("today's") {
        arguments["view"] = json!("today");
    }
    for lead in [" my ", " the "] {
        if let Some(at) = format!(" {rest}").find(lead) {
            let after = &format!(" {rest}")[at + lead.len()..];
            if let Some(end) = after.find(" list") {
                let name = after[..end].trim();
                if !name.is_empty() && name.split(' ').count() <= 3 {
                    arguments["list"] = json!(name);
                }
                break;
            }
        }
    }
    if let Some(at) = rest.find("tagged ") {
        if let Some(tag) = rest[at + 7..].split_whitespace().next() {
            arguments["tag"] = json!(tag.trim_start_matches('#'));
        }
    } else if let Some(tag) = words.iter().find_map(|w| w.strip_prefix('#')) {
        arguments["tag"] = json!(tag);
    }
    for (word, level) in [("high", "high"), ("medium", "medium"), ("low", "low")] {
        if rest.contains(&format!("{word} priority")) {
            arguments["priority"] = json!(level);
        }
    }
    Some(Intent::Bulk(arguments))
}

/// Undo, history and restore: "undo that", "put it back", "what did I change?", "history of task
/// 3", "restore task 3".
fn history_intent(lower: &str) -> Option<Intent> {
    let undo = [
        "undo",
        "undo that",
        "undo it",
        "undo this",
        "undo the last change",
        "undo my last change",
        "undo the last thing",
        "undo what you did",
        "undo what you just did",
        "put it back",
        "put that back",
        "revert",
        "revert that",
        "revert it",
        "take that back",
        "redo",
        "oops undo",
        "oops, undo that",
    ];
    if undo.contains(&lower) {
        return Some(Intent::Undo);
    }
    let history = [
        "history",
        "show history",
        "show my history",
        "activity",
        "show my activity",
        "what did i change",
        "what did i change today",
        "what did i change yesterday",
        "what have i changed",
        "what changed",
        "what changed recently",
        "what did you change",
        "what did you do",
        "recent changes",
        "show recent changes",
        "my recent changes",
    ];
    if history.contains(&lower) {
        return Some(Intent::History(None));
    }
    for lead in [
        "history of ",
        "show the history of ",
        "show history of ",
        "what happened to ",
        "what changed on ",
        "changes to ",
    ] {
        if let Some(id) = lower.strip_prefix(lead).and_then(task_number) {
            return Some(Intent::History(Some(id)));
        }
    }
    for lead in ["restore ", "undelete ", "bring back ", "recover "] {
        if let Some(id) = lower.strip_prefix(lead).and_then(task_number) {
            return Some(Intent::Restore(id));
        }
    }
    None
}

/// "task 3", "#3", "number 3" or "3" → 3.
fn task_number(text: &str) -> Option<i64> {
    let text = trim_punctuation(text);
    let text = strip_any(text, &["the ", "my "]).unwrap_or(text);
    let text = strip_any(
        text,
        &[
            "task number ",
            "task #",
            "task no. ",
            "task ",
            "item ",
            "number ",
            "no. ",
            "#",
        ],
    )
    .unwrap_or(text);
    let text = text.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn target(text: &str) -> Target {
    let text = trim_punctuation(text);
    match task_number(text) {
        Some(id) => Target::Id(id),
        None => {
            let text = strip_any(text, &["the ", "my ", "a "]).unwrap_or(text);
            let text = strip_suffix_ci(text, " task")
                .or_else(|| strip_suffix_ci(text, " item"))
                .unwrap_or(text);
            let text = strip_any(text, &["task ", "item "]).unwrap_or(text);
            Target::Words(text.trim().trim_matches(['"', '\'']).to_owned())
        }
    }
}

/// A task reference that only a task can be: "task 4", "#4", "the report task".
fn explicit_target(text: &str) -> Option<Target> {
    let text = trim_punctuation(text);
    if task_number(text).is_some() {
        return Some(target(text));
    }
    let lower = text.to_lowercase();
    let named = lower.ends_with(" task")
        || lower.ends_with(" item")
        || lower.ends_with(" todo")
        || lower.starts_with("the task ")
        || lower.starts_with("task called ")
        || lower.starts_with("the task called ");
    named.then(|| any_target(text)).flatten()
}

/// Any task reference, but not an empty one or a pronoun.
fn any_target(text: &str) -> Option<Target> {
    let text = trim_punctuation(text);
    let lower = text.to_lowercase();
    if [
        "", "it", "that", "this", "them", "the task", "the one", "task",
    ]
    .contains(&lower.as_str())
    {
        return None;
    }
    match target(text) {
        Target::Words(words) if words.is_empty() => None,
        found => Some(found),
    }
}

/// Where the task reference ends in "mark X as done" / "X is done".
fn before_any<'a>(text: &'a str, markers: &[&str]) -> &'a str {
    let lower = text.to_ascii_lowercase();
    markers
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .map_or(text, |at| &text[..at])
}

/// The last place `text` splits at one of `markers` (case-insensitive): before and after.
fn split_last<'a>(text: &'a str, markers: &[&str]) -> Option<(&'a str, &'a str)> {
    let lower = text.to_lowercase();
    markers
        .iter()
        .filter_map(|m| lower.rfind(m).map(|at| (at, m.len())))
        .max_by_key(|(at, _)| *at)
        .map(|(at, len)| (&text[..at], &text[at + len..]))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Whether the whole of `text` is a date phrase (read in any zone: only its shape matters here).
fn is_date(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.chars().any(char::is_alphanumeric)
        && smart_todo_shared::due::parse_due(text, now(), Zone::UTC.tz()).is_ok()
}

/// One word of a message, without the punctuation around it, and where it is.
#[derive(Debug, Clone)]
struct Tok {
    lower: String,
    start: usize,
    end: usize,
    /// Punctuation followed it ("milk," → true).
    punct_after: bool,
}

fn toks(text: &str) -> Vec<Tok> {
    let mut out = vec![];
    let mut pos = 0;
    while let Some(skip) = text[pos..].find(|c: char| !c.is_whitespace()) {
        let raw_start = pos + skip;
        let raw_end = text[raw_start..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| raw_start + i);
        pos = raw_end;
        let raw = &text[raw_start..raw_end];
        let lead = raw.len()
            - raw
                .trim_start_matches(['"', '\'', '“', '‘', '(', '[', '¿', '¡'])
                .len();
        let body = &raw[lead..];
        let trimmed = body.trim_end_matches([
            ',', '.', ';', ':', '!', '?', ')', ']', '"', '\'', '”', '’', '…',
        ]);
        if trimmed.is_empty() {
            continue;
        }
        out.push(Tok {
            lower: trimmed.to_lowercase().replace('’', "'"),
            start: raw_start + lead,
            end: raw_start + lead + trimmed.len(),
            punct_after: trimmed.len() < body.len(),
        });
    }
    out
}

/// Where the words of `phrase` follow each other in `toks`, among words not yet `used`.
fn find_words(toks: &[Tok], used: &[bool], phrase: &str) -> Option<usize> {
    let words: Vec<&str> = phrase.split(' ').collect();
    (0..toks.len()).find(|&i| {
        i + words.len() <= toks.len()
            && words
                .iter()
                .enumerate()
                .all(|(k, w)| !used[i + k] && toks[i + k].lower == *w)
    })
}

// ---------------------------------------------------------------------------------------------
// Priorities

/// How people say a priority, whole.
const PRIORITY_WORDS: &[(&str, Priority)] = &[
    ("high", Priority::High),
    ("high priority", Priority::High),
    ("high-priority", Priority::High),
    ("highest", Priority::High),
    ("highest priority", Priority::High),
    ("top priority", Priority::High),
    ("top-priority", Priority::High),
    ("priority high", Priority::High),
    ("priority: high", Priority::High),
    ("urgent", Priority::High),
    ("very urgent", Priority::High),
    ("super urgent", Priority::High),
    ("important", Priority::High),
    ("very important", Priority::High),
    ("critical", Priority::High),
    ("asap", Priority::High),
    ("a priority", Priority::High),
    ("priority", Priority::High),
    ("!high", Priority::High),
    ("!h", Priority::High),
    ("!1", Priority::High),
    ("!!!", Priority::High),
    ("!urgent", Priority::High),
    ("!important", Priority::High),
    ("medium", Priority::Medium),
    ("medium priority", Priority::Medium),
    ("medium-priority", Priority::Medium),
    ("med", Priority::Medium),
    ("med priority", Priority::Medium),
    ("mid priority", Priority::Medium),
    ("moderate", Priority::Medium),
    ("moderate priority", Priority::Medium),
    ("priority medium", Priority::Medium),
    ("priority: medium", Priority::Medium),
    ("!medium", Priority::Medium),
    ("!m", Priority::Medium),
    ("!2", Priority::Medium),
    ("!!", Priority::Medium),
    ("low", Priority::Low),
    ("low priority", Priority::Low),
    ("low-priority", Priority::Low),
    ("lowest", Priority::Low),
    ("lowest priority", Priority::Low),
    ("priority low", Priority::Low),
    ("priority: low", Priority::Low),
    ("not urgent", Priority::Low),
    ("not important", Priority::Low),
    ("unimportant", Priority::Low),
    ("!low", Priority::Low),
    ("!l", Priority::Low),
    ("!3", Priority::Low),
    ("no priority", Priority::None),
    ("none", Priority::None),
    ("priority none", Priority::None),
    ("not a priority", Priority::None),
    ("without priority", Priority::None),
    ("without a priority", Priority::None),
    ("!none", Priority::None),
];

/// The priority a whole phrase names: "high priority", "a low priority task", "urgent".
fn priority_phrase(text: &str) -> Option<Priority> {
    let mut t = trim_punctuation(text).to_lowercase();
    loop {
        let before = t.len();
        for prefix in ["a ", "an ", "be ", "as ", "to ", "its ", "it "] {
            if let Some(rest) = t.strip_prefix(prefix)
                && PRIORITY_WORDS.iter().any(|(w, _)| rest.starts_with(w))
            {
                t = rest.to_owned();
            }
        }
        for suffix in [" one", " task", " item", " level", " instead", " now"] {
            if let Some(rest) = t.strip_suffix(suffix) {
                t = rest.trim_end().to_owned();
            }
        }
        if t.len() == before {
            break;
        }
    }
    PRIORITY_WORDS
        .iter()
        .find(|(w, _)| *w == t)
        .map(|(_, p)| *p)
}

/// "urgent: …", "a high priority task to …": a priority said before an added task's title.
fn priority_lead(text: &str) -> Option<(Priority, &str)> {
    let body = strip_any(text, &["a ", "an "]).unwrap_or(text);
    const LEADS: &[(&str, Priority)] = &[
        ("very high priority", Priority::High),
        ("high priority", Priority::High),
        ("high-priority", Priority::High),
        ("top priority", Priority::High),
        ("top-priority", Priority::High),
        ("medium priority", Priority::Medium),
        ("medium-priority", Priority::Medium),
        ("low priority", Priority::Low),
        ("low-priority", Priority::Low),
        ("very urgent", Priority::High),
        ("urgent", Priority::High),
        ("very important", Priority::High),
        ("important", Priority::High),
        ("critical", Priority::High),
    ];
    for (phrase, priority) in LEADS {
        let Some(after) = strip_ci(body, phrase) else {
            continue;
        };
        if let Some(rest) = strip_any(after, &[":", " -", " –", " —", ","]) {
            return Some((*priority, rest));
        }
        if let Some(rest) = strip_any(
            after,
            &[" task", " todo", " to-do", " item", " reminder", " one"],
        ) && (rest.is_empty() || rest.starts_with([' ', ':']))
        {
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            return Some((*priority, rest));
        }
        if phrase.contains("priority") && after.starts_with(' ') {
            return Some((*priority, after));
        }
    }
    None
}

/// Takes a priority out of an added task's text: a clause of its own (", high priority",
/// "(urgent)", "- important"), a phrase with the word priority anywhere ("… high priority
/// tomorrow"), or a last "urgently" / "asap".
fn take_priority(text: &str) -> (String, Option<Priority>) {
    let mut found = None;
    // Clauses after the first, separated by , ; ( ) or a spaced dash.
    let mut cuts: Vec<(usize, usize)> = vec![];
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut bounds = vec![];
    for (k, &(i, c)) in bytes.iter().enumerate() {
        let spaced_dash = matches!(c, '-' | '–' | '—')
            && k > 0
            && bytes[k - 1].1 == ' '
            && bytes.get(k + 1).is_some_and(|n| n.1 == ' ');
        if matches!(c, ',' | ';' | '(' | ')') || spaced_dash {
            bounds.push((i, i + c.len_utf8()));
        }
    }
    for (n, &(delimiter, after)) in bounds.iter().enumerate() {
        let end = bounds.get(n + 1).map_or(text.len(), |b| b.0);
        let clause = text[after..end].trim();
        let clause_lower = clause.to_lowercase();
        let clause_lower = strip_any(
            &clause_lower,
            &[
                "and ",
                "with ",
                "as ",
                "it's ",
                "it is ",
                "this is ",
                "make it ",
                "mark it as ",
                "mark it ",
                "set it to ",
                "priority: ",
                "priority ",
            ],
        )
        .map(str::to_owned)
        .unwrap_or(clause_lower.clone());
        let named = priority_phrase(&clause_lower).or_else(|| {
            // "priority high" with the prefix stripped above leaves just "high".
            clause
                .to_lowercase()
                .starts_with("priority")
                .then(|| priority_phrase(&clause_lower))
                .flatten()
        });
        if let Some(priority) = named {
            found = Some(priority);
            // A closing parenthesis goes with its clause.
            let end = if text[end..].starts_with(')') {
                end + 1
            } else {
                end
            };
            cuts.push((delimiter, end));
        }
    }
    let mut rest = cut(text, &cuts);
    // "priority" phrases anywhere.
    const INLINE: &[(&str, Priority)] = &[
        ("high priority", Priority::High),
        ("high-priority", Priority::High),
        ("top priority", Priority::High),
        ("highest priority", Priority::High),
        ("priority high", Priority::High),
        ("medium priority", Priority::Medium),
        ("medium-priority", Priority::Medium),
        ("priority medium", Priority::Medium),
        ("low priority", Priority::Low),
        ("low-priority", Priority::Low),
        ("lowest priority", Priority::Low),
        ("priority low", Priority::Low),
        ("!urgent", Priority::High),
        ("!important", Priority::High),
    ];
    let words = toks(&rest);
    let used = vec![false; words.len()];
    for (phrase, priority) in INLINE {
        if let Some(i) = find_words(&words, &used, phrase).filter(|&i| i > 0) {
            let n = phrase.split(' ').count();
            let mut first = i;
            while first > 1
                && ["with", "as", "at", "a", "an", "is", "and"]
                    .contains(&words[first - 1].lower.as_str())
            {
                first -= 1;
            }
            found = Some(*priority);
            rest = cut(&rest, &[(words[first].start, words[i + n - 1].end)]);
            break;
        }
    }
    // A last "urgently" or "asap".
    let words = toks(&rest);
    if words.len() > 1
        && let Some(last) = words.last()
        && ["urgently", "asap", "a.s.a.p"].contains(&last.lower.as_str())
    {
        found = found.or(Some(Priority::High));
        rest = rest[..last.start].to_owned();
    }
    (tidy(&rest), found)
}

/// `text` without the byte ranges in `cuts`.
fn cut(text: &str, cuts: &[(usize, usize)]) -> String {
    let mut out = String::new();
    let mut at = 0;
    let mut sorted = cuts.to_vec();
    sorted.sort();
    for (start, end) in sorted {
        if start >= at {
            out.push_str(&text[at..start]);
            out.push(' ');
            at = end;
        }
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Lists

/// Words that cannot be part of a list's name in "my <name> list".
const NOT_A_NAME: &[&str] = &[
    "a",
    "an",
    "and",
    "or",
    "with",
    "at",
    "by",
    "for",
    "is",
    "are",
    "this",
    "that",
    "what",
    "what's",
    "whats",
    "which",
    "show",
    "open",
    "view",
    "see",
    "display",
    "check",
    "me",
    "all",
    "everything",
    "anything",
    "items",
    "item",
    "do",
    "list",
    "lists",
    "my",
    "the",
    "our",
    "your",
    "to",
    "on",
    "onto",
    "in",
    "into",
    "from",
    "off",
    "of",
    "under",
    "out",
    "whole",
    "entire",
    "full",
    "task",
    "tasks",
    "new",
    "get",
    "put",
    "move",
    "add",
    "i",
    "it",
    "have",
    "has",
    "s",
];
/// Names that mean the to-do list as a whole, not one list.
const THE_WHOLE_LIST: &[&str] = &["todo", "to-do", "to do", "tasks", "task", "master", "main"];
const DETERMINERS: &[&str] = &["my", "the", "our", "your"];
const PREPOSITIONS: &[&str] = &[
    "to", "on", "onto", "in", "into", "from", "off", "under", "of",
];

/// A phrase naming a list: "[to] [my] <name> list", or "[to] [the] inbox".
#[derive(Debug, Clone)]
struct ListPhrase {
    /// Byte range in the text, from the preposition (or determiner, or name) to "list".
    start: usize,
    end: usize,
    /// The preposition before it, lower case.
    preposition: Option<String>,
    /// The list: `Some(None)` for the Inbox, `None` when it names no list ("my list").
    list: Option<Option<String>>,
}

fn list_phrases(text: &str) -> Vec<ListPhrase> {
    let words = toks(text);
    let mut out = vec![];
    for (i, word) in words.iter().enumerate() {
        let inbox = word.lower == "inbox";
        if word.lower != "list" && !inbox {
            continue;
        }
        let mut j = i;
        if !inbox {
            while j > 0
                && i - j < 3
                && !words[j - 1].punct_after
                && !NOT_A_NAME.contains(&words[j - 1].lower.as_str())
            {
                j -= 1;
            }
        }
        // "the big red shopping list": too long to be a name.
        if j > 0 && i - j == 3 && !NOT_A_NAME.contains(&words[j - 1].lower.as_str()) {
            continue;
        }
        let name_start = j;
        let determiner = j > 0 && DETERMINERS.contains(&words[j - 1].lower.as_str());
        if determiner {
            j -= 1;
        }
        let preposition = (j > 0 && PREPOSITIONS.contains(&words[j - 1].lower.as_str()))
            .then(|| words[j - 1].lower.clone());
        if preposition.is_some() {
            j -= 1;
        }
        if !determiner && preposition.is_none() && !inbox && name_start == i {
            continue;
        }
        let list = if inbox {
            Some(None)
        } else if name_start == i {
            None
        } else {
            let name = &text[words[name_start].start..words[i - 1].end];
            let lower = name.to_lowercase();
            if THE_WHOLE_LIST.contains(&lower.as_str()) {
                None
            } else if lower == "inbox" {
                Some(None)
            } else {
                Some(Some(capitalise(name)))
            }
        };
        out.push(ListPhrase {
            start: words[j.min(i)].start,
            end: word.end,
            preposition,
            list,
        });
    }
    out
}

/// A whole phrase that names a list to move a task to: "the work list", "my inbox", "Work list".
fn list_destination(text: &str) -> Option<Option<String>> {
    let text = trim_punctuation(text);
    let phrase = list_phrases(text).into_iter().last()?;
    let lead = text[..phrase.start].trim().to_lowercase();
    (phrase.end == text.len() && (lead.is_empty() || DETERMINERS.contains(&lead.as_str())))
        .then_some(phrase.list)
        .flatten()
}

/// Takes "to my shopping list" out of an added task's text: the list it names (`Some(None)`:
/// the Inbox) when it names one, and the text without it. Only a phrase at the end, or before a
/// date phrase or markers, counts: "add talk to the list owner" keeps its words.
fn take_list(text: &str) -> (String, Option<Option<String>>) {
    for phrase in list_phrases(text).into_iter().rev() {
        let Some(preposition) = &phrase.preposition else {
            continue;
        };
        if !["to", "on", "onto", "in", "into"].contains(&preposition.as_str()) {
            continue;
        }
        let after = text[phrase.end..].trim_start_matches(|c: char| ".!?".contains(c));
        let rest = after.trim();
        let fits = rest.is_empty()
            || rest.starts_with([',', '(', '#', '!', '~', ';'])
            || is_date(rest.trim_start_matches(',').trim())
            || is_date(&strip_markers(rest));
        if !fits {
            continue;
        }
        let text = format!("{} {}", &text[..phrase.start], after);
        return (text, phrase.list);
    }
    (text.to_owned(), None)
}

/// `text` without its quick-add markers (#tag, !priority, ~list).
fn strip_markers(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !w.starts_with(['#', '!', '~']))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Tags

/// A tag as typed ("#Errands", "errands") in lower case, when it can be one.
fn tag_word(word: &str) -> Option<String> {
    let word = word.trim_matches(|c: char| ",.;:!?\"'()".contains(c));
    let bare = word.strip_prefix('#').unwrap_or(word);
    if bare.is_empty()
        || bare.bytes().all(|b| b.is_ascii_digit())
        || [
            "and", "with", "as", "the", "a", "tag", "tags", "label", "labels", "&",
        ]
        .contains(&bare.to_lowercase().as_str())
    {
        return None;
    }
    Tag::parse(bare).ok().map(|t| t.as_str().to_owned())
}

/// "errands and home", "#errands #home", "errands, home" → the tags; `None` when a word is not one.
fn tag_list(text: &str) -> Option<Vec<String>> {
    let mut tags: Vec<String> = vec![];
    for word in text.split(|c: char| c.is_whitespace() || c == ',') {
        let lower = word.to_lowercase();
        if word.is_empty()
            || [
                "and", "&", "the", "a", "tag", "tags", "label", "labels", "as", "with",
            ]
            .contains(&lower.as_str())
        {
            continue;
        }
        let tag = tag_word(word)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    (!tags.is_empty()).then_some(tags)
}

/// Whether a phrase is about tags: it says "tag"/"label" or every word is a #tag.
fn speaks_of_tags(text: &str) -> bool {
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    words
        .iter()
        .any(|w| ["tag", "tags", "label", "labels", "hashtag", "hashtags"].contains(&w.as_str()))
        || (!words.is_empty()
            && words
                .iter()
                .filter(|w| !["and", "&", "the"].contains(&w.as_str()))
                .all(|w| w.starts_with('#')))
}

/// Takes "tagged errands and home" / "with the tag errands" out of an added task's text.
fn take_tags(text: &str) -> (String, Vec<String>) {
    let words = toks(text);
    for i in 1..words.len() {
        let w = words[i].lower.as_str();
        let mut j = match w {
            "tagged" | "labelled" | "labeled" => i + 1,
            "with" => match words.get(i + 1).map(|t| t.lower.as_str()) {
                Some("tag" | "tags" | "label") => i + 2,
                Some("the")
                    if matches!(
                        words.get(i + 2).map(|t| t.lower.as_str()),
                        Some("tag" | "tags")
                    ) =>
                {
                    i + 3
                }
                _ => continue,
            },
            "tag" if words.get(i + 1).is_some_and(|t| t.lower == "it") => i + 2,
            _ => continue,
        };
        if words
            .get(j)
            .is_some_and(|t| t.lower == "with" || t.lower == "as")
        {
            j += 1;
        }
        let mut tags = vec![];
        let mut end = None;
        while let Some(word) = words.get(j) {
            let Some(tag) = tag_word(&word.lower) else {
                break;
            };
            tags.push(tag);
            end = Some(word.end);
            if words
                .get(j + 1)
                .is_some_and(|t| t.lower == "and" || t.lower == "&")
                && words.get(j + 2).is_some()
            {
                j += 2;
            } else {
                break;
            }
        }
        if let Some(end) = end {
            return (cut(text, &[(words[i].start, end)]), tags);
        }
    }
    (text.to_owned(), vec![])
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn parse(raw: &str) -> Intent {
    let text = trim_punctuation(raw);
    let lower = text.to_lowercase().replace('’', "'");
    let lower = lower.as_str();
    let leads = [
        "please ",
        "can you ",
        "could you ",
        "would you ",
        "pls ",
        "kindly ",
    ];
    let text = strip_any(text, &leads).unwrap_or(text);
    let lower = strip_any(lower, &leads).unwrap_or(lower);
    let text = trim_punctuation(text);
    let lower = trim_punctuation(lower);

    if [
        "hi",
        "hello",
        "hey",
        "help",
        "what can you do",
        "how does this work",
    ]
    .contains(&lower)
    {
        return Intent::Help;
    }
    let thanks = [
        "thanks",
        "thank you",
        "thx",
        "ty",
        "thanks a lot",
        "thank you so much",
        "cheers",
        "great thanks",
        "great, thanks",
        "ok thanks",
        "ok, thanks",
        "perfect",
        "awesome",
        "cool",
        "nice",
        "great",
    ];
    if thanks.contains(&lower) {
        return Intent::SmallTalk("You're welcome! Anything else on your list?");
    }
    if ["bye", "goodbye", "see you", "good night", "later"].contains(&lower) {
        return Intent::SmallTalk("Bye! Your tasks are saved for next time.");
    }
    if let Some(pick) = pick(lower) {
        return Intent::Pick(pick);
    }
    if let Some(intent) = history_intent(lower) {
        return intent;
    }
    if let Some(intent) = bulk_intent(lower) {
        return intent;
    }
    if let Some((change, target)) = parse_edit(text) {
        return Intent::Change { change, target };
    }

    if let Some(rest) = strip_any(text, &["change ", "rename ", "update ", "edit ", "modify "]) {
        let renaming = strip_ci(text, "rename ").is_some();
        let rest_lower = rest.to_ascii_lowercase();
        // The last " to " before a quoted title: "change task 1 to 'Go to the gym'".
        let before_quote = quoted_range(rest).map_or(rest.len(), |(start, _, _)| start);
        let Some(at) = rest_lower[..before_quote].rfind(" to ") else {
            return Intent::RenameWithoutTitle;
        };
        let value = &rest[at + 4..];
        let title = quoted(&rest[at..]).unwrap_or_else(|| trim_punctuation(value).to_owned());
        if title.is_empty() {
            return Intent::RenameWithoutTitle;
        }
        if !renaming
            && quoted(&rest[at..]).is_none()
            && let Some(change) = value_change(value, true)
            && let Some(target) = any_target(&rest[..at])
        {
            return Intent::Change { change, target };
        }
        return Intent::Change {
            change: Change::Rename(title),
            target: target(&rest[..at]),
        };
    }

    if let Some(rest) = strip_any(
        text,
        &[
            "delete ",
            "remove ",
            "drop ",
            "get rid of ",
            "erase ",
            "trash ",
            "cancel ",
        ],
    ) {
        let rest = before_any(rest, &[" from my", " from the", " off my", " off the"]);
        return Intent::Change {
            change: Change::Delete,
            target: target(rest),
        };
    }

    let undone = [
        "not done",
        "not complete",
        "incomplete",
        "undone",
        "pending",
        "not finished",
        "open again",
    ];
    if let Some(rest) = strip_any(
        text,
        &["reopen ", "re-open ", "undo ", "uncomplete ", "unmark "],
    ) {
        let rest = before_any(rest, &[" as ", " again"]);
        return Intent::Change {
            change: Change::Reopen,
            target: target(rest),
        };
    }
    // The state is what follows the last " as " (or the last words): "mark the pending invoices
    // task as done" completes the task called "pending invoices".
    let state = match lower.rfind(" as ") {
        Some(at) => &lower[at + 4..],
        None => {
            let words: Vec<&str> = lower.split_whitespace().collect();
            let at = words.len().saturating_sub(2);
            &lower[lower.len() - words[at..].join(" ").len()..]
        }
    };
    if let Some(rest) = strip_ci(text, "mark ")
        && undone.iter().any(|u| state.contains(u))
    {
        return Intent::Change {
            change: Change::Reopen,
            target: target(before_any(rest, &[" as "])),
        };
    }

    let done_suffixes = [
        " is done",
        " is complete",
        " is completed",
        " is finished",
        " as done",
        " as complete",
    ];
    if let Some(rest) = strip_any(
        text,
        &[
            "mark ",
            "complete ",
            "finish ",
            "check off ",
            "tick off ",
            "i finished ",
            "i completed ",
            "i did ",
            "done with ",
            "close ",
        ],
    ) {
        let rest = before_any(rest, &[" as ", " is ", " done", " complete"]);
        return Intent::Change {
            change: Change::Complete,
            target: target(rest),
        };
    }
    if done_suffixes.iter().any(|s| lower.ends_with(s)) {
        let rest = before_any(text, &done_suffixes);
        return Intent::Change {
            change: Change::Complete,
            target: target(rest),
        };
    }

    let add_leads = [
        "add ",
        "create ",
        "new task",
        "remember to ",
        "remind me to ",
        "i need to ",
        "i have to ",
        "i must ",
        "i should ",
        "i want to ",
        "don't forget to ",
        "todo:",
        "to do:",
        "note to ",
        "put ",
        "new ",
    ];
    if let Some(rest) = strip_any(text, &add_leads) {
        // "!!!" and "!!" at the end are markers, not the sentence's end.
        let bangs = raw
            .trim_end()
            .rsplit(char::is_whitespace)
            .next()
            .and_then(|w| match w {
                "!!!" => Some(Priority::High),
                "!!" => Some(Priority::Medium),
                _ => None,
            });
        // "add 'pay rent' with description 'before the 1st'": the description is its own field.
        let (rest, description) = split_description(rest);
        // "add milk, eggs and bread": a list with commas is one task per item.
        // Only when the title itself keeps a comma: "add call the bank, high priority" is one.
        let listed = parse_add(rest).is_some_and(|whole| whole.title.contains(','));
        if description.is_none() && quoted(rest).is_none() && listed {
            let items: Vec<&str> = rest
                .split(',')
                .flat_map(|part| {
                    let part = part.trim();
                    match strip_ci(part, "and ") {
                        Some(last) => vec![last],
                        None => part
                            .rsplitn(2, " and ")
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect(),
                    }
                })
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect();
            if items.len() >= 2 && items.len() <= 25 {
                let tasks: Option<Vec<NewTask>> = items.into_iter().map(parse_add).collect();
                if let Some(tasks) = tasks {
                    return Intent::AddMany(tasks);
                }
            }
        }
        return match parse_add(rest) {
            Some(mut task) => {
                task.priority = task.priority.or(bangs);
                task.description = description;
                Intent::Add(task)
            }
            None => Intent::Unknown,
        };
    }

    if let Some(intent) = parse_question(text, lower) {
        return intent;
    }
    Intent::Unknown
}

/// Splits "… with description 'x'" (or "with a note", "with notes", "description:") off an add.
fn split_description(rest: &str) -> (&str, Option<String>) {
    let lower = rest.to_lowercase();
    let markers = [
        " with the description ",
        " with a description ",
        " with description ",
        " with a note ",
        " with the note ",
        " with note ",
        " with notes ",
        " with details ",
        ", description: ",
        " description: ",
    ];
    for marker in markers {
        if let Some(at) = lower.find(marker)
            && lower.len() == rest.len()
        {
            let text = rest[at + marker.len()..].trim();
            let text = quoted(text).unwrap_or_else(|| trim_punctuation(text).to_owned());
            if !text.is_empty() {
                return (&rest[..at], Some(text));
            }
        }
    }
    (rest, None)
}

/// What is left of "add …" after its lead: the task, with its date, priority, list and tags.
fn parse_add(rest: &str) -> Option<NewTask> {
    let mut rest = rest;
    let mut priority = None;
    // "Add a new task to …", "add urgent: …": peel leading phrases until none is left.
    let peel = [
        "a new task to ",
        "a new task for ",
        "a new task: ",
        "a new task ",
        "a task to ",
        "a task for ",
        "a task: ",
        "a task ",
        "new task to ",
        "new task: ",
        "task to ",
        "task for ",
        "task: ",
        "task ",
        "an item ",
        "a reminder to ",
        "a todo to ",
        "a todo: ",
        "remember to ",
        "to ",
        ": ",
        "- ",
        "called ",
        "named ",
    ];
    loop {
        let trimmed = rest.trim_start();
        if let Some(next) = strip_any(trimmed, &peel) {
            rest = next;
        } else if let Some((found, next)) = priority_lead(trimmed) {
            priority = Some(found);
            rest = next;
        } else {
            break;
        }
    }
    // A quoted title: what is outside the quotes may still say when, where and how important.
    let (title, outside) = match quoted_range(rest) {
        Some((start, end, inner)) => (
            Some(inner),
            format!("x {} {}", &rest[..start], &rest[end..]),
        ),
        None => (None, rest.to_owned()),
    };
    let (text, list) = take_list(&outside);
    let (text, said_priority) = take_priority(&text);
    let (text, mut tags) = take_tags(&text);
    // "… to my tasks": the whole to-do list, said at the end.
    let text = tidy(&text);
    let text = [
        " to my list",
        " to the list",
        " to my todo",
        " to my todos",
        " to my to-do",
        " to my to-dos",
        " to my tasks",
        " on my list",
    ]
    .iter()
    .find_map(|m| strip_suffix_ci(&text, m))
    .unwrap_or(&text)
    .to_owned();
    let mut task = NewTask {
        priority: said_priority.or(priority),
        list: list.flatten(),
        ..NewTask::default()
    };
    let zone = Zone::UTC.tz();
    let text = tidy(trim_punctuation(&text));
    let (words, due) = match smart_todo_shared::quick::parse_quick_add(&text, now(), zone) {
        Ok(quick) => {
            task.priority = quick.priority.or(task.priority);
            if let Some(list) = &quick.list {
                task.list = (!list.eq_ignore_ascii_case("inbox")).then(|| capitalise(list));
            }
            for tag in quick.tags {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            let due = quick
                .chips
                .iter()
                .find(|c| c.kind == smart_todo_shared::quick::ChipKind::Due)
                .map(|c| c.text.clone());
            (quick.title, due)
        }
        // Refused (a bad #tag, only a date): the plain title with its trailing date.
        Err(_) => match smart_todo_shared::due::split_phrase(&text, now(), zone) {
            Some((title, due)) => (title, Some(due)),
            None => (text.clone(), None),
        },
    };
    task.tags = tags;
    task.due = due;
    task.title = match title {
        Some(title) => capitalise(&title),
        None => {
            let words = tidy(trim_punctuation(&words));
            if words.is_empty() {
                // Nothing left once the modifiers were taken: the words were the title.
                let whole = tidy(trim_punctuation(rest));
                if whole.is_empty() {
                    return None;
                }
                return Some(NewTask::titled(&capitalise(&whole)));
            }
            capitalise(&words)
        }
    };
    Some(task)
}

/// A new value for a task, said whole: a priority ("high priority", "urgent"), a list ("the work
/// list", "the inbox") or, when `dates` is set, a date ("friday 5pm", "every monday", "no date").
fn value_change(value: &str, dates: bool) -> Option<Change> {
    let value = trim_punctuation(value);
    let lower = value.to_lowercase();
    if let Some(priority) = priority_phrase(&lower) {
        return Some(Change::Priority(priority));
    }
    if let Some(list) = list_destination(value) {
        return Some(Change::List(list));
    }
    if [
        "no date",
        "no due date",
        "no deadline",
        "no dates",
        "unscheduled",
        "not scheduled",
        "no due",
    ]
    .contains(&lower.as_str())
    {
        return Some(Change::Due(None));
    }
    let phrase = strip_any(
        value,
        &[
            "be due ",
            "due on ",
            "due ",
            "repeat ",
            "repeats ",
            "recur ",
            "recurring ",
            "repeating ",
            "happen ",
        ],
    );
    let phrase = match phrase {
        Some(phrase) => phrase,
        None if dates => value,
        None => return None,
    };
    is_date(phrase).then(|| Change::Due(Some(phrase.trim().to_owned())))
}

/// A field of a task, as people name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Priority,
    Due,
    Tags,
    List,
    Title,
}

fn field(text: &str) -> Option<Field> {
    let lower = text.trim().to_lowercase();
    let lower = strip_any(&lower, &["the ", "its ", "any ", "all the ", "all ", "a "])
        .unwrap_or(&lower)
        .to_owned();
    Some(match lower.as_str() {
        "priority" | "priorities" | "importance" | "priority level" | "urgency" => Field::Priority,
        "due date" | "due" | "date" | "deadline" | "due time" | "time" | "dates" | "due dates"
        | "schedule" | "reminder" | "recurrence" | "repeat" => Field::Due,
        "tags" | "tag" | "labels" | "label" | "hashtags" => Field::Tags,
        "list" => Field::List,
        "title" | "name" | "text" | "wording" => Field::Title,
        _ => return None,
    })
}

/// "the priority of task 3", "task 3's priority", "task 3 priority" → the field and the task.
fn field_of(text: &str) -> Option<(Field, Target)> {
    let text = trim_punctuation(text);
    for joint in [" of ", " for ", " on ", " from ", " off "] {
        if let Some(at) = text.to_lowercase().find(joint)
            && let Some(found) = field(&text[..at])
            && let Some(target) = any_target(&text[at + joint.len()..])
        {
            return Some((found, target));
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    for n in [2, 1] {
        if words.len() > n {
            let (head, tail) = words.split_at(words.len() - n);
            if let Some(found) = field(&tail.join(" ")) {
                let head = head.join(" ");
                let head = strip_suffix_ci(&head, "'s").unwrap_or(&head).to_owned();
                if let Some(target) = any_target(&head) {
                    return Some((found, target));
                }
            }
        }
    }
    None
}

/// The change a field given a value names.
fn field_value(found: Field, value: &str) -> Option<Change> {
    let value = trim_punctuation(value);
    let lower = value.to_lowercase();
    let nothing = [
        "none",
        "nothing",
        "no date",
        "no priority",
        "no tags",
        "blank",
        "empty",
    ]
    .contains(&lower.as_str());
    Some(match found {
        Field::Priority => Change::Priority(priority_phrase(&lower)?),
        Field::Due if nothing => Change::Due(None),
        Field::Due => match value_change(value, true)? {
            change @ Change::Due(_) => change,
            _ => return None,
        },
        Field::Tags if nothing => Change::Tags(TagEdit::Clear),
        Field::Tags => Change::Tags(TagEdit::Set(tag_list(value)?)),
        Field::List => match list_destination(value) {
            Some(list) => Change::List(list),
            None if lower == "inbox" => Change::List(None),
            None if !value.is_empty() && value.split_whitespace().count() <= 3 => {
                Change::List(Some(capitalise(value)))
            }
            None => return None,
        },
        Field::Title => Change::Rename(quoted(value).unwrap_or_else(|| value.to_owned())),
    })
}

/// "make task 3 high priority": the earliest split into a task and a whole value.
fn split_value(rest: &str, dates: bool) -> Option<(Change, Target)> {
    let starts: Vec<usize> = rest
        .char_indices()
        .filter(|&(i, c)| c == ' ' && i > 0)
        .map(|(i, _)| i)
        .collect();
    for at in starts {
        if let Some(change) = value_change(&rest[at + 1..], dates)
            && let Some(target) = any_target(&rest[..at])
        {
            return Some((change, target));
        }
    }
    None
}

/// Changes to a task's priority, list, date or tags, and the verbs shared with adding and
/// deleting that mean one of them ("add task 4 to my work list", "remove the errands tag from
/// task 2"). Checked before the plain verbs.
fn parse_edit(text: &str) -> Option<(Change, Target)> {
    let lower = text.to_lowercase();

    // Tags.
    if let Some(rest) = strip_any(text, &["tag ", "label ", "hashtag "]) {
        if let Some((left, right)) = split_last(rest, &[" with ", " as "])
            && let Some(tags) = tag_list(right)
            && let Some(target) = any_target(left)
        {
            return Some((Change::Tags(TagEdit::Add(tags)), target));
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        // Trailing #tags, or "task 2 errands", or the last word.
        let hashes = words
            .iter()
            .rev()
            .take_while(|w| w.starts_with('#'))
            .count();
        let split = if hashes > 0 && hashes < words.len() {
            Some(words.len() - hashes)
        } else if words.len() >= 3 && task_number(&words[..2].join(" ")).is_some() {
            Some(2)
        } else if words.len() >= 2 {
            Some(words.len() - 1)
        } else {
            None
        };
        if let Some(split) = split
            && let Some(tags) = tag_list(&words[split..].join(" "))
            && let Some(target) = any_target(&words[..split].join(" "))
        {
            return Some((Change::Tags(TagEdit::Add(tags)), target));
        }
    }
    if let Some(rest) = strip_any(text, &["untag ", "unlabel "]) {
        if let Some((left, right)) = split_last(rest, &[" from ", " off "])
            && let Some(tags) = tag_list(left)
            && let Some(target) = any_target(right)
        {
            return Some((Change::Tags(TagEdit::Remove(tags)), target));
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        let hashes = words
            .iter()
            .rev()
            .take_while(|w| w.starts_with('#'))
            .count();
        if hashes > 0
            && hashes < words.len()
            && let Some(tags) = tag_list(&words[words.len() - hashes..].join(" "))
            && let Some(target) = any_target(&words[..words.len() - hashes].join(" "))
        {
            return Some((Change::Tags(TagEdit::Remove(tags)), target));
        }
        if let Some(target) = any_target(rest) {
            return Some((Change::Tags(TagEdit::Clear), target));
        }
    }
    if let Some(rest) = strip_any(text, &["add ", "put ", "attach ", "apply ", "give "])
        && let Some((left, right)) = split_last(rest, &[" to ", " on "])
        && speaks_of_tags(left)
        && let Some(tags) = tag_list(left)
        && let Some(target) = any_target(right)
    {
        return Some((Change::Tags(TagEdit::Add(tags)), target));
    }

    // Taking something off a task: a tag, its priority, date or tags, or the task off a list.
    let clear_leads = [
        "remove ",
        "delete ",
        "drop ",
        "clear ",
        "unset ",
        "reset ",
        "take off ",
        "take away ",
        "take ",
        "strip ",
        "get rid of ",
        "erase ",
    ];
    if let Some(rest) = strip_any(text, &clear_leads) {
        if let Some((left, right)) = split_last(rest, &[" from ", " off ", " on ", " of ", " for "])
        {
            if let Some(found) = field(left)
                && let Some(target) = any_target(right)
            {
                let change = match found {
                    Field::Priority => Change::Priority(Priority::None),
                    Field::Due => Change::Due(None),
                    Field::Tags => Change::Tags(TagEdit::Clear),
                    Field::List => Change::List(None),
                    Field::Title => return None,
                };
                return Some((change, target));
            }
            if speaks_of_tags(left)
                && let Some(tags) = tag_list(left)
                && let Some(target) = any_target(right)
            {
                return Some((Change::Tags(TagEdit::Remove(tags)), target));
            }
        }
        // "remove task 4 from the work list": off that list, into the Inbox.
        if !lower.starts_with("delete ") && !lower.starts_with("erase ") {
            for phrase in list_phrases(rest).into_iter().rev() {
                if matches!(phrase.preposition.as_deref(), Some("from" | "off" | "of"))
                    && matches!(phrase.list, Some(Some(_)))
                    && trim_punctuation(&rest[phrase.end..]).is_empty()
                {
                    let head = rest[..phrase.start].trim_end();
                    let head = strip_suffix_ci(head, " out").unwrap_or(head);
                    if let Some(target) = any_target(head) {
                        return Some((Change::List(None), target));
                    }
                }
            }
        }
        // "clear task 2's due date", "clear task 2 priority".
        if (lower.starts_with("clear ")
            || lower.starts_with("reset ")
            || lower.starts_with("unset "))
            && let Some((found, target)) = field_of(rest)
        {
            let change = match found {
                Field::Priority => Change::Priority(Priority::None),
                Field::Due => Change::Due(None),
                Field::Tags => Change::Tags(TagEdit::Clear),
                Field::List => Change::List(None),
                Field::Title => return None,
            };
            return Some((change, target));
        }
    }

    // Priority verbs.
    for (verbs, priority) in [
        (
            &["prioritise ", "prioritize ", "flag ", "escalate "][..],
            Priority::High,
        ),
        (&["deprioritise ", "deprioritize "][..], Priority::Low),
        (
            &["unprioritise ", "unprioritize ", "unflag "][..],
            Priority::None,
        ),
    ] {
        if let Some(rest) = strip_any(text, verbs) {
            if let Some((left, right)) = split_last(rest, &[" as ", " to "])
                && let Some(Change::Priority(said)) = value_change(right, false)
                && let Some(target) = any_target(left)
            {
                return Some((Change::Priority(said), target));
            }
            if let Some(target) = any_target(rest) {
                return Some((Change::Priority(priority), target));
            }
        }
    }
    if let Some(rest) = strip_any(
        text,
        &[
            "mark ",
            "raise ",
            "bump ",
            "increase ",
            "lower ",
            "decrease ",
            "downgrade ",
            "upgrade ",
            "drop ",
        ],
    ) && let Some((left, right)) = split_last(rest, &[" as ", " to "])
        && let Some(Change::Priority(priority)) = value_change(right, false)
        && let Some(target) = any_target(left)
    {
        return Some((Change::Priority(priority), target));
    }

    // "set/change/make the priority of task 3 to high", "set task 3 to low priority".
    if let Some(rest) = strip_any(
        text,
        &[
            "set ", "change ", "update ", "edit ", "make ", "modify ", "switch ", "turn ",
        ],
    ) {
        let setting =
            lower.starts_with("set ") || lower.starts_with("make ") || lower.starts_with("turn ");
        if let Some((left, right)) = split_last(rest, &[" to ", " as "]) {
            if let Some((found, target)) = field_of(left)
                && let Some(change) = field_value(found, right)
            {
                return Some((change, target));
            }
            if setting
                && quoted(right).is_none()
                && let Some(change) = value_change(right, true)
                && let Some(target) = any_target(left)
            {
                return Some((change, target));
            }
        }
        if setting {
            // "make task 3 high priority", "set task 3 due friday", "make task 5 repeat every monday".
            if let Some(found) = split_value(rest, false) {
                return Some(found);
            }
            // "set task 3 priority high".
            let words: Vec<&str> = rest.split_whitespace().collect();
            for at in (1..words.len()).rev() {
                if let Some((found, target)) = field_of(&words[..at].join(" "))
                    && let Some(change) = field_value(found, &words[at..].join(" "))
                {
                    return Some((change, target));
                }
            }
        }
    }

    // Moving: to a list, or (for the date verbs) to a date.
    let list_verbs = [
        "move ",
        "put ",
        "file ",
        "shift ",
        "transfer ",
        "send ",
        "add ",
        "place ",
        "assign ",
    ];
    let date_verbs = [
        "move ",
        "shift ",
        "reschedule ",
        "postpone ",
        "push back ",
        "push ",
        "defer ",
        "delay ",
        "bump ",
        "schedule ",
        "repeat ",
    ];
    if let Some(rest) = strip_any(text, &list_verbs) {
        let moving = ["move ", "file ", "shift ", "transfer ", "assign "]
            .iter()
            .any(|v| lower.starts_with(v));
        for phrase in list_phrases(rest).into_iter().rev() {
            let Some(list) = phrase.list.clone() else {
                continue;
            };
            if !matches!(
                phrase.preposition.as_deref(),
                Some("to" | "on" | "onto" | "in" | "into" | "under")
            ) || !trim_punctuation(&rest[phrase.end..]).is_empty()
            {
                continue;
            }
            let head = &rest[..phrase.start];
            let found = if moving {
                any_target(head)
            } else {
                explicit_target(head)
            };
            if let Some(target) = found {
                return Some((Change::List(list), target));
            }
        }
        if moving
            && let Some((left, right)) = split_last(rest, &[" out of ", " off "])
            && list_destination(right).is_some()
            && let Some(target) = any_target(left)
        {
            return Some((Change::List(None), target));
        }
    }
    if let Some(rest) = strip_any(text, &date_verbs) {
        let repeat = lower.starts_with("repeat ");
        if let Some((left, right)) = split_last(
            rest,
            &[" to ", " until ", " till ", " for ", " on ", " by "],
        ) && !repeat
            && is_date(right)
            && let Some(target) = any_target(left)
        {
            return Some((
                Change::Due(Some(trim_punctuation(right).to_owned())),
                target,
            ));
        }
        if let Some((Change::Due(Some(due)), target)) = split_value(rest, true) {
            let due = if repeat && !due.to_lowercase().starts_with("every") {
                format!("every {due}")
            } else {
                due
            };
            if !repeat || is_date(&due) {
                return Some((Change::Due(Some(due)), target));
            }
        }
        if lower.starts_with("move ")
            && let Some((left, right)) = split_last(rest, &[" to ", " into ", " onto "])
            && let Some(target) = any_target(left)
        {
            let name = trim_punctuation(right);
            let words = name.split_whitespace().count();
            let lower_name = name.to_lowercase();
            if (1..=3).contains(&words)
                && !lower_name
                    .split_whitespace()
                    .any(|w| NOT_A_NAME.contains(&w))
            {
                let list = (lower_name != "inbox").then(|| capitalise(name));
                return Some((Change::List(list), target));
            }
        }
    }

    // "task 3 is urgent", "the dentist task is due friday", "task 2 has no due date".
    for joint in [
        " is now ",
        " should be ",
        " needs to be ",
        " must be ",
        " is ",
        " has ",
        " gets ",
        " repeats ",
        " recurs ",
    ] {
        if let Some(at) = lower.find(joint)
            && let Some(target) = explicit_target(&text[..at])
        {
            let value = &text[at + joint.len()..];
            let value_lower = value.to_lowercase();
            if joint == " has " {
                let cleared = match trim_punctuation(&value_lower) {
                    "no priority" => Change::Priority(Priority::None),
                    "no due date" | "no date" | "no deadline" => Change::Due(None),
                    "no tags" => Change::Tags(TagEdit::Clear),
                    _ => continue,
                };
                return Some((cleared, target));
            }
            let value = if joint == " repeats " || joint == " recurs " {
                format!("repeat {value}")
            } else {
                value.to_owned()
            };
            if let Some(change) = value_change(&value, false) {
                return Some((change, target));
            }
        }
    }
    None
}

/// Words that are not what a search looks for.
const NOT_SEARCHED: &[&str] = &[
    "the",
    "a",
    "an",
    "my",
    "task",
    "tasks",
    "item",
    "items",
    "todo",
    "todos",
    "to-do",
    "to-dos",
    "one",
    "ones",
    "any",
    "anything",
    "something",
    "all",
    "every",
    "everything",
    "for",
    "about",
    "me",
    "i",
    "have",
    "do",
    "does",
    "is",
    "are",
    "there",
    "thing",
    "things",
    "stuff",
    "with",
    "that",
    "this",
    "to",
    "on",
    "in",
    "of",
    "please",
    "mentioning",
    "mention",
    "mentions",
    "containing",
    "contain",
    "contains",
    "matching",
    "match",
    "regarding",
    "related",
    "word",
    "words",
    "named",
    "called",
    "due",
    "show",
    "list",
    "what",
    "what's",
    "whats",
    "which",
    "find",
    "search",
    "look",
    "up",
    "get",
    "see",
    "view",
    "display",
    "where",
    "where's",
    "can",
    "you",
    "could",
    "would",
    "and",
    "got",
    "any",
    "some",
    "where",
    "it",
    "its",
    "it's",
];

/// A question about the tasks: a listing with filters, or the lists.
fn parse_question(text: &str, lower: &str) -> Option<Intent> {
    let words = toks(text);
    let mut used = vec![false; words.len()];
    let take = |used: &mut Vec<bool>, phrase: &str| -> bool {
        match find_words(&words, used, phrase) {
            Some(i) => {
                for flag in &mut used[i..i + phrase.split(' ').count()] {
                    *flag = true;
                }
                true
            }
            None => false,
        }
    };
    let take_any =
        |used: &mut Vec<bool>, phrases: &[&str]| -> bool { phrases.iter().any(|p| take(used, p)) };

    if words.iter().any(|w| w.lower == "lists") {
        return Some(Intent::Lists);
    }

    let mut query = Query::default();
    // A named list, or the Inbox.
    for phrase in list_phrases(text).into_iter().rev() {
        if let Some(list) = phrase.list.clone() {
            query.list = Some(list.unwrap_or_else(|| "Inbox".into()));
            for (k, w) in words.iter().enumerate() {
                if w.start >= phrase.start && w.end <= phrase.end {
                    used[k] = true;
                }
            }
            break;
        }
    }
    // A tag.
    for i in 0..words.len() {
        if used[i] || query.tag.is_some() {
            continue;
        }
        let w = words[i].lower.as_str();
        let mut pick = |k: usize, used: &mut Vec<bool>| -> bool {
            match words
                .get(k)
                .filter(|_| !used[k])
                .and_then(|t| tag_word(&t.lower))
            {
                Some(tag)
                    if !NOT_SEARCHED.contains(&tag.as_str()) || words[k].lower.starts_with('#') =>
                {
                    query.tag = Some(tag);
                    used[k] = true;
                    true
                }
                _ => false,
            }
        };
        match w {
            "tagged" | "labelled" | "labeled" => {
                used[i] = true;
                let k = if words
                    .get(i + 1)
                    .is_some_and(|t| t.lower == "with" || t.lower == "as")
                {
                    used[i + 1] = true;
                    i + 2
                } else {
                    i + 1
                };
                pick(k, &mut used);
            }
            "tag" | "label" | "hashtag" => {
                used[i] = true;
                if !pick(i + 1, &mut used) && i > 0 {
                    pick(i - 1, &mut used);
                }
            }
            _ if w.starts_with('#')
                && w.len() > 1
                && !w[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                pick(i, &mut used);
            }
            _ => {}
        }
    }
    // A sort.
    let sorts: &[(&[&str], Sort, Option<Order>)] = &[
        (
            &[
                "by priority",
                "by importance",
                "in priority order",
                "priority order",
                "most important first",
                "most urgent first",
                "most important",
                "most urgent",
                "by urgency",
            ],
            Sort::Priority,
            None,
        ),
        (
            &[
                "by due date",
                "by the due date",
                "by date due",
                "by due",
                "by date",
                "by deadline",
                "by when they're due",
                "in date order",
                "due date order",
                "soonest first",
                "by due time",
            ],
            Sort::Due,
            None,
        ),
        (
            &[
                "alphabetically",
                "by title",
                "by name",
                "a-z",
                "a to z",
                "in alphabetical order",
            ],
            Sort::Title,
            None,
        ),
        (
            &[
                "newest first",
                "latest first",
                "most recent first",
                "by newest",
                "recently added",
                "newest",
            ],
            Sort::Created,
            Some(Order::Desc),
        ),
        (
            &[
                "oldest first",
                "by oldest",
                "by creation date",
                "in the order i added them",
                "oldest",
            ],
            Sort::Created,
            None,
        ),
        (
            &[
                "recently updated",
                "recently changed",
                "by last update",
                "by updated",
                "last updated",
            ],
            Sort::Updated,
            None,
        ),
    ];
    for (phrases, sort, order) in sorts {
        if take_any(&mut used, phrases) {
            query.sort = Some((*sort, *order));
            break;
        }
    }
    if query.sort.is_some() {
        take_any(&mut used, &["sorted", "sort", "ordered", "order"]);
    }
    // A view.
    let views: &[(&[&str], Option<View>)] = &[
        (
            &[
                "without a due date",
                "without due dates",
                "without due date",
                "without a date",
                "without dates",
                "without date",
                "without a deadline",
                "with no due date",
                "with no date",
                "with no dates",
                "no due date",
                "no due dates",
                "no dates",
                "no date",
                "no deadline",
                "undated",
                "unscheduled",
                "not scheduled",
                "someday",
                "dateless",
            ],
            Some(View::NoDate),
        ),
        (
            &[
                "overdue",
                "past due",
                "late",
                "missed",
                "behind on",
                "behind",
            ],
            Some(View::Overdue),
        ),
        (&["tomorrow", "tomorrow's"], None),
        (
            &["today", "today's", "tonight", "this evening"],
            Some(View::Today),
        ),
        (
            &[
                "upcoming",
                "coming up",
                "this week",
                "next 7 days",
                "next seven days",
                "next few days",
                "next couple of days",
                "the week ahead",
                "later this week",
                "soon",
                "the rest of the week",
                "this coming week",
            ],
            Some(View::Upcoming),
        ),
    ];
    for (phrases, view) in views {
        if take_any(&mut used, phrases) {
            match view {
                Some(view) => query.view = Some(*view),
                None => query.tomorrow = true,
            }
            break;
        }
    }
    // A priority.
    let priorities: &[(&str, Priority)] = &[
        ("high priority", Priority::High),
        ("high-priority", Priority::High),
        ("top priority", Priority::High),
        ("urgent", Priority::High),
        ("important", Priority::High),
        ("!high", Priority::High),
        ("medium priority", Priority::Medium),
        ("medium-priority", Priority::Medium),
        ("!medium", Priority::Medium),
        ("low priority", Priority::Low),
        ("low-priority", Priority::Low),
        ("!low", Priority::Low),
        ("without a priority", Priority::None),
        ("without priority", Priority::None),
        ("with no priority", Priority::None),
        ("no priority", Priority::None),
    ];
    for (phrase, priority) in priorities {
        if take(&mut used, phrase) {
            query.priority = Some(*priority);
            take_any(&mut used, &["with", "a", "priority"]);
            break;
        }
    }
    // Status words.
    let completed_words = ["completed", "finished", "done", "complete", "closed"];
    let pending_words = [
        "pending",
        "left",
        "remaining",
        "open",
        "incomplete",
        "outstanding",
        "to do",
        "todo",
        "unfinished",
        "not done",
        "still to do",
    ];
    let all_words = ["all", "everything", "every"];
    let has = |set: &[&str]| {
        set.iter()
            .any(|w| find_words(&words, &vec![false; words.len()], w).is_some())
    };
    // "Which tasks haven't I finished?": a status word under a negation means the opposite.
    let negated = ["not ", "n't ", "n’t ", " yet", "never "]
        .iter()
        .any(|n| lower.contains(n));
    let pending = has(&pending_words) || (negated && has(&completed_words));
    let completed = !pending && has(&completed_words);
    for w in pending_words.iter().chain(&completed_words) {
        take(&mut used, w);
    }
    // A search: "find …", "search for …", "… about the bank".
    let search_leads = [
        "find",
        "search for",
        "search my tasks for",
        "search",
        "look for",
        "look up",
        "lookup",
        "locate",
        "where is",
        "where's",
        "whats about",
    ];
    let keywords = [
        "about",
        "mentioning",
        "mention",
        "mentions",
        "containing",
        "contain",
        "contains",
        "matching",
        "match",
        "regarding",
        "related to",
        "with the word",
        "with the words",
        "called",
        "named",
        "that say",
        "that says",
    ];
    let mut from = None;
    for lead in search_leads {
        let n = lead.split(' ').count();
        if words.len() >= n
            && (0..n).all(|k| words[k].lower == lead.split(' ').nth(k).unwrap_or(""))
        {
            from = Some(n);
            break;
        }
    }
    if from.is_none() {
        for keyword in keywords {
            if let Some(i) = find_words(&words, &used, keyword) {
                from = Some(i + keyword.split(' ').count());
                break;
            }
        }
    }
    let searched = from.is_some();
    if let Some(from) = from {
        let terms: Vec<&str> = (from..words.len())
            .filter(|&k| !used[k] && !NOT_SEARCHED.contains(&words[k].lower.as_str()))
            .map(|k| &text[words[k].start..words[k].end])
            .collect();
        if !terms.is_empty() {
            query.q = Some(terms.join(" ").to_lowercase());
        }
    }

    let asks = [
        "show",
        "list",
        "what",
        "which",
        "my tasks",
        "all tasks",
        "see",
        "view",
        "display",
        "anything",
        "any",
        "tasks",
        "do i have",
        "sort",
        "sorted",
        "is there",
        "are there",
        "got",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || pending
        || completed
        || searched;
    let filtered = !query.is_plain();
    if !asks && !filtered {
        return None;
    }
    query.status = if pending {
        Some(StatusFilter::Pending)
    } else if completed {
        Some(StatusFilter::Completed)
    } else if !filtered || has(&all_words) {
        Some(StatusFilter::All)
    } else if query.view.is_some() || query.tomorrow {
        // A dated view reads pending tasks unless told otherwise.
        None
    } else if query.list.is_some() || query.tag.is_some() || query.priority.is_some() {
        Some(StatusFilter::Pending)
    } else {
        Some(StatusFilter::All)
    };
    Some(Intent::List(query))
}

fn pick(lower: &str) -> Option<Pick> {
    if let Some(id) = task_number(lower) {
        return Some(Pick::Id(id));
    }
    let ordinals = ["first", "second", "third", "fourth", "fifth"];
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words.len() <= 3
        && words
            .iter()
            .any(|w| ["one", "the"].contains(w) || ordinals.contains(w))
        && words
            .iter()
            .all(|w| ["one", "the", "number", "task"].contains(w) || ordinals.contains(w))
    {
        return ordinals
            .iter()
            .position(|o| words.contains(o))
            .map(Pick::Nth);
    }
    None
}
#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Vec<ModelMessage> {
        vec![ModelMessage::User(text.into())]
    }

    fn called(messages: &[ModelMessage]) -> (&'static str, Value) {
        match decide(messages) {
            Decision::Call(tool, args) => (tool.name(), args),
            other => panic!("expected a tool call, got {other:?}"),
        }
    }

    fn said(messages: &[ModelMessage]) -> String {
        match decide(messages) {
            Decision::Say(text) => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    /// The conversation after the assistant called `name` and got `result`.
    fn after(
        mut messages: Vec<ModelMessage>,
        name: &str,
        arguments: Value,
        result: Value,
    ) -> Vec<ModelMessage> {
        let id = format!("call_{}", messages.len());
        messages.push(ModelMessage::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: id.clone(),
                name: name.into(),
                arguments: arguments.to_string(),
            }],
        });
        messages.push(ModelMessage::Tool {
            call_id: id,
            content: result.to_string(),
        });
        messages
    }

    #[test]
    fn the_spec_commands_become_the_right_first_tool_call() {
        let table: [(&str, &str, Value); 10] = [
            (
                "Add a task to buy groceries",
                "add_task",
                json!({"title": "Buy groceries"}),
            ),
            (
                "add buy groceries",
                "add_task",
                json!({"title": "Buy groceries"}),
            ),
            (
                "I need to remember to pay bills",
                "add_task",
                json!({"title": "Pay bills"}),
            ),
            (
                "Show me all my tasks",
                "list_tasks",
                json!({"status": "all"}),
            ),
            (
                "What's pending?",
                "list_tasks",
                json!({"status": "pending"}),
            ),
            (
                "What have I completed?",
                "list_tasks",
                json!({"status": "completed"}),
            ),
            (
                "Mark task 3 as complete",
                "complete_task",
                json!({"task_id": 3}),
            ),
            (
                "Delete the meeting task",
                "find_task",
                json!({"words": "meeting"}),
            ),
            (
                "Change task 1 to 'Call mom tonight'",
                "update_task",
                json!({"task_id": 1, "title": "Call mom tonight"}),
            ),
            ("Reopen task 2", "reopen_task", json!({"task_id": 2})),
        ];
        for (text, tool, args) in table {
            assert_eq!(called(&user(text)), (tool, args), "{text}");
        }
    }

    #[test]
    fn a_trailing_date_becomes_the_due_and_leaves_the_title() {
        let table = [
            (
                "add buy milk tomorrow at 5pm",
                "Buy milk",
                "tomorrow at 5pm",
            ),
            (
                "Add a task to call the bank on friday",
                "Call the bank",
                "on friday",
            ),
            (
                "add pay rent every month on the 1st",
                "Pay rent",
                "every month on the 1st",
            ),
            ("add dentist dec 24 9:30", "Dentist", "dec 24 9:30"),
            (
                "remind me to water the plants every morning",
                "Water the plants",
                "every morning",
            ),
            (
                "add submit the report by end of month",
                "Submit the report",
                "by end of month",
            ),
            (
                "add standup every weekday at 9",
                "Standup",
                "every weekday at 9",
            ),
            ("add call mom in 3 days", "Call mom", "in 3 days"),
        ];
        for (text, title, due) in table {
            assert_eq!(
                called(&user(text)),
                ("add_task", json!({"title": title, "due": due})),
                "{text}"
            );
        }
        // Words that only look like dates stay in the title.
        assert_eq!(
            called(&user("add enjoy the sun")).1,
            json!({"title": "Enjoy the sun"})
        );
    }

    #[test]
    fn a_dated_add_is_confirmed_with_its_date() {
        let messages = after(
            user("add buy milk friday"),
            "add_task",
            json!({"title": "Buy milk", "due": "friday"}),
            json!({"task_id": 4, "status": "created", "title": "Buy milk", "due": "Fri 4 Dec"}),
        );
        assert_eq!(
            said(&messages),
            "Added \"Buy milk\" to your list as task 4, due Fri 4 Dec."
        );
    }

    #[test]
    fn close_variants_are_understood() {
        assert_eq!(
            called(&user("please add \"Call the bank\" to my list")).1,
            json!({"title": "Call the bank"})
        );
        assert_eq!(
            called(&user("remind me to water the plants.")).1,
            json!({"title": "Water the plants"})
        );
        assert_eq!(
            called(&user("Add a task for the team meeting")).1,
            json!({"title": "The team meeting"})
        );
        assert_eq!(
            called(&user("task 4 is done")),
            ("complete_task", json!({"task_id": 4}))
        );
        assert_eq!(
            called(&user("complete #5")),
            ("complete_task", json!({"task_id": 5}))
        );
        assert_eq!(
            called(&user("Mark task 2 as not done")),
            ("reopen_task", json!({"task_id": 2}))
        );
        assert_eq!(
            called(&user("remove task 9")),
            ("delete_task", json!({"task_id": 9}))
        );
        assert_eq!(
            called(&user("what's left to do?")).1,
            json!({"status": "pending"})
        );
        assert_eq!(
            called(&user("rename task 3 to Buy oat milk")).1,
            json!({"task_id": 3, "title": "Buy oat milk"})
        );
    }

    /// The phrasings a new user typed that went wrong: each now becomes the right first step.
    #[test]
    fn the_phrasings_that_went_wrong_now_go_right() {
        let calls: [(&str, &str, Value); 6] = [
            (
                "What's not done yet?",
                "list_tasks",
                json!({"status": "pending"}),
            ),
            (
                "Which tasks haven't I finished?",
                "list_tasks",
                json!({"status": "pending"}),
            ),
            (
                "how many tasks do I have?",
                "list_tasks",
                json!({"status": "all"}),
            ),
            (
                "Mark the pending invoices task as done",
                "find_task",
                json!({"words": "pending invoices"}),
            ),
            (
                "Change task 1 to 'Go to the gym tonight'",
                "update_task",
                json!({"task_id": 1, "title": "Go to the gym tonight"}),
            ),
            (
                "add 'pay rent' with description 'before the 1st'",
                "add_task",
                json!({"title": "Pay rent", "description": "before the 1st"}),
            ),
        ];
        for (text, tool, arguments) in calls {
            assert_eq!(called(&user(text)), (tool, arguments), "{text}");
        }
        // "Mark the pending invoices task as done" completes the task it names.
        let found = after(
            user("Mark the pending invoices task as done"),
            "find_task",
            json!({"words": "pending invoices"}),
            json!({"matches": [{"id": 6, "title": "Pending invoices", "completed": false}],
                   "more": false, "closest": []}),
        );
        assert_eq!(called(&found), ("complete_task", json!({"task_id": 6})));
        for text in ["thanks!", "thank you", "thx"] {
            let reply = said(&user(text));
            assert!(!reply.starts_with("Sorry"), "{text}: {reply}");
        }
    }

    #[test]
    fn changes_to_several_tasks_ask_first_and_one_task_does_not() {
        let table: [(&str, Value); 9] = [
            (
                "delete all completed tasks",
                json!({"action": "delete", "status": "completed"}),
            ),
            (
                "clear completed tasks",
                json!({"action": "delete", "status": "completed"}),
            ),
            (
                "mark everything on my work list done",
                json!({"action": "complete", "status": "pending", "list": "work"}),
            ),
            (
                "complete all overdue tasks",
                json!({"action": "complete", "status": "pending", "view": "overdue"}),
            ),
            (
                "delete all tasks tagged errands",
                json!({"action": "delete", "tag": "errands"}),
            ),
            (
                "reopen all completed tasks",
                json!({"action": "reopen", "status": "completed"}),
            ),
            (
                "mark all high priority tasks as done",
                json!({"action": "complete", "status": "pending", "priority": "high"}),
            ),
            ("delete all tasks", json!({"action": "delete"})),
            ("remove everything", json!({"action": "delete"})),
        ];
        for (text, arguments) in table {
            assert_eq!(called(&user(text)), ("change_tasks", arguments), "{text}");
        }
        for (text, answer) in [
            ("yes", "yes"),
            ("go ahead", "yes"),
            ("no", "no"),
            ("cancel", "no"),
        ] {
            assert_eq!(
                called(&user(text)),
                ("confirm_change", json!({"answer": answer})),
                "{text}"
            );
        }
        assert_eq!(
            called(&user("complete tasks 3 and 4")),
            (
                "change_tasks",
                json!({"action": "complete", "task_ids": [3, 4]})
            )
        );
        assert_eq!(
            called(&user("delete tasks 2, 5 and 7")),
            (
                "change_tasks",
                json!({"action": "delete", "task_ids": [2, 5, 7]})
            )
        );
        assert_eq!(
            called(&user("mark 3 and 4 as done")),
            (
                "change_tasks",
                json!({"action": "complete", "task_ids": [3, 4]})
            )
        );
        assert_eq!(
            called(&user("add milk, eggs and bread")),
            (
                "add_tasks",
                json!({"tasks": [{"title": "Milk"}, {"title": "Eggs"}, {"title": "Bread"}]})
            )
        );
        assert_eq!(
            called(&user("add salt and pepper")),
            ("add_task", json!({"title": "Salt and pepper"})),
            "without commas, one task"
        );
        // One task: at once, no question.
        assert_eq!(called(&user("delete task 3")).0, "delete_task");
        assert_eq!(
            called(&user("remove all tags from task 3")).0,
            "update_task"
        );
    }

    #[test]
    fn a_task_named_in_words_is_resolved_to_its_id() {
        let found = json!({"matches": [
            {"id": 4, "title": "Team meeting", "completed": false}
        ], "more": false, "closest": []});
        let turn = after(
            user("Delete the meeting task"),
            "find_task",
            json!({"words": "meeting"}),
            found,
        );
        assert_eq!(called(&turn), ("delete_task", json!({"task_id": 4})));
        let done = after(
            turn,
            "delete_task",
            json!({"task_id": 4}),
            json!({"task_id": 4, "status": "deleted", "title": "Team meeting"}),
        );
        assert_eq!(said(&done), "Deleted task 4 \"Team meeting\".");
    }

    #[test]
    fn several_matches_make_it_ask_and_a_number_answers() {
        let found = json!({"matches": [
            {"id": 2, "title": "Team meeting", "completed": false, "list": "Work",
             "due": {"date": "2026-12-05", "time": null, "timezone": "UTC", "at": null,
                     "recurrence": null, "text": "Sat 5 Dec"}},
            {"id": 5, "title": "Meeting notes", "completed": false}
        ], "more": false, "closest": []});
        let turn = after(
            user("Delete the meeting task"),
            "find_task",
            json!({"words": "meeting"}),
            found,
        );
        let question = said(&turn);
        assert!(
            question.starts_with("Which one") && question.contains("#2") && question.contains("#5"),
            "{question}"
        );
        assert!(
            question.contains("on Work"),
            "the candidates name their lists: {question}"
        );
        assert!(
            question.contains("Sat 5 Dec"),
            "and their dates: {question}"
        );
        let mut next = turn;
        next.push(ModelMessage::Assistant {
            text: question,
            tool_calls: vec![],
        });
        next.push(ModelMessage::User("5".into()));
        assert_eq!(called(&next), ("delete_task", json!({"task_id": 5})));
        let mut by_ordinal = next[..next.len() - 1].to_vec();
        by_ordinal.push(ModelMessage::User("the first one".into()));
        assert_eq!(called(&by_ordinal), ("delete_task", json!({"task_id": 2})));
    }

    #[test]
    fn no_match_is_said_plainly() {
        let turn = after(
            user("complete the dentist task"),
            "find_task",
            json!({"words": "dentist"}),
            json!({"matches": [], "more": false, "closest": []}),
        );
        assert_eq!(said(&turn), "I couldn't find a task matching \"dentist\".");
        let near = after(
            user("complete the dentst task"),
            "find_task",
            json!({"words": "dentst"}),
            json!({"matches": [], "more": false,
                   "closest": [{"id": 3, "title": "Dentist appointment", "completed": false}]}),
        );
        let text = said(&near);
        assert!(
            text.starts_with(
                "I couldn't find a task matching \"dentst\". The closest:\n- #3 Dentist appointment"
            ),
            "{text}"
        );
    }

    #[test]
    fn results_and_failures_are_reported_from_the_tool_result_only() {
        let turn = after(
            user("Mark task 3 as complete"),
            "complete_task",
            json!({"task_id": 3}),
            json!({"error": "task 3 was not found"}),
        );
        assert_eq!(
            said(&turn),
            "I couldn't complete that: task 3 was not found."
        );
        let listed = after(
            user("What's pending?"),
            "list_tasks",
            json!({}),
            json!({"tasks": [{"id": 1, "title": "Buy milk", "completed": false}]}),
        );
        assert_eq!(said(&listed), "You have 1 pending task:\n- #1 Buy milk");
        let empty = after(
            user("What have I completed?"),
            "list_tasks",
            json!({}),
            json!({"tasks": []}),
        );
        assert_eq!(said(&empty), "You have no completed tasks.");
    }

    #[test]
    fn greetings_and_nonsense_get_help() {
        assert!(said(&user("hello")).contains("Add a task"));
        assert!(said(&user("qwertyuiop")).starts_with("Sorry"));
        assert!(said(&user("change task 1")).starts_with("What should the new title be"));
    }

    #[test]
    fn apostrophes_are_not_quotes() {
        assert_eq!(quoted("what's up with 'this one'"), Some("this one".into()));
        assert_eq!(quoted("don't do it"), None);
    }

    #[test]
    fn organising_phrasings_become_the_right_first_tool_call() {
        let table: Vec<(&str, &str, Value)> = vec![
            // Adding, with a priority, a list, tags and a date.
            (
                "add urgent: call the bank",
                "add_task",
                json!({"title": "Call the bank", "priority": "high"}),
            ),
            (
                "add call the bank, high priority",
                "add_task",
                json!({"title": "Call the bank", "priority": "high"}),
            ),
            (
                "add pay rent !high",
                "add_task",
                json!({"title": "Pay rent", "priority": "high"}),
            ),
            (
                "add an important task to sign the lease",
                "add_task",
                json!({"title": "Sign the lease", "priority": "high"}),
            ),
            (
                "add clean the garage (low priority)",
                "add_task",
                json!({"title": "Clean the garage", "priority": "low"}),
            ),
            (
                "add review the budget with medium priority",
                "add_task",
                json!({"title": "Review the budget", "priority": "medium"}),
            ),
            (
                "add call the bank, high priority, tomorrow",
                "add_task",
                json!({"title": "Call the bank", "priority": "high", "due": "tomorrow"}),
            ),
            (
                "add milk to my shopping list",
                "add_task",
                json!({"title": "Milk", "list": "Shopping"}),
            ),
            (
                "add eggs to the groceries list",
                "add_task",
                json!({"title": "Eggs", "list": "Groceries"}),
            ),
            (
                "put bread on my shopping list",
                "add_task",
                json!({"title": "Bread", "list": "Shopping"}),
            ),
            (
                "add prepare slides to my work list friday",
                "add_task",
                json!({"title": "Prepare slides", "list": "Work", "due": "friday"}),
            ),
            (
                "add pay the gas bill ~home",
                "add_task",
                json!({"title": "Pay the gas bill", "list": "Home"}),
            ),
            (
                "add buy milk tomorrow #errands",
                "add_task",
                json!({"title": "Buy milk", "due": "tomorrow", "tags": ["errands"]}),
            ),
            (
                "add pick up the parcel tagged errands and home",
                "add_task",
                json!({"title": "Pick up the parcel", "tags": ["errands", "home"]}),
            ),
            (
                "add 'Call mom' to my family list tomorrow",
                "add_task",
                json!({"title": "Call mom", "list": "Family", "due": "tomorrow"}),
            ),
            (
                "add book flights !!!",
                "add_task",
                json!({"title": "Book flights", "priority": "high"}),
            ),
            // Priorities.
            (
                "make task 3 high priority",
                "update_task",
                json!({"task_id": 3, "priority": "high"}),
            ),
            (
                "mark task 4 as urgent",
                "update_task",
                json!({"task_id": 4, "priority": "high"}),
            ),
            (
                "change the priority of task 2 to low",
                "update_task",
                json!({"task_id": 2, "priority": "low"}),
            ),
            (
                "set task 2 priority to medium",
                "update_task",
                json!({"task_id": 2, "priority": "medium"}),
            ),
            (
                "change task 2 to high priority",
                "update_task",
                json!({"task_id": 2, "priority": "high"}),
            ),
            (
                "task 2 is important",
                "update_task",
                json!({"task_id": 2, "priority": "high"}),
            ),
            (
                "prioritize task 1",
                "update_task",
                json!({"task_id": 1, "priority": "high"}),
            ),
            (
                "deprioritize task 1",
                "update_task",
                json!({"task_id": 1, "priority": "low"}),
            ),
            (
                "remove the priority from task 2",
                "update_task",
                json!({"task_id": 2, "priority": "none"}),
            ),
            (
                "set task 2 to no priority",
                "update_task",
                json!({"task_id": 2, "priority": "none"}),
            ),
            (
                "set the dentist task to low priority",
                "find_task",
                json!({"words": "dentist"}),
            ),
            // Lists.
            (
                "put task 4 on my work list",
                "update_task",
                json!({"task_id": 4, "list": "Work"}),
            ),
            (
                "move task 4 to the work list",
                "update_task",
                json!({"task_id": 4, "list": "Work"}),
            ),
            (
                "move task 4 to work",
                "update_task",
                json!({"task_id": 4, "list": "Work"}),
            ),
            (
                "add task 4 to my work list",
                "update_task",
                json!({"task_id": 4, "list": "Work"}),
            ),
            (
                "move task 4 to the inbox",
                "update_task",
                json!({"task_id": 4, "list": null}),
            ),
            (
                "remove task 4 from the work list",
                "update_task",
                json!({"task_id": 4, "list": null}),
            ),
            (
                "what's on my work list",
                "list_tasks",
                json!({"list": "Work", "status": "pending"}),
            ),
            (
                "show my shopping list",
                "list_tasks",
                json!({"list": "Shopping", "status": "pending"}),
            ),
            (
                "what's in my inbox",
                "list_tasks",
                json!({"list": "Inbox", "status": "pending"}),
            ),
            ("what lists do I have", "list_lists", json!({})),
            ("show my lists", "list_lists", json!({})),
            // Tags.
            ("tag task 2 with errands", "get_task", json!({"task_id": 2})),
            (
                "untag task 2",
                "update_task",
                json!({"task_id": 2, "tags": []}),
            ),
            (
                "remove all tags from task 2",
                "update_task",
                json!({"task_id": 2, "tags": []}),
            ),
            (
                "remove the errands tag from task 2",
                "get_task",
                json!({"task_id": 2}),
            ),
            (
                "tag the milk task #errands",
                "find_task",
                json!({"words": "milk"}),
            ),
            (
                "show tasks tagged errands",
                "list_tasks",
                json!({"tag": "errands", "status": "pending"}),
            ),
            (
                "what's tagged #home",
                "list_tasks",
                json!({"tag": "home", "status": "pending"}),
            ),
            // Views.
            ("what's due today?", "list_tasks", json!({"view": "today"})),
            (
                "anything overdue?",
                "list_tasks",
                json!({"view": "overdue"}),
            ),
            (
                "what's coming up this week?",
                "list_tasks",
                json!({"view": "upcoming"}),
            ),
            (
                "show tasks without a date",
                "list_tasks",
                json!({"view": "no_date"}),
            ),
            (
                "what do I have tomorrow",
                "list_tasks",
                json!({"view": "upcoming"}),
            ),
            // Search and sort.
            (
                "find the dentist task",
                "list_tasks",
                json!({"q": "dentist", "status": "all"}),
            ),
            (
                "search for invoice",
                "list_tasks",
                json!({"q": "invoice", "status": "all"}),
            ),
            (
                "look for tasks about the bank",
                "list_tasks",
                json!({"q": "bank", "status": "all"}),
            ),
            (
                "show my tasks by priority",
                "list_tasks",
                json!({"sort": "priority", "status": "all"}),
            ),
            (
                "sort by due date",
                "list_tasks",
                json!({"sort": "due", "status": "all"}),
            ),
            (
                "show my tasks newest first",
                "list_tasks",
                json!({"sort": "created", "order": "desc", "status": "all"}),
            ),
            (
                "what's urgent?",
                "list_tasks",
                json!({"priority": "high", "status": "pending"}),
            ),
            // Dates.
            (
                "move task 3 to friday",
                "update_task",
                json!({"task_id": 3, "due": "friday"}),
            ),
            (
                "reschedule task 2 to tomorrow at 10am",
                "update_task",
                json!({"task_id": 2, "due": "tomorrow at 10am"}),
            ),
            (
                "make task 5 repeat every monday",
                "update_task",
                json!({"task_id": 5, "due": "every monday"}),
            ),
            (
                "remove the due date from task 2",
                "update_task",
                json!({"task_id": 2, "due": null}),
            ),
            (
                "task 2 has no due date",
                "update_task",
                json!({"task_id": 2, "due": null}),
            ),
        ];
        for (text, tool, args) in table {
            assert_eq!(called(&user(text)), (tool, args), "{text}");
        }
    }

    #[test]
    fn words_that_only_look_like_lists_tags_or_priorities_stay_in_the_title() {
        for (text, title) in [
            ("add a task to buy groceries", "Buy groceries"),
            ("add call mom to my list", "Call mom"),
            ("add call mom to my todo list", "Call mom"),
            ("add talk to the list owner", "Talk to the list owner"),
            ("add check the shopping list", "Check the shopping list"),
            ("add eggs to groceries", "Eggs to groceries"),
            ("add important meeting notes", "Important meeting notes"),
            (
                "add email Bob about the urgent report",
                "Email Bob about the urgent report",
            ),
            ("add fix issue #42", "Fix issue #42"),
            ("add tag the holiday photos", "Tag the holiday photos"),
            ("add move the car", "Move the car"),
            ("add find my keys", "Find my keys"),
        ] {
            assert_eq!(
                called(&user(text)),
                ("add_task", json!({"title": title})),
                "{text}"
            );
        }
        // "show newest first" is a sort, not an answer to "which one?".
        assert_eq!(called(&user("show newest first")).0, "list_tasks");
    }

    #[test]
    fn replies_name_absolute_dates_and_only_what_the_result_shows() {
        assert_eq!(absolute("Fri 5 Dec, 17:00"), "Fri 5 Dec at 17:00");
        assert_eq!(
            absolute("Fri 5 Dec 2027, 09:30 (every Friday)"),
            "Fri 5 Dec 2027 at 09:30 (every Friday)"
        );
        assert_eq!(absolute("Fri 5 Dec"), "Fri 5 Dec");
        let added = after(
            user("add call mom friday 5pm to my family list #home !high"),
            "add_task",
            json!({}),
            json!({"task_id": 4, "status": "created", "title": "Call mom", "due": "Fri 5 Dec, 17:00",
                   "priority": "high", "list": "Family", "tags": ["home"]}),
        );
        assert_eq!(
            said(&added),
            "Added \"Call mom\" to your Family list as task 4, due Fri 5 Dec at 17:00, high priority, tagged #home."
        );
        // Asked for high priority, but the result shows none: the reply says what is true.
        let updated = after(
            user("make task 2 high priority"),
            "update_task",
            json!({"task_id": 2, "priority": "high"}),
            json!({"task_id": 2, "status": "updated", "title": "Buy milk"}),
        );
        assert_eq!(said(&updated), "Task 2 \"Buy milk\" has no priority now.");
        let moved = after(
            user("move task 2 to my shopping list"),
            "update_task",
            json!({"task_id": 2, "list": "Shopping"}),
            json!({"task_id": 2, "status": "updated", "title": "Buy milk", "list": "Shopping"}),
        );
        assert_eq!(
            said(&moved),
            "Task 2 \"Buy milk\" is now on your Shopping list."
        );
        let failed = after(
            user("tag task 2 with errands"),
            "get_task",
            json!({"task_id": 2}),
            json!({"error": "task 2 was not found"}),
        );
        assert_eq!(
            said(&failed),
            "I couldn't change that: task 2 was not found."
        );
    }

    #[test]
    fn a_tag_is_added_to_the_tags_the_task_has() {
        let read = after(
            user("tag task 2 with errands"),
            "get_task",
            json!({"task_id": 2}),
            json!({"id": 2, "title": "Buy milk", "completed": false, "tags": ["shopping"]}),
        );
        assert_eq!(
            called(&read),
            (
                "update_task",
                json!({"task_id": 2, "tags": ["shopping", "errands"]})
            )
        );
        let removed = after(
            user("remove the shopping tag from task 2"),
            "get_task",
            json!({"task_id": 2}),
            json!({"id": 2, "title": "Buy milk", "completed": false, "tags": ["shopping", "errands"]}),
        );
        assert_eq!(
            called(&removed),
            ("update_task", json!({"task_id": 2, "tags": ["errands"]}))
        );
        let already = after(
            user("tag task 2 #shopping"),
            "get_task",
            json!({"task_id": 2}),
            json!({"id": 2, "title": "Buy milk", "completed": false, "tags": ["shopping"]}),
        );
        assert_eq!(
            said(&already),
            "Task 2 \"Buy milk\" is already tagged #shopping."
        );
        let by_name = after(
            user("tag the milk task #errands"),
            "find_task",
            json!({"words": "milk"}),
            json!({"matches": [{"id": 7, "title": "Buy milk", "completed": false, "tags": ["home"]}],
                   "more": false, "closest": []}),
        );
        assert_eq!(
            called(&by_name),
            (
                "update_task",
                json!({"task_id": 7, "tags": ["home", "errands"]})
            )
        );
    }

    #[test]
    fn a_page_with_more_says_how_many_there_are_in_all() {
        let listed = after(
            user("show me all my tasks"),
            "list_tasks",
            json!({"status": "all"}),
            json!({"tasks": [{"id": 1, "title": "Buy milk", "completed": false},
                             {"id": 2, "title": "Call mom", "completed": false}],
                   "next_cursor": "t2", "total": 140}),
        );
        let text = said(&listed);
        assert!(
            text.starts_with("You have 140 tasks in all; here are the first 2:"),
            "{text}"
        );
        assert!(text.contains("138 more not shown"), "{text}");
        // A name many tasks match says there are more than it shows.
        let many: Vec<Value> = (1..=10)
            .map(|id| json!({"id": id, "title": format!("Call {id}"), "completed": false}))
            .collect();
        let found = after(
            user("delete the call task"),
            "find_task",
            json!({"words": "call"}),
            json!({"matches": many, "more": true, "closest": []}),
        );
        let text = said(&found);
        assert!(text.starts_with("Which one do you mean?"), "{text}");
        assert!(
            text.contains("(and more: tell me more of its title)"),
            "{text}"
        );
        assert!(text.contains("- #10 Call 10"), "{text}");
    }

    #[test]
    fn tomorrow_is_picked_from_the_upcoming_view() {
        let today = chrono::Utc::now().date_naive();
        let due = |date: chrono::NaiveDate| {
            json!({"date": date.to_string(), "time": null, "timezone": "UTC", "at": null,
                   "recurrence": null, "text": "Fri 5 Dec"})
        };
        let listed = after(
            user("what do I have tomorrow?"),
            "list_tasks",
            json!({"view": "upcoming"}),
            json!({"tasks": [
                {"id": 1, "title": "Dentist", "completed": false, "due": due(today.succ_opt().unwrap())},
                {"id": 2, "title": "Team lunch", "completed": false, "due": due(today + chrono::Duration::days(3))}
            ], "next_cursor": null, "total": 2}),
        );
        let text = said(&listed);
        assert!(text.starts_with("You have 1 task due tomorrow:"), "{text}");
        assert!(
            text.contains("Dentist") && !text.contains("Team lunch"),
            "{text}"
        );
    }

    #[test]
    fn the_lists_are_named_with_their_counts() {
        let listed = after(
            user("what lists do I have?"),
            "list_lists",
            json!({}),
            json!({"lists": [{"id": 0, "name": "Inbox", "pending": 2, "total": 3},
                             {"id": 4, "name": "Shopping", "pending": 1, "total": 1}]}),
        );
        assert_eq!(
            said(&listed),
            "You have 2 lists:\n- Inbox: 2 pending of 3\n- Shopping: 1 pending of 1"
        );
    }

    #[test]
    fn a_listing_shows_each_tasks_date_priority_list_and_tags() {
        let listed = after(
            user("show tasks tagged errands"),
            "list_tasks",
            json!({"tag": "errands"}),
            json!({"tasks": [{"id": 3, "title": "Buy milk", "completed": false, "priority": "high",
                              "list": "Shopping", "tags": ["errands"],
                              "due": {"date": "2026-12-05", "text": "Sat 5 Dec, 17:00", "recurrence": null}}],
                   "next_cursor": null, "total": 1}),
        );
        assert_eq!(
            said(&listed),
            "You have 1 pending task tagged #errands:\n- #3 Buy milk (due Sat 5 Dec at 17:00, high priority, on Shopping, #errands)"
        );
    }
}
