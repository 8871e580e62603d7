//! The trust scenarios (undo, history, confirmations, ambiguity, several items, a question's
//! buttons) through the OpenAI engine: the fake server is scripted per scenario and validates every
//! request as OpenAI does, and each test checks what the model was sent — the date and zone in the
//! system prompt, the tool schemas, the stored history of earlier turns, the tool results — and
//! what the database holds afterwards.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{App, FakeOpenAi, Script, done_items, input, model_requests, strict_openai};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A fake model following `scripts`, an app using it, and alice in Europe/Berlin.
async fn scenario(scripts: Vec<Script>) -> (FakeOpenAi, App) {
    let (fake, model) = strict_openai(scripts, TIMEOUT).await;
    let app = App::with_model(model).await;
    app.db
        .raw_client()
        .await
        .batch_execute("INSERT INTO users (user_id, timezone) VALUES ('alice', 'Europe/Berlin')")
        .await
        .unwrap();
    (fake, app)
}

/// Runs a task tool for `who` as an MCP client would (the changes the chat then talks about).
async fn tool(app: &App, who: &str, name: &str, arguments: Value) -> Value {
    let client = app.db.raw_client().await;
    smart_todo_shared::tools::call(
        &client,
        &smart_todo_shared::test_support::user(who),
        &smart_todo_shared::history::Origin::MCP,
        &smart_todo_shared::config::Limits::default(),
        name,
        arguments,
    )
    .await
    .unwrap_or_else(|e| panic!("{name} for {who}: {e}"))
    .to_json()
}

async fn add(app: &App, who: &str, arguments: Value) -> i64 {
    tool(app, who, "add_task", arguments).await["task_id"]
        .as_i64()
        .unwrap()
}

async fn complete(app: &App, id: i64) {
    tool(app, "alice", "complete_task", json!({ "task_id": id })).await;
}

/// Every request the model got, after checking none was one OpenAI would refuse.
async fn sent(fake: &FakeOpenAi) -> Vec<Value> {
    assert_eq!(fake.rejected(), 0, "every request was one OpenAI accepts");
    model_requests(&fake.server).await
}

fn messages(request: &Value) -> &[Value] {
    request["messages"].as_array().unwrap()
}

/// The system prompt of a request, checked for today's date and the user's zone.
fn system(request: &Value) -> &str {
    let first = &messages(request)[0];
    assert_eq!(first["role"], "system");
    let text = first["content"].as_str().unwrap();
    let berlin = smart_todo_shared::domain::Zone::parse("Europe/Berlin")
        .unwrap()
        .tz();
    let today = chrono::Utc::now()
        .with_timezone(&berlin)
        .format("%A, %-d %B %Y")
        .to_string();
    assert!(text.contains(&format!("It is {today}, ")), "{text}");
    assert!(
        text.contains("in the user's time zone, Europe/Berlin (UTC+01:00)")
            || text.contains("in the user's time zone, Europe/Berlin (UTC+02:00)"),
        "{text}"
    );
    text
}

/// The schema the request gave for `tool`.
fn schema<'a>(request: &'a Value, tool: &str) -> &'a Value {
    request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == tool)
        .unwrap_or_else(|| panic!("no {tool} in the request's tools"))
}

/// The tool results a request carried, parsed, with the name of the call each answers.
fn results(request: &Value) -> Vec<(String, Value)> {
    let messages = messages(request);
    let name_of = |id: &str| {
        messages
            .iter()
            .filter_map(|m| m["tool_calls"].as_array())
            .flatten()
            .find(|c| c["id"] == id)
            .map(|c| c["function"]["name"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                name_of(m["tool_call_id"].as_str().unwrap()),
                // An earlier turn's result may be compacted to plain text.
                serde_json::from_str(m["content"].as_str().unwrap())
                    .unwrap_or_else(|_| m["content"].clone()),
            )
        })
        .collect()
}

