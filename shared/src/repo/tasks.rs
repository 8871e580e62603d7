//! Task statements.

use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use tracing::instrument;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::{
    DueChange, NewTask, Task, TaskId, TaskPage, TaskPatch, TaskQuery, UserId, Zone,
};
use crate::due::{Due, Recurrence};
use crate::history::Origin;
use crate::organise::{Counts, CursorKey, INBOX, Order, PageCursor, Priority, Sort, View};

/// The columns every task statement returns, in the order `task_from_row` reads them.
/// Each is followed by the name of the task's list: [`list_of!`], or [`list_after!`] in a statement
/// that may create the list.
macro_rules! task_columns {
    () => {
        "id, title, description, completed, created_at, updated_at, completed_at, \
         due_date, due_time, due_tz, due_rule, priority, tags"
    };
}

/// The name of the list of the row of `tasks` aliased `$t` (NULL: the Inbox).
macro_rules! list_of {
    ($t:literal) => {
        concat!(
            "(SELECT name FROM lists l WHERE l.user_id = ",
            $t,
            ".user_id AND l.id = ",
            $t,
            ".list_id)"
        )
    };
}

/// [`list_of!`] in a statement whose `lst` CTE may have just created the list, which the
/// statement's own reads cannot see yet.
macro_rules! list_after {
    () => {
        concat!(
            "coalesce((SELECT name FROM lst WHERE lst.id = tasks.list_id), ",
            list_of!("tasks"),
            ")"
        )
    };
}

/// Puts the user (`$user`) on the list named `$name` (NULL: none, or the Inbox) when `$when`
/// holds, creating it if the user has no list of that name (in any case): the CTE `lst(id, name)`.
/// An existing list keeps its name as first written.
macro_rules! list_upsert {
    ($user:literal, $name:literal, $when:literal) => {
        concat!(
            "lst AS (INSERT INTO lists (user_id, name) SELECT ",
            $user,
            ", ",
            $name,
            " WHERE ",
            $name,
            " IS NOT NULL AND ",
            $when,
            " ON CONFLICT (user_id, key) DO UPDATE SET name = lists.name RETURNING id, name)"
        )
    };
}

/// The columns a task keeps in the trash (migration V10), as in `tasks`.
macro_rules! trash_columns {
    () => {
        "user_id, id, title, description, completed, created_at, updated_at, completed_at, \
         due_date, due_time, due_tz, due_at, due_rule, last_completed_at, priority, tags, list_id"
    };
}

/// How long a deleted task stays in the trash, as an SQL interval ([`TRASH_DAYS`]).
macro_rules! trash_days {
    () => {
        "interval '30 days'"
    };
}

/// Days a deleted task stays in the trash before a sweep removes it.
pub const TRASH_DAYS: i64 = 30;

/// How many columns `task_columns!()` and the list name after it make.
pub(super) const TASK_COLUMNS: usize = 14;

fn task_from_row(row: &Row) -> Task {
    task_at(row, 0)
}

/// The task whose `task_columns!()` start at column `at`.
fn task_at(row: &Row, at: usize) -> Task {
    Task {
        id: row.get(at),
        title: row.get(at + 1),
        description: row.get(at + 2),
        completed: row.get(at + 3),
        created_at: row.get(at + 4),
        updated_at: row.get(at + 5),
        completed_at: row.get(at + 6),
        due: due_at(row, at + 7),
        priority: Priority::from_level(row.get(at + 11)),
        tags: row.get(at + 12),
        list: row
            .get::<_, Option<String>>(at + 13)
            .unwrap_or_else(|| INBOX.to_owned()),
    }
}

/// The due of the row whose `due_date, due_time, due_tz, due_rule` start at column `at`. The
/// columns hold only what the API validated; a zone or rule this build cannot read (from a newer
/// tz database, say) degrades to UTC or to no recurrence instead of failing the request.
fn due_at(row: &Row, at: usize) -> Option<Due> {
    let date: NaiveDate = row.get::<_, Option<NaiveDate>>(at)?;
    let time: Option<NaiveTime> = row.get(at + 1);
    let zone = Zone::parse(row.get::<_, Option<&str>>(at + 2).unwrap_or("UTC")).unwrap_or_default();
    let recurrence = row
        .get::<_, Option<&str>>(at + 3)
        .and_then(|rule| Recurrence::parse(rule).ok());
    Some(Due::new(date, time, zone.tz(), recurrence, Utc::now()))
}

