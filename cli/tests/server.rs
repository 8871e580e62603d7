//! The `serve` connection loop under abuse: thousands of idle sockets and slowloris clients do not
//! stop it answering, and it closes them within its timeouts.

use std::time::{Duration, Instant};

use smart_todo_cli::server::{self, ServerLimits};
use smart_todo_cli::{AllowedHosts, DevSignIn, ServeOptions};
use smart_todo_shared::AppState;
use smart_todo_shared::test_support::{TestDb, auth_config, authenticator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: ServerLimits = ServerLimits {
    header_timeout: Duration::from_millis(800),
    body_timeout: Duration::from_millis(800),
    max_connections: 4000,
    drain_timeout: Duration::from_secs(2),
    ..ServerLimits::DEFAULT
};

async fn start(db: &TestDb) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let mcp = Box::leak(Box::new(smart_todo_mcp::McpSettings::parse(None)));
    let auth = Box::leak(Box::new(auth_config()));
    let app = smart_todo_cli::app(
        state,
        std::sync::Arc::new(smart_todo_chat::agent::Model::Offline(Default::default())),
        ServeOptions {
            mcp,
            auth,
            dev_sign_in: DevSignIn::Disabled("test"),
            allowed_hosts: AllowedHosts::parse(None),
            frontend_dir: None,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(server::serve(listener, app, LIMITS, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// `GET /api/health` on a new connection: the status line and how long it took.
async fn health(addr: std::net::SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    (
        answer.lines().next().unwrap_or_default().to_owned(),
        started.elapsed(),
    )
}

/// Whether the server closed `stream` (EOF or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or similar before closing
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_clients_neither_block_the_server_nor_stay_open() {
    let db = TestDb::new().await;
    let (addr, stop) = start(&db).await;

    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Slowloris: a header line every 200 ms, never the blank line that ends the headers.
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let dribble = tokio::spawn(async move {
        for n in 0..20 {
            for stream in slow.iter_mut() {
                let _ = stream
                    .write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        slow
    });
    // A body that never finishes.
    let mut unfinished = TcpStream::connect(addr).await.unwrap();
    unfinished
        .write_all(b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\"")
        .await
        .unwrap();

    for _ in 0..5 {
        let (status, took) = health(addr).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(took < Duration::from_secs(1), "health took {took:?}");
    }

    // Everything is closed by the server within its timeouts (plus slack).
    let wait = LIMITS.header_timeout + Duration::from_secs(2);
    let mut still_open = 0;
    for stream in idle.iter_mut() {
        if !closed_within(stream, wait).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "idle sockets left open");
    let mut slow = dribble.await.unwrap();
    for stream in slow.iter_mut() {
        assert!(
            closed_within(stream, wait).await,
            "a slowloris socket stayed open"
        );
    }
    assert!(
        closed_within(
            &mut unfinished,
            LIMITS.body_timeout + Duration::from_secs(2)
        )
        .await,
        "an unfinished body kept its connection"
    );
    let client = db.raw_client().await;
    assert!(
        client
            .query("SELECT 1 FROM tasks", &[])
            .await
            .unwrap()
            .is_empty()
    );
    let _ = stop.send(());
}

/// Sends `head` (a request without a body) on a new connection and reads the whole answer.
async fn exchange(addr: std::net::SocketAddr, head: &[u8]) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn oversized_heads_get_a_problem_body_not_an_empty_4xx() {
    let db = TestDb::new().await;
    let (addr, stop) = start(&db).await;
    let long_uri = format!(
        "GET /api/tasks?q={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "a".repeat(10 * 1024)
    );
    let many_headers = format!(
        "GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{}\r\n",
        (0..150)
            .map(|n| format!("X-N{n}: 1\r\n"))
            .collect::<String>()
    );
    let big_header = format!(
        "GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20 * 1024)
    );
    for (request, status, words) in [
        (
            long_uri,
            "HTTP/1.1 414 URI Too Long",
            "longer than 8192 bytes",
        ),
        (
            many_headers,
            "HTTP/1.1 431 Request Header Fields Too Large",
            "at most 100",
        ),
        (
            big_header,
            "HTTP/1.1 431 Request Header Fields Too Large",
            "at most 16384",
        ),
    ] {
        let (got, head, body) = exchange(addr, request.as_bytes()).await;
        assert_eq!(got, status, "{body}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(words),
            "{problem}"
        );
    }
    // Just under the limits is served.
    let fine = format!(
        "GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "b".repeat(15 * 1024)
    );
    assert_eq!(exchange(addr, fine.as_bytes()).await.0, "HTTP/1.1 200 OK");
    let _ = stop.send(());
}

#[tokio::test]
async fn beyond_the_connection_cap_new_connections_are_closed_and_the_server_recovers() {
    let db = TestDb::new().await;
    let state = AppState {
        pool: db.pool.clone(),
        auth: authenticator(),
        limits: Default::default(),
    };
    let app = smart_todo_tasks::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits {
        max_connections: 5,
        ..LIMITS
    };
    tokio::spawn(server::serve(listener, app, limits, std::future::pending()));
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(1)).await,
        "over the cap"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = health(addr).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "the server serves again");
}

#[tokio::test]
async fn a_long_streamed_response_outlives_the_header_timeout() {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/stream",
        get(|| async {
            let ticks = futures_like_ticks(5, Duration::from_millis(400));
            axum::body::Body::from_stream(ticks)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, app, LIMITS, std::future::pending()));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        started.elapsed() > LIMITS.header_timeout,
        "the stream took its time"
    );
    assert_eq!(
        answer.matches("tick").count(),
        5,
        "every event arrived: {answer}"
    );
}

/// `n` chunks `tick\n`, one every `every`.
fn futures_like_ticks(
    n: usize,
    every: Duration,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> {
    futures::stream::unfold(0, move |sent| async move {
        if sent == n {
            return None;
        }
        tokio::time::sleep(every).await;
        Some((Ok(bytes::Bytes::from_static(b"tick\n")), sent + 1))
    })
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let db = TestDb::new().await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    // The admin URL with this test's database in place of its path.
    let admin = smart_todo_shared::test_support::admin_url();
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = format!("{server}/{}?{query}", db.name);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smart-todo"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("DATABASE_URL", &url)
        .env(
            "AUTH_JWT_SECRET",
            smart_todo_shared::test_support::TEST_JWT_SECRET,
        )
        .env("CHAT_ENGINE", "offline")
        .env_remove("OPENAI_API_KEY")
        .env_remove("APP_SECRET_ARN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health(addr).await.0, "HTTP/1.1 200 OK");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "serve ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "serve exited with {exit:?}");
}
