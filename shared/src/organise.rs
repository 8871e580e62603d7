//! How tasks are organised: priority, lists, tags, and the views, sorts and cursors of a listing.
//! Inputs become these at the edge, as in [`crate::domain`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::ParseError;

/// Most tags on one task.
pub const TAGS_MAX: usize = 10;
/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 32;
/// Longest list name, in characters.
pub const LIST_NAME_MAX_CHARS: usize = 50;
/// Most lists one user may have besides the Inbox (migration V9 enforces it).
pub const LISTS_MAX: usize = 200;
/// The list every user has, which holds every task not on another list.
pub const INBOX: &str = "Inbox";

fn refuse<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// How important a task is; `none` until set.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
}

impl Priority {
    pub const ALL: [Self; 4] = [Self::None, Self::Low, Self::Medium, Self::High];

    /// Exactly one of `none`, `low`, `medium`, `high` (any case).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let lower = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == lower)
            .map_or_else(|| refuse("must be none, low, medium or high"), Ok)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The stored value: 0 (none) to 3 (high), so that higher sorts higher.
    pub fn level(self) -> i16 {
        self as i16
    }

    /// The priority of a stored level; anything out of range reads as none.
    pub fn from_level(level: i16) -> Self {
        Self::ALL
            .get(usize::try_from(level).unwrap_or(0))
            .copied()
            .unwrap_or_default()
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tag: 1–32 characters, stored in lower case, without the `#` people type before it, spaces,
/// commas or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let bare = trimmed.strip_prefix('#').unwrap_or(trimmed);
        if bare.is_empty() {
            return refuse("a tag is empty");
        }
        let chars = bare.chars().count();
        if chars > TAG_MAX_CHARS {
            return refuse(format!(
                "the tag '{}' has {chars} characters; at most {TAG_MAX_CHARS} are allowed",
                crate::domain::clip(bare)
            ));
        }
        if bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '#'))
        {
            return refuse(format!(
                "the tag '{}' contains a space, comma, '#' or control character",
                crate::domain::clip(bare)
            ));
        }
        Ok(Self(bare.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's tags: at most 10 given, each a [`Tag`], duplicates dropped (the first place kept).
pub fn parse_tags<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Tag>, ParseError> {
    if raw.len() > TAGS_MAX {
        return refuse(format!(
            "{} tags given; a task has at most {TAGS_MAX}",
            raw.len()
        ));
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
    for one in raw {
        let tag = Tag::parse(one.as_ref())?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// A list's name: 1–50 characters after trimming, no control characters. Names are matched
/// ignoring case ("work" is the list "Work").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        crate::domain::one_line(raw, LIST_NAME_MAX_CHARS, "list name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this names the Inbox (tasks on no other list).
    pub fn is_inbox(&self) -> bool {
        self.0.to_lowercase() == INBOX.to_lowercase()
    }

    /// The list a task is put on: `None` for the Inbox.
    pub fn non_inbox(self) -> Option<Self> {
        (!self.is_inbox()).then_some(self)
    }
}

/// A list as `GET /api/lists` shows it. The Inbox is id 0.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct ListSummary {
    /// 0 for the Inbox, which cannot be renamed or deleted.
    pub id: i64,
    pub name: String,
    /// Tasks on it not completed yet.
    pub pending: i64,
    /// Every task on it.
    pub total: i64,
}

/// A slice of the task list by due date, in the account's time zone. `Today` includes overdue tasks;
/// `Upcoming` is the seven days after today.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum View {
    #[default]
    All,
    Today,
    Overdue,
    Upcoming,
    NoDate,
}

impl View {
    pub const NAMES: &'static str = "today, overdue, upcoming, no_date or all";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Self::All),
            "today" => Ok(Self::Today),
            "overdue" => Ok(Self::Overdue),
            "upcoming" => Ok(Self::Upcoming),
            "no_date" => Ok(Self::NoDate),
            _ => refuse(format!("must be {}", Self::NAMES)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Today => "today",
            Self::Overdue => "overdue",
            Self::Upcoming => "upcoming",
            Self::NoDate => "no_date",
        }
    }
}

/// What a listing is ordered by; the task number breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Due date and time; tasks without a date last.
    Due,
    /// High first by default.
    Priority,
    /// Creation order: the task number.
    Created,
    /// When the task last changed.
    Updated,
    /// Title, ignoring case.
    Title,
    /// How well the task matches `q` (only with `q`).
    Relevance,
}

