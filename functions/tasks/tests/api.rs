//! The REST task API driven in-process through its axum router, against a fresh PostgreSQL
//! database per test.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use smart_todo_shared::AppState;
use smart_todo_shared::config::{DatabaseConfig, PoolSettings, StatementCache};

use common::{App, Reply};
use smart_todo_shared::test_support::{
    TEST_JWT_SECRET, TestDb, TripCounter, authenticator, bearer, enable_statement_stats, send,
    statements_run, token,
};

#[tokio::test]
async fn health_reports_the_database() {
    let app = App::new().await;
    let reply = app.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn health_is_503_with_retry_after_when_the_database_is_down() {
    let config = DatabaseConfig {
        url: secrecy::SecretString::from(
            "postgres://postgres@127.0.0.1:9/x?sslmode=disable".to_owned(),
        ),
        ca_file: None,
        pool: PoolSettings {
            connect_timeout: std::time::Duration::from_millis(300),
            ..PoolSettings::LAMBDA
        },
    };
    let state = AppState {
        pool: smart_todo_shared::db::connect(&config).unwrap(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let router = smart_todo_shared::http::api_app(smart_todo_tasks::router(state));
    let response = send(&router, Method::GET, "/api/health", None, None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(response.content_type(), "application/problem+json");
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let app = App::new().await;
    let reply = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = reply.body["paths"].as_object().unwrap();
    for path in [
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/complete",
        "/api/tasks/{id}/reopen",
        "/api/health",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(reply.body["components"]["schemas"]["Task"].is_object());
}

#[tokio::test]
async fn create_returns_201_with_location_and_the_task() {
    let app = App::new().await;
    let reply = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "  Buy groceries ", "description": "milk"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["id"].as_i64().unwrap();
    assert_eq!(
        reply.headers[header::LOCATION],
        format!("/api/tasks/{id}").as_str()
    );
    assert_eq!(reply.body["title"], "Buy groceries");
    assert_eq!(reply.body["description"], "milk");
    assert_eq!(reply.body["completed"], false);
    assert_eq!(reply.body["completed_at"], Value::Null);
    let created = reply.body["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
}

#[tokio::test]
async fn get_returns_the_task() {
    let app = App::new().await;
    let task = app.create("alice", "Read").await;
    let reply = app
        .call(
            Method::GET,
            &format!("/api/tasks/{}", task["id"]),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!((reply.status, reply.body), (StatusCode::OK, task));
}

#[tokio::test]
async fn list_filters_by_status_and_text_and_pages_with_a_cursor() {
    let app = App::new().await;
    let mut ids = vec![];
    for title in ["Buy milk", "Call mom", "Buy bread", "Pay bills", "Walk dog"] {
        ids.push(app.create("alice", title).await["id"].as_i64().unwrap());
    }
    app.call(
        Method::POST,
        &format!("/api/tasks/{}/complete", ids[1]),
        Some("alice"),
        None,
    )
    .await;

    let app = &app;
    let list = |query: &str| {
        let uri = format!("/api/tasks{query}");
        async move { app.call(Method::GET, &uri, Some("alice"), None).await }
    };
    let titles = |reply: &Reply| -> Vec<String> {
        reply.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles(&list("").await).len(), 5);
    assert_eq!(titles(&list("?status=completed").await), ["Call mom"]);
    assert_eq!(titles(&list("?status=pending").await).len(), 4);
    assert_eq!(
        titles(&list("?q=BUY&sort=created").await),
        ["Buy milk", "Buy bread"]
    );

    let first = list("?limit=2").await;
    assert_eq!(titles(&first), ["Buy milk", "Call mom"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&second), ["Buy bread", "Pay bills"]);
    let cursor = second.body["next_cursor"].as_str().unwrap().to_owned();
    let last = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&last), ["Walk dog"]);
    assert_eq!(last.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn patch_changes_only_what_is_sent_and_null_clears_the_description() {
    let app = App::new().await;
    let task = app.create("alice", "Call mom").await;
    let uri = format!("/api/tasks/{}", task["id"]);
    let reply = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"description": "tonight"})),
        )
        .await;
    assert_eq!(
        (
            reply.body["title"].as_str(),
            reply.body["description"].as_str()
        ),
        (Some("Call mom"), Some("tonight"))
    );
    let reply = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"title": "Call mom tonight", "completed": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["title"], "Call mom tonight");
    assert_eq!(reply.body["description"], "tonight");
    assert_eq!(reply.body["completed"], true);
    assert!(reply.body["completed_at"].is_string());
    let reply = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"description": null})),
        )
        .await;
    assert_eq!(reply.body["description"], Value::Null);
    assert_eq!(reply.body["title"], "Call mom tonight");
}

#[tokio::test]
async fn put_replaces_the_whole_task() {
    let app = App::new().await;
    let task = app.create("alice", "Old").await;
    let uri = format!("/api/tasks/{}", task["id"]);
    app.call(
        Method::PATCH,
        &uri,
        Some("alice"),
        Some(json!({"description": "details", "completed": true})),
    )
    .await;
    let reply = app
        .call(
            Method::PUT,
            &uri,
            Some("alice"),
            Some(json!({"title": "New"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        (reply.body["title"].as_str(), &reply.body["description"]),
        (Some("New"), &Value::Null)
    );
    assert_eq!(
        (
            reply.body["completed"].as_bool(),
            &reply.body["completed_at"]
        ),
        (Some(false), &Value::Null)
    );
}

#[tokio::test]
async fn complete_and_reopen_are_idempotent() {
    let app = App::new().await;
    let task = app.create("alice", "Pay bills").await;
    let complete = format!("/api/tasks/{}/complete", task["id"]);
    let first = app.call(Method::POST, &complete, Some("alice"), None).await;
    let second = app.call(Method::POST, &complete, Some("alice"), None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.body["completed"], true);
    assert_eq!(first.body["completed_at"], second.body["completed_at"]);
    let reopen = format!("/api/tasks/{}/reopen", task["id"]);
    for _ in 0..2 {
        let reply = app.call(Method::POST, &reopen, Some("alice"), None).await;
        assert_eq!(
            (reply.status, &reply.body["completed"]),
            (StatusCode::OK, &json!(false))
        );
    }
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let app = App::new().await;
    let task = app.create("alice", "Meeting").await;
    let uri = format!("/api/tasks/{}", task["id"]);
    let reply = app.call(Method::DELETE, &uri, Some("alice"), None).await;
    assert_eq!(
        (reply.status, reply.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    app.call(Method::DELETE, &uri, Some("alice"), None)
        .await
        .assert_problem(404, "deleted twice");
    app.call(Method::GET, &uri, Some("alice"), None)
        .await
        .assert_problem(404, "get after delete");
}

/// Every route that takes an id, as (method, path suffix, body).
fn id_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"title": "pwned"}))),
        (Method::PUT, "", Some(json!({"title": "pwned"}))),
        (Method::DELETE, "", None),
        (Method::POST, "/complete", None),
        (Method::POST, "/reopen", None),
    ]
}

