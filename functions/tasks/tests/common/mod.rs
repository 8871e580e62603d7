//! The REST task API driven in-process through its axum router, against a fresh PostgreSQL
//! database per test: what every test file of this function shares.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use smart_todo_shared::AppState;
use smart_todo_shared::test_support::{TestDb, authenticator, bearer, send, send_request};

pub struct App {
    pub db: TestDb,
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 9457 problem with this status.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, reason: &str) {
        assert_eq!(self.status.as_u16(), status, "{reason}: {}", self.body);
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{reason}"
        );
        assert_eq!(self.body["status"], status, "{reason}");
        assert!(
            self.body["type"].is_string() && self.body["title"].is_string(),
            "{reason}"
        );
        assert!(
            !self.body["detail"].as_str().unwrap_or_default().is_empty(),
            "{reason}"
        );
    }
}

impl App {
    pub async fn new() -> Self {
        Self::with_limits(Default::default()).await
    }

    pub async fn with_limits(limits: smart_todo_shared::config::Limits) -> Self {
        let db = TestDb::new().await;
        let pool = db.pool.clone();
        Self::with_pool(db, pool, limits)
    }

    pub fn with_pool(
        db: TestDb,
        pool: smart_todo_shared::db::DbPool,
        limits: smart_todo_shared::config::Limits,
    ) -> Self {
        let state = AppState {
            pool,
            auth: authenticator(),
            limits,
        };
        let router = smart_todo_shared::http::api_app(smart_todo_tasks::router(state));
        Self { db, router }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = send_request(&self.router, request).await;
        Reply {
            status: response.status,
            body: response.json(),
            headers: response.headers,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let response = send(&self.router, method, uri, user.map(bearer).as_deref(), body).await;
        Reply {
            status: response.status,
            body: response.json(),
            headers: response.headers,
        }
    }

    /// `POST /api/tasks {"title": title}` as `user`, whatever it answers.
    pub async fn post(&self, user: &str, title: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/tasks",
            Some(user),
            Some(json!({"title": title})),
        )
        .await
    }

    pub async fn create(&self, user: &str, title: &str) -> Value {
        let reply = self.post(user, title).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }
}
