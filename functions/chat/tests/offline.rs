//! Chat turns with the offline assistant: the spec's commands, the ChatKit protocol, resumability,
//! isolation and bad input.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, deltas, done_items, input};
use serde_json::{Value, json};
use smart_todo_shared::test_support::{TripCounter, enable_statement_stats, statements_run};

fn tool_names(reply: &common::Reply) -> Vec<String> {
    reply.body["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_spec_commands_work_and_tool_calls_match_the_database() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "Add a task to buy groceries").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    let say = |message: &'static str| {
        let app = &app;
        let conversation = conversation.clone();
        async move { app.chat("alice", Some(&conversation), message).await }
    };
    assert_eq!(tool_names(&first), ["add_task"]);
    assert_eq!(
        first.body["tool_calls"][0]["result"],
        json!({"task_id": 1, "status": "created", "title": "Buy groceries"})
    );
    assert_eq!(
        app.tasks("alice").await,
        [(1, "Buy groceries".into(), false)]
    );

    let bills = say("I need to remember to pay bills").await;
    assert_eq!(
        bills.body["tool_calls"][0]["arguments"],
        json!({"title": "Pay bills"})
    );
    say("Add a task for the team meeting").await;
    assert_eq!(app.tasks("alice").await.len(), 3);

    let all = say("Show me all my tasks").await;
    let text = all.body["response"].as_str().unwrap();
    for title in ["Buy groceries", "Pay bills", "The team meeting"] {
        assert!(text.contains(title), "{text}");
    }

    let done = say("Mark task 3 as complete").await;
    assert_eq!(done.body["tool_calls"][0]["result"]["status"], "completed");
    assert!(
        app.tasks("alice").await[2].2,
        "task 3 is completed in the database"
    );

    let pending = say("What's pending?").await;
    assert_eq!(
        pending.body["tool_calls"][0]["arguments"],
        json!({"status": "pending"})
    );
    let text = pending.body["response"].as_str().unwrap();
    assert!(
        text.contains("Buy groceries") && !text.contains("team meeting"),
        "{text}"
    );

    let completed = say("What have I completed?").await;
    assert!(
        completed.body["response"]
            .as_str()
            .unwrap()
            .contains("The team meeting")
    );

    let deleted = say("Delete the meeting task").await;
    assert_eq!(tool_names(&deleted), ["find_task", "delete_task"]);
    assert_eq!(
        deleted.body["tool_calls"][1]["arguments"],
        json!({"task_id": 3})
    );
    assert_eq!(app.tasks("alice").await.len(), 2);

    let renamed = say("Change task 1 to 'Call mom tonight'").await;
    assert_eq!(
        renamed.body["tool_calls"][0]["result"]["title"],
        "Call mom tonight"
    );
    assert_eq!(
        app.tasks("alice").await[0],
        (1, "Call mom tonight".into(), false)
    );
    assert!(
        renamed.body["response"]
            .as_str()
            .unwrap()
            .contains("Call mom tonight")
    );
}

#[tokio::test]
async fn an_ambiguous_name_is_asked_about_and_changes_nothing() {
    let app = App::offline().await;
    let start = app
        .chat("alice", None, "Add a task to prepare the meeting")
        .await;
    let conversation = start.body["conversation_id"].as_str().unwrap().to_owned();
    app.chat(
        "alice",
        Some(&conversation),
        "Add a task to write meeting notes",
    )
    .await;
    let asked = app
        .chat("alice", Some(&conversation), "Delete the meeting task")
        .await;
    let text = asked.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("Which one") && text.contains("#1") && text.contains("#2"),
        "{text}"
    );
    assert_eq!(app.tasks("alice").await.len(), 2);
    let answered = app.chat("alice", Some(&conversation), "2").await;
    assert_eq!(tool_names(&answered), ["delete_task"]);
    assert_eq!(
        app.tasks("alice").await,
        [(1, "Prepare the meeting".into(), false)]
    );
}

#[tokio::test]
async fn a_chatkit_turn_streams_in_protocol_order() {
    let app = App::offline().await;
    let reply = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("Add a task to buy groceries")}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.content_type.as_str()),
        (StatusCode::OK, "text/event-stream")
    );
    let kinds: Vec<&str> = reply
        .frames
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds[..3],
        ["thread.created", "thread.item.done", "stream_options"]
    );
    assert_eq!(reply.frames[1]["item"]["type"], "user_message");
    let at = |kind: &str| {
        kinds
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("no {kind} in {kinds:?}"))
    };
    assert!(at("progress_update") < at("client_effect"));
    assert_eq!(reply.frames[at("client_effect")]["name"], "tasks_changed");
    assert!(at("client_effect") < at("thread.item.added"));
    assert_eq!(
        kinds.last(),
        Some(&"thread.updated"),
        "the title arrives last"
    );
    let items = done_items(&reply.frames);
    assert_eq!(items.len(), 2);
    let text = items[1]["content"][0]["text"].as_str().unwrap();
    assert_eq!(deltas(&reply.frames).concat(), text);
    assert!(
        deltas(&reply.frames).len() > 1,
        "the reply streams in pieces"
    );
    assert_eq!(text, "Added \"Buy groceries\" to your list as task 1.");
    assert_eq!(
        reply.frames.last().unwrap()["thread"]["title"],
        "Add a task to buy groceries"
    );
    let no_nulls = reply.frames.iter().all(|f| !f.to_string().contains("null"));
    assert!(no_nulls, "ChatKit omits nulls");
}

