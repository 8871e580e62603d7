//! Domain types. Inputs become these at the edge; the limits live in the types.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::organise::{CursorKey, ListName, Order, PageCursor, Priority, Sort, Tag, View};

/// Longest accepted task title, in characters, after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest accepted task description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
/// Longest accepted user id (the token's `sub`), in characters.
pub const USER_ID_MAX_CHARS: usize = 128;

/// Why a value was refused; the message is written for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// The authenticated user: the verified token's `sub`, never taken from a path, body or model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// Accepts any non-empty string of at most 128 characters without control characters.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return refuse("the user id is empty");
        }
        if raw.chars().count() > USER_ID_MAX_CHARS {
            return refuse(format!(
                "the user id is longer than {USER_ID_MAX_CHARS} characters"
            ));
        }
        if raw.chars().any(char::is_control) {
            return refuse("the user id contains control characters");
        }
        if raw.trim() != raw {
            return refuse("the user id has surrounding white space");
        }
        // Bidirectional and other invisible format characters make ids that look alike.
        if raw.chars().any(is_invisible_format) {
            return refuse("the user id contains invisible formatting characters");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bidi controls, zero-width characters and other invisible format characters (Unicode Cf).
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// A task's id: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(i64);

impl TaskId {
    /// Accepts a positive integer that fits in 64 bits.
    pub fn new(raw: i64) -> Result<Self, ParseError> {
        if raw <= 0 {
            return refuse("a task id is a positive integer");
        }
        Ok(Self(raw))
    }

    /// Parses a path segment such as `42`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return refuse(format!(
                "'{}' is not a task id: a task id is a positive integer",
                clip(raw)
            ));
        }
        match trimmed.parse::<i64>() {
            Ok(id) => Self::new(id),
            Err(_) => refuse("that task id is too large"),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A task title: 1–200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

/// One line of text named `noun` in messages: trimmed, 1 to `max` characters, no control
/// characters.
pub(crate) fn one_line(raw: &str, max: usize, noun: &str) -> Result<String, ParseError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return refuse(format!("the {noun} is empty"));
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return refuse(format!(
            "the {noun} has {chars} characters; at most {max} are allowed"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return refuse(format!(
            "the {noun} contains control characters (such as NUL or a line break)"
        ));
    }
    Ok(trimmed.to_owned())
}

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        one_line(raw, TITLE_MAX_CHARS, "title").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task description: at most 2,000 characters; line breaks and tabs allowed, other control
/// characters (NUL above all, which PostgreSQL cannot store) refused. Blank means "no description".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    /// `Ok(None)` for a blank description, so that clearing one is as easy as sending "".
    pub fn parse(raw: &str) -> Result<Option<Self>, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let chars = trimmed.chars().count();
        if chars > DESCRIPTION_MAX_CHARS {
            return refuse(format!(
                "the description has {chars} characters; at most {DESCRIPTION_MAX_CHARS} are allowed"
            ));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return refuse("the description contains control characters (such as NUL)");
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which tasks a listing shows.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Every task.
    #[default]
    All,
    /// Tasks not completed yet.
    Pending,
    /// Completed tasks.
    Completed,
}

impl StatusFilter {
    /// The `completed` value a row must have, or `None` for every row.
    pub fn completed(self) -> Option<bool> {
        match self {
            Self::All => None,
            Self::Pending => Some(false),
            Self::Completed => Some(true),
        }
    }
}

/// Page size of a listing: 1–100, 50 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(i64);

impl PageLimit {
    pub const DEFAULT: Self = Self(50);
    pub const MAX: i64 = 100;
    pub const MAX_PAGE: Self = Self(Self::MAX);

    pub fn new(raw: i64) -> Result<Self, ParseError> {
        if !(1..=Self::MAX).contains(&raw) {
            return refuse(format!("limit must be between 1 and {}", Self::MAX));
        }
        Ok(Self(raw))
    }

    /// A limit as a query string writes it.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| ParseError("limit must be a whole number".into()))
            .and_then(Self::new)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A task as stored and as every interface shows it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Task {
    /// The task's number among its owner's tasks: 1 for their first, never reused.
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the task is due, in the zone it was dated in; null when it has no date.
    pub due: Option<crate::due::Due>,
    pub priority: Priority,
    /// The name of the list the task is on: `Inbox` unless it was put on another.
    pub list: String,
    /// Lower case, at most 10.
    pub tags: Vec<String>,
}

/// What creating a task needs, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub due: Option<crate::due::Due>,
    pub priority: Priority,
    /// The list to put it on, created when the user has none of that name; `None`: the Inbox.
    pub list: Option<ListName>,
    pub tags: Vec<Tag>,
}

/// A change of a task's due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueChange {
    /// No date any more (and no recurrence).
    Clear,
    /// This due. `keep_rule`: the new due says nothing of recurrence (a phrase such as "friday"
    /// moving one occurrence), so a recurring task keeps its rule; a due that names a rule, or a
    /// structured one with `recurrence: null`, replaces it.
    Set {
        due: crate::due::Due,
        keep_rule: bool,
    },
}

