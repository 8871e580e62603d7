//! The history of every change to a task (migration V10), as the API, the tools and the assistants
//! show it: where a write came from ([`Origin`]), what it did ([`Event`]), and what undo answers.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{TurnId, Zone};
use crate::due::{Due, Recurrence};
use crate::organise::{INBOX, Priority};

/// Where a change came from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The task API, called by anything but the web app.
    Rest,
    /// The web app.
    Ui,
    /// An MCP client.
    Mcp,
    /// The chat assistant.
    Chat,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Ui => "ui",
            Self::Mcp => "mcp",
            Self::Chat => "chat",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Rest, Self::Ui, Self::Mcp, Self::Chat]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Who asked for a write, as history records it: the source, and the chat turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub source: Source,
    pub turn: Option<TurnId>,
}

impl Origin {
    pub const REST: Self = Self::of(Source::Rest);
    pub const UI: Self = Self::of(Source::Ui);
    pub const MCP: Self = Self::of(Source::Mcp);

    pub const fn of(source: Source) -> Self {
        Self { source, turn: None }
    }

    /// A write of the chat assistant in `turn`.
    pub const fn chat(turn: TurnId) -> Self {
        Self {
            source: Source::Chat,
            turn: Some(turn),
        }
    }

    /// The turn as a statement parameter.
    pub fn turn_uuid(&self) -> Option<uuid::Uuid> {
        self.turn.map(|t| t.0)
    }
}

/// What a change did.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Created,
    Updated,
    Completed,
    Reopened,
    Deleted,
    Restored,
    /// Put on another list, and nothing else.
    Moved,
}

impl EventKind {
    pub fn parse(text: &str) -> Option<Self> {
        use EventKind::*;
        [
            Created, Updated, Completed, Reopened, Deleted, Restored, Moved,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Completed => "completed",
            Self::Reopened => "reopened",
            Self::Deleted => "deleted",
            Self::Restored => "restored",
            Self::Moved => "moved",
        }
    }
}

/// One change to one task.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Event {
    /// Increases with every change: the newest event has the highest id.
    pub id: i64,
    /// The number of the task changed.
    pub task_id: i64,
    pub kind: EventKind,
    pub source: Source,
    /// The chat turn that made the change (chat only).
    #[schema(value_type = Option<String>, format = "uuid")]
    #[schemars(with = "Option<String>")]
    pub turn_id: Option<uuid::Uuid>,
    /// The fields the change replaced, as they were: `title`, `description`, `completed`,
    /// `completed_at`, `due`, `priority`, `tags`, `list`, `last_completed_at` (only those it
    /// changed; every one for a delete). Null for a create or a restore.
    #[schema(value_type = Option<Object>)]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub before: Option<Map<String, Value>>,
    /// The fields the change wrote, as `before`; every one for a create or a restore, null for a
    /// delete.
    #[schema(value_type = Option<Object>)]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub after: Option<Map<String, Value>>,
    pub at: DateTime<Utc>,
    /// The event this change reversed, when it was made by undo.
    pub undoes: Option<i64>,
    /// Whether a later undo reversed this change.
    pub undone: bool,
    /// The task's title (after the change, or before a delete).
    pub title: String,
    /// One line such as `Renamed "Buy milk" to "Buy oat milk"`.
    pub summary: String,
}

/// A page of events, newest first.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next (older) page; null on the last.
    pub next_cursor: Option<String>,
}

/// What an undo did.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Undone {
    /// The changes reversed, newest first (each now `undone`).
    pub undone: Vec<Event>,
}

