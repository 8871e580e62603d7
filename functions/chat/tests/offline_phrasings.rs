//! The offline assistant against the phrasings people type, checked in PostgreSQL: each row sets
//! up a few tasks for a user of its own (through the task tools, as the REST API and MCP run
//! them), says one thing (or a few, in one conversation), and checks the rows it changed (title,
//! priority, tags, list, due date, rule, completion) and what the reply listed. One database per
//! group; every failing row is reported with its phrasing before the test fails.

mod common;

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use common::App;
use serde_json::{Value, json};
use smart_todo_shared::history::Origin;
use smart_todo_shared::test_support::user;

/// What a row expects afterwards.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The user has this many tasks.
    Count(usize),
    Title(i64, &'static str),
    /// Priority level 0 (none) to 3 (high).
    Priority(i64, i16),
    /// The list the task is on ("Inbox" for none).
    List(i64, &'static str),
    Tags(i64, &'static [&'static str]),
    /// Due this many days from today (UTC), at this time or all day.
    DueIn(i64, i64, Option<&'static str>),
    /// Due as `parse_due` reads this phrase now (date, time and rule).
    DueLike(i64, &'static str),
    NoDue(i64),
    Done(i64, bool),
    /// The user's own lists, by name (sorted; the Inbox is not one).
    Lists(&'static [&'static str]),
    /// The reply contains each of these.
    Shows(&'static [&'static str]),
    /// The reply contains none of these.
    Hides(&'static [&'static str]),
    /// These appear in the reply in this order.
    Order(&'static [&'static str]),
    /// The turn called this tool.
    Called(&'static str),
    /// No task or list of the user changed.
    Unchanged,
}

use Expect::*;

/// One phrasing: the setup (add_task arguments as JSON, or "done N"), what the user says (turns
/// separated by " || ", in one conversation) and what must hold afterwards.
struct Row {
    setup: &'static [&'static str],
    say: &'static str,
    expect: &'static [Expect],
}

const fn row(setup: &'static [&'static str], say: &'static str, expect: &'static [Expect]) -> Row {
    Row { setup, say, expect }
}

/// Four plain tasks: 1 Call the bank, 2 Buy milk, 3 Dentist appointment, 4 Write the report.
const FOUR: &[&str] = &[
    r#"{"title": "Call the bank"}"#,
    r#"{"title": "Buy milk"}"#,
    r#"{"title": "Dentist appointment"}"#,
    r#"{"title": "Write the report"}"#,
];

/// Organised tasks: 1 Buy milk (Shopping, #errands), 2 Fix the printer (Work, high, #office),
/// 3 Call mom (Inbox, #family #home), 4 Buy eggs (Shopping, low), 5 Quarterly report (Work,
/// #office), 6 Water plants (Inbox, #home, completed).
const ORGANISED: &[&str] = &[
    r#"{"title": "Buy milk", "list": "Shopping", "tags": ["errands"]}"#,
    r#"{"title": "Fix the printer", "list": "Work", "priority": "high", "tags": ["office"]}"#,
    r#"{"title": "Call mom", "tags": ["family", "home"]}"#,
    r#"{"title": "Buy eggs", "list": "Shopping", "priority": "low"}"#,
    r#"{"title": "Quarterly report", "list": "Work", "tags": ["office"]}"#,
    r#"{"title": "Water plants", "tags": ["home"]}"#,
    "done 6",
];

/// Dated tasks: 1 Pay rent (yesterday), 2 Call mom (today), 3 Dentist (tomorrow 9:30), 4 Team
/// lunch (in 3 days), 5 Plan holiday (no date), 6 File taxes (in 20 days), 7 Old chore
/// (yesterday, completed).
const DATED: &[&str] = &[
    r#"{"title": "Pay rent", "due": "yesterday"}"#,
    r#"{"title": "Call mom", "due": "today"}"#,
    r#"{"title": "Dentist", "due": "tomorrow at 9:30"}"#,
    r#"{"title": "Team lunch", "due": "in 3 days"}"#,
    r#"{"title": "Plan holiday"}"#,
    r#"{"title": "File taxes", "due": "in 20 days"}"#,
    r#"{"title": "Old chore", "due": "yesterday"}"#,
    "done 7",
];

/// One task's stored state.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    id: i64,
    title: String,
    priority: i16,
    tags: Vec<String>,
    list: String,
    due_date: Option<NaiveDate>,
    due_time: Option<NaiveTime>,
    due_rule: Option<String>,
    completed: bool,
}

async fn stored(client: &tokio_postgres::Client, who: &str) -> Vec<Stored> {
    client
        .query(
            "SELECT t.id, t.title, t.priority, t.tags, coalesce(l.name, 'Inbox'), t.due_date, \
             t.due_time, t.due_rule, t.completed \
             FROM tasks t LEFT JOIN lists l ON l.user_id = t.user_id AND l.id = t.list_id \
             WHERE t.user_id = $1 ORDER BY t.id",
            &[&who],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Stored {
            id: r.get(0),
            title: r.get(1),
            priority: r.get(2),
            tags: r.get(3),
            list: r.get(4),
            due_date: r.get(5),
            due_time: r.get(6),
            due_rule: r.get(7),
            completed: r.get(8),
        })
        .collect()
}