/// A partial change to a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<TaskTitle>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<TaskDescription>>,
    /// Completing a recurring task moves its due to the next occurrence instead.
    pub completed: Option<bool>,
    pub due: Option<DueChange>,
    /// For completing a recurring task: the occurrence (due date) the caller saw. The task moves
    /// only while it is still due then, so a repeated or concurrent completion moves it once.
    pub occurrence: Option<chrono::NaiveDate>,
    pub priority: Option<Priority>,
    /// `Some(None)` moves the task to the Inbox; a new name creates the list.
    pub list: Option<Option<ListName>>,
    /// The whole new set; empty clears.
    pub tags: Option<Vec<Tag>>,
}

impl TaskPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.completed.is_none()
            && self.due.is_none()
            && self.priority.is_none()
            && self.list.is_none()
            && self.tags.is_none()
    }
}

/// What a listing asks for. Every filter narrows; `None` does not filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub status: StatusFilter,
    pub view: View,
    /// Words (or their starts) to find in title or description, ignoring case and accents.
    pub text: Option<String>,
    pub list: Option<ListName>,
    pub tag: Option<Tag>,
    pub priority: Option<Priority>,
    /// Due strictly before this date.
    pub due_before: Option<chrono::NaiveDate>,
    /// Due strictly after this date.
    pub due_after: Option<chrono::NaiveDate>,
    pub sort: Sort,
    pub order: Order,
    pub limit: PageLimit,
    pub after: Option<PageCursor>,
}

/// Longest search text, in characters.
pub const SEARCH_MAX_CHARS: usize = 200;

/// A listing as asked for, before its defaults: what REST and the tools both accept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub status: Option<StatusFilter>,
    pub view: Option<View>,
    pub text: Option<String>,
    pub list: Option<ListName>,
    pub tag: Option<Tag>,
    pub priority: Option<Priority>,
    pub due_before: Option<chrono::NaiveDate>,
    pub due_after: Option<chrono::NaiveDate>,
    pub sort: Option<Sort>,
    pub order: Option<Order>,
    pub limit: Option<PageLimit>,
    pub after: Option<PageCursor>,
}

impl ListRequest {
    /// The listing with its defaults: a dated view shows pending tasks, a search is sorted by
    /// relevance and a dated view by due date, otherwise by number; each sort in its own
    /// direction. Refuses (with the field) a relevance sort without `q`, and a cursor from
    /// another listing.
    pub fn into_query(self) -> Result<TaskQuery, (&'static str, ParseError)> {
        let view = self.view.unwrap_or_default();
        let status = self.status.unwrap_or(match view {
            View::All => StatusFilter::All,
            _ => StatusFilter::Pending,
        });
        let text = self
            .text
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        if text
            .as_deref()
            .is_some_and(|q| q.contains('\0') || q.chars().count() > SEARCH_MAX_CHARS)
        {
            return Err((
                "q",
                ParseError(format!(
                    "must be at most {SEARCH_MAX_CHARS} characters without NUL"
                )),
            ));
        }
        let sort = self.sort.unwrap_or(match (&text, view) {
            (Some(_), _) => Sort::Relevance,
            (None, View::Today | View::Overdue | View::Upcoming) => Sort::Due,
            (None, _) => Sort::Created,
        });
        if sort == Sort::Relevance && text.is_none() {
            return Err((
                "sort",
                ParseError("relevance ranks the matches of q: give q, or another sort".into()),
            ));
        }
        let query = TaskQuery {
            status,
            view,
            text,
            list: self.list,
            tag: self.tag,
            priority: self.priority,
            due_before: self.due_before,
            due_after: self.due_after,
            sort,
            order: self.order.unwrap_or(sort.default_order()),
            limit: self.limit.unwrap_or_default(),
            after: self.after,
        };
        query.check_cursor().map_err(|e| ("cursor", e))?;
        Ok(query)
    }
}

