//! The quick-add line: "Buy milk tomorrow 5pm #errands !high ~shopping" read as a title, a due
//! date, a priority, tags and a list, with the chips the UI shows for what was understood. One
//! parser for the web app's quick-add field and the offline chat assistant. Pure: the clock
//! (`now`) and the user's zone are passed in.
//!
//! Rules:
//! - Markers are whole whitespace-separated words anywhere in the line: `#tag`, `!priority`,
//!   `~list` or `~"two words"` (also `~'…'`, `~“…”`, `~‘…’`). Trailing punctuation ("#errands,",
//!   "!high.") is not part of a marker and leaves the title with it.
//! - `#` followed by digits only ("#42") is an issue number and stays in the title; any other
//!   `#word` must be a tag ([`Tag::parse`]), or the line is refused.
//! - `!word` is a priority only in the forms listed on [`QuickAdd::priority`]; "Wow!" and
//!   "!important" stay in the title. `~` alone, or before a digit ("~5 km", "~30 min": about so
//!   much), stays in the title.
//! - The last priority and the last list win; tags accumulate, deduplicated ignoring case.
//! - With the markers out, the trailing date phrase ([`split_phrase`]) is the due date, read by
//!   [`parse_due`]. A line that is only a date and markers has no title and is refused.
//! - Chips: one per value understood (each tag once, the winning priority and list, the due
//!   date), in the order their text starts in the line.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::{ParseError, TaskTitle, clip};
use crate::due::{Due, parse_due, split_phrase};
use crate::organise::{INBOX, ListName, Priority, TAGS_MAX, Tag};

/// Punctuation that may follow a marker without being part of it.
const TRAILING: &[char] = &[
    ',', '.', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '”', '’', '…',
];
const EXAMPLE: &str = "e.g. 'Buy milk tomorrow 5pm #errands !high'";

fn refuse<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// A quick-add line, understood.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QuickAdd {
    /// What is left for the title once the markers and the date phrase are taken out.
    pub title: String,
    /// The date phrase read in the user's zone, or null.
    #[schema(value_type = Option<Object>)]
    pub due: Option<Due>,
    /// From `!high`, `!medium`, `!low`, `!none` (also `!h`/`!m`/`!l`, `!1`=high, `!2`=medium,
    /// `!3`=low, and `!!!`=high, `!!`=medium), or null.
    pub priority: Option<Priority>,
    /// From `#tag` words, lower case, deduplicated, in order.
    pub tags: Vec<String>,
    /// From `~list` (one word) or `~"two words"` / `~'two words'`; as typed (trimmed), or null.
    /// `~inbox` gives "Inbox".
    pub list: Option<String>,
    /// What was understood, in the order it appears in the text, for the UI to show as chips.
    pub chips: Vec<Chip>,
}

/// One thing understood in a quick-add line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Chip {
    pub kind: ChipKind,
    /// The text as typed ("#Errands", "tomorrow 5pm").
    pub text: String,
    /// What it means, for display ("errands", "Fri 4 Dec, 17:00", "high", "Shopping").
    pub label: String,
}

/// What a [`Chip`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChipKind {
    Due,
    Priority,
    Tag,
    List,
}