/// A due as the five column values `due_date, due_time, due_tz, due_at, due_rule`.
struct DueColumns<'a> {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    tz: Option<&'a str>,
    at: Option<DateTime<Utc>>,
    rule: Option<&'a str>,
}

impl<'a> DueColumns<'a> {
    fn of(due: Option<&'a Due>) -> Self {
        Self {
            date: due.map(|d| d.date),
            time: due.and_then(|d| d.time),
            tz: due.map(|d| d.timezone.as_str()),
            at: due.and_then(|d| d.at),
            rule: due.and_then(|d| d.recurrence.as_ref().map(|r| r.rule.as_str())),
        }
    }
}

/// What a write did: changed a task, found none, or was refused by a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Task(Task),
    NotFound,
    /// Over the writes-per-minute limit: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The user has as many tasks as allowed.
    TooManyTasks,
    /// The change asked to complete a recurring task: everything else in it is applied, and the
    /// task stays pending until [`advance_recurring`] moves its due to the next occurrence.
    Recurring(Task),
}

/// Seconds until the end of the minute a `users` row counts writes in.
macro_rules! retry_after {
    () => {
        "ceil(extract(epoch FROM write_minute + interval '1 minute' - now()))::int AS retry_after"
    };
}

/// The user's writes in the current minute, this one included, as an expression in a `users` upsert
/// aliased `u` (`excluded` is the row the upsert would have inserted).
macro_rules! writes_now {
    () => {
        "(CASE WHEN u.write_minute = excluded.write_minute THEN u.writes + 1 ELSE 1 END)"
    };
}

/// Counts one write in the user's current minute (`$user`) against the limit (`$limit`) in the
/// user's `users` row, and says whether it is allowed and how long until the minute ends. Rows:
/// `allowed(ok, retry_after)`.
macro_rules! write_quota {
    ($user:literal, $limit:literal) => {
        concat!(
            "WITH allowed AS (INSERT INTO users AS u (user_id, write_minute, writes)",
            " VALUES (",
            $user,
            ", date_trunc('minute', now()), 1)",
            " ON CONFLICT (user_id) DO UPDATE SET writes = ",
            writes_now!(),
            ",",
            " write_minute = excluded.write_minute",
            " RETURNING writes <= ",
            $limit,
            " AS ok, ",
            retry_after!(),
            ")"
        )
    };
}

/// The task's rule after an `update_task` (`$8` set the due, `$13` its rule, `$14` keep the old).
macro_rules! rule_after {
    () => {
        "(CASE WHEN NOT $8 OR $14 AND due_rule IS NOT NULL THEN due_rule ELSE $13 END)"
    };
}

/// Reads the one row of a quota-guarded write: `ok, retry_after, extra, task columns…`.
pub(super) fn written(rows: &[Row]) -> Result<Written, DbError> {
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("a guarded write returned no row")))?;
    if !row.get::<_, bool>(0) {
        let secs: i32 = row.get(1);
        return Ok(Written::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        });
    }
    if !row.get::<_, bool>(2) {
        return Ok(Written::TooManyTasks);
    }
    Ok(match row.get::<_, Option<i64>>(3) {
        // An update's last column says whether it completed a recurring task.
        Some(_) if row.len() > 3 + TASK_COLUMNS && row.get::<_, bool>(3 + TASK_COLUMNS) => {
            Written::Recurring(task_at(row, 3))
        }
        Some(_) => Written::Task(task_at(row, 3)),
        None => Written::NotFound,
    })
}

/// The tasks of rows that start with `task_columns!()` and the list name.
pub(super) fn task_rows(rows: &[Row]) -> Vec<Task> {
    rows.iter().map(task_from_row).collect()
}

fn first_task(rows: Vec<Row>) -> Option<Task> {
    rows.first().map(task_from_row)
}