impl TaskQuery {
    /// What decides which tasks the listing holds, for its cursors ([`PageCursor::continues`]).
    pub fn fingerprint(&self) -> u64 {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        crate::organise::filter_fingerprint(&[
            match self.status {
                StatusFilter::All => "all",
                StatusFilter::Pending => "pending",
                StatusFilter::Completed => "completed",
            },
            self.view.as_str(),
            self.text.as_deref().unwrap_or_default(),
            &self
                .list
                .as_ref()
                .map(|l| l.as_str().to_lowercase())
                .unwrap_or_default(),
            self.tag.as_ref().map_or("", |t| t.as_str()),
            self.priority.map_or("", Priority::as_str),
            &date(self.due_before),
            &date(self.due_after),
        ])
    }

    /// Refuses a cursor from another listing (another sort, order or filters), whose key would
    /// not place this one's next page.
    pub fn check_cursor(&self) -> Result<(), ParseError> {
        match &self.after {
            Some(cursor) if !cursor.continues(self.sort, self.order, self.fingerprint()) => refuse(
                "the cursor belongs to a listing with another sort, order or filters; \
                 start again without it",
            ),
            _ => Ok(()),
        }
    }
}

impl Default for TaskQuery {
    fn default() -> Self {
        Self {
            status: StatusFilter::All,
            view: View::All,
            text: None,
            list: None,
            tag: None,
            priority: None,
            due_before: None,
            due_after: None,
            sort: Sort::Created,
            order: Order::Asc,
            limit: PageLimit::DEFAULT,
            after: None,
        }
    }
}

/// One page of tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub next_cursor: Option<PageCursor>,
    /// How many tasks match in all, when it was asked for.
    pub total: Option<i64>,
}

/// A user's time zone: an IANA name such as `Europe/Berlin`, from the tz database compiled into
/// the binary (Lambda has no system zoneinfo). Date words are read in it; `UTC` until set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone(chrono_tz::Tz);

impl Zone {
    pub const UTC: Self = Self(chrono_tz::Tz::UTC);

    /// Accepts an IANA zone name exactly as the tz database spells it (`America/New_York`).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return refuse(
                "the time zone is empty; use an IANA name such as 'Europe/Berlin' or 'UTC'",
            );
        }
        match raw.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(Self(tz)),
            _ => refuse(format!(
                "'{}' is not an IANA time zone such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
                clip(raw)
            )),
        }
    }

    /// Every zone name this build knows, in the tz database's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::UTC
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The signed-in user's settings, as `GET /api/me` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Profile {
    /// The verified token's subject.
    pub user_id: String,
    /// IANA time zone that date words ("today", "friday") are read in; `UTC` until set.
    #[schema(value_type = String, example = "Europe/Berlin")]
    pub timezone: Zone,
}

