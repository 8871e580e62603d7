//! The HTTP server of `smart-todo serve`: hyper's HTTP/1 connection loop with the limits axum's
//! `serve` does not set. Slow or idle clients are cut off (header read timeout, which also bounds
//! how long a kept-alive connection may sit idle; body read timeout), the number of open
//! connections is capped, every socket gets `TCP_NODELAY` (small SSE writes leave at once), and
//! SIGTERM or SIGINT drains the connections in flight.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Limits of the server; every one is a `serve` option (`SERVE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A request's headers must arrive within this; it also closes idle kept-alive connections.
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// Most connections open at once; more are closed on arrival.
    pub max_connections: usize,
    /// How long a shutdown waits for requests in flight.
    pub drain_timeout: Duration,
    /// Longest request target (path and query) answered; longer is a 414 problem.
    pub max_uri_bytes: usize,
    /// Most request headers answered; more is a 431 problem.
    pub max_headers: usize,
    /// Most bytes of request headers (names, values and separators) answered; more is a 431 problem.
    pub max_header_bytes: usize,
}

impl ServerLimits {
    pub const DEFAULT: Self = Self {
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(30),
        max_connections: 4096,
        drain_timeout: Duration::from_secs(10),
        max_uri_bytes: 8 * 1024,
        max_headers: 100,
        max_header_bytes: 16 * 1024,
    };
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// hyper's default read buffer for a request head (8 KiB + 400 KiB).
const HYPER_MAX_BUF: usize = 8192 + 4096 * 100;

/// Answers a request whose target or headers exceed the limits with a 414 or 431 problem.
async fn check_head(
    axum::extract::State(limits): axum::extract::State<ServerLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use smart_todo_shared::error::ApiError;

    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > limits.max_uri_bytes {
        return ApiError::UriTooLong(limits.max_uri_bytes).into_response();
    }
    let headers = request.headers();
    if headers.len() > limits.max_headers {
        return ApiError::HeadersTooLarge(format!(
            "the request has {} headers; at most {} are read",
            headers.len(),
            limits.max_headers
        ))
        .into_response();
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > limits.max_header_bytes {
        return ApiError::HeadersTooLarge(format!(
            "the request headers take {bytes} bytes; at most {} are read",
            limits.max_header_bytes
        ))
        .into_response();
    }
    next.run(request).await
}

/// Resolves on SIGTERM (what `docker stop`, systemd and process managers send) or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let app = app
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(limits, check_head));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        // hyper answers what it cannot parse itself, with an empty body. Its limits sit well above
        // ours, so a request that is merely too big reaches `check_head` and gets a problem body;
        // only a request hyper cannot read at all (not HTTP, or beyond these) gets hyper's bare 4xx.
        .max_headers(limits.max_headers * 2)
        .max_buf_size(HYPER_MAX_BUF.max(limits.max_header_bytes * 4));
    let mut last_refusal: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before accept: keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if last_refusal.is_none_or(|at| at.elapsed() > Duration::from_secs(1)) {
                tracing::warn!(
                    max = limits.max_connections,
                    "too many open connections; closing new ones"
                );
                last_refusal = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!("shutting down with requests still in flight");
        }
    }
    Ok(())
}