/// Creates a task owned by `user`, within the writes-per-minute and tasks-per-user limits, in one
/// statement.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn insert_task(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    task: &NewTask,
    limits: &Limits,
) -> Result<Written, DbError> {
    let description = task.description.as_ref().map(|d| d.as_str());
    let due = DueColumns::of(task.due.as_ref());
    let tags: Vec<&str> = task.tags.iter().map(|t| t.as_str()).collect();
    let list = task.list.as_ref().map(|l| l.as_str());
    let rows = client
        .query_typed(
            concat!(
                // One update of the user's row counts the write and, when it is allowed and the
                // user has room, the task and its number; `added` keeps that decision for the
                // insert below. Concurrent creates by one user queue on this row, so their numbers
                // are consecutive, and the row outlives deletes, so a number is never reused.
                "WITH allowed AS (INSERT INTO users AS u",
                " (user_id, tasks, last_task_no, write_minute, writes, added)",
                " VALUES ($1, CASE WHEN 1 <= $4 AND 0 < $5 THEN 1 ELSE 0 END,",
                " CASE WHEN 1 <= $4 AND 0 < $5 THEN 1 ELSE 0 END,",
                " date_trunc('minute', now()), 1, 1 <= $4 AND 0 < $5)",
                " ON CONFLICT (user_id) DO UPDATE SET writes = ",
                writes_now!(),
                ",",
                " write_minute = excluded.write_minute,",
                " added = ",
                writes_now!(),
                " <= $4 AND u.tasks < $5,",
                " tasks = u.tasks + CASE WHEN ",
                writes_now!(),
                " <= $4 AND u.tasks < $5",
                " THEN 1 ELSE 0 END,",
                " last_task_no = u.last_task_no + CASE WHEN ",
                writes_now!(),
                " <= $4 AND u.tasks < $5 THEN 1 ELSE 0 END",
                " RETURNING writes <= $4 AS ok, added, last_task_no, ",
                retry_after!(),
                "),",
                " ",
                list_upsert!("$1", "$13", "(SELECT added FROM allowed)"),
                ",",
                " ins AS (INSERT INTO tasks (user_id, id, title, description,",
                " due_date, due_time, due_tz, due_at, due_rule, priority, tags, list_id,",
                " via, via_turn)",
                " SELECT $1, allowed.last_task_no, $2, $3, $6, $7, $8, $9, $10, $11, $12,",
                " (SELECT id FROM lst), $14, $15",
                " FROM allowed WHERE allowed.added RETURNING ",
                task_columns!(),
                ", ",
                list_after!(),
                ") SELECT allowed.ok, allowed.retry_after, allowed.added OR NOT allowed.ok, ins.*",
                " FROM allowed LEFT JOIN ins ON true"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&task.title.as_str(), Type::TEXT),
                (&description, Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&limits.tasks_per_user, Type::INT8),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.tz, Type::TEXT),
                (&due.at, Type::TIMESTAMPTZ),
                (&due.rule, Type::TEXT),
                (&task.priority.level(), Type::INT2),
                (&tags, Type::TEXT_ARRAY),
                (&list, Type::TEXT),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    written(&rows)
}

/// One of `user`'s tasks; `None` when it does not exist or belongs to someone else.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn get_task(
    client: &impl Executor,
    user: &UserId,
    id: TaskId,
) -> Result<Option<Task>, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                ", ",
                list_of!("tasks"),
                " FROM tasks WHERE id = $1 AND user_id = $2"
            ),
            &[(&id.get(), Type::INT8), (&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(first_task(rows))
}

/// The date it is in the user's (`$1`) zone, read in the statement itself: a scalar subquery,
/// so it is computed once per statement and not once per row it is compared with.
macro_rules! today {
    () => {
        "(SELECT smart_todo_today((SELECT timezone FROM users WHERE user_id = $1)))"
    };
}

/// A statement assembled for one listing: its text and its typed parameters, `$1` the user.
/// A listing has too many shapes (filters × sorts) for one fixed statement each; every value is
/// still a parameter.
pub struct ListSql {
    pub text: String,
    params: Vec<(Box<dyn ToSql + Sync + Send>, Type)>,
}

impl ListSql {
    fn new(user: &UserId) -> Self {
        let mut sql = Self {
            text: String::new(),
            params: Vec::new(),
        };
        sql.bind(user.as_str().to_owned(), Type::TEXT);
        sql
    }

    /// Adds a parameter and returns its placeholder.
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static, ty: Type) -> String {
        self.params.push((Box::new(value), ty));
        format!("${}", self.params.len())
    }

    pub fn params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.params
            .iter()
            .map(|(value, ty)| (value.as_ref() as &(dyn ToSql + Sync), ty.clone()))
            .collect()
    }
}

