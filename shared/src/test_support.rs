//! Helpers for tests in every crate: a fresh, migrated PostgreSQL database per test, and tokens.
//! Needs `TEST_DATABASE_URL` (a superuser URL of a throw-away cluster); `scripts/test` sets it.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::{Authenticator, mint_hs256};
use crate::config::{AuthConfig, PoolSettings};
use crate::db::{self, DbPool};
use crate::domain::UserId;

/// The HS256 secret test apps are configured with.
pub const TEST_JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";

/// The admin URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set: run the tests through scripts/test, which starts PostgreSQL",
    )
}

/// A database of its own for one test.
pub struct TestDb {
    pub pool: DbPool,
    pub name: String,
    /// Connection settings of this database (for extra connections a test makes).
    pub pg_config: tokio_postgres::Config,
}

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn new() -> Self {
        Self::at_version(None).await
    }

    /// Creates a fresh database migrated up to `version` (every migration when `None`).
    pub async fn at_version(version: Option<i32>) -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = connect_raw(admin_url().parse().expect("TEST_DATABASE_URL parses")).await;
        // Identifiers cannot be parameters; this name is generated above, never user input.
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        let mut pg_config: tokio_postgres::Config = admin_url().parse().unwrap();
        pg_config.dbname(&name);
        let pool = db::pool_from_pg_config(
            pg_config.clone(),
            None,
            PoolSettings {
                max_size: 4,
                ..PoolSettings::LAMBDA
            },
        )
        .expect("pool");
        db::migrate_to(&pool, version)
            .await
            .expect("migrations apply");
        Self {
            pool,
            name,
            pg_config,
        }
    }

    /// Every task row as JSON text, by owner and number: a snapshot to prove a refused request changed nothing.
    pub async fn task_rows(&self) -> Vec<String> {
        let client = self.raw_client().await;
        let rows = client
            .query(
                "SELECT row_to_json(t)::text FROM tasks t ORDER BY user_id, id",
                &[],
            )
            .await
            .expect("tasks");
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// Every list row as JSON text, by owner and id: with [`TestDb::task_rows`], proof that a
    /// refused request created no list either.
    pub async fn list_rows(&self) -> Vec<String> {
        let client = self.raw_client().await;
        let rows = client
            .query(
                "SELECT row_to_json(l)::text FROM lists l ORDER BY user_id, id",
                &[],
            )
            .await
            .expect("lists");
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// A pooled connection of this database's pool.
    pub async fn conn(&self) -> crate::db::Client {
        crate::db::client(&self.pool)
            .await
            .expect("a pooled connection")
    }

    /// A pool of this database whose connections go through `trips`, so a test can count the
    /// round trips a request makes.
    pub fn pool_through(&self, trips: &TripCounter, settings: PoolSettings) -> DbPool {
        // `host`/`port` add to a config's lists: build one that has only the proxy.
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(trips.addr.port())
            .dbname(&self.name)
            .user(self.pg_config.get_user().unwrap_or("postgres"))
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        db::pool_from_pg_config(config, None, settings).expect("pool")
    }

    /// A plain connection to this database, outside the pool.
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        connect_raw(self.pg_config.clone()).await
    }
}

async fn connect_raw(config: tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(connection);
    client
}

/// Auth settings for tests: HS256 with [`TEST_JWT_SECRET`].
pub fn auth_config() -> AuthConfig {
    AuthConfig {
        jwt_secret: Some(SecretString::from(TEST_JWT_SECRET)),
        jwks_url: None,
        issuer: None,
        audience: None,
        client_ids: vec![],
    }
}

/// An authenticator accepting [`token`]s.
pub fn authenticator() -> Arc<Authenticator> {
    Arc::new(Authenticator::new(&auth_config()).expect("authenticator"))
}

/// A valid token for `user`.
pub fn token(user: &str) -> String {
    mint_hs256(
        &auth_config(),
        &SecretString::from(TEST_JWT_SECRET),
        &UserId::parse(user).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap()
}

/// A user id from a literal.
pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

/// Turns on `pg_stat_statements` for this database (the cluster preloads it).
pub async fn enable_statement_stats(client: &tokio_postgres::Client) {
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .expect("pg_stat_statements");
}

/// Statements this database has run, by `pg_stat_statements`: top-level ones only (with
/// `track = all` the foreign-key checks' own queries are counted too), leaving out the counting.
pub async fn statements_run(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
             WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND query NOT ILIKE '%pg_stat_statements%'",
            &[],
        )
        .await
        .expect("reading pg_stat_statements")
        .get(0)
}

/// An answer from a router driven in-process.
pub struct TestResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl TestResponse {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&self.body).expect("a JSON body")
        }
    }
}

/// Sends one request through `router`: `authorization` is the header's whole value, `json` the body.
pub async fn send(
    router: &axum::Router,
    method: http::Method,
    uri: &str,
    authorization: Option<&str>,
    json: Option<serde_json::Value>,
) -> TestResponse {
    // As a browser on the machine sends it: `serve` answers loopback names only.
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::HOST, "localhost");
    if let Some(value) = authorization {
        request = request.header(http::header::AUTHORIZATION, value);
    }
    let body = match json {
        Some(json) => {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
            axum::body::Body::from(json.to_string())
        }
        None => axum::body::Body::empty(),
    };
    send_request(router, request.body(body).expect("a request")).await
}

/// Sends a request built by the test (any header, any body) through `router`.
pub async fn send_request(
    router: &axum::Router,
    request: http::Request<axum::body::Body>,
) -> TestResponse {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body,
    }
}

/// `Bearer <a valid token for user>`.
pub fn bearer(user: &str) -> String {
    format!("Bearer {}", token(user))
}

/// Waits, when the current minute is about to end, for the next one: a test of a per-minute limit
/// must make all its requests inside one window.
pub async fn inside_one_minute() {
    use chrono::Timelike;
    let second = chrono::Utc::now().second();
    if second >= 55 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - second))).await;
    }
}

/// A TCP proxy in front of the test cluster that counts round trips: each time the client starts
/// sending after the server has spoken (or first), one more. Statements sent together (pipelined)
/// before any answer arrives are one trip; a statement that waits for another's answer is two.
pub struct TripCounter {
    pub addr: std::net::SocketAddr,
    trips: Arc<std::sync::atomic::AtomicU64>,
}

impl TripCounter {
    /// Starts the proxy towards the host and port of `TEST_DATABASE_URL`.
    pub async fn start() -> Self {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let admin: tokio_postgres::Config = admin_url().parse().unwrap();
        let host = match admin.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let upstream = format!(
            "{host}:{}",
            admin.get_ports().first().copied().unwrap_or(5432)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let trips = Arc::new(AtomicU64::new(0));
        let counted = trips.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let client_spoke_last = Arc::new(AtomicBool::new(false));
                let (spoke, trips) = (client_spoke_last.clone(), counted.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if !spoke.swap(true, Ordering::SeqCst) {
                            trips.fetch_add(1, Ordering::SeqCst);
                        }
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                });
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n) = server_read.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        client_spoke_last.store(false, Ordering::SeqCst);
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = client_write.shutdown().await;
                });
            }
        });
        Self { addr, trips }
    }

    /// Round trips so far, over every connection through the proxy.
    pub fn count(&self) -> u64 {
        self.trips.load(std::sync::atomic::Ordering::SeqCst)
    }
}