#[tokio::test]
async fn another_users_task_is_404_like_a_missing_one_and_stays_unchanged() {
    let app = App::new().await;
    let task = app.create("alice", "Alice's task").await;
    let before = app.db.task_rows().await;
    for (method, suffix, body) in id_routes() {
        let theirs = app
            .call(
                method.clone(),
                &format!("/api/tasks/{}{suffix}", task["id"]),
                Some("bob"),
                body.clone(),
            )
            .await;
        let missing = app
            .call(
                method.clone(),
                &format!("/api/tasks/999999{suffix}"),
                Some("bob"),
                body,
            )
            .await;
        theirs.assert_problem(404, &format!("{method} {suffix}"));
        assert_eq!(theirs.body["type"], missing.body["type"]);
        assert_eq!(theirs.body["title"], missing.body["title"]);
    }
    let bobs = app.call(Method::GET, "/api/tasks", Some("bob"), None).await;
    assert_eq!(bobs.body["tasks"], json!([]));
    assert_eq!(app.db.task_rows().await, before, "alice's data changed");
    let alices = app
        .call(
            Method::GET,
            &format!("/api/tasks/{}", task["id"]),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(alices.body, task);
}

#[tokio::test]
async fn every_route_but_health_requires_a_valid_token() {
    let app = App::new().await;
    let task = app.create("alice", "Mine").await;
    let encode = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "alice", "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-server-secret-0123456789abcdef"),
    )
    .unwrap();
    let alg_none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        base64_url(&json!({"sub": "alice", "exp": now + 600}).to_string())
    );
    let headers: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("basic auth", Some("Basic YWxpY2U6c2VjcmV0".into())),
        ("not a JWT", Some("Bearer not-a-jwt".into())),
        ("bad signature", Some(format!("Bearer {forged}"))),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                encode(json!({"sub": "alice", "exp": now - 600}))
            )),
        ),
        (
            "nbf in the future",
            Some(format!(
                "Bearer {}",
                encode(json!({"sub": "alice", "exp": now + 7200, "nbf": now + 3600}))
            )),
        ),
        ("alg none", Some(format!("Bearer {alg_none}"))),
    ];
    let id = task["id"].as_i64().unwrap();
    let mut routes = vec![
        (Method::GET, "/api/tasks".to_owned()),
        (Method::POST, "/api/tasks".to_owned()),
    ];
    routes.extend(
        id_routes()
            .into_iter()
            .map(|(m, suffix, _)| (m, format!("/api/tasks/{id}{suffix}"))),
    );
    routes.push((Method::GET, "/api/alice/tasks".to_owned()));
    for (reason, authorization) in &headers {
        for (method, uri) in &routes {
            let mut request = Request::builder().method(method.clone()).uri(uri.as_str());
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value.as_str());
            }
            let request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"title":"x"}"#))
                .unwrap();
            let reply = app.send(request).await;
            reply.assert_problem(401, &format!("{reason}: {method} {uri}"));
            assert_eq!(
                reply.headers[header::WWW_AUTHENTICATE],
                "Bearer",
                "{reason}"
            );
        }
    }
    assert_eq!(
        app.db.task_rows().await.len(),
        1,
        "an unauthenticated request wrote"
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_and_changes_nothing() {
    let app = App::new().await;
    let task = app.create("alice", "Keep me").await;
    let id = task["id"].as_i64().unwrap();
    let before = app.db.task_rows().await;
    let big = format!(
        r#"{{"title":"x","description":"{}"}}"#,
        "a".repeat(65 * 1024)
    );
    let long_title = json!({"title": "t".repeat(201)}).to_string();
    let cases: Vec<(&str, Method, String, &str, String, u16)> = vec![
        (
            "malformed JSON",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title": "#.into(),
            400,
        ),
        (
            "trailing garbage",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title":"a"} x"#.into(),
            400,
        ),
        (
            "title of the wrong type",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title": 5}"#.into(),
            422,
        ),
        (
            "body is an array",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            "[]".into(),
            422,
        ),
        (
            "missing title",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"description":"d"}"#.into(),
            422,
        ),
        (
            "empty title",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title": "  "}"#.into(),
            422,
        ),
        (
            "201-character title",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            long_title.clone(),
            422,
        ),
        (
            "unknown field",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title":"a","user_id":"bob"}"#.into(),
            422,
        ),
        (
            "NUL in title",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title":"a\u0000b"}"#.into(),
            422,
        ),
        (
            "NUL in description",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            r#"{"title":"a","description":"\u0000"}"#.into(),
            422,
        ),
        (
            "65 KiB body",
            Method::POST,
            "/api/tasks".into(),
            "application/json",
            big.clone(),
            413,
        ),
        (
            "form content type",
            Method::POST,
            "/api/tasks".into(),
            "application/x-www-form-urlencoded",
            "title=a".into(),
            415,
        ),
        (
            "no content type",
            Method::POST,
            "/api/tasks".into(),
            "",
            r#"{"title":"a"}"#.into(),
            415,
        ),
        (
            "patch with nothing",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            "{}".into(),
            422,
        ),
        (
            "patch completed as string",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            r#"{"completed":"yes"}"#.into(),
            422,
        ),
        (
            "patch empty title",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            r#"{"title":""}"#.into(),
            422,
        ),
        (
            "patch 201-character title",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            long_title.clone(),
            422,
        ),
        (
            "patch unknown field",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            r#"{"done":true}"#.into(),
            422,
        ),
        (
            "patch 65 KiB body",
            Method::PATCH,
            format!("/api/tasks/{id}"),
            "application/json",
            big.clone(),
            413,
        ),
        (
            "put without title",
            Method::PUT,
            format!("/api/tasks/{id}"),
            "application/json",
            r#"{"completed":true}"#.into(),
            422,
        ),
        (
            "non-numeric id",
            Method::PATCH,
            "/api/tasks/abc".into(),
            "application/json",
            r#"{"title":"a"}"#.into(),
            404,
        ),
        (
            "huge id",
            Method::PATCH,
            "/api/tasks/99999999999999999999999".into(),
            "application/json",
            r#"{"title":"a"}"#.into(),
            404,
        ),
        (
            "negative id",
            Method::DELETE,
            "/api/tasks/-1".into(),
            "",
            String::new(),
            404,
        ),
        (
            "zero id",
            Method::POST,
            "/api/tasks/0/complete".into(),
            "",
            String::new(),
            404,
        ),
        (
            "unknown status filter",
            Method::GET,
            "/api/tasks?status=done".into(),
            "",
            String::new(),
            422,
        ),
        (
            "limit of 0",
            Method::GET,
            "/api/tasks?limit=0".into(),
            "",
            String::new(),
            422,
        ),
        (
            "limit of 101",
            Method::GET,
            "/api/tasks?limit=101".into(),
            "",
            String::new(),
            422,
        ),
        (
            "limit not a number",
            Method::GET,
            "/api/tasks?limit=ten".into(),
            "",
            String::new(),
            422,
        ),
        (
            "forged cursor",
            Method::GET,
            "/api/tasks?cursor=abc".into(),
            "",
            String::new(),
            422,
        ),
        (
            "unknown route",
            Method::GET,
            "/api/nope".into(),
            "",
            String::new(),
            404,
        ),
        (
            "wrong method",
            Method::DELETE,
            "/api/tasks".into(),
            "",
            String::new(),
            405,
        ),
    ];
    for (reason, method, uri, content_type, body, status) in cases {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", token("alice")));
        if !content_type.is_empty() {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let reply = app.send(request.body(Body::from(body)).unwrap()).await;
        reply.assert_problem(status, reason);
        if status == 422 && reply.body["errors"].is_array() {
            assert!(
                reply.body["errors"][0]["field"].is_string(),
                "{reason}: {}",
                reply.body
            );
        }
    }
    assert_eq!(
        app.db.task_rows().await,
        before,
        "a refused request changed data"
    );
}

#[tokio::test]
async fn a_validation_problem_lists_every_invalid_field() {
    let app = App::new().await;
    let reply = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "", "description": "d".repeat(2001)})),
        )
        .await;
    reply.assert_problem(422, "two bad fields");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "description"]);
}