#[tokio::test]
async fn streamed_items_equal_what_a_fresh_instance_returns() {
    let app = App::offline().await;
    let created = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("Add a task to buy groceries")}),
        )
        .await;
    let thread_id = created.frames[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut streamed = done_items(&created.frames);
    for text in [
        "What's pending?",
        "Mark task 1 as complete",
        "hello",
        "Show me all my tasks",
    ] {
        let reply = app
            .chatkit(
                "alice",
                "threads.add_user_message",
                json!({"thread_id": thread_id, "input": input(text)}),
            )
            .await;
        assert!(reply.frames.iter().all(|f| f["type"] != "thread.created"));
        streamed.extend(done_items(&reply.frames));
    }
    assert_eq!(streamed.len(), 10);

    // A new router and pool: nothing survives in memory between instances.
    let fresh = app.fresh_router();
    let call = |kind: &str, params: Value| {
        let fresh = fresh.clone();
        let body = json!({"type": kind, "params": params});
        async move {
            App::send_to(&fresh, Method::POST, "/chatkit", Some("alice"), Some(body))
                .await
                .body
        }
    };
    let thread = call("threads.get_by_id", json!({"thread_id": thread_id})).await;
    assert_eq!(
        thread["items"]["data"].as_array().unwrap(),
        &streamed,
        "get_by_id returns the streamed items"
    );
    assert_eq!(thread["items"]["has_more"], false);

    let mut paged = vec![];
    let mut after: Option<String> = None;
    loop {
        let mut params = json!({"thread_id": thread_id, "limit": 3, "order": "asc"});
        if let Some(after) = &after {
            params["after"] = json!(after);
        }
        let page = call("items.list", params).await;
        paged.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] == false {
            break;
        }
        after = Some(page["after"].as_str().unwrap().to_owned());
    }
    assert_eq!(paged, streamed, "asc pages with cursors");

    let newest_first = call("items.list", json!({"thread_id": thread_id, "limit": 4})).await;
    let expected: Vec<Value> = streamed.iter().rev().take(4).cloned().collect();
    assert_eq!(
        newest_first["data"].as_array().unwrap(),
        &expected,
        "desc is the default order"
    );
    let next = call(
        "items.list",
        json!({"thread_id": thread_id, "limit": 4, "after": newest_first["after"]}),
    )
    .await;
    let expected: Vec<Value> = streamed.iter().rev().skip(4).take(4).cloned().collect();
    assert_eq!(next["data"].as_array().unwrap(), &expected);
}

#[tokio::test]
async fn a_conversation_continues_across_the_json_api_and_chatkit() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "Add a task to buy groceries").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let via_chatkit = app
        .chatkit(
            "alice",
            "threads.add_user_message",
            json!({"thread_id": id, "input": input("Mark task 1 as complete")}),
        )
        .await;
    assert_eq!(done_items(&via_chatkit.frames).len(), 2);
    let back = app.chat("alice", Some(&id), "What have I completed?").await;
    assert_eq!(back.body["conversation_id"], id.as_str());
    assert!(
        back.body["response"]
            .as_str()
            .unwrap()
            .contains("Buy groceries")
    );
    let thread = app
        .chatkit("alice", "threads.get_by_id", json!({"thread_id": id}))
        .await;
    let texts: Vec<&str> = thread.body["items"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["content"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 6);
    assert_eq!(
        [texts[0], texts[2], texts[4]],
        [
            "Add a task to buy groceries",
            "Mark task 1 as complete",
            "What have I completed?"
        ]
    );
}

