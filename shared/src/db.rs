//! The PostgreSQL pool (TLS with SNI for Neon), error classification, and migrations.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts,
};
use secrecy::ExposeSecret;
use tokio_postgres::Row;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{ToSql, Type};

use crate::config::{DatabaseConfig, PoolSettings, StatementCache};

/// A statement's parameters with their types, as `query_typed` takes them.
pub type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];

/// Where statements run: a pooled connection (`&conn`) or a transaction (`&tx`). Repositories
/// take it so one statement can join a caller's transaction (a tool's effect and its record
/// commit together). On a pool that prepares statements, each statement is prepared once per
/// connection and later runs as Bind/Execute in one round trip; otherwise it is sent unnamed
/// (Parse/Bind/Execute, also one round trip), which any pooler accepts.
pub trait Executor: Sync {
    fn query_typed(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send;

    /// As [`Executor::query_typed`], but never prepared: for statements assembled per request
    /// (a listing's filters), whose variety would fill a connection's statement cache.
    fn query_unprepared(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send {
        self.query_typed(sql, params)
    }
}

impl Executor for tokio_postgres::Client {
    async fn query_typed(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        tokio_postgres::Client::query_typed(self, sql, params).await
    }
}

impl Executor for tokio_postgres::Transaction<'_> {
    async fn query_typed(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        tokio_postgres::Transaction::query_typed(self, sql, params).await
    }
}

/// The pool and whether its connections keep prepared statements.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool,
    prepared: bool,
}

impl DbPool {
    /// Statements are prepared once per connection (`DB_STATEMENT_CACHE` resolved).
    pub fn prepares_statements(&self) -> bool {
        self.prepared
    }
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPool")
            .field("status", &self.pool.status())
            .field("prepared", &self.prepared)
            .finish()
    }
}

/// Default ports of transaction poolers: PgBouncer's and Supabase's Supavisor's.
const POOLER_PORTS: [u16; 2] = [6432, 6543];

/// Whether to prepare statements on connections made from `config`. `Auto` prepares on a direct
/// connection and not behind a transaction pooler, which it recognises by Neon's `-pooler` host
/// name or a pooler's default port; a pooler elsewhere needs `off` said outright.
pub fn prepares_statements(mode: StatementCache, config: &tokio_postgres::Config) -> bool {
    match mode {
        StatementCache::On => true,
        StatementCache::Off => false,
        StatementCache::Auto => {
            let pooled_host = config.get_hosts().iter().any(|host| match host {
                Host::Tcp(name) => name
                    .split('.')
                    .next()
                    .is_some_and(|label| label.ends_with("-pooler")),
                #[cfg(unix)]
                Host::Unix(_) => false,
            });
            let pooled_port = config
                .get_ports()
                .iter()
                .any(|port| POOLER_PORTS.contains(port));
            !(pooled_host || pooled_port)
        }
    }
}

refinery::embed_migrations!("../migrations");

/// Why a database call failed: the database could not be reached (503, retry later) or a statement
/// failed (a bug: 500).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("database query failed")]
    Query(#[source] anyhow::Error),
    /// A unique constraint refused the write: a domain conflict, not a bug.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A statement found that what the statements sent with it depend on no longer holds, and
    /// aborted their transaction ([`PRECONDITION_FAILED`]).
    #[error("precondition failed: {0}")]
    Precondition(String),
    /// A per-user total the schema enforces was reached ([`LIMIT_REACHED`]); the message says
    /// which.
    #[error("limit reached: {0}")]
    Limit(String),
}

/// The SQLSTATE a trigger raises when a write would pass a per-user total the schema keeps (the
/// lists of migration V9).
pub const LIMIT_REACHED: &str = "ST002";