impl Sort {
    pub const NAMES: &'static str = "due, priority, created, updated, title or relevance";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "due" => Ok(Self::Due),
            "priority" => Ok(Self::Priority),
            "created" => Ok(Self::Created),
            "updated" => Ok(Self::Updated),
            "title" => Ok(Self::Title),
            "relevance" => Ok(Self::Relevance),
            _ => refuse(format!("must be {}", Self::NAMES)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Priority => "priority",
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Title => "title",
            Self::Relevance => "relevance",
        }
    }

    /// The order a sort runs in when none is asked for: soonest, most important, oldest, most
    /// recently changed, A to Z, best match.
    pub fn default_order(self) -> Order {
        match self {
            Self::Due | Self::Created | Self::Title => Order::Asc,
            Self::Priority | Self::Updated | Self::Relevance => Order::Desc,
        }
    }
}

/// Direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl Order {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => refuse("must be asc or desc"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// The sort key of the last task on a page, as the listing statement read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    /// `due_sort`: the local date and time the task is due (see migration V9).
    Due(chrono::NaiveDateTime),
    /// `updated_at`.
    Updated(chrono::DateTime<chrono::Utc>),
    /// The priority level, 0–3.
    Level(i16),
    /// The title in lower case.
    Title(String),
    /// The search rank, as the bits of the `real` PostgreSQL computed (exact, unlike its text).
    Rank(u32),
}

/// Where the next page of a listing starts: the sort, the last task's key and number, and a
/// fingerprint of the filters, so a cursor only continues the listing it came from. Shown as an
/// opaque URL-safe string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub sort: Sort,
    pub order: Order,
    /// [`filter_fingerprint`] of the listing's filters.
    pub filters: u64,
    /// `None` for the created sort, whose key is the number itself.
    pub key: Option<CursorKey>,
    pub last_id: i64,
}

#[derive(Serialize, Deserialize)]
struct CursorWire {
    s: Sort,
    o: Order,
    f: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<serde_json::Value>,
    i: i64,
}

impl PageCursor {
    /// Reads a cursor this API returned; anything else is refused. The cursors of the first
    /// release (`t<id>`, id order) still continue an id-ordered listing.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        use base64::Engine as _;
        let refused = || ParseError("the cursor is not one this API returned".into());
        if let Some(id) = raw.strip_prefix('t') {
            let id = crate::domain::TaskId::parse(id).map_err(|_| refused())?;
            return Ok(Self {
                sort: Sort::Created,
                order: Order::Asc,
                filters: LEGACY_FILTERS,
                key: None,
                last_id: id.get(),
            });
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| refused())?;
        let wire: CursorWire = serde_json::from_slice(&bytes).map_err(|_| refused())?;
        let filters = u64::from_str_radix(&wire.f, 16).map_err(|_| refused())?;
        let key = match (wire.s, wire.k) {
            (Sort::Created, None) => None,
            (Sort::Created, Some(_)) | (_, None) => return Err(refused()),
            (sort, Some(value)) => Some(Self::key_of(sort, value).ok_or_else(refused)?),
        };
        if wire.i < 0 {
            return Err(refused());
        }
        Ok(Self {
            sort: wire.s,
            order: wire.o,
            filters,
            key,
            last_id: wire.i,
        })
    }

    fn key_of(sort: Sort, value: serde_json::Value) -> Option<CursorKey> {
        use serde_json::from_value;
        Some(match sort {
            Sort::Due => CursorKey::Due(from_value(value).ok()?),
            Sort::Updated => CursorKey::Updated(from_value(value).ok()?),
            Sort::Priority => CursorKey::Level(from_value(value).ok()?),
            Sort::Title => CursorKey::Title(from_value(value).ok()?),
            Sort::Relevance => CursorKey::Rank(from_value(value).ok()?),
            Sort::Created => return None,
        })
    }

    /// Whether this cursor continues a listing with this sort, order and filters.
    pub fn continues(&self, sort: Sort, order: Order, filters: u64) -> bool {
        self.sort == sort
            && self.order == order
            && (self.filters == filters || self.filters == LEGACY_FILTERS)
    }
}

/// The filter fingerprint of a first-release cursor, which said nothing of filters.
const LEGACY_FILTERS: u64 = 0;

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        let wire = CursorWire {
            s: self.sort,
            o: self.order,
            f: format!("{:x}", self.filters),
            k: self
                .key
                .as_ref()
                .map(|k| serde_json::to_value(k).expect("cursor keys serialize")),
            i: self.last_id,
        };
        let json = serde_json::to_vec(&wire).expect("cursors serialize");
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
    }
}

/// A stable fingerprint (FNV-1a, never 0) of the parts of a listing that decide which tasks it
/// holds, for [`PageCursor::continues`].
pub fn filter_fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash.max(1)
}