#[tokio::test]
async fn threads_are_listed_newest_first_renamed_and_deleted() {
    let app = App::offline().await;
    let mut ids = vec![];
    for text in ["first", "second", "third"] {
        let reply = app
            .chatkit("alice", "threads.create", json!({"input": input(text)}))
            .await;
        ids.push(reply.frames[0]["thread"]["id"].as_str().unwrap().to_owned());
    }
    let listed = app
        .chatkit("alice", "threads.list", json!({"limit": 2}))
        .await;
    let page: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(listed.body["has_more"], true);
    assert_eq!(
        listed.body["data"][0]["items"],
        json!({"data": [], "has_more": false})
    );
    let rest = app
        .chatkit(
            "alice",
            "threads.list",
            json!({"limit": 2, "after": listed.body["after"]}),
        )
        .await;
    assert_eq!(rest.body["data"][0]["id"], ids[0].as_str());
    assert_eq!(rest.body["has_more"], false);
    let huge = app
        .chatkit(
            "alice",
            "threads.list",
            json!({"limit": 9999, "order": "asc"}),
        )
        .await;
    assert_eq!(huge.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(huge.body["data"][0]["id"], ids[0].as_str());

    let renamed = app
        .chatkit(
            "alice",
            "threads.update",
            json!({"thread_id": ids[0], "title": "Groceries"}),
        )
        .await;
    assert_eq!(renamed.body["title"], "Groceries");
    let deleted = app
        .chatkit("alice", "threads.delete", json!({"thread_id": ids[1]}))
        .await;
    assert_eq!(
        (deleted.status, deleted.body.clone()),
        (StatusCode::OK, json!({}))
    );
    let gone = app
        .chatkit("alice", "threads.get_by_id", json!({"thread_id": ids[1]}))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let feedback = app
        .chatkit(
            "alice",
            "items.feedback",
            json!({"thread_id": ids[0], "item_ids": [], "kind": "positive"}),
        )
        .await;
    assert_eq!(feedback.body, json!({}));
}

#[tokio::test]
async fn retry_after_item_regenerates_the_newest_reply_and_refuses_an_older_item() {
    let app = App::offline().await;
    let created = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("Add a task to buy milk")}),
        )
        .await;
    let thread_id = created.frames[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = done_items(&created.frames)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .chatkit(
            "alice",
            "threads.add_user_message",
            json!({"thread_id": thread_id, "input": input("hello")}),
        )
        .await;
    let newest = done_items(&second.frames)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An older message: a retry would rewrite history under the newer turns.
    let older = app
        .chatkit(
            "alice",
            "threads.retry_after_item",
            json!({"thread_id": thread_id, "item_id": first}),
        )
        .await;
    assert_eq!(older.status, 409, "{:?}", older.body);
    assert!(
        older.body["detail"]
            .as_str()
            .unwrap()
            .contains("latest message"),
        "{:?}",
        older.body
    );

    let retried = app
        .chatkit(
            "alice",
            "threads.retry_after_item",
            json!({"thread_id": thread_id, "item_id": newest}),
        )
        .await;
    let items = done_items(&retried.frames);
    assert_eq!(items.len(), 1, "only the new reply");
    assert_eq!(items[0]["type"], "assistant_message");
    let thread = app
        .chatkit(
            "alice",
            "threads.get_by_id",
            json!({"thread_id": thread_id}),
        )
        .await;
    let data = thread.body["items"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 4, "two questions, two replies: {data:?}");
    assert_eq!(data[0]["id"], first.as_str());
    assert_eq!(data[2]["id"], newest.as_str());
    assert_eq!(data[3]["id"], items[0]["id"]);
    assert_eq!(thread.body["metadata"]["turn_status"], "done");
    assert_eq!(app.tasks("alice").await.len(), 1, "no effect repeated");
}

#[tokio::test]
async fn another_users_conversation_is_not_found_everywhere_and_unchanged() {
    let app = App::offline().await;
    let alice = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("Add a task to buy groceries")}),
        )
        .await;
    let thread_id = alice.frames[0]["thread"]["id"].as_str().unwrap().to_owned();
    let item_id = done_items(&alice.frames)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.messages().await;
    let attempts = [
        ("threads.get_by_id", json!({"thread_id": thread_id})),
        ("items.list", json!({"thread_id": thread_id})),
        (
            "threads.add_user_message",
            json!({"thread_id": thread_id, "input": input("Delete task 1")}),
        ),
        (
            "threads.retry_after_item",
            json!({"thread_id": thread_id, "item_id": item_id}),
        ),
        (
            "threads.update",
            json!({"thread_id": thread_id, "title": "mine now"}),
        ),
        ("threads.delete", json!({"thread_id": thread_id})),
        (
            "items.feedback",
            json!({"thread_id": thread_id, "item_ids": [item_id], "kind": "negative"}),
        ),
    ];
    for (kind, params) in attempts {
        let reply = app.chatkit("bob", kind, params).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{kind}");
        assert_eq!(reply.content_type, "application/problem+json", "{kind}");
    }
    let continued = app.chat("bob", Some(&thread_id), "Delete task 1").await;
    assert_eq!(continued.status, StatusCode::NOT_FOUND);
    let listed = app.chatkit("bob", "threads.list", json!({})).await;
    assert_eq!(listed.body["data"], json!([]));
    assert_eq!(app.messages().await, before, "alice's conversation changed");
    assert_eq!(app.tasks("alice").await.len(), 1);
}

