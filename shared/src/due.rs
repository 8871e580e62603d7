//! Due dates: one English natural-language parser shared by REST, the chat tools, the assistants
//! and the UI preview. Pure functions: the clock (`now`) and the user's zone are always passed in.
//!
//! Rules chosen for ambiguous phrases (weeks start on Monday):
//! - A bare weekday ("friday", "on fri") is the next such day strictly after today; "this friday"
//!   is the coming Friday, today included; "next friday" is the Friday of next week.
//! - "next week" is next Monday, "weekend"/"this weekend" the coming Saturday (today on a Sunday),
//!   "next weekend" next week's Saturday, "end of week" the coming Friday (today included),
//!   "next month" the 1st of next month, "next year" 1 January, "end of month/year" its last day.
//! - Parts of the day: morning 09:00, afternoon 15:00, evening 19:00, night and "tonight" 20:00.
//! - A time alone is today if still ahead, else tomorrow. A bare hour needs "at" and is read as
//!   24-hour ("at 9" = 09:00, "at 17" = 17:00), except after tonight/afternoon/evening/night,
//!   where hours 1–11 are p.m. ("tonight at 9" = 21:00).
//! - Slash dates `a/b` are day/month when a > 12, otherwise month/day ("12/24", "3/4" = 4 March).
//! - A date without a year ("dec 24", "the 15th") is the next one on or after today.
//! - "in 2 hours"/"in 30 min" set now + duration rounded to the minute; day units set no time.
//! - A recurrence starts on the first matching date on or after today (after today when its time
//!   has passed). A month day beyond a month's length (31st, 29 Feb) falls on the month's last day.
//! - Local times are DST-safe: a time in a spring-forward gap keeps its wall-clock `time` and gets
//!   the first instant after the gap as `at` (02:30 → 03:00); in an overlap the earlier instant.
//! - In [`split_due`], a lone trailing "sun" or "sat" is a date only after on/by/due/for.

use std::fmt::Write as _;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveTime, TimeZone, Timelike,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::{ParseError, Zone, clip};

/// Longest phrase [`parse_due`] reads, in characters.
pub const PHRASE_MAX_CHARS: usize = 80;
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2999;
const HINT: &str = "try 'tomorrow 5pm', 'next friday', 'in 3 days', 'dec 24', \
                    '2026-12-24 09:30' or 'every monday at 9'";

/// A task's due date, as every interface shows it. Built by [`Due::new`] and the parsers, so that
/// `at` and `text` always agree with `date`, `time` and `timezone`.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Due {
    /// The local date in `timezone`, `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// The local time of day, `HH:MM`; null for an all-day task.
    #[serde(default, with = "hhmm")]
    #[schemars(with = "Option<String>")]
    #[schema(value_type = Option<String>, example = "17:00")]
    pub time: Option<NaiveTime>,
    /// IANA time zone name, such as `Europe/Berlin`.
    pub timezone: String,
    /// The instant (UTC) when `time` is set.
    pub at: Option<DateTime<Utc>>,
    pub recurrence: Option<Recurrence>,
    /// Short rendering such as "Fri 5 Dec, 17:00"; the year is shown when it is not the current one.
    pub text: String,
}

/// How a due date repeats.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
pub struct Recurrence {
    /// RRULE body, such as `FREQ=WEEKLY;BYDAY=MO`.
    pub rule: String,
    /// Rendering such as "every Monday at 09:00".
    pub text: String,
}

impl Recurrence {
    /// Checks an RRULE body (FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH) and writes it canonically.
    pub fn parse(rule: &str) -> Result<Self, ParseError> {
        let rule = Rule::parse(rule)?;
        Ok(rule.recurrence(None))
    }
}

impl Due {
    /// A due date at `date` (and `time`, if any) in `zone`; `now` decides whether `text` shows the
    /// year. A recurrence's rule is written canonically and its text follows `time`.
    pub fn new(
        date: NaiveDate,
        time: Option<NaiveTime>,
        zone: Tz,
        recurrence: Option<Recurrence>,
        now: DateTime<Utc>,
    ) -> Self {
        let time = time
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0));
        let recurrence = recurrence.map(|r| match Rule::parse(&r.rule) {
            Ok(rule) => rule.recurrence(time),
            Err(_) => r,
        });
        let this_year = now.with_timezone(&zone).year();
        Self {
            date,
            time,
            timezone: zone.name().to_owned(),
            at: time.map(|t| local_instant(date, t, zone)),
            recurrence,
            text: render(date, time, this_year),
        }
    }

    /// Builds a due date from structured input: `date` as YYYY-MM-DD, `time` as HH:MM, an IANA
    /// `timezone` (the user's when absent) and an RRULE body.
    pub fn from_parts(
        date: &str,
        time: Option<&str>,
        timezone: Option<&str>,
        rule: Option<&str>,
        user_zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        let date = parse_iso_date(date)?;
        let time = match time.map(str::trim) {
            Some(t) if !t.is_empty() => Some(parse_hhmm(t)?),
            _ => None,
        };
        let zone = match timezone {
            Some(z) => parse_zone(z)?,
            None => user_zone,
        };
        let recurrence = match rule.map(str::trim) {
            Some(r) if !r.is_empty() => Some(Recurrence::parse(r)?),
            _ => None,
        };
        Ok(Self::new(date, time, zone, recurrence, now))
    }

    /// The due date's zone.
    pub fn zone(&self) -> Result<Tz, ParseError> {
        parse_zone(&self.timezone)
    }

    /// For a recurring due date, the next occurrence after `date` that is also after today in the
    /// zone, at the same local time of day. `None` when it does not repeat.
    pub fn next_occurrence(&self, now: DateTime<Utc>) -> Option<Due> {
        let recurrence = self.recurrence.as_ref()?;
        let rule = Rule::parse(&recurrence.rule).ok()?;
        let zone = self.zone().ok()?;
        let today = now.with_timezone(&zone).date_naive();
        let mut date = rule.next_after(self.date)?;
        let mut steps = 0;
        while date <= today {
            date = rule.next_after(date)?;
            steps += 1;
            if steps > 200_000 {
                return None;
            }
        }
        Some(Self::new(
            date,
            self.time,
            zone,
            Some(recurrence.clone()),
            now,
        ))
    }
}

/// An IANA zone name, as the tz database spells it ("Europe/Berlin"): [`Zone::parse`].
pub fn parse_zone(name: &str) -> Result<Tz, ParseError> {
    Zone::parse(name).map(Zone::tz)
}

/// Reads `text` as a whole as a due date phrase.
pub fn parse_due(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<Due, ParseError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ParseError(format!("the due date is empty; {HINT}")));
    }
    let chars = trimmed.chars().count();
    if chars > PHRASE_MAX_CHARS {
        return Err(ParseError(format!(
            "a due date has at most {PHRASE_MAX_CHARS} characters; this one has {chars}"
        )));
    }
    let ctx = Ctx::new(now, zone);
    let tokens = tokenize(trimmed);
    let words: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    match parse_words(&words, &ctx) {
        Ok(parsed) => Ok(parsed.into_due(&ctx)),
        Err(Some(message)) => Err(ParseError(message)),
        Err(None) => Err(ParseError(format!(
            "'{}' is not a date I understand; {HINT}",
            clip(trimmed)
        ))),
    }
}

/// Splits a task sentence into its title and a trailing due date phrase ("Buy milk tomorrow at
/// 5pm" → "Buy milk" + tomorrow 17:00). The longest phrase at the end wins, optionally introduced
/// by on/at/by/due/for. When nothing trailing parses, or nothing would be left of the title, the
/// text comes back unchanged with `None`.
pub fn split_due(text: &str, now: DateTime<Utc>, zone: Tz) -> (String, Option<Due>) {
    match split_at(text, now, zone) {
        Some((title, _, due)) => (title, Some(due)),
        None => (text.to_owned(), None),
    }
}

/// As [`split_due`], but the date phrase as written ("tomorrow at 5pm"): for a caller that hands
/// the phrase on to be read in another zone. `None` when the text has no trailing date.
pub fn split_phrase(text: &str, now: DateTime<Utc>, zone: Tz) -> Option<(String, String)> {
    split_at(text, now, zone).map(|(title, start, _)| (title, text[start..].trim().to_owned()))
}

/// The title, the byte offset where the trailing date phrase starts, and its due.
fn split_at(text: &str, now: DateTime<Utc>, zone: Tz) -> Option<(String, usize, Due)> {
    const MAX_WORDS: usize = 12;
    let tokens = tokenize(text);
    let words: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    let n = words.len();
    if n == 0 {
        return None;
    }
    let ctx = Ctx::new(now, zone);
    if n <= MAX_WORDS && parse_words(&words, &ctx).is_ok() {
        return None;
    }
    for i in n.saturating_sub(MAX_WORDS).max(1)..n {
        let phrase = &words[i..];
        if phrase.len() == 1
            && matches!(phrase[0], "sun" | "sat")
            && !matches!(words[i - 1], "on" | "by" | "due" | "for")
        {
            continue;
        }
        let Ok(parsed) = parse_words(phrase, &ctx) else {
            continue;
        };
        let title = strip_introducers(&text[..tokens[i].start]);
        if title.is_empty() {
            return None;
        }
        return Some((title, tokens[i].start, parsed.into_due(&ctx)));
    }
    None
}

