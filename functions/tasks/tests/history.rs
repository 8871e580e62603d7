//! History, trash and undo through the REST API (migration V10), with the database checked: every
//! change records one event in its own statement, deletes go to the trash and come back with their
//! number, and undo reverses a change — or refuses, changing nothing, when a later change would be
//! overwritten.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use smart_todo_shared::domain::{TurnId, UserId};
use smart_todo_shared::history::Origin;
use smart_todo_shared::test_support::bearer;
use smart_todo_shared::tools;

use common::{App, Reply};

impl App {
    /// A request as the web app sends it (`X-Smart-Todo-Client: web`).
    async fn as_web_app(
        &self,
        method: Method,
        uri: &str,
        user: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, bearer(user))
            .header("x-smart-todo-client", "web");
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn events(&self, user: &str, query: &str) -> Vec<Value> {
        let reply = self
            .call(
                Method::GET,
                &format!("/api/activity{query}"),
                Some(user),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["events"].as_array().unwrap().clone()
    }

    async fn undo(&self, user: &str, body: Option<Value>) -> Reply {
        self.call(Method::POST, "/api/undo", Some(user), body).await
    }

    async fn task(&self, user: &str, id: i64) -> Reply {
        self.call(Method::GET, &format!("/api/tasks/{id}"), Some(user), None)
            .await
    }

    async fn patch(&self, user: &str, id: i64, body: Value) -> Value {
        let reply = self
            .call(
                Method::PATCH,
                &format!("/api/tasks/{id}"),
                Some(user),
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    /// Rows of the user's history in the database: (task, kind, source, undone).
    async fn stored(&self, user: &str) -> Vec<(i64, String, String, bool)> {
        self.db
            .conn()
            .await
            .query(
                "SELECT task_id, kind, source, undone_by IS NOT NULL FROM task_events \
                 WHERE user_id = $1 ORDER BY id",
                &[&user],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    /// A tool call as the chat assistant makes it in `turn`.
    async fn chat_tool(&self, user: &str, turn: TurnId, name: &str, arguments: Value) -> Value {
        let conn = self.db.conn().await;
        tools::call(
            &conn,
            &UserId::parse(user).unwrap(),
            &Origin::chat(turn),
            &Default::default(),
            name,
            arguments,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .to_json()
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_change_is_recorded_with_its_source_and_fields() {
    let app = App::new().await;
    let task = app.create("alice", "Buy milk").await;
    let id = task["id"].as_i64().unwrap();
    app.as_web_app(
        Method::PATCH,
        &format!("/api/tasks/{id}"),
        "alice",
        Some(json!({"title": "Buy oat milk", "priority": "high"})),
    )
    .await;
    app.patch(
        "alice",
        id,
        json!({"due": "2027-01-05 17:00", "tags": ["shop"]}),
    )
    .await;
    app.patch("alice", id, json!({"list": "Errands"})).await;
    app.call(
        Method::POST,
        &format!("/api/tasks/{id}/complete"),
        Some("alice"),
        None,
    )
    .await;
    app.call(
        Method::POST,
        &format!("/api/tasks/{id}/reopen"),
        Some("alice"),
        None,
    )
    .await;
    // A change that changes nothing is not a change.
    app.patch("alice", id, json!({"title": "Buy oat milk"}))
        .await;

    let events = app.events("alice", "").await;
    assert_eq!(
        kinds(&events),
        [
            "reopened",
            "completed",
            "moved",
            "updated",
            "updated",
            "created"
        ]
    );
    let sources: Vec<&str> = events
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["rest", "rest", "rest", "rest", "ui", "rest"]);
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let created = &events[5];
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["title"], "Buy milk");
    assert_eq!(created["after"]["list"], "Inbox");
    assert_eq!(created["summary"], "Added \u{201c}Buy milk\u{201d}");
    let renamed = &events[4];
    assert_eq!(
        renamed["before"],
        json!({"title": "Buy milk", "priority": "none"})
    );
    assert_eq!(
        renamed["after"],
        json!({"title": "Buy oat milk", "priority": "high"})
    );
    assert!(
        renamed["summary"]
            .as_str()
            .unwrap()
            .starts_with("Renamed \u{201c}Buy milk\u{201d} to \u{201c}Buy oat milk\u{201d}"),
        "{renamed}"
    );
    let dated = &events[3];
    assert_eq!(dated["before"]["due"], Value::Null);
    assert_eq!(dated["after"]["due"]["date"], "2027-01-05");
    assert_eq!(dated["after"]["due"]["time"], "17:00");
    assert_eq!(dated["after"]["tags"], json!(["shop"]));
    let moved = &events[2];
    assert_eq!(moved["before"], json!({"list": "Inbox"}));
    assert_eq!(moved["after"], json!({"list": "Errands"}));
    assert_eq!(events[1]["after"]["completed"], true);
    assert_eq!(events[0]["after"]["completed"], false);
    for event in &events {
        assert_eq!(event["task_id"], id);
        assert_eq!(event["turn_id"], Value::Null);
        assert_eq!(event["undone"], false);
        assert_eq!(
            event["title"],
            if event["kind"] == "created" {
                "Buy milk"
            } else {
                "Buy oat milk"
            }
        );
    }

    // One task's history, and pages that continue where the last ended.
    app.create("alice", "Other").await;
    assert_eq!(
        app.events("alice", &format!("?task_id={id}")).await.len(),
        6
    );
    let first = app
        .call(Method::GET, "/api/activity?limit=4", Some("alice"), None)
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .events("alice", &format!("?limit=4&cursor={cursor}"))
        .await;
    assert_eq!(first.body["events"].as_array().unwrap().len(), 4);
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2]["kind"], "created");
    let last = app
        .call(
            Method::GET,
            &format!("/api/activity?limit=4&cursor={cursor}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(last.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_deleted_task_waits_in_the_trash_and_comes_back_with_its_number() {
    let app = App::new().await;
    for title in ["One", "Two", "Three"] {
        app.create("alice", title).await;
    }
    app.patch(
        "alice",
        2,
        json!({"list": "Work", "tags": ["x"], "due": "2027-03-01"}),
    )
    .await;
    let reply = app
        .call(Method::DELETE, "/api/tasks/2", Some("alice"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.task("alice", 2)
        .await
        .assert_problem(404, "a deleted task is gone from the list");
    let counts = app
        .call(Method::GET, "/api/counts", Some("alice"), None)
        .await;
    assert_eq!(counts.body["pending"], 2);

    let trash = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(trash.status, StatusCode::OK);
    let tasks = trash.body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], 2);
    assert_eq!(tasks[0]["title"], "Two");
    assert_eq!(tasks[0]["list"], "Work");
    assert_eq!(trash.body["next_cursor"], Value::Null);

    // A new task does not take the number.
    assert_eq!(app.create("alice", "Four").await["id"], 4);

    let back = app
        .call(Method::POST, "/api/tasks/2/restore", Some("alice"), None)
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["id"], 2);
    assert_eq!(back.body["title"], "Two");
    assert_eq!(back.body["list"], "Work");
    assert_eq!(back.body["tags"], json!(["x"]));
    assert_eq!(back.body["due"]["date"], "2027-03-01");
    assert_eq!(app.task("alice", 2).await.body["title"], "Two");
    let trash = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(trash.body["tasks"], json!([]));
    app.call(Method::POST, "/api/tasks/2/restore", Some("alice"), None)
        .await
        .assert_problem(404, "restoring twice");
    let counts = app
        .call(Method::GET, "/api/counts", Some("alice"), None)
        .await;
    assert_eq!(counts.body["pending"], 4);
    assert_eq!(
        kinds(&app.events("alice", "?task_id=2").await),
        ["restored", "deleted", "updated", "created"]
    );

    // A list deleted while the task was in the trash: it comes back to the Inbox.
    app.call(Method::DELETE, "/api/tasks/2", Some("alice"), None)
        .await;
    let lists = app
        .call(Method::GET, "/api/lists", Some("alice"), None)
        .await;
    let work = lists.body["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Work")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/lists/{work}"),
        Some("alice"),
        None,
    )
    .await;
    let back = app
        .call(Method::POST, "/api/tasks/2/restore", Some("alice"), None)
        .await;
    assert_eq!(back.body["list"], "Inbox");
}

#[tokio::test]
async fn the_trash_keeps_thirty_days_and_pages() {
    let app = App::new().await;
    for n in 1..=5 {
        app.create("alice", &format!("Task {n}")).await;
    }
    for n in 1..=4 {
        app.call(
            Method::DELETE,
            &format!("/api/tasks/{n}"),
            Some("alice"),
            None,
        )
        .await;
    }
    let page = app
        .call(Method::GET, "/api/trash?limit=3", Some("alice"), None)
        .await;
    let ids: Vec<i64> = page.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4, 3, 2], "most recently deleted first");
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app
        .call(
            Method::GET,
            &format!("/api/trash?limit=3&cursor={cursor}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(next.body["tasks"][0]["id"], 1);
    assert_eq!(next.body["next_cursor"], Value::Null);

    // Task 1 was deleted 31 days ago: not shown, not restorable, and swept by the next delete.
    let conn = app.db.conn().await;
    conn.execute(
        "UPDATE trash SET deleted_at = now() - interval '31 days' WHERE user_id = 'alice' AND id = 1",
        &[],
    )
    .await
    .unwrap();
    let page = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(page.body["tasks"].as_array().unwrap().len(), 3);
    app.call(Method::POST, "/api/tasks/1/restore", Some("alice"), None)
        .await
        .assert_problem(404, "an expired task");
    let in_trash = || async {
        let rows = conn
            .query(
                "SELECT id FROM trash WHERE user_id = 'alice' ORDER BY id",
                &[],
            )
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>()
    };
    assert_eq!(in_trash().await, [1, 2, 3, 4]);
    app.call(Method::DELETE, "/api/tasks/5", Some("alice"), None)
        .await;
    assert_eq!(in_trash().await, [2, 3, 4, 5], "task 1 swept, task 5 in");
}

#[tokio::test]
async fn undo_reverses_each_kind_of_change_and_undoing_an_undo_redoes_it() {
    let app = App::new().await;
    let id = app.create("alice", "Call mom").await["id"]
        .as_i64()
        .unwrap();

    // Rename, then undo: the title is back, the event is marked undone, the undo is an event too.
    app.patch("alice", id, json!({"title": "Call mom tonight"}))
        .await;
    let undone = app.undo("alice", None).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    let list = undone.body["undone"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "updated");
    assert_eq!(list[0]["undone"], true);
    assert_eq!(app.task("alice", id).await.body["title"], "Call mom");
    let events = app.events("alice", "").await;
    assert_eq!(events[0]["undoes"], events[1]["id"]);
    assert!(
        events[0]["summary"].as_str().unwrap().starts_with("Undo"),
        "{}",
        events[0]
    );

    // Undo again: the undo is undone, which redoes the rename.
    app.undo("alice", Some(json!({}))).await;
    assert_eq!(
        app.task("alice", id).await.body["title"],
        "Call mom tonight"
    );
    app.undo("alice", None).await;
    assert_eq!(app.task("alice", id).await.body["title"], "Call mom");

    // Completion, reopening, priority, tags, due and list, each undone.
    let complete = format!("/api/tasks/{id}/complete");
    app.call(Method::POST, &complete, Some("alice"), None).await;
    app.undo("alice", None).await;
    let task = app.task("alice", id).await.body;
    assert_eq!(
        (task["completed"].clone(), task["completed_at"].clone()),
        (json!(false), Value::Null)
    );
    app.call(Method::POST, &complete, Some("alice"), None).await;
    let done_at = app.task("alice", id).await.body["completed_at"].clone();
    app.call(
        Method::POST,
        &format!("/api/tasks/{id}/reopen"),
        Some("alice"),
        None,
    )
    .await;
    app.undo("alice", None).await;
    let task = app.task("alice", id).await.body;
    assert_eq!(task["completed"], true);
    assert_eq!(
        task["completed_at"], done_at,
        "the first completion time comes back exactly"
    );
    app.call(
        Method::POST,
        &format!("/api/tasks/{id}/reopen"),
        Some("alice"),
        None,
    )
    .await;

    let before = app.task("alice", id).await.body;
    app.patch(
        "alice",
        id,
        json!({"priority": "high", "tags": ["family"], "due": "2027-02-01 18:30", "list": "Home"}),
    )
    .await;
    app.undo("alice", None).await;
    let after = app.task("alice", id).await.body;
    for field in [
        "title",
        "priority",
        "tags",
        "due",
        "list",
        "description",
        "completed",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }

    // A delete undone comes back with its number; a create undone goes to the trash.
    app.call(
        Method::DELETE,
        &format!("/api/tasks/{id}"),
        Some("alice"),
        None,
    )
    .await;
    let undone = app.undo("alice", None).await;
    assert_eq!(undone.body["undone"][0]["kind"], "deleted");
    assert_eq!(app.task("alice", id).await.body["title"], "Call mom");
    let fresh = app.create("alice", "Typo tsak").await["id"]
        .as_i64()
        .unwrap();
    app.undo("alice", None).await;
    app.task("alice", fresh)
        .await
        .assert_problem(404, "an undone create");
    let trash = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(trash.body["tasks"][0]["id"], fresh);
    // And undoing that brings it back.
    app.undo("alice", None).await;
    assert_eq!(app.task("alice", fresh).await.body["title"], "Typo tsak");
}

#[tokio::test]
async fn undo_of_a_recurring_completion_puts_the_occurrence_back() {
    let app = App::new().await;
    let task = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "Water plants", "due": "every monday"})),
        )
        .await
        .body;
    let id = task["id"].as_i64().unwrap();
    let moved = app
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/complete"),
            Some("alice"),
            None,
        )
        .await
        .body;
    assert_ne!(moved["due"]["date"], task["due"]["date"]);
    let events = app.events("alice", "").await;
    assert_eq!(
        kinds(&events),
        ["completed", "created"],
        "one event per completion"
    );
    assert!(
        events[0]["summary"].as_str().unwrap().contains("next due"),
        "{}",
        events[0]
    );
    app.undo("alice", None).await;
    let back = app.task("alice", id).await.body;
    assert_eq!(back["due"], task["due"]);
    let stored: Option<chrono::DateTime<chrono::Utc>> = app
        .db
        .conn()
        .await
        .query_one(
            "SELECT last_completed_at FROM tasks WHERE user_id = 'alice' AND id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, None);
}