/// Reads a quick-add line: markers anywhere, then a trailing date phrase in `zone`, the rest is
/// the title. Refusals say what to change.
pub fn parse_quick_add(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<QuickAdd, ParseError> {
    if text.trim().is_empty() {
        return refuse(format!("the line is empty; type a task, {EXAMPLE}"));
    }
    let (words, markers) = scan(text)?;
    let rest = Rest::new(&words);
    let date = split_date(&rest.text, now, zone)?;
    let title = match &date {
        Some(date) => date.title.clone(),
        None => rest.text.clone(),
    };
    let title = check_title(
        &title,
        &rest.text,
        date.is_none(),
        !markers.is_empty(),
        now,
        zone,
    )?;
    let mut chips = markers.chips();
    let due = date.map(|date| {
        chips.push((
            rest.line_offset(date.start),
            Chip {
                kind: ChipKind::Due,
                text: date.phrase,
                label: date.due.text.clone(),
            },
        ));
        date.due
    });
    chips.sort_by_key(|(start, _)| *start);
    Ok(QuickAdd {
        title: title.as_str().to_owned(),
        due,
        priority: markers.priority.as_ref().map(|p| p.value),
        tags: markers
            .tags
            .iter()
            .map(|t| t.value.as_str().to_owned())
            .collect(),
        list: markers.list.map(|l| l.value),
        chips: chips.into_iter().map(|(_, chip)| chip).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Words and markers

/// A word of the line that is not a marker, and its byte offset in the line.
struct Word<'a> {
    text: &'a str,
    start: usize,
}

/// A marker: where it starts in the line, how it was typed (without trailing punctuation) and
/// what it means.
struct Found<T> {
    start: usize,
    text: String,
    value: T,
}

enum Marker {
    Priority(Priority),
    Tag(Tag),
    List(String),
}

/// The markers of a line: the last priority, the last list, each tag once (first spelling).
#[derive(Default)]
struct Markers {
    priority: Option<Found<Priority>>,
    list: Option<Found<String>>,
    tags: Vec<Found<Tag>>,
    /// Every marker word seen, including those overridden or repeated.
    seen: usize,
}

impl Markers {
    fn add(&mut self, start: usize, text: &str, marker: Marker) {
        self.seen += 1;
        let text = text.to_owned();
        match marker {
            Marker::Priority(value) => self.priority = Some(Found { start, text, value }),
            Marker::List(value) => self.list = Some(Found { start, text, value }),
            Marker::Tag(value) => {
                if !self.tags.iter().any(|t| t.value == value) {
                    self.tags.push(Found { start, text, value });
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.seen == 0
    }

    fn check(&self) -> Result<(), ParseError> {
        if self.tags.len() > TAGS_MAX {
            return refuse(format!(
                "the line has {} different tags; a task has at most {TAGS_MAX}",
                self.tags.len()
            ));
        }
        Ok(())
    }

    /// Chips for the tags, priority and list, each with its offset in the line.
    fn chips(&self) -> Vec<(usize, Chip)> {
        let chip = |kind, found_start: usize, text: &str, label: &str| {
            (
                found_start,
                Chip {
                    kind,
                    text: text.to_owned(),
                    label: label.to_owned(),
                },
            )
        };
        let mut chips: Vec<(usize, Chip)> = self
            .tags
            .iter()
            .map(|t| chip(ChipKind::Tag, t.start, &t.text, t.value.as_str()))
            .collect();
        if let Some(p) = &self.priority {
            chips.push(chip(ChipKind::Priority, p.start, &p.text, p.value.as_str()));
        }
        if let Some(l) = &self.list {
            chips.push(chip(ChipKind::List, l.start, &l.text, &l.value));
        }
        chips
    }
}

/// Splits the line into whitespace-separated words, taking the markers out.
fn scan(line: &str) -> Result<(Vec<Word<'_>>, Markers), ParseError> {
    let mut words = Vec::new();
    let mut markers = Markers::default();
    let mut pos = 0;
    while let Some(skip) = line[pos..].find(|c: char| !c.is_whitespace()) {
        let start = pos + skip;
        if let Some((end, typed, name)) = quoted_list(line, start)? {
            markers.add(start, typed, Marker::List(name));
            pos = end;
            continue;
        }
        let end = word_end(line, start);
        let word = &line[start..end];
        match marker(word)? {
            Some((typed, found)) => markers.add(start, typed, found),
            None => words.push(Word { text: word, start }),
        }
        pos = end;
    }
    markers.check()?;
    Ok((words, markers))
}

/// The byte offset where the word starting at `start` ends.
fn word_end(line: &str, start: usize) -> usize {
    line[start..]
        .find(char::is_whitespace)
        .map_or(line.len(), |i| start + i)
}

/// The marker a word is, as typed without trailing punctuation, or `None` for a title word.
fn marker(word: &str) -> Result<Option<(&str, Marker)>, ParseError> {
    if let Some((typed, priority)) = priority_marker(word) {
        return Ok(Some((typed, Marker::Priority(priority))));
    }
    let typed = word.trim_end_matches(TRAILING);
    if let Some(body) = typed.strip_prefix('#') {
        return tag_marker(typed, body).map(|tag| tag.map(|t| (typed, Marker::Tag(t))));
    }
    if let Some(body) = typed.strip_prefix('~') {
        if body.is_empty() || body.starts_with(|c: char| c.is_ascii_digit()) {
            return Ok(None);
        }
        return list_name(typed, body).map(|name| Some((typed, Marker::List(name))));
    }
    Ok(None)
}

/// `!high`, `!h`, `!1`, `!!!` and the like, as typed without trailing punctuation.
fn priority_marker(word: &str) -> Option<(&str, Priority)> {
    let bangs = word.trim_end_matches(|c: char| c != '!' && TRAILING.contains(&c));
    match bangs {
        "!!!" => return Some((bangs, Priority::High)),
        "!!" => return Some((bangs, Priority::Medium)),
        _ => {}
    }
    let typed = word.trim_end_matches(TRAILING);
    let body = typed.strip_prefix('!')?;
    let priority = match body.to_ascii_lowercase().as_str() {
        "high" | "h" | "1" => Priority::High,
        "medium" | "m" | "2" => Priority::Medium,
        "low" | "l" | "3" => Priority::Low,
        "none" => Priority::None,
        _ => return None,
    };
    Some((typed, priority))
}

/// The tag of a `#word`; `None` for an issue number such as "#42".
fn tag_marker(typed: &str, body: &str) -> Result<Option<Tag>, ParseError> {
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Tag::parse(typed).map(Some).map_err(|e| {
        ParseError(format!(
            "'{}' is not a tag: {}; write a tag as one word right after the '#', such as #errands",
            clip(typed),
            e.0
        ))
    })
}

/// The list a `~name` names: as typed, or "Inbox" in its own spelling.
fn list_name(typed: &str, body: &str) -> Result<String, ParseError> {
    let name = ListName::parse(body)
        .map_err(|e| ParseError(format!("'{}' is not a list: {}", clip(typed), e.0)))?;
    Ok(if name.is_inbox() {
        INBOX.to_owned()
    } else {
        name.as_str().to_owned()
    })
}

/// The quotes that close an opening quote after `~`, or `None` when `open` is not one.
fn closing_quotes(open: char) -> Option<&'static [char]> {
    match open {
        '"' | '“' | '”' => Some(&['"', '”']),
        '\'' | '‘' | '’' => Some(&['\'', '’']),
        _ => None,
    }
}

/// A `~"two words"` marker starting at `start`: where it ends (trailing punctuation included),
/// how it was typed and the list name. `None` when the word there is not one.
fn quoted_list(line: &str, start: usize) -> Result<Option<(usize, &str, String)>, ParseError> {
    let mut chars = line[start..].chars();
    if chars.next() != Some('~') {
        return Ok(None);
    }
    let Some(closers) = chars.next().and_then(closing_quotes) else {
        return Ok(None);
    };
    let open_len = line[start + 1..].chars().next().map_or(1, char::len_utf8);
    let body_start = start + 1 + open_len;
    let mut at = body_start;
    while let Some(c) = line[at..].chars().next() {
        let close_end = at + c.len_utf8();
        if !closers.contains(&c) {
            at = close_end;
            continue;
        }
        // A closing quote ends the word, or is followed by punctuation only up to its end.
        let end = line[close_end..]
            .find(|c: char| !TRAILING.contains(&c))
            .map_or(line.len(), |i| close_end + i);
        if line[end..].chars().next().is_none_or(char::is_whitespace) {
            let typed = &line[start..close_end];
            let name = list_name(typed, &line[body_start..at])?;
            return Ok(Some((end, typed, name)));
        }
        // Every quote before `end` is followed by the same letter: none of them closes.
        at = end;
    }
    refuse(format!(
        "the list name in '{}' has no closing quote; write a list of several words as \
         ~\"Big Project\"",
        clip(&line[start..word_end(line, start)])
    ))
}

// ---------------------------------------------------------------------------------------------
// What is left: the title and the date phrase

/// The words that are not markers, joined by single spaces, and where each came from.
struct Rest {
    text: String,
    /// (offset in `text`, offset in the line) of each word, in order.
    starts: Vec<(usize, usize)>,
}

impl Rest {
    fn new(words: &[Word<'_>]) -> Self {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(words.len());
        for word in words {
            if !text.is_empty() {
                text.push(' ');
            }
            starts.push((text.len(), word.start));
            text.push_str(word.text);
        }
        Self { text, starts }
    }

    /// The offset in the line of an offset in `text`.
    fn line_offset(&self, at: usize) -> usize {
        let after = self.starts.partition_point(|&(rest, _)| rest <= at);
        match after.checked_sub(1).and_then(|i| self.starts.get(i)) {
            Some(&(rest, line)) => line + (at - rest),
            None => 0,
        }
    }
}

/// A trailing date phrase and the title before it.
struct Date {
    title: String,
    /// Byte offset of the phrase in the text it was split from.
    start: usize,
    phrase: String,
    due: Due,
}

fn split_date(rest: &str, now: DateTime<Utc>, zone: Tz) -> Result<Option<Date>, ParseError> {
    let Some((title, phrase)) = split_phrase(rest, now, zone) else {
        return Ok(None);
    };
    let due = parse_due(&phrase, now, zone)?;
    let start = rest.rfind(phrase.as_str()).unwrap_or(0);
    Ok(Some(Date {
        title,
        start,
        phrase,
        due,
    }))
}

/// The title left over; refused when nothing is left of it, or when all that is left is a date.
fn check_title(
    title: &str,
    rest: &str,
    no_date: bool,
    had_markers: bool,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<TaskTitle, ParseError> {
    let only_a_date = no_date && !rest.is_empty() && parse_due(rest, now, zone).is_ok();
    if title.trim().is_empty() || only_a_date {
        let taken = match (had_markers, only_a_date) {
            (true, true) => format!("the markers and the date '{}' are", clip(rest)),
            (false, true) => format!("the date '{}' is", clip(rest)),
            _ => "the markers are".to_owned(),
        };
        return refuse(format!(
            "nothing is left for the title once {taken} taken out; type what the task is, \
             {EXAMPLE}"
        ));
    }
    TaskTitle::parse(title)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChipKind::{Due as D, List as L, Priority as P, Tag as T};

    const U: &str = "UTC";
    const BER: &str = "Europe/Berlin";

    /// Thursday 3 December 2026, 12:00 UTC; 13:00 in Berlin. December 2026: Thu 3, Fri 4, Sat 5,
    /// Sun 6, Mon 7, Fri 11.
    fn now() -> DateTime<Utc> {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn quick(line: &str) -> Result<QuickAdd, ParseError> {
        parse_quick_add(line, now(), tz(U))
    }

    /// One line and what it should give: zone, line, title, due ("YYYY-MM-DD", "YYYY-MM-DD HH:MM"
    /// or ""), priority (or ""), tags, list (or ""), chips (kind, text as typed).
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static [(ChipKind, &'static str)],
    );

    const CASES: &[Case] = &[
        // The examples of the brief.
        (
            U,
            "Buy milk tomorrow 5pm #errands !high",
            "Buy milk",
            "2026-12-04 17:00",
            "high",
            &["errands"],
            "",
            &[(D, "tomorrow 5pm"), (T, "#errands"), (P, "!high")],
        ),
        (
            BER,
            "Buy milk tomorrow 5pm #errands !high",
            "Buy milk",
            "2026-12-04 17:00",
            "high",
            &["errands"],
            "",
            &[(D, "tomorrow 5pm"), (T, "#errands"), (P, "!high")],
        ),
        (
            U,
            "Buy milk tomorrow 5pm #errands !high ~shopping",
            "Buy milk",
            "2026-12-04 17:00",
            "high",
            &["errands"],
            "shopping",
            &[
                (D, "tomorrow 5pm"),
                (T, "#errands"),
                (P, "!high"),
                (L, "~shopping"),
            ],
        ),
        (
            U,
            "#work Prepare slides friday ~Office",
            "Prepare slides",
            "2026-12-04",
            "",
            &["work"],
            "Office",
            &[(T, "#work"), (D, "friday"), (L, "~Office")],
        ),
        (
            U,
            "Pay rent every month on the 1st !1",
            "Pay rent",
            "2027-01-01",
            "high",
            &[],
            "",
            &[(D, "every month on the 1st"), (P, "!1")],
        ),
        (
            U,
            "Call #1 customer",
            "Call #1 customer",
            "",
            "",
            &[],
            "",
            &[],
        ),
        (
            U,
            "Wow! Great idea",
            "Wow! Great idea",
            "",
            "",
            &[],
            "",
            &[],
        ),
        (
            U,
            "!important meeting notes",
            "!important meeting notes",
            "",
            "",
            &[],
            "",
            &[],
        ),
        // Markers in the middle, also inside the date phrase.
        (
            U,
            "Prepare talk #work tomorrow !high 5pm",
            "Prepare talk",
            "2026-12-04 17:00",
            "high",
            &["work"],
            "",
            &[(T, "#work"), (D, "tomorrow 5pm"), (P, "!high")],
        ),
        (
            U,
            "Call #family mom ~Personal on friday",
            "Call mom",
            "2026-12-04",
            "",
            &["family"],
            "Personal",
            &[(T, "#family"), (L, "~Personal"), (D, "on friday")],
        ),
        (
            U,
            "Email !m the #Work report",
            "Email the report",
            "",
            "medium",
            &["work"],
            "",
            &[(P, "!m"), (T, "#Work")],
        ),
        // Duplicate tags in different case: the first spelling is the chip.
        (
            U,
            "Plan #Home trip #travel #HOME #home",
            "Plan trip",
            "",
            "",
            &["home", "travel"],
            "",
            &[(T, "#Home"), (T, "#travel")],
        ),
        (
            U,
            "Review PR !2 #dev #Dev #review on monday",
            "Review PR",
            "2026-12-07",
            "medium",
            &["dev", "review"],
            "",
            &[(P, "!2"), (T, "#dev"), (T, "#review"), (D, "on monday")],
        ),
        // Lists of several words.
        (
            U,
            "Kickoff ~\"Big Project\" monday 9am",
            "Kickoff",
            "2026-12-07 09:00",
            "",
            &[],
            "Big Project",
            &[(L, "~\"Big Project\""), (D, "monday 9am")],
        ),
        (
            U,
            "Sort receipts ~'Tax 2026' !low",
            "Sort receipts",
            "",
            "low",
            &[],
            "Tax 2026",
            &[(L, "~'Tax 2026'"), (P, "!low")],
        ),
        (
            U,
            "Read ~“Book Club”, tomorrow",
            "Read",
            "2026-12-04",
            "",
            &[],
            "Book Club",
            &[(L, "~“Book Club”"), (D, "tomorrow")],
        ),
        (
            U,
            "Ask ~\"  Big Project \" about it",
            "Ask about it",
            "",
            "",
            &[],
            "Big Project",
            &[(L, "~\"  Big Project \"")],
        ),
        // Punctuation after markers.
        (
            U,
            "Buy stamps #errands, then post the letter",
            "Buy stamps then post the letter",
            "",
            "",
            &["errands"],
            "",
            &[(T, "#errands")],
        ),
        (
            U,
            "Ship it !high.",
            "Ship it",
            "",
            "high",
            &[],
            "",
            &[(P, "!high")],
        ),
        (
            U,
            "Submit report by friday #work.",
            "Submit report",
            "2026-12-04",
            "",
            &["work"],
            "",
            &[(D, "by friday"), (T, "#work")],
        ),
        (
            U,
            "Pick up #kids! at 3pm",
            "Pick up",
            "2026-12-03 15:00",
            "",
            &["kids"],
            "",
            &[(T, "#kids"), (D, "at 3pm")],
        ),
        (
            U,
            "Say hi ~Friends!",
            "Say hi",
            "",
            "",
            &[],
            "Friends",
            &[(L, "~Friends")],
        ),
        (
            U,
            "Call mom !!!",
            "Call mom",
            "",
            "high",
            &[],
            "",
            &[(P, "!!!")],
        ),
        (
            U,
            "Water plants !!.",
            "Water plants",
            "",
            "medium",
            &[],
            "",
            &[(P, "!!")],
        ),
        // Every priority form; the last one wins.
        (
            U,
            "Read book !h",
            "Read book",
            "",
            "high",
            &[],
            "",
            &[(P, "!h")],
        ),
        (
            U,
            "Read book !l",
            "Read book",
            "",
            "low",
            &[],
            "",
            &[(P, "!l")],
        ),
        (
            U,
            "Read book !3",
            "Read book",
            "",
            "low",
            &[],
            "",
            &[(P, "!3")],
        ),
        (
            U,
            "Read book !HIGH",
            "Read book",
            "",
            "high",
            &[],
            "",
            &[(P, "!HIGH")],
        ),
        (
            U,
            "Read book !Medium",
            "Read book",
            "",
            "medium",
            &[],
            "",
            &[(P, "!Medium")],
        ),
        (
            U,
            "Read book !none",
            "Read book",
            "",
            "none",
            &[],
            "",
            &[(P, "!none")],
        ),
        (
            U,
            "Book flights !low !high",
            "Book flights",
            "",
            "high",
            &[],
            "",
            &[(P, "!high")],
        ),
        (
            U,
            "Shout !!!! loudly !4 !urgent",
            "Shout !!!! loudly !4 !urgent",
            "",
            "",
            &[],
            "",
            &[],
        ),
        // The last list wins; the Inbox in its own spelling; a lone or numeric ~ is text.
        (
            U,
            "Move ~Work task ~Home",
            "Move task",
            "",
            "",
            &[],
            "Home",
            &[(L, "~Home")],
        ),
        (
            U,
            "Clean garage ~inbox",
            "Clean garage",
            "",
            "",
            &[],
            "Inbox",
            &[(L, "~inbox")],
        ),
        (
            U,
            "Clean garage ~INBOX",
            "Clean garage",
            "",
            "",
            &[],
            "Inbox",
            &[(L, "~INBOX")],
        ),
        (U, "Tidy desk ~", "Tidy desk ~", "", "", &[], "", &[]),
        (U, "Run ~5 km", "Run ~5 km", "", "", &[], "", &[]),
        // Issue numbers stay; other hashes inside words are not markers.
        (
            U,
            "Ask about issue #42 tomorrow",
            "Ask about issue #42",
            "2026-12-04",
            "",
            &[],
            "",
            &[(D, "tomorrow")],
        ),
        (
            U,
            "Release v2 #42, #release",
            "Release v2 #42,",
            "",
            "",
            &["release"],
            "",
            &[(T, "#release")],
        ),
        (
            U,
            "C# workshop #dev",
            "C# workshop",
            "",
            "",
            &["dev"],
            "",
            &[(T, "#dev")],
        ),
        // The zone decides the date: 12:30 has passed in Berlin (13:00), not in UTC (12:00).
        (
            U,
            "Lunch with Ana 12:30pm",
            "Lunch with Ana",
            "2026-12-03 12:30",
            "",
            &[],
            "",
            &[(D, "12:30pm")],
        ),
        (
            BER,
            "Lunch with Ana 12:30pm",
            "Lunch with Ana",
            "2026-12-04 12:30",
            "",
            &[],
            "",
            &[(D, "12:30pm")],
        ),
        (
            U,
            "Call back in 2 hours #work",
            "Call back",
            "2026-12-03 14:00",
            "",
            &["work"],
            "",
            &[(D, "in 2 hours"), (T, "#work")],
        ),
        (
            BER,
            "Call back in 2 hours #work",
            "Call back",
            "2026-12-03 15:00",
            "",
            &["work"],
            "",
            &[(D, "in 2 hours"), (T, "#work")],
        ),
        (
            BER,
            "Call Tokyo office tomorrow 8am #work",
            "Call Tokyo office",
            "2026-12-04 08:00",
            "",
            &["work"],
            "",
            &[(D, "tomorrow 8am"), (T, "#work")],
        ),
        // More date phrases.
        (
            U,
            "Dentist dec 24 9:30 ~Health",
            "Dentist",
            "2026-12-24 09:30",
            "",
            &[],
            "Health",
            &[(D, "dec 24 9:30"), (L, "~Health")],
        ),
        (
            U,
            "Renew passport 2027-03-01 #admin",
            "Renew passport",
            "2027-03-01",
            "",
            &["admin"],
            "",
            &[(D, "2027-03-01"), (T, "#admin")],
        ),
        (
            U,
            "Standup every weekday at 9 ~Work !m",
            "Standup",
            "2026-12-04 09:00",
            "medium",
            &[],
            "Work",
            &[(D, "every weekday at 9"), (L, "~Work"), (P, "!m")],
        ),
        (
            U,
            "Plan party next friday #home ~'Family'",
            "Plan party",
            "2026-12-11",
            "",
            &["home"],
            "Family",
            &[(D, "next friday"), (T, "#home"), (L, "~'Family'")],
        ),
        (
            U,
            "Write report tonight",
            "Write report",
            "2026-12-03 20:00",
            "",
            &[],
            "",
            &[(D, "tonight")],
        ),
        (
            U,
            "Call Bob at 5pm !h ~Personal",
            "Call Bob",
            "2026-12-03 17:00",
            "high",
            &[],
            "Personal",
            &[(D, "at 5pm"), (P, "!h"), (L, "~Personal")],
        ),
        // No date: numbers and words that only look like one.
        (
            U,
            "Finish the 3rd chapter #reading",
            "Finish the 3rd chapter",
            "",
            "",
            &["reading"],
            "",
            &[(T, "#reading")],
        ),
        (
            U,
            "Watch 5pm news !l",
            "Watch 5pm news",
            "",
            "low",
            &[],
            "",
            &[(P, "!l")],
        ),
        (
            U,
            "Enjoy the sun #weekend",
            "Enjoy the sun",
            "",
            "",
            &["weekend"],
            "",
            &[(T, "#weekend")],
        ),
        (
            U,
            "Fix bug 25:00 #dev",
            "Fix bug 25:00",
            "",
            "",
            &["dev"],
            "",
            &[(T, "#dev")],
        ),
        // Whitespace, unicode, many tags.
        (
            U,
            "  Buy   milk \t #errands  ",
            "Buy milk",
            "",
            "",
            &["errands"],
            "",
            &[(T, "#errands")],
        ),
        (U, "Buy milk", "Buy milk", "", "", &[], "", &[]),
        (
            U,
            "Acheter du pain #Été ~Maison",
            "Acheter du pain",
            "",
            "",
            &["été"],
            "Maison",
            &[(T, "#Été"), (L, "~Maison")],
        ),
        (
            U,
            "#a #b #c #d #e #f #g #h #i #j Ten tags #A",
            "Ten tags",
            "",
            "",
            &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
            "",
            &[
                (T, "#a"),
                (T, "#b"),
                (T, "#c"),
                (T, "#d"),
                (T, "#e"),
                (T, "#f"),
                (T, "#g"),
                (T, "#h"),
                (T, "#i"),
                (T, "#j"),
            ],
        ),
    ];

    #[test]
    fn the_table_of_lines_reads_as_expected() {
        assert!(CASES.len() >= 40, "{} cases", CASES.len());
        for &(zone, line, title, due, priority, tags, list, chips) in CASES {
            let got = parse_quick_add(line, now(), tz(zone))
                .unwrap_or_else(|e| panic!("{line:?} in {zone}: {e}"));
            let got_due = got.due.as_ref().map_or(String::new(), |d| match d.time {
                Some(t) => format!("{} {}", d.date, t.format("%H:%M")),
                None => d.date.to_string(),
            });
            let got_chips: Vec<(ChipKind, &str)> = got
                .chips
                .iter()
                .map(|c| (c.kind, c.text.as_str()))
                .collect();
            assert_eq!(
                (
                    got.title.as_str(),
                    got_due.as_str(),
                    got.priority.map_or("", Priority::as_str),
                    got.tags.clone(),
                    got.list.as_deref().unwrap_or(""),
                    got_chips,
                ),
                (
                    title,
                    due,
                    priority,
                    tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>(),
                    list,
                    chips.to_vec(),
                ),
                "{line:?} in {zone}"
            );
            if let Some(d) = &got.due {
                assert_eq!(d.timezone, zone, "{line:?}");
            }
        }
    }

    #[test]
    fn chips_label_what_they_mean() {
        let got = quick("Buy milk tomorrow 5pm #Errands !H ~\"Big Shop\"").unwrap();
        let labels: Vec<(ChipKind, &str, &str)> = got
            .chips
            .iter()
            .map(|c| (c.kind, c.text.as_str(), c.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                (D, "tomorrow 5pm", "Fri 4 Dec, 17:00"),
                (T, "#Errands", "errands"),
                (P, "!H", "high"),
                (L, "~\"Big Shop\"", "Big Shop"),
            ]
        );
        let inbox = quick("Sort mail ~Inbox").unwrap();
        assert_eq!(inbox.chips[0].label, "Inbox");
        // An apostrophe inside a quoted name does not close it.
        let got = quick("Wrap gifts ~'Mom's stuff' tonight").unwrap();
        assert_eq!(got.list.as_deref(), Some("Mom's stuff"));
        assert_eq!(got.chips[0].text, "~'Mom's stuff'");
        assert_eq!(got.title, "Wrap gifts");
    }

    #[test]
    fn the_due_date_is_parse_due_of_the_phrase() {
        for zone in [U, BER] {
            let got =
                parse_quick_add("Buy milk #errands tomorrow at 5pm", now(), tz(zone)).unwrap();
            let due = parse_due("tomorrow at 5pm", now(), tz(zone)).unwrap();
            assert_eq!(got.due, Some(due));
        }
        let got = quick("Pay rent every month on the 1st !1").unwrap();
        let rule = got.due.and_then(|d| d.recurrence).map(|r| r.rule);
        assert_eq!(rule.as_deref(), Some("FREQ=MONTHLY;BYMONTHDAY=1"));
    }

    #[test]
    fn json_has_lower_case_kinds_and_priorities() {
        let got = quick("Buy milk tomorrow 5pm #errands !high").unwrap();
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["title"], "Buy milk");
        assert_eq!(json["priority"], "high");
        assert_eq!(json["tags"], serde_json::json!(["errands"]));
        assert_eq!(json["list"], serde_json::Value::Null);
        assert_eq!(json["due"]["date"], "2026-12-04");
        assert_eq!(json["due"]["time"], "17:00");
        assert_eq!(
            json["chips"][0],
            serde_json::json!({"kind": "due", "text": "tomorrow 5pm", "label": "Fri 4 Dec, 17:00"})
        );
        assert_eq!(json["chips"][1]["kind"], "tag");
        assert_eq!(json["chips"][2]["kind"], "priority");
        let plain = serde_json::to_value(quick("Buy milk").unwrap()).unwrap();
        assert_eq!(plain["due"], serde_json::Value::Null);
        assert_eq!(plain["priority"], serde_json::Value::Null);
        assert_eq!(plain["chips"], serde_json::json!([]));
    }

    #[test]
    fn refusals_say_what_to_change() {
        let long_tag = format!("Buy milk #{}", "x".repeat(33));
        let long_list = format!("Buy milk ~{}", "l".repeat(51));
        let eleven = format!(
            "Too many {}",
            (0..11)
                .map(|i| format!("#t{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let long_title = "word ".repeat(41);
        let cases: Vec<(&str, &str)> = vec![
            ("#errands tomorrow", "nothing is left for the title"),
            (
                "#errands tomorrow",
                "once the markers and the date 'tomorrow' are taken out",
            ),
            (
                "#errands !high ~Work",
                "nothing is left for the title once the markers are taken out",
            ),
            ("tomorrow 5pm", "once the date 'tomorrow 5pm' is taken out"),
            ("#home on friday", "nothing is left for the title"),
            ("!high", "nothing is left for the title"),
            ("", "the line is empty"),
            ("   \t ", "the line is empty"),
            (
                "Buy milk #a,b",
                "'#a,b' is not a tag: the tag 'a,b' contains a space, comma, '#' or control character",
            ),
            ("Buy milk # now", "'#' is not a tag: a tag is empty"),
            ("Buy milk #", "'#' is not a tag"),
            ("Buy milk #.", "'#' is not a tag"),
            ("Buy ##milk", "'##milk' is not a tag"),
            (long_tag.as_str(), "has 33 characters; at most 32"),
            (
                eleven.as_str(),
                "the line has 11 different tags; a task has at most 10",
            ),
            ("Read ~\"Big Project", "has no closing quote"),
            ("Read ~\"Big Project\"x later", "has no closing quote"),
            (
                "Read ~\"\" now",
                "'~\"\"' is not a list: the list name is empty",
            ),
            ("Read ~'   ' now", "the list name is empty"),
            (long_list.as_str(), "the list name has 51 characters"),
            (long_title.as_str(), "the title has 204 characters"),
            ("Buy\u{0}milk", "control characters"),
        ];
        for (line, want) in cases {
            let err = quick(line).expect_err(line);
            assert!(err.0.contains(want), "{line:?}: {err}");
        }
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        let vocabulary = [
            "#", "##", "#1", "#x", "#X,", "#a,b", "#é", "#\u{0}", "!", "!!", "!!!", "!!!!", "!h",
            "!high.", "!x", "~", "~\"", "~'", "~“", "~‘", "\"", "'", "”", "~x", "~5", "~~", "~\"a",
            "b\"", "c'", "tomorrow", "5pm", "at", "on", "every", "monday", "the", "1st", "in", "2",
            "hours", "dec", "24", "sun", "é", "İ", "\u{212a}", "\u{3000}", "\u{200b}", "🙂", "👍🏽",
            ",", ".", "-", "\t", "\n", "x", "Buy", "milk",
        ];
        let zones = [tz(U), tz(BER), tz("Pacific/Kiritimati")];
        let mut seed: u64 = 7;
        let mut pick = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vocabulary[(seed >> 33) as usize % vocabulary.len()]
        };
        for round in 0..20_000 {
            let words: Vec<&str> = (0..(round % 9 + 1)).map(|_| pick()).collect();
            let glue = match round % 4 {
                0 => "",
                1 => "\u{3000}",
                _ => " ",
            };
            let line = words.join(glue);
            if let Ok(got) = parse_quick_add(&line, now(), zones[round % zones.len()]) {
                assert!(TaskTitle::parse(&got.title).is_ok(), "{line:?}");
                assert!(got.tags.len() <= TAGS_MAX, "{line:?}");
                assert!(got.tags.iter().all(|t| *t == t.to_lowercase()), "{line:?}");
                assert_eq!(
                    got.chips.iter().filter(|c| c.kind == T).count(),
                    got.tags.len(),
                    "{line:?}"
                );
                for chip in got.chips.iter().filter(|c| c.kind != D) {
                    assert!(line.contains(&chip.text), "{line:?}: {chip:?}");
                }
            }
        }
        // Very long lines.
        let long_lines = [
            "a".repeat(100_000),
            "a ".repeat(50_000),
            "#x ".repeat(20_000),
            "~\"".repeat(20_000),
            "~\"a\" ".repeat(20_000),
            "!!! ".repeat(20_000),
            "tomorrow ".repeat(10_000),
            format!("{}#tag tomorrow 5pm", "é ".repeat(30_000)),
        ];
        for line in &long_lines {
            let _ = quick(line);
        }
        assert!(quick(&format!("Buy milk {}", "!!! ".repeat(10_000))).is_ok());
    }
}