/// The title before a date phrase, without a trailing "on", "at", "by", "due", "for" or dash.
fn strip_introducers(head: &str) -> String {
    let mut title = head;
    loop {
        title = title
            .trim_end()
            .trim_end_matches([',', '-', ':', ';', '–'])
            .trim_end();
        let last_start = title
            .char_indices()
            .rfind(|(_, ch)| ch.is_whitespace())
            .map_or(0, |(i, ch)| i + ch.len_utf8());
        let last = title[last_start..].to_lowercase();
        if matches!(last.as_str(), "on" | "at" | "by" | "due" | "for" | "@") {
            title = &title[..last_start];
        } else {
            return title.to_owned();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Time and calendar helpers

/// The instant of a local date and time: the first instant after a spring-forward gap, the
/// earlier one in a fall-back overlap.
fn local_instant(date: NaiveDate, time: NaiveTime, zone: Tz) -> DateTime<Utc> {
    let wall = date.and_time(time);
    let mut candidate = wall;
    for _ in 0..(48 * 60) {
        match zone.from_local_datetime(&candidate) {
            LocalResult::Single(dt) => return dt.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&wall)
}

fn render(date: NaiveDate, time: Option<NaiveTime>, this_year: i32) -> String {
    let mut text = format!(
        "{} {} {}",
        weekday_short(date.weekday()),
        date.day(),
        MONTH_SHORT[date.month0() as usize]
    );
    if date.year() != this_year {
        let _ = write!(text, " {}", date.year());
    }
    if let Some(time) = time {
        let _ = write!(text, ", {}", time.format("%H:%M"));
    }
    text
}

const MONTH_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_LONG: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday_short(day: Weekday) -> &'static str {
    &weekday_long(day)[..3]
}

fn weekday_long(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A BYMONTHDAY value in a given month: -1 is the last day; days past the end fall on it.
fn month_day_in(year: i32, month: u32, day: i32) -> Option<NaiveDate> {
    let last = days_in_month(year, month);
    let day = if day < 0 {
        last
    } else {
        (day as u32).min(last)
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_signed(Duration::days(days))
        .filter(|d| (MIN_YEAR..=MAX_YEAR).contains(&d.year()))
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn no_such_date(year: i32, month: u32, day: u32) -> String {
    if !(1..=12).contains(&month) {
        return format!("{year}-{month:02}-{day:02} is not a date: there is no month {month}");
    }
    format!(
        "{year}-{month:02}-{day:02} is not a date: {} {year} has {} days",
        MONTH_LONG[month as usize - 1],
        days_in_month(year, month)
    )
}

fn checked_date(year: i32, month: u32, day: u32) -> Result<NaiveDate, String> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(format!(
            "{year} is out of range: years from {MIN_YEAR} to {MAX_YEAR} are understood"
        ));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| no_such_date(year, month, day))
}

/// Whether `day` exists in `month` in some year (29 February does).
fn check_day_in_month(month: u32, day: u32) -> Result<(), String> {
    if day == 0 || day > days_in_month(2000, month) {
        return Err(format!(
            "there is no {} {day}",
            MONTH_LONG[month as usize - 1]
        ));
    }
    Ok(())
}

/// Strict `YYYY-MM-DD`.
fn parse_iso_date(raw: &str) -> Result<NaiveDate, ParseError> {
    let raw = raw.trim();
    let b = raw.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(ParseError(format!(
            "'{}' is not a date; write it as YYYY-MM-DD, e.g. '2026-12-24'",
            clip(raw)
        )));
    }
    let year: i32 = raw[..4].parse().unwrap_or(0);
    let month: u32 = raw[5..7].parse().unwrap_or(0);
    let day: u32 = raw[8..].parse().unwrap_or(0);
    checked_date(year, month, day).map_err(ParseError)
}

/// Strict `HH:MM`, 00:00–23:59.
fn parse_hhmm(raw: &str) -> Result<NaiveTime, ParseError> {
    let b = raw.as_bytes();
    let shaped =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    let time = shaped
        .then(|| {
            let hour: u32 = raw[..2].parse().ok()?;
            let minute: u32 = raw[3..].parse().ok()?;
            NaiveTime::from_hms_opt(hour, minute, 0)
        })
        .flatten();
    time.ok_or_else(|| {
        ParseError(format!(
            "'{}' is not a time; write it as HH:MM between 00:00 and 23:59",
            clip(raw)
        ))
    })
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(time: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => s.serialize_str(&t.format("%H:%M").to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        raw.map(|r| super::parse_hhmm(&r).map_err(|e| D::Error::custom(e.0)))
            .transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// Recurrence rules

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// The supported subset of RFC 5545 RRULE.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    freq: Freq,
    interval: u32,
    /// Weekly only, Monday first.
    by_day: Vec<Weekday>,
    /// Monthly and yearly: 1–31 or -1 (last day).
    month_day: Option<i32>,
    /// Yearly only, with `month_day`.
    month: Option<u32>,
}

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];
const WEEKEND: [Weekday; 2] = [Weekday::Sat, Weekday::Sun];

impl Rule {
    fn new(freq: Freq, interval: u32) -> Self {
        Self {
            freq,
            interval,
            by_day: Vec::new(),
            month_day: None,
            month: None,
        }
    }

    fn with_days(mut self, days: &[Weekday]) -> Self {
        let mut days = days.to_vec();
        days.sort_by_key(|d| d.num_days_from_monday());
        days.dedup();
        self.by_day = days;
        self
    }

    fn parse(raw: &str) -> Result<Self, ParseError> {
        let refuse = |m: String| Err(ParseError(m));
        let mut body = raw.trim();
        if body.len() >= 6 && body[..6].eq_ignore_ascii_case("RRULE:") {
            body = &body[6..];
        }
        let body = body.trim_end_matches(';');
        if body.is_empty() {
            return refuse(
                "the recurrence rule is empty; write an RRULE such as 'FREQ=WEEKLY;BYDAY=MO'"
                    .into(),
            );
        }
        let (mut freq, mut interval, mut by_day, mut month_day, mut month) =
            (None, None, None, None, None);
        for part in body.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                return refuse(format!(
                    "'{}' is not a NAME=VALUE part of a recurrence rule",
                    clip(part)
                ));
            };
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            let seen = match key.as_str() {
                "FREQ" => freq
                    .replace(match value.as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        _ => {
                            return refuse(format!(
                                "FREQ={} is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY",
                                clip(&value)
                            ));
                        }
                    })
                    .is_some(),
                "INTERVAL" => interval
                    .replace(match value.parse::<u32>() {
                        Ok(n)
                            if (1..=999).contains(&n)
                                && value.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            n
                        }
                        _ => {
                            return refuse(format!(
                                "INTERVAL={} is not supported; it is a whole number from 1 to 999",
                                clip(&value)
                            ));
                        }
                    })
                    .is_some(),
                "BYDAY" => {
                    let mut days = Vec::new();
                    for code in value.split(',') {
                        let day = match code.trim() {
                            "MO" => Weekday::Mon,
                            "TU" => Weekday::Tue,
                            "WE" => Weekday::Wed,
                            "TH" => Weekday::Thu,
                            "FR" => Weekday::Fri,
                            "SA" => Weekday::Sat,
                            "SU" => Weekday::Sun,
                            _ => {
                                return refuse(format!(
                                    "BYDAY={} is not supported; list week days such as MO,WE,FR \
                                     (no positions such as 1MO)",
                                    clip(&value)
                                ));
                            }
                        };
                        days.push(day);
                    }
                    by_day.replace(days).is_some()
                }
                "BYMONTHDAY" => month_day
                    .replace(match value.parse::<i32>() {
                        Ok(n) if n == -1 || (1..=31).contains(&n) => n,
                        _ => {
                            return refuse(format!(
                                "BYMONTHDAY={} is not supported; use one day from 1 to 31, or -1 \
                                 for the last day",
                                clip(&value)
                            ));
                        }
                    })
                    .is_some(),
                "BYMONTH" => month
                    .replace(match value.parse::<u32>() {
                        Ok(n) if (1..=12).contains(&n) => n,
                        _ => {
                            return refuse(format!(
                                "BYMONTH={} is not supported; use one month from 1 to 12",
                                clip(&value)
                            ));
                        }
                    })
                    .is_some(),
                _ => {
                    return refuse(format!(
                        "the recurrence rule part '{}' is not supported; a rule may use FREQ, \
                         INTERVAL, BYDAY (weekly), BYMONTHDAY (monthly, yearly) and BYMONTH \
                         (yearly)",
                        clip(&key)
                    ));
                }
            };
            if seen {
                return refuse(format!("the recurrence rule gives {key} twice"));
            }
        }
        let Some(freq) = freq else {
            return refuse("a recurrence rule needs FREQ, e.g. 'FREQ=WEEKLY;BYDAY=MO'".into());
        };
        if by_day.is_some() && freq != Freq::Weekly {
            return refuse("BYDAY is only supported with FREQ=WEEKLY".into());
        }
        if month.is_some() && freq != Freq::Yearly {
            return refuse("BYMONTH is only supported with FREQ=YEARLY".into());
        }
        match (freq, month, month_day) {
            (Freq::Daily | Freq::Weekly, _, Some(_)) => {
                return refuse("BYMONTHDAY is only supported with FREQ=MONTHLY or YEARLY".into());
            }
            (Freq::Yearly, None, Some(_)) | (Freq::Yearly, Some(_), None) => {
                return refuse(
                    "with FREQ=YEARLY give both BYMONTH and BYMONTHDAY, or neither".into(),
                );
            }
            (Freq::Yearly, Some(m), Some(d)) => {
                if d < 1 {
                    return refuse("with FREQ=YEARLY, BYMONTHDAY is a day from 1 to 31".into());
                }
                check_day_in_month(m, d as u32).map_err(ParseError)?;
            }
            _ => {}
        }
        let rule = Self {
            freq,
            interval: interval.unwrap_or(1),
            by_day: Vec::new(),
            month_day,
            month,
        };
        Ok(rule.with_days(&by_day.unwrap_or_default()))
    }

    fn rrule(&self) -> String {
        let freq = match self.freq {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        };
        let mut out = format!("FREQ={freq}");
        if self.interval > 1 {
            let _ = write!(out, ";INTERVAL={}", self.interval);
        }
        if let Some(month) = self.month {
            let _ = write!(out, ";BYMONTH={month}");
        }
        if let Some(day) = self.month_day {
            let _ = write!(out, ";BYMONTHDAY={day}");
        }
        if !self.by_day.is_empty() {
            let codes: Vec<&str> = self.by_day.iter().map(|d| weekday_code(*d)).collect();
            let _ = write!(out, ";BYDAY={}", codes.join(","));
        }
        out
    }

    fn describe(&self, time: Option<NaiveTime>) -> String {
        let n = self.interval;
        let every = |unit: &str| {
            if n == 1 {
                format!("every {unit}")
            } else {
                format!("every {n} {unit}s")
            }
        };
        let mut text = match self.freq {
            Freq::Daily => every("day"),
            Freq::Weekly if self.by_day.is_empty() => every("week"),
            Freq::Weekly if n == 1 && self.by_day == WEEKDAYS => "every weekday".into(),
            Freq::Weekly if n == 1 && self.by_day == WEEKEND => "every weekend".into(),
            Freq::Weekly => {
                let names: Vec<&str> = self.by_day.iter().map(|d| weekday_long(*d)).collect();
                let list = match names.split_last() {
                    Some((last, [])) => (*last).to_owned(),
                    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                    None => String::new(),
                };
                if n == 1 {
                    format!("every {list}")
                } else {
                    format!("every {n} weeks on {list}")
                }
            }
            Freq::Monthly => match self.month_day {
                None => every("month"),
                Some(-1) if n == 1 => "every last day of the month".into(),
                Some(-1) => format!("every {n} months on the last day"),
                Some(d) => format!("{} on the {}", every("month"), ordinal(d as u32)),
            },
            Freq::Yearly => match (self.month, self.month_day) {
                (Some(m), Some(d)) => {
                    format!("{} on {d} {}", every("year"), MONTH_SHORT[m as usize - 1])
                }
                _ => every("year"),
            },
        };
        if let Some(time) = time {
            let _ = write!(text, " at {}", time.format("%H:%M"));
        }
        text
    }

    fn recurrence(&self, time: Option<NaiveTime>) -> Recurrence {
        Recurrence {
            rule: self.rrule(),
            text: self.describe(time),
        }
    }

    /// The first date on or after `start` that the rule produces.
    fn first_on_or_after(&self, start: NaiveDate) -> Option<NaiveDate> {
        match (self.freq, self.month, self.month_day) {
            (Freq::Weekly, _, _) if !self.by_day.is_empty() => (0..7)
                .filter_map(|k| add_days(start, k))
                .find(|d| self.by_day.contains(&d.weekday())),
            (Freq::Monthly, _, Some(day)) => {
                let here = month_day_in(start.year(), start.month(), day)?;
                if here >= start {
                    Some(here)
                } else {
                    let next = start.with_day(1)?.checked_add_months(Months::new(1))?;
                    month_day_in(next.year(), next.month(), day)
                }
            }
            (Freq::Yearly, Some(month), Some(day)) => {
                let here = month_day_in(start.year(), month, day)?;
                if here >= start {
                    Some(here)
                } else {
                    month_day_in(start.year() + 1, month, day)
                }
            }
            _ => Some(start),
        }
    }

    /// The rule's next date strictly after `date` (taken as an occurrence).
    fn next_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        let n = self.interval;
        let next = match (self.freq, self.month, self.month_day) {
            (Freq::Daily, _, _) => add_days(date, i64::from(n))?,
            (Freq::Weekly, _, _) if self.by_day.is_empty() => add_days(date, 7 * i64::from(n))?,
            (Freq::Weekly, _, _) => {
                let week = monday_of(date);
                (1..=(7 * i64::from(n) + 7))
                    .filter_map(|k| add_days(date, k))
                    .find(|d| {
                        let weeks = (monday_of(*d) - week).num_days() / 7;
                        self.by_day.contains(&d.weekday()) && weeks % i64::from(n) == 0
                    })?
            }
            (Freq::Monthly, _, None) => date.checked_add_months(Months::new(n))?,
            (Freq::Monthly, _, Some(day)) => {
                let here = month_day_in(date.year(), date.month(), day)?;
                if here > date {
                    here
                } else {
                    let next = date.with_day(1)?.checked_add_months(Months::new(n))?;
                    month_day_in(next.year(), next.month(), day)?
                }
            }
            (Freq::Yearly, Some(month), Some(day)) => {
                let here = month_day_in(date.year(), month, day)?;
                if here > date {
                    here
                } else {
                    month_day_in(date.year() + n as i32, month, day)?
                }
            }
            (Freq::Yearly, _, _) => date.checked_add_months(Months::new(12 * n))?,
        };
        (next.year() <= MAX_YEAR).then_some(next)
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

struct Token {
    /// Lower-cased, trailing punctuation removed, "a.m." as "am", "5 pm" merged into "5pm".
    text: String,
    /// Byte offset of the token in the original text.
    start: usize,
}

fn tokenize(raw: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut start = None;
    let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
        let mut text = raw[from..to].to_lowercase();
        while text.ends_with(['.', '!', '?', ';']) {
            text.pop();
        }
        let text = text
            .replace("a.m", "am")
            .replace("p.m", "pm")
            .replace('&', "and");
        if text.is_empty() {
            return;
        }
        if matches!(text.as_str(), "am" | "pm")
            && let Some(prev) = tokens.last_mut()
            && prev.text.starts_with(|c: char| c.is_ascii_digit())
            && prev
                .text
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
        {
            prev.text.push_str(&text);
            return;
        }
        let b = text.as_bytes();
        let iso_with_time = b.len() > 11
            && raw.as_bytes()[from..to.min(from + 11)].is_ascii()
            && b[10] == b't'
            && b[4] == b'-'
            && b[7] == b'-'
            && b[..10]
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if iso_with_time {
            tokens.push(Token {
                text: text[..10].to_owned(),
                start: from,
            });
            tokens.push(Token {
                text: text[11..].to_owned(),
                start: from + 11,
            });
            return;
        }
        tokens.push(Token { text, start: from });
    };
    for (i, c) in raw.char_indices() {
        let separator = c.is_whitespace() || c == ',';
        match (separator, start) {
            (true, Some(from)) => {
                push(&mut tokens, from, i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(from) = start {
        push(&mut tokens, from, raw.len());
    }
    tokens
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Ctx {
    now: DateTime<Utc>,
    zone: Tz,
    today: NaiveDate,
    clock: NaiveTime,
}

impl Ctx {
    fn new(now: DateTime<Utc>, zone: Tz) -> Self {
        let local = now.with_timezone(&zone);
        Self {
            now,
            zone,
            today: local.date_naive(),
            clock: local.time(),
        }
    }

    fn day(&self, offset: i64) -> Result<NaiveDate, String> {
        add_days(self.today, offset).ok_or_else(too_far)
    }
}

fn too_far() -> String {
    format!("that date is out of range: years from {MIN_YEAR} to {MAX_YEAR} are understood")
}

/// What a phrase means, before it becomes a [`Due`].
struct Parsed {
    date: NaiveDate,
    time: Option<NaiveTime>,
    rule: Option<Rule>,
}

impl Parsed {
    fn into_due(self, ctx: &Ctx) -> Due {
        let recurrence = self.rule.map(|r| r.recurrence(self.time));
        Due::new(self.date, self.time, ctx.zone, recurrence, ctx.now)
    }
}

/// `Err(message)`: the words are a date or time, but an impossible one. `Ok(None)`: not this.
type Step<T> = Result<Option<T>, String>;

struct Cur<'a> {
    words: &'a [&'a str],
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.i).copied()
    }

    fn peek2(&self) -> Option<&'a str> {
        self.words.get(self.i + 1).copied()
    }

    fn bump(&mut self) {
        self.i += 1;
    }

    fn eat(&mut self, word: &str) -> bool {
        let hit = self.peek() == Some(word);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn eat_any(&mut self, words: &[&str]) -> Option<&'a str> {
        let word = self.peek().filter(|w| words.contains(w))?;
        self.i += 1;
        Some(word)
    }

    /// An optional "of [the] month" after "last day".
    fn eat_of_the_month(&mut self) {
        let save = self.i;
        if self.eat("of") {
            self.eat("the");
            if !self.eat("month") {
                self.i = save;
            }
        }
    }

    fn done(&self) -> bool {
        self.i >= self.words.len()
    }
}

