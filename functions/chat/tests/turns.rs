//! A turn is a serialised, idempotent record: concurrency, resends, retries, idempotency keys,
//! crashes between a tool's commit and the reply, and the history a strict fake OpenAI accepts.
//! Real PostgreSQL; the OpenAI API faked at the HTTP boundary and validated as OpenAI does.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{App, Script, done_items, input, model_requests, strict_openai};
use serde_json::{Value, json};
use smart_todo_shared::test_support::TripCounter;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Five failures: one request of async-openai and its three retries, and one more for luck.
fn failures(status: u16) -> Vec<Script> {
    vec![Script::Fail(status); 4]
}

fn add(title: &str) -> Script {
    Script::Call("add_task", json!({ "title": title }))
}

async fn count(app: &App, sql: &str) -> i64 {
    let client = app.db.raw_client().await;
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// The tool messages of the model's last request.
fn tool_results_sent(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn two_concurrent_turns_on_one_conversation_answer_once_and_refuse_the_other() {
    let (fake, model) = strict_openai(
        vec![
            Script::Text(vec!["Hi."]),
            Script::SlowCall(
                "add_task",
                json!({"title": "Buy milk"}),
                Duration::from_millis(400),
            ),
            Script::Text(vec!["Added."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();

    let other_instance = app.fresh_router();
    let (a, b) = tokio::join!(
        App::chat_on(&app.router, "alice", None, Some(&id), "add buy milk"),
        App::chat_on(&other_instance, "alice", None, Some(&id), "add buy milk"),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:?} {:?}", a.body, b.body);
    let refused = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(refused.content_type, "application/problem+json");
    assert!(
        refused.headers.contains_key("retry-after"),
        "409 carries Retry-After"
    );
    assert_eq!(app.tasks("alice").await.len(), 1, "one effect");
    assert_eq!(
        count(&app, "SELECT count(*) FROM messages WHERE role = 'user'").await,
        2,
        "the refused turn stored nothing"
    );
    assert_eq!(fake.rejected(), 0);
}

#[tokio::test]
async fn a_model_outage_after_add_task_then_a_resend_creates_one_task_and_shows_the_model_the_result()
 {
    let mut scripts = vec![add("Buy milk")];
    scripts.extend(failures(500));
    scripts.push(Script::Text(vec!["Added \"Buy milk\"."]));
    let (fake, model) = strict_openai(scripts, TIMEOUT).await;
    let app = App::with_model(model).await;

    let failed = app.chat("alice", None, "add buy milk").await;
    assert_eq!(
        failed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        failed.body
    );
    assert_eq!(app.tasks("alice").await.len(), 1, "the tool ran once");
    let id = {
        let client = app.db.raw_client().await;
        let row = client
            .query_one("SELECT id::text FROM conversations", &[])
            .await
            .unwrap();
        row.get::<_, String>(0)
    };

    let resent = app.chat("alice", Some(&id), "add buy milk").await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    assert_eq!(resent.body["response"], "Added \"Buy milk\".");
    assert_eq!(app.tasks("alice").await.len(), 1, "no second task");
    assert_eq!(resent.body["tool_calls"][0]["name"], "add_task");
    let requests = model_requests(&fake.server).await;
    let last = requests.last().unwrap();
    let results = tool_results_sent(last);
    assert_eq!(results.len(), 1, "{last}");
    assert!(results[0].contains("\"created\""), "{results:?}");
    assert!(
        last["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("resumed"),
        "the model is told the turn resumed"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM messages WHERE role = 'user'").await,
        1
    );
    assert_eq!(fake.rejected(), 0);
}

#[tokio::test]
async fn a_model_timeout_after_add_task_then_a_chatkit_retry_creates_one_task() {
    let scripts = vec![
        add("Call mom"),
        Script::Slow(Duration::from_secs(5)),
        Script::Text(vec!["Added \"Call mom\"."]),
    ];
    let (fake, model) = strict_openai(scripts, Duration::from_millis(500)).await;
    let app = App::with_model(model).await;
    let created = app
        .chatkit(
            "alice",
            "threads.create",
            json!({"input": input("add call mom")}),
        )
        .await;
    let error = created.frames.last().unwrap();
    assert_eq!(error["type"], "error", "{:?}", created.frames);
    assert_eq!(error["allow_retry"], true);
    assert_eq!(app.tasks("alice").await.len(), 1);
    let thread = created.frames[0]["thread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = done_items(&created.frames)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let retried = app
        .chatkit(
            "alice",
            "threads.retry_after_item",
            json!({"thread_id": thread, "item_id": item}),
        )
        .await;
    let items = done_items(&retried.frames);
    assert_eq!(items.len(), 1, "{:?}", retried.frames);
    assert_eq!(items[0]["content"][0]["text"], "Added \"Call mom\".");
    assert_eq!(app.tasks("alice").await.len(), 1, "no second task");
    let requests = model_requests(&fake.server).await;
    assert!(tool_results_sent(requests.last().unwrap())[0].contains("\"created\""));
    assert_eq!(fake.rejected(), 0);
}

#[tokio::test]
async fn a_crash_between_the_tools_commit_and_the_reply_is_continued_without_a_repeat() {
    let (fake, model) = strict_openai(
        vec![add("Pay rent"), Script::Text(vec!["Added \"Pay rent\"."])],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let client = app.db.raw_client().await;
    // The reply insert fails as if the connection died right after the tool committed.
    client
        .batch_execute(
            "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               RAISE EXCEPTION 'simulated crash' USING ERRCODE = '57P01'; END $$; \
             CREATE TRIGGER crash BEFORE INSERT ON messages FOR EACH ROW \
               WHEN (NEW.role = 'assistant' AND NEW.tool_calls IS NULL) EXECUTE FUNCTION crash();",
        )
        .await
        .unwrap();
    let failed = app.chat("alice", None, "add pay rent").await;
    assert_eq!(
        failed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        failed.body
    );
    assert_eq!(app.tasks("alice").await.len(), 1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM turns WHERE status = 'failed'").await,
        1,
        "the failed turn freed its conversation"
    );
    client
        .batch_execute("DROP TRIGGER crash ON messages")
        .await
        .unwrap();
    let id: String = client
        .query_one("SELECT id::text FROM conversations", &[])
        .await
        .unwrap()
        .get(0);

    let resent = app.chat("alice", Some(&id), "add pay rent").await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    assert_eq!(app.tasks("alice").await.len(), 1, "no repeat");
    assert_eq!(
        model_requests(&fake.server).await.len(),
        3,
        "the tool request was not asked for again: call, (crash), answer"
    );
    assert_eq!(fake.rejected(), 0);
}

#[tokio::test]
async fn each_tool_round_is_one_round_trip_and_its_result_reaches_the_model_and_the_store() {
    let trips = TripCounter::start().await;
    let (fake, model) = strict_openai(
        vec![
            Script::Text(vec!["Hello."]),
            add("Warm up"),
            Script::Text(vec!["Added."]),
            add("Buy milk"),
            add("Call mom"),
            Script::Text(vec!["Added both."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::through(model, &trips).await;
    // Open the connection and prepare its statements: neither is the turn's work.
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    app.chat("alice", Some(&id), "add warm up").await;

    let before = trips.count();
    let reply = app
        .chat("alice", Some(&id), "add buy milk and call mom")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        trips.count() - before,
        3 + 2,
        "begin (2), one trip per tool call, the reply"
    );
    // The second round's request carries the first call's real result...
    let requests = model_requests(&fake.server).await;
    let second_round = &requests[requests.len() - 2];
    assert!(
        tool_results_sent(second_round)
            .last()
            .unwrap()
            .contains("Buy milk"),
        "{second_round}"
    );
    // ...and the store holds every result, none left pending.
    let client = app.db.raw_client().await;
    let stored: Vec<String> = client
        .query(
            "SELECT content FROM messages WHERE role = 'tool' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored.len(), 3, "{stored:?}");
    for (content, title) in stored.iter().zip(["Warm up", "Buy milk", "Call mom"]) {
        assert!(
            content.contains(title) && content.contains("created"),
            "{content}"
        );
    }
    assert_eq!(fake.rejected(), 0);
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_answer_and_a_different_body_is_422() {
    let (fake, model) = strict_openai(
        vec![add("Buy bread"), Script::Text(vec!["Added."])],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let first = app
        .chat_with_key("alice", "key-1", None, "add buy bread")
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app
        .chat_with_key("alice", "key-1", None, "add buy bread")
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "identical answers");
    assert_eq!(app.tasks("alice").await.len(), 1, "one effect");
    assert_eq!(
        model_requests(&fake.server).await.len(),
        2,
        "no new model work"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM conversations").await, 1);

    let other = app
        .chat_with_key("alice", "key-1", None, "add buy cheese")
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(other.body["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(app.tasks("alice").await.len(), 1);

    // Keys belong to their user: bob's "key-1" is his own.
    let bob = app.chat_with_key("bob", "key-1", None, "hello").await;
    assert_eq!(bob.status, StatusCode::OK);
    assert_ne!(bob.body["conversation_id"], first.body["conversation_id"]);

    for bad in ["", "has space", &"k".repeat(129)] {
        let reply = app.chat_with_key("alice", bad, None, "hello").await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
}

#[tokio::test]
async fn the_same_key_while_its_turn_runs_is_409() {
    let (_fake, model) = strict_openai(
        vec![
            Script::SlowCall("list_tasks", json!({}), Duration::from_millis(500)),
            Script::Text(vec!["Nothing yet."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let router = app.router.clone();
    let running = tokio::spawn(async move {
        App::chat_on(&router, "alice", Some("key-2"), None, "what's pending?").await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let during = app
        .chat_with_key("alice", "key-2", None, "what's pending?")
        .await;
    assert_eq!(during.status, StatusCode::CONFLICT, "{}", during.body);
    let done = running.await.unwrap();
    assert_eq!(done.status, StatusCode::OK);
    let after = app
        .chat_with_key("alice", "key-2", None, "what's pending?")
        .await;
    assert_eq!(after.body, done.body);
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_and_a_live_one_is_not() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let client = app.db.raw_client().await;
    // A turn whose function died mid-way: still `running`, its lease in the past.
    client
        .batch_execute(
            "UPDATE turns SET status = 'running', lease_until = now() - interval '1 second'",
        )
        .await
        .unwrap();
    let next = app.chat("alice", Some(&id), "what's pending?").await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    // A live one blocks.
    client
        .batch_execute(
            "UPDATE turns SET status = 'running', lease_until = now() + interval '1 minute' \
             WHERE id = (SELECT id FROM turns ORDER BY started_at DESC LIMIT 1)",
        )
        .await
        .unwrap();
    let blocked = app.chat("alice", Some(&id), "add milk").await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    let chatkit = app
        .chatkit(
            "alice",
            "threads.add_user_message",
            json!({"thread_id": id, "input": input("add milk")}),
        )
        .await;
    assert_eq!(chatkit.status, StatusCode::OK);
    assert_eq!(chatkit.frames.len(), 1, "{:?}", chatkit.frames);
    assert_eq!(chatkit.frames[0]["type"], "error");
    assert_eq!(chatkit.frames[0]["allow_retry"], true);
    assert!(app.tasks("alice").await.is_empty(), "nothing ran");
}

#[tokio::test]
async fn overlapping_and_legacy_histories_are_always_sent_well_formed() {
    let (fake, model) = strict_openai(
        vec![
            Script::Call("list_tasks", json!({})),
            Script::Text(vec!["You have no tasks."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let first = app.chat("alice", None, "what's pending?").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    // Rows as overlapping turns wrote them before turns were records: a request whose results
    // are split by another question, and a result with no request.
    let client = app.db.raw_client().await;
    client
        .execute(
            "WITH c AS (UPDATE conversations SET last_seq = last_seq + 5 WHERE id = $1::text::uuid \
               RETURNING id, last_seq) \
             INSERT INTO messages (id, conversation_id, user_id, role, content, tool_calls, tool_call_id, seq) \
             SELECT gen_random_uuid(), c.id, 'alice', r.role, r.content, r.calls::jsonb, r.call_id, c.last_seq - 5 + r.n \
             FROM c, (VALUES \
               (1, 'user', 'list', NULL, NULL), \
               (2, 'assistant', '', '[{\"id\":\"old_a\",\"name\":\"list_tasks\",\"arguments\":\"{}\"}]', NULL), \
               (3, 'user', 'list again', NULL, NULL), \
               (4, 'tool', '{\"tasks\":[]}', '{\"tool_call_id\":\"old_a\"}', 'old_a'), \
               (5, 'tool', '{\"tasks\":[]}', '{\"tool_call_id\":\"stray\"}', 'stray')) \
               AS r(n, role, content, calls, call_id)",
            &[&id],
        )
        .await
        .unwrap();
    let next = app.chat("alice", Some(&id), "what's pending now?").await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    assert_eq!(fake.rejected(), 0, "the fake OpenAI accepted every request");
}

#[tokio::test]
async fn messages_are_ordered_by_their_sequence_not_their_clock() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    app.chat("alice", Some(&id), "what's pending?").await;
    // A clock that ran backwards while the replies were written.
    let client = app.db.raw_client().await;
    client
        .batch_execute(
            "UPDATE messages SET created_at = created_at - interval '1 hour' WHERE role = 'assistant'",
        )
        .await
        .unwrap();
    let items = app
        .chatkit(
            "alice",
            "items.list",
            json!({"thread_id": id, "order": "asc"}),
        )
        .await;
    let kinds: Vec<&str> = items.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message"
        ]
    );
    let seqs: Vec<i64> = client
        .query(
            "SELECT seq FROM messages WHERE conversation_id = $1::text::uuid ORDER BY seq",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "1, 2, 3 …"
    );
}

#[tokio::test]
async fn an_unknown_after_cursor_is_404_not_an_empty_page() {
    let app = App::offline().await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let unknown = "0190a000-0000-7000-8000-000000000000";
    let items = app
        .chatkit(
            "alice",
            "items.list",
            json!({"thread_id": id, "after": unknown}),
        )
        .await;
    assert_eq!(items.status, StatusCode::NOT_FOUND);
    let threads = app
        .chatkit("alice", "threads.list", json!({"after": unknown}))
        .await;
    assert_eq!(threads.status, StatusCode::NOT_FOUND);
    // Another user's thread is as unknown as a made-up one.
    let bob = app
        .chatkit("bob", "threads.list", json!({"after": id}))
        .await;
    assert_eq!(bob.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reply_with_nul_is_stored_safely() {
    let (_fake, model) = strict_openai(vec![Script::Raw("a\u{0}b".into())], TIMEOUT).await;
    let app = App::with_model(model).await;
    let reply = app.chat("alice", None, "hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "a\u{FFFD}b");
    assert_eq!(
        count(&app, "SELECT count(*) FROM turns WHERE status = 'done'").await,
        1
    );
}

#[tokio::test]
async fn the_json_turn_finishes_when_the_client_goes_away() {
    let (_fake, model) = strict_openai(
        vec![
            Script::SlowCall(
                "add_task",
                json!({"title": "Water plants"}),
                Duration::from_millis(300),
            ),
            Script::Text(vec!["Added."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let gone = tokio::time::timeout(
        Duration::from_millis(100),
        app.chat("alice", None, "add water plants"),
    )
    .await;
    assert!(gone.is_err(), "the client gave up first");
    for _ in 0..50 {
        if count(&app, "SELECT count(*) FROM turns WHERE status = 'done'").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.tasks("alice").await.len(), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM messages WHERE role = 'assistant' AND tool_calls IS NULL"
        )
        .await,
        1,
        "the reply was stored"
    );
}

#[tokio::test]
async fn a_quiet_stream_gets_keep_alive_comments() {
    let (_fake, model) =
        strict_openai(vec![Script::Slow(Duration::from_millis(400))], TIMEOUT).await;
    let app = App::with_model(model).await;
    let mut state = smart_todo_chat::ChatState::new(
        smart_todo_shared::AppState {
            pool: app.db.pool.clone(),
            auth: smart_todo_shared::test_support::authenticator(),
            limits: Default::default(),
        },
        app.model.clone(),
    );
    state.keep_alive = Duration::from_millis(100);
    let router = smart_todo_chat::router(state);
    let token = smart_todo_shared::test_support::bearer("alice");
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/chatkit")
        .header("authorization", token.as_str())
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"type": "threads.create", "params": {"input": input("hi")}}).to_string(),
        ))
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains(": keep-alive\n\n"), "{text}");
    assert!(text.contains("too late"), "the reply still arrives");
}

#[tokio::test]
async fn a_conversation_deleted_during_a_turn_says_retry_cannot_help() {
    let (_fake, model) = strict_openai(
        vec![
            Script::Text(vec!["Hi."]),
            Script::SlowCall("list_tasks", json!({}), Duration::from_millis(400)),
            Script::Text(vec!["Nothing."]),
        ],
        TIMEOUT,
    )
    .await;
    let app = App::with_model(model).await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let router = app.router.clone();
    let thread = id.clone();
    let turn = tokio::spawn(async move {
        App::send_to(
            &router,
            Method::POST,
            "/chatkit",
            Some("alice"),
            Some(json!({"type": "threads.add_user_message",
                "params": {"thread_id": thread, "input": input("what's pending?")}})),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let deleted = app
        .chatkit("alice", "threads.delete", json!({"thread_id": id}))
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let streamed = turn.await.unwrap();
    let last = streamed.frames.last().unwrap();
    assert_eq!(last["type"], "error", "{:?}", streamed.frames);
    assert_eq!(last["allow_retry"], false, "{last}");
}

fn limits() -> smart_todo_shared::config::Limits {
    smart_todo_shared::config::Limits::default()
}

#[tokio::test]
async fn over_the_chat_turn_limits_a_turn_is_429_before_any_model_work_and_stores_nothing() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        chat_turns_per_minute: 2,
        ..limits()
    })
    .await;
    smart_todo_shared::test_support::inside_one_minute().await;
    let first = app.chat("alice", None, "hello").await;
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.chat("alice", Some(&id), "add milk").await.status,
        StatusCode::OK
    );
    let before = app.messages().await;
    let refused = app.chat("alice", Some(&id), "add eggs").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.content_type, "application/problem+json");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("a minute")
    );
    let chatkit = app
        .chatkit(
            "alice",
            "threads.add_user_message",
            json!({"thread_id": id, "input": input("add eggs")}),
        )
        .await;
    assert_eq!(chatkit.frames.len(), 1, "{:?}", chatkit.frames);
    assert_eq!(chatkit.frames[0]["type"], "error");
    assert!(
        chatkit.frames[0]["message"]
            .as_str()
            .unwrap()
            .contains("a minute"),
        "{:?}",
        chatkit.frames
    );
    assert_eq!(app.messages().await, before, "nothing stored");
    assert_eq!(
        app.tasks("alice").await.len(),
        1,
        "only the allowed turn's task"
    );
    // Another user has a budget of their own.
    assert_eq!(app.chat("bob", None, "hello").await.status, StatusCode::OK);

    let daily = App::with_limits(smart_todo_shared::config::Limits {
        chat_turns_per_day: 1,
        ..limits()
    })
    .await;
    assert_eq!(
        daily.chat("alice", None, "hello").await.status,
        StatusCode::OK
    );
    let refused = daily.chat("alice", None, "hello again").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.body["detail"].as_str().unwrap().contains("today"));
}

#[tokio::test]
async fn conversation_and_message_caps_are_429() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        conversations_per_user: 1,
        messages_per_conversation: 2,
        ..limits()
    })
    .await;
    let first = app.chat("alice", None, "hello").await;
    assert_eq!(first.status, StatusCode::OK);
    let id = first.body["conversation_id"].as_str().unwrap().to_owned();
    let second = app.chat("alice", None, "hello").await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.body
    );
    assert!(
        second.body["detail"]
            .as_str()
            .unwrap()
            .contains("conversations")
    );
    let full = app.chat("alice", Some(&id), "more").await;
    assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS, "{}", full.body);
    assert!(full.body["detail"].as_str().unwrap().contains("full"));
    assert_eq!(count(&app, "SELECT count(*) FROM conversations").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM messages").await, 2);
}

/// The offline assistant hears "buy milk tomorrow at 5pm" as a task due tomorrow at 17:00 in the
/// user's zone: checked in the database, not only in the reply.
#[tokio::test]
async fn a_dated_request_is_stored_with_its_due_in_the_users_zone() {
    let app = App::offline().await;
    let client = app.db.raw_client().await;
    client
        .execute(
            "INSERT INTO users (user_id, timezone) VALUES ('alice', 'America/New_York')",
            &[],
        )
        .await
        .unwrap();
    let reply = app
        .chat("alice", None, "add buy milk tomorrow at 5pm")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let text = reply.body["response"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let row = client
        .query_one(
            "SELECT title, due_date, due_time::text, due_tz, due_at FROM tasks WHERE user_id = 'alice'",
            &[],
        )
        .await
        .unwrap();
    let tz = smart_todo_shared::domain::Zone::parse("America/New_York")
        .unwrap()
        .tz();
    let tomorrow = chrono::Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(1);
    assert_eq!(row.get::<_, String>(0), "Buy milk");
    assert_eq!(row.get::<_, chrono::NaiveDate>(1), tomorrow);
    assert_eq!(row.get::<_, String>(2), "17:00:00");
    assert_eq!(row.get::<_, String>(3), "America/New_York");
    let at: chrono::DateTime<chrono::Utc> = row.get(4);
    assert_eq!(
        at.with_timezone(&tz).naive_local(),
        tomorrow.and_hms_opt(17, 0, 0).unwrap()
    );
    assert!(text.contains("due ") && text.contains("17:00"), "{text}");
}

/// Completing a recurring task from chat moves it to its next occurrence inside the turn's
/// transaction (two statements: the completion, then the move) and says when it is next due.
#[tokio::test]
async fn completing_a_recurring_task_in_chat_moves_it_and_names_the_next_date() {
    let app = App::offline().await;
    let added = app
        .chat("alice", None, "add water the plants every day")
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let conversation = added.body["conversation_id"].as_str().unwrap().to_owned();
    let client = app.db.raw_client().await;
    let first: chrono::NaiveDate = client
        .query_one("SELECT due_date FROM tasks WHERE user_id = 'alice'", &[])
        .await
        .unwrap()
        .get(0);
    let done = app
        .chat("alice", Some(&conversation), "mark task 1 as complete")
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let row = client
        .query_one(
            "SELECT due_date, completed, last_completed_at IS NOT NULL FROM tasks WHERE user_id = 'alice'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, chrono::NaiveDate>(0),
        first + chrono::Duration::days(1)
    );
    assert!(!row.get::<_, bool>(1), "a recurring task stays pending");
    assert!(row.get::<_, bool>(2), "the completion is recorded");
    let text = done.body["response"].as_str().unwrap();
    assert!(text.contains("next due"), "{text}");
}