/// `q` as a prefix query on the `search` column: each word of letters and digits must start a
/// word of the title or description ("dent app" finds "Dentist appointment"). `None` when `q` has
/// no such word.
pub fn search_query(text: &str) -> Option<String> {
    // A combining accent (U+0300–U+036F, as decomposed text writes "é") belongs to its word; the
    // statement folds it away.
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && !('\u{300}'..='\u{36f}').contains(&c))
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

/// The conditions of a listing after `t.user_id = $1`, and the search query when there is one
/// (the relevance sort ranks by it).
fn conditions(sql: &mut ListSql, query: &TaskQuery) -> (String, Option<String>) {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(done) = query.status.completed() {
        let p = sql.bind(done, Type::BOOL);
        let _ = write!(out, " AND t.completed = {p}");
    }
    match query.view {
        View::All => {}
        View::Today => {
            let _ = write!(out, " AND t.due_sort < ({} + 1)::timestamp", today!());
        }
        View::Overdue => {
            let _ = write!(
                out,
                " AND t.due_sort < ({today} + 1)::timestamp \
                 AND (t.due_sort < {today}::timestamp OR t.due_at < now())",
                today = today!()
            );
        }
        View::Upcoming => {
            let _ = write!(
                out,
                " AND t.due_sort >= ({today} + 1)::timestamp \
                 AND t.due_sort < ({today} + 8)::timestamp",
                today = today!()
            );
        }
        View::NoDate => {
            out.push_str(
                " AND t.due_sort = timestamp '9999-12-31 23:59:59' AND t.due_date IS NULL",
            );
        }
    }
    let mut tsquery = None;
    if let Some(text) = &query.text {
        match search_query(text) {
            Some(words) => {
                let p = sql.bind(words, Type::TEXT);
                // smart_todo_fold (migration V9) written out: PostgreSQL would inline the call
                // anyway, but pg_stat_statements then counts the function's body as a statement
                // of its own on every plan, which would hide a real second statement.
                let q = format!(
                    "to_tsquery('simple', regexp_replace(normalize(lower({p}), NFD), \
                     '[\\u0300-\\u036f]', '', 'g'))"
                );
                let _ = write!(out, " AND t.search @@ {q}");
                tsquery = Some(q);
            }
            None => out.push_str(" AND false"),
        }
    }
    match &query.list {
        None => {}
        Some(list) if list.is_inbox() => out.push_str(" AND t.list_id IS NULL"),
        Some(list) => {
            let p = sql.bind(list.as_str().to_owned(), Type::TEXT);
            let _ = write!(
                out,
                " AND t.list_id = (SELECT id FROM lists WHERE user_id = $1 AND key = lower({p}))"
            );
        }
    }
    if let Some(tag) = &query.tag {
        let p = sql.bind(vec![tag.as_str().to_owned()], Type::TEXT_ARRAY);
        let _ = write!(out, " AND t.tags @> {p}");
    }
    if let Some(priority) = query.priority {
        let p = sql.bind(priority.level(), Type::INT2);
        let _ = write!(out, " AND t.priority = {p}");
    }
    // Each date bound also as a bound on `due_sort`, which the due indexes can range over.
    if let Some(before) = query.due_before {
        let p = sql.bind(before, Type::DATE);
        let _ = write!(out, " AND t.due_date < {p} AND t.due_sort < {p}::timestamp");
    }
    if let Some(after) = query.due_after {
        let p = sql.bind(after, Type::DATE);
        let _ = write!(
            out,
            " AND t.due_date > {p} AND t.due_sort >= ({p} + 1)::timestamp"
        );
    }
    (out, tsquery)
}

/// The expression a sort orders by (after which the task number breaks ties); `None` for the
/// created sort, which is the number itself.
fn sort_key(sort: Sort, tsquery: Option<&str>) -> Option<String> {
    Some(match sort {
        Sort::Created => return None,
        Sort::Due => "t.due_sort".into(),
        Sort::Priority => "t.priority".into(),
        Sort::Updated => "t.updated_at".into(),
        Sort::Title => "lower(t.title)".into(),
        // The edge refuses the relevance sort without `q`; `q` without words matches nothing.
        Sort::Relevance => format!("ts_rank(t.search, {})", tsquery.unwrap_or("''::tsquery")),
    })
}