fn user_texts(request: &Value) -> Vec<&str> {
    messages(request)
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn undo_that_reverses_the_last_change_the_model_saw() {
    let (fake, app) = scenario(vec![
        Script::Call(
            "add_task",
            json!({"title": "Buy milk", "due": "tomorrow 5pm"}),
        ),
        Script::Text(vec![
            "Added task 1, \u{201c}Buy milk\u{201d}, due tomorrow at 17:00.",
        ]),
        Script::Call("undo_last_change", json!({})),
        Script::Text(vec![
            "Undone: task 1 \u{201c}Buy milk\u{201d} is gone again.",
        ]),
    ])
    .await;
    let first = app.chat("alice", None, "add buy milk tomorrow 5pm").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let conversation = first.body["conversation_id"].as_str().unwrap();
    // Due in the user's zone: 17:00 in Berlin.
    let due: (String,) = {
        let row = app
            .db
            .raw_client()
            .await
            .query_one(
                "SELECT to_char(due_time, 'HH24:MI') FROM tasks WHERE user_id = 'alice' AND id = 1",
                &[],
            )
            .await
            .unwrap();
        (row.get(0),)
    };
    assert_eq!(due.0, "17:00");
    let undo = app.chat("alice", Some(conversation), "undo that").await;
    assert_eq!(undo.status, StatusCode::OK, "{}", undo.body);
    assert!(app.tasks("alice").await.is_empty(), "the add is undone");

    let requests = sent(&fake).await;
    assert_eq!(requests.len(), 4);
    for request in &requests {
        system(request);
    }
    let prompt = system(&requests[2]);
    assert!(
        prompt.contains("\"Undo\", \"undo that\" or \"put it back\" is undo_last_change"),
        "{prompt}"
    );
    // The second turn's model saw the first turn whole: the question, the call and its result.
    assert_eq!(
        user_texts(&requests[2]),
        ["add buy milk tomorrow 5pm", "undo that"]
    );
    let earlier = results(&requests[2]);
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0].0, "add_task");
    assert_eq!(earlier[0].1["task_id"], 1);
    // What the undo answered went back to the model: the reversed event.
    let undone = results(&requests[3]);
    let (name, result) = undone.last().unwrap();
    assert_eq!(name, "undo_last_change");
    assert_eq!(result["undone"][0]["kind"], "created", "{result}");
    assert_eq!(result["undone"][0]["task_id"], 1, "{result}");
    assert!(
        schema(&requests[2], "undo_last_change")["function"]["description"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("undo")
    );
}

#[tokio::test]
async fn a_change_to_several_tasks_asks_and_the_yes_changes_exactly_that_set() {
    let (fake, app) = scenario(vec![
        Script::Call(
            "change_tasks",
            json!({"action": "delete", "status": "completed"}),
        ),
        Script::Text(vec!["Delete these 2 tasks? Answer yes or no."]),
        Script::Call("confirm_change", json!({"answer": "yes"})),
        Script::Text(vec!["Deleted tasks 2 and 3."]),
    ])
    .await;
    for (title, done) in [("Report", false), ("Slides", true), ("Old chore", true)] {
        let task = add(&app, "alice", json!({ "title": title })).await;
        if done {
            complete(&app, task).await;
        }
    }
    let asked = app.chat("alice", None, "delete all completed tasks").await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(app.tasks("alice").await.len(), 3, "asking changes nothing");
    // Task 1 is completed before the yes: the yes still deletes only the two it listed.
    complete(&app, 1).await;
    let conversation = asked.body["conversation_id"].as_str().unwrap();
    let yes = app.chat("alice", Some(conversation), "yes").await;
    assert_eq!(yes.status, StatusCode::OK, "{}", yes.body);
    assert_eq!(
        app.tasks("alice").await,
        [(1, "Report".into(), true)],
        "exactly the listed set"
    );

    let requests = sent(&fake).await;
    let prompt = system(&requests[0]);
    assert!(prompt.contains("call change_tasks"), "{prompt}");
    assert!(prompt.contains("call confirm_change with it"), "{prompt}");
    let change = &schema(&requests[0], "change_tasks")["function"]["parameters"];
    assert_eq!(
        change["$defs"]["BulkAction"]["enum"],
        json!(["delete", "complete", "reopen"]),
        "{change}"
    );
    let confirm = &schema(&requests[0], "confirm_change")["function"]["parameters"];
    assert_eq!(
        confirm["$defs"]["Answer"]["enum"],
        json!(["yes", "no"]),
        "{confirm}"
    );
    // The model was shown the exact set and the question to ask.
    let (name, proposal) = results(&requests[1]).pop().unwrap();
    assert_eq!(name, "change_tasks");
    let ids: Vec<i64> = proposal["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(
        proposal["question"],
        "Delete these 2 tasks? Answer yes or no."
    );
    // The yes turn's model saw the question turn's call and result, then the yes.
    assert_eq!(
        user_texts(&requests[2]),
        ["delete all completed tasks", "yes"]
    );
    let (name, confirmed) = results(&requests[3]).pop().unwrap();
    assert_eq!(name, "confirm_change");
    assert_eq!(
        confirmed["changed"].as_array().unwrap().len(),
        2,
        "{confirmed}"
    );
}