#[tokio::test]
async fn phase2_routes_work_for_the_tokens_user() {
    let app = App::new().await;
    let reply = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some("alice"),
            Some(json!({"title": "Via phase 2"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["id"].as_i64().unwrap();
    let listed = app
        .call(
            Method::GET,
            "/api/alice/tasks?status=pending",
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(listed.body["tasks"][0]["id"], id);
    let toggled = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{id}/complete"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(
        (toggled.status, &toggled.body["completed"]),
        (StatusCode::OK, &json!(true))
    );
    let toggled = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{id}/complete"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(
        (&toggled.body["completed"], &toggled.body["completed_at"]),
        (&json!(false), &Value::Null)
    );
    let completed = app
        .call(
            Method::POST,
            &format!("/api/alice/tasks/{id}/complete"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(completed.body["completed"], true);
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/alice/tasks/{id}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn phase2_routes_with_another_users_id_are_403_and_change_nothing() {
    let app = App::new().await;
    let task = app.create("bob", "Bob's").await;
    let id = task["id"].as_i64().unwrap();
    let before = app.db.task_rows().await;
    let mut routes = vec![
        (Method::GET, "/api/bob/tasks".to_owned(), None),
        (
            Method::POST,
            "/api/bob/tasks".to_owned(),
            Some(json!({"title": "planted"})),
        ),
        (Method::PATCH, format!("/api/bob/tasks/{id}/complete"), None),
    ];
    routes.extend(
        id_routes()
            .into_iter()
            .map(|(m, suffix, body)| (m, format!("/api/bob/tasks/{id}{suffix}"), body)),
    );
    for (method, uri, body) in routes {
        app.call(method.clone(), &uri, Some("alice"), body)
            .await
            .assert_problem(403, &format!("{method} {uri}"));
    }
    assert_eq!(app.db.task_rows().await, before);
}

type CrudRequest = (&'static str, Method, String, Option<Value>, StatusCode);

/// One request of each CRUD kind: on `created`, and a delete of `doomed`. Pass `pass` 0, 1, …
/// on one database: each pass makes three lists (ids `3 * pass + 1` to `+ 3`) and renames and
/// deletes its first.
fn crud_requests(created: &Value, doomed: &Value, pass: i64) -> Vec<CrudRequest> {
    let uri = format!("/api/tasks/{}", created["id"]);
    let list_uri = format!("/api/lists/{}", 3 * pass + 1);
    vec![
        (
            "create",
            Method::POST,
            "/api/tasks".into(),
            Some(json!({"title": "one more"})),
            StatusCode::CREATED,
        ),
        ("get", Method::GET, uri.clone(), None, StatusCode::OK),
        (
            "list",
            Method::GET,
            "/api/tasks?status=pending&limit=10".into(),
            None,
            StatusCode::OK,
        ),
        (
            "patch",
            Method::PATCH,
            uri.clone(),
            Some(json!({"title": "renamed"})),
            StatusCode::OK,
        ),
        (
            "put",
            Method::PUT,
            uri.clone(),
            Some(json!({"title": "replaced"})),
            StatusCode::OK,
        ),
        (
            "complete",
            Method::POST,
            format!("{uri}/complete"),
            None,
            StatusCode::OK,
        ),
        (
            "reopen",
            Method::POST,
            format!("{uri}/reopen"),
            None,
            StatusCode::OK,
        ),
        (
            "delete",
            Method::DELETE,
            format!("/api/tasks/{}", doomed["id"]),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "create on a new list, with tags and a priority",
            Method::POST,
            "/api/tasks".into(),
            Some(
                json!({"title": "groceries", "list": format!("Groceries {pass}"), "tags": ["a"],
                "priority": "high"}),
            ),
            StatusCode::CREATED,
        ),
        (
            "move to a new list",
            Method::PATCH,
            uri.clone(),
            Some(json!({"list": format!("Errands {pass}"), "tags": ["b"], "priority": "low"})),
            StatusCode::OK,
        ),
        (
            "a view with a search, filters and a sort",
            Method::GET,
            "/api/tasks?view=today&q=groc&tag=a&priority=high&list=groceries&sort=due".into(),
            None,
            StatusCode::OK,
        ),
        (
            "lists",
            Method::GET,
            "/api/lists".into(),
            None,
            StatusCode::OK,
        ),
        (
            "counts",
            Method::GET,
            "/api/counts".into(),
            None,
            StatusCode::OK,
        ),
        (
            "create a list",
            Method::POST,
            "/api/lists".into(),
            Some(json!({"name": format!("Later {pass}")})),
            StatusCode::CREATED,
        ),
        (
            "rename a list",
            Method::PATCH,
            list_uri.clone(),
            Some(json!({"name": format!("Food {pass}")})),
            StatusCode::OK,
        ),
        (
            "delete a list",
            Method::DELETE,
            list_uri,
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "not found",
            Method::GET,
            "/api/tasks/999999".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
    ]
}

#[tokio::test]
async fn each_crud_request_runs_exactly_one_sql_statement() {
    let app = App::new().await;
    let client = app.db.raw_client().await;
    enable_statement_stats(&client).await;
    // Open the pool's connections first: connecting is not a request's statement.
    let warm = app.create("alice", "warm up").await;
    let created = app.create("alice", "count me").await;
    let requests = crud_requests(&created, &warm, 0);
    for (name, method, uri, body, status) in requests {
        let before = statements_run(&client).await;
        let reply = app.call(method, &uri, Some("alice"), body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        let after = statements_run(&client).await;
        assert_eq!(
            after - before,
            1,
            "{name} ran {} statements",
            after - before
        );
    }
}

#[tokio::test]
async fn each_crud_request_is_one_round_trip_with_or_without_prepared_statements() {
    for mode in [StatementCache::On, StatementCache::Off] {
        let trips = TripCounter::start().await;
        let db = TestDb::new().await;
        let settings = PoolSettings {
            max_size: 1,
            statement_cache: mode,
            ..PoolSettings::LAMBDA
        };
        let pool = db.pool_through(&trips, settings);
        assert_eq!(pool.prepares_statements(), mode == StatementCache::On);
        let app = App::with_pool(db, pool, Default::default());
        // Open the connection first: connecting is not a request's work.
        app.create("alice", "warm up").await;
        for (n, pass) in ["first", "second"].into_iter().enumerate() {
            let created = app.create("alice", "count me").await;
            let doomed = app.create("alice", "delete me").await;
            for (name, method, uri, body, status) in crud_requests(&created, &doomed, n as i64) {
                let before = trips.count();
                let reply = app.call(method, &uri, Some("alice"), body).await;
                assert_eq!(
                    reply.status, status,
                    "{mode:?} {pass} {name}: {}",
                    reply.body
                );
                let made = trips.count() - before;
                // A connection prepares a statement the first time it runs it (one trip more:
                // `get` is the first read); after that, and always without the cache, a request
                // is one trip.
                let expected = match (mode, pass, name) {
                    (StatementCache::On, "first", "get") => 2..=2,
                    (StatementCache::On, "first", _) => 1..=2,
                    _ => 1..=1,
                };
                assert!(
                    expected.contains(&made),
                    "{mode:?} {pass} {name}: {made} round trips"
                );
            }
        }
    }
}

#[tokio::test]
async fn two_authorization_headers_are_a_400_and_change_nothing() {
    let app = App::new().await;
    let request = Request::post("/api/tasks")
        .header(header::AUTHORIZATION, bearer("alice"))
        .header(header::AUTHORIZATION, bearer("bob"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"title": "whose?"}).to_string()))
        .unwrap();
    let reply = app.send(request).await;
    reply.assert_problem(400, "duplicate Authorization");
    let client = app.db.raw_client().await;
    assert!(
        client
            .query("SELECT 1 FROM tasks", &[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn over_the_writes_per_minute_limit_a_write_is_429_and_changes_nothing() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        writes_per_minute: 3,
        ..Default::default()
    })
    .await;
    smart_todo_shared::test_support::inside_one_minute().await;
    let token = "alice";
    for n in 0..2 {
        let reply = app
            .call(
                Method::POST,
                "/api/tasks",
                Some(token),
                Some(json!({"title": format!("t{n}")})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let id = 1;
    let reply = app
        .call(
            Method::PATCH,
            &format!("/api/tasks/{id}"),
            Some(token),
            Some(json!({"title": "third write"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "the third write is allowed");
    let before = app.db.task_rows().await;
    for (method, uri, body) in [
        (
            Method::POST,
            "/api/tasks".to_owned(),
            Some(json!({"title": "over"})),
        ),
        (
            Method::PATCH,
            format!("/api/tasks/{id}"),
            Some(json!({"completed": true})),
        ),
        (Method::POST, format!("/api/tasks/{id}/complete"), None),
        (Method::DELETE, format!("/api/tasks/{id}"), None),
    ] {
        let reply = app.call(method.clone(), &uri, Some(token), body).await;
        reply.assert_problem(429, &format!("{method} {uri}"));
        let retry: u64 = reply.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        assert!(reply.body["detail"].as_str().unwrap().contains("a minute"));
    }
    assert_eq!(app.db.task_rows().await, before, "nothing changed");
    // Another user has a budget of their own.
    let bob = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("bob"),
            Some(json!({"title": "mine"})),
        )
        .await;
    assert_eq!(bob.status, StatusCode::CREATED);
}

#[tokio::test]
async fn over_the_tasks_per_user_limit_a_create_is_429() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        tasks_per_user: 2,
        ..Default::default()
    })
    .await;
    let token = "alice";
    for title in ["a", "b"] {
        let reply = app
            .call(
                Method::POST,
                "/api/tasks",
                Some(token),
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let reply = app
        .call(
            Method::POST,
            "/api/tasks",
            Some(token),
            Some(json!({"title": "c"})),
        )
        .await;
    reply.assert_problem(429, "third task");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(app.db.task_rows().await.len(), 2);
    // Changing an existing task is still fine.
    let reply = app
        .call(Method::POST, "/api/tasks/1/complete", Some(token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // Deleting one makes room for exactly one more.
    let reply = app
        .call(Method::DELETE, "/api/tasks/1", Some(token), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    for (title, status) in [
        ("d", StatusCode::CREATED),
        ("e", StatusCode::TOO_MANY_REQUESTS),
    ] {
        let reply = app.post(token, title).await;
        assert_eq!(reply.status, status, "{title}: {}", reply.body);
    }
    assert_eq!(app.db.task_rows().await.len(), 2);
}

/// The per-user task count the limit reads is kept beside the tasks; it must stay equal to the
/// real count whatever mix of creates, refusals and deletes runs, concurrently or not.
#[tokio::test]
async fn the_task_count_behind_the_limit_stays_exact_under_concurrent_creates_and_deletes() {
    let limit = 12;
    let app = App::with_limits(smart_todo_shared::config::Limits {
        tasks_per_user: limit,
        ..Default::default()
    })
    .await;
    let titles: Vec<String> = (0..36).map(|n| format!("t{n}")).collect();
    // 30 creates at once: exactly `limit` of them find room.
    let replies =
        futures::future::join_all(titles[..30].iter().map(|t| app.post("alice", t))).await;
    let created: Vec<i64> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    assert_eq!(created.len() as i64, limit);
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::TOO_MANY_REQUESTS)
    );
    // Half deleted (each twice at once: one 204, one 404) while as many creates race them.
    let uris: Vec<String> = created[..6]
        .iter()
        .flat_map(|id| [format!("/api/tasks/{id}"), format!("/api/tasks/{id}")])
        .collect();
    let deletes = futures::future::join_all(
        uris.iter()
            .map(|uri| app.call(Method::DELETE, uri, Some("alice"), None)),
    );
    let creates = futures::future::join_all(titles[30..].iter().map(|t| app.post("alice", t)));
    let (deleted, recreated) = tokio::join!(deletes, creates);
    let gone = deleted
        .iter()
        .filter(|r| r.status == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(gone, 6, "each task is deleted once");
    let made = recreated
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let client = app.db.raw_client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let real = count("SELECT count(*) FROM tasks WHERE user_id = 'alice'").await;
    let kept = count("SELECT tasks::int8 FROM users WHERE user_id = 'alice'").await;
    assert_eq!(real, limit - 6 + made as i64);
    assert_eq!(kept, real, "the kept count is the real one");
    assert!(real <= limit);
}

/// Every user counts their own tasks from 1: concurrent creates by two users each get 1..=n with
/// no gap and no duplicate, and a deleted number is never given again.
#[tokio::test]
async fn each_user_numbers_their_tasks_from_one_without_gaps_or_reuse() {
    let app = App::new().await;
    let titles = |who: &str| (0..20).map(|n| format!("{who} {n}")).collect::<Vec<_>>();
    let (alices, bobs) = (titles("alice"), titles("bob"));
    let (alice, bob) = tokio::join!(
        futures::future::join_all(alices.iter().map(|t| app.post("alice", t))),
        futures::future::join_all(bobs.iter().map(|t| app.post("bob", t))),
    );
    for (who, replies) in [("alice", alice), ("bob", bob)] {
        let mut ids: Vec<i64> = replies
            .iter()
            .map(|r| {
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                r.body["id"].as_i64().unwrap()
            })
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=20).collect::<Vec<_>>(), "{who}");
    }
    // Alice's task 5 and her newest go; her next task is 21, not 5 or 20.
    for id in [5, 20] {
        let gone = app
            .call(
                Method::DELETE,
                &format!("/api/tasks/{id}"),
                Some("alice"),
                None,
            )
            .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(app.create("alice", "after the deletes").await["id"], 21);
    assert_eq!(app.create("bob", "bob's next").await["id"], 21);
    // Task 5 of bob is still his; alice's 5 is gone for her alone.
    let bobs = app
        .call(Method::GET, "/api/tasks/5", Some("bob"), None)
        .await;
    assert_eq!(bobs.status, StatusCode::OK);
    assert!(bobs.body["title"].as_str().unwrap().starts_with("bob "));
    let alices = app
        .call(Method::GET, "/api/tasks/5", Some("alice"), None)
        .await;
    assert_eq!(alices.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_the_openapi_document_forbids_the_server_refuses() {
    let app = App::new().await;
    let created = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "keep"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let before = app.db.task_rows().await;
    for (method, uri, body, reason) in [
        (
            Method::PATCH,
            "/api/tasks/1",
            Some(json!({"title": null})),
            "a null title",
        ),
        (
            Method::PATCH,
            "/api/tasks/1",
            Some(json!({"completed": null, "description": "x"})),
            "a null completed",
        ),
        (Method::GET, "/api/tasks?limit=", None, "an empty limit"),
        (
            Method::GET,
            "/api/tasks?cursor=t0",
            None,
            "a cursor no page returns",
        ),
    ] {
        let reply = app.call(method, uri, Some("alice"), body).await;
        reply.assert_problem(422, reason);
    }
    assert_eq!(app.db.task_rows().await, before);
    let doc = app
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    let patch = &doc["components"]["schemas"]["PatchTask"];
    assert_eq!(patch["minProperties"], 1);
    assert_eq!(patch["properties"]["title"]["type"], "string");
    let get = &doc["paths"]["/api/tasks/{id}"]["get"]["responses"];
    for status in ["401", "404", "429", "503"] {
        assert!(
            get.get(status).is_some(),
            "GET /api/tasks/{{id}} documents {status}"
        );
    }
}

/// `GET /api/me` starts at UTC; `PATCH /api/me` takes an IANA zone, for this user only.
#[tokio::test]
async fn the_user_sets_their_time_zone_and_it_is_theirs_alone() {
    let app = App::new().await;
    let me = app.call(Method::GET, "/api/me", Some("alice"), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, json!({"user_id": "alice", "timezone": "UTC"}));
    for zone in [
        "Europe/Berlin",
        "Pacific/Kiritimati",
        "America/Argentina/Buenos_Aires",
        "UTC",
    ] {
        let set = app
            .call(
                Method::PATCH,
                "/api/me",
                Some("alice"),
                Some(json!({"timezone": zone})),
            )
            .await;
        assert_eq!(set.status, StatusCode::OK, "{zone}: {}", set.body);
        assert_eq!(set.body, json!({"user_id": "alice", "timezone": zone}));
    }
    app.call(
        Method::PATCH,
        "/api/me",
        Some("alice"),
        Some(json!({"timezone": "Asia/Kolkata"})),
    )
    .await;
    let again = app.call(Method::GET, "/api/me", Some("alice"), None).await;
    assert_eq!(again.body["timezone"], "Asia/Kolkata");
    let bobs = app.call(Method::GET, "/api/me", Some("bob"), None).await;
    assert_eq!(bobs.body, json!({"user_id": "bob", "timezone": "UTC"}));
    // Setting a zone before any task does not disturb the numbering.
    assert_eq!(app.create("alice", "first").await["id"], 1);
    app.call(Method::GET, "/api/me", None, None)
        .await
        .assert_problem(401, "no token");
}

/// The user's `users` row as JSON text: settings, counts and the write window.
async fn user_row(app: &App, user: &str) -> String {
    app.db
        .raw_client()
        .await
        .query_one(
            "SELECT row_to_json(u)::text FROM users u WHERE user_id = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_bad_time_zone_is_a_422_naming_the_field_and_changes_nothing() {
    let app = App::new().await;
    app.call(
        Method::PATCH,
        "/api/me",
        Some("alice"),
        Some(json!({"timezone": "Europe/Berlin"})),
    )
    .await;
    let before = user_row(&app, "alice").await;
    for (body, field) in [
        (json!({"timezone": "Mars/Olympus_Mons"}), "timezone"),
        (json!({"timezone": "europe/berlin"}), "timezone"),
        (json!({"timezone": ""}), "timezone"),
        (json!({"timezone": " Europe/Berlin"}), "timezone"),
        (json!({"timezone": "+02:00"}), "timezone"),
        (json!({"timezone": null}), "timezone"),
        (json!({}), "body"),
    ] {
        let reply = app
            .call(Method::PATCH, "/api/me", Some("alice"), Some(body.clone()))
            .await;
        reply.assert_problem(422, &body.to_string());
        assert_eq!(reply.body["errors"][0]["field"], field, "{body}");
    }
    // Shapes the body cannot have, and a user id in the body, are refused the same way.
    for body in [
        json!({"timezone": 2}),
        json!({"timezone": "UTC", "user_id": "bob"}),
    ] {
        let reply = app
            .call(Method::PATCH, "/api/me", Some("alice"), Some(body.clone()))
            .await;
        assert_eq!(reply.status.as_u16(), 422, "{body}: {}", reply.body);
    }
    let after = user_row(&app, "alice").await;
    assert_eq!(after, before);
    let me = app.call(Method::GET, "/api/me", Some("alice"), None).await;
    assert_eq!(me.body["timezone"], "Europe/Berlin");
}

#[tokio::test]
async fn setting_the_time_zone_counts_against_the_write_limit() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        writes_per_minute: 2,
        ..Default::default()
    })
    .await;
    smart_todo_shared::test_support::inside_one_minute().await;
    for zone in ["Europe/Berlin", "Asia/Tokyo"] {
        let ok = app
            .call(
                Method::PATCH,
                "/api/me",
                Some("alice"),
                Some(json!({"timezone": zone})),
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let refused = app
        .call(
            Method::PATCH,
            "/api/me",
            Some("alice"),
            Some(json!({"timezone": "UTC"})),
        )
        .await;
    refused.assert_problem(429, "third write in the minute");
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    let me = app.call(Method::GET, "/api/me", Some("alice"), None).await;
    assert_eq!(
        me.body["timezone"], "Asia/Tokyo",
        "the refused write changed nothing"
    );
}

/// Today's date in `zone`, the oracle for the tests that depend on the real clock.
fn today_in(zone: &str) -> chrono::NaiveDate {
    let tz = smart_todo_shared::domain::Zone::parse(zone).unwrap().tz();
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

fn day(date: chrono::NaiveDate, days: i64) -> String {
    (date + chrono::Duration::days(days)).to_string()
}

/// A phrase is read in the user's zone; the object form takes its parts as given; both come back
/// as the same `due` shape, and the due object read back can be sent again unchanged.
#[tokio::test]
async fn a_due_is_a_phrase_read_in_the_users_zone_or_the_structured_object() {
    let app = App::new().await;
    app.call(
        Method::PATCH,
        "/api/me",
        Some("alice"),
        Some(json!({"timezone": "Europe/Berlin"})),
    )
    .await;
    let dated = |title: &str, due: Value| {
        app.call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": title, "due": due})),
        )
    };
    let exact = dated("Carols", json!("2027-12-24 09:30")).await;
    assert_eq!(exact.status, StatusCode::CREATED, "{}", exact.body);
    assert_eq!(
        exact.body["due"],
        json!({"date": "2027-12-24", "time": "09:30", "timezone": "Europe/Berlin",
               "at": "2027-12-24T08:30:00Z", "recurrence": null, "text": "Fri 24 Dec 2027, 09:30"})
    );
    let tomorrow = dated("Milk", json!("tomorrow")).await;
    assert_eq!(
        tomorrow.body["due"]["date"],
        day(today_in("Europe/Berlin"), 1)
    );
    assert_eq!(tomorrow.body["due"]["time"], Value::Null);
    let weekly = dated("Standup", json!("every monday at 9")).await;
    assert_eq!(
        weekly.body["due"]["recurrence"]["rule"],
        "FREQ=WEEKLY;BYDAY=MO"
    );
    assert_eq!(weekly.body["due"]["time"], "09:00");
    // The structured form, in another zone than the user's.
    let object = json!({"date": "2027-03-01", "time": "18:00", "timezone": "America/New_York",
                        "recurrence": {"rule": "FREQ=MONTHLY;BYMONTHDAY=1"}});
    let structured = dated("Rent", object).await;
    assert_eq!(
        structured.status,
        StatusCode::CREATED,
        "{}",
        structured.body
    );
    let due = structured.body["due"].clone();
    assert_eq!(due["at"], "2027-03-01T23:00:00Z");
    assert_eq!(due["recurrence"]["text"], "every month on the 1st at 18:00");
    // What was read can be sent back as it is.
    let again = dated("Rent again", due.clone()).await;
    assert_eq!(again.body["due"], due);
    // No due and a null due are the same: none.
    assert_eq!(app.create("alice", "Undated").await["due"], Value::Null);
    assert_eq!(dated("Null", Value::Null).await.body["due"], Value::Null);
    // GET shows what POST answered.
    let id = weekly.body["id"].as_i64().unwrap();
    let got = app
        .call(
            Method::GET,
            &format!("/api/tasks/{id}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(got.body["due"], weekly.body["due"]);
}

#[tokio::test]
async fn a_bad_due_is_a_422_naming_due_and_changes_nothing() {
    let app = App::new().await;
    let id = app.create("alice", "Keep me").await["id"].as_i64().unwrap();
    let before = app.db.task_rows().await;
    for due in [
        json!("blorp"),
        json!("every"),
        json!("2026-02-30"),
        json!(42),
        json!(["tomorrow"]),
        json!({"date": "2026-02-30"}),
        json!({"date": "2026-12-24", "time": "25:00"}),
        json!({"date": "2026-12-24", "timezone": "Mars/Olympus_Mons"}),
        json!({"date": "2026-12-24", "recurrence": {"rule": "FREQ=HOURLY"}}),
        json!({"date": "2026-12-24", "owner": "bob"}),
        json!({"time": "09:00"}),
    ] {
        let create = app
            .call(
                Method::POST,
                "/api/tasks",
                Some("alice"),
                Some(json!({"title": "x", "due": due})),
            )
            .await;
        create.assert_problem(422, &due.to_string());
        assert_eq!(
            create.body["errors"][0]["field"], "due",
            "{due}: {}",
            create.body
        );
        let patch = app
            .call(
                Method::PATCH,
                &format!("/api/tasks/{id}"),
                Some("alice"),
                Some(json!({"due": due})),
            )
            .await;
        patch.assert_problem(422, &due.to_string());
    }
    assert_eq!(app.db.task_rows().await, before);
    let blorp = app
        .call(
            Method::GET,
            "/api/due/parse?text=blorp",
            Some("alice"),
            None,
        )
        .await;
    blorp.assert_problem(422, "parse blorp");
    assert_eq!(blorp.body["errors"][0]["field"], "text");
    assert!(
        blorp.body["detail"]
            .as_str()
            .unwrap()
            .contains("tomorrow 5pm")
    );
}

/// The preview the UI shows while typing: the same parser, in the user's zone.
#[tokio::test]
async fn the_due_preview_parses_in_the_users_zone() {
    let app = App::new().await;
    app.call(
        Method::PATCH,
        "/api/me",
        Some("alice"),
        Some(json!({"timezone": "Pacific/Kiritimati"})),
    )
    .await;
    let preview = app
        .call(
            Method::GET,
            "/api/due/parse?text=tomorrow%205pm",
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(preview.body["date"], day(today_in("Pacific/Kiritimati"), 1));
    assert_eq!(preview.body["time"], "17:00");
    assert_eq!(preview.body["timezone"], "Pacific/Kiritimati");
    let bobs = app
        .call(
            Method::GET,
            "/api/due/parse?text=tomorrow",
            Some("bob"),
            None,
        )
        .await;
    assert_eq!(bobs.body["date"], day(today_in("UTC"), 1));
    assert_eq!(bobs.body["timezone"], "UTC");
    app.call(Method::GET, "/api/due/parse?text=", Some("alice"), None)
        .await
        .assert_problem(422, "empty text");
    assert!(
        app.db.task_rows().await.is_empty(),
        "a preview stores nothing"
    );
}

/// Completing a recurring task moves it to its next occurrence and leaves it pending; the rule
/// survives every edit that does not change it.
#[tokio::test]
async fn completing_a_recurring_task_moves_it_to_the_next_occurrence_and_edits_keep_the_rule() {
    let app = App::new().await;
    let today = today_in("UTC");
    let created = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(
                json!({"title": "Water the plants", "due": {"date": day(today, -3), "time": "08:00",
                        "recurrence": {"rule": "FREQ=DAILY"}}}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let uri = format!("/api/tasks/{}", created.body["id"]);
    // An overdue daily task completed today is next due tomorrow, not the day after its old date.
    let done = app
        .call(
            Method::POST,
            &format!("{uri}/complete"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.body["completed"], false);
    assert_eq!(done.body["completed_at"], Value::Null);
    assert_eq!(done.body["due"]["date"], day(today, 1));
    assert_eq!(done.body["due"]["time"], "08:00");
    assert_eq!(done.body["due"]["recurrence"]["rule"], "FREQ=DAILY");
    let recorded = app
        .db
        .raw_client()
        .await
        .query_one("SELECT last_completed_at IS NOT NULL FROM tasks", &[])
        .await
        .unwrap()
        .get::<_, bool>(0);
    assert!(recorded, "the completion is recorded");
    // Edits that say nothing of the rule keep it: a title, and a phrase without "every".
    let renamed = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"title": "Water the ferns"})),
        )
        .await;
    assert_eq!(renamed.body["due"], done.body["due"]);
    let moved = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"due": "2027-01-15 10:00"})),
        )
        .await;
    assert_eq!(moved.body["due"]["date"], "2027-01-15");
    assert_eq!(moved.body["due"]["recurrence"]["rule"], "FREQ=DAILY");
    // A phrase with a rule replaces it; `recurrence: null` and `due: null` remove it.
    let weekly = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"due": "every friday"})),
        )
        .await;
    assert_eq!(
        weekly.body["due"]["recurrence"]["rule"],
        "FREQ=WEEKLY;BYDAY=FR"
    );
    let once = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"due": {"date": "2027-02-01", "recurrence": null}})),
        )
        .await;
    assert_eq!(once.body["due"]["recurrence"], Value::Null);
    // Without a rule, completing completes.
    let finished = app
        .call(
            Method::POST,
            &format!("{uri}/complete"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(finished.body["completed"], true);
    let cleared = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"due": null})),
        )
        .await;
    assert_eq!(cleared.body["due"], Value::Null);
}

/// Two tabs completing the same occurrence at once move the task one occurrence, not two; the
/// Phase II toggle completes a recurring task the same way.
#[tokio::test]
async fn a_completion_sent_twice_moves_a_recurring_task_once() {
    let app = App::new().await;
    let today = today_in("UTC");
    let created = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "Daily", "due": {"date": day(today, 0),
                        "recurrence": {"rule": "FREQ=DAILY"}}})),
        )
        .await;
    // Both tabs show the occurrence due today and complete that one.
    let uri = format!(
        "/api/tasks/{}/complete?occurrence={}",
        created.body["id"],
        day(today, 0)
    );
    let (a, b) = tokio::join!(
        app.call(Method::POST, &uri, Some("alice"), None),
        app.call(Method::POST, &uri, Some("alice"), None),
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    let get = app
        .call(
            Method::GET,
            &format!("/api/tasks/{}", created.body["id"]),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(get.body["due"]["date"], day(today, 1), "moved once");
    // Sent again later (a retry), it is still the occurrence already done: nothing moves.
    let retried = app.call(Method::POST, &uri, Some("alice"), None).await;
    assert_eq!(retried.body["due"]["date"], day(today, 1));
    app.call(
        Method::POST,
        &format!(
            "/api/tasks/{}/complete?occurrence=friday",
            created.body["id"]
        ),
        Some("alice"),
        None,
    )
    .await
    .assert_problem(422, "a malformed occurrence");
    let toggled = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}/complete", created.body["id"]),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(toggled.status, StatusCode::OK, "{}", toggled.body);
    assert_eq!(toggled.body["completed"], false);
    assert_eq!(toggled.body["due"]["date"], day(today, 2));
    // PUT is the whole task: without a due it has none.
    let put = app
        .call(
            Method::PUT,
            &format!("/api/tasks/{}", created.body["id"]),
            Some("alice"),
            Some(json!({"title": "Daily"})),
        )
        .await;
    assert_eq!(put.body["due"], Value::Null);
}