/// Shortens user input quoted back in an error message.
pub(crate) fn clip(raw: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = raw.chars().take(MAX).filter(|c| !c.is_control()).collect();
    if raw.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").unwrap().as_str(),
            "Buy milk"
        );
    }

    #[test]
    fn an_empty_or_blank_title_is_rejected() {
        assert!(TaskTitle::parse("").is_err());
        assert!(TaskTitle::parse(" \t ").is_err());
    }

    #[test]
    fn a_title_of_200_characters_is_accepted_and_201_rejected() {
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
        let err = TaskTitle::parse(&"é".repeat(201)).unwrap_err();
        assert!(err.0.contains("201"), "{err}");
    }

    #[test]
    fn a_title_with_a_nul_byte_is_rejected() {
        assert!(TaskTitle::parse("buy\0milk").is_err());
    }

    #[test]
    fn a_description_keeps_line_breaks_but_not_nul() {
        assert_eq!(
            TaskDescription::parse("line 1\nline 2")
                .unwrap()
                .unwrap()
                .as_str(),
            "line 1\nline 2"
        );
        assert!(TaskDescription::parse("a\0b").is_err());
    }

    #[test]
    fn a_blank_description_means_none() {
        assert_eq!(TaskDescription::parse("   ").unwrap(), None);
    }

    #[test]
    fn a_description_of_2001_characters_is_rejected() {
        assert!(TaskDescription::parse(&"x".repeat(2000)).is_ok());
        assert!(TaskDescription::parse(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn task_ids_are_positive_integers_that_fit_in_64_bits() {
        assert_eq!(TaskId::parse("42").unwrap().get(), 42);
        for bad in ["0", "-1", "abc", "1.5", "", "99999999999999999999", "4 2"] {
            assert!(TaskId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_user_id_is_non_empty_and_at_most_128_characters() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"u".repeat(128)).is_ok());
        assert!(UserId::parse(&"u".repeat(129)).is_err());
        assert!(UserId::parse("al\0ice").is_err());
    }

    #[test]
    fn a_user_id_with_surrounding_space_or_bidi_characters_is_refused() {
        for (bad, why) in [
            (" alice ", "surrounding spaces"),
            ("alice\t", "a trailing tab"),
            ("\u{202e}alice", "a right-to-left override"),
            ("ali\u{200b}ce", "a zero-width space"),
            ("\u{feff}alice", "a byte-order mark"),
        ] {
            assert!(UserId::parse(bad).is_err(), "{why}");
        }
        assert!(
            UserId::parse("alice smith").is_ok(),
            "inner spaces are fine"
        );
        assert!(UserId::parse("émilie@example.com").is_ok());
    }

    #[test]
    fn a_page_limit_is_between_1_and_100() {
        assert!(PageLimit::new(0).is_err());
        assert!(PageLimit::new(101).is_err());
        assert_eq!(PageLimit::new(100).unwrap().get(), 100);
        assert_eq!(PageLimit::default().get(), 50);
    }

    #[test]
    fn status_filters_map_to_completed_values() {
        assert_eq!(StatusFilter::All.completed(), None);
        assert_eq!(StatusFilter::Pending.completed(), Some(false));
        assert_eq!(StatusFilter::Completed.completed(), Some(true));
    }
}

/// A conversation's id (also its ChatKit thread id): a UUID, shown in its hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub uuid::Uuid);

impl ConversationId {
    /// A new time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// Parses an id a client sent back; anything else is an unknown conversation.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(raw.trim())
            .map(Self)
            .map_err(|_| ParseError(format!("'{}' is not a conversation id", clip(raw))))
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A message's id (also its ChatKit item id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub uuid::Uuid);

impl MessageId {
    /// A new time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(raw.trim())
            .map(Self)
            .map_err(|_| ParseError(format!("'{}' is not a message id", clip(raw))))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A conversation (a ChatKit thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            "tool" => Some(Self::Tool),
            _ => None,
        }
    }
}

/// A turn's id: one per user message, kept across retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TurnId(pub uuid::Uuid);

impl TurnId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// A turn's id as written (a UUID).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        uuid::Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| ParseError("must be a turn's id (a UUID)".into()))
    }
}

impl fmt::Display for TurnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored message, in its conversation's order (`seq`). Assistant messages that only requested
/// tools, and tool results, carry `tool_calls` and are internal: clients see user messages and
/// assistant replies.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub role: Role,
    pub content: String,
    pub tool_calls: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    /// Position in the conversation: 1, 2, 3 … handed out by the conversation row.
    pub seq: i64,
    /// The turn that wrote it (none for messages stored before turns existed).
    pub turn_id: Option<TurnId>,
    /// For a tool result: the model's id of the call it answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// Whether a client (ChatKit, the JSON API) shows this message.
    pub fn is_visible(&self) -> bool {
        match self.role {
            Role::User => true,
            Role::Assistant => self.tool_calls.is_none(),
            Role::Tool => false,
        }
    }
}

/// A message about to be stored; its time and position come from the database.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: MessageId,
    pub role: Role,
    pub content: String,
    pub tool_calls: Option<serde_json::Value>,
    pub turn_id: Option<TurnId>,
    pub tool_call_id: Option<String>,
}

impl NewMessage {
    /// A message of `role` written by `turn`. NUL characters, which PostgreSQL cannot store in
    /// text, are replaced so that whatever a model writes can be kept.
    pub fn new(role: Role, content: impl Into<String>, turn: Option<TurnId>) -> Self {
        Self {
            id: MessageId::generate(),
            role,
            content: storable(content.into()),
            tool_calls: None,
            turn_id: turn,
            tool_call_id: None,
        }
    }
}

/// Text PostgreSQL can store: NUL becomes U+FFFD.
pub fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// Where a turn is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnStatus {
    Running,
    Done,
    Failed,
}

impl TurnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A stored turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub id: TurnId,
    pub conversation_id: ConversationId,
    pub user_message_id: MessageId,
    pub status: TurnStatus,
    /// Bumped by every (re)start; only the current attempt may write.
    pub attempt: i32,
    /// Seconds until the running attempt's lease runs out (0 when it has).
    pub lease_left_secs: f64,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub reply_message_id: Option<MessageId>,
    /// The stored answer of a finished turn.
    pub response: Option<serde_json::Value>,
}