#[tokio::test]
async fn a_filter_matching_everything_is_refused_in_the_tool_whatever_the_model_asks() {
    let (fake, app) = scenario(vec![
        Script::Call("change_tasks", json!({"action": "delete", "status": "all"})),
        Script::Call(
            "change_tasks",
            json!({"action": "delete", "status": "pending"}),
        ),
        Script::Text(vec!["I can't delete every task at once; say which ones."]),
    ])
    .await;
    add(&app, "alice", json!({"title": "Report"})).await;
    add(&app, "alice", json!({"title": "Slides"})).await;
    let reply = app.chat("alice", None, "delete everything").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.tasks("alice").await.len(), 2, "nothing deleted");
    let requests = sent(&fake).await;
    let refused = results(requests.last().unwrap());
    assert_eq!(refused.len(), 2);
    for (name, result) in &refused {
        assert_eq!(name, "change_tasks");
        assert!(result["error"].is_string(), "{result}");
    }
    let pending: i64 = app
        .db
        .raw_client()
        .await
        .query_one("SELECT count(*) FROM pending_actions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 0, "no question was stored");
}

#[tokio::test]
async fn a_name_two_tasks_share_comes_back_as_candidates_and_nothing_changes() {
    let (fake, app) = scenario(vec![
        Script::Call("find_task", json!({"words": "report"})),
        Script::Text(vec![
            "Two tasks match: #1 Quarterly report and #2 Report slides. Which one?",
        ]),
    ])
    .await;
    add(&app, "alice", json!({"title": "Quarterly report"})).await;
    add(&app, "alice", json!({"title": "Report slides"})).await;
    add(&app, "bob", json!({"title": "Bob's report"})).await;
    let reply = app.chat("alice", None, "delete the report task").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.tasks("alice").await.len(), 2);
    let requests = sent(&fake).await;
    let prompt = system(&requests[0]);
    assert!(
        prompt.contains("If find_task answers several matches, ask which one"),
        "{prompt}"
    );
    let (name, found) = results(&requests[1]).pop().unwrap();
    assert_eq!(name, "find_task");
    let matches: Vec<(i64, &str)> = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        matches,
        [(1, "Quarterly report"), (2, "Report slides")],
        "{found}"
    );
    assert!(
        !found.to_string().contains("Bob"),
        "never another user's task"
    );
}

