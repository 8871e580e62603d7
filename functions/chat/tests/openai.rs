//! Chat turns through the OpenAI-compatible back-end, against a scripted fake server at the HTTP
//! boundary: tool calls, streamed deltas, failures, timeouts and a model that misbehaves.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{App, Script, deltas, done_items, fake_openai, input, model_requests, strict_openai};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A model that fails every attempt of one request (with retries), then answers `text`.
fn outage(status: u16, text: &'static str) -> Vec<Script> {
    let mut scripts = vec![Script::Fail(status); 4];
    scripts.push(Script::Text(vec![text]));
    scripts
}

#[tokio::test]
async fn a_tool_call_then_text_runs_the_tool_for_the_caller_and_reports_it() {
    let (server, model) = fake_openai(
        vec![
            Script::Call("add_task", json!({"title": "Buy milk"})),
            Script::Text(vec!["Added ", "\"Buy milk\"."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    app.db
        .raw_client()
        .await
        .batch_execute(
            "INSERT INTO users (user_id, timezone) VALUES ('alice', 'Asia/Tokyo'); \
             INSERT INTO lists (user_id, name) VALUES ('alice', 'Work'), ('alice', 'groceries'), \
               ('bob', 'Bob''s secret list');",
        )
        .await
        .unwrap();
    let reply = app.chat("alice", None, "add buy milk").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Added \"Buy milk\".");
    assert_eq!(
        reply.body["tool_calls"],
        json!([{"name": "add_task", "arguments": {"title": "Buy milk"}, "result": {"task_id": 1, "status": "created", "title": "Buy milk"}}])
    );
    assert_eq!(app.tasks("alice").await, [(1, "Buy milk".into(), false)]);

    let requests = model_requests(&server).await;
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["model"], "fake-model");
    assert_eq!(first["stream"], true);
    assert_eq!(first["messages"][0]["role"], "system");
    // The model is told the date and time where the user is.
    let system = first["messages"][0]["content"].as_str().unwrap();
    let tokyo = smart_todo_shared::domain::Zone::parse("Asia/Tokyo")
        .unwrap()
        .tz();
    let today = chrono::Utc::now()
        .with_timezone(&tokyo)
        .format("%A, %-d %B %Y")
        .to_string();
    assert!(system.contains(&format!("It is {today}, ")), "{system}");
    assert!(
        system.contains("in the user's time zone, Asia/Tokyo (UTC+09:00)"),
        "{system}"
    );
    // And their lists, by name, never another user's.
    assert!(
        system.contains("The user's lists besides the Inbox: \"groceries\", \"Work\"."),
        "{system}"
    );
    assert!(!system.contains("secret"), "{system}");
    assert_eq!(
        first["tools"].as_array().unwrap().len(),
        smart_todo_shared::tools::Tool::ALL.len()
    );
    assert!(
        !first["tools"].to_string().contains("user_id"),
        "no tool takes a user id"
    );
    let second = requests[1]["messages"].as_array().unwrap();
    let tool = second
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("the tool result goes back to the model");
    assert_eq!(tool["tool_call_id"], "call_0");
    assert!(tool["content"].as_str().unwrap().contains("\"created\""));
    let assistant = second.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "add_task");
}

#[tokio::test]
async fn text_deltas_stream_as_the_model_produces_them() {
    let (_server, model) =
        fake_openai(vec![Script::Text(vec!["Hel", "lo", " there"])], TIMEOUT).await;
    let app = App::with_model(model).await;
    let reply = app
        .chatkit("alice", "threads.create", json!({"input": input("hi")}))
        .await;
    assert_eq!(deltas(&reply.frames), ["Hel", "lo", " there"]);
    assert_eq!(
        done_items(&reply.frames)[1]["content"][0]["text"],
        "Hello there"
    );
}

#[tokio::test]
async fn a_model_500_keeps_the_message_and_a_resend_is_not_a_duplicate() {
    // async-openai retries a 5xx three times (100–400 ms apart): an outage is four failures.
    let (server, model) = fake_openai(outage(500, "Back again."), TIMEOUT).await;
    let app = App::with_model(model).await;
    let failed = app.chat("alice", None, "hello").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        model_requests(&server).await.len(),
        4,
        "one attempt and three retries"
    );
    assert_eq!(failed.content_type, "application/problem+json");
    assert!(
        !failed.body.to_string().contains("exploded"),
        "no upstream internals"
    );
    assert_eq!(
        app.messages().await,
        [("user".to_owned(), "hello".to_owned())]
    );

    let id = {
        let client = app.db.raw_client().await;
        let row = client
            .query_one("SELECT id::text FROM conversations", &[])
            .await
            .unwrap();
        row.get::<_, String>(0)
    };
    let resent = app.chat("alice", Some(&id), "hello").await;
    assert_eq!(resent.status, StatusCode::OK);
    assert_eq!(resent.body["response"], "Back again.");
    assert_eq!(
        app.messages().await,
        [
            ("user".to_owned(), "hello".to_owned()),
            ("assistant".to_owned(), "Back again.".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_model_failure_mid_stream_is_an_error_event_the_user_can_retry() {
    let (_server, model) = fake_openai(outage(502, "Recovered."), TIMEOUT).await;
    let app = App::with_model(model).await;
    let reply = app
        .chatkit("alice", "threads.create", json!({"input": input("hello")}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let error = reply.frames.last().unwrap();
    assert_eq!(
        (error["type"].as_str(), error["allow_retry"].as_bool()),
        (Some("error"), Some(true))
    );
    let thread_id = reply.frames[0]["thread"]["id"].as_str().unwrap().to_owned();
    let question = done_items(&reply.frames)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retried = app
        .chatkit(
            "alice",
            "threads.retry_after_item",
            json!({"thread_id": thread_id, "item_id": question}),
        )
        .await;
    assert_eq!(
        done_items(&retried.frames)[0]["content"][0]["text"],
        "Recovered."
    );
    assert_eq!(app.messages().await.len(), 2, "one question, one answer");
}

#[tokio::test]
async fn a_model_that_does_not_answer_in_time_is_cut_off() {
    let (_server, model) = fake_openai(
        vec![Script::Slow(Duration::from_secs(30))],
        Duration::from_millis(500),
    )
    .await;
    let app = App::with_model(model).await;
    let started = Instant::now();
    let reply = app.chat("alice", None, "hello").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(app.messages().await.len(), 1, "the question is kept");
}

#[tokio::test]
async fn a_model_cannot_act_on_another_users_tasks() {
    let app_for_alice = App::offline().await;
    app_for_alice
        .chat("alice", None, "Add a task to buy groceries")
        .await;
    let alice_before = app_for_alice.tasks("alice").await;

    // The same database, now served with a model that tries every trick on task 1 (alice's).
    let (_server, model) = fake_openai(
        vec![
            Script::Call("complete_task", json!({"task_id": 1, "user_id": "alice"})),
            Script::Call("delete_task", json!({"task_id": 1})),
            Script::Call("update_task", json!({"task_id": 1, "title": "pwned"})),
            Script::Call("list_tasks", json!({"status": "all", "user": "alice"})),
            Script::Text(vec!["I tried."]),
        ],
        TIMEOUT,
    )
    .await;
    let router = common::router(&app_for_alice.db, std::sync::Arc::new(model));
    let reply = App::send_to(
        &router,
        axum::http::Method::POST,
        "/api/chat",
        Some("bob"),
        Some(json!({"message": "do it"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let results: Vec<String> = reply.body["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["result"].to_string())
        .collect();
    assert!(results[0].contains("unknown field"), "{}", results[0]);
    assert!(
        results[1].contains("not found") && results[2].contains("not found"),
        "{results:?}"
    );
    assert!(results[3].contains("unknown field"), "{}", results[3]);
    assert_eq!(
        app_for_alice.tasks("alice").await,
        alice_before,
        "alice's tasks are untouched"
    );
    assert!(app_for_alice.tasks("bob").await.is_empty());
}

#[tokio::test]
async fn a_turn_is_bounded_in_model_rounds() {
    // A model that never stops calling tools.
    let (server, model) = fake_openai(vec![Script::Call("list_tasks", json!({}))], TIMEOUT).await;
    let app = App::with_model(model).await;
    let reply = app.chat("alice", None, "loop forever").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        model_requests(&server).await.len(),
        5,
        "at most five rounds"
    );
    assert_eq!(
        reply.body["tool_calls"].as_array().unwrap().len(),
        4,
        "the last round's calls are not run"
    );
    assert!(reply.body["response"].as_str().unwrap().contains("stopped"));
}

#[tokio::test]
async fn the_spec_commands_run_through_the_openai_path_and_match_the_database() {
    let text = || Script::Text(vec!["Done."]);
    let (server, model) = fake_openai(
        vec![
            Script::Call("add_task", json!({"title": "Buy groceries"})),
            text(),
            Script::Call("add_task", json!({"title": "Pay bills"})),
            text(),
            Script::Call("add_task", json!({"title": "Team meeting"})),
            text(),
            Script::Call("list_tasks", json!({})),
            text(),
            Script::Call("list_tasks", json!({"status": "pending"})),
            text(),
            Script::Call("complete_task", json!({"task_id": 3})),
            text(),
            Script::Call("list_tasks", json!({"status": "completed"})),
            text(),
            Script::Call("list_tasks", json!({"status": "all"})),
            Script::Call("delete_task", json!({"task_id": 3})),
            text(),
            Script::Call(
                "update_task",
                json!({"task_id": 1, "title": "Call mom tonight"}),
            ),
            text(),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let first = app.chat("alice", None, "Add a task to buy groceries").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let turn = |message: &'static str| {
        let (app, id) = (&app, id.clone());
        async move { app.chat("alice", Some(&id), message).await.body }
    };
    let titles = |result: &serde_json::Value| -> Vec<String> {
        result["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(
        first.body["tool_calls"][0]["result"],
        json!({"task_id": 1, "status": "created", "title": "Buy groceries"})
    );
    assert_eq!(
        turn("I need to remember to pay bills").await["tool_calls"][0]["result"]["task_id"],
        2
    );
    turn("Add a task for the team meeting").await;
    assert_eq!(app.tasks("alice").await.len(), 3);

    let all = turn("Show me all my tasks").await;
    assert_eq!(
        titles(&all["tool_calls"][0]["result"]),
        ["Buy groceries", "Pay bills", "Team meeting"]
    );
    let pending = turn("What's pending?").await;
    assert_eq!(titles(&pending["tool_calls"][0]["result"]).len(), 3);

    let completed = turn("Mark task 3 as complete").await;
    assert_eq!(
        completed["tool_calls"][0]["result"],
        json!({"task_id": 3, "status": "completed", "title": "Team meeting"})
    );
    assert!(
        app.tasks("alice").await[2].2,
        "task 3 is completed in the database"
    );
    let done = turn("What have I completed?").await;
    assert_eq!(titles(&done["tool_calls"][0]["result"]), ["Team meeting"]);

    let deleted = turn("Delete the meeting task").await;
    let names: Vec<&str> = deleted["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list_tasks", "delete_task"]);
    assert_eq!(deleted["tool_calls"][1]["result"]["status"], "deleted");
    assert_eq!(app.tasks("alice").await.len(), 2);

    let renamed = turn("Change task 1 to 'Call mom tonight'").await;
    assert_eq!(
        renamed["tool_calls"][0]["result"],
        json!({"task_id": 1, "status": "updated", "title": "Call mom tonight"})
    );
    assert_eq!(
        app.tasks("alice").await,
        [
            (1, "Call mom tonight".into(), false),
            (2, "Pay bills".into(), false)
        ]
    );

    // Each turn's request carried the conversation so far: the last one saw every earlier message.
    let requests = model_requests(&server).await;
    let last = requests.last().unwrap()["messages"].as_array().unwrap();
    let users = last.iter().filter(|m| m["role"] == "user").count();
    assert_eq!(users, 9, "every earlier user turn reaches the model");
}

#[tokio::test]
async fn after_ten_list_turns_of_a_hundred_tasks_the_model_gets_under_64_kb() {
    // Each turn: list_tasks, then a short text. Eleven turns on one conversation.
    let mut scripts = vec![];
    for _ in 0..11 {
        scripts.push(Script::Call("list_tasks", json!({})));
        scripts.push(Script::Text(vec!["Here is your list."]));
    }
    let (server, model) = fake_openai(scripts, TIMEOUT).await;
    let app = App::with_model(model).await;
    app.db
        .raw_client()
        .await
        .batch_execute(
            "INSERT INTO tasks (user_id, id, title, description) \
             SELECT 'alice', g, 'Task number ' || g || ' of the big list', 'details of ' || g \
             FROM generate_series(1, 100) g",
        )
        .await
        .unwrap();
    let first = app.chat("alice", None, "show my tasks").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    for n in 1..=10 {
        let reply = app
            .chat(
                "alice",
                Some(&conversation),
                &format!("show my tasks again ({n})"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 22);
    // The eleventh turn's first request carries ten earlier list turns.
    let next = &requests[20];
    assert!(
        next.body.len() <= 64 * 1024,
        "the request after ten list turns is {} bytes",
        next.body.len()
    );
    let body: serde_json::Value = serde_json::from_slice(&next.body).unwrap();
    let messages = body["messages"].as_array().unwrap();
    let tools: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(
        tools.len() >= 5,
        "most earlier lists still fit: {}",
        tools.len()
    );
    for content in &tools {
        assert!(
            content.starts_with("Earlier list_tasks result"),
            "{content:.200}"
        );
        assert!(
            content.contains("#100 Task number 100 of the big list (pending)"),
            "{content:.300}"
        );
    }
    assert_eq!(
        messages.last().unwrap()["content"],
        "show my tasks again (10)",
        "the question is last"
    );
    // Within the turn, the model reads its own list whole.
    let after_call: serde_json::Value = serde_json::from_slice(&requests[21].body).unwrap();
    let own = after_call["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .unwrap();
    let own: serde_json::Value = serde_json::from_str(own["content"].as_str().unwrap()).unwrap();
    assert_eq!(own["tasks"].as_array().unwrap().len(), 100);
    // What the user sees of an earlier turn is the whole stored result.
    let stored = app
        .db
        .raw_client()
        .await
        .query_one(
            "SELECT content FROM messages WHERE role = 'tool' ORDER BY seq LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(stored.get::<_, &str>(0)).unwrap();
    assert_eq!(stored["tasks"].as_array().unwrap().len(), 100);
}

/// A model that claims a change no tool made: the claim never reaches the stream or the stored
/// reply; the model answers again, told why, and its honest answer is what the user gets.
#[tokio::test]
async fn a_reply_claiming_a_change_no_tool_made_is_regenerated() {
    let (server, model) = fake_openai(
        vec![
            Script::Text(vec!["Sure! ", "I've del", "eted the meeting task."]),
            Script::Text(vec![
                "Sure! I haven't deleted anything yet: ",
                "which task do you mean?",
            ]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let reply = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("delete the meeting task")}),
        )
        .await;
    let streamed = deltas(&reply.frames).concat();
    assert!(!streamed.contains("I've deleted"), "{streamed}");
    let text = done_items(&reply.frames)[1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(streamed, text, "the stream is the stored reply");
    assert_eq!(
        text,
        "Sure! I haven't deleted anything yet: which task do you mean?"
    );
    let requests = model_requests(&server).await;
    assert_eq!(requests.len(), 2, "one regeneration");
    let note = requests[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(note["role"], "user");
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .contains("no tool call in this turn did that"),
        "{note}"
    );
    let stored = app.messages().await;
    assert_eq!(stored.last().unwrap().1, text);
}

/// A model that keeps lying, after a tool that failed: the reply says what the tools really did.
#[tokio::test]
async fn a_model_that_lies_twice_gets_a_truthful_summary_instead() {
    let (server, model) = fake_openai(
        vec![
            Script::Call("delete_task", json!({"task_id": 9})),
            Script::Text(vec!["Done! I've deleted task 9."]),
            Script::Text(vec!["It has been deleted."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let reply = app.chat("alice", None, "delete task 9").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["response"],
        "Here is what was actually done:\nDelete task failed: task 9 was not found."
    );
    assert_eq!(model_requests(&server).await.len(), 3);
    assert_eq!(
        app.messages().await.last().unwrap().1,
        reply.body["response"]
    );
}

/// Claims the tools back go out as the model wrote them, streamed.
#[tokio::test]
async fn a_true_claim_streams_unchanged() {
    let (_server, model) = fake_openai(
        vec![
            Script::Call("add_task", json!({"title": "Milk"})),
            Script::Text(vec![
                "I've ",
                "added ",
                "\u{201c}Milk\u{201d} ",
                "as task 1.",
            ]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let reply = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("add milk")}),
        )
        .await;
    assert_eq!(
        deltas(&reply.frames).concat(),
        "I've added \u{201c}Milk\u{201d} as task 1."
    );
    assert_eq!(app.tasks("alice").await, [(1, "Milk".into(), false)]);
}

/// The model may call tools in parallel: it is offered `tool_choice: auto` and
/// `parallel_tool_calls: true`, and a round of 25 calls ("complete tasks 1 to 25") runs whole, in
/// order, within the turn's bounds — checked in the database. A 31st call in the turn is refused.
#[tokio::test]
async fn a_batch_of_twenty_five_parallel_calls_runs_whole() {
    let completes: Vec<(&'static str, Value)> = (1..=25)
        .map(|id| ("complete_task", json!({"task_id": id})))
        .collect();
    let adds: Vec<(&'static str, Value)> = (1..=30)
        .map(|n| ("add_task", json!({"title": format!("Chore {n}")})))
        .collect();
    let (fake, model) = strict_openai(
        vec![
            Script::Calls(adds),
            Script::Text(vec!["Added 30 chores."]),
            Script::Calls(completes),
            Script::Text(vec!["I've completed tasks 1 to 25."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let added = app.chat("alice", None, "add 30 chores").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(app.tasks("alice").await.len(), 30);
    let conversation = added.body["conversation_id"].as_str().unwrap();
    let done = app
        .chat("alice", Some(conversation), "complete tasks 1 to 25")
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["tool_calls"].as_array().unwrap().len(), 25);
    assert_eq!(done.body["response"], "I've completed tasks 1 to 25.");
    let completed: Vec<i64> = app
        .tasks("alice")
        .await
        .into_iter()
        .filter(|t| t.2)
        .map(|t| t.0)
        .collect();
    assert_eq!(completed, (1..=25).collect::<Vec<i64>>());
    assert_eq!(fake.rejected(), 0, "every request was one OpenAI accepts");
    let requests = model_requests(&fake.server).await;
    for request in &requests {
        assert_eq!(request["tool_choice"], "auto");
        assert_eq!(request["parallel_tool_calls"], true);
    }
    // The results go back to the model in the order of the calls.
    let last = requests.last().unwrap()["messages"].as_array().unwrap();
    let ids: Vec<&str> = last
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 25 + 30);
    assert!(ids.ends_with(&["call_2_23", "call_2_24"]), "{ids:?}");
}

/// More calls than a turn may make: those past the bound are answered with an error the model
/// sees, and not run.
#[tokio::test]
async fn calls_past_the_turn_bound_are_refused_not_run() {
    let adds: Vec<(&'static str, Value)> = (1..=32)
        .map(|n| ("add_task", json!({"title": format!("Item {n}")})))
        .collect();
    let (fake, model) = strict_openai(
        vec![
            Script::Calls(adds),
            Script::Text(vec!["Added what I could."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let reply = app.chat("alice", None, "add 32 items").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.tasks("alice").await.len(), 30);
    let calls = reply.body["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 32);
    assert_eq!(
        calls[31]["result"]["error"],
        "too many tool calls in one turn"
    );
    assert_eq!(fake.rejected(), 0);
}