/// An opaque cursor: `kind` and `parts` joined, base64url-encoded, so that only a cursor the
/// server wrote continues a listing.
pub fn write_cursor(kind: &str, parts: &[i64]) -> String {
    use base64::Engine as _;
    let mut text = kind.to_owned();
    for part in parts {
        text.push(':');
        text.push_str(&part.to_string());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Reads a cursor [`write_cursor`] wrote for `kind` with `n` parts.
pub fn read_cursor(raw: &str, kind: &str, n: usize) -> Result<Vec<i64>, crate::domain::ParseError> {
    use base64::Engine as _;
    let bad = || crate::domain::ParseError("must be the next_cursor of a page".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split(':');
    if parts.next() != Some(kind) {
        return Err(bad());
    }
    let parts: Vec<i64> = parts
        .map(|p| p.parse::<i64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

/// The cursor of the page of events after the event `id`.
pub fn events_cursor(id: i64) -> String {
    write_cursor("events", &[id])
}

/// Reads the `cursor` of a page of events: the id of the last event shown.
pub fn parse_cursor(raw: &str) -> Result<i64, crate::domain::ParseError> {
    let id = read_cursor(raw, "events", 1)?[0];
    if id < 1 {
        return Err(crate::domain::ParseError(
            "must be the next_cursor of a page".into(),
        ));
    }
    Ok(id)
}

/// An event's row before it is shown: the stored fields, named as the columns.
pub struct StoredEvent {
    pub id: i64,
    pub task_id: i64,
    pub kind: String,
    pub source: String,
    pub turn_id: Option<uuid::Uuid>,
    pub undoes: Option<i64>,
    pub undone: bool,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: DateTime<Utc>,
    /// The names of the lists `before` and `after` name, when they still exist.
    pub before_list: Option<String>,
    pub after_list: Option<String>,
    /// The task's title now, when it still exists (in the list or in the trash).
    pub title_now: Option<String>,
}

impl StoredEvent {
    /// The event as the API shows it; `None` for a row this build cannot read (a kind or a
    /// source of a newer schema).
    pub fn show(self, now: DateTime<Utc>) -> Option<Event> {
        let kind = EventKind::parse(&self.kind)?;
        let source = Source::parse(&self.source)?;
        let before = self
            .before
            .as_ref()
            .and_then(Value::as_object)
            .map(|f| api_fields(f, self.before_list.as_deref(), now));
        let after = self
            .after
            .as_ref()
            .and_then(Value::as_object)
            .map(|f| api_fields(f, self.after_list.as_deref(), now));
        let title = [after.as_ref(), before.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|f| f.get("title").and_then(Value::as_str))
            .map(str::to_owned)
            .or(self.title_now)
            .unwrap_or_default();
        let summary = summarise(kind, &title, before.as_ref(), after.as_ref(), self.undoes);
        Some(Event {
            id: self.id,
            task_id: self.task_id,
            kind,
            source,
            turn_id: self.turn_id,
            before,
            after,
            at: self.at,
            undoes: self.undoes,
            undone: self.undone,
            title,
            summary,
        })
    }
}

fn instant(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = value?.as_str()?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn text_of<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str)
}

/// The due the stored due columns make, or `None` without a date.
fn due_of(fields: &Map<String, Value>, now: DateTime<Utc>) -> Option<Due> {
    let date = NaiveDate::parse_from_str(text_of(fields, "due_date")?, "%Y-%m-%d").ok()?;
    let time =
        text_of(fields, "due_time").and_then(|t| NaiveTime::parse_from_str(t, "%H:%M:%S%.f").ok());
    let zone = Zone::parse(text_of(fields, "due_tz").unwrap_or("UTC")).unwrap_or_default();
    let recurrence = text_of(fields, "due_rule").and_then(|r| Recurrence::parse(r).ok());
    Some(Due::new(date, time, zone.tz(), recurrence, now))
}

/// Stored fields (named as the columns) as the API names them.
fn api_fields(
    stored: &Map<String, Value>,
    list: Option<&str>,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["title", "description", "completed", "tags"] {
        if let Some(value) = stored.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    for key in ["completed_at", "last_completed_at"] {
        if stored.contains_key(key) {
            let at = instant(stored.get(key));
            out.insert(key.into(), serde_json::to_value(at).unwrap_or(Value::Null));
        }
    }
    if stored.contains_key("due_date") {
        let due = due_of(stored, now);
        out.insert(
            "due".into(),
            serde_json::to_value(due).unwrap_or(Value::Null),
        );
    }
    if let Some(level) = stored.get("priority").and_then(Value::as_i64) {
        let priority = Priority::from_level(i16::try_from(level).unwrap_or(0));
        out.insert("priority".into(), priority.as_str().into());
    }
    if let Some(id) = stored.get("list_id") {
        let name = match (id.is_null(), list) {
            (true, _) => INBOX,
            (false, Some(name)) => name,
            (false, None) => "a deleted list",
        };
        out.insert("list".into(), name.into());
    }
    out
}

fn quoted(text: &str) -> String {
    format!("\u{201c}{text}\u{201d}")
}

/// One line for an event: what it did to which task.
fn summarise(
    kind: EventKind,
    title: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    undoes: Option<i64>,
) -> String {
    let name = quoted(title);
    let empty = Map::new();
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut line = match kind {
        EventKind::Created => format!("Added {name}"),
        EventKind::Deleted => format!("Deleted {name}"),
        EventKind::Restored => format!("Restored {name}"),
        EventKind::Reopened => format!("Reopened {name}"),
        EventKind::Completed => match after.get("due").and_then(|d| d.get("text")) {
            Some(Value::String(next)) if !after.contains_key("completed") => {
                format!("Completed {name}; next due {next}")
            }
            _ => format!("Completed {name}"),
        },
        EventKind::Moved => format!(
            "Moved {name} to {}",
            text_of(after, "list").unwrap_or(INBOX)
        ),
        EventKind::Updated => {
            let mut parts = Vec::new();
            if let (Some(old), Some(new)) = (text_of(before, "title"), text_of(after, "title")) {
                parts.push(format!("renamed {} to {}", quoted(old), quoted(new)));
            }
            if after.contains_key("description") {
                parts.push(match text_of(after, "description") {
                    Some(_) => "changed the description".to_owned(),
                    None => "removed the description".to_owned(),
                });
            }
            if after.contains_key("due") {
                parts.push(match after.get("due").and_then(|d| d.get("text")) {
                    Some(Value::String(text)) => format!("due {text}"),
                    _ => "removed the due date".to_owned(),
                });
            }
            if let Some(priority) = text_of(after, "priority") {
                parts.push(format!("priority {priority}"));
            }
            if let Some(tags) = after.get("tags").and_then(Value::as_array) {
                parts.push(if tags.is_empty() {
                    "removed the tags".to_owned()
                } else {
                    let mut line = "tags".to_owned();
                    for tag in tags.iter().filter_map(Value::as_str) {
                        let _ = write!(line, " #{tag}");
                    }
                    line
                });
            }
            if let Some(list) = text_of(after, "list") {
                parts.push(format!("moved to {list}"));
            }
            if parts.is_empty() {
                format!("Changed {name}")
            } else if text_of(after, "title").is_some() {
                let mut line = parts.join(", ");
                line[..1].make_ascii_uppercase();
                line
            } else {
                format!("Changed {name}: {}", parts.join(", "))
            }
        }
    };
    // The event undone is in `undoes`; its id, one of every user's, is no words for a person.
    if undoes.is_some() {
        line = format!("Undo: {line}");
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(kind: &str, before: Value, after: Value) -> StoredEvent {
        StoredEvent {
            id: 7,
            task_id: 3,
            kind: kind.into(),
            source: "chat".into(),
            turn_id: None,
            undoes: None,
            undone: false,
            before: (!before.is_null()).then_some(before),
            after: (!after.is_null()).then_some(after),
            at: Utc::now(),
            before_list: None,
            after_list: Some("Work".into()),
            title_now: Some("Now".into()),
        }
    }

    #[test]
    fn a_rename_reads_as_one() {
        let event = stored(
            "updated",
            json!({"title": "Buy milk"}),
            json!({"title": "Buy oat milk"}),
        )
        .show(Utc::now())
        .unwrap();
        assert_eq!(
            event.summary,
            "Renamed \u{201c}Buy milk\u{201d} to \u{201c}Buy oat milk\u{201d}"
        );
        assert_eq!(event.title, "Buy oat milk");
        assert_eq!(event.source, Source::Chat);
    }

    #[test]
    fn stored_columns_become_api_fields() {
        let event = stored("moved", json!({"list_id": null}), json!({"list_id": 4}))
            .show(Utc::now())
            .unwrap();
        assert_eq!(event.before.unwrap()["list"], "Inbox");
        assert_eq!(event.after.unwrap()["list"], "Work");
        assert_eq!(event.summary, "Moved \u{201c}Now\u{201d} to Work");

        let fields = json!({"due_date": "2026-12-05", "due_time": "17:00:00", "due_tz": "UTC",
            "due_at": "2026-12-05T17:00:00", "due_rule": null, "priority": 3,
            "completed_at": "2026-12-03T18:09:57.381445"});
        let event = stored("updated", json!({"due_date": null, "priority": 0}), fields)
            .show(Utc::now())
            .unwrap();
        let after = event.after.unwrap();
        assert_eq!(after["due"]["date"], "2026-12-05");
        assert_eq!(after["due"]["time"], "17:00");
        assert_eq!(after["priority"], "high");
        assert_eq!(after["completed_at"], "2026-12-03T18:09:57.381445Z");
        assert_eq!(event.before.unwrap()["due"], Value::Null);
        assert!(
            event.summary.contains("due Sat 5 Dec, 17:00"),
            "{}",
            event.summary
        );
        assert!(event.summary.contains("priority high"), "{}", event.summary);
    }

    #[test]
    fn an_unknown_kind_is_skipped_not_a_failure() {
        assert!(
            stored("archived", Value::Null, Value::Null)
                .show(Utc::now())
                .is_none()
        );
    }
}