#[tokio::test]
async fn bad_chat_input_is_a_4xx_problem_and_stores_nothing() {
    let app = App::offline().await;
    let cases: Vec<(&str, &str, Value, u16)> = vec![
        ("empty message", "/api/chat", json!({"message": "  "}), 422),
        (
            "4001 characters",
            "/api/chat",
            json!({"message": "x".repeat(4001)}),
            422,
        ),
        ("NUL byte", "/api/chat", json!({"message": "a\u{0}b"}), 422),
        (
            "message not a string",
            "/api/chat",
            json!({"message": 5}),
            422,
        ),
        (
            "unknown field",
            "/api/chat",
            json!({"message": "hi", "user_id": "bob"}),
            422,
        ),
        (
            "unknown conversation",
            "/api/chat",
            json!({"message": "hi", "conversation_id": "not-a-uuid"}),
            404,
        ),
        (
            "absent conversation",
            "/api/chat",
            json!({"message": "hi", "conversation_id": "01a20b81-0f32-72ad-99d4-4d939bb6635b"}),
            404,
        ),
        (
            "unknown chatkit type",
            "/chatkit",
            json!({"type": "threads.explode", "params": {}}),
            400,
        ),
        (
            "unsupported chatkit type",
            "/chatkit",
            json!({"type": "attachments.create", "params": {"name": "a", "size": 1, "mime_type": "text/plain"}}),
            400,
        ),
        ("no type", "/chatkit", json!({"params": {}}), 422),
        (
            "create without input",
            "/chatkit",
            json!({"type": "threads.create", "params": {}}),
            422,
        ),
        (
            "create with empty text",
            "/chatkit",
            json!({"type": "threads.create", "params": {"input": input(" ")}}),
            422,
        ),
        (
            "empty title",
            "/chatkit",
            json!({"type": "threads.update", "params": {"thread_id": "01a20b81-0f32-72ad-99d4-4d939bb6635b", "title": ""}}),
            422,
        ),
    ];
    for (reason, uri, body, status) in cases {
        let reply = App::send_to(&app.router, Method::POST, uri, Some("alice"), Some(body)).await;
        assert_eq!(reply.status.as_u16(), status, "{reason}: {}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{reason}");
    }
    let unauthenticated = App::send_to(
        &app.router,
        Method::POST,
        "/chatkit",
        None,
        Some(json!({"type": "threads.list", "params": {}})),
    )
    .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let wrong_user = App::send_to(
        &app.router,
        Method::POST,
        "/api/bob/chat",
        Some("alice"),
        Some(json!({"message": "hi"})),
    )
    .await;
    assert_eq!(wrong_user.status, StatusCode::FORBIDDEN);
    let own = App::send_to(
        &app.router,
        Method::POST,
        "/api/alice/chat",
        Some("alice"),
        Some(json!({"message": "hi"})),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        app.messages().await.len(),
        2,
        "only the last, valid turn was stored"
    );
}

#[tokio::test]
async fn a_turn_takes_three_round_trips_and_one_more_per_tool() {
    let trips = TripCounter::start().await;
    let app = App::offline_through(&trips).await;
    // Open the connection and prepare what can be prepared: neither is a turn's work.
    let warm = app.chat("alice", None, "hello").await;
    let id = warm.body["conversation_id"].as_str().unwrap().to_owned();
    app.chat("alice", Some(&id), "hello again").await;
    app.chat("alice", Some(&id), "Add a task to warm up").await;

    let cost = |what: &str, made: u64, expected: u64| {
        assert_eq!(made, expected, "{what}: {made} round trips");
    };
    // Each is the decision's reads behind the lock (with the history), the new message and turn
    // with the COMMIT, and the reply with the turn's end; a tool call is one trip of its own.
    let before = trips.count();
    let reply = app.chat("alice", None, "hello").await;
    assert_eq!(reply.status, StatusCode::OK);
    cost("a new conversation", trips.count() - before, 3);

    let before = trips.count();
    let reply = app.chat("alice", Some(&id), "hello once more").await;
    assert_eq!(reply.status, StatusCode::OK);
    cost("a turn without tools", trips.count() - before, 3);

    let before = trips.count();
    let reply = app.chat("alice", Some(&id), "Add a task to buy milk").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["tool_calls"].as_array().unwrap().len(), 1);
    cost("a turn with one tool", trips.count() - before, 4);
}

#[tokio::test]
async fn a_turn_costs_a_fixed_number_of_statements() {
    // Counted with BEGIN and COMMIT. A turn decides under the conversation's row lock (one
    // transaction), and its reply commits with the turn's end (another); a tool's effect commits
    // with its record (a third). Statements travel together: the round trips are counted in
    // `a_turn_takes_three_round_trips_and_one_more_per_tool`.
    let app = App::offline().await;
    let client = app.db.raw_client().await;
    enable_statement_stats(&client).await;
    // Open the pool's connection first: connecting is not the turn's work.
    let warm = app.chat("alice", None, "hello").await;
    let id = warm.body["conversation_id"].as_str().unwrap().to_owned();

    let before = statements_run(&client).await;
    app.chat("alice", None, "hello").await;
    assert_eq!(
        statements_run(&client).await - before,
        13,
        "new conversation: (turn quota, conversation count, the user's zone, conversation, message, turn) + (lease, reply, turn done)"
    );

    let before = statements_run(&client).await;
    app.chat("alice", Some(&id), "hello again").await;
    assert_eq!(
        statements_run(&client).await - before,
        17,
        "lock, lapsed leases, running turn, turn quota, last message, message count, history, the user's zone; message, turn; lease, reply, turn done"
    );

    let before = statements_run(&client).await;
    app.chat("alice", Some(&id), "Add a task to buy milk").await;
    assert_eq!(
        statements_run(&client).await - before,
        23,
        "plus the lease, the request with the call's record, the tool, and the result with the reply"
    );
}