#[tokio::test]
async fn undo_takes_back_a_whole_chat_turn_and_refuses_to_overwrite_a_later_change() {
    let app = App::new().await;
    let turn = TurnId::generate();
    for title in ["Milk", "Eggs", "Bread"] {
        app.chat_tool("alice", turn, "add_task", json!({"title": title}))
            .await;
    }
    app.chat_tool("alice", turn, "complete_task", json!({"task_id": 1}))
        .await;
    let stored = app.stored("alice").await;
    assert_eq!(stored.len(), 4);
    assert!(stored.iter().all(|(_, _, source, _)| source == "chat"));
    let events = app.events("alice", "").await;
    assert!(events.iter().all(|e| e["turn_id"] == turn.to_string()));

    // A later change by the web app to task 2 (a field the turn wrote): undoing the turn would
    // overwrite it, so nothing is undone.
    app.as_web_app(
        Method::PATCH,
        "/api/tasks/2",
        "alice",
        Some(json!({"title": "Brown eggs"})),
    )
    .await;
    let refused = app
        .undo("alice", Some(json!({"turn_id": turn.to_string()})))
        .await;
    refused.assert_problem(409, "a later change");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("task 2 was changed after that"), "{detail}");
    assert_eq!(
        app.call(Method::GET, "/api/tasks", Some("alice"), None)
            .await
            .body["tasks"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "nothing was undone"
    );
    assert!(
        app.stored("alice")
            .await
            .iter()
            .all(|(_, _, _, undone)| !undone)
    );

    // Once that change is undone, the turn can be.
    app.undo("alice", None).await;
    let undone = app
        .undo("alice", Some(json!({"turn_id": turn.to_string()})))
        .await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    let kinds_undone: Vec<&str> = kinds(undone.body["undone"].as_array().unwrap());
    assert_eq!(kinds_undone, ["completed", "created", "created", "created"]);
    let left = app
        .call(Method::GET, "/api/tasks", Some("alice"), None)
        .await;
    assert_eq!(left.body["tasks"], json!([]));
    // All three are in the trash, not gone.
    let trash = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(trash.body["tasks"].as_array().unwrap().len(), 3);
    // The same turn again: everything it did is undone already.
    app.undo("alice", Some(json!({"turn_id": turn.to_string()})))
        .await
        .assert_problem(409, "a turn undone twice");
}