/// `Err(None)`: not understood; `Err(Some(message))`: understood as impossible.
fn parse_words(words: &[&str], ctx: &Ctx) -> Result<Parsed, Option<String>> {
    let mut c = Cur { words, i: 0 };
    while c.peek2().is_some() && c.eat_any(&["on", "by", "due", "for", "before"]).is_some() {}
    if c.peek() == Some("every") && c.peek2().is_none() {
        return Err(Some(
            "'every' needs to say how often, e.g. 'every day', 'every monday', 'every 2 weeks' \
             or 'every month on the 1st'"
                .into(),
        ));
    }
    let start = c.i;
    for parser in [parse_recurring, parse_relative, parse_datetime] {
        c.i = start;
        if let Some(parsed) = parser(&mut c, ctx).map_err(Some)?
            && c.done()
        {
            return Ok(parsed);
        }
    }
    Err(None)
}

#[derive(Clone, Copy)]
struct TimeSpec {
    time: NaiveTime,
    /// Written with am/pm, or noon/midnight: never shifted to the afternoon.
    fixed: bool,
}

impl TimeSpec {
    fn resolve(self, pm: bool) -> NaiveTime {
        let hour = self.time.hour();
        if pm && !self.fixed && (1..=11).contains(&hour) {
            self.time + Duration::hours(12)
        } else {
            self.time
        }
    }
}

/// A part of the day: its time and whether bare hours then mean p.m.
fn part_of_day(word: &str) -> Option<(NaiveTime, bool)> {
    let (hour, pm) = match word {
        "morning" => (9, false),
        "afternoon" => (15, true),
        "evening" => (19, true),
        "night" | "tonight" => (20, true),
        _ => return None,
    };
    Some((NaiveTime::from_hms_opt(hour, 0, 0)?, pm))
}

struct DaySpec {
    date: NaiveDate,
    implied: Option<(NaiveTime, bool)>,
}

impl DaySpec {
    fn on(date: NaiveDate) -> Self {
        Self {
            date,
            implied: None,
        }
    }
}

fn weekday_word(word: &str, plural: bool) -> Option<Weekday> {
    let word = if plural {
        word.strip_suffix('s')
            .filter(|w| w.len() > 3 && !w.ends_with('s'))
            .unwrap_or(word)
    } else {
        word
    };
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn month_word(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// "24", "24th", "1st": the number and whether it had an ordinal suffix.
fn day_number(word: &str) -> Option<(u32, bool)> {
    let (digits, suffix) = match word
        .strip_suffix("st")
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))
        .or_else(|| word.strip_suffix("th"))
    {
        Some(d) => (d, true),
        None => (word, false),
    };
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, suffix))
}

fn year_number(word: &str) -> Option<i32> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
}

/// A count: digits or a number word up to twelve ("a", "an" are one).
fn count_word(word: &str) -> Option<u32> {
    if !word.is_empty() && word.len() <= 6 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    let words = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    match word {
        "a" | "an" => Some(1),
        _ => words.iter().position(|w| *w == word).map(|i| i as u32 + 1),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

fn unit_word(word: &str) -> Option<Unit> {
    Some(match word {
        "min" | "mins" | "minute" | "minutes" | "m" => Unit::Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
        "d" | "day" | "days" => Unit::Day,
        "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
        "mo" | "month" | "months" => Unit::Month,
        "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
        _ => return None,
    })
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Minute => "minutes",
        Unit::Hour => "hours",
        Unit::Day => "days",
        Unit::Week => "weeks",
        Unit::Month => "months",
        Unit::Year => "years",
    }
}

/// "3 days", "a week", "30min", "2h": an amount and its unit. A negative amount is refused.
fn amount(c: &mut Cur<'_>, lead: &str) -> Step<(u32, Unit)> {
    let save = c.i;
    let Some(word) = c.peek() else {
        return Ok(None);
    };
    c.bump();
    if let Some(n) = count_word(word) {
        if let Some(unit) = c.peek().and_then(unit_word) {
            c.bump();
            return Ok(Some((n, unit)));
        }
    } else if let Some(split) = word
        .find(|ch: char| !ch.is_ascii_digit())
        .filter(|&i| i > 0)
    {
        if let (Some(n), Some(unit)) = (count_word(&word[..split]), unit_word(&word[split..])) {
            return Ok(Some((n, unit)));
        }
    } else if let Some(digits) = word.strip_prefix('-').filter(|d| count_word(d).is_some())
        && let Some(unit) = c.peek().and_then(unit_word)
    {
        return Err(format!(
            "'{lead}-{digits} {}' points to the past; say how far ahead, e.g. 'in 3 days'",
            unit_name(unit)
        ));
    }
    c.i = save;
    Ok(None)
}

fn parse_relative(c: &mut Cur<'_>, ctx: &Ctx) -> Step<Parsed> {
    let (n, unit, base_day) = if c.eat("in") {
        if c.eat("half") {
            if (c.eat("an") || c.eat("a")) && c.eat("hour") {
                (30, Unit::Minute, 0)
            } else {
                return Ok(None);
            }
        } else {
            match amount(c, "in ")? {
                Some((n, unit)) => (n, unit, 0),
                None => return Ok(None),
            }
        }
    } else {
        let Some((n, unit)) = amount(c, "")? else {
            return Ok(None);
        };
        if !c.eat("from") {
            return Ok(None);
        }
        match c.eat_any(&["now", "today", "tomorrow"]) {
            Some("tomorrow") if !matches!(unit, Unit::Minute | Unit::Hour) => (n, unit, 1),
            Some("tomorrow") | None => return Ok(None),
            Some(_) => (n, unit, 0),
        }
    };
    let phrase = || format!("'{n} {}' is too far ahead", unit_name(unit));
    let minutes = match unit {
        Unit::Minute => Some(i64::from(n)),
        Unit::Hour => Some(i64::from(n) * 60),
        _ => None,
    };
    if let Some(minutes) = minutes {
        let at = ctx.now + Duration::minutes(minutes);
        let secs = (at.timestamp() + 30).div_euclid(60) * 60;
        let at = DateTime::from_timestamp(secs, 0).ok_or_else(phrase)?;
        let local = at.with_timezone(&ctx.zone);
        if local.year() > MAX_YEAR {
            return Err(phrase());
        }
        return Ok(Some(Parsed {
            date: local.date_naive(),
            time: Some(
                NaiveTime::from_hms_opt(local.hour(), local.minute(), 0).ok_or_else(phrase)?,
            ),
            rule: None,
        }));
    }
    let base = ctx.day(base_day)?;
    let date = match unit {
        Unit::Day => add_days(base, i64::from(n)),
        Unit::Week => add_days(base, 7 * i64::from(n)),
        Unit::Month => base.checked_add_months(Months::new(n)),
        _ => n
            .checked_mul(12)
            .and_then(|n| base.checked_add_months(Months::new(n))),
    }
    .filter(|d| d.year() <= MAX_YEAR)
    .ok_or_else(phrase)?;
    let time = parse_time_part(c)?.map(|t| t.resolve(false));
    Ok(Some(Parsed {
        date,
        time,
        rule: None,
    }))
}

fn parse_datetime(c: &mut Cur<'_>, ctx: &Ctx) -> Step<Parsed> {
    let mut day: Option<DaySpec> = None;
    let mut time: Option<TimeSpec> = None;
    for _ in 0..2 {
        if day.is_none()
            && let Some(d) = parse_day(c, ctx)?
        {
            day = Some(d);
            continue;
        }
        if time.is_none()
            && let Some(t) = parse_time_part(c)?
        {
            time = Some(t);
            continue;
        }
        break;
    }
    Ok(match (day, time) {
        (Some(day), time) => {
            let pm = day.implied.is_some_and(|(_, pm)| pm);
            Some(Parsed {
                date: day.date,
                time: time.map(|t| t.resolve(pm)).or(day.implied.map(|(t, _)| t)),
                rule: None,
            })
        }
        (None, Some(time)) => {
            let time = time.resolve(false);
            let date = if time > ctx.clock {
                ctx.today
            } else {
                ctx.day(1)?
            };
            Some(Parsed {
                date,
                time: Some(time),
                rule: None,
            })
        }
        (None, None) => None,
    })
}

/// "at 5pm", "17:00", "noon", "at 9": a time of day.
fn parse_time_part(c: &mut Cur<'_>) -> Step<TimeSpec> {
    let save = c.i;
    let at = c.eat_any(&["at", "@", "around"]).is_some();
    match c.peek().map(|w| clock(w, at)).transpose()?.flatten() {
        Some(time) => {
            c.bump();
            Ok(Some(time))
        }
        None => {
            c.i = save;
            Ok(None)
        }
    }
}

fn clock(word: &str, after_at: bool) -> Step<TimeSpec> {
    let fixed = |h, m| {
        Ok(Some(TimeSpec {
            time: NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default(),
            fixed: true,
        }))
    };
    match word {
        "noon" | "midday" => return fixed(12, 0),
        "midnight" => return fixed(0, 0),
        _ => {}
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    let split = |s: &'_ str, sep: char| -> Option<(u32, u32)> {
        let (h, m) = s.split_once(sep)?;
        if !(digits(h) && m.len() == 2 && digits(m)) {
            return None;
        }
        Some((h.parse().ok()?, m.parse().ok()?))
    };
    let out_of_range = || {
        format!(
            "'{}' is not a time of day: hours go from 0 to 23 and minutes from 00 to 59",
            clip(word)
        )
    };
    if let Some((body, pm)) = word
        .strip_suffix("am")
        .map(|b| (b, false))
        .or_else(|| word.strip_suffix("pm").map(|b| (b, true)))
    {
        let (hour, minute) = if digits(body) {
            (body.parse().unwrap_or(0), 0)
        } else if let Some(hm) = split(body, ':').or_else(|| split(body, '.')) {
            hm
        } else {
            return Ok(None);
        };
        if !(1..=12).contains(&hour) {
            return Err(format!(
                "'{}' is not a time: with am or pm the hour goes from 1 to 12",
                clip(word)
            ));
        }
        if minute > 59 {
            return Err(out_of_range());
        }
        let hour = hour % 12 + if pm { 12 } else { 0 };
        return fixed(hour, minute);
    }
    let (hour, minute) = if let Some(hm) = split(word, ':') {
        hm
    } else if let Some((h, m)) = word
        .split_once('h')
        .filter(|(h, m)| digits(h) && (m.is_empty() || (m.len() == 2 && digits(m))))
    {
        (h.parse().unwrap_or(0), m.parse().unwrap_or(0))
    } else if after_at && digits(word) {
        (word.parse().unwrap_or(0), 0)
    } else if let Some(hm) = split(word, '.').filter(|_| after_at) {
        hm
    } else {
        return Ok(None);
    };
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => Ok(Some(TimeSpec { time, fixed: false })),
        None => Err(out_of_range()),
    }
}

fn parse_day(c: &mut Cur<'_>, ctx: &Ctx) -> Step<DaySpec> {
    let save = c.i;
    c.eat("on");
    let Some(mut day) = day_core(c, ctx)? else {
        c.i = save;
        return Ok(None);
    };
    if day.implied.is_none() {
        let before = c.i;
        let in_the = c.eat("in") && c.eat("the");
        if !in_the {
            c.i = before;
        }
        match c.peek().filter(|w| *w != "tonight").and_then(part_of_day) {
            Some(implied) => {
                c.bump();
                day.implied = Some(implied);
            }
            None => c.i = before,
        }
    }
    Ok(Some(day))
}