/// The statement of one page of a listing: each row the task columns, the list name, the sort
/// key (`sort_key`, but for the created sort) and, `with_total`, how many tasks match on every
/// page (`total`, a subquery run once).
pub fn list_sql(user: &UserId, query: &TaskQuery, with_total: bool) -> ListSql {
    let mut sql = ListSql::new(user);
    let (conds, tsquery) = conditions(&mut sql, query);
    let key = sort_key(query.sort, tsquery.as_deref());
    let (cmp, dir) = match query.order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    let mut text = format!("SELECT {}, {}", task_columns!(), list_of!("t"));
    if let Some(expr) = &key {
        text.push_str(&format!(", {expr} AS sort_key"));
    }
    if with_total {
        text.push_str(&format!(
            ", (SELECT count(*) FROM tasks t WHERE t.user_id = $1{conds}) AS total"
        ));
    }
    text.push_str(&format!(" FROM tasks t WHERE t.user_id = $1{conds}"));
    if let Some(after) = &query.after {
        let id = sql.bind(after.last_id, Type::INT8);
        match (&key, &after.key) {
            (Some(expr), Some(last)) => {
                let k = match last.clone() {
                    CursorKey::Due(at) => sql.bind(at, Type::TIMESTAMP),
                    CursorKey::Updated(at) => sql.bind(at, Type::TIMESTAMPTZ),
                    CursorKey::Level(level) => sql.bind(level, Type::INT2),
                    CursorKey::Title(title) => sql.bind(title, Type::TEXT),
                    CursorKey::Rank(bits) => sql.bind(f32::from_bits(bits), Type::FLOAT4),
                };
                text.push_str(&format!(" AND ({expr}, t.id) {cmp} ({k}, {id})"));
            }
            _ => text.push_str(&format!(" AND t.id {cmp} {id}")),
        }
    }
    match &key {
        Some(expr) => text.push_str(&format!(" ORDER BY {expr} {dir}, t.id {dir}")),
        None => text.push_str(&format!(" ORDER BY t.id {dir}")),
    }
    // One row more than the page, to know whether another page follows.
    let fetch = sql.bind(query.limit.get() + 1, Type::INT8);
    text.push_str(&format!(" LIMIT {fetch}"));
    sql.text = text;
    sql
}

/// The key the cursor after this row carries, read from the listing's `sort_key` column.
fn key_of(row: &Row, sort: Sort) -> Option<CursorKey> {
    let at = TASK_COLUMNS;
    Some(match sort {
        Sort::Created => return None,
        Sort::Due => CursorKey::Due(row.get(at)),
        Sort::Updated => CursorKey::Updated(row.get(at)),
        Sort::Priority => CursorKey::Level(row.get(at)),
        Sort::Title => CursorKey::Title(row.get(at)),
        Sort::Relevance => CursorKey::Rank(row.get::<_, f32>(at).to_bits()),
    })
}

/// A page of `user`'s tasks, filtered, sorted and continued after `query.after`, in one
/// statement; `with_total`, also how many match on every page.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn list_tasks(
    client: &impl Executor,
    user: &UserId,
    query: &TaskQuery,
    with_total: bool,
) -> Result<TaskPage, DbError> {
    let sql = list_sql(user, query, with_total);
    let rows = client.query_unprepared(&sql.text, &sql.params()).await?;
    let total = match rows.first() {
        _ if !with_total => None,
        Some(row) => Some(row.get::<_, i64>(row.len() - 1)),
        // An empty page has no row to carry the total: only past the end of a listing (or of an
        // empty one) does it take a second statement.
        None if query.after.is_none() => Some(0),
        None => {
            let first = TaskQuery {
                after: None,
                limit: crate::domain::PageLimit::new(1).expect("in range"),
                ..query.clone()
            };
            let sql = list_sql(user, &first, true);
            let rows = client.query_unprepared(&sql.text, &sql.params()).await?;
            Some(
                rows.first()
                    .map_or(0, |row| row.get::<_, i64>(row.len() - 1)),
            )
        }
    };
    let limit = query.limit.get() as usize;
    let next_cursor = (rows.len() > limit).then(|| {
        let last = &rows[limit - 1];
        PageCursor {
            sort: query.sort,
            order: query.order,
            filters: query.fingerprint(),
            key: key_of(last, query.sort),
            last_id: last.get(0),
        }
    });
    let tasks = rows.iter().take(limit).map(task_from_row).collect();
    Ok(TaskPage {
        tasks,
        next_cursor,
        total,
    })
}