async fn list_names(client: &tokio_postgres::Client, who: &str) -> Vec<String> {
    client
        .query(
            "SELECT name FROM lists WHERE user_id = $1 ORDER BY name",
            &[&who],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn set_up(app: &App, client: &tokio_postgres::Client, who: &str, setup: &[&str]) {
    let limits = smart_todo_shared::config::Limits::default();
    for step in setup {
        let (name, arguments) = match step.strip_prefix("done ") {
            Some(id) => (
                "complete_task",
                json!({"task_id": id.parse::<i64>().unwrap()}),
            ),
            None => ("add_task", serde_json::from_str::<Value>(step).unwrap()),
        };
        smart_todo_shared::tools::call(client, &user(who), &Origin::REST, &limits, name, arguments)
            .await
            .unwrap_or_else(|e| panic!("setup {step} for {who}: {e}"));
    }
    let _ = app;
}

/// Runs every row, each for a user of its own, and fails with every failing row's phrasing.
async fn run(group: &str, rows: &[Row]) {
    let app = App::offline().await;
    let client = app.db.raw_client().await;
    let mut failures = vec![];
    for (n, row) in rows.iter().enumerate() {
        let who = format!("{group}{n}");
        set_up(&app, &client, &who, row.setup).await;
        let before = (stored(&client, &who).await, list_names(&client, &who).await);
        let mut conversation: Option<String> = None;
        let mut reply = String::new();
        let mut tools: Vec<String> = vec![];
        for said in row.say.split(" || ") {
            let answer = app.chat(&who, conversation.as_deref(), said).await;
            if answer.status != 200 {
                failures.push(format!(
                    "[{group} {n}] {:?}: status {} {}",
                    row.say, answer.status, answer.body
                ));
                continue;
            }
            conversation = answer.body["conversation_id"].as_str().map(str::to_owned);
            reply = answer.body["response"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            tools.extend(
                answer.body["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| c["name"].as_str().unwrap_or_default().to_owned()),
            );
        }
        if std::env::var_os("PHRASINGS_VERBOSE").is_some() {
            println!("[{group} {n}] {:?} {tools:?}\n{reply}\n", row.say);
        }
        let tasks = stored(&client, &who).await;
        let lists = list_names(&client, &who).await;
        let task = |id: i64| tasks.iter().find(|t| t.id == id);
        let today = Utc::now().date_naive();
        for expect in row.expect {
            let ok = match *expect {
                Count(n) => tasks.len() == n,
                Title(id, title) => task(id).is_some_and(|t| t.title == title),
                Priority(id, level) => task(id).is_some_and(|t| t.priority == level),
                List(id, list) => task(id).is_some_and(|t| t.list == list),
                Tags(id, tags) => task(id).is_some_and(|t| t.tags == tags),
                DueIn(id, days, time) => task(id).is_some_and(|t| {
                    t.due_date == Some(today + Duration::days(days))
                        && t.due_time
                            == time.map(|s| NaiveTime::parse_from_str(s, "%H:%M").unwrap())
                }),
                DueLike(id, phrase) => {
                    let due = smart_todo_shared::due::parse_due(
                        phrase,
                        Utc::now(),
                        smart_todo_shared::domain::Zone::UTC.tz(),
                    )
                    .unwrap();
                    task(id).is_some_and(|t| {
                        t.due_date == Some(due.date)
                            && t.due_time == due.time
                            && t.due_rule == due.recurrence.as_ref().map(|r| r.rule.clone())
                    })
                }
                NoDue(id) => task(id).is_some_and(|t| t.due_date.is_none()),
                Done(id, done) => task(id).is_some_and(|t| t.completed == done),
                Lists(names) => lists == names,
                Shows(texts) => texts.iter().all(|t| reply.contains(t)),
                Hides(texts) => !texts.iter().any(|t| reply.contains(t)),
                Order(texts) => {
                    let at: Vec<Option<usize>> = texts.iter().map(|t| reply.find(t)).collect();
                    at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1])
                }
                Called(tool) => tools.iter().any(|t| t == tool),
                Unchanged => (tasks.clone(), lists.clone()) == before,
            };
            if !ok {
                failures.push(format!(
                    "[{group} {n}] {:?}: expected {expect:?}\n    reply: {reply:?}\n    tools: {tools:?}\n    tasks: {tasks:?}\n    lists: {lists:?}",
                    row.say
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows' expectations failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn priorities() {
    let rows = [
        // On add.
        row(
            &[],
            "add urgent: call the bank",
            &[
                Title(1, "Call the bank"),
                Priority(1, 3),
                Shows(&["high priority"]),
            ],
        ),
        row(
            &[],
            "add call the bank, high priority",
            &[Title(1, "Call the bank"), Priority(1, 3)],
        ),
        row(
            &[],
            "add pay rent !high",
            &[Title(1, "Pay rent"), Priority(1, 3)],
        ),
        row(
            &[],
            "add an urgent task to call the bank",
            &[Title(1, "Call the bank"), Priority(1, 3)],
        ),
        row(
            &[],
            "Add a high priority task to renew my passport",
            &[Title(1, "Renew my passport"), Priority(1, 3)],
        ),
        row(
            &[],
            "add call the plumber (urgent)",
            &[Title(1, "Call the plumber"), Priority(1, 3)],
        ),
        row(
            &[],
            "add pay the invoice - important",
            &[Title(1, "Pay the invoice"), Priority(1, 3)],
        ),
        row(
            &[],
            "add important: sign the contract",
            &[Title(1, "Sign the contract"), Priority(1, 3)],
        ),
        row(
            &[],
            "add low priority: clean the garage",
            &[Title(1, "Clean the garage"), Priority(1, 1)],
        ),
        row(
            &[],
            "add clean the garage, low priority",
            &[Title(1, "Clean the garage"), Priority(1, 1)],
        ),
        row(
            &[],
            "add medium priority task to review the budget",
            &[Title(1, "Review the budget"), Priority(1, 2)],
        ),
        row(
            &[],
            "add review the budget with medium priority",
            &[Title(1, "Review the budget"), Priority(1, 2)],
        ),
        row(
            &[],
            "add water the lawn !low",
            &[Title(1, "Water the lawn"), Priority(1, 1)],
        ),
        row(
            &[],
            "add book flights !!!",
            &[Title(1, "Book flights"), Priority(1, 3)],
        ),
        row(
            &[],
            "add call the bank high priority tomorrow",
            &[Title(1, "Call the bank"), Priority(1, 3), DueIn(1, 1, None)],
        ),
        row(
            &[],
            "add renew insurance asap",
            &[Title(1, "Renew insurance"), Priority(1, 3)],
        ),
        row(
            &[],
            "add submit the form, it's urgent",
            &[Title(1, "Submit the form"), Priority(1, 3)],
        ),
        // On a task by number.
        row(
            FOUR,
            "make task 3 high priority",
            &[
                Priority(3, 3),
                Priority(1, 0),
                Shows(&["Task 3", "high priority"]),
            ],
        ),
        row(FOUR, "make task 2 low priority", &[Priority(2, 1)]),
        row(FOUR, "set task 1 to medium priority", &[Priority(1, 2)]),
        row(
            FOUR,
            "mark task 4 as urgent",
            &[Priority(4, 3), Done(4, false)],
        ),
        row(FOUR, "mark task 4 as important", &[Priority(4, 3)]),
        row(
            FOUR,
            "change the priority of task 2 to high",
            &[Priority(2, 3)],
        ),
        row(FOUR, "set task 2 priority to low", &[Priority(2, 1)]),
        row(
            FOUR,
            "set the priority of task 1 to medium",
            &[Priority(1, 2)],
        ),
        row(FOUR, "prioritize task 1", &[Priority(1, 3)]),
        row(FOUR, "task 2 is urgent", &[Priority(2, 3)]),
        row(
            FOUR,
            "change task 2 to high priority",
            &[Priority(2, 3), Title(2, "Buy milk")],
        ),
        row(FOUR, "flag task 4", &[Priority(4, 3)]),
        row(FOUR, "make task 1 urgent", &[Priority(1, 3)]),
        // By name.
        row(
            FOUR,
            "set the dentist task to low priority",
            &[
                Priority(3, 1),
                Shows(&["Dentist appointment", "low priority"]),
            ],
        ),
        row(
            FOUR,
            "make the report task high priority",
            &[Priority(4, 3)],
        ),
        row(FOUR, "the milk task is low priority", &[Priority(2, 1)]),
        row(
            FOUR,
            "mark the bank task as high priority",
            &[Priority(1, 3)],
        ),
        // Removing it.
        row(
            &[
                r#"{"title": "Call the bank", "priority": "high"}"#,
                r#"{"title": "Buy milk", "priority": "low"}"#,
            ],
            "remove the priority from task 2",
            &[Priority(2, 0), Priority(1, 3), Shows(&["no priority"])],
        ),
        row(
            &[r#"{"title": "Call the bank", "priority": "high"}"#],
            "clear the priority on task 1",
            &[Priority(1, 0)],
        ),
        row(
            &[r#"{"title": "Call the bank", "priority": "high"}"#],
            "set task 1 to no priority",
            &[Priority(1, 0)],
        ),
        row(
            &[r#"{"title": "Call the bank", "priority": "high"}"#],
            "remove the priority from the bank task",
            &[Priority(1, 0)],
        ),
        row(
            &[r#"{"title": "Call the bank", "priority": "high"}"#],
            "task 1 has no priority",
            &[Priority(1, 0)],
        ),
    ];
    run("prio", &rows).await;
}

#[tokio::test]
async fn lists() {
    let rows = [
        row(
            &[],
            "add milk to my shopping list",
            &[
                Title(1, "Milk"),
                List(1, "Shopping"),
                Lists(&["Shopping"]),
                Shows(&["Shopping list"]),
            ],
        ),
        row(
            &[],
            "add eggs to the groceries list",
            &[
                Title(1, "Eggs"),
                List(1, "Groceries"),
                Lists(&["Groceries"]),
            ],
        ),
        row(
            &[],
            "put bread on my shopping list",
            &[Title(1, "Bread"), List(1, "Shopping")],
        ),
        row(
            &[],
            "add milk to my Shopping List",
            &[Title(1, "Milk"), List(1, "Shopping")],
        ),
        row(
            &[],
            "add prepare slides to my work list tomorrow",
            &[
                Title(1, "Prepare slides"),
                List(1, "Work"),
                DueIn(1, 1, None),
            ],
        ),
        row(
            &[],
            "add pay the gas bill ~home",
            &[Title(1, "Pay the gas bill"), List(1, "Home")],
        ),
        row(
            &[],
            "add call the plumber to my home list #urgent",
            &[
                Title(1, "Call the plumber"),
                List(1, "Home"),
                Tags(1, &["urgent"]),
            ],
        ),
        row(
            &[r#"{"title": "Buy milk", "list": "Shopping"}"#],
            "add cheese to my shopping list",
            &[
                Title(2, "Cheese"),
                List(2, "Shopping"),
                Lists(&["Shopping"]),
            ],
        ),
        row(
            &[],
            "add book the venue to the party planning list",
            &[Title(1, "Book the venue"), List(1, "Party planning")],
        ),
        row(
            &[],
            "add call mom to the inbox",
            &[Title(1, "Call mom"), List(1, "Inbox"), Lists(&[])],
        ),
        // Moving a task.
        row(
            FOUR,
            "put task 4 on my work list",
            &[
                List(4, "Work"),
                Lists(&["Work"]),
                Shows(&["Task 4", "Work list"]),
            ],
        ),
        row(FOUR, "move task 4 to the work list", &[List(4, "Work")]),
        row(
            FOUR,
            "move task 2 to my shopping list",
            &[List(2, "Shopping")],
        ),
        row(FOUR, "move task 4 to work", &[List(4, "Work")]),
        row(
            FOUR,
            "add task 2 to my shopping list",
            &[List(2, "Shopping"), Count(4)],
        ),
        row(
            FOUR,
            "move the report task to the work list",
            &[List(4, "Work")],
        ),
        row(
            FOUR,
            "file the dentist task under my health list",
            &[List(3, "Health")],
        ),
        row(
            &[r#"{"title": "Write the report", "list": "Work"}"#],
            "move the report task to the inbox",
            &[List(1, "Inbox"), Shows(&["Inbox"])],
        ),
        row(
            &[r#"{"title": "Write the report", "list": "Work"}"#],
            "move task 1 to my inbox",
            &[List(1, "Inbox")],
        ),
        row(
            &[r#"{"title": "Write the report", "list": "Work"}"#],
            "remove task 1 from the work list",
            &[List(1, "Inbox"), Count(1)],
        ),
        row(
            &[r#"{"title": "Write the report", "list": "Work"}"#],
            "take task 1 off my work list",
            &[List(1, "Inbox"), Count(1)],
        ),
        row(
            &[r#"{"title": "Write the report", "list": "Work"}"#],
            "change the list of task 1 to home",
            &[List(1, "Home")],
        ),
        // Asking about lists.
        row(
            ORGANISED,
            "what's on my work list",
            &[
                Shows(&["Fix the printer", "Quarterly report"]),
                Hides(&["Buy milk", "Call mom"]),
            ],
        ),
        row(
            ORGANISED,
            "show my shopping list",
            &[
                Shows(&["Buy milk", "Buy eggs"]),
                Hides(&["Fix the printer", "Call mom"]),
            ],
        ),
        row(
            ORGANISED,
            "what's in my inbox?",
            &[
                Shows(&["Call mom"]),
                Hides(&["Buy milk", "Fix the printer", "Water plants"]),
            ],
        ),
        row(
            ORGANISED,
            "show everything on the work list",
            &[
                Shows(&["Fix the printer", "Quarterly report"]),
                Hides(&["Buy eggs"]),
            ],
        ),
        row(
            ORGANISED,
            "what lists do I have",
            &[Called("list_lists"), Shows(&["Inbox", "Shopping", "Work"])],
        ),
        row(
            ORGANISED,
            "show my lists",
            &[
                Called("list_lists"),
                Shows(&["Shopping: 2 pending of 2", "Work: 2 pending of 2"]),
            ],
        ),
        row(
            ORGANISED,
            "which lists are there?",
            &[Called("list_lists"), Shows(&["Work"])],
        ),
        row(
            &[],
            "what lists do I have?",
            &[Called("list_lists"), Shows(&["only have your Inbox"])],
        ),
    ];
    run("list", &rows).await;
}

#[tokio::test]
async fn tags() {
    let rows = [
        row(
            &[],
            "add buy stamps #errands",
            &[
                Title(1, "Buy stamps"),
                Tags(1, &["errands"]),
                Shows(&["#errands"]),
            ],
        ),
        row(
            &[],
            "add buy stamps tomorrow #errands #post",
            &[
                Title(1, "Buy stamps"),
                Tags(1, &["errands", "post"]),
                DueIn(1, 1, None),
            ],
        ),
        row(
            &[],
            "add pick up the parcel tagged errands",
            &[Title(1, "Pick up the parcel"), Tags(1, &["errands"])],
        ),
        row(
            &[],
            "add pick up the parcel tagged errands and home",
            &[
                Title(1, "Pick up the parcel"),
                Tags(1, &["errands", "home"]),
            ],
        ),
        row(
            &[],
            "add fix bug #42 #work",
            &[Title(1, "Fix bug #42"), Tags(1, &["work"])],
        ),
        row(
            FOUR,
            "tag task 2 with errands",
            &[Tags(2, &["errands"]), Tags(1, &[]), Shows(&["#errands"])],
        ),
        row(FOUR, "tag the milk task #errands", &[Tags(2, &["errands"])]),
        row(
            FOUR,
            "tag task 2 with errands and shopping",
            &[Tags(2, &["errands", "shopping"])],
        ),
        row(FOUR, "tag task 3 as health", &[Tags(3, &["health"])]),
        row(
            FOUR,
            "add the errands tag to task 2",
            &[Tags(2, &["errands"]), Count(4)],
        ),
        row(
            FOUR,
            "add #work to the report task",
            &[Tags(4, &["work"]), Count(4)],
        ),
        row(FOUR, "label task 1 as finance", &[Tags(1, &["finance"])]),
        row(
            ORGANISED,
            "tag task 3 with urgent",
            &[Tags(3, &["family", "home", "urgent"])],
        ),
        row(
            ORGANISED,
            "tag task 1 #errands",
            &[Tags(1, &["errands"]), Shows(&["already tagged"])],
        ),
        row(
            ORGANISED,
            "untag task 3",
            &[Tags(3, &[]), Shows(&["no tags"])],
        ),
        row(
            ORGANISED,
            "remove the home tag from task 3",
            &[Tags(3, &["family"])],
        ),
        row(
            ORGANISED,
            "remove #family from task 3",
            &[Tags(3, &["home"])],
        ),
        row(
            ORGANISED,
            "remove the family tag from the mom task",
            &[Tags(3, &["home"])],
        ),
        row(ORGANISED, "remove all tags from task 3", &[Tags(3, &[])]),
        row(ORGANISED, "clear the tags on task 2", &[Tags(2, &[])]),
        row(
            ORGANISED,
            "take the errands tag off task 1",
            &[Tags(1, &[])],
        ),
        row(
            ORGANISED,
            "remove the work tag from task 1",
            &[Tags(1, &["errands"]), Shows(&["isn't tagged"])],
        ),
        row(
            ORGANISED,
            "show tasks tagged office",
            &[
                Shows(&["Fix the printer", "Quarterly report"]),
                Hides(&["Buy milk", "Call mom"]),
            ],
        ),
        row(
            ORGANISED,
            "what's tagged #home",
            &[
                Shows(&["Call mom"]),
                Hides(&["Fix the printer", "Buy milk", "Water plants"]),
            ],
        ),
        row(
            ORGANISED,
            "show all tasks tagged home",
            &[Shows(&["Call mom", "Water plants"]), Hides(&["Buy milk"])],
        ),
        row(
            ORGANISED,
            "show tasks with the errands tag",
            &[
                Shows(&["Buy milk"]),
                Hides(&["Call mom", "Fix the printer"]),
            ],
        ),
        row(
            ORGANISED,
            "list my #family tasks",
            &[Shows(&["Call mom"]), Hides(&["Buy milk"])],
        ),
    ];
    run("tags", &rows).await;
}

#[tokio::test]
async fn views() {
    let rows = [
        row(
            DATED,
            "what's due today?",
            &[
                Shows(&["Call mom", "Pay rent"]),
                Hides(&["Dentist", "Team lunch", "Plan holiday", "Old chore"]),
            ],
        ),
        row(
            DATED,
            "what do I have today",
            &[Shows(&["Call mom"]), Hides(&["Team lunch", "Plan holiday"])],
        ),
        row(
            DATED,
            "anything overdue?",
            &[
                Shows(&["Pay rent"]),
                Hides(&["Call mom", "Dentist", "Old chore"]),
            ],
        ),
        row(
            DATED,
            "what's overdue",
            &[Shows(&["Pay rent"]), Hides(&["Team lunch"])],
        ),
        row(
            DATED,
            "am I late on anything?",
            &[Shows(&["Pay rent"]), Hides(&["Plan holiday"])],
        ),
        row(
            DATED,
            "what's coming up this week?",
            &[
                Shows(&["Dentist", "Team lunch"]),
                Hides(&["Pay rent", "File taxes", "Plan holiday"]),
            ],
        ),
        row(
            DATED,
            "what's upcoming",
            &[Shows(&["Dentist", "Team lunch"]), Hides(&["File taxes"])],
        ),
        row(
            DATED,
            "show my upcoming tasks",
            &[Shows(&["Team lunch"]), Hides(&["Plan holiday"])],
        ),
        row(
            DATED,
            "show tasks without a date",
            &[
                Shows(&["Plan holiday"]),
                Hides(&["Pay rent", "Dentist", "File taxes"]),
            ],
        ),
        row(
            DATED,
            "which tasks have no due date?",
            &[Shows(&["Plan holiday"]), Hides(&["Call mom"])],
        ),
        row(
            DATED,
            "list my unscheduled tasks",
            &[Shows(&["Plan holiday"]), Hides(&["Team lunch"])],
        ),
        row(
            DATED,
            "what do I have tomorrow",
            &[
                Shows(&["Dentist", "due tomorrow"]),
                Hides(&["Team lunch", "Call mom", "Pay rent"]),
            ],
        ),
        row(
            DATED,
            "anything due tomorrow?",
            &[Shows(&["Dentist"]), Hides(&["Team lunch"])],
        ),
        row(
            DATED,
            "what's due today, by priority",
            &[Shows(&["Call mom", "Pay rent"]), Hides(&["Dentist"])],
        ),
        row(
            DATED,
            "show overdue tasks I've completed",
            &[Shows(&["Old chore"]), Hides(&["Pay rent"])],
        ),
        row(
            DATED,
            "what's pending?",
            &[
                Shows(&["Pay rent", "Plan holiday", "File taxes"]),
                Hides(&["Old chore"]),
            ],
        ),
        row(
            DATED,
            "show my tasks by due date",
            &[Order(&[
                "Pay rent",
                "Call mom",
                "Dentist",
                "Team lunch",
                "File taxes",
                "Plan holiday",
            ])],
        ),
        row(
            DATED,
            "sort by due date",
            &[Order(&["Pay rent", "Dentist", "File taxes"])],
        ),
        row(&[], "what's due today?", &[Shows(&["no tasks due today"])]),
        row(
            &[],
            "what do I have tomorrow?",
            &[Shows(&["nothing due tomorrow"])],
        ),
    ];
    run("view", &rows).await;
}

#[tokio::test]
async fn search_and_sort() {
    let searchable: &[&str] = &[
        r#"{"title": "Dentist appointment"}"#,
        r#"{"title": "Pay the invoice from Acme", "priority": "low"}"#,
        r#"{"title": "Call the bank about the loan", "priority": "high"}"#,
        r#"{"title": "Bank holiday trip", "priority": "medium"}"#,
        r#"{"title": "Buy milk"}"#,
    ];
    let rows = [
        row(
            searchable,
            "find the dentist task",
            &[
                Shows(&["Dentist appointment"]),
                Hides(&["Buy milk", "invoice"]),
            ],
        ),
        row(
            searchable,
            "search for invoice",
            &[
                Shows(&["Pay the invoice from Acme"]),
                Hides(&["Dentist", "Buy milk"]),
            ],
        ),
        row(
            searchable,
            "look for tasks about the bank",
            &[
                Shows(&["Call the bank", "Bank holiday trip"]),
                Hides(&["Dentist", "Buy milk"]),
            ],
        ),
        row(
            searchable,
            "any tasks about the loan?",
            &[
                Shows(&["Call the bank about the loan"]),
                Hides(&["Bank holiday"]),
            ],
        ),
        row(
            searchable,
            "do I have anything about milk",
            &[Shows(&["Buy milk"]), Hides(&["Dentist"])],
        ),
        row(
            searchable,
            "search acme",
            &[Shows(&["Acme"]), Hides(&["Buy milk"])],
        ),
        row(
            searchable,
            "where is the dentist task?",
            &[Shows(&["Dentist appointment"]), Hides(&["Buy milk"])],
        ),
        row(
            searchable,
            "find holiday",
            &[Shows(&["Bank holiday trip"]), Hides(&["Call the bank"])],
        ),
        row(
            searchable,
            "search for passport",
            &[Shows(&["no tasks matching"]), Hides(&["Buy milk"])],
        ),
        row(
            searchable,
            "show my tasks by priority",
            &[Order(&[
                "Call the bank",
                "Bank holiday",
                "Pay the invoice",
                "Dentist",
            ])],
        ),
        row(
            searchable,
            "sort my tasks by priority",
            &[Order(&["Call the bank", "Bank holiday", "Pay the invoice"])],
        ),
        row(
            searchable,
            "list my tasks alphabetically",
            &[Order(&[
                "Bank holiday",
                "Buy milk",
                "Call the bank",
                "Dentist",
                "Pay the invoice",
            ])],
        ),
        row(
            searchable,
            "show my tasks newest first",
            &[Order(&["Buy milk", "Bank holiday", "Dentist"])],
        ),
        row(
            searchable,
            "what's urgent?",
            &[
                Shows(&["Call the bank"]),
                Hides(&["Bank holiday", "Dentist", "Buy milk"]),
            ],
        ),
        row(
            searchable,
            "show high priority tasks",
            &[Shows(&["Call the bank"]), Hides(&["Pay the invoice"])],
        ),
        row(
            searchable,
            "show low priority tasks",
            &[Shows(&["Pay the invoice"]), Hides(&["Call the bank"])],
        ),
        row(
            searchable,
            "anything important?",
            &[Shows(&["Call the bank"]), Hides(&["Buy milk"])],
        ),
        row(
            searchable,
            "show tasks with no priority",
            &[
                Shows(&["Dentist", "Buy milk"]),
                Hides(&["Call the bank", "Pay the invoice"]),
            ],
        ),
        row(
            searchable,
            "find bank tasks by priority",
            &[
                Order(&["Call the bank", "Bank holiday"]),
                Hides(&["Buy milk"]),
            ],
        ),
    ];
    run("find", &rows).await;
}

#[tokio::test]
async fn dates_and_recurrence() {
    let rows = [
        row(
            &[],
            "add call mom tomorrow at 5pm",
            &[
                Title(1, "Call mom"),
                DueIn(1, 1, Some("17:00")),
                Shows(&["at 17:00"]),
            ],
        ),
        row(
            &[],
            "add buy milk tomorrow",
            &[Title(1, "Buy milk"), DueIn(1, 1, None)],
        ),
        row(
            &[],
            "add call the bank in 3 days",
            &[Title(1, "Call the bank"), DueIn(1, 3, None)],
        ),
        row(
            &[],
            "add pay rent every month on the 1st",
            &[
                Title(1, "Pay rent"),
                DueLike(1, "every month on the 1st"),
                Shows(&["every"]),
            ],
        ),
        row(
            &[],
            "remind me to water the plants every morning",
            &[Title(1, "Water the plants"), DueLike(1, "every morning")],
        ),
        row(
            &[],
            "add standup every weekday at 9",
            &[Title(1, "Standup"), DueLike(1, "every weekday at 9")],
        ),
        row(
            &[],
            "add dentist dec 24 9:30",
            &[
                Title(1, "Dentist"),
                DueLike(1, "dec 24 9:30"),
                Shows(&["at 09:30"]),
            ],
        ),
        row(
            &[],
            "add call mom friday at 5pm",
            &[Title(1, "Call mom"), DueLike(1, "friday at 5pm")],
        ),
        row(
            &[],
            "add submit the report by end of month",
            &[Title(1, "Submit the report"), DueLike(1, "end of month")],
        ),
        row(
            &[],
            "add enjoy the sun",
            &[Title(1, "Enjoy the sun"), NoDue(1)],
        ),
        row(
            FOUR,
            "move task 3 to friday",
            &[DueLike(3, "friday"), List(3, "Inbox")],
        ),
        row(
            FOUR,
            "reschedule task 2 to tomorrow at 10am",
            &[DueIn(2, 1, Some("10:00")), Shows(&["at 10:00"])],
        ),
        row(
            FOUR,
            "postpone the dentist task to next monday",
            &[DueLike(3, "next monday")],
        ),
        row(FOUR, "set task 3 due friday", &[DueLike(3, "friday")]),
        row(
            FOUR,
            "change the due date of task 3 to in 2 days",
            &[DueIn(3, 2, None)],
        ),
        row(FOUR, "make task 1 due tomorrow", &[DueIn(1, 1, None)]),
        row(
            FOUR,
            "make task 4 repeat every monday",
            &[DueLike(4, "every monday")],
        ),
        row(
            FOUR,
            "task 2 is due tomorrow at 3pm",
            &[DueIn(2, 1, Some("15:00"))],
        ),
        row(
            FOUR,
            "change task 1 to tomorrow",
            &[DueIn(1, 1, None), Title(1, "Call the bank")],
        ),
        row(
            &[r#"{"title": "Dentist", "due": "tomorrow"}"#],
            "remove the due date from task 1",
            &[NoDue(1), Shows(&["no due date"])],
        ),
        row(
            &[r#"{"title": "Dentist", "due": "tomorrow"}"#],
            "task 1 has no due date",
            &[NoDue(1)],
        ),
        row(
            &[r#"{"title": "Dentist", "due": "tomorrow"}"#],
            "clear the date on the dentist task",
            &[NoDue(1)],
        ),
        row(
            &[r#"{"title": "Water plants", "due": "every day"}"#],
            "mark task 1 as complete",
            &[Done(1, false), DueIn(1, 1, None), Shows(&["next due"])],
        ),
    ];
    run("date", &rows).await;
}

/// Phrasings that must not create a list or a tag, or change anything.
#[tokio::test]
async fn negative_cases() {
    let rows = [
        row(
            &[],
            "add a task to buy groceries",
            &[Title(1, "Buy groceries"), Lists(&[]), Tags(1, &[])],
        ),
        row(
            &[],
            "add call mom to my list",
            &[Title(1, "Call mom"), Lists(&[])],
        ),
        row(
            &[],
            "add call mom to my todo list",
            &[Title(1, "Call mom"), Lists(&[])],
        ),
        row(
            &[],
            "add talk to the list owner",
            &[Title(1, "Talk to the list owner"), Lists(&[])],
        ),
        row(
            &[],
            "add check the shopping list",
            &[Title(1, "Check the shopping list"), Lists(&[])],
        ),
        row(
            &[],
            "add write a packing list",
            &[Title(1, "Write a packing list"), Lists(&[])],
        ),
        row(
            &[],
            "add send the guest list to Anna",
            &[Title(1, "Send the guest list to Anna"), Lists(&[])],
        ),
        row(
            &[],
            "add eggs to groceries",
            &[Title(1, "Eggs to groceries"), Lists(&[])],
        ),
        row(
            &[],
            "add important meeting notes",
            &[Title(1, "Important meeting notes"), Priority(1, 0)],
        ),
        row(
            &[],
            "add email Bob about the urgent report",
            &[
                Title(1, "Email Bob about the urgent report"),
                Priority(1, 0),
            ],
        ),
        row(
            &[],
            "add fix issue #42",
            &[Title(1, "Fix issue #42"), Tags(1, &[])],
        ),
        row(
            &[],
            "add tag the holiday photos",
            &[Title(1, "Tag the holiday photos"), Tags(1, &[])],
        ),
        row(
            &[],
            "add move the car",
            &[Title(1, "Move the car"), Count(1)],
        ),
        row(&[], "add find my keys", &[Title(1, "Find my keys")]),
        row(&[], "add sort the mail", &[Title(1, "Sort the mail")]),
        row(
            FOUR,
            "what's on my list",
            &[Unchanged, Shows(&["Call the bank", "Write the report"])],
        ),
        row(FOUR, "show my tasks by priority", &[Unchanged]),
        row(FOUR, "what lists do I have", &[Unchanged, Lists(&[])]),
        row(
            FOUR,
            "find the dentist task",
            &[Unchanged, Shows(&["Dentist appointment"])],
        ),
        row(ORGANISED, "show my shopping list", &[Unchanged]),
        row(ORGANISED, "show tasks tagged errands", &[Unchanged]),
        row(
            FOUR,
            "make task 9 high priority",
            &[Unchanged, Shows(&["couldn't"])],
        ),
        row(
            FOUR,
            "tag task 9 with errands",
            &[Unchanged, Shows(&["couldn't"])],
        ),
        row(
            FOUR,
            "set the gym task to low priority",
            &[Unchanged, Shows(&["couldn't find"])],
        ),
        row(FOUR, "qwertyuiop", &[Unchanged, Shows(&["Sorry"])]),
        row(
            &[
                r#"{"title": "Team meeting"}"#,
                r#"{"title": "Meeting notes"}"#,
            ],
            "make the meeting task urgent",
            &[Unchanged, Shows(&["Which one", "#1", "#2"])],
        ),
        row(
            &[
                r#"{"title": "Team meeting"}"#,
                r#"{"title": "Meeting notes"}"#,
            ],
            "make the meeting task urgent || 2",
            &[Priority(2, 3), Priority(1, 0)],
        ),
        row(
            &[
                r#"{"title": "Team meeting"}"#,
                r#"{"title": "Meeting notes"}"#,
            ],
            "tag the meeting task #work || the first one",
            &[Tags(1, &["work"]), Tags(2, &[])],
        ),
    ];
    run("neg", &rows).await;
}

/// The same requests, said other ways: politely, with curly apostrophes, in capitals, combined.
#[tokio::test]
async fn variants() {
    let rows = [
        row(
            &[],
            "Please add milk and eggs to my shopping list",
            &[Title(1, "Milk and eggs"), List(1, "Shopping")],
        ),
        row(
            &[],
            "can you add call the dentist to my health list on monday?",
            &[
                Title(1, "Call the dentist"),
                List(1, "Health"),
                DueLike(1, "monday"),
            ],
        ),
        row(
            &[],
            "Remind me to pay rent every month on the 1st, high priority",
            &[
                Title(1, "Pay rent"),
                Priority(1, 3),
                DueLike(1, "every month on the 1st"),
            ],
        ),
        row(
            &[],
            "ADD BUY MILK TO MY SHOPPING LIST",
            &[Title(1, "BUY MILK"), List(1, "SHOPPING")],
        ),
        row(
            &[],
            "add a task to renew the passport #admin !high ~Paperwork",
            &[
                Title(1, "Renew the passport"),
                Tags(1, &["admin"]),
                Priority(1, 3),
                List(1, "Paperwork"),
            ],
        ),
        row(
            &[],
            "add \"Book the venue\" to my party list",
            &[Title(1, "Book the venue"), List(1, "Party")],
        ),
        row(
            &[],
            "new task: water the plants every morning",
            &[Title(1, "Water the plants"), DueLike(1, "every morning")],
        ),
        row(
            &[],
            "I need to call the bank tomorrow at 9am, it's urgent",
            &[
                Title(1, "Call the bank"),
                Priority(1, 3),
                DueIn(1, 1, Some("09:00")),
            ],
        ),
        row(
            DATED,
            "what\u{2019}s overdue?",
            &[Shows(&["Pay rent"]), Hides(&["Team lunch"])],
        ),
        row(
            DATED,
            "Can you show me what's due today?",
            &[Shows(&["Call mom"]), Hides(&["Dentist"])],
        ),
        row(
            DATED,
            "anything coming up soon?",
            &[Shows(&["Team lunch"]), Hides(&["Plan holiday"])],
        ),
        row(
            ORGANISED,
            "please show my work list by priority",
            &[
                Order(&["Fix the printer", "Quarterly report"]),
                Hides(&["Buy milk"]),
            ],
        ),
        row(
            ORGANISED,
            "what's left on my shopping list?",
            &[Shows(&["Buy milk", "Buy eggs"]), Hides(&["Call mom"])],
        ),
        row(
            ORGANISED,
            "show completed tasks tagged home",
            &[Shows(&["Water plants"]), Hides(&["Call mom"])],
        ),
        row(
            ORGANISED,
            "list everything in the inbox",
            &[Shows(&["Call mom", "Water plants"]), Hides(&["Buy milk"])],
        ),
        row(
            ORGANISED,
            "put the printer task on my home list",
            &[List(2, "Home"), Count(6)],
        ),
        row(
            ORGANISED,
            "move the milk task to my work list",
            &[List(1, "Work")],
        ),
        row(
            ORGANISED,
            "could you tag the printer task with urgent?",
            &[Tags(2, &["office", "urgent"])],
        ),
        row(
            ORGANISED,
            "make the eggs task high priority",
            &[Priority(4, 3)],
        ),
        row(ORGANISED, "lower task 2 to low priority", &[Priority(2, 1)]),
        row(
            ORGANISED,
            "change the tags of task 3 to family and weekend",
            &[Tags(3, &["family", "weekend"])],
        ),
        row(
            FOUR,
            "Mark task 3 as high priority",
            &[Priority(3, 3), Done(3, false)],
        ),
        row(FOUR, "remove task 2 from my list", &[Count(3)]),
        row(
            FOUR,
            "what\u{2019}s on my todo list",
            &[Shows(&["Call the bank", "Write the report"]), Unchanged],
        ),
        row(
            FOUR,
            "show me my to-do list",
            &[Shows(&["Buy milk"]), Unchanged],
        ),
    ];
    run("var", &rows).await;
}

/// The spec's commands, as before.
#[tokio::test]
async fn the_spec_commands() {
    let rows = [
        row(
            &[],
            "add buy groceries",
            &[
                Title(1, "Buy groceries"),
                Shows(&["Added \"Buy groceries\" to your list as task 1."]),
            ],
        ),
        row(
            &[],
            "I need to remember to pay bills",
            &[Title(1, "Pay bills")],
        ),
        row(
            FOUR,
            "What's pending?",
            &[Shows(&["Call the bank", "Write the report"]), Unchanged],
        ),
        row(
            FOUR,
            "mark task 3 as complete",
            &[Done(3, true), Done(2, false)],
        ),
        row(
            &[r#"{"title": "Team meeting"}"#, r#"{"title": "Buy milk"}"#],
            "delete the meeting task",
            &[Count(1), Title(2, "Buy milk")],
        ),
        row(
            FOUR,
            "change task 1 to 'Call mom tonight'",
            &[Title(1, "Call mom tonight")],
        ),
        row(
            FOUR,
            "rename task 3 to Buy oat milk",
            &[Title(3, "Buy oat milk")],
        ),
        row(
            &[
                r#"{"title": "Team meeting"}"#,
                r#"{"title": "Meeting notes"}"#,
            ],
            "delete the meeting task || 2",
            &[Count(1), Title(1, "Team meeting")],
        ),
        row(
            FOUR,
            "mark task 3 as complete || What have I completed?",
            &[Shows(&["Dentist appointment"]), Hides(&["Buy milk"])],
        ),
        row(FOUR, "remove task 2", &[Count(3)]),
    ];
    run("spec", &rows).await;
}

/// A listing with more tasks than one page says how many there are and that it shows the first.
#[tokio::test]
async fn a_long_listing_says_it_shows_only_the_first_page() {
    let app = App::offline().await;
    let client = app.db.raw_client().await;
    let limits = smart_todo_shared::config::Limits::default();
    for batch in 0..5 {
        let tasks: Vec<Value> = (1..=25)
            .map(|k| json!({"title": format!("Chore {}", batch * 25 + k)}))
            .collect();
        smart_todo_shared::tools::call(
            &client,
            &user("pager"),
            &Origin::REST,
            &limits,
            "add_tasks",
            json!({ "tasks": tasks }),
        )
        .await
        .unwrap();
    }
    let reply = app.chat("pager", None, "show me all my tasks").await;
    let text = reply.body["response"].as_str().unwrap();
    assert!(
        text.contains("125 tasks in all") && text.contains("the first 100"),
        "{text}"
    );
    assert!(text.contains("25 more"), "{text}");
    assert!(
        text.contains("Chore 100") && !text.contains("Chore 101"),
        "{text}"
    );
    let pending = app.chat("pager", None, "what's pending?").await;
    let text = pending.body["response"].as_str().unwrap();
    assert!(text.contains("125 pending tasks in all"), "{text}");
}