/// The SQLSTATE `smart_todo_require()` (migration V5) raises: a statement pipelined with others
/// cannot let the client decide whether the rest commit, so it aborts their transaction instead.
pub const PRECONDITION_FAILED: &str = "ST001";

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match err {
            PoolError::Backend(e) => Self::from(e),
            other => Self::Unavailable(anyhow::Error::new(other).context("no database connection")),
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        if let Some(db) = err.as_db_error() {
            if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
                return Self::Conflict {
                    constraint: db.constraint().unwrap_or_default().to_owned(),
                };
            }
            if db.code().code() == PRECONDITION_FAILED {
                return Self::Precondition(db.message().to_owned());
            }
            if db.code().code() == LIMIT_REACHED {
                return Self::Limit(db.message().to_owned());
            }
        }
        let connection_lost = err.is_closed()
            || match err.code() {
                // Class 08: connection exception; 57P0x: the server is shutting down or restarting;
                // 53300: too many connections.
                Some(code) => {
                    let code = code.code();
                    code.starts_with("08") || code.starts_with("57P0") || code == "53300"
                }
                // No SQLSTATE: an I/O or protocol failure, not a bad statement.
                None => err.as_db_error().is_none() && std::error::Error::source(&err).is_some(),
            };
        if connection_lost {
            Self::Unavailable(err.into())
        } else {
            Self::Query(err.into())
        }
    }
}

/// Builds the pool from the configuration. Connections open lazily, on first use.
pub fn connect(config: &DatabaseConfig) -> anyhow::Result<DbPool> {
    let pg_config: tokio_postgres::Config = config
        .url
        .expose_secret()
        .parse()
        // The parse error never includes the URL, but say which setting it came from.
        .context("DATABASE_URL is not a valid PostgreSQL connection URL")?;
    let pool = pool_from_pg_config(pg_config, config.ca_file.as_deref(), config.pool)?;
    tracing::info!(
        max_size = config.pool.max_size,
        statement_cache = ?config.pool.statement_cache,
        prepared_statements = pool.prepared,
        "database pool configured"
    );
    Ok(pool)
}

/// Builds a pool from an already parsed connection config (tests use this to point at a fresh
/// database).
pub fn pool_from_pg_config(
    mut pg_config: tokio_postgres::Config,
    ca_file: Option<&std::path::Path>,
    settings: PoolSettings,
) -> anyhow::Result<DbPool> {
    let prepared = prepares_statements(settings.statement_cache, &pg_config);
    pg_config.connect_timeout(settings.connect_timeout);
    if pg_config.get_application_name().is_none() {
        pg_config.application_name("smart-todo");
    }
    // `Fast` recycling runs no statement when a connection is handed out, so a request costs
    // exactly the statements it makes; a dead connection surfaces as a 503 and is dropped.
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if pg_config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(pg_config, tokio_postgres::NoTls, manager_config)
    } else {
        Manager::from_config(pg_config, tls_connector(ca_file)?, manager_config)
    };
    let verify_after = settings.verify_after_idle;
    let verify_timeout = settings.recycle_timeout;
    let pool = Pool::builder(manager)
        .max_size(settings.max_size)
        // A connection idle for a while may have died silently (a suspended Neon compute, a
        // restarted server): check it with an empty query before use, so the request gets a
        // live connection instead of failing. Busy connections are not checked (no extra trip).
        .pre_recycle(Hook::async_fn(move |client, metrics| {
            Box::pin(async move {
                if metrics.last_used() < verify_after {
                    return Ok(());
                }
                match tokio::time::timeout(verify_timeout, client.simple_query("")).await {
                    Ok(Ok(_)) => Ok(()),
                    _ => Err(HookError::message("an idle connection no longer answers")),
                }
            })
        }))
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(settings.wait_timeout),
            create: Some(settings.connect_timeout),
            recycle: Some(settings.recycle_timeout),
        })
        .build()
        .context("building the database pool")?;
    Ok(DbPool { pool, prepared })
}