// ---- Priorities, lists, tags, views, search and sorts ------------------------------------------

impl App {
    /// `POST /api/tasks` with this body as `user`; asserts it was created.
    async fn create_with(&self, user: &str, body: Value) -> Value {
        let reply = self
            .call(Method::POST, "/api/tasks", Some(user), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    /// `GET uri` as `user`; asserts 200.
    async fn get(&self, user: &str, uri: &str) -> Value {
        let reply = self.call(Method::GET, uri, Some(user), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        reply.body
    }

    /// The titles of a listing's page.
    async fn titles(&self, user: &str, uri: &str) -> Vec<String> {
        titles_of(&self.get(user, uri).await)
    }
}

fn titles_of(page: &Value) -> Vec<String> {
    page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn priority_list_and_tags_are_stored_shown_and_cleared() {
    let app = App::new().await;
    let milk = app
        .create_with(
            "alice",
            json!({"title": "Buy milk", "priority": "HIGH", "list": " Shopping ",
                   "tags": ["#Errands", "home", "errands"]}),
        )
        .await;
    assert_eq!(milk["priority"], "high");
    assert_eq!(milk["list"], "Shopping");
    assert_eq!(milk["tags"], json!(["errands", "home"]));
    // The same name in another case is the same list, spelled as first written.
    let eggs = app
        .create_with("alice", json!({"title": "Buy eggs", "list": "shopping"}))
        .await;
    assert_eq!(eggs["list"], "Shopping");
    assert_eq!(eggs["priority"], "none");
    assert_eq!(eggs["tags"], json!([]));
    let plain = app.create("alice", "Plain").await;
    assert_eq!(plain["list"], "Inbox");
    let lists = app.get("alice", "/api/lists").await;
    assert_eq!(
        lists["lists"],
        json!([{"id": 0, "name": "Inbox", "pending": 1, "total": 1},
               {"id": lists["lists"][1]["id"], "name": "Shopping", "pending": 2, "total": 2}])
    );

    let uri = format!("/api/tasks/{}", milk["id"]);
    // Absent fields stay; a new list name creates the list.
    let moved = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"list": "Work", "tags": ["urgent"]})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(
        (
            &moved.body["list"],
            &moved.body["tags"],
            &moved.body["priority"]
        ),
        (&json!("Work"), &json!(["urgent"]), &json!("high"))
    );
    assert_eq!(app.get("alice", &uri).await["list"], "Work");
    // null clears each: no priority, the Inbox, no tags.
    let cleared = app
        .call(
            Method::PATCH,
            &uri,
            Some("alice"),
            Some(json!({"priority": null, "list": null, "tags": null})),
        )
        .await;
    assert_eq!(
        (
            &cleared.body["list"],
            &cleared.body["tags"],
            &cleared.body["priority"]
        ),
        (&json!("Inbox"), &json!([]), &json!("none"))
    );
    // "Inbox" names the Inbox; PUT without the fields resets them.
    let eggs_uri = format!("/api/tasks/{}", eggs["id"]);
    let reply = app
        .call(
            Method::PATCH,
            &eggs_uri,
            Some("alice"),
            Some(json!({"list": "inbox", "priority": "low"})),
        )
        .await;
    assert_eq!(
        (&reply.body["list"], &reply.body["priority"]),
        (&json!("Inbox"), &json!("low"))
    );
    let reply = app
        .call(
            Method::PUT,
            &eggs_uri,
            Some("alice"),
            Some(json!({"title": "Buy eggs"})),
        )
        .await;
    assert_eq!(reply.body["priority"], "none");
    // The lists stay (empty) until deleted.
    let names: Vec<&str> = app.get("alice", "/api/lists").await["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["Inbox", "Shopping", "Work"]);
}

#[tokio::test]
async fn bad_priorities_tags_and_list_names_are_422s_that_change_nothing() {
    let app = App::new().await;
    let task = app.create("alice", "keep").await;
    let uri = format!("/api/tasks/{}", task["id"]);
    let before = (app.db.task_rows().await, app.db.list_rows().await);
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let bad = [
        (json!({"priority": "urgent"}), "priority"),
        (json!({"priority": 3}), "priority"),
        (json!({"tags": eleven}), "tags"),
        (json!({"tags": ["two words"]}), "tags"),
        (json!({"tags": ["x".repeat(33)]}), "tags"),
        (json!({"tags": ["#"]}), "tags"),
        (json!({"tags": ["a,b"]}), "tags"),
        (json!({"tags": "errands"}), "tags"),
        (json!({"list": "  "}), "list"),
        (json!({"list": "l".repeat(51)}), "list"),
        (json!({"list": "new\nlist"}), "list"),
        // A good new list with a bad field beside it: the list is not created either.
        (
            json!({"list": "Brand new", "priority": "urgent"}),
            "priority",
        ),
    ];
    for (fields, field) in bad {
        let mut create = json!({"title": "new"});
        let mut put = json!({"title": "new"});
        for (k, v) in fields.as_object().unwrap() {
            create[k] = v.clone();
            put[k] = v.clone();
        }
        for (method, path, body) in [
            (Method::POST, "/api/tasks".to_owned(), create),
            (Method::PATCH, uri.clone(), fields.clone()),
            (Method::PUT, uri.clone(), put),
        ] {
            let reply = app
                .call(method.clone(), &path, Some("alice"), Some(body))
                .await;
            let what = format!("{method} {fields}");
            reply.assert_problem(422, &what);
            let named = reply.body.to_string();
            assert!(named.contains(field), "{what} names {field}: {named}");
        }
    }
    assert_eq!((app.db.task_rows().await, app.db.list_rows().await), before);
}

#[tokio::test]
async fn a_rate_limited_write_creates_no_list() {
    let app = App::with_limits(smart_todo_shared::config::Limits {
        writes_per_minute: 1,
        ..Default::default()
    })
    .await;
    smart_todo_shared::test_support::inside_one_minute().await;
    app.create("alice", "first").await;
    let before = (app.db.task_rows().await, app.db.list_rows().await);
    let reply = app
        .call(
            Method::POST,
            "/api/tasks",
            Some("alice"),
            Some(json!({"title": "second", "list": "Never"})),
        )
        .await;
    reply.assert_problem(429, "over the write limit");
    let reply = app
        .call(
            Method::PATCH,
            "/api/tasks/1",
            Some("alice"),
            Some(json!({"list": "Never either"})),
        )
        .await;
    reply.assert_problem(429, "over the write limit");
    assert_eq!((app.db.task_rows().await, app.db.list_rows().await), before);
}

#[tokio::test]
async fn lists_are_created_renamed_and_deleted_and_their_tasks_move_to_the_inbox() {
    let app = App::new().await;
    assert_eq!(
        app.get("alice", "/api/lists").await,
        json!({"lists": [{"id": 0, "name": "Inbox", "pending": 0, "total": 0}]})
    );
    let post = |name: Value| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/api/lists",
                Some("alice"),
                Some(json!({"name": name})),
            )
            .await
        }
    };
    let work = post(json!("Work")).await;
    assert_eq!(work.status, StatusCode::CREATED, "{}", work.body);
    assert_eq!(work.body["name"], "Work");
    let work_id = work.body["id"].as_i64().unwrap();
    assert!(work_id > 0);
    post(json!("Home")).await;
    let before = app.db.list_rows().await;
    post(json!("work"))
        .await
        .assert_problem(409, "a name taken in another case");
    post(json!("INBOX"))
        .await
        .assert_problem(409, "the Inbox's name");
    post(json!(" ")).await.assert_problem(422, "a blank name");
    post(json!("x".repeat(51)))
        .await
        .assert_problem(422, "a long name");
    assert_eq!(app.db.list_rows().await, before);