/// Days from `from` to the next `target` weekday, 0 when `from` is one.
fn days_until(from: NaiveDate, target: Weekday) -> i64 {
    i64::from((7 + target.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7)
}

fn day_core(c: &mut Cur<'_>, ctx: &Ctx) -> Step<DaySpec> {
    let today = ctx.today;
    let save = c.i;
    let the = c.eat("the");
    let Some(word) = c.peek() else {
        c.i = save;
        return Ok(None);
    };
    c.bump();
    let next_monday = 7 - i64::from(today.weekday().num_days_from_monday());
    let simple = |offset: i64| -> Step<DaySpec> { Ok(Some(DaySpec::on(ctx.day(offset)?))) };
    if !the {
        match word {
            "today" => return simple(0),
            "tonight" => {
                return Ok(Some(DaySpec {
                    date: today,
                    implied: part_of_day("tonight"),
                }));
            }
            "tomorrow" | "tmr" | "tmrw" | "tomorow" | "tmrow" => return simple(1),
            "yesterday" => return simple(-1),
            "this" => {
                let Some(next) = c.peek() else {
                    c.i = save;
                    return Ok(None);
                };
                c.bump();
                if let Some(implied) = part_of_day(next).filter(|_| next != "tonight") {
                    return Ok(Some(DaySpec {
                        date: today,
                        implied: Some(implied),
                    }));
                }
                if let Some(wd) = weekday_word(next, false) {
                    return simple(days_until(today, wd));
                }
                if next == "weekend" {
                    return simple(weekend_offset(today));
                }
                c.i = save;
                return Ok(None);
            }
            "next" => {
                let Some(next) = c.peek() else {
                    c.i = save;
                    return Ok(None);
                };
                c.bump();
                if let Some(wd) = weekday_word(next, false) {
                    return simple(next_monday + i64::from(wd.num_days_from_monday()));
                }
                match next {
                    "week" => return simple(next_monday),
                    "weekend" => return simple(next_monday + 5),
                    "month" => {
                        let first = today
                            .with_day(1)
                            .and_then(|d| d.checked_add_months(Months::new(1)));
                        return Ok(Some(DaySpec::on(first.ok_or_else(too_far)?)));
                    }
                    "year" => {
                        return Ok(Some(DaySpec::on(checked_date(today.year() + 1, 1, 1)?)));
                    }
                    _ => {}
                }
                c.i = save;
                return Ok(None);
            }
            "eow" => return simple(days_until(today, Weekday::Fri)),
            "eom" => return Ok(Some(DaySpec::on(end_of_month(today)?))),
            "eoy" => return Ok(Some(DaySpec::on(checked_date(today.year(), 12, 31)?))),
            _ => {}
        }
        if let Some(wd) = weekday_word(word, false) {
            let ahead = days_until(today, wd);
            return simple(if ahead == 0 { 7 } else { ahead });
        }
        if let Some(date) = iso_or_slash(word, today)? {
            return Ok(Some(DaySpec::on(date)));
        }
    }
    match word {
        "weekend" => return simple(weekend_offset(today)),
        "day" if c.eat("after") && c.eat("tomorrow") => return simple(2),
        "end" if c.eat("of") => {
            c.eat("the");
            match c.eat_any(&["week", "month", "year"]) {
                Some("week") => return simple(days_until(today, Weekday::Fri)),
                Some("month") => return Ok(Some(DaySpec::on(end_of_month(today)?))),
                Some(_) => return Ok(Some(DaySpec::on(checked_date(today.year(), 12, 31)?))),
                None => {}
            }
        }
        _ => {}
    }
    c.i = if the { save + 1 } else { save };
    if let Some(md) = month_day(c)? {
        let date = match md.year {
            Some(year) => checked_date(year, md.month, md.day)?,
            None => next_month_day(today, md.month, md.day)?,
        };
        return Ok(Some(DaySpec::on(date)));
    }
    // "the 15th", "15th": the next such day of a month.
    if let Some((n, suffix)) = c.peek().and_then(day_number)
        && (suffix || the)
    {
        c.bump();
        if !(1..=31).contains(&n) {
            return Err(format!("no month has a {} day", ordinal(n)));
        }
        let mut first = today.with_day(1).ok_or_else(too_far)?;
        for _ in 0..13 {
            if let Some(date) = first.with_day(n).filter(|d| *d >= today) {
                return Ok(Some(DaySpec::on(date)));
            }
            first = first
                .checked_add_months(Months::new(1))
                .ok_or_else(too_far)?;
        }
    }
    c.i = save;
    Ok(None)
}

fn weekend_offset(today: NaiveDate) -> i64 {
    if today.weekday() == Weekday::Sun {
        0
    } else {
        days_until(today, Weekday::Sat)
    }
}

fn end_of_month(today: NaiveDate) -> Result<NaiveDate, String> {
    checked_date(
        today.year(),
        today.month(),
        days_in_month(today.year(), today.month()),
    )
}

/// The next `month`/`day` on or after `today` (29 February: the next leap year).
fn next_month_day(today: NaiveDate, month: u32, day: u32) -> Result<NaiveDate, String> {
    check_day_in_month(month, day)?;
    (today.year()..today.year() + 9)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .find(|d| *d >= today)
        .filter(|d| d.year() <= MAX_YEAR)
        .ok_or_else(too_far)
}

/// "2026-12-24", "24/12", "12/24/2026".
fn iso_or_slash(word: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    let numbers = |sep: char| -> Option<Vec<u32>> {
        let parts: Vec<&str> = word.split(sep).collect();
        if parts.len() < 2 || parts.len() > 3 {
            return None;
        }
        parts
            .iter()
            .map(|p| {
                (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse().ok())
                    .flatten()
            })
            .collect()
    };
    let lens: Vec<usize> = word.split(['-', '/']).map(str::len).collect();
    if let Some(n) = numbers('-') {
        if n.len() == 3 && lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2 {
            return checked_date(n[0] as i32, n[1], n[2]).map(Some);
        }
        return Ok(None);
    }
    let Some(n) = numbers('/') else {
        return Ok(None);
    };
    if lens[0] > 2 || lens[1] > 2 || (n.len() == 3 && lens[2] != 4 && lens[2] != 2) {
        return Ok(None);
    }
    let (a, b) = (n[0], n[1]);
    let (month, day) = if a > 12 && b <= 12 { (b, a) } else { (a, b) };
    if month == 0 || month > 12 || day == 0 {
        return Err(format!("'{}' is not a date", clip(word)));
    }
    match n.get(2) {
        Some(&y) => {
            let year = if lens[2] == 2 {
                2000 + y as i32
            } else {
                y as i32
            };
            checked_date(year, month, day).map(Some)
        }
        None => next_month_day(today, month, day).map(Some),
    }
}

struct MonthDay {
    month: u32,
    day: u32,
    year: Option<i32>,
}

/// "dec 24", "december 24th 2027", "24 dec", "24th of december".
fn month_day(c: &mut Cur<'_>) -> Step<MonthDay> {
    let save = c.i;
    let found = if let Some(month) = c.peek().and_then(month_word) {
        c.bump();
        c.eat("the");
        c.peek().and_then(day_number).map(|(day, _)| (month, day))
    } else if let Some((day, _)) = c.peek().and_then(day_number) {
        c.bump();
        c.eat("of");
        c.peek().and_then(month_word).map(|month| (month, day))
    } else {
        None
    };
    let Some((month, day)) = found else {
        c.i = save;
        return Ok(None);
    };
    c.bump();
    let year = c.peek().and_then(year_number);
    if year.is_some() {
        c.bump();
    }
    if year.is_none() {
        check_day_in_month(month, day)?;
    }
    Ok(Some(MonthDay { month, day, year }))
}

fn weekday_list(c: &mut Cur<'_>) -> Option<Vec<Weekday>> {
    let first = c.peek().and_then(|w| weekday_word(w, true))?;
    c.bump();
    let mut days = vec![first];
    loop {
        let save = c.i;
        c.eat("and");
        match c.peek().and_then(|w| weekday_word(w, true)) {
            Some(day) => {
                c.bump();
                days.push(day);
            }
            None => {
                c.i = save;
                return Some(days);
            }
        }
    }
}

fn parse_recurring(c: &mut Cur<'_>, ctx: &Ctx) -> Step<Parsed> {
    let rule_and_pod = if c.eat_any(&["every", "each"]).is_some() {
        every_body(c)?
    } else {
        let simple = match c.peek() {
            Some("daily") => Some(Rule::new(Freq::Daily, 1)),
            Some("weekly") => Some(Rule::new(Freq::Weekly, 1)),
            Some("fortnightly" | "biweekly") => Some(Rule::new(Freq::Weekly, 2)),
            Some("monthly") => Some(Rule::new(Freq::Monthly, 1)),
            Some("yearly" | "annually") => Some(Rule::new(Freq::Yearly, 1)),
            _ => None,
        };
        match simple {
            Some(rule) => {
                c.bump();
                Some((modifiers(c, rule)?, None))
            }
            None => None,
        }
    };
    let Some((rule, mut pod)) = rule_and_pod else {
        return Ok(None);
    };
    if pod.is_none()
        && let Some(implied) = c.peek().and_then(part_of_day)
    {
        c.bump();
        pod = Some(implied);
    }
    let pm = pod.is_some_and(|(_, pm)| pm);
    let time = parse_time_part(c)?
        .map(|t| t.resolve(pm))
        .or(pod.map(|(t, _)| t));
    let start = match time {
        Some(t) if t <= ctx.clock => ctx.day(1)?,
        _ => ctx.today,
    };
    let date = rule.first_on_or_after(start).ok_or_else(too_far)?;
    Ok(Some(Parsed {
        date,
        time,
        rule: Some(rule),
    }))
}

/// After "every": how often.
fn every_body(c: &mut Cur<'_>) -> Step<(Rule, Option<(NaiveTime, bool)>)> {
    let save = c.i;
    if c.eat("last") {
        if !c.eat("day") {
            c.i = save;
            return Ok(None);
        }
        c.eat_of_the_month();
        let mut rule = Rule::new(Freq::Monthly, 1);
        rule.month_day = Some(-1);
        return Ok(Some((rule, None)));
    }
    if let Some(md) = month_day(c)? {
        if md.year.is_some() {
            c.i = save;
            return Ok(None);
        }
        let mut rule = Rule::new(Freq::Yearly, 1);
        rule.month = Some(md.month);
        rule.month_day = Some(md.day as i32);
        return Ok(Some((rule, None)));
    }
    let the = c.eat("the");
    if let Some((n, true)) = c.peek().and_then(day_number) {
        c.bump();
        if let Some(unit) = c.peek().and_then(unit_word).filter(|_| !the) {
            c.bump();
            return interval_rule(
                c,
                n,
                unit,
                &format!("every {} {}", ordinal(n), unit_name(unit)),
            );
        }
        if !(1..=31).contains(&n) {
            return Err(format!("no month has a {} day", ordinal(n)));
        }
        let mut rule = Rule::new(Freq::Monthly, 1);
        rule.month_day = Some(n as i32);
        return Ok(Some((rule, None)));
    }
    if the {
        c.i = save;
        return Ok(None);
    }
    let Some(word) = c.peek() else {
        return Ok(None);
    };
    if word == "other" {
        c.bump();
        if let Some(days) = weekday_list(c) {
            return Ok(Some((Rule::new(Freq::Weekly, 2).with_days(&days), None)));
        }
        let Some(unit) = c.peek().and_then(unit_word) else {
            c.i = save;
            return Ok(None);
        };
        c.bump();
        return interval_rule(c, 2, unit, "every other");
    }
    if let Some(digits) = word.strip_prefix('-').filter(|d| count_word(d).is_some())
        && let Some(unit) = c.peek2().and_then(unit_word)
    {
        return Err(format!(
            "'every -{digits} {}' does not repeat; the interval is at least 1",
            unit_name(unit)
        ));
    }
    if let Some(n) = count_word(word).filter(|_| !matches!(word, "a" | "an"))
        && let Some(unit) = c.peek2().and_then(unit_word)
    {
        c.bump();
        c.bump();
        if n == 0 {
            return Err(format!(
                "'every 0 {}' never repeats; the interval is at least 1, e.g. 'every 2 {}'",
                unit_name(unit),
                unit_name(unit)
            ));
        }
        return interval_rule(c, n, unit, &format!("every {n} {}", unit_name(unit)));
    }
    if let Some(days) = weekday_list(c) {
        return Ok(Some((Rule::new(Freq::Weekly, 1).with_days(&days), None)));
    }
    c.bump();
    let rule = match word {
        "weekday" | "weekdays" | "workday" | "workdays" => {
            Rule::new(Freq::Weekly, 1).with_days(&WEEKDAYS)
        }
        "weekend" | "weekends" => Rule::new(Freq::Weekly, 1).with_days(&WEEKEND),
        _ => {
            if let Some(pod) = part_of_day(word).filter(|_| word != "tonight") {
                return Ok(Some((Rule::new(Freq::Daily, 1), Some(pod))));
            }
            match unit_word(word) {
                Some(unit) => return interval_rule(c, 1, unit, &format!("every {word}")),
                None => {
                    c.i = save;
                    return Ok(None);
                }
            }
        }
    };
    Ok(Some((rule, None)))
}

fn interval_rule(
    c: &mut Cur<'_>,
    n: u32,
    unit: Unit,
    phrase: &str,
) -> Step<(Rule, Option<(NaiveTime, bool)>)> {
    if n > 999 {
        return Err(format!(
            "'{phrase}' is too rare; the interval is at most 999"
        ));
    }
    let freq = match unit {
        Unit::Day => Freq::Daily,
        Unit::Week => Freq::Weekly,
        Unit::Month => Freq::Monthly,
        Unit::Year => Freq::Yearly,
        Unit::Minute | Unit::Hour => {
            return Err(format!(
                "'{phrase}' repeats within a day; the shortest repeat is 'every day'"
            ));
        }
    };
    Ok(Some((modifiers(c, Rule::new(freq, n))?, None)))
}

/// "… on monday", "… on the 1st", "… on the last day", "… on dec 24".
fn modifiers(c: &mut Cur<'_>, mut rule: Rule) -> Result<Rule, String> {
    let save = c.i;
    if !c.eat("on") {
        return Ok(rule);
    }
    match rule.freq {
        Freq::Weekly => {
            if let Some(days) = weekday_list(c) {
                return Ok(rule.with_days(&days));
            }
        }
        Freq::Monthly => {
            c.eat("the");
            if c.eat("last") && c.eat("day") {
                c.eat_of_the_month();
                rule.month_day = Some(-1);
                return Ok(rule);
            }
            if let Some((n, _)) = c.peek().and_then(day_number) {
                c.bump();
                if !(1..=31).contains(&n) {
                    return Err(format!("no month has a {} day", ordinal(n)));
                }
                rule.month_day = Some(n as i32);
                return Ok(rule);
            }
        }
        Freq::Yearly => {
            if let Some(md) = month_day(c)?
                && md.year.is_none()
            {
                rule.month = Some(md.month);
                rule.month_day = Some(md.day as i32);
                return Ok(rule);
            }
        }
        Freq::Daily => {}
    }
    c.i = save;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "UTC";
    const BER: &str = "Europe/Berlin";
    const NYC: &str = "America/New_York";
    const KOL: &str = "Asia/Kolkata";
    const KIR: &str = "Pacific/Kiritimati";
    const PAGO: &str = "Pacific/Pago_Pago";

    /// Thursday 3 December 2026, 10:47 UTC. Local clocks: Berlin Thu 11:47, New York Thu 05:47,
    /// Kolkata Thu 16:17, Kiritimati already Fri 4 Dec 00:47, Pago Pago still Wed 2 Dec 23:47.
    fn now() -> DateTime<Utc> {
        "2026-12-03T10:47:00Z".parse().unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn date(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    /// (zone, phrase, expected date, expected time or "", expected RRULE or ""), all reasoned by
    /// hand from `now()`. December 2026: Mon 30 Nov, Thu 3, Fri 4, Sat 5, Sun 6, Mon 7, Fri 11.
    const CASES: &[(&str, &str, &str, &str, &str)] = &[
        // Days, UTC (today Thu 3 Dec, 10:47).
        (U, "today", "2026-12-03", "", ""),
        (U, "tonight", "2026-12-03", "20:00", ""),
        (U, "tomorrow", "2026-12-04", "", ""),
        (U, "tmr", "2026-12-04", "", ""),
        (U, "tmrw", "2026-12-04", "", ""),
        (U, "Tomorrow", "2026-12-04", "", ""),
        (U, "  TOMORROW   ", "2026-12-04", "", ""),
        (U, "tomorrow.", "2026-12-04", "", ""),
        (U, "this morning", "2026-12-03", "09:00", ""),
        (U, "this afternoon", "2026-12-03", "15:00", ""),
        (U, "this evening", "2026-12-03", "19:00", ""),
        (U, "tomorrow morning", "2026-12-04", "09:00", ""),
        (U, "tomorrow afternoon", "2026-12-04", "15:00", ""),
        (U, "tomorrow evening", "2026-12-04", "19:00", ""),
        (U, "tomorrow night", "2026-12-04", "20:00", ""),
        (U, "tomorrow in the morning", "2026-12-04", "09:00", ""),
        (U, "day after tomorrow", "2026-12-05", "", ""),
        (U, "the day after tomorrow", "2026-12-05", "", ""),
        (U, "yesterday", "2026-12-02", "", ""),
        (U, "friday", "2026-12-04", "", ""),
        (U, "fri", "2026-12-04", "", ""),
        (U, "Friday", "2026-12-04", "", ""),
        (U, "on friday", "2026-12-04", "", ""),
        (U, "thursday", "2026-12-10", "", ""),
        (U, "thu", "2026-12-10", "", ""),
        (U, "this thursday", "2026-12-03", "", ""),
        (U, "this friday", "2026-12-04", "", ""),
        (U, "next friday", "2026-12-11", "", ""),
        (U, "next thursday", "2026-12-10", "", ""),
        (U, "next monday", "2026-12-07", "", ""),
        (U, "monday", "2026-12-07", "", ""),
        (U, "wednesday", "2026-12-09", "", ""),
        (U, "this wednesday", "2026-12-09", "", ""),
        (U, "next wednesday", "2026-12-09", "", ""),
        (U, "sunday", "2026-12-06", "", ""),
        (U, "next sunday", "2026-12-13", "", ""),
        (U, "saturday", "2026-12-05", "", ""),
        (U, "tues", "2026-12-08", "", ""),
        (U, "next week", "2026-12-07", "", ""),
        (U, "this weekend", "2026-12-05", "", ""),
        (U, "weekend", "2026-12-05", "", ""),
        (U, "the weekend", "2026-12-05", "", ""),
        (U, "next weekend", "2026-12-12", "", ""),
        (U, "next month", "2027-01-01", "", ""),
        (U, "next year", "2027-01-01", "", ""),
        (U, "end of week", "2026-12-04", "", ""),
        (U, "end of the week", "2026-12-04", "", ""),
        (U, "end of month", "2026-12-31", "", ""),
        (U, "end of the month", "2026-12-31", "", ""),
        (U, "by the end of the month", "2026-12-31", "", ""),
        (U, "end of year", "2026-12-31", "", ""),
        (U, "eom", "2026-12-31", "", ""),
        // Relative.
        (U, "in 3 days", "2026-12-06", "", ""),
        (U, "in 2 weeks", "2026-12-17", "", ""),
        (U, "in a week", "2026-12-10", "", ""),
        (U, "in 1 month", "2027-01-03", "", ""),
        (U, "in 2 months", "2027-02-03", "", ""),
        (U, "in a year", "2027-12-03", "", ""),
        (U, "in an hour", "2026-12-03", "11:47", ""),
        (U, "in 30 minutes", "2026-12-03", "11:17", ""),
        (U, "in 30 min", "2026-12-03", "11:17", ""),
        (U, "in 2 hours", "2026-12-03", "12:47", ""),
        (U, "in 15 mins", "2026-12-03", "11:02", ""),
        (U, "in half an hour", "2026-12-03", "11:17", ""),
        (U, "in 14 hours", "2026-12-04", "00:47", ""),
        (U, "3 days from now", "2026-12-06", "", ""),
        (U, "a week from today", "2026-12-10", "", ""),
        (U, "2 weeks from tomorrow", "2026-12-18", "", ""),
        (U, "in three days", "2026-12-06", "", ""),
        (U, "in 3 days at 5pm", "2026-12-06", "17:00", ""),
        (U, "in 2h", "2026-12-03", "12:47", ""),
        (U, "2 hours from now", "2026-12-03", "12:47", ""),
        (U, "in 1 day", "2026-12-04", "", ""),
        // Dates.
        (U, "2026-12-24", "2026-12-24", "", ""),
        (U, "2026-12-24 09:30", "2026-12-24", "09:30", ""),
        (U, "2026-12-24T09:30", "2026-12-24", "09:30", ""),
        (U, "2027-01-15", "2027-01-15", "", ""),
        (U, "24/12", "2026-12-24", "", ""),
        (U, "12/24", "2026-12-24", "", ""),
        (U, "3/4", "2027-03-04", "", ""),
        (U, "12/3", "2026-12-03", "", ""),
        (U, "12/2", "2027-12-02", "", ""),
        (U, "13/1", "2027-01-13", "", ""),
        (U, "12/24/2027", "2027-12-24", "", ""),
        (U, "24/12/2026", "2026-12-24", "", ""),
        (U, "dec 24", "2026-12-24", "", ""),
        (U, "december 24", "2026-12-24", "", ""),
        (U, "24 dec", "2026-12-24", "", ""),
        (U, "24th december", "2026-12-24", "", ""),
        (U, "dec 24th", "2026-12-24", "", ""),
        (U, "24th of december", "2026-12-24", "", ""),
        (U, "Dec 24, 2027", "2027-12-24", "", ""),
        (U, "jan 1", "2027-01-01", "", ""),
        (U, "january 1st", "2027-01-01", "", ""),
        (U, "dec 3", "2026-12-03", "", ""),
        (U, "dec 2", "2027-12-02", "", ""),
        (U, "feb 29", "2028-02-29", "", ""),
        (U, "nov 30", "2027-11-30", "", ""),
        (U, "march 15", "2027-03-15", "", ""),
        (U, "sept 9", "2027-09-09", "", ""),
        (U, "the 1st", "2027-01-01", "", ""),
        (U, "on the 15th", "2026-12-15", "", ""),
        (U, "the 3rd", "2026-12-03", "", ""),
        (U, "the 31st", "2026-12-31", "", ""),
        (U, "15th", "2026-12-15", "", ""),
        (U, "the 2nd", "2027-01-02", "", ""),
        // Times alone: today while still ahead of 10:47, else tomorrow.
        (U, "5pm", "2026-12-03", "17:00", ""),
        (U, "5 pm", "2026-12-03", "17:00", ""),
        (U, "5:30 pm", "2026-12-03", "17:30", ""),
        (U, "5:30pm", "2026-12-03", "17:30", ""),
        (U, "9am", "2026-12-04", "09:00", ""),
        (U, "at 9am", "2026-12-04", "09:00", ""),
        (U, "at 9", "2026-12-04", "09:00", ""),
        (U, "at 11", "2026-12-03", "11:00", ""),
        (U, "at 17", "2026-12-03", "17:00", ""),
        (U, "noon", "2026-12-03", "12:00", ""),
        (U, "midnight", "2026-12-04", "00:00", ""),
        (U, "9.30am", "2026-12-04", "09:30", ""),
        (U, "17h", "2026-12-03", "17:00", ""),
        (U, "17h30", "2026-12-03", "17:30", ""),
        (U, "17:00", "2026-12-03", "17:00", ""),
        (U, "10:47", "2026-12-04", "10:47", ""),
        (U, "10:48", "2026-12-03", "10:48", ""),
        (U, "12am", "2026-12-04", "00:00", ""),
        (U, "12pm", "2026-12-03", "12:00", ""),
        (U, "5 p.m.", "2026-12-03", "17:00", ""),
        (U, "at noon", "2026-12-03", "12:00", ""),
        // Day and time, either order.
        (U, "tomorrow 5pm", "2026-12-04", "17:00", ""),
        (U, "5pm tomorrow", "2026-12-04", "17:00", ""),
        (U, "tomorrow at 17:00", "2026-12-04", "17:00", ""),
        (U, "friday at 9", "2026-12-04", "09:00", ""),
        (U, "friday at 9am", "2026-12-04", "09:00", ""),
        (U, "next friday 17h", "2026-12-11", "17:00", ""),
        (U, "today 9am", "2026-12-03", "09:00", ""),
        (U, "tonight at 9", "2026-12-03", "21:00", ""),
        (U, "tomorrow evening at 7", "2026-12-04", "19:00", ""),
        (U, "tomorrow morning at 8", "2026-12-04", "08:00", ""),
        (U, "tomorrow at noon", "2026-12-04", "12:00", ""),
        (U, "at 9 tomorrow", "2026-12-04", "09:00", ""),
        (U, "9am on friday", "2026-12-04", "09:00", ""),
        (U, "dec 24 9:30", "2026-12-24", "09:30", ""),
        (U, "dec 24 at 9:30pm", "2026-12-24", "21:30", ""),
        (U, "24/12 18:00", "2026-12-24", "18:00", ""),
        (U, "monday 8:15", "2026-12-07", "08:15", ""),
        (U, "on friday at 9am", "2026-12-04", "09:00", ""),
        (U, "yesterday at 5pm", "2026-12-02", "17:00", ""),
        (U, "the 15th at 10am", "2026-12-15", "10:00", ""),
        (U, "friday evening", "2026-12-04", "19:00", ""),
        (U, "friday afternoon at 2", "2026-12-04", "14:00", ""),
        (U, "due friday", "2026-12-04", "", ""),
        (U, "by tomorrow", "2026-12-04", "", ""),
        (U, "next week at 9", "2026-12-07", "09:00", ""),
        (U, "end of month at 17:00", "2026-12-31", "17:00", ""),
        // Recurrence: the first occurrence on or after today (after today once the time passed).
        (U, "every day", "2026-12-03", "", "FREQ=DAILY"),
        (U, "daily", "2026-12-03", "", "FREQ=DAILY"),
        (
            U,
            "every weekday",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (
            U,
            "every weekend",
            "2026-12-05",
            "",
            "FREQ=WEEKLY;BYDAY=SA,SU",
        ),
        (U, "every monday", "2026-12-07", "", "FREQ=WEEKLY;BYDAY=MO"),
        (
            U,
            "every thursday",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;BYDAY=TH",
        ),
        (
            U,
            "every mon and wed",
            "2026-12-07",
            "",
            "FREQ=WEEKLY;BYDAY=MO,WE",
        ),
        (
            U,
            "every monday and friday at 9",
            "2026-12-04",
            "09:00",
            "FREQ=WEEKLY;BYDAY=MO,FR",
        ),
        (U, "every week", "2026-12-03", "", "FREQ=WEEKLY"),
        (U, "weekly", "2026-12-03", "", "FREQ=WEEKLY"),
        (
            U,
            "every 2 weeks",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;INTERVAL=2",
        ),
        (
            U,
            "every other week",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;INTERVAL=2",
        ),
        (U, "every month", "2026-12-03", "", "FREQ=MONTHLY"),
        (U, "monthly", "2026-12-03", "", "FREQ=MONTHLY"),
        (
            U,
            "every month on the 1st",
            "2027-01-01",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=1",
        ),
        (
            U,
            "every 15th",
            "2026-12-15",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=15",
        ),
        (
            U,
            "every last day of the month",
            "2026-12-31",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
        ),
        (U, "every year", "2026-12-03", "", "FREQ=YEARLY"),
        (U, "yearly", "2026-12-03", "", "FREQ=YEARLY"),
        (U, "annually", "2026-12-03", "", "FREQ=YEARLY"),
        (
            U,
            "every dec 24",
            "2026-12-24",
            "",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        ),
        (U, "every 3 days", "2026-12-03", "", "FREQ=DAILY;INTERVAL=3"),
        (
            U,
            "every weekday at 9",
            "2026-12-04",
            "09:00",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (U, "every morning", "2026-12-04", "09:00", "FREQ=DAILY"),
        (U, "every evening", "2026-12-03", "19:00", "FREQ=DAILY"),
        (U, "every day at 5pm", "2026-12-03", "17:00", "FREQ=DAILY"),
        (
            U,
            "every other monday",
            "2026-12-07",
            "",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        ),
        (
            U,
            "every 2 weeks on monday",
            "2026-12-07",
            "",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        ),
        (
            U,
            "every mon, wed and fri",
            "2026-12-04",
            "",
            "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        ),
        (
            U,
            "every jan 1",
            "2027-01-01",
            "",
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
        ),
        (
            U,
            "every 3rd",
            "2026-12-03",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=3",
        ),
        (
            U,
            "every 2 months on the 15th",
            "2026-12-15",
            "",
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15",
        ),
        (
            U,
            "every month on the last day",
            "2026-12-31",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
        ),
        (
            U,
            "every sunday at 10am",
            "2026-12-06",
            "10:00",
            "FREQ=WEEKLY;BYDAY=SU",
        ),
        (
            U,
            "every thursday at 10am",
            "2026-12-10",
            "10:00",
            "FREQ=WEEKLY;BYDAY=TH",
        ),
        (
            U,
            "every thursday at 11am",
            "2026-12-03",
            "11:00",
            "FREQ=WEEKLY;BYDAY=TH",
        ),
        (
            U,
            "every 24th december",
            "2026-12-24",
            "",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        ),
        (U, "fortnightly", "2026-12-03", "", "FREQ=WEEKLY;INTERVAL=2"),
        (
            U,
            "every workday",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (
            U,
            "every 31st",
            "2026-12-31",
            "",
            "FREQ=MONTHLY;BYMONTHDAY=31",
        ),
        (
            U,
            "every year on dec 24",
            "2026-12-24",
            "",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        ),
        (
            U,
            "every week on friday",
            "2026-12-04",
            "",
            "FREQ=WEEKLY;BYDAY=FR",
        ),
        (
            U,
            "every tuesday evening",
            "2026-12-08",
            "19:00",
            "FREQ=WEEKLY;BYDAY=TU",
        ),
        (
            U,
            "every feb 29",
            "2027-02-28",
            "",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        ),
        (U, "every day at 10:47", "2026-12-04", "10:47", "FREQ=DAILY"),
        (U, "each monday", "2026-12-07", "", "FREQ=WEEKLY;BYDAY=MO"),
        (
            U,
            "every monday at 9",
            "2026-12-07",
            "09:00",
            "FREQ=WEEKLY;BYDAY=MO",
        ),
        (
            U,
            "every 2nd day",
            "2026-12-03",
            "",
            "FREQ=DAILY;INTERVAL=2",
        ),
        (U, "every mondays", "2026-12-07", "", "FREQ=WEEKLY;BYDAY=MO"),
        // Berlin: Thu 3 Dec, 11:47.
        (BER, "tomorrow", "2026-12-04", "", ""),
        (BER, "11am", "2026-12-04", "11:00", ""),
        (BER, "noon", "2026-12-03", "12:00", ""),
        (BER, "in 30 minutes", "2026-12-03", "12:17", ""),
        (BER, "every day at 9", "2026-12-04", "09:00", "FREQ=DAILY"),
        (BER, "tonight", "2026-12-03", "20:00", ""),
        (BER, "friday", "2026-12-04", "", ""),
        // New York: Thu 3 Dec, 05:47.
        (NYC, "9am", "2026-12-03", "09:00", ""),
        (NYC, "at 5", "2026-12-04", "05:00", ""),
        (NYC, "at 6", "2026-12-03", "06:00", ""),
        (NYC, "this morning", "2026-12-03", "09:00", ""),
        (NYC, "in an hour", "2026-12-03", "06:47", ""),
        (
            NYC,
            "every weekday at 9",
            "2026-12-03",
            "09:00",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (NYC, "tomorrow", "2026-12-04", "", ""),
        (NYC, "in 6 hours", "2026-12-03", "11:47", ""),
        (NYC, "in 19 hours", "2026-12-04", "00:47", ""),
        // Kolkata: Thu 3 Dec, 16:17.
        (KOL, "4pm", "2026-12-04", "16:00", ""),
        (KOL, "5pm", "2026-12-03", "17:00", ""),
        (KOL, "in 2 hours", "2026-12-03", "18:17", ""),
        (KOL, "in 8 hours", "2026-12-04", "00:17", ""),
        (KOL, "tonight", "2026-12-03", "20:00", ""),
        (
            KOL,
            "every day at 4:30pm",
            "2026-12-03",
            "16:30",
            "FREQ=DAILY",
        ),
        (KOL, "every day at 4pm", "2026-12-04", "16:00", "FREQ=DAILY"),
        (KOL, "tomorrow", "2026-12-04", "", ""),
        // Kiritimati (UTC+14): already Fri 4 Dec, 00:47.
        (KIR, "today", "2026-12-04", "", ""),
        (KIR, "tomorrow", "2026-12-05", "", ""),
        (KIR, "yesterday", "2026-12-03", "", ""),
        (KIR, "friday", "2026-12-11", "", ""),
        (KIR, "this friday", "2026-12-04", "", ""),
        (KIR, "next friday", "2026-12-11", "", ""),
        (KIR, "saturday", "2026-12-05", "", ""),
        (KIR, "9am", "2026-12-04", "09:00", ""),
        (KIR, "midnight", "2026-12-05", "00:00", ""),
        (KIR, "in an hour", "2026-12-04", "01:47", ""),
        (
            KIR,
            "every friday",
            "2026-12-04",
            "",
            "FREQ=WEEKLY;BYDAY=FR",
        ),
        (
            KIR,
            "every weekday at 9",
            "2026-12-04",
            "09:00",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (KIR, "end of week", "2026-12-04", "", ""),
        (KIR, "dec 4", "2026-12-04", "", ""),
        (KIR, "dec 3", "2027-12-03", "", ""),
        (KIR, "the 4th", "2026-12-04", "", ""),
        (KIR, "next week", "2026-12-07", "", ""),
        // Pago Pago (UTC−11): still Wed 2 Dec, 23:47.
        (PAGO, "today", "2026-12-02", "", ""),
        (PAGO, "tomorrow", "2026-12-03", "", ""),
        (PAGO, "friday", "2026-12-04", "", ""),
        (PAGO, "wednesday", "2026-12-09", "", ""),
        (PAGO, "this wednesday", "2026-12-02", "", ""),
        (PAGO, "thursday", "2026-12-03", "", ""),
        (PAGO, "next thursday", "2026-12-10", "", ""),
        (PAGO, "9am", "2026-12-03", "09:00", ""),
        (PAGO, "11:50pm", "2026-12-02", "23:50", ""),
        (PAGO, "11:30pm", "2026-12-03", "23:30", ""),
        (PAGO, "in 30 min", "2026-12-03", "00:17", ""),
        (PAGO, "every day", "2026-12-02", "", "FREQ=DAILY"),
        (
            PAGO,
            "every thursday",
            "2026-12-03",
            "",
            "FREQ=WEEKLY;BYDAY=TH",
        ),
        (PAGO, "dec 2", "2026-12-02", "", ""),
        (PAGO, "this weekend", "2026-12-05", "", ""),
        (PAGO, "end of month", "2026-12-31", "", ""),
        (PAGO, "tonight", "2026-12-02", "20:00", ""),
        (PAGO, "next month", "2027-01-01", "", ""),
    ];

    #[test]
    fn the_phrase_table_parses_to_the_expected_dates() {
        assert!(CASES.len() >= 220, "{} cases", CASES.len());
        let mut failures = Vec::new();
        for &(zone, phrase, want_date, want_time, want_rule) in CASES {
            let due = match parse_due(phrase, now(), tz(zone)) {
                Ok(due) => due,
                Err(err) => {
                    failures.push(format!("{zone} {phrase:?}: refused: {err}"));
                    continue;
                }
            };
            let time = due
                .time
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default();
            let rule = due
                .recurrence
                .as_ref()
                .map(|r| r.rule.clone())
                .unwrap_or_default();
            if (due.date.to_string().as_str(), time.as_str(), rule.as_str())
                != (want_date, want_time, want_rule)
            {
                failures.push(format!(
                    "{zone} {phrase:?}: got {} {time:?} {rule:?}, want {want_date} \
                     {want_time:?} {want_rule:?}",
                    due.date
                ));
            }
            assert_eq!(due.timezone, zone);
            match (due.time, due.at) {
                (Some(t), Some(at)) => {
                    let local = at.with_timezone(&tz(zone));
                    assert_eq!(
                        (local.date_naive(), local.time()),
                        (due.date, t),
                        "{phrase}"
                    );
                }
                (None, None) => {}
                other => panic!("{phrase}: time and at disagree: {other:?}"),
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn tomorrow_near_midnight_depends_on_the_zone() {
        let now: DateTime<Utc> = "2026-12-03T10:30:00Z".parse().unwrap();
        // Kiritimati (UTC+14): already Fri 4 Dec 00:30, so tomorrow is Sat 5 Dec.
        assert_eq!(
            parse_due("tomorrow", now, tz(KIR)).unwrap().date,
            date("2026-12-05")
        );
        assert_eq!(
            parse_due("today", now, tz(KIR)).unwrap().date,
            date("2026-12-04")
        );
        // Pago Pago (UTC−11): still Wed 2 Dec 23:30, so tomorrow is Thu 3 Dec.
        assert_eq!(
            parse_due("tomorrow", now, tz(PAGO)).unwrap().date,
            date("2026-12-03")
        );
        assert_eq!(
            parse_due("today", now, tz(PAGO)).unwrap().date,
            date("2026-12-02")
        );
        // The same instant in UTC.
        assert_eq!(
            parse_due("tomorrow", now, tz(U)).unwrap().date,
            date("2026-12-04")
        );
        // 5pm in Kiritimati on Fri 4 Dec is 03:00 UTC that day.
        let due = parse_due("tomorrow 5pm", now, tz(KIR)).unwrap();
        assert_eq!(
            due.at.unwrap(),
            "2026-12-05T03:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let due = parse_due("tomorrow 5pm", now, tz(PAGO)).unwrap();
        assert_eq!(
            due.at.unwrap(),
            "2026-12-04T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    fn utc(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap()
    }

    #[test]
    fn a_weekly_rule_keeps_its_local_time_across_spring_forward() {
        // Berlin moves to summer time on Sun 28 Mar 2027: Mon 22 Mar 09:00 CET is 08:00 UTC,
        // Mon 29 Mar 09:00 CEST is 07:00 UTC.
        let now = utc("2027-03-22T12:00:00Z");
        let due = Due::from_parts(
            "2027-03-22",
            Some("09:00"),
            Some(BER),
            Some("FREQ=WEEKLY;BYDAY=MO"),
            tz(U),
            now,
        )
        .unwrap();
        assert_eq!(due.at, Some(utc("2027-03-22T08:00:00Z")));
        let next = due.next_occurrence(now).unwrap();
        assert_eq!(next.date, date("2027-03-29"));
        assert_eq!(next.time, NaiveTime::from_hms_opt(9, 0, 0));
        assert_eq!(next.at, Some(utc("2027-03-29T07:00:00Z")));
        assert_eq!(next.text, "Mon 29 Mar, 09:00");
        assert_eq!(
            next.recurrence.as_ref().unwrap().text,
            "every Monday at 09:00"
        );

        // New York moves on Sun 14 Mar 2027: 09:00 EST is 14:00 UTC, 09:00 EDT is 13:00 UTC.
        let now = utc("2027-03-08T15:00:00Z");
        let due = Due::from_parts(
            "2027-03-08",
            Some("09:00"),
            Some(NYC),
            Some("FREQ=WEEKLY;BYDAY=MO"),
            tz(U),
            now,
        )
        .unwrap();
        assert_eq!(due.at, Some(utc("2027-03-08T14:00:00Z")));
        let next = due.next_occurrence(now).unwrap();
        assert_eq!(next.date, date("2027-03-15"));
        assert_eq!(next.at, Some(utc("2027-03-15T13:00:00Z")));
    }

    #[test]
    fn a_weekly_rule_keeps_its_local_time_across_fall_back() {
        // Berlin leaves summer time on Sun 31 Oct 2027: 09:00 CEST is 07:00 UTC, CET 08:00 UTC.
        let now = utc("2027-10-25T12:00:00Z");
        let due = Due::from_parts(
            "2027-10-25",
            Some("09:00"),
            Some(BER),
            Some("FREQ=WEEKLY"),
            tz(U),
            now,
        )
        .unwrap();
        assert_eq!(due.at, Some(utc("2027-10-25T07:00:00Z")));
        let next = due.next_occurrence(now).unwrap();
        assert_eq!(next.date, date("2027-11-01"));
        assert_eq!(next.at, Some(utc("2027-11-01T08:00:00Z")));
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_is_the_first_instant_after_it() {
        let now = utc("2027-03-01T12:00:00Z");
        // 02:30 does not exist in Berlin on 28 Mar 2027; 03:00 CEST is 01:00 UTC.
        let due = parse_due("2027-03-28 02:30", now, tz(BER)).unwrap();
        assert_eq!(due.time, NaiveTime::from_hms_opt(2, 30, 0));
        assert_eq!(due.at, Some(utc("2027-03-28T01:00:00Z")));
        // New York, 14 Mar 2027: 03:00 EDT is 07:00 UTC.
        let due = parse_due("2027-03-14 02:30", now, tz(NYC)).unwrap();
        assert_eq!(due.at, Some(utc("2027-03-14T07:00:00Z")));
        // An hour before the gap is unaffected: 01:30 CET is 00:30 UTC.
        let due = parse_due("2027-03-28 01:30", now, tz(BER)).unwrap();
        assert_eq!(due.at, Some(utc("2027-03-28T00:30:00Z")));
    }

    #[test]
    fn a_time_in_the_fall_back_overlap_is_the_earlier_instant() {
        let now = utc("2027-10-01T12:00:00Z");
        // 02:30 happens twice in Berlin on 31 Oct 2027; the first is 02:30 CEST = 00:30 UTC.
        let due = parse_due("2027-10-31 02:30", now, tz(BER)).unwrap();
        assert_eq!(due.at, Some(utc("2027-10-31T00:30:00Z")));
        // New York, 7 Nov 2027: 01:30 EDT = 05:30 UTC.
        let due = parse_due("2027-11-07 01:30", now, tz(NYC)).unwrap();
        assert_eq!(due.at, Some(utc("2027-11-07T05:30:00Z")));
    }

    fn recurring(day: &str, rule: &str, zone: &str) -> Due {
        Due::from_parts(day, None, Some(zone), Some(rule), tz(U), now()).unwrap()
    }

    #[test]
    fn next_occurrence_follows_the_rule_and_skips_to_after_today() {
        let cases = [
            // An overdue daily task moves to tomorrow (4 Dec), not to its date + 1.
            ("2026-11-20", "FREQ=DAILY", U, "2026-12-04"),
            // A daily task due tomorrow, done early, moves to the day after.
            ("2026-12-04", "FREQ=DAILY", U, "2026-12-05"),
            ("2026-12-03", "FREQ=DAILY;INTERVAL=3", U, "2026-12-06"),
            ("2026-11-30", "FREQ=WEEKLY;BYDAY=MO", U, "2026-12-07"),
            ("2026-12-04", "FREQ=WEEKLY;BYDAY=MO,FR", U, "2026-12-07"),
            (
                "2026-12-07",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
                U,
                "2026-12-21",
            ),
            (
                "2026-12-07",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
                U,
                "2026-12-11",
            ),
            (
                "2026-12-11",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
                U,
                "2026-12-21",
            ),
            ("2026-12-03", "FREQ=WEEKLY", U, "2026-12-10"),
            ("2026-12-03", "FREQ=WEEKLY;INTERVAL=2", U, "2026-12-17"),
            ("2026-12-03", "FREQ=MONTHLY", U, "2027-01-03"),
            ("2026-12-01", "FREQ=MONTHLY;BYMONTHDAY=1", U, "2027-01-01"),
            ("2026-12-31", "FREQ=MONTHLY;BYMONTHDAY=-1", U, "2027-01-31"),
            ("2027-01-31", "FREQ=MONTHLY;BYMONTHDAY=-1", U, "2027-02-28"),
            ("2027-01-31", "FREQ=MONTHLY;BYMONTHDAY=31", U, "2027-02-28"),
            ("2027-02-28", "FREQ=MONTHLY;BYMONTHDAY=31", U, "2027-03-31"),
            (
                "2026-12-15",
                "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15",
                U,
                "2027-02-15",
            ),
            (
                "2026-12-24",
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
                U,
                "2027-12-24",
            ),
            (
                "2025-12-24",
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
                U,
                "2026-12-24",
            ),
            ("2026-12-03", "FREQ=YEARLY", U, "2027-12-03"),
            // Already Fri 4 Dec in Kiritimati: an overdue daily task moves to Sat 5 Dec.
            ("2026-12-01", "FREQ=DAILY", KIR, "2026-12-05"),
            // Still Wed 2 Dec in Pago Pago: an overdue daily task moves to Thu 3 Dec.
            ("2026-12-01", "FREQ=DAILY", PAGO, "2026-12-03"),
            // An overdue weekday task done on a Thursday moves to Friday.
            (
                "2026-11-23",
                "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                U,
                "2026-12-04",
            ),
        ];
        for (day, rule, zone, want) in cases {
            let next = recurring(day, rule, zone).next_occurrence(now()).unwrap();
            assert_eq!(next.date, date(want), "{day} {rule} {zone}");
            assert_eq!(next.recurrence.unwrap().rule, rule);
        }
        let plain = parse_due("tomorrow", now(), tz(U)).unwrap();
        assert_eq!(plain.next_occurrence(now()), None);
    }

    #[test]
    fn the_text_never_says_today_and_shows_the_year_only_when_it_differs() {
        let text = |phrase: &str| parse_due(phrase, now(), tz(U)).unwrap().text;
        assert_eq!(text("tomorrow 5pm"), "Fri 4 Dec, 17:00");
        assert_eq!(text("tomorrow"), "Fri 4 Dec");
        assert_eq!(text("today"), "Thu 3 Dec");
        assert_eq!(text("jan 1"), "Fri 1 Jan 2027");
        assert_eq!(text("dec 5 2027"), "Sun 5 Dec 2027");
        assert_eq!(text("2027-12-05 09:30"), "Sun 5 Dec 2027, 09:30");
        assert_eq!(text("in 30 min"), "Thu 3 Dec, 11:17");
    }

    #[test]
    fn recurrence_texts_read_naturally() {
        let text = |phrase: &str| {
            parse_due(phrase, now(), tz(U))
                .unwrap()
                .recurrence
                .unwrap()
                .text
        };
        assert_eq!(text("every day"), "every day");
        assert_eq!(text("every 3 days"), "every 3 days");
        assert_eq!(text("every weekday"), "every weekday");
        assert_eq!(text("every weekend"), "every weekend");
        assert_eq!(text("every monday"), "every Monday");
        assert_eq!(text("every monday and friday"), "every Monday and Friday");
        assert_eq!(
            text("every mon wed fri"),
            "every Monday, Wednesday and Friday"
        );
        assert_eq!(
            text("every monday and friday at 9"),
            "every Monday and Friday at 09:00"
        );
        assert_eq!(text("every week"), "every week");
        assert_eq!(text("every 2 weeks"), "every 2 weeks");
        assert_eq!(text("every other monday"), "every 2 weeks on Monday");
        assert_eq!(text("every month"), "every month");
        assert_eq!(text("every month on the 1st"), "every month on the 1st");
        assert_eq!(text("every 22nd"), "every month on the 22nd");
        assert_eq!(
            text("every 2 months on the 11th"),
            "every 2 months on the 11th"
        );
        assert_eq!(
            text("every last day of the month"),
            "every last day of the month"
        );
        assert_eq!(text("every year"), "every year");
        assert_eq!(text("every dec 24"), "every year on 24 Dec");
        assert_eq!(text("every weekday at 9"), "every weekday at 09:00");
        assert_eq!(text("every morning"), "every day at 09:00");
    }

    #[test]
    fn split_due_takes_the_trailing_date_phrase() {
        // (sentence, title, date, time or "", rule or ""), UTC, now Thu 3 Dec 10:47.
        let cases = [
            (
                "Buy milk tomorrow at 5pm",
                "Buy milk",
                "2026-12-04",
                "17:00",
                "",
            ),
            (
                "call the bank on friday",
                "call the bank",
                "2026-12-04",
                "",
                "",
            ),
            (
                "pay rent every month on the 1st",
                "pay rent",
                "2027-01-01",
                "",
                "FREQ=MONTHLY;BYMONTHDAY=1",
            ),
            ("dentist dec 24 9:30", "dentist", "2026-12-24", "09:30", ""),
            (
                "Submit report by friday",
                "Submit report",
                "2026-12-04",
                "",
                "",
            ),
            (
                "Book flight for dec 24",
                "Book flight",
                "2026-12-24",
                "",
                "",
            ),
            (
                "Water the plants every day",
                "Water the plants",
                "2026-12-03",
                "",
                "FREQ=DAILY",
            ),
            (
                "Gym every monday and friday at 9",
                "Gym",
                "2026-12-04",
                "09:00",
                "FREQ=WEEKLY;BYDAY=MO,FR",
            ),
            (
                "Email Bob in 2 hours",
                "Email Bob",
                "2026-12-03",
                "12:47",
                "",
            ),
            (
                "Read a book tonight",
                "Read a book",
                "2026-12-03",
                "20:00",
                "",
            ),
            (
                "Renew passport next month",
                "Renew passport",
                "2027-01-01",
                "",
                "",
            ),
            ("Call mom at noon", "Call mom", "2026-12-03", "12:00", ""),
            (
                "Take out trash every weekday at 9",
                "Take out trash",
                "2026-12-04",
                "09:00",
                "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
            ("Pay taxes 2027-04-15", "Pay taxes", "2027-04-15", "", ""),
            (
                "Team meeting next friday at 10am",
                "Team meeting",
                "2026-12-11",
                "10:00",
                "",
            ),
            ("Picnic on sun", "Picnic", "2026-12-06", "", ""),
            (
                "Clean the garage this weekend",
                "Clean the garage",
                "2026-12-05",
                "",
                "",
            ),
            (
                "Dinner with Anna tomorrow evening",
                "Dinner with Anna",
                "2026-12-04",
                "19:00",
                "",
            ),
            (
                "Backup server daily",
                "Backup server",
                "2026-12-03",
                "",
                "FREQ=DAILY",
            ),
            (
                "Send invoice end of month",
                "Send invoice",
                "2026-12-31",
                "",
                "",
            ),
            (
                "Send invoice by the end of the month",
                "Send invoice",
                "2026-12-31",
                "",
                "",
            ),
            ("Plan trip in 3 days", "Plan trip", "2026-12-06", "", ""),
            (
                "Birthday party every dec 24",
                "Birthday party",
                "2026-12-24",
                "",
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
            ),
            (
                "Meet at Joe's at 5pm",
                "Meet at Joe's",
                "2026-12-03",
                "17:00",
                "",
            ),
            (
                "Call the plumber, tomorrow",
                "Call the plumber",
                "2026-12-04",
                "",
                "",
            ),
            ("Buy milk due tomorrow", "Buy milk", "2026-12-04", "", ""),
            (
                "Pick up kids at 3:30 pm",
                "Pick up kids",
                "2026-12-03",
                "15:30",
                "",
            ),
            (
                "Stand-up every weekday at 9:15",
                "Stand-up",
                "2026-12-04",
                "09:15",
                "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
            ("Pay rent on the 1st", "Pay rent", "2027-01-01", "", ""),
            ("Buy Milk Tomorrow", "Buy Milk", "2026-12-04", "", ""),
            (
                "Review PR 5pm tomorrow",
                "Review PR",
                "2026-12-04",
                "17:00",
                "",
            ),
            (
                "Project X deadline 12/24",
                "Project X deadline",
                "2026-12-24",
                "",
                "",
            ),
            (
                "Renew the car insurance in 2 weeks",
                "Renew the car insurance",
                "2026-12-17",
                "",
                "",
            ),
            ("Ship v2 - friday", "Ship v2", "2026-12-04", "", ""),
            (
                "Call Grandma the day after tomorrow",
                "Call Grandma",
                "2026-12-05",
                "",
                "",
            ),
            (
                "Lunch with Sam next wednesday at 12:30",
                "Lunch with Sam",
                "2026-12-09",
                "12:30",
                "",
            ),
        ];
        for (sentence, want_title, want_date, want_time, want_rule) in cases {
            let (title, due) = split_due(sentence, now(), tz(U));
            let due = due.unwrap_or_else(|| panic!("{sentence:?}: no due date found"));
            let time = due
                .time
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default();
            let rule = due.recurrence.map(|r| r.rule).unwrap_or_default();
            assert_eq!(
                (
                    title.as_str(),
                    due.date.to_string().as_str(),
                    time.as_str(),
                    rule.as_str()
                ),
                (want_title, want_date, want_time, want_rule),
                "{sentence:?}"
            );
        }
    }

    #[test]
    fn split_due_leaves_text_without_a_trailing_date_alone() {
        for sentence in [
            "Buy milk",
            "tomorrow",
            "on friday",
            "due tomorrow 5pm",
            "every monday",
            "Enjoy the sun",
            "Finish the 3rd chapter",
            "Buy 2 apples",
            "Fix bug 25:00",
            "Watch 5pm news",
            "",
            "   ",
        ] {
            assert_eq!(
                split_due(sentence, now(), tz(U)),
                (sentence.to_owned(), None),
                "{sentence:?}"
            );
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let long = "tomorrow ".repeat(56);
        let long = long.trim_end().chars().take(500).collect::<String>();
        assert_eq!(long.chars().count(), 500);
        let cases: Vec<(&str, &str)> = vec![
            (
                "blorp",
                "'blorp' is not a date I understand; try 'tomorrow 5pm', 'next friday', 'in 3 days', 'dec 24', '2026-12-24 09:30' or 'every monday at 9'",
            ),
            ("every", "'every' needs to say how often"),
            ("in -3 days", "'in -3 days' points to the past"),
            (
                "2026-02-30",
                "2026-02-30 is not a date: February 2026 has 28 days",
            ),
            ("25:00", "'25:00' is not a time of day"),
            ("feb 30", "there is no February 30"),
            (
                "every 0 weeks",
                "'every 0 weeks' never repeats; the interval is at least 1",
            ),
            (
                long.as_str(),
                "a due date has at most 80 characters; this one has 500",
            ),
            ("", "the due date is empty"),
            ("   ", "the due date is empty"),
            (
                "2026-13-01",
                "2026-13-01 is not a date: there is no month 13",
            ),
            (
                "13pm",
                "'13pm' is not a time: with am or pm the hour goes from 1 to 12",
            ),
            ("5:75pm", "'5:75pm' is not a time of day"),
            ("the 32nd", "no month has a 32nd day"),
            ("every 32nd", "no month has a 32nd day"),
            ("32/45", "'32/45' is not a date"),
            ("apr 31", "there is no April 31"),
            ("every 2 hours", "'every 2 hours' repeats within a day"),
            ("in 3 blorps", "'in 3 blorps' is not a date I understand"),
            ("next blorp", "'next blorp' is not a date I understand"),
            ("tomorrow tomorrow", "is not a date I understand"),
            ("every blorp", "'every blorp' is not a date I understand"),
            ("0001-01-01", "years from 1900 to 2999 are understood"),
            (
                "feb 29 2027",
                "2027-02-29 is not a date: February 2027 has 28 days",
            ),
            ("at 24", "'24' is not a time of day"),
            ("in 99999 years", "'99999 years' is too far ahead"),
            ("every -1 days", "'every -1 days' does not repeat"),
            ("every feb 30", "there is no February 30"),
            ("yesterday at 25:00", "'25:00' is not a time of day"),
            ("every 1000 days", "the interval is at most 999"),
            ("3 days ago", "is not a date I understand"),
            ("tomorrow 5", "is not a date I understand"),
            ("every monday and", "is not a date I understand"),
        ];
        assert!(cases.len() >= 20);
        for (phrase, want) in cases {
            let err = parse_due(phrase, now(), tz(U)).expect_err(phrase);
            assert!(err.0.contains(want), "{phrase:?}: {err}");
        }
        // Long input is clipped when quoted back.
        let err = parse_due(&format!("{} x", "blorp ".repeat(12)), now(), tz(U)).unwrap_err();
        assert!(err.0.contains('…') && err.0.len() < 200, "{err}");
    }

    #[test]
    fn due_json_has_time_as_hh_mm_and_round_trips() {
        let due = parse_due("tomorrow 5pm", now(), tz(BER)).unwrap();
        let json = serde_json::to_value(&due).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "date": "2026-12-04",
                "time": "17:00",
                "timezone": "Europe/Berlin",
                "at": "2026-12-04T16:00:00Z",
                "recurrence": null,
                "text": "Fri 4 Dec, 17:00",
            })
        );
        let back: Due = serde_json::from_value(json).unwrap();
        assert_eq!(back, due);

        let due = parse_due("every monday at 9", now(), tz(U)).unwrap();
        let json = serde_json::to_value(&due).unwrap();
        assert_eq!(json["time"], "09:00");
        assert_eq!(json["recurrence"]["rule"], "FREQ=WEEKLY;BYDAY=MO");
        assert_eq!(json["recurrence"]["text"], "every Monday at 09:00");
        assert_eq!(serde_json::from_value::<Due>(json).unwrap(), due);

        let all_day = parse_due("dec 24", now(), tz(U)).unwrap();
        let json = serde_json::to_value(&all_day).unwrap();
        assert_eq!(json["time"], serde_json::Value::Null);
        assert_eq!(json["at"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<Due>(json).unwrap(), all_day);

        let mut json = serde_json::to_value(&due).unwrap();
        json["time"] = "09:00:00".into();
        assert!(serde_json::from_value::<Due>(json).is_err());
    }

    #[test]
    fn from_parts_builds_a_consistent_due() {
        let due = Due::from_parts("2026-12-24", Some("18:30"), None, None, tz(BER), now()).unwrap();
        assert_eq!(due.timezone, BER);
        assert_eq!(due.at, Some(utc("2026-12-24T17:30:00Z")));
        assert_eq!(due.text, "Thu 24 Dec, 18:30");
        let due = Due::from_parts(
            "2027-01-04",
            None,
            Some(NYC),
            Some("rrule:freq=weekly;byday=fr,mo"),
            tz(BER),
            now(),
        )
        .unwrap();
        assert_eq!(due.timezone, NYC);
        assert_eq!(due.at, None);
        assert_eq!(due.text, "Mon 4 Jan 2027");
        let recurrence = due.recurrence.unwrap();
        assert_eq!(recurrence.rule, "FREQ=WEEKLY;BYDAY=MO,FR");
        assert_eq!(recurrence.text, "every Monday and Friday");
        // Blank optional parts mean none.
        let due = Due::from_parts("2026-12-24", Some(""), None, Some(" "), tz(U), now()).unwrap();
        assert_eq!((due.time, due.recurrence), (None, None));
    }

    #[test]
    fn from_parts_refuses_each_bad_part_with_its_reason() {
        let bad = |date: &str, time: Option<&str>, zone: Option<&str>, rule: Option<&str>| {
            Due::from_parts(date, time, zone, rule, tz(U), now())
                .unwrap_err()
                .0
        };
        let cases = [
            (
                bad("2026-2-3", None, None, None),
                "'2026-2-3' is not a date; write it as YYYY-MM-DD",
            ),
            (
                bad("tomorrow", None, None, None),
                "'tomorrow' is not a date; write it as YYYY-MM-DD",
            ),
            (
                bad("2026-02-30", None, None, None),
                "February 2026 has 28 days",
            ),
            (bad("2026-00-10", None, None, None), "there is no month 0"),
            (
                bad("2026-12-24", Some("25:00"), None, None),
                "'25:00' is not a time; write it as HH:MM",
            ),
            (
                bad("2026-12-24", Some("5pm"), None, None),
                "'5pm' is not a time",
            ),
            (
                bad("2026-12-24", Some("9:30"), None, None),
                "'9:30' is not a time",
            ),
            (
                bad("2026-12-24", None, Some("Mars/Base"), None),
                "'Mars/Base' is not an IANA time zone such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
            ),
            (
                bad("2026-12-24", None, Some(""), None),
                "the time zone is empty",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=HOURLY")),
                "FREQ=HOURLY is not supported",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=DAILY;COUNT=3")),
                "the recurrence rule part 'COUNT' is not supported",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=WEEKLY;UNTIL=20270101")),
                "'UNTIL' is not supported",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=WEEKLY;BYDAY=1MO")),
                "no positions such as 1MO",
            ),
            (
                bad("2026-12-24", None, None, Some("BYDAY=MO")),
                "a recurrence rule needs FREQ",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=MONTHLY;BYMONTHDAY=0")),
                "BYMONTHDAY=0 is not supported",
            ),
            (
                bad(
                    "2026-12-24",
                    None,
                    None,
                    Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
                ),
                "there is no February 30",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=YEARLY;BYMONTHDAY=3")),
                "give both BYMONTH and BYMONTHDAY",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=DAILY;INTERVAL=0")),
                "INTERVAL=0 is not supported",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=DAILY;FREQ=WEEKLY")),
                "gives FREQ twice",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=DAILY;BYDAY=MO")),
                "BYDAY is only supported with FREQ=WEEKLY",
            ),
            (
                bad("2026-12-24", None, None, Some("FREQ=WEEKLY;BYMONTHDAY=2")),
                "BYMONTHDAY is only supported",
            ),
            (
                bad("2026-12-24", None, None, Some("WEEKLY")),
                "is not a NAME=VALUE part",
            ),
        ];
        for (message, want) in cases {
            assert!(
                message.contains(want),
                "{message:?} should contain {want:?}"
            );
        }
    }

    #[test]
    fn zones_are_iana_names() {
        assert_eq!(
            parse_zone("Europe/Berlin").unwrap(),
            chrono_tz::Europe::Berlin
        );
        assert_eq!(
            parse_zone("Pacific/Kiritimati").unwrap(),
            chrono_tz::Pacific::Kiritimati
        );
        assert_eq!(parse_zone("UTC").unwrap(), chrono_tz::UTC);
        assert!(
            parse_zone("EST5EDT").is_ok(),
            "chrono-tz knows the POSIX-style zones"
        );
        for bad in ["", "Mars/Base", "europe/berlin", "Berlin", "+01:00"] {
            assert!(parse_zone(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_zone("Mars/Base").unwrap_err().0,
            "'Mars/Base' is not an IANA time zone such as 'Europe/Berlin', 'America/New_York' or 'UTC'"
        );
    }

    #[test]
    fn due_new_rewrites_the_recurrence_consistently() {
        let recurrence = Recurrence::parse("freq=weekly;byday=we,mo").unwrap();
        assert_eq!(recurrence.rule, "FREQ=WEEKLY;BYDAY=MO,WE");
        assert_eq!(recurrence.text, "every Monday and Wednesday");
        let time = NaiveTime::from_hms_opt(7, 5, 42);
        let due = Due::new(date("2026-12-07"), time, tz(KOL), Some(recurrence), now());
        assert_eq!(
            due.time,
            NaiveTime::from_hms_opt(7, 5, 0),
            "seconds are dropped"
        );
        assert_eq!(
            due.recurrence.unwrap().text,
            "every Monday and Wednesday at 07:05"
        );
        // 07:05 in Kolkata (UTC+5:30) is 01:35 UTC.
        assert_eq!(due.at, Some(utc("2026-12-07T01:35:00Z")));
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        let vocabulary = [
            "every",
            "other",
            "on",
            "at",
            "the",
            "of",
            "in",
            "and",
            "next",
            "this",
            "last",
            "day",
            "days",
            "week",
            "month",
            "year",
            "hours",
            "min",
            "from",
            "now",
            "tomorrow",
            "tonight",
            "today",
            "friday",
            "sun",
            "weekday",
            "weekend",
            "morning",
            "dec",
            "feb",
            "29",
            "31st",
            "0",
            "-1",
            "999999",
            "12/24",
            "13/13",
            "2026-12-24",
            "2999-12-31",
            "9999-01-01",
            "5pm",
            "13pm",
            "24:00",
            "9.30",
            "17h",
            "noon",
            "a",
            "half",
            "an",
            "hour",
            "end",
            "by",
            "é",
            "\u{3000}",
            "İ",
            "\u{212a}",
            "2026-12-24T09:30",
            "due",
            "-",
            ",",
        ];
        let zones = [tz(U), tz(KIR), tz(PAGO), tz(BER)];
        let edge_nows = [
            now(),
            utc("2999-12-31T23:59:00Z"),
            utc("1900-01-01T12:00:00Z"),
        ];
        let mut seed: u64 = 42;
        let mut pick = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vocabulary[(seed >> 33) as usize % vocabulary.len()]
        };
        for round in 0..20_000 {
            let words: Vec<&str> = (0..(round % 6 + 1)).map(|_| pick()).collect();
            let text = words.join(if round % 3 == 0 { "\u{3000}" } else { " " });
            let zone = zones[round % zones.len()];
            let now = edge_nows[round % edge_nows.len()];
            if let Ok(due) = parse_due(&text, now, zone) {
                let _ = due.next_occurrence(now);
            }
            let (title, _) = split_due(&format!("Task {text}"), now, zone);
            assert!(!title.is_empty());
        }
    }
}