/// Chat changes are history with the turn that made them; "undo that" reverses the last turn's
/// change (and again redoes it), "put it back" brings a deleted task back with its number, and
/// "what did I change?" reads the history — all checked in the database.
#[tokio::test]
async fn undo_and_history_in_chat() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "add buy milk").await;
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    let say = |message: &'static str| {
        let app = &app;
        let conversation = conversation.clone();
        async move { app.chat("alice", Some(&conversation), message).await }
    };
    say("add call the bank").await;
    let gone = say("delete task 1").await;
    assert_eq!(tool_names(&gone), ["delete_task"]);
    assert_eq!(
        app.tasks("alice").await,
        [(2, "Call the bank".into(), false)]
    );

    let back = say("put it back").await;
    assert_eq!(tool_names(&back), ["undo_last_change"]);
    let text = back.body["response"].as_str().unwrap();
    assert_eq!(
        text,
        "Undone: brought back \u{201c}Buy milk\u{201d} as task 1. Say \"undo\" again to redo it."
    );
    assert_eq!(
        app.tasks("alice").await,
        [
            (1, "Buy milk".into(), false),
            (2, "Call the bank".into(), false)
        ],
        "back with its number"
    );

    // Every event names the chat turn that made it, and each turn's own.
    let conn = app.db.conn().await;
    let rows = conn
        .query(
            "SELECT e.kind, e.source, e.turn_id = t.id, m.content \
             FROM task_events e JOIN turns t ON t.id = e.turn_id \
             JOIN messages m ON m.id = t.user_message_id \
             WHERE e.user_id = 'alice' ORDER BY e.id",
            &[],
        )
        .await
        .unwrap();
    let seen: Vec<(String, String, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        seen,
        [
            ("created".into(), "chat".into(), true, "add buy milk".into()),
            (
                "created".into(),
                "chat".into(),
                true,
                "add call the bank".into()
            ),
            (
                "deleted".into(),
                "chat".into(),
                true,
                "delete task 1".into()
            ),
            ("restored".into(), "chat".into(), true, "put it back".into()),
        ]
    );

    // "undo" again redoes: the undo was the latest change.
    let redo = say("undo").await;
    let text = redo.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("Undone: deleted \u{201c}Buy milk\u{201d} (task 1) again"),
        "{text}"
    );
    assert_eq!(
        app.tasks("alice").await,
        [(2, "Call the bank".into(), false)]
    );
    let restored = say("restore task 1").await;
    assert_eq!(tool_names(&restored), ["restore_task"]);
    assert_eq!(app.tasks("alice").await.len(), 2);
    let twice = say("restore task 1").await;
    let text = twice.body["response"].as_str().unwrap();
    assert!(text.contains("not in the trash"), "{text}");

    let history = say("what did I change?").await;
    assert_eq!(tool_names(&history), ["activity"]);
    let text = history.body["response"].as_str().unwrap();
    assert!(text.starts_with("Your latest changes:"), "{text}");
    assert!(text.contains("Restored \u{201c}Buy milk\u{201d}"), "{text}");
    assert!(text.contains("Deleted \u{201c}Buy milk\u{201d}"), "{text}");
    assert!(text.contains("in chat"), "{text}");
    let one = say("history of task 2").await;
    let text = one.body["response"].as_str().unwrap();
    assert!(text.starts_with("Latest changes to task 2:"), "{text}");
    assert!(
        text.contains("Added \u{201c}Call the bank\u{201d}"),
        "{text}"
    );
    assert!(!text.contains("Buy milk"), "{text}");

    // Bob has nothing to undo and sees none of it.
    let bob = app.chat("bob", None, "undo that").await;
    let text = bob.body["response"].as_str().unwrap();
    assert!(text.contains("there is nothing to undo"), "{text}");
    let bob = app.chat("bob", None, "what did I change?").await;
    assert_eq!(bob.body["response"], "Nothing has been changed yet.");
    assert_eq!(app.tasks("alice").await.len(), 2);
}