    let a = app
        .create_with("alice", json!({"title": "a", "list": "Work"}))
        .await;
    let b = app
        .create_with("alice", json!({"title": "b", "list": "work"}))
        .await;
    app.call(
        Method::POST,
        &format!("/api/tasks/{}/complete", b["id"]),
        Some("alice"),
        None,
    )
    .await;
    let lists = app.get("alice", "/api/lists").await;
    assert_eq!(
        lists["lists"][2],
        json!({"id": work_id, "name": "Work", "pending": 1, "total": 2})
    );
    assert_eq!(
        app.titles("alice", "/api/tasks?list=WORK").await,
        ["a", "b"]
    );

    let list_uri = format!("/api/lists/{work_id}");
    let renamed = app
        .call(
            Method::PATCH,
            &list_uri,
            Some("alice"),
            Some(json!({"name": "Office"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(
        renamed.body,
        json!({"id": work_id, "name": "Office", "pending": 1, "total": 2})
    );
    assert_eq!(
        app.get("alice", &format!("/api/tasks/{}", a["id"])).await["list"],
        "Office"
    );
    // Renaming in another case only is fine; to another list's name or the Inbox's is not.
    let recased = app
        .call(
            Method::PATCH,
            &list_uri,
            Some("alice"),
            Some(json!({"name": "OFFICE"})),
        )
        .await;
    assert_eq!(recased.body["name"], "OFFICE");
    let before = app.db.list_rows().await;
    app.call(
        Method::PATCH,
        &list_uri,
        Some("alice"),
        Some(json!({"name": "home"})),
    )
    .await
    .assert_problem(409, "another list's name");
    app.call(
        Method::PATCH,
        &list_uri,
        Some("alice"),
        Some(json!({"name": "Inbox"})),
    )
    .await
    .assert_problem(409, "the Inbox's name");
    app.call(
        Method::PATCH,
        "/api/lists/0",
        Some("alice"),
        Some(json!({"name": "Mine"})),
    )
    .await
    .assert_problem(409, "renaming the Inbox");
    app.call(Method::DELETE, "/api/lists/0", Some("alice"), None)
        .await
        .assert_problem(409, "deleting the Inbox");
    // Another user's list is not found, and stays.
    for (method, body) in [
        (Method::PATCH, Some(json!({"name": "Mine"}))),
        (Method::DELETE, None),
    ] {
        app.call(method.clone(), &list_uri, Some("bob"), body)
            .await
            .assert_problem(404, &format!("bob {method}s alice's list"));
    }
    assert_eq!(app.db.list_rows().await, before);
    assert_eq!(
        app.get("bob", "/api/lists").await["lists"],
        json!([{"id": 0, "name": "Inbox", "pending": 0, "total": 0}])
    );
    assert!(app.titles("bob", "/api/tasks?list=office").await.is_empty());

    let gone = app
        .call(Method::DELETE, &list_uri, Some("alice"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    for task in [&a, &b] {
        assert_eq!(
            app.get("alice", &format!("/api/tasks/{}", task["id"]))
                .await["list"],
            "Inbox"
        );
    }
    assert_eq!(app.get("alice", "/api/lists").await["lists"][0]["total"], 2);
    app.call(Method::DELETE, &list_uri, Some("alice"), None)
        .await
        .assert_problem(404, "deleted twice");
    // Bob may have a list of the same name.
    let bobs = app
        .call(
            Method::POST,
            "/api/lists",
            Some("bob"),
            Some(json!({"name": "Home"})),
        )
        .await;
    assert_eq!(bobs.status, StatusCode::CREATED);
}

/// The date `days` from today in `zone`, as `YYYY-MM-DD`.
fn local_day(zone: smart_todo_shared::domain::Zone, days: i64) -> String {
    (chrono::Utc::now().with_timezone(&zone.tz()).date_naive() + chrono::Duration::days(days))
        .to_string()
}

#[tokio::test]
async fn views_and_counts_read_dates_in_the_users_time_zone() {
    let app = App::new().await;
    // UTC+14: most of the day, its date is not UTC's.
    let zone = smart_todo_shared::domain::Zone::parse("Pacific/Kiritimati").unwrap();
    let reply = app
        .call(
            Method::PATCH,
            "/api/me",
            Some("alice"),
            Some(json!({"timezone": zone.name()})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let due = |title: &str, days: i64, time: Option<&str>| json!({"title": title, "due": {"date": local_day(zone, days), "time": time}});
    for body in [
        due("yesterday", -1, None),
        due("today", 0, None),
        due("today at midnight", 0, Some("00:00")),
        due("tomorrow", 1, None),
        due("in a week", 7, None),
        due("in eight days", 8, None),
        json!({"title": "undated"}),
    ] {
        app.create_with("alice", body).await;
    }
    let done = app.create_with("alice", due("done today", 0, None)).await;
    app.call(
        Method::POST,
        &format!("/api/tasks/{}/complete", done["id"]),
        Some("alice"),
        None,
    )
    .await;
    // Bob's tasks never show in alice's views.
    let utc_today = local_day(smart_todo_shared::domain::Zone::UTC, 0);
    app.create_with(
        "bob",
        json!({"title": "bob today", "due": {"date": utc_today}}),
    )
    .await;

    let view = |name: &str| format!("/api/tasks?view={name}");
    assert_eq!(
        app.titles("alice", &view("today")).await,
        ["yesterday", "today", "today at midnight"],
        "today includes overdue, by due date and time (all-day first), then number"
    );
    assert_eq!(
        app.titles("alice", &view("overdue")).await,
        ["yesterday", "today at midnight"],
        "a timed task whose time has passed is overdue; an all-day one today is not"
    );
    assert_eq!(
        app.titles("alice", &view("upcoming")).await,
        ["tomorrow", "in a week"]
    );
    assert_eq!(app.titles("alice", &view("no_date")).await, ["undated"]);
    assert_eq!(app.titles("alice", &view("all")).await.len(), 8);
    assert_eq!(
        app.titles("alice", "/api/tasks?view=today&status=completed")
            .await,
        ["done today"]
    );
    assert_eq!(
        app.titles(
            "alice",
            &format!("/api/tasks?due_after={}", local_day(zone, 0))
        )
        .await,
        ["tomorrow", "in a week", "in eight days"]
    );
    assert_eq!(
        app.titles(
            "alice",
            &format!("/api/tasks?due_before={}&sort=due", local_day(zone, 1))
        )
        .await,
        ["yesterday", "today", "today at midnight", "done today"]
    );
    assert_eq!(
        app.get("alice", "/api/counts").await,
        json!({"today": 3, "overdue": 2, "upcoming": 2, "no_date": 1, "pending": 7, "completed": 1})
    );
    assert_eq!(app.titles("bob", &view("today")).await, ["bob today"]);
    assert_eq!(app.get("bob", "/api/counts").await["today"], 1);
    // A zone PostgreSQL does not know (the binary's tz database may be newer) reads as UTC.
    let client = app.db.raw_client().await;
    client
        .execute(
            "UPDATE users SET timezone = 'Mars/Olympus_Mons' WHERE user_id = 'alice'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(app.get("alice", "/api/counts").await["pending"], 7);
}

#[tokio::test]
async fn search_matches_word_starts_ignoring_case_and_accents_and_ranks_titles_first() {
    let app = App::new().await;
    for (title, description) in [
        ("Buy groceries", Some("crème fraîche, eggs")),
        ("Crème brûlée for Zoë", None),
        ("Call the dentist", Some("appointment at 9")),
        ("Dentist appointment", None),
        ("Ordinary", Some("nothing to see")),
    ] {
        app.create_with("alice", json!({"title": title, "description": description}))
            .await;
    }
    let search = |q: &str| format!("/api/tasks?q={}", urlencoding(q));
    assert_eq!(
        app.titles("alice", &search("creme")).await,
        ["Crème brûlée for Zoë", "Buy groceries"],
        "a title match ranks above a description match"
    );
    assert_eq!(
        app.titles("alice", &search("CRÈME")).await,
        app.titles("alice", &search("creme")).await
    );
    assert_eq!(
        app.titles("alice", &search("brul")).await,
        ["Crème brûlée for Zoë"]
    );
    assert_eq!(
        app.titles("alice", &search("zoe")).await,
        ["Crème brûlée for Zoë"]
    );
    assert_eq!(
        app.titles("alice", &search("fraiche")).await,
        ["Buy groceries"]
    );
    assert_eq!(
        app.titles("alice", &search("dent app")).await,
        ["Dentist appointment", "Call the dentist"],
        "every word must match; both in the title ranks first"
    );
    assert!(app.titles("alice", &search("xyz")).await.is_empty());
    assert!(app.titles("alice", &search("!!")).await.is_empty());
    assert!(
        app.titles("alice", &search("rocer")).await.is_empty(),
        "word starts only"
    );
    assert_eq!(
        app.titles("alice", &format!("{}&sort=title", search("dent")))
            .await,
        ["Call the dentist", "Dentist appointment"]
    );
    app.create_with("bob", json!({"title": "Bob's crème"}))
        .await;
    assert_eq!(app.titles("bob", &search("creme")).await, ["Bob's crème"]);
    app.call(
        Method::GET,
        "/api/tasks?sort=relevance",
        Some("alice"),
        None,
    )
    .await
    .assert_problem(422, "relevance without q");
}

/// Percent-encodes a query value.
fn urlencoding(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_sort_and_order_pages_through_each_task_once_in_its_order() {
    let app = App::new().await;
    let dates = [
        Some("2026-12-24"),
        None,
        Some("2026-12-24"),
        Some("2027-01-05"),
        None,
    ];
    let times = [Some("09:30"), None, None, Some("18:00"), None];
    let priorities = ["none", "low", "medium", "high"];
    let titles = ["banana", "Apple", "cherry", "apple", "Date", "elder", "Fig"];
    for n in 0..13 {
        let mut body = json!({"title": format!("{} {}", titles[n % 7], n / 7),
                              "priority": priorities[n % 4]});
        if let Some(date) = dates[n % 5] {
            body["due"] = json!({"date": date, "time": times[n % 5], "timezone": "UTC"});
        }
        app.create_with("alice", body).await;
    }
    // Change some, in an order unlike their numbers, so `updated` differs from `created`.
    for id in [7, 2, 11, 5] {
        app.call(
            Method::PATCH,
            &format!("/api/tasks/{id}"),
            Some("alice"),
            Some(json!({"description": "changed"})),
        )
        .await;
    }
    for id in [3, 9] {
        app.call(
            Method::POST,
            &format!("/api/tasks/{id}/complete"),
            Some("alice"),
            None,
        )
        .await;
    }
    let all: Vec<Value> = app.get("alice", "/api/tasks?limit=100").await["tasks"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 13);
    let level = |t: &Value| priorities.iter().position(|p| t["priority"] == *p).unwrap();
    let due_key = |t: &Value| match t["due"]["date"].as_str() {
        Some(date) => format!("{date} {}", t["due"]["time"].as_str().unwrap_or("00:00")),
        None => "9999-12-31 23:59:59".into(),
    };
    for sort in ["due", "priority", "created", "updated", "title"] {
        for order in ["asc", "desc"] {
            for status in ["all", "pending"] {
                let mut expected: Vec<&Value> = all
                    .iter()
                    .filter(|t| status == "all" || t["completed"] == false)
                    .collect();
                expected.sort_by(|a, b| {
                    let key = match sort {
                        "due" => due_key(a).cmp(&due_key(b)),
                        "priority" => level(a).cmp(&level(b)),
                        "created" => std::cmp::Ordering::Equal,
                        "updated" => a["updated_at"]
                            .as_str()
                            .unwrap()
                            .parse::<chrono::DateTime<chrono::Utc>>()
                            .unwrap()
                            .cmp(&b["updated_at"].as_str().unwrap().parse().unwrap()),
                        _ => a["title"]
                            .as_str()
                            .unwrap()
                            .to_lowercase()
                            .cmp(&b["title"].as_str().unwrap().to_lowercase()),
                    };
                    key.then(a["id"].as_i64().cmp(&b["id"].as_i64()))
                });
                if order == "desc" {
                    expected.reverse();
                }
                let expected: Vec<i64> =
                    expected.iter().map(|t| t["id"].as_i64().unwrap()).collect();
                let mut seen = Vec::new();
                let mut cursor = String::new();
                loop {
                    let page = app
                        .get(
                            "alice",
                            &format!(
                                "/api/tasks?sort={sort}&order={order}&status={status}&limit=4&cursor={cursor}"
                            ),
                        )
                        .await;
                    seen.extend(
                        page["tasks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|t| t["id"].as_i64().unwrap()),
                    );
                    match page["next_cursor"].as_str() {
                        Some(next) => cursor = next.to_owned(),
                        None => break,
                    }
                    assert!(seen.len() <= 13, "{sort} {order}: pages never end");
                }
                assert_eq!(seen, expected, "sort={sort} order={order} status={status}");
            }
        }
    }
    // Relevance pages too, and a cursor only continues its own listing.
    for n in 0..5 {
        app.create_with("alice", json!({"title": format!("report {n}"), "description": if n % 2 == 0 { "report" } else { "" }}))
            .await;
    }
    let first = app.get("alice", "/api/tasks?q=report&limit=2").await;
    let mut seen = titles_of(&first);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    for other in [
        format!("/api/tasks?q=report&limit=2&order=asc&cursor={cursor}"),
        format!("/api/tasks?q=reports&limit=2&cursor={cursor}"),
        format!("/api/tasks?sort=title&limit=2&cursor={cursor}"),
        "/api/tasks?cursor=not-a-cursor".into(),
    ] {
        app.call(Method::GET, &other, Some("alice"), None)
            .await
            .assert_problem(422, &other);
    }
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page = app
            .get("alice", &format!("/api/tasks?q=report&limit=2&cursor={c}"))
            .await;
        seen.extend(titles_of(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(
        &seen[..3]
            .iter()
            .filter(|t| ["report 0", "report 2", "report 4"].contains(&t.as_str()))
            .count(),
        &3,
        "matches in title and description rank first: {seen:?}"
    );
}

#[tokio::test]
async fn bad_listing_parameters_are_422s_naming_the_parameter() {
    let app = App::new().await;
    for (query, field) in [
        ("view=tomorrow", "view"),
        ("sort=id", "sort"),
        ("order=up", "order"),
        ("priority=urgent", "priority"),
        ("due_before=12/01/2026", "due_before"),
        ("due_after=2026-13-01", "due_after"),
        ("tag=two%20words", "tag"),
        ("list=a%0Ab", "list"),
        ("cursor=t0", "cursor"),
        ("q=%00", "q"),
    ] {
        let reply = app
            .call(
                Method::GET,
                &format!("/api/tasks?{query}"),
                Some("alice"),
                None,
            )
            .await;
        reply.assert_problem(422, query);
        assert!(
            reply.body.to_string().contains(field),
            "{query}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn the_quick_add_preview_shows_what_it_understood() {
    let app = App::new().await;
    let reply = app
        .get(
            "alice",
            &format!(
                "/api/parse?text={}",
                urlencoding("Buy milk tomorrow 5pm #errands !high ~Shopping")
            ),
        )
        .await;
    assert_eq!(reply["title"], "Buy milk");
    assert_eq!(reply["priority"], "high");
    assert_eq!(reply["tags"], json!(["errands"]));
    assert_eq!(reply["list"], "Shopping");
    assert_eq!(reply["due"]["time"], "17:00");
    let kinds: Vec<&str> = reply["chips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["due", "tag", "priority", "list"]);
    let reply = app
        .call(
            Method::GET,
            &format!("/api/parse?text={}", urlencoding("#errands tomorrow")),
            Some("alice"),
            None,
        )
        .await;
    reply.assert_problem(422, "nothing left for a title");
}

#[test]
fn the_web_apps_copy_of_the_openapi_document_is_the_one_served() {
    // frontend/src/test/openapi.json is what the web app's fake backend is checked against.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../frontend/src/test/openapi.json"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        saved == smart_todo_tasks::openapi(),
        "{path} is stale: save it again from a running server with \
         `curl -s $SERVE_URL/api/openapi.json | python3 -m json.tool --sort-keys --indent 2 > {path}`"
    );
}