/// Words that name no task: "the meeting task" is the task "meeting".
pub const FILLER: [&str; 14] = [
    "the", "a", "an", "my", "task", "tasks", "item", "one", "todo", "to-do", "that", "this",
    "about", "called",
];

/// What a search by name found: the tasks the words name, or else the closest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The tasks whose title is the words (ignoring case), or else every task whose title holds
    /// each word; pending first.
    pub matches: Vec<Task>,
    /// Whether more than `matches` match.
    pub more: bool,
    /// With no match: tasks whose words start as a word of the name does (`dentst` → "Dentist
    /// appointment"), best first.
    pub closest: Vec<Task>,
}

/// The words of a task's name that say something, in lower case.
pub fn name_terms(words: &str) -> Vec<String> {
    words
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_owned)
        .collect()
}

/// The user's tasks that `words` name, at most `limit`: an exact title first; else the titles
/// holding every word; with none, the closest (one more statement).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn find_tasks(
    client: &impl Executor,
    user: &UserId,
    words: &str,
    limit: i64,
) -> Result<Found, DbError> {
    let terms = name_terms(words);
    let patterns: Vec<String> = terms
        .iter()
        .map(|t| {
            format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        })
        .collect();
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                ", ",
                list_of!("t"),
                ", lower(t.title) = lower($2) AS exact FROM tasks t WHERE t.user_id = $1",
                " AND (lower(t.title) = lower($2)",
                "  OR (cardinality($3::text[]) > 0 AND lower(t.title) LIKE ALL ($3)))",
                " ORDER BY exact DESC, t.completed, t.id LIMIT $4"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&words.trim(), Type::TEXT),
                (&patterns, Type::TEXT_ARRAY),
                (&(limit + 1), Type::INT8),
            ],
        )
        .await?;
    let exact = rows.first().is_some_and(|r| r.get::<_, bool>(TASK_COLUMNS));
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| !exact || r.get::<_, bool>(TASK_COLUMNS))
        .collect();
    let more = rows.len() as i64 > limit;
    let matches: Vec<Task> = rows
        .into_iter()
        .take(limit as usize)
        .map(task_from_row)
        .collect();
    if !matches.is_empty() {
        return Ok(Found {
            matches,
            more,
            closest: vec![],
        });
    }
    // The first three letters of each word, any of them.
    let prefixes: Vec<String> = terms
        .iter()
        .filter(|t| t.chars().count() >= 3)
        .filter_map(|t| search_query(&t.chars().take(3).collect::<String>()))
        .collect();
    if prefixes.is_empty() {
        return Ok(Found {
            matches,
            more,
            closest: vec![],
        });
    }
    let query = prefixes.join(" | ");
    let rows = client
        .query_typed(
            concat!(
                "SELECT ",
                task_columns!(),
                ", ",
                list_of!("t"),
                " FROM tasks t WHERE t.user_id = $1",
                " AND t.search @@ to_tsquery('simple', $2)",
                " ORDER BY ts_rank(t.search, to_tsquery('simple', $2)) DESC, t.completed, t.id",
                " LIMIT 5"
            ),
            &[(&user.as_str(), Type::TEXT), (&query, Type::TEXT)],
        )
        .await?;
    Ok(Found {
        matches,
        more,
        closest: rows.iter().map(task_from_row).collect(),
    })
}