/// A task named in words is found by the `find_task` tool, in the database: one match is acted on
/// by its number, two or three are offered with their numbers, lists and dates and a pick acts on
/// exactly the one picked, none offers the closest — and nothing is changed until a number is known.
#[tokio::test]
async fn ambiguity_is_resolved_in_the_tool_with_two_and_three_candidates() {
    let app = App::offline().await;
    let first = app
        .chat("alice", None, "add team meeting friday ~Work")
        .await;
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    let say = |message: &'static str| {
        let app = &app;
        let conversation = conversation.clone();
        async move { app.chat("alice", Some(&conversation), message).await }
    };
    say("add meeting notes").await;
    say("add dentist appointment").await;
    // Bob's meeting is none of alice's candidates.
    app.chat("bob", None, "add bob's meeting").await;

    // Two candidates: it asks, listing both with their numbers, lists and dates.
    let asked = say("delete the meeting task").await;
    assert_eq!(tool_names(&asked), ["find_task"]);
    let text = asked.body["response"].as_str().unwrap();
    assert!(text.starts_with("Which one do you mean?"), "{text}");
    assert!(
        text.contains("- #1 Team meeting (due ") && text.contains("on Work)"),
        "{text}"
    );
    assert!(text.contains("- #2 Meeting notes"), "{text}");
    assert!(!text.contains("bob"), "{text}");
    assert_eq!(app.tasks("alice").await.len(), 3, "nothing deleted yet");
    let picked = say("the second one").await;
    assert_eq!(tool_names(&picked), ["delete_task"]);
    assert_eq!(
        picked.body["tool_calls"][0]["arguments"],
        json!({"task_id": 2})
    );
    let titles: Vec<String> = app.tasks("alice").await.into_iter().map(|t| t.1).collect();
    assert_eq!(titles, ["Team meeting", "Dentist appointment"]);

    // Three candidates.
    say("add meeting prep").await;
    say("add meeting room booking").await;
    let asked = say("complete the meeting task").await;
    let text = asked.body["response"].as_str().unwrap();
    for id in ["#1 ", "#4 ", "#5 "] {
        assert!(text.contains(&format!("- {id}")), "{id}: {text}");
    }
    let picked = say("4").await;
    assert_eq!(
        picked.body["tool_calls"][0]["arguments"],
        json!({"task_id": 4})
    );
    let done: Vec<(i64, bool)> = app
        .tasks("alice")
        .await
        .into_iter()
        .map(|t| (t.0, t.2))
        .collect();
    assert_eq!(done, [(1, false), (3, false), (4, true), (5, false)]);

    // An exact title wins over the titles that only contain the words.
    let exact = say("reopen meeting prep").await;
    assert_eq!(
        exact.body["tool_calls"][1]["arguments"],
        json!({"task_id": 4})
    );

    // None: the closest are offered, and nothing changes.
    let near = say("delete the dentst task").await;
    let text = near.body["response"].as_str().unwrap();
    assert!(
        text.starts_with(
            "I couldn't find a task matching \"dentst\". The closest:\n- #3 Dentist appointment"
        ),
        "{text}"
    );
    let none = say("delete the xylophone task").await;
    assert_eq!(
        none.body["response"],
        "I couldn't find a task matching \"xylophone\"."
    );
    assert_eq!(app.tasks("alice").await.len(), 4);
    assert_eq!(app.tasks("bob").await.len(), 1);
}

/// A change to several tasks is never made from one message: the assistant lists exactly what it
/// would change and asks; "yes" in the next message changes exactly that set (even after the list
/// changed), "no" changes nothing, a question expires with the next message, a filter matching
/// nothing or everything is refused in code, and one user cannot answer another's question.
#[tokio::test]
async fn changes_to_several_tasks_wait_for_a_yes() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "add report ~Work").await;
    let conversation = first.body["conversation_id"].as_str().unwrap().to_owned();
    let say = |message: &'static str| {
        let app = &app;
        let conversation = conversation.clone();
        async move { app.chat("alice", Some(&conversation), message).await }
    };
    say("add slides ~Work").await;
    say("add buy milk").await;
    say("add call mom").await;
    say("mark task 3 as complete").await;
    say("mark task 4 as complete").await;

    // Ask: nothing changes, the exact set is listed.
    let asked = say("delete all completed tasks").await;
    assert_eq!(tool_names(&asked), ["change_tasks"]);
    let text = asked.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("Delete these 2 tasks? Answer yes or no."),
        "{text}"
    );
    assert!(
        text.contains("#3 Buy milk") && text.contains("#4 Call mom"),
        "{text}"
    );
    assert_eq!(app.tasks("alice").await.len(), 4, "nothing deleted yet");

    // No: nothing changes.
    let no = say("no").await;
    assert_eq!(no.body["response"], "Cancelled: nothing was changed.");
    assert_eq!(app.tasks("alice").await.len(), 4);
    let late = say("yes").await;
    assert_eq!(
        late.body["response"],
        "There is no change waiting for a yes or no."
    );
    assert_eq!(app.tasks("alice").await.len(), 4);

    // Ask again; the list changes before the yes (task 2 completed from elsewhere): the yes
    // deletes exactly the two it listed, not the newly completed one.
    say("delete all completed tasks").await;
    let conn = app.db.conn().await;
    conn.execute(
        "UPDATE tasks SET completed = true, completed_at = now() WHERE user_id = 'alice' AND id = 2",
        &[],
    )
    .await
    .unwrap();
    // Bob cannot answer alice's question, in his conversation or by naming hers.
    let bob = app.chat("bob", None, "yes").await;
    assert_eq!(
        bob.body["response"],
        "There is no change waiting for a yes or no."
    );
    let bob = app.chat("bob", Some(&conversation), "yes").await;
    assert_eq!(bob.status, StatusCode::NOT_FOUND);
    let yes = say("yes").await;
    assert_eq!(tool_names(&yes), ["confirm_change"]);
    let text = yes.body["response"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Deleted 2 tasks: #3 \u{201c}Buy milk\u{201d}, #4 \u{201c}Call mom\u{201d}."
        ),
        "{text}"
    );
    let left: Vec<i64> = app.tasks("alice").await.into_iter().map(|t| t.0).collect();
    assert_eq!(left, [1, 2], "exactly the listed set; task 2 stays");
    // One undo takes the whole confirmed change back.
    say("undo").await;
    assert_eq!(app.tasks("alice").await.len(), 4);

    // A question expires with the next message.
    say("mark everything on my work list done").await;
    say("what's pending?").await;
    let expired = say("yes").await;
    assert_eq!(
        expired.body["response"],
        "There is no change waiting for a yes or no."
    );
    assert!(!app.tasks("alice").await[0].2, "task 1 is still pending");

    // Refused in code: no filter, a filter matching every task, a filter matching nothing.
    let everything = say("delete all tasks").await;
    let text = everything.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("I won't do that:") && text.contains("say which tasks"),
        "{text}"
    );
    let all_work = say("complete all tasks on my work list").await;
    let text = all_work.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("Complete this task? Answer yes or no."),
        "{text}"
    );
    say("no").await;
    let nothing = say("delete all tasks tagged nowhere").await;
    assert_eq!(
        nothing.body["response"],
        "No task matches, so there is nothing to change."
    );
    let stored: i64 = conn
        .query_one(
            "SELECT count(*) FROM pending_actions WHERE user_id = 'alice' AND state = 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    assert_eq!(app.tasks("alice").await.len(), 4);
}