/// rustls with the webpki roots (Neon's certificates chain to them), plus an optional extra root.
/// tokio-postgres-rustls sends SNI when the host is a DNS name, which Neon routes by.
fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading DATABASE_CA_FILE {}", path.display()))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert =
                cert.with_context(|| format!("DATABASE_CA_FILE {} is not PEM", path.display()))?;
            roots
                .add(cert)
                .context("DATABASE_CA_FILE holds an unusable certificate")?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
}

/// A pooled connection; `&conn` is an [`Executor`] and `conn.pipeline()` opens a transaction.
/// It derefs to the tokio-postgres client for what the repositories do not cover.
pub struct Client {
    conn: deadpool_postgres::Object,
    prepared: bool,
}

impl std::ops::Deref for Client {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl Client {
    /// A transaction whose `BEGIN` goes out with its first statements, and whose `COMMIT`
    /// ([`Pipeline::commit`]) can go with its last: statements awaited together
    /// (`tokio::try_join!(biased; …)`: `biased`, so they are sent, and their errors seen, in the
    /// order listed) travel in one round trip and run in that order. They go unnamed, never
    /// prepared, so that order holds. Statements sent together cannot depend on each other's
    /// answers; one that guards the rest raises ([`DbError::Precondition`]) so the transaction
    /// aborts.
    pub fn pipeline(self) -> Pipeline {
        Pipeline {
            client: Some(self),
            began: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        }
    }
}

/// A pipelined transaction ([`Client::pipeline`]). Dropped before its `COMMIT` went out, it is
/// rolled back in the background and only then does the connection go back to the pool, so no
/// request ever gets a connection still inside someone else's transaction.
pub struct Pipeline {
    client: Option<Client>,
    began: AtomicBool,
    ended: AtomicBool,
}

impl Pipeline {
    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pipeline holds its connection until dropped")
    }

    /// Sends `COMMIT` (after whatever was sent before it). A transaction a failed statement
    /// aborted is rolled back by it instead, and that statement's own error is what its caller
    /// sees.
    pub async fn commit(&self) -> Result<(), tokio_postgres::Error> {
        if !self.began.load(Ordering::SeqCst) || self.ended.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.client().conn.batch_execute("COMMIT").await
    }
}

impl Executor for Pipeline {
    async fn query_typed(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        // Always unnamed: a statement prepared on first use would wait for its Parse while the
        // statements behind it, already prepared, ran first; unnamed ones run in the order sent.
        let conn = &self.client().conn;
        if self.ended.load(Ordering::SeqCst) {
            // It would run outside the transaction: every statement must be sent (polled) before
            // the COMMIT, so a step pipelined with it must be a single statement.
            debug_assert!(false, "a statement sent after its pipeline's COMMIT: {sql}");
            tracing::error!(sql, "a statement sent after its pipeline's COMMIT");
        }
        if self.began.swap(true, Ordering::SeqCst) {
            return conn.query_typed(sql, params).await;
        }
        // Both are queued on the connection, in this order, before either is awaited.
        let (begun, rows) = tokio::join!(
            biased;
            conn.batch_execute("BEGIN"),
            conn.query_typed(sql, params),
        );
        begun?;
        rows
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if !self.began.load(Ordering::SeqCst) || self.ended.load(Ordering::SeqCst) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.conn.batch_execute("ROLLBACK").await.is_err() {
                        // Never hand out a connection whose state is unknown.
                        let _ = deadpool_postgres::Object::take(client.conn);
                    }
                });
            }
            Err(_) => {
                let _ = deadpool_postgres::Object::take(client.conn);
            }
        }
    }
}

impl Executor for Client {
    async fn query_typed(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let conn = &self.conn;
        if !self.prepared {
            return conn.query_typed(sql, params).await;
        }
        let statement = conn.prepare_typed_cached(sql, &types_of(params)).await?;
        let outcome = conn.query(&statement, &values_of(params)).await;
        forget_if_stale(&conn.statement_cache, sql, params, outcome)
    }

    async fn query_unprepared(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.conn.query_typed(sql, params).await
    }
}