/// Pending-task counts of each view and the totals, for the sidebar.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn count_tasks(client: &impl Executor, user: &UserId) -> Result<Counts, DbError> {
    let rows = client
        .query_typed(
            concat!(
                // Only the pending tasks are counted, from one index; the completed ones are the
                // rest of the user's total, which `users.tasks` keeps (see migration V6).
                "WITH z AS MATERIALIZED (SELECT ",
                today!(),
                " AS today),",
                " p AS (SELECT",
                " count(*) FILTER (WHERE due_sort < (z.today + 1)::timestamp) AS today,",
                " count(*) FILTER (WHERE due_sort < (z.today + 1)::timestamp",
                "   AND (due_sort < z.today::timestamp OR due_at < now())) AS overdue,",
                " count(*) FILTER (WHERE due_sort >= (z.today + 1)::timestamp",
                "   AND due_sort < (z.today + 8)::timestamp) AS upcoming,",
                " count(*) FILTER (WHERE due_sort = timestamp '9999-12-31 23:59:59') AS no_date,",
                " count(*) AS pending",
                " FROM z, tasks WHERE tasks.user_id = $1 AND tasks.completed = false)",
                " SELECT p.today, p.overdue, p.upcoming, p.no_date, p.pending,",
                " greatest(coalesce((SELECT tasks FROM users WHERE user_id = $1), 0) - p.pending, 0)::bigint",
                " FROM p"
            ),
            &[(&user.as_str(), Type::TEXT)],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("a count returned no row")))?;
    Ok(Counts {
        today: row.get(0),
        overdue: row.get(1),
        upcoming: row.get(2),
        no_date: row.get(3),
        pending: row.get(4),
        completed: row.get(5),
    })
}

/// Applies a partial change within the writes-per-minute limit. Completing sets `completed_at`
/// once (repeating it keeps the first time); reopening clears it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn update_task(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    patch: &TaskPatch,
    limits: &Limits,
) -> Result<Written, DbError> {
    let title = patch.title.as_ref().map(|t| t.as_str());
    let set_description = patch.description.is_some();
    let description = patch
        .description
        .as_ref()
        .and_then(|d| d.as_ref().map(|d| d.as_str()));
    let (set_due, due, keep_rule) = match &patch.due {
        None => (false, DueColumns::of(None), true),
        Some(DueChange::Clear) => (true, DueColumns::of(None), false),
        Some(DueChange::Set { due, keep_rule }) => (true, DueColumns::of(Some(due)), *keep_rule),
    };
    let priority = patch.priority.map(Priority::level);
    let tags: Option<Vec<&str>> = patch
        .tags
        .as_ref()
        .map(|tags| tags.iter().map(|t| t.as_str()).collect());
    let set_list = patch.list.is_some();
    let list = patch
        .list
        .as_ref()
        .and_then(|l| l.as_ref().map(|l| l.as_str()));
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$7"),
                // $17: move the task to the list named $18 (NULL: the Inbox).
                ", ",
                list_upsert!(
                    "$2",
                    "$18",
                    "$17 AND (SELECT ok FROM allowed) AND EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND user_id = $2)"
                ),
                // $8: set the due to $9–$13; $14: keep the task's rule when it has one.
                ", changed AS (UPDATE tasks SET",
                " title = coalesce($3, title),",
                " description = CASE WHEN $4 THEN $5 ELSE description END,",
                // Completing a task that is recurring after this change leaves it pending: the
                // caller moves it to its next occurrence.
                " completed = CASE WHEN $6 AND ",
                rule_after!(),
                " IS NOT NULL THEN completed",
                "   ELSE coalesce($6, completed) END,",
                " completed_at = CASE WHEN $6 IS NULL THEN completed_at",
                "   WHEN $6 AND ",
                rule_after!(),
                " IS NOT NULL THEN completed_at",
                "   WHEN $6 THEN coalesce(completed_at, now()) ELSE NULL END,",
                " due_date = CASE WHEN $8 THEN $9 ELSE due_date END,",
                " due_time = CASE WHEN $8 THEN $10 ELSE due_time END,",
                " due_tz = CASE WHEN $8 THEN $11 ELSE due_tz END,",
                " due_at = CASE WHEN $8 THEN $12 ELSE due_at END,",
                " due_rule = ",
                rule_after!(),
                ",",
                // $15 NULL: the priority stays; $16 NULL: the tags stay.
                " priority = coalesce($15, priority), tags = coalesce($16, tags),",
                " list_id = CASE WHEN $17 THEN (SELECT id FROM lst) ELSE list_id END,",
                " updated_at = now(), via = $19, via_turn = $20",
                " WHERE id = $1 AND user_id = $2 AND (SELECT ok FROM allowed) RETURNING ",
                task_columns!(),
                ", ",
                list_after!(),
                ", $6 IS TRUE AND due_rule IS NOT NULL AND NOT completed",
                ") SELECT allowed.ok, allowed.retry_after, true, changed.*",
                " FROM allowed LEFT JOIN changed ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&title, Type::TEXT),
                (&set_description, Type::BOOL),
                (&description, Type::TEXT),
                (&patch.completed, Type::BOOL),
                (&limits.writes_per_minute, Type::INT4),
                (&set_due, Type::BOOL),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.tz, Type::TEXT),
                (&due.at, Type::TIMESTAMPTZ),
                (&due.rule, Type::TEXT),
                (&keep_rule, Type::BOOL),
                (&priority, Type::INT2),
                (&tags, Type::TEXT_ARRAY),
                (&set_list, Type::BOOL),
                (&list, Type::TEXT),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    written(&rows)
}