#[tokio::test]
async fn several_items_in_one_message_are_one_add_tasks_call() {
    let (fake, app) = scenario(vec![
        Script::Call(
            "add_tasks",
            json!({"tasks": [{"title": "Milk"}, {"title": "Eggs"}, {"title": "Bread", "list": "Shopping"}]}),
        ),
        Script::Text(vec!["Added tasks 1, 2 and 3: Milk, Eggs and Bread."]),
    ])
    .await;
    let reply = app
        .chat(
            "alice",
            None,
            "add milk, eggs and bread to my shopping list",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        app.tasks("alice").await,
        [
            (1, "Milk".into(), false),
            (2, "Eggs".into(), false),
            (3, "Bread".into(), false)
        ]
    );
    let requests = sent(&fake).await;
    let add = &schema(&requests[0], "add_tasks")["function"]["parameters"];
    assert_eq!(add["properties"]["tasks"]["type"], "array", "{add}");
    assert_eq!(add["required"], json!(["tasks"]), "{add}");
    let (_, added) = results(&requests[1]).pop().unwrap();
    assert_eq!(added["results"].as_array().unwrap().len(), 3, "{added}");
    // The new list reaches the next turn's prompt.
    let conversation = reply.body["conversation_id"].as_str().unwrap();
    app.chat("alice", Some(conversation), "thanks").await;
    let requests = sent(&fake).await;
    let prompt = system(requests.last().unwrap());
    assert!(
        prompt.contains("The user's lists besides the Inbox: \"Shopping\"."),
        "{prompt}"
    );
}

#[tokio::test]
async fn what_did_i_change_is_the_activity_tool_with_each_changes_source() {
    let (fake, app) = scenario(vec![
        Script::Call("activity", json!({"limit": 10})),
        Script::Text(vec!["Today you added task 1 and completed it."]),
    ])
    .await;
    let task = add(&app, "alice", json!({"title": "Report"})).await;
    complete(&app, task).await;
    let reply = app.chat("alice", None, "what did I change today?").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let requests = sent(&fake).await;
    let (name, page) = results(&requests[1]).pop().unwrap();
    assert_eq!(name, "activity");
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["completed", "created"], "{page}");
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["source"] == "mcp"),
        "{page}"
    );
}

/// A press on a question's Yes button on `/chatkit`: the turn calls confirm_change itself, so the
/// model's first request already holds the call and its result (well-formed, as OpenAI demands)
/// and it only has to word the answer.
#[tokio::test]
async fn a_yes_button_calls_confirm_change_before_the_model_speaks() {
    let (fake, app) = scenario(vec![
        Script::Call(
            "change_tasks",
            json!({"action": "complete", "list": "Work"}),
        ),
        Script::Text(vec!["Complete these 2 tasks? Answer yes or no."]),
        Script::Text(vec!["Completed tasks 1 and 2."]),
    ])
    .await;
    for (title, list) in [
        ("Report", Some("Work")),
        ("Slides", Some("Work")),
        ("Milk", None),
    ] {
        add(&app, "alice", json!({ "title": title, "list": list })).await;
    }
    let asked = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("mark everything on my work list done")}),
        )
        .await;
    let thread = asked.frames[0]["thread"]["id"].as_str().unwrap().to_owned();
    let question = done_items(&asked.frames).pop().unwrap();
    assert_eq!(question["type"], "structured_input", "{question}");
    let pressed = app
        .chatkit(
            "alice",
            "threads.add_structured_input",
            json!({"thread_id": thread, "item_id": question["id"],
                   "input": {"status": "answered", "answers": {"confirm": {"values": ["Yes"]}}}}),
        )
        .await;
    assert_eq!(pressed.status, StatusCode::OK);
    let reply = done_items(&pressed.frames).pop().unwrap();
    assert_eq!(reply["content"][0]["text"], "Completed tasks 1 and 2.");
    let done: Vec<bool> = app.tasks("alice").await.into_iter().map(|t| t.2).collect();
    assert_eq!(done, [true, true, false]);

    let requests = sent(&fake).await;
    assert_eq!(requests.len(), 3, "one model round for the press");
    let press = &requests[2];
    system(press);
    assert_eq!(
        user_texts(press),
        ["mark everything on my work list done", "Yes"]
    );
    let (name, confirmed) = results(press).pop().unwrap();
    assert_eq!(name, "confirm_change");
    assert_eq!(confirmed["answer"], "yes");
    assert_eq!(
        confirmed["changed"].as_array().unwrap().len(),
        2,
        "{confirmed}"
    );
}