#[tokio::test]
async fn history_trash_and_undo_are_each_users_own() {
    let app = App::new().await;
    app.create("alice", "Alice's secret").await;
    app.call(Method::DELETE, "/api/tasks/1", Some("alice"), None)
        .await;
    app.create("alice", "Alice's second").await;
    let turn = TurnId::generate();
    app.chat_tool("alice", turn, "add_task", json!({"title": "From chat"}))
        .await;

    assert_eq!(app.events("bob", "").await, Vec::<Value>::new());
    assert_eq!(app.events("bob", "?task_id=1").await, Vec::<Value>::new());
    let trash = app.call(Method::GET, "/api/trash", Some("bob"), None).await;
    assert_eq!(trash.body["tasks"], json!([]));
    app.call(Method::POST, "/api/tasks/1/restore", Some("bob"), None)
        .await
        .assert_problem(404, "bob restoring alice's task");
    app.undo("bob", Some(json!({"turn_id": turn.to_string()})))
        .await
        .assert_problem(404, "bob undoing alice's turn");
    app.undo("bob", None)
        .await
        .assert_problem(409, "bob has nothing to undo");
    // Bob's own undo touches only bob's tasks.
    app.create("bob", "Bob's").await;
    app.undo("bob", None).await;
    let alice = app
        .call(Method::GET, "/api/tasks", Some("alice"), None)
        .await;
    assert_eq!(alice.body["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(app.stored("alice").await.len(), 4);
    assert!(
        app.stored("alice")
            .await
            .iter()
            .all(|(_, _, _, undone)| !undone)
    );
    let trash = app
        .call(Method::GET, "/api/trash", Some("alice"), None)
        .await;
    assert_eq!(trash.body["tasks"][0]["title"], "Alice's secret");
}

#[tokio::test]
async fn bad_history_requests_are_clear_4xx_and_change_nothing() {
    let app = App::new().await;
    app.create("alice", "Keep").await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=ten",
        "?cursor=abc",
        "?cursor=-3",
        "?cursor=5",
        // A trash cursor does not continue the history.
        "?cursor=dHJhc2g6MTow",
        "?task_id=x",
        "?task_id=0",
    ] {
        app.call(
            Method::GET,
            &format!("/api/activity{query}"),
            Some("alice"),
            None,
        )
        .await
        .assert_problem(422, query);
    }
    app.call(Method::GET, "/api/activity?since=1", Some("alice"), None)
        .await
        .assert_problem(400, "an unknown parameter");
    for query in [
        "?cursor=1",
        "?cursor=0.5",
        "?cursor=ZXZlbnRzOjU",
        "?limit=0",
    ] {
        app.call(
            Method::GET,
            &format!("/api/trash{query}"),
            Some("alice"),
            None,
        )
        .await
        .assert_problem(422, query);
    }
    for body in [
        json!({"turn_id": "not-a-uuid"}),
        json!({"turn": "x"}),
        json!([]),
    ] {
        app.undo("alice", Some(body.clone()))
            .await
            .assert_problem(422, &body.to_string());
    }
    let text = Request::builder()
        .method(Method::POST)
        .uri("/api/undo")
        .header(header::AUTHORIZATION, bearer("alice"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("undo"))
        .unwrap();
    app.send(text)
        .await
        .assert_problem(415, "a body that is not JSON");
    let odd = Request::builder()
        .method(Method::POST)
        .uri("/api/tasks")
        .header(header::AUTHORIZATION, bearer("alice"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-smart-todo-client", "curl")
        .body(Body::from(r#"{"title":"x"}"#))
        .unwrap();
    app.send(odd).await.assert_problem(400, "an unknown client");
    app.call(Method::POST, "/api/tasks/abc/restore", Some("alice"), None)
        .await
        .assert_problem(404, "a path that is no task");
    app.call(Method::POST, "/api/undo", None, None)
        .await
        .assert_problem(401, "no token");
    // Nothing above changed anything: the one create is the one event.
    assert_eq!(app.stored("alice").await.len(), 1);
    assert_eq!(app.task("alice", 1).await.body["title"], "Keep");
    // A new user has nothing to undo.
    app.undo("carol", None)
        .await
        .assert_problem(409, "nothing to undo");
    app.undo("carol", Some(Value::Null))
        .await
        .assert_problem(409, "a null body is no body");
}

/// Deleting a list moves its tasks to the Inbox, recorded as moves. Undoing them once the list is
/// gone leaves the tasks where they are, but the moves count as undone: the next undo reaches the
/// change before them instead of answering the same moves forever.
#[tokio::test]
async fn undoing_moves_out_of_a_deleted_list_does_not_repeat() {
    let app = App::new().await;
    app.call(
        Method::POST,
        "/api/tasks",
        Some("alice"),
        Some(json!({"title": "Report", "list": "Work"})),
    )
    .await;
    app.patch("alice", 1, json!({"title": "Quarterly report"}))
        .await;
    let lists = app
        .call(Method::GET, "/api/lists", Some("alice"), None)
        .await;
    let work = lists.body["lists"][1]["id"].as_i64().unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/lists/{work}"),
        Some("alice"),
        None,
    )
    .await;
    let moved = app.undo("alice", None).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["undone"][0]["kind"], "moved");
    assert_eq!(
        app.task("alice", 1).await.body["list"],
        "Inbox",
        "the list is gone"
    );
    let renamed = app.undo("alice", None).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["undone"][0]["kind"], "updated");
    assert_eq!(app.task("alice", 1).await.body["title"], "Report");
}