/// Flips completion (the Phase II `PATCH …/complete` route), within the writes-per-minute limit.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn toggle_task(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Written, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$3"),
                // Flipping a pending recurring task completes it: it stays pending, and the
                // caller moves it to its next occurrence.
                ", changed AS (UPDATE tasks SET",
                " completed = NOT completed AND due_rule IS NULL,",
                " completed_at = CASE WHEN completed OR due_rule IS NOT NULL THEN NULL",
                "   ELSE now() END, updated_at = now(), via = $4, via_turn = $5",
                " WHERE id = $1 AND user_id = $2 AND (SELECT ok FROM allowed) RETURNING ",
                task_columns!(),
                ", ",
                list_of!("tasks"),
                ", due_rule IS NOT NULL",
                ") SELECT allowed.ok, allowed.retry_after, true, changed.*",
                " FROM allowed LEFT JOIN changed ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    written(&rows)
}

/// Moves a task to the trash and returns what it was, within the writes-per-minute limit. The
/// user's tasks deleted more than [`TRASH_DAYS`] days ago leave the trash with it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn delete_task(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    limits: &Limits,
) -> Result<Written, DbError> {
    let rows = client
        .query_typed(
            concat!(
                write_quota!("$2", "$3"),
                ", gone AS (DELETE FROM tasks WHERE id = $1 AND user_id = $2",
                " AND (SELECT ok FROM allowed) RETURNING *, ",
                list_of!("tasks"),
                " AS list_name),",
                " swept AS (DELETE FROM trash WHERE user_id = $2 AND deleted_at < now() - ",
                trash_days!(),
                " AND EXISTS (SELECT 1 FROM gone)),",
                " binned AS (INSERT INTO trash (",
                trash_columns!(),
                ", deleted_via, deleted_turn) SELECT ",
                trash_columns!(),
                ", $4, $5 FROM gone)",
                " SELECT allowed.ok, allowed.retry_after, true, g.*",
                " FROM allowed LEFT JOIN (SELECT ",
                task_columns!(),
                ", list_name FROM gone) g ON true"
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    written(&rows)
}

/// Moves a recurring task from the occurrence due on `from` to `next`, recording the completion.
/// `None` when the task no longer is due on `from` (another request moved it first): one
/// completion of an occurrence moves it once, however many tabs sent it.
#[instrument(skip_all, fields(user_id = %user, task_id = %id))]
pub async fn advance_recurring(
    client: &impl Executor,
    user: &UserId,
    origin: &Origin,
    id: TaskId,
    from: NaiveDate,
    next: &Due,
) -> Result<Option<Task>, DbError> {
    let due = DueColumns::of(Some(next));
    let rows = client
        .query_typed(
            concat!(
                "UPDATE tasks SET due_date = $3, due_time = $4, due_at = $5,",
                " last_completed_at = now(), updated_at = now(), via = $7, via_turn = $8",
                " WHERE id = $1 AND user_id = $2 AND due_date = $6 AND due_rule IS NOT NULL",
                " RETURNING ",
                task_columns!(),
                ", ",
                list_of!("tasks")
            ),
            &[
                (&id.get(), Type::INT8),
                (&user.as_str(), Type::TEXT),
                (&due.date, Type::DATE),
                (&due.time, Type::TIME),
                (&due.at, Type::TIMESTAMPTZ),
                (&from, Type::DATE),
                (&origin.source.as_str(), Type::TEXT),
                (&origin.turn_uuid(), Type::UUID),
            ],
        )
        .await?;
    Ok(first_task(rows))
}