impl Turn {
    /// Running, and its lease has not run out: someone is working on it.
    pub fn is_live(&self) -> bool {
        self.status == TurnStatus::Running && self.lease_left_secs > 0.0
    }
}

/// A client's `Idempotency-Key`: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return refuse(format!(
                "an Idempotency-Key has 1 to {} characters",
                Self::MAX_CHARS
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return refuse("an Idempotency-Key has only visible ASCII characters (no spaces)");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest chat message a user may send, in characters.
pub const CHAT_MESSAGE_MAX_CHARS: usize = 4_000;

/// What a user says in a chat turn: 1–4,000 characters after trimming, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatText(String);

impl ChatText {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return refuse("the message is empty");
        }
        let chars = trimmed.chars().count();
        if chars > CHAT_MESSAGE_MAX_CHARS {
            return refuse(format!(
                "the message has {chars} characters; at most {CHAT_MESSAGE_MAX_CHARS} are allowed"
            ));
        }
        if trimmed.contains('\0') {
            return refuse("the message contains a NUL character");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A conversation title: 1–200 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTitle(String);

impl ConversationTitle {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return refuse("the title is empty");
        }
        if trimmed.chars().count() > TITLE_MAX_CHARS {
            return refuse(format!(
                "the title is longer than {TITLE_MAX_CHARS} characters"
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return refuse("the title contains control characters");
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A title made from the first message: its first line, cut at a word near 60 characters.
    pub fn from_message(text: &ChatText) -> Self {
        const MAX: usize = 60;
        let line: String = text
            .as_str()
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let title = if line.chars().count() <= MAX {
            line
        } else {
            let cut: String = line.chars().take(MAX).collect();
            let cut = cut
                .rsplit_once(' ')
                .map(|(head, _)| head.to_owned())
                .unwrap_or(cut);
            format!("{}…", cut.trim_end())
        };
        Self(if title.trim().is_empty() {
            "New conversation".into()
        } else {
            title
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Direction of a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[cfg(test)]
mod chat_tests {
    use super::*;

    #[test]
    fn a_chat_message_is_1_to_4000_characters() {
        assert!(ChatText::parse("  ").is_err());
        assert!(ChatText::parse(&"x".repeat(4000)).is_ok());
        assert!(ChatText::parse(&"x".repeat(4001)).is_err());
        assert!(ChatText::parse("a\0b").is_err());
    }

    #[test]
    fn a_title_from_a_long_message_is_cut_at_a_word() {
        let text = ChatText::parse(&format!("{} tail", "word ".repeat(20))).unwrap();
        let title = ConversationTitle::from_message(&text);
        assert!(
            title.as_str().chars().count() <= 61 && title.as_str().ends_with('…'),
            "{}",
            title.as_str()
        );
        assert_eq!(
            ConversationTitle::from_message(&ChatText::parse("Buy milk\nand eggs").unwrap())
                .as_str(),
            "Buy milk"
        );
    }

    #[test]
    fn ids_that_are_not_uuids_are_refused() {
        assert!(ConversationId::parse("thr_123").is_err());
        let id = ConversationId::generate();
        assert_eq!(ConversationId::parse(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn an_idempotency_key_is_1_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("0b6c-4f1e_x.y~z").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(128)).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("has space", "a space is not visible"),
            ("tab\there", "control character"),
            ("clé", "not ASCII"),
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{why}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
    }

    #[test]
    fn a_nul_in_model_text_is_replaced_so_it_can_be_stored() {
        let message = NewMessage::new(Role::Assistant, "a\0b", None);
        assert_eq!(message.content, "a\u{FFFD}b");
        assert_eq!(storable("plain".into()), "plain");
    }

    #[test]
    fn internal_messages_are_hidden() {
        let message = |role, tool_calls: Option<serde_json::Value>| Message {
            id: MessageId::generate(),
            role,
            content: String::new(),
            tool_calls,
            created_at: Utc::now(),
            seq: 1,
            turn_id: None,
            tool_call_id: None,
        };
        assert!(message(Role::User, None).is_visible());
        assert!(message(Role::Assistant, None).is_visible());
        assert!(!message(Role::Assistant, Some(serde_json::json!([]))).is_visible());
        assert!(!message(Role::Tool, Some(serde_json::json!({}))).is_visible());
    }
}
