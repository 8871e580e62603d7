//! The offline assistant: a deterministic stand-in for a model, used when no API key is set. It
//! reads the conversation like a model would and answers with tool calls, then with text, so the
//! agent loop, the storage and both chat protocols run exactly as with a real model.

use super::model::{Deltas, ModelError, ModelMessage, ModelReply, ModelRequest, ToolCall};
use serde_json::{Value, json};
use smart_todo_shared::domain::StatusFilter;
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

/// A change to one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Complete,
    Reopen,
    Delete,
    Rename,
}

impl Change {
    fn tool(self) -> Tool {
        match self {
            Self::Complete => Tool::CompleteTask,
            Self::Reopen => Tool::ReopenTask,
            Self::Delete => Tool::DeleteTask,
            Self::Rename => Tool::UpdateTask,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Reopen => "reopen",
            Self::Delete => "delete",
            Self::Rename => "change",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Intent {
    Help,
    Unknown,
    Add(String),
    List(StatusFilter),
    Change {
        change: Change,
        target: Target,
        title: Option<String>,
    },
    /// A bare answer such as "3" or "the second one", to a question the assistant asked.
    Pick(Pick),
    /// A rename without a new title.
    RenameWithoutTitle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Id(i64),
    Nth(usize),
}

const HELP: &str = "I manage your todo list. Try \"Add a task to buy groceries\", \"What's pending?\", \
\"Mark task 3 as complete\", \"Change task 1 to 'Call mom tonight'\" or \"Delete the meeting task\".";

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
        Intent::Unknown | Intent::Pick(_) => {
            Decision::Say(format!("Sorry, I didn't understand that. {HELP}"))
        }
        Intent::RenameWithoutTitle => Decision::Say(
            "What should the new title be? For example: \"Change task 1 to 'Call mom tonight'\"."
                .into(),
        ),
        Intent::Add(title) => match result(Tool::AddTask) {
            Some(value) => Decision::Say(confirm("add", value)),
            // "buy milk tomorrow at 5pm": the trailing date goes to `due`, read by the tool in the
            // user's zone (any zone finds where the phrase starts).
            None => match smart_todo_shared::due::split_phrase(
                &title,
                chrono::Utc::now(),
                smart_todo_shared::domain::Zone::UTC.tz(),
            ) {
                Some((title, due)) => {
                    Decision::Call(Tool::AddTask, json!({ "title": title, "due": due }))
                }
                None => Decision::Call(Tool::AddTask, json!({ "title": title })),
            },
        },
        Intent::List(status) => match result(Tool::ListTasks) {
            Some(value) => Decision::Say(describe_list(value, status)),
            None => Decision::Call(Tool::ListTasks, json!({ "status": status })),
        },
        Intent::Change {
            change,
            target,
            title,
        } => {
            if let Some(value) = result(change.tool()) {
                return Decision::Say(confirm(change.verb(), value));
            }
            let call = |id: i64| {
                let mut arguments = json!({ "task_id": id });
                if let Some(title) = &title {
                    arguments["title"] = json!(title);
                }
                Decision::Call(change.tool(), arguments)
            };
            match target {
                Target::Id(id) => call(id),
                Target::Words(words) => match result(Tool::ListTasks) {
                    None => Decision::Call(Tool::ListTasks, json!({ "status": "all" })),
                    Some(list) => {
                        let tasks = list["tasks"].as_array().cloned().unwrap_or_default();
                        let matches = matching(&tasks, &words);
                        match matches.as_slice() {
                            [] => Decision::Say(format!(
                                "I couldn't find a task matching \"{words}\"."
                            )),
                            [only] => call(only["id"].as_i64().unwrap_or_default()),
                            many => Decision::Say(format!(
                                "{DISAMBIGUATION} Several tasks match \"{words}\":\n{}\nTell me the task number.",
                                many.iter().map(bullet).collect::<Vec<_>>().join("\n")
                            )),
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
        Intent::Change { change, title, .. } => Intent::Change {
            change,
            target: Target::Id(id),
            title,
        },
        _ => intent,
    }
}

fn confirm(verb: &str, value: &Value) -> String {
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return format!("I couldn't {verb} that: {error}.");
    }
    let id = value["task_id"].as_i64().unwrap_or_default();
    let title = value["title"].as_str().unwrap_or_default();
    match value["status"].as_str().unwrap_or_default() {
        "created" => match value["due"].as_str() {
            Some(due) => format!("Added \"{title}\" to your list as task {id}, due {due}."),
            None => format!("Added \"{title}\" to your list as task {id}."),
        },
        "completed" => match value["due"].as_str() {
            Some(due) => format!("Marked task {id} \"{title}\" as complete; it's next due {due}."),
            None => format!("Marked task {id} \"{title}\" as complete."),
        },
        "reopened" => format!("Task {id} \"{title}\" is pending again."),
        "deleted" => format!("Deleted task {id} \"{title}\"."),
        "updated" => format!("Updated task {id}: it's now \"{title}\"."),
        other => format!("Done ({other}): task {id} \"{title}\"."),
    }
}

fn bullet(task: &Value) -> String {
    let done = if task["completed"].as_bool().unwrap_or(false) {
        " (completed)"
    } else {
        ""
    };
    format!(
        "- #{} {}{done}",
        task["id"],
        task["title"].as_str().unwrap_or_default()
    )
}

fn describe_list(value: &Value, status: StatusFilter) -> String {
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return format!("I couldn't read your list: {error}.");
    }
    let tasks = value["tasks"].as_array().cloned().unwrap_or_default();
    let which = match status {
        StatusFilter::All => "",
        StatusFilter::Pending => "pending ",
        StatusFilter::Completed => "completed ",
    };
    if tasks.is_empty() {
        return match status {
            StatusFilter::All => "Your list is empty. Try \"Add a task to buy groceries\".".into(),
            _ => format!("You have no {which}tasks."),
        };
    }
    let noun = if tasks.len() == 1 { "task" } else { "tasks" };
    format!(
        "You have {} {which}{noun}:\n{}",
        tasks.len(),
        tasks.iter().map(bullet).collect::<Vec<_>>().join("\n")
    )
}

/// Words that say nothing about which task is meant.
const FILLER: [&str; 14] = [
    "the", "a", "an", "my", "task", "tasks", "item", "one", "todo", "to-do", "that", "this",
    "about", "called",
];

fn matching(tasks: &[Value], words: &str) -> Vec<Value> {
    let wanted = words.trim().to_lowercase();
    let exact: Vec<Value> = tasks
        .iter()
        .filter(|t| {
            t["title"]
                .as_str()
                .is_some_and(|title| title.to_lowercase() == wanted)
        })
        .cloned()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    let terms: Vec<&str> = wanted
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .collect();
    if terms.is_empty() {
        return vec![];
    }
    tasks
        .iter()
        .filter(|t| {
            let title = t["title"].as_str().unwrap_or_default().to_lowercase();
            terms.iter().all(|term| title.contains(term))
        })
        .cloned()
        .collect()
}

/// Case-insensitive prefix strip that keeps the original casing of the rest.
fn strip_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn strip_any<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| strip_ci(text, p))
}

/// Text inside quotes, if the message quotes something.
fn quoted(text: &str) -> Option<String> {
    for (open, close) in [('"', '"'), ('“', '”'), ('‘', '’')] {
        if let Some(start) = text.find(open) {
            let rest = &text[start + open.len_utf8()..];
            if let Some(end) = rest.rfind(close) {
                let inner = rest[..end].trim();
                if !inner.is_empty() {
                    return Some(inner.to_owned());
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
    (close > open)
        .then(|| text[bytes[open].0 + 1..bytes[close].0].trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn trim_punctuation(text: &str) -> &str {
    text.trim()
        .trim_end_matches(['.', '!', '?', ',', ';'])
        .trim()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "task 3", "#3", "number 3" or "3" → 3.
fn task_number(text: &str) -> Option<i64> {
    let text = trim_punctuation(text);
    let text = strip_any(
        text,
        &[
            "task number ",
            "task #",
            "task no. ",
            "task ",
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
            let text = text
                .strip_suffix(" task")
                .or_else(|| text.strip_suffix(" item"))
                .unwrap_or(text);
            let text = strip_any(text, &["task ", "item "]).unwrap_or(text);
            Target::Words(text.trim().trim_matches(['"', '\'']).to_owned())
        }
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

fn parse(raw: &str) -> Intent {
    let text = trim_punctuation(raw);
    let lower = text.to_ascii_lowercase();
    let lower = lower.as_str();
    let text = strip_any(text, &["please ", "can you ", "could you "]).unwrap_or(text);
    let lower = strip_any(lower, &["please ", "can you ", "could you "]).unwrap_or(lower);

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
    if let Some(pick) = pick(lower) {
        return Intent::Pick(pick);
    }

    if let Some(rest) = strip_any(text, &["change ", "rename ", "update ", "edit ", "modify "]) {
        let rest_lower = rest.to_ascii_lowercase();
        let Some(at) = rest_lower.rfind(" to ") else {
            return Intent::RenameWithoutTitle;
        };
        let title =
            quoted(&rest[at..]).unwrap_or_else(|| trim_punctuation(&rest[at + 4..]).to_owned());
        if title.is_empty() {
            return Intent::RenameWithoutTitle;
        }
        return Intent::Change {
            change: Change::Rename,
            target: target(&rest[..at]),
            title: Some(title),
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
            title: None,
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
            title: None,
        };
    }
    if let Some(rest) = strip_ci(text, "mark ")
        && undone.iter().any(|u| lower.contains(u))
    {
        return Intent::Change {
            change: Change::Reopen,
            target: target(before_any(rest, &[" as "])),
            title: None,
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
            title: None,
        };
    }
    if done_suffixes.iter().any(|s| lower.ends_with(s)) {
        let rest = before_any(text, &done_suffixes);
        return Intent::Change {
            change: Change::Complete,
            target: target(rest),
            title: None,
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
    ];
    if let Some(mut rest) = strip_any(text, &add_leads) {
        if let Some(title) = quoted(rest) {
            return Intent::Add(capitalise(&title));
        }
        // "Add a new task to …", "I need to remember to …": peel leading phrases until none is left.
        let peel = [
            "a new task to ",
            "a new task for ",
            "a new task: ",
            "a new task ",
            "a task to ",
            "a task for ",
            "a task: ",
            "a task ",
            "task to ",
            "task for ",
            "task: ",
            "task ",
            "an item ",
            "a reminder to ",
            "remember to ",
            "to ",
            ": ",
            "- ",
            "called ",
            "named ",
        ];
        while let Some(next) = strip_any(rest.trim_start(), &peel) {
            rest = next;
        }
        let rest = before_any(
            rest,
            &[
                " to my list",
                " to the list",
                " to my todo",
                " to my to-do",
                " to my tasks",
                " on my list",
            ],
        );
        let title = trim_punctuation(rest);
        if title.is_empty() {
            return Intent::Unknown;
        }
        return Intent::Add(capitalise(title));
    }

    let completed_words = ["completed", "finished", "done"];
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
    ];
    let asks_list = [
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
    ]
    .iter()
    .any(|w| lower.contains(w))
        || pending_words.iter().any(|w| lower.contains(w));
    if asks_list {
        let status = if pending_words.iter().any(|w| lower.contains(w)) {
            StatusFilter::Pending
        } else if completed_words.iter().any(|w| lower.contains(w)) {
            StatusFilter::Completed
        } else {
            StatusFilter::All
        };
        return Intent::List(status);
    }
    Intent::Unknown
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
                "list_tasks",
                json!({"status": "all"}),
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

    #[test]
    fn a_task_named_in_words_is_resolved_to_its_id() {
        let tasks = json!({"tasks": [
            {"id": 4, "title": "Team meeting", "completed": false},
            {"id": 7, "title": "Buy groceries", "completed": false}
        ]});
        let turn = after(
            user("Delete the meeting task"),
            "list_tasks",
            json!({}),
            tasks,
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
        let tasks = json!({"tasks": [
            {"id": 2, "title": "Team meeting", "completed": false},
            {"id": 5, "title": "Meeting notes", "completed": false}
        ]});
        let turn = after(
            user("Delete the meeting task"),
            "list_tasks",
            json!({}),
            tasks,
        );
        let question = said(&turn);
        assert!(
            question.starts_with("Which one") && question.contains("#2") && question.contains("#5"),
            "{question}"
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
            "list_tasks",
            json!({}),
            json!({"tasks": []}),
        );
        assert_eq!(said(&turn), "I couldn't find a task matching \"dentist\".");
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
}
