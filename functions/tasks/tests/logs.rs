//! What reaches the log: one line per request during a database outage (no backtrace), and never a
//! query string or a token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use smart_todo_shared::AppState;
use smart_todo_shared::config::{DatabaseConfig, PoolSettings};
use smart_todo_shared::test_support::{authenticator, bearer, send};

/// A log sink tests can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture(level: &str) -> (Captured, tracing::subscriber::DefaultGuard) {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (sink, tracing::subscriber::set_default(subscriber))
}

fn down_router() -> axum::Router {
    let config = DatabaseConfig {
        url: secrecy::SecretString::from(
            "postgres://postgres@127.0.0.1:9/x?sslmode=disable".to_owned(),
        ),
        ca_file: None,
        pool: PoolSettings {
            connect_timeout: std::time::Duration::from_millis(200),
            ..PoolSettings::LAMBDA
        },
    };
    let state = AppState {
        pool: smart_todo_shared::db::connect(&config).unwrap(),
        auth: authenticator(),
        limits: Default::default(),
    };
    smart_todo_shared::http::api_app(smart_todo_tasks::router(state))
}

#[tokio::test(flavor = "current_thread")]
async fn a_database_outage_is_one_log_line_per_request_without_a_backtrace() {
    // SAFETY: set before anything reads it, on this test's only thread.
    unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
    let (log, _guard) = capture("warn");
    let router = down_router();
    for _ in 0..5 {
        let response = send(
            &router,
            Method::GET,
            "/api/tasks",
            Some(&bearer("alice")),
            None,
        )
        .await;
        assert_eq!(response.status.as_u16(), 503);
    }
    let text = log.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines.iter().all(|l| l.contains("database unavailable")),
        "{text}"
    );
    assert!(
        !text.contains("backtrace") && !text.contains(".rs:"),
        "{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn neither_the_query_string_nor_the_token_is_logged() {
    let (log, _guard) = capture("trace");
    let router = down_router();
    let token = bearer("alice");
    send(
        &router,
        Method::GET,
        "/api/tasks?access_token=leaky-secret-token&q=private",
        Some(&token),
        None,
    )
    .await;
    let text = log.text();
    assert!(text.contains("/api/tasks"), "the path is logged: {text}");
    for secret in [
        "leaky-secret-token",
        "private",
        token.trim_start_matches("Bearer "),
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}