/// Several items in one message: "add milk, eggs and bread" adds three tasks; "complete 2 and 3"
/// asks first, naming a number that does not exist, then completes exactly those — in the database.
#[tokio::test]
async fn several_items_in_one_message() {
    let app = App::offline().await;
    let added = app.chat("alice", None, "add milk, eggs and bread").await;
    assert_eq!(tool_names(&added), ["add_tasks"]);
    assert_eq!(
        added.body["response"],
        "Added 3 tasks: #1 \"Milk\", #2 \"Eggs\", #3 \"Bread\"."
    );
    let conversation = added.body["conversation_id"].as_str().unwrap().to_owned();
    let titles: Vec<String> = app.tasks("alice").await.into_iter().map(|t| t.1).collect();
    assert_eq!(titles, ["Milk", "Eggs", "Bread"]);

    let asked = app
        .chat("alice", Some(&conversation), "complete tasks 2, 3 and 9")
        .await;
    let text = asked.body["response"].as_str().unwrap();
    assert!(
        text.starts_with("There is no task 9. Complete these 2 tasks? Answer yes or no."),
        "{text}"
    );
    assert!(
        app.tasks("alice").await.iter().all(|t| !t.2),
        "nothing completed yet"
    );
    app.chat("alice", Some(&conversation), "yes").await;
    let done: Vec<bool> = app.tasks("alice").await.into_iter().map(|t| t.2).collect();
    assert_eq!(done, [false, true, true]);
}