fn types_of(params: &Params<'_>) -> Vec<Type> {
    params.iter().map(|(_, ty)| ty.clone()).collect()
}

fn values_of<'a>(params: &'a Params<'_>) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|(value, _)| *value).collect()
}

/// A prepared statement the server no longer has, or whose plan a migration changed, is dropped
/// from the connection's cache so the next use prepares it again. The failing request still
/// fails: inside a transaction nothing can be retried.
fn forget_if_stale(
    cache: &deadpool_postgres::StatementCache,
    sql: &str,
    params: &Params<'_>,
    outcome: Result<Vec<Row>, tokio_postgres::Error>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    if let Err(err) = &outcome {
        use tokio_postgres::error::SqlState;
        if matches!(
            err.code(),
            Some(&SqlState::INVALID_SQL_STATEMENT_NAME) | Some(&SqlState::FEATURE_NOT_SUPPORTED)
        ) {
            cache.remove(sql, &types_of(params));
        }
    }
    outcome
}

/// Hands out a pooled connection, classifying failures.
pub async fn client(pool: &DbPool) -> Result<Client, DbError> {
    Ok(Client {
        conn: pool.pool.get().await?,
        prepared: pool.prepared,
    })
}

/// `SELECT 1` through the pool: what the health check reports.
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let client = client(pool).await?;
    Executor::query_typed(&client, "SELECT 1", &[]).await?;
    Ok(())
}

/// Arbitrary key for the advisory lock that serialises concurrent migration runs.
const MIGRATION_LOCK: i64 = 0x5_4d41_5254_544f; // "SMARTTO"

/// Applies pending migrations from `migrations/`; safe to run twice and from two places at once.
/// Run it against a direct (non-pooler) URL: it holds a session-level advisory lock.
pub async fn migrate(pool: &DbPool) -> anyhow::Result<Vec<String>> {
    migrate_to(pool, None).await
}

/// Applies pending migrations up to `version` (all of them when `None`), as [`migrate`] does; a
/// test builds an older schema with it to prove that a later migration keeps the data.
pub async fn migrate_to(pool: &DbPool, version: Option<i32>) -> anyhow::Result<Vec<String>> {
    let mut client = pool
        .pool
        .get()
        .await
        .context("connecting to run migrations")?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("taking the migration lock")?;
    let mut runner = migrations::runner();
    if let Some(version) = version {
        runner = runner.set_target(refinery::Target::Version(version));
    }
    let report = runner.run_async(&mut **client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let report = report.context("applying migrations")?;
    unlock.context("releasing the migration lock")?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(mode: StatementCache, url: &str) -> bool {
        prepares_statements(mode, &url.parse().unwrap())
    }

    #[test]
    fn auto_prepares_on_a_direct_connection_and_not_behind_a_recognised_pooler() {
        let direct = "postgres://u@ep-cool-name-123456.us-east-2.aws.neon.tech/db?sslmode=require";
        let neon_pooler =
            "postgres://u@ep-cool-name-123456-pooler.us-east-2.aws.neon.tech/db?sslmode=require";
        assert!(resolved(StatementCache::Auto, direct));
        assert!(resolved(
            StatementCache::Auto,
            "postgres://u@127.0.0.1:5432/db"
        ));
        assert!(!resolved(StatementCache::Auto, neon_pooler));
        assert!(!resolved(
            StatementCache::Auto,
            "postgres://u@127.0.0.1:6432/db"
        ));
        assert!(!resolved(
            StatementCache::Auto,
            "postgres://u@db.example.com:6543/db"
        ));
        // Only the first label names a pooler: a domain that merely contains the word does not.
        assert!(resolved(
            StatementCache::Auto,
            "postgres://u@db.my-pooler.example.com/db"
        ));
        // Said outright, the setting wins either way.
        assert!(resolved(StatementCache::On, neon_pooler));
        assert!(!resolved(StatementCache::Off, direct));
    }
}