/// Pending task counts for the sidebar (`GET /api/counts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// Pending tasks due today or earlier.
    pub today: i64,
    /// Pending tasks whose date (or time) has passed.
    pub overdue: i64,
    /// Pending tasks due in the seven days after today.
    pub upcoming: i64,
    /// Pending tasks without a date.
    pub no_date: i64,
    pub pending: i64,
    pub completed: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_in_any_case_and_order_by_importance() {
        assert_eq!(Priority::parse("HIGH").unwrap(), Priority::High);
        assert_eq!(Priority::parse(" none ").unwrap(), Priority::None);
        for bad in ["urgent", "", "3", "hi"] {
            assert!(Priority::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Priority::High > Priority::Medium && Priority::Low > Priority::None);
        for p in Priority::ALL {
            assert_eq!(Priority::from_level(p.level()), p);
        }
        assert_eq!(Priority::from_level(9), Priority::None);
    }

    #[test]
    fn tags_are_lower_case_without_the_hash_and_limited() {
        assert_eq!(Tag::parse("#Errands").unwrap().as_str(), "errands");
        assert_eq!(Tag::parse(" ÉTÉ ").unwrap().as_str(), "été");
        assert!(Tag::parse(&"x".repeat(32)).is_ok());
        for bad in ["", "#", "two words", "a,b", &"x".repeat(33), "a\0b", "##x"] {
            assert!(Tag::parse(bad).is_err(), "{bad:?}");
        }
        let tags = parse_tags(&["Home", "home", "#work"]).unwrap();
        assert_eq!(
            tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            ["home", "work"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(parse_tags(&eleven).unwrap_err().0.contains("11"));
        assert_eq!(parse_tags(&eleven[..10]).unwrap().len(), 10);
    }

    #[test]
    fn list_names_are_trimmed_and_the_inbox_is_recognised_in_any_case() {
        assert_eq!(ListName::parse("  Work ").unwrap().as_str(), "Work");
        assert!(ListName::parse("inbox").unwrap().is_inbox());
        assert_eq!(ListName::parse("INBOX").unwrap().non_inbox(), None);
        assert!(ListName::parse("Shopping").unwrap().non_inbox().is_some());
        assert!(ListName::parse(" ").is_err());
        assert!(ListName::parse(&"l".repeat(51)).is_err());
        assert!(ListName::parse("a\nb").is_err());
    }

    #[test]
    fn views_sorts_and_orders_parse_their_names_only() {
        assert_eq!(View::parse("no_date").unwrap(), View::NoDate);
        assert!(View::parse("tomorrow").is_err());
        assert_eq!(Sort::parse("Due").unwrap(), Sort::Due);
        assert!(Sort::parse("id").is_err());
        assert_eq!(Sort::Priority.default_order(), Order::Desc);
        assert_eq!(Sort::Due.default_order(), Order::Asc);
        assert!(Order::parse("up").is_err());
    }

    #[test]
    fn a_cursor_round_trips_with_each_kind_of_key_and_garbage_is_refused() {
        let keys = [
            (Sort::Created, None),
            (
                Sort::Due,
                Some(CursorKey::Due(
                    chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
                        .unwrap()
                        .and_hms_opt(17, 0, 0)
                        .unwrap(),
                )),
            ),
            (
                Sort::Updated,
                Some(CursorKey::Updated(
                    chrono::DateTime::parse_from_rfc3339("2026-12-03T10:11:12.123456Z")
                        .unwrap()
                        .into(),
                )),
            ),
            (Sort::Priority, Some(CursorKey::Level(3))),
            (Sort::Title, Some(CursorKey::Title("été \"quoted\"".into()))),
            (
                Sort::Relevance,
                Some(CursorKey::Rank(0.0607927_f32.to_bits())),
            ),
        ];
        for (sort, key) in keys {
            let cursor = PageCursor {
                sort,
                order: Order::Desc,
                filters: filter_fingerprint(&["today", "work"]),
                key,
                last_id: 17,
            };
            let text = cursor.to_string();
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(PageCursor::parse(&text).unwrap(), cursor, "{sort:?}");
        }
        let legacy = PageCursor::parse("t42").unwrap();
        assert_eq!((legacy.sort, legacy.last_id), (Sort::Created, 42));
        assert!(legacy.continues(Sort::Created, Order::Asc, filter_fingerprint(&["x"])));
        for bad in ["17", "t", "tx", "t-1", "", "eyJzIjoiZHVlIn0", "%%%"] {
            assert!(PageCursor::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_ne!(
            filter_fingerprint(&["a", "b"]),
            filter_fingerprint(&["ab", ""])
        );
    }
}