/// The question of a change to several tasks, on `/chatkit`: a `structured_input` item with Yes
/// and No after the reply (streamed, and in the thread), answered by `threads.add_structured_input`
/// — exactly once, by its owner, and only while it is open; the database says what happened.
#[tokio::test]
async fn a_chatkit_question_is_answered_with_its_buttons() {
    let app = App::offline().await;
    let created = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("add report")}),
        )
        .await;
    let thread = created.frames[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let say = |text: &'static str| {
        let (app, thread) = (&app, thread.clone());
        async move {
            app.chatkit(
                "alice",
                "threads.add_user_message",
                json!({"thread_id": thread, "input": input(text)}),
            )
            .await
        }
    };
    for text in [
        "add slides",
        "add buy milk",
        "complete task 2",
        "complete task 3",
    ] {
        say(text).await;
    }
    let question_of = |frames: &[Value]| -> Value {
        let items = done_items(frames);
        let question = items.last().unwrap().clone();
        assert_eq!(question["type"], "structured_input", "{items:?}");
        question
    };

    // Asked: the reply, then the question, pending; nothing changed.
    let asked = say("delete all completed tasks").await;
    let question = question_of(&asked.frames);
    assert_eq!(question["status"], "pending");
    assert_eq!(question["thread_id"], thread.as_str());
    let choice = &question["inputs"][0];
    assert_eq!(
        (
            choice["type"].as_str(),
            choice["id"].as_str(),
            choice["question"].as_str()
        ),
        (
            Some("multiple_choice"),
            Some("confirm"),
            Some("Delete these 2 tasks?")
        )
    );
    assert_eq!(
        choice["options"],
        json!([{"value": "Yes"}, {"value": "No"}])
    );
    assert!(choice.get("answer").is_none());
    let id = question["id"].as_str().unwrap().to_owned();
    assert_eq!(app.tasks("alice").await.len(), 3);
    // The thread shows it right after the reply that asked.
    let got = app
        .chatkit("alice", "threads.get_by_id", json!({"thread_id": thread}))
        .await;
    let items = got.body["items"]["data"].as_array().unwrap();
    let at = items.iter().position(|i| i["id"] == id.as_str()).unwrap();
    assert_eq!(items[at]["status"], "pending");
    assert_eq!(items[at - 1]["type"], "assistant_message");
    let newest = app
        .chatkit(
            "alice",
            "items.list",
            json!({"thread_id": thread, "order": "desc", "limit": 1}),
        )
        .await;
    let newest = newest.body["data"].as_array().unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["structured_input", "assistant_message"],
        "a page does not separate a reply from its question"
    );

    // An item as the thread's newest page shows it.
    let shown = |id: String| {
        let (app, thread) = (&app, thread.clone());
        async move {
            let page = app
                .chatkit(
                    "alice",
                    "items.list",
                    json!({"thread_id": thread, "order": "desc", "limit": 10}),
                )
                .await;
            let items = page.body["data"].as_array().unwrap().clone();
            items.into_iter().find(|i| i["id"] == id.as_str()).unwrap()
        }
    };
    let answer = |user: &'static str, item: String, values: Value| {
        let (app, thread) = (&app, thread.clone());
        async move {
            app.chatkit(
                user,
                "threads.add_structured_input",
                json!({"thread_id": thread, "item_id": item,
                       "input": {"status": "answered", "answers": {"confirm": {"values": values}}}}),
            )
            .await
        }
    };
    // Bob cannot answer it; an unknown item or a bad submission is refused; nothing changes.
    assert_eq!(
        answer("bob", id.clone(), json!(["Yes"])).await.status,
        StatusCode::NOT_FOUND
    );
    let unknown = format!("confirm_{}", uuid::Uuid::now_v7());
    assert_eq!(
        answer("alice", unknown, json!(["Yes"])).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        answer("alice", "not-an-item".into(), json!(["Yes"]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bad = answer("alice", id.clone(), json!("Yes")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.tasks("alice").await.len(), 3);

    // No: the question is replaced with its answer first; nothing is deleted.
    let no = answer("alice", id.clone(), json!(["No"])).await;
    assert_eq!(no.status, StatusCode::OK);
    assert_eq!(no.frames[0]["type"], "thread.item.replaced");
    assert_eq!(no.frames[0]["item"]["status"], "answered");
    assert_eq!(
        no.frames[0]["item"]["inputs"][0]["answer"],
        json!({"values": ["No"], "skipped": false})
    );
    let items = done_items(&no.frames);
    assert_eq!(items[0]["content"][0]["text"], "No");
    assert_eq!(
        items[1]["content"][0]["text"],
        "Cancelled: nothing was changed."
    );
    assert_eq!(app.tasks("alice").await.len(), 3);
    // Closed now: a second press is a 409 and changes nothing.
    let again = answer("alice", id.clone(), json!(["Yes"])).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains("answered no")
    );
    assert_eq!(app.tasks("alice").await.len(), 3);

    // Yes: exactly the listed set goes, even though task 1 was completed in between.
    let asked = say("delete all completed tasks").await;
    let id = question_of(&asked.frames)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = app.db.conn().await;
    conn.execute(
        "UPDATE tasks SET completed = true, completed_at = now() WHERE user_id = 'alice' AND id = 1",
        &[],
    )
    .await
    .unwrap();
    let yes = answer("alice", id.clone(), json!(["yes"])).await;
    assert_eq!(yes.frames[0]["type"], "thread.item.replaced");
    let text = done_items(&yes.frames)[1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.starts_with("Deleted 2 tasks"), "{text}");
    assert!(yes.frames.iter().any(|f| f["name"] == "tasks_changed"));
    let left: Vec<i64> = app.tasks("alice").await.into_iter().map(|t| t.0).collect();
    assert_eq!(left, [1]);
    let item = shown(id.clone()).await;
    assert_eq!(item["status"], "answered");
    assert_eq!(item["inputs"][0]["answer"]["values"], json!(["Yes"]));
    assert_eq!(
        answer("alice", id, json!(["Yes"])).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(app.tasks("alice").await.len(), 1);

    // A question another message came after is shown as skipped and cannot be answered.
    say("undo").await;
    say("reopen task 1").await;
    let asked = say("delete all completed tasks").await;
    let id = question_of(&asked.frames)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    say("what's pending?").await;
    let item = shown(id.clone()).await;
    assert_eq!(item["status"], "skipped");
    let late = answer("alice", id, json!(["Yes"])).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(
        app.tasks("alice").await.len(),
        3,
        "the undo brought them back; nothing since"
    );
}
